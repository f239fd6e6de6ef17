"""Stand-in for ``google.colab.drive``, driven by environment variables.

- ``FAKE_COLAB_DRIVE``: the folder that plays ``/content/drive``. A mount at any
  other mountpoint mounts there (so that the notebooks' ``/content/drive`` works
  without touching ``/content``).
- ``FAKE_COLAB_MYDRIVE``: a folder that the mount shows as ``MyDrive`` (as a link), so
  that files "on Drive" appear only once Drive is mounted. Default: an empty folder.
- ``FAKE_COLAB_CALLS``: a file to which each call is appended as a JSON line.
- ``FAKE_COLAB_MOUNT``: ``ok`` (default), ``fails`` (raises as Colab does when
  access is refused) or ``hangs`` (waits ``timeout_ms``, then raises, as Colab
  does when nobody answers).
"""

import json
import os
import time
from pathlib import Path


def mount(mountpoint, force_remount=False, timeout_ms=120000, readonly=False):
    calls = os.environ.get("FAKE_COLAB_CALLS")
    if calls:
        with open(calls, "a") as log:
            log.write(json.dumps({"mountpoint": str(mountpoint), "force_remount": force_remount,
                                  "timeout_ms": timeout_ms}) + "\n")
    behaviour = os.environ.get("FAKE_COLAB_MOUNT", "ok")
    if behaviour == "fails":
        raise ValueError("mount failed: credential propagation was unsuccessful")
    if behaviour == "hangs":
        time.sleep(timeout_ms / 1000)
        raise ValueError("mount failed: timeout during initial read of root folder")
    my_drive = Path(os.environ.get("FAKE_COLAB_DRIVE", mountpoint)) / "MyDrive"
    if os.environ.get("FAKE_COLAB_MYDRIVE") and not my_drive.exists():
        my_drive.parent.mkdir(parents=True, exist_ok=True)
        my_drive.symlink_to(os.environ["FAKE_COLAB_MYDRIVE"], target_is_directory=True)
    my_drive.mkdir(parents=True, exist_ok=True)
