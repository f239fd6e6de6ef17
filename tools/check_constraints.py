"""Check that the pinned versions install on every Python the README names.

Used by CI (`make check-constraints`). For each Python version, pip resolves
requirements.txt and requirements-dev.txt under constraints.txt as if for that
interpreter on Linux (wheels only, manylinux tags 2_17 to 2_35: any glibc from
CentOS 7's to Ubuntu 22.04's, Colab's), without installing anything. A pin whose
wheel needs a newer Python (or glibc) than that fails here, not on a learner's
machine. Needs the package index; the download cache makes reruns quick.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The lowest patch release of each minor version is the strictest test of Requires-Python.
PYTHON_VERSIONS = ("3.11.0", "3.12.0", "3.13.0")
GLIBC_MINORS = range(17, 36)  # manylinux_2_17 .. manylinux_2_35


def platform_tags(machine: str | None = None) -> list[str]:
    """pip --platform values for a Linux machine with glibc 2.17 to 2.35.

    pip matches each tag exactly, so every glibc minor is named; ``manylinux2014``
    (the old name of 2_17) makes pip accept manylinux2010 and manylinux1 wheels too.
    """
    machine = machine or platform.machine()
    tags = [f"manylinux_2_{minor}_{machine}" for minor in GLIBC_MINORS]
    return [*tags, f"manylinux2014_{machine}"]


def pip_command(python_version: str, target: Path, *, machine: str | None = None) -> list[str]:
    """The dry-run install that resolves the pins for `python_version`.

    pip takes platform options only with ``--target``; with ``--dry-run`` nothing is
    written there.
    """
    command = [sys.executable, "-m", "pip", "install", "--dry-run",
               "--target", str(target), "--only-binary=:all:", "--implementation", "cp",
               "--python-version", python_version]
    for tag in platform_tags(machine):
        command += ["--platform", tag]
    command += ["-r", str(ROOT / "requirements.txt"), "-r", str(ROOT / "requirements-dev.txt"),
                "-c", str(ROOT / "constraints.txt")]
    return command


def pip_errors(output: str) -> list[str]:
    """pip's explanation of a failed resolution: its ERROR lines and the conflict it names."""
    lines, in_conflict = [], False
    for line in output.splitlines():
        if line.startswith("The conflict is caused by"):
            in_conflict = True
        elif in_conflict and not line.strip():
            in_conflict = False
        if in_conflict or line.startswith("ERROR"):
            lines.append(line.strip())
    return lines or output.strip().splitlines()[-10:]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="*", default=list(PYTHON_VERSIONS),
                        help=f"Python versions (default: {' '.join(PYTHON_VERSIONS)})")
    args = parser.parse_args(argv)
    failed = []
    for version in args.versions:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as target:
            result = subprocess.run(pip_command(version, Path(target)), capture_output=True,
                                    text=True)
        seconds = time.perf_counter() - start
        if result.returncode == 0:
            print(f"constraints.txt resolves for Python {version} ({seconds:.0f} s)", flush=True)
            continue
        failed.append(version)
        print(f"constraints.txt does NOT resolve for Python {version}:\n  "
              + "\n  ".join(pip_errors(result.stdout + result.stderr)), flush=True)
    if failed:
        print(f"Fix: change the pins in constraints.txt that need a newer Python than "
              f"{', '.join(failed)} (pip names them above), or raise the lowest version the "
              "README names.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
