"""The package as a whole: a silent, light import; its public names; docstrings and doctests."""

from __future__ import annotations

import doctest
import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import helpers

REPO_ROOT = Path(__file__).resolve().parents[1]

# Every module of the package, found rather than listed: a module added later is
# checked (docstrings, doctests) without anyone remembering to add it here. A
# hand-kept list had missed five modules and their 14 examples.
MODULES = ["helpers", *sorted(f"helpers.{module.name}"
                              for module in pkgutil.iter_modules(helpers.__path__))]

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


def _parameter_names(obj) -> list[str]:
    function = obj.__init__ if inspect.isclass(obj) else obj
    return [name for name in inspect.signature(function).parameters if name != "self"]


def _undocumented_parameters(function) -> list[str]:
    """The parameters a function's numpydoc Parameters section does not name."""
    doc = inspect.getdoc(function) or ""
    names = _parameter_names(function)
    if not names:
        return []
    if "Parameters\n----------" not in doc:
        return names
    section = re.split(r"\n\w[\w ]*\n-{3,}", doc.split("Parameters\n----------", 1)[1])[0]
    # numpydoc names a variadic parameter with its stars: ``**changes``.
    documented = {name.strip().lstrip("*") for line in section.splitlines()
                  if line and not line[0].isspace() for name in line.split(":")[0].split(",")}
    return [name for name in names if name not in documented]


def _all_problems() -> list[str]:
    """What is wrong with the modules' __all__: missing or duplicated names, public
    functions and classes without a docstring, functions with undocumented parameters."""
    problems, seen = [], set()
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        names = list(getattr(module, "__all__", []))
        problems += [f"{module_name}.__all__ lists {name!r} twice"
                     for name in sorted({n for n in names if names.count(n) > 1})]
        for name in names:
            # `import helpers` succeeds whatever __all__ says; only `from helpers import *`
            # (and a learner's helpers.<name>) fails on a name that is not there.
            obj = getattr(module, name, None)
            if obj is None:
                problems.append(f"{module_name}.__all__ lists {name!r}, which is missing")
                continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or id(obj) in seen:
                continue
            seen.add(id(obj))
            qualname = f"{obj.__module__}.{obj.__qualname__}"
            doc = inspect.getdoc(obj)
            if doc is None or len(doc.strip()) < 20:
                problems.append(f"{qualname} has no docstring")
            elif inspect.isfunction(obj) and (missing := _undocumented_parameters(obj)):
                problems.append(f"{qualname}: Parameters does not name {missing}")
    return problems


def test_all_names_exist_and_are_documented():
    problems = _all_problems()
    assert not problems, "\n".join(problems)


def test_all_problems_finds_a_missing_name_and_an_undocumented_parameter(monkeypatch):
    # The check above can fail: a name __all__ lists but the module lacks, and a
    # parameter its docstring does not name, are both reported.
    def documented_but_for_b(a, b):
        """Add two numbers, for this test only.

        Parameters
        ----------
        a : int
            The first.
        """

    monkeypatch.setattr(helpers.tiling, "documented_but_for_b", documented_but_for_b,
                        raising=False)
    monkeypatch.setattr(helpers.tiling, "__all__",
                        [*helpers.tiling.__all__, "no_such_name", "documented_but_for_b"])
    problems = _all_problems()
    assert "helpers.tiling.__all__ lists 'no_such_name', which is missing" in problems
    assert any(problem.endswith("documented_but_for_b: Parameters does not name ['b']")
               for problem in problems), problems


@pytest.mark.parametrize("module_name", MODULES[1:])
def test_module_import_path_matches_its_folder(module_name):
    # An installed copy of helpers (not the editable install) would shadow the checkout.
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
    # DocTestFinder finds only what a module defines: each module's examples are found
    # through that module, not through the names helpers re-exports.
    assert modules >= {
        "helpers.augment", "helpers.challenge", "helpers.data", "helpers.dsb2018",
        "helpers.folders", "helpers.instances", "helpers.isbi", "helpers.losses",
        "helpers.metrics", "helpers.runtime", "helpers.segmenter", "helpers.synthetic",
        "helpers.tiling", "helpers.unet",
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
