"""The repository around the package: notebook tooling, Colab badges, no machine paths."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _repository() -> str:
    urls = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["urls"]
    return urls["Repository"].removeprefix("https://github.com/").strip("/")


@pytest.mark.parametrize("tool", ["check_notebooks.py", "badges.py", "run_notebooks.py"])
def test_tools_exist_and_compile(tool):
    path = REPO_ROOT / "tools" / tool
    assert path.is_file()
    compile(path.read_text(encoding="utf-8"), str(path), "exec")  # no .pyc written


def test_badges_check_passes():
    result = subprocess.run([sys.executable, "tools/badges.py"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "out of date" not in result.stdout


def test_badges_readme_points_at_repository():
    owner_repo = _repository()
    assert owner_repo.count("/") == 1
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"colab\.research\.google\.com/github/([\w.-]+/[\w.-]+)/blob/", readme)
    assert links, "the README has no Open-in-Colab badge"
    assert set(links) == {owner_repo}


def test_badges_rewrite_fixes_drift(monkeypatch):
    # The check would catch a badge pointing elsewhere (on a string, never on the repo's files).
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # no tools/__pycache__
    spec = importlib.util.spec_from_file_location("course_tools_badges",
                                                  REPO_ROOT / "tools" / "badges.py")
    badges = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(badges)
    text = ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            "(https://colab.research.google.com/github/someone/old-name/blob/main/x.ipynb)\n"
            "pip install git+https://github.com/someone/old-name@main\n")
    fixed = badges.rewrite(text, "owner/new-name")
    assert "github/owner/new-name/blob/main/x.ipynb" in fixed
    assert "git+https://github.com/owner/new-name@main" in fixed
    assert badges.rewrite(fixed, "owner/new-name") == fixed


def _repository_files() -> list[Path]:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not available")
    listing = subprocess.run(
        [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT, capture_output=True, timeout=60,
    )
    if listing.returncode != 0:
        pytest.skip(f"not a git checkout: {listing.stderr.decode(errors='replace').strip()}")
    names = [name for name in listing.stdout.decode().split("\0") if name]
    return [REPO_ROOT / name for name in names if (REPO_ROOT / name).is_file()]


def test_no_absolute_machine_paths_in_repository():
    parent = REPO_ROOT.parent
    if parent == Path(parent.anchor):
        pytest.skip("the repository sits at the file system root")
    # The parent's path as a path of its own: not preceded by a path or word character,
    # and not followed by one (so a parent /data would not match /database or x.org/data).
    pattern = re.compile(r"(?<![\w.~/-])" + re.escape(str(parent)) + r"(?![\w.-])")
    offenders = []
    files = _repository_files()
    assert any(path.name == "pyproject.toml" for path in files)
    for path in files:
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()[:120]}")
    assert offenders == [], "absolute machine paths in the repository:\n" + "\n".join(offenders)
