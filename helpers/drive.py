"""Google Drive on Colab: mounting it, and checking that a folder on it takes files.

Notebook 01, section "Setup", keeps the course's outputs on Drive so that they
outlive the Colab runtime; `helpers.setup` calls these functions and falls back to
the runtime's local disk, with a message, when either fails. Learners never call
them, so nothing here is public: `setup` is the interface.

Where Drive is mounted is not decided here but passed in: `helpers.setup` reads
``helpers.runtime.COLAB_DRIVE`` at call time, which is what tests (and the
stand-in Colab in tests/colab_stand_in) point at a temporary folder.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

__all__: list[str] = []


def _drive_is_mounted(mountpoint: Path) -> bool:
    return (mountpoint / "MyDrive").is_dir()


def _mount_drive(mountpoint: Path, *, timeout_s: int) -> tuple[bool, str]:
    """Mount Google Drive at `mountpoint` unless it is mounted already; say what happened."""
    if _drive_is_mounted(mountpoint):  # the install cell mounted it
        return True, "already mounted"
    try:
        from google.colab import drive

        drive.mount(str(mountpoint), timeout_ms=timeout_s * 1000)
        if not _drive_is_mounted(mountpoint):
            raise OSError(f"{mountpoint / 'MyDrive'} is missing after the mount")
    except Exception as error:  # the mount can fail in many ways; all mean "no Drive"
        return False, f"{type(error).__name__}: {error}"
    return True, "mounted"


def _writable_folder(folder: Path) -> str | None:
    """Create `folder` and write a probe file in it; return the error, or None.

    A mounted Drive can still refuse files (full, or a file where the folder should
    be), and `setup` would rather say so now than let the first checkpoint fail.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-probe-"):
            pass
    except OSError as error:
        return f"{type(error).__name__}: {error}"
    return None
