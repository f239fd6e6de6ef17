"""The notebooks' Colab path, run headless with the stand-in `google.colab` (tests/colab_stand_in).

The Colab-only code sits in each notebook's Setup section (the install cell and
`helpers.setup()`, which mounts Drive). These tests execute that section in a
real kernel where `google.colab` is importable and already imported, as on
Colab, and check that Drive is mounted (or the fallback is taken), that a TPU
runtime stops at the first cell with advice, and that the notebooks ask Colab
for a GPU.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
sys.path.insert(0, str(ROOT / "tests" / "colab_stand_in"))
from run import colab_environment  # noqa: E402  (tests/colab_stand_in/run.py)

sys.path.pop(0)

NO_TENSORFLOW_STARTUP = '''
# A Colab TPU runtime: no TensorFlow, no Keras.
import sys

sys.modules["tensorflow"] = None
sys.modules["keras"] = None
'''


def _setup_cells(path: Path) -> nbformat.NotebookNode:
    """The notebook up to and including the cell that calls helpers.setup()."""
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and "helpers.setup(" in cell.source:
            notebook.cells = notebook.cells[: index + 1]
            return notebook
    raise AssertionError(f"{path.name} never calls helpers.setup()")


def _run(notebook, tmp_path: Path, *, mount: str = "ok", tpu: bool = False):
    env = colab_environment(tmp_path)
    calls = tmp_path / "calls.jsonl"
    env.update(FAKE_COLAB_CALLS=str(calls), FAKE_COLAB_MOUNT=mount, UNET_COURSE_MODE="quick")
    if tpu:
        startup = Path(env["IPYTHONDIR"]) / "profile_default" / "startup" / "01-tpu.py"
        startup.write_text(NO_TENSORFLOW_STARTUP)
    work = tmp_path / "work"
    work.mkdir()
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(work)}})
    error = None
    try:
        client.execute(env=env)
    except CellExecutionError as raised:
        error = raised
    text = "".join(
        output.get("text", "")
        for cell in notebook.cells if cell.cell_type == "code"
        for output in cell.outputs if output.get("output_type") == "stream"
    )
    mounts = [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []
    return text, error, mounts, work


pytestmark = [
    pytest.mark.notebook,
    pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks yet"),
    pytest.mark.skipif(sys.platform == "win32", reason="kernel environment differs on Windows"),
]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_setup_on_colab_mounts_drive(path, tmp_path):
    text, error, mounts, _ = _run(_setup_cells(path), tmp_path)
    assert error is None, error
    assert "Runtime: colab" in text
    assert "Installed:" not in text  # keras-unet and helpers are present: nothing to install
    assert len(mounts) == 1 and mounts[0]["timeout_ms"] > 0
    outputs = tmp_path / "drive" / "MyDrive" / "unet-course" / "outputs"
    assert (outputs / "checkpoints").is_dir()
    assert "(Google Drive)" in text
    assert "Mode: quick (set by UNET_COURSE_MODE" in text
    # Quiet start: no TensorFlow C++ lines, no keras-unet banner, no warnings.
    for noise in ("I0000", "E0000", "W0000", "absl", "keras-unet init", "Warning"):
        assert noise not in text, text


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS[:1], ids=lambda p: p.stem)
def test_notebook_setup_on_colab_falls_back_when_mount_fails(path, tmp_path):
    text, error, mounts, work = _run(_setup_cells(path), tmp_path, mount="fails")
    assert error is None, error
    assert len(mounts) == 1
    assert "Google Drive was not mounted" in text and "local disk" in text
    assert (work / "outputs" / "checkpoints").is_dir()
    assert not (tmp_path / "drive" / "MyDrive").exists()


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_on_tpu_runtime_stops_at_first_cell_with_advice(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)  # the whole notebook: it must stop at once
    _, error, mounts, _ = _run(notebook, tmp_path, tpu=True)
    assert error is not None
    assert error.ename == "RuntimeError"
    assert "TPU runtimes ship without it" in error.evalue
    assert "Runtime > Change runtime type > T4 GPU" in error.evalue
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert any(out.get("output_type") == "error" for out in code_cells[0].outputs)
    assert all(cell.get("execution_count") is None for cell in code_cells[1:])
    assert mounts == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_metadata_asks_colab_for_a_t4_gpu(path):
    metadata = nbformat.read(path, as_version=4).metadata
    assert metadata["accelerator"] == "GPU"
    assert metadata["colab"]["gpuType"] == "T4"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_setup_cell_has_mode_switch_before_keras(path):
    notebook = nbformat.read(path, as_version=4)
    cell = next(c.source for c in notebook.cells
                if c.cell_type == "code" and "helpers.setup(" in c.source)
    assert 'MODE = "auto"  # @param ["auto", "quick", "full"]' in cell
    assert "helpers.setup(mode=MODE" in cell
    assert cell.index("helpers.setup(") < cell.index("import keras")
    code = [c.source for c in notebook.cells if c.cell_type == "code"]
    before = "".join(code[: code.index(cell)])  # the install cell
    assert "import keras" not in before and "import tensorflow" not in before


def _check_notebooks():
    spec = importlib.util.spec_from_file_location("course_check_notebooks",
                                                  ROOT / "tools" / "check_notebooks.py")
    check = importlib.util.module_from_spec(spec)
    sys.dont_write_bytecode, saved = True, sys.dont_write_bytecode
    try:
        spec.loader.exec_module(check)
    finally:
        sys.dont_write_bytecode = saved
    return check


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_install_cell_problems_notebook_has_the_one_hidden_form_cell(path):
    check = _check_notebooks()
    notebook = nbformat.read(path, as_version=4)
    assert check.install_cell_problems(notebook) == []
    cell = next(c for c in notebook.cells if c.cell_type == "code")
    assert cell.source.startswith("# @title ")  # Colab shows the title, not the code


def test_install_cell_problems_edited_or_visible_cell_is_reported_and_fixed():
    check = _check_notebooks()
    notebook = nbformat.read(NOTEBOOKS[0], as_version=4)
    cell = next(c for c in notebook.cells if c.cell_type == "code")
    cell.source = cell.source.replace("keras-unet==0.1.2", "keras-unet")
    del cell.metadata["cellView"]
    assert check.install_cell_problems(notebook) == [
        "its install cell differs from tools/install_cell.py",
        "its install cell is not a hidden form cell"]
    check.copy_install_cell(notebook)
    assert check.install_cell_problems(notebook) == []
    notebook.cells.append(nbformat.v4.new_code_cell('COURSE_SOURCE = ""'))
    assert check.install_cell_problems(notebook) == [
        "2 install cells (code cells setting COURSE_SOURCE), not 1"]


def test_check_notebooks_reports_missing_colab_metadata():
    check = _check_notebooks()
    notebook = nbformat.v4.new_notebook()
    assert check.colab_gpu_problems(notebook) == [
        "metadata accelerator is not 'GPU'", "metadata colab.gpuType is not 'T4'"]
    assert check.colab_gpu_problems(check.clean(notebook)) == []
    for path in NOTEBOOKS:
        assert check.colab_gpu_problems(nbformat.read(path, as_version=4)) == []
