"""tools/check_constraints.py: the command CI runs to resolve the pins for Python 3.11-3.13."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _load():
    spec = importlib.util.spec_from_file_location("course_check_constraints",
                                                  REPO_ROOT / "tools" / "check_constraints.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = _load()

# What pip printed for Python 3.11.0 when constraints.txt pinned soupsieve 4.1.3.
SOUPSIEVE_FAILURE = """\
Collecting executing>=1.2.0 (from stack_data>=0.6.0->ipython>=7.23.1)
INFO: pip is looking at multiple versions of beautifulsoup4 to determine which version is \
compatible with other requirements. This could take a while.

The conflict is caused by:
    beautifulsoup4 4.15.0 depends on soupsieve>=1.6.1
    The user requested (constraint) soupsieve==4.1.3

Additionally, some packages in these conflicts have no matching distributions available
ERROR: Cannot install nbconvert because these package versions have conflicting dependencies.
ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/
"""


def test_platform_tags_name_every_glibc_from_2_17_to_2_35():
    tags = check.platform_tags("x86_64")
    assert tags[0] == "manylinux_2_17_x86_64" and "manylinux_2_35_x86_64" in tags
    assert len([tag for tag in tags if tag.startswith("manylinux_2_")]) == 35 - 17 + 1
    assert "manylinux2014_x86_64" in tags


@pytest.mark.parametrize("version", check.PYTHON_VERSIONS)
def test_pip_command_resolves_wheels_for_that_python(version, tmp_path):
    command = check.pip_command(version, tmp_path, machine="x86_64")
    assert command[command.index("--python-version") + 1] == version
    assert {"--dry-run", "--only-binary=:all:"} <= set(command)
    files = [command[i + 1] for i, arg in enumerate(command) if arg in ("-r", "-c")]
    assert [Path(name).name for name in files] == ["requirements.txt", "requirements-dev.txt",
                                                   "constraints.txt"]


def test_pythons_checked_are_those_the_readme_names():
    assert [version.rsplit(".", 1)[0] for version in check.PYTHON_VERSIONS] == [
        "3.11", "3.12", "3.13"]
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "Python 3.11, 3.12 or 3.13" in readme


def test_pip_errors_keep_the_conflict_and_the_errors():
    lines = check.pip_errors(SOUPSIEVE_FAILURE)
    assert "The user requested (constraint) soupsieve==4.1.3" in lines
    assert lines[-1].startswith("ERROR: ResolutionImpossible")
    assert not any(line.startswith(("Collecting", "INFO")) for line in lines)
