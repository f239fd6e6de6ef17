"""Stand-in for Colab's ``google.colab``: only ``drive`` (see drive.py)."""

from . import drive  # noqa: F401
