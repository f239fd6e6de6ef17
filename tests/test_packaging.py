"""Packaging: the wheel carries the data manifest, and building it prints no warnings.

The build runs offline (this environment's setuptools, no build isolation) in a
copy of the files the package is made of, so nothing is written into the checkout.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# What the wheel is built from (pyproject.toml's packages, package data and readme).
SOURCES = ["pyproject.toml", "README.md", "LICENSE", "helpers", "datasets/README.md",
           "datasets/isbi2012/SHA256SUMS"]


def _build(hook: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess, Path]:
    project, out = tmp_path / "project", tmp_path / "dist"
    for name in SOURCES:
        source, target = REPO_ROOT / name, project / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            # symlinks=True: the manifest's link must work in the copy as in the checkout.
            shutil.copytree(source, target, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    out.mkdir()
    code = f"from setuptools import build_meta; print(build_meta.{hook}({str(out)!r}))"
    result = subprocess.run([sys.executable, "-W", "always", "-c", code], cwd=project,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result, out / result.stdout.strip().splitlines()[-1]


def test_wheel_carries_the_manifest_as_package_data(tmp_path):
    _, wheel = _build("build_wheel", tmp_path)
    archive = zipfile.ZipFile(wheel)
    names = set(archive.namelist())
    assert {"helpers/__init__.py", "helpers/data.py", "helpers/isbi.py",
            "helpers/synthetic.py", "helpers/isbi2012.sha256"} <= names
    # The file itself, not the link: 90 lines, the same as datasets/isbi2012/SHA256SUMS.
    carried = archive.read("helpers/isbi2012.sha256")
    assert carried == (REPO_ROOT / "datasets/isbi2012/SHA256SUMS").read_bytes()
    assert len(carried.decode().splitlines()) == 90
    assert not any(name.startswith(("datasets/", "tests/", "benchmarks/")) for name in names)


@pytest.mark.parametrize("hook", ["build_wheel", "build_editable"])
def test_build_warns_nothing_about_the_package_layout(hook, tmp_path):
    result, _ = _build(hook, tmp_path)
    warnings = [line for line in result.stderr.splitlines() if "Warning" in line]
    assert not warnings, result.stderr
    # setuptools' notes for a layout it cannot install with a plain path entry.
    assert "careful with folders" not in result.stderr, result.stderr
    assert "meta path finder" not in result.stderr, result.stderr
