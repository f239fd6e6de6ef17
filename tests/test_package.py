"""The package as a whole: a silent, light import; its public names; docstrings and doctests."""

from __future__ import annotations

import doctest
import importlib
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

import helpers

REPO_ROOT = Path(__file__).resolve().parents[1]

MODULES = [
    "helpers",
    "helpers.augment",
    "helpers.export",
    "helpers.intervals",
    "helpers.losses",
    "helpers.metrics",
    "helpers.plots",
    "helpers.runtime",
    "helpers.tiling",
    "helpers.weights",
    "helpers.datasets",
    "helpers.datasets.isbi",
    "helpers.datasets.synthetic",
]

HEAVY = ["tensorflow", "keras", "keras_unet", "matplotlib.pyplot"]


def test_import_helpers_prints_nothing_and_stays_light():
    code = (
        "import sys\n"
        "import helpers\n"
        f"heavy = [name for name in {HEAVY!r} if name in sys.modules]\n"
        "sys.exit(3 if heavy else 0)\n"
    )
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           cwd=REPO_ROOT, timeout=120)
    assert probe.stdout == ""
    assert probe.stderr == ""
    assert probe.returncode == 0, "importing helpers imported one of " + ", ".join(HEAVY)


def test_import_helpers_lists_no_heavy_module():
    # The same check, reporting which module was pulled in when it fails.
    code = (
        "import json, sys\n"
        "import helpers\n"
        f"print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))\n"
    )
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           cwd=REPO_ROOT, timeout=120)
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout) == []


@pytest.mark.parametrize("name", helpers.__all__)
def test_all_name_exists(name):
    assert hasattr(helpers, name)
    assert getattr(helpers, name) is not None


def test_all_has_no_duplicates():
    assert len(set(helpers.__all__)) == len(helpers.__all__)


@pytest.mark.parametrize("module_name", MODULES[1:])
def test_all_submodule_names_exist(module_name):
    module = importlib.import_module(module_name)
    for name in getattr(module, "__all__", []):
        assert hasattr(module, name), f"{module_name}.__all__ lists {name!r}, which is missing"


def _public_callables():
    seen = set()
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and id(obj) not in seen:
                seen.add(id(obj))
                yield pytest.param(obj, id=f"{obj.__module__}.{obj.__qualname__}")


@pytest.mark.parametrize("obj", list(_public_callables()))
def test_public_function_has_docstring(obj):
    doc = inspect.getdoc(obj)
    assert doc is not None and len(doc.strip()) >= 20, f"{obj.__qualname__} has no docstring"


def test_datasets_subpackage_is_the_datasets_folder():
    import helpers.datasets

    paths = [str(p) for p in helpers.datasets.__path__]
    assert str((REPO_ROOT / "datasets").resolve()) in paths
    assert helpers.datasets.isbi.read_manifest()  # the manifest travels with the package


# --------------------------------------------------------------------------- doctests

def _doctests():
    finder = doctest.DocTestFinder(exclude_empty=True)
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for test in sorted(finder.find(module), key=lambda t: t.name):
            if not test.examples:
                continue
            yield pytest.param(module_name, test.name, id=test.name)


DOCTESTS = list(_doctests())


def test_doctests_found_in_every_documented_module():
    modules = {param.values[0] for param in DOCTESTS}
    assert modules >= {
        "helpers.augment", "helpers.losses", "helpers.metrics", "helpers.runtime",
        "helpers.tiling", "helpers.datasets.isbi", "helpers.datasets.synthetic",
    }


@pytest.mark.parametrize(("module_name", "test_name"), DOCTESTS)
def test_doctest_passes(module_name, test_name, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # examples marked +SKIP would write files; none may land here
    monkeypatch.delenv("UNET_COURSE_MODE", raising=False)
    module = importlib.import_module(module_name)
    (test,) = [t for t in doctest.DocTestFinder().find(module) if t.name == test_name]
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    output = []
    runner.run(test, out=output.append)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(output)
