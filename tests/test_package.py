"""The package as a whole: a silent, light import; its public names; docstrings and doctests."""

from __future__ import annotations

import doctest
import importlib
import inspect
import json
import re
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
    "helpers.data",
    "helpers.isbi",
    "helpers.synthetic",
    "helpers.unet",
    "helpers._checks",
]

HEAVY = ["tensorflow", "keras", "keras_unet", "matplotlib.pyplot"]


def test_import_helpers_prints_nothing_and_stays_light():
    code = (
        "import json, sys\n"
        "import helpers\n"
        f"print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))\n"
    )
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           cwd=REPO_ROOT, timeout=120)
    assert probe.returncode == 0, probe.stderr
    assert probe.stderr == ""
    # Its one line of output is the probe's own: importing helpers printed nothing.
    assert probe.stdout.count("\n") == 1, probe.stdout
    assert json.loads(probe.stdout) == [], "importing helpers imported these heavy modules"


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


@pytest.mark.parametrize("module_name", MODULES[1:])
def test_module_import_path_matches_its_folder(module_name):
    module = importlib.import_module(module_name)
    expected = REPO_ROOT / Path(*module_name.split(".")).with_suffix(".py")
    assert Path(module.__file__).resolve() == expected.resolve()


def test_datasets_folder_holds_no_code_and_the_manifest_is_read_from_it():
    assert not list((REPO_ROOT / "datasets").rglob("*.py"))
    manifest = (REPO_ROOT / "datasets" / "isbi2012" / "SHA256SUMS").read_text()
    assert len(helpers.read_manifest()) == len(manifest.splitlines()) == 90
    assert (REPO_ROOT / "helpers" / "isbi2012.sha256").read_text() == manifest
    manifest = (REPO_ROOT / "datasets" / "dsb2018" / "SHA256SUMS").read_text()
    assert len(helpers.read_dsb2018_manifest()) == len(manifest.splitlines()) == 4738
    assert (REPO_ROOT / "helpers" / "dsb2018.sha256").read_text() == manifest


def _parameter_names(obj) -> list[str]:
    function = obj.__init__ if inspect.isclass(obj) else obj
    return [name for name in inspect.signature(function).parameters
            if name not in ("self", "args", "kwargs")]


@pytest.mark.parametrize("obj", [param for param in _public_callables()
                                 if inspect.isfunction(param.values[0])])
def test_public_function_documents_every_parameter(obj):
    doc = inspect.getdoc(obj)
    names = _parameter_names(obj)
    if not names:
        return
    assert "Parameters\n----------" in doc, f"{obj.__qualname__}: no numpydoc Parameters section"
    section = re.split(r"\n\w[\w ]*\n-{3,}", doc.split("Parameters\n----------", 1)[1])[0]
    documented = {name.strip() for line in section.splitlines() if line and not line[0].isspace()
                  for name in line.split(":")[0].split(",")}
    missing = [name for name in names if name not in documented]
    assert not missing, f"{obj.__qualname__}: Parameters does not name {missing}"


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
        "helpers.tiling", "helpers.data", "helpers.isbi", "helpers.synthetic", "helpers.unet",
    }


def test_no_docstring_example_is_entirely_skipped():
    # An example that never runs can be wrong unnoticed: each must run at least one line.
    skipped = []
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for test in doctest.DocTestFinder(exclude_empty=True).find(module):
            if test.examples and all(example.options.get(doctest.SKIP) for example in
                                     test.examples):
                skipped.append(test.name)
    assert not skipped, f"examples that never run: {sorted(skipped)}"


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
