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
SOURCES = ["pyproject.toml", "README.md", "LICENSE", "helpers", "datasets/__init__.py",
           "datasets/isbi.py", "datasets/synthetic.py", "datasets/README.md",
           "datasets/isbi2012/SHA256SUMS"]


def _build(hook: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess, Path]:
    project, out = tmp_path / "project", tmp_path / "dist"
    for name in SOURCES:
        source, target = REPO_ROOT / name, project / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    out.mkdir()
    code = f"from setuptools import build_meta; print(build_meta.{hook}({str(out)!r}))"
    result = subprocess.run([sys.executable, "-W", "always", "-c", code], cwd=project,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result, out / result.stdout.strip().splitlines()[-1]


def test_wheel_carries_the_manifest_and_the_datasets_package(tmp_path):
    _, wheel = _build("build_wheel", tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "helpers/datasets/isbi2012/SHA256SUMS" in names
    assert {"helpers/__init__.py", "helpers/datasets/isbi.py",
            "helpers/datasets/README.md"} <= names
    assert not any(name.startswith(("datasets/", "tests/")) for name in names)


@pytest.mark.parametrize("hook", ["build_wheel", "build_editable"])
def test_build_warns_nothing_about_the_package_layout(hook, tmp_path):
    result, _ = _build(hook, tmp_path)
    # setuptools' warning when package data sits in a folder it was not told is a package.
    assert "absent from the `packages` configuration" not in result.stderr, result.stderr
    if hook == "build_wheel":
        warnings = [line for line in result.stderr.splitlines() if "Warning" in line]
        assert not warnings, result.stderr
