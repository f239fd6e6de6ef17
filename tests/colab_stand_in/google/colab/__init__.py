"""Stand-in for Colab's ``google.colab``: ``drive`` and ``files`` (see drive.py and files.py)."""

from . import drive, files  # noqa: F401
