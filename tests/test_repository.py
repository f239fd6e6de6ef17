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


#: A sweep of thresholds on test data would choose the threshold on the test images.
_TEST_SWEEP = re.compile(r"threshold_sweep\(\s*(y_test|masks_test|data\[\"y_test\"\])")


@pytest.mark.parametrize("text, chosen_on_test", [
    ("sweep = helpers.threshold_sweep(y_val, val_probabilities)", False),
    ("sweep = helpers.threshold_sweep(y_test, test_probabilities)", True),
    ('sweep = helpers.threshold_sweep(data["y_test"], test)', True),
])
def test_threshold_sweep_pattern_known_values(text, chosen_on_test):
    assert bool(_TEST_SWEEP.search(text)) == chosen_on_test


def test_every_threshold_sweep_runs_on_validation_data():
    # Issue 14, item 4: every threshold the course reports is chosen on validation.
    sources = [*REPO_ROOT.glob("notebooks/*.py"), *REPO_ROOT.glob("benchmarks/*.py"),
               REPO_ROOT / "slides" / "figures.py"]
    calls = 0
    for path in sources:
        text = path.read_text()
        calls += text.count("threshold_sweep(")
        assert not _TEST_SWEEP.search(text), f"{path.name} sweeps thresholds on test data"
    assert calls >= 4  # notebooks 01 and 02, the deck's figure, bench_full_mode
