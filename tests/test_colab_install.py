"""The notebooks' install cell, run as on a fresh Colab runtime (issue: the Colab route).

A fresh venv that lacks the course package and keras-unet, but sees this venv's
other packages (TensorFlow, Keras, NumPy... as Colab preinstalls them) through a
path file. The first code cell of notebook 01 runs there with the stand-in
``google.colab`` (tests/colab_stand_in), ``/content`` replaced by a temporary
folder. It installs from PyPI (keras-unet) and from the course bundle, so it
needs the network: PyPI is reachable in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
STAND_IN = ROOT / "tests" / "colab_stand_in"
NOTEBOOK = ROOT / "notebooks" / "01_introduction.ipynb"
# What a fresh Colab runtime lacks; everything else of this venv stays visible.
HIDDEN = ("keras_unet", "helpers", "unet_course_helpers", "__editable__", "_unet_course")

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths and symlinks"),
]


def _install_cell() -> str:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    return next(cell.source for cell in notebook.cells
                if cell.cell_type == "code" and "COURSE_SOURCE" in cell.source)


@pytest.fixture
def fresh_venv(tmp_path) -> Path:
    """A new venv where `helpers` and `keras_unet` are missing and TensorFlow, pip... are not.

    pip too is seen through the path file; it installs into the new venv (its prefix).
    """
    root = tmp_path / "fresh"
    shadow = root / "preinstalled"
    shadow.mkdir(parents=True)
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().startswith(tuple(h.lower() for h in HIDDEN)):
            (shadow / entry.name).symlink_to(entry)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=300)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True).stdout
    # addsitedir, not a bare path: it also runs the .pth files there, as Colab's own
    # site-packages does (setuptools' distutils-precedence.pth gives keras-unet the
    # `distutils` that Python 3.12 and later no longer have).
    (Path(site.strip()) / "colab-preinstalled.pth").write_text(
        f"import site; site.addsitedir({str(shadow)!r})\n")
    probe = subprocess.run(
        [str(python), "-c", "import importlib.util as u, json; print(json.dumps({n: u.find_spec(n)"
         " is not None for n in ('helpers', 'keras_unet', 'tensorflow', 'keras')}))"],
        capture_output=True, text=True, check=True, cwd=root)
    assert json.loads(probe.stdout) == {"helpers": False, "keras_unet": False,
                                        "tensorflow": True, "keras": True}
    return venv


def _run_cell(venv: Path, content: Path, *, mount="ok", course_source="", offline=False,
              my_drive: Path | None = None):
    """Run the install cell, then import what it installed; return the completed process."""
    cell = _install_cell()
    assert cell.count('Path("/content")') == 1
    cell = cell.replace('Path("/content")', f"Path({str(content)!r})")
    if course_source:
        cell = cell.replace('COURSE_SOURCE = ""', f"COURSE_SOURCE = {course_source!r}", 1)
    script = content.parent / "cell.py"
    script.write_text(
        "import google.colab  # as on Colab, imported before the first cell\n"
        + cell
        + "\nimport contextlib, io, json, sysconfig, helpers\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    import keras_unet\n"
        "import tensorflow, keras, numpy\n"
        "print('RESULT', json.dumps({'helpers': helpers.__file__,"
        " 'keras_unet': keras_unet.__file__, 'tensorflow': tensorflow.__file__,"
        " 'keras': keras.__file__, 'numpy': numpy.__file__,"
        " 'site': sysconfig.get_paths()['purelib']}))\n"
    )
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(PYTHONPATH=str(STAND_IN), FAKE_COLAB_DRIVE=str(content / "drive"),
               FAKE_COLAB_CALLS=str(content.parent / "mounts.jsonl"), FAKE_COLAB_MOUNT=mount,
               TF_CPP_MIN_LOG_LEVEL="3", PIP_DISABLE_PIP_VERSION_CHECK="1")
    if my_drive is not None:
        env["FAKE_COLAB_MYDRIVE"] = str(my_drive)
    if offline:  # nothing reachable: PyPI and GitHub go through a proxy that refuses
        for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            env[name] = "http://127.0.0.1:9"
        env.update(PIP_RETRIES="0", PIP_TIMEOUT="5", no_proxy="", NO_PROXY="")
    return subprocess.run([str(venv / "bin" / "python"), str(script)], capture_output=True,
                          text=True, cwd=content, env=env, timeout=900)


def _site_packages(venv: Path) -> set[str]:
    site = next((venv / "lib").glob("python3*/site-packages"))
    return {entry.name.lower() for entry in site.iterdir()}


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _repository_url() -> str:
    return "git+" + _project()["urls"]["Repository"]


def test_install_cell_installs_from_the_course_bundle_on_drive(fresh_venv, tmp_path):
    my_drive = tmp_path / "google-drive"
    subprocess.run([sys.executable, str(ROOT / "tools" / "colab_bundle.py"), "--output",
                    str(my_drive / "unet-course")], check=True, capture_output=True, timeout=600)
    bundle = sorted(p.name for p in (my_drive / "unet-course").iterdir())
    assert bundle == ["01_introduction.ipynb", "02_further_topics.ipynb",
                      "03_your_own_data.ipynb", "README.md",
                      f"unet_course_helpers-{_project()['version']}-py3-none-any.whl"]
    readme = (my_drive / "unet-course" / "README.md").read_text()
    assert "MyDrive/unet-course" in readme and bundle[-1] in readme
    content = tmp_path / "content"
    content.mkdir()
    before = _site_packages(fresh_venv)
    result = _run_cell(fresh_venv, content, my_drive=my_drive)
    assert result.returncode == 0, result.stdout + result.stderr
    mounts = [json.loads(line) for line in (tmp_path / "mounts.jsonl").read_text().splitlines()]
    assert [m["mountpoint"] for m in mounts] == [str(content / "drive")]
    assert "Installed: keras-unet from PyPI: installed; the course wheel on Drive" in result.stdout
    assert "GitHub" not in result.stdout
    found = json.loads(result.stdout.split("RESULT ", 1)[1])
    assert found["helpers"].startswith(found["site"])  # installed into the fresh venv
    assert found["keras_unet"].startswith(found["site"])
    for name in ("tensorflow", "keras", "numpy"):  # Colab's own, untouched
        assert not found[name].startswith(found["site"]), (name, found[name])
    added = _site_packages(fresh_venv) - before
    assert not any(name.startswith(("tensorflow", "keras-", "keras/", "numpy")) for name in added)
    assert any(name.startswith("unet_course_helpers-") for name in added)
    assert any(name.startswith("keras_unet") for name in added)


def test_install_cell_nothing_reachable_stops_with_one_error(fresh_venv, tmp_path):
    content = tmp_path / "content"
    content.mkdir()
    result = _run_cell(fresh_venv, content, mount="fails", offline=True)
    assert result.returncode == 1
    error = result.stderr[result.stderr.index("ModuleNotFoundError: Could not install"):]
    assert error.startswith("ModuleNotFoundError: Could not install keras_unet and helpers. "
                            "Tried, in order:")
    tried = error.split("Tried, in order:", 1)[1].split("To fix it")[0]
    assert "  - keras-unet from PyPI: ERROR" in tried
    assert "  - Google Drive: not mounted (ValueError: mount failed" in tried
    assert f"  - GitHub, {_repository_url()}: ERROR" in tried
    assert tried.index("keras-unet") < tried.index("Google Drive") < tried.index("GitHub")
    for fix in ("online", "MyDrive/unet-course", "unet_course_helpers-*.whl", "COURSE_SOURCE"):
        assert fix in error
    assert "RESULT" not in result.stdout  # it stopped: the imports after the cell never ran
    assert not any(name.startswith(("unet_course", "keras_unet"))
                   for name in _site_packages(fresh_venv))


def test_install_cell_course_source_that_needs_another_numpy_is_refused(fresh_venv, tmp_path):
    # pip must never change Colab's TensorFlow, Keras or NumPy: a course source that asks for
    # another NumPy fails (and says so) instead of replacing it.
    package = tmp_path / "greedy"
    package.mkdir()
    (package / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=77"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "greedy"\nversion = "1.0"\ndependencies = ["numpy==1.26.4"]\n')
    content = tmp_path / "content"
    content.mkdir()
    before = _site_packages(fresh_venv)
    result = _run_cell(fresh_venv, content, course_source=str(package))
    assert result.returncode == 1
    assert f"  - COURSE_SOURCE, {package}: ERROR" in result.stderr
    assert "numpy" in result.stderr.split(f"COURSE_SOURCE, {package}:", 1)[1].splitlines()[0]
    assert "  - GitHub" not in result.stderr  # an explicit source is the only one tried
    assert not any(name.startswith("numpy") for name in _site_packages(fresh_venv) - before)


def test_install_cell_repository_url_is_pyprojects():
    assert f'"{_repository_url()}"' in _install_cell()
