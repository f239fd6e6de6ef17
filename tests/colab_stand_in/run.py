"""Run a command with the stand-in Colab: notebook kernels start as on Colab.

Usage: python tests/colab_stand_in/run.py COMMAND [ARGS...]

Kernels started by the command find ``google.colab`` (this folder is put on
PYTHONPATH) and import it at start-up (a temporary IPYTHONDIR holds the startup
file), and the stand-in Drive is a temporary folder. Used by
``make test-colab-versions``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def colab_environment(workdir: Path, environ=None) -> dict[str, str]:
    """Environment variables that make kernels look like Colab's; files go in `workdir`."""
    env = dict(os.environ if environ is None else environ)
    ipython = workdir / "ipython"
    shutil.copytree(HERE / "ipython", ipython, dirs_exist_ok=True)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), env.get("PYTHONPATH")) if p)
    env["IPYTHONDIR"] = str(ipython)
    env["FAKE_COLAB_DRIVE"] = str(workdir / "drive")
    env.pop("UNET_COURSE_OUTPUTS", None)
    return env


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="colab-stand-in-") as workdir:
        env = colab_environment(Path(workdir))
        print(f"stand-in Colab: Drive at {env['FAKE_COLAB_DRIVE']}", flush=True)
        return subprocess.call(argv, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
