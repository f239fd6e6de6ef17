"""The notebooks' Colab path, run headless with a stand-in `google.colab` module.

The Colab-only code sits in each notebook's Setup section (the guarded install
and `helpers.setup()`, which mounts Drive). These tests execute that section in
a real kernel where `google.colab` is importable and already imported, as on
Colab, and check that Drive is mounted (or the fallback is taken).
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

FAKE_DRIVE_MODULE = '''
"""Stand-in for google.colab.drive: records calls; fails when told to."""
import json, os
from pathlib import Path


def mount(mountpoint, force_remount=False, timeout_ms=120000, readonly=False):
    with open(os.environ["FAKE_COLAB_CALLS"], "a") as calls:
        calls.write(json.dumps({"mountpoint": mountpoint, "force_remount": force_remount,
                                "timeout_ms": timeout_ms}) + "\\n")
    if os.environ.get("FAKE_COLAB_MOUNT_FAILS"):
        raise ValueError("mount failed: credential propagation was unsuccessful")
    (Path(os.environ["FAKE_COLAB_DRIVE"]) / "MyDrive").mkdir(parents=True, exist_ok=True)
'''

STARTUP = '''
# As on Colab, google.colab is imported before the first cell runs.
import os
from pathlib import Path

import google.colab
import helpers.runtime

helpers.runtime.COLAB_DRIVE = Path(os.environ["FAKE_COLAB_DRIVE"])  # not /content/drive
'''


def _setup_cells(path: Path) -> nbformat.NotebookNode:
    """The notebook up to and including the cell that calls helpers.setup()."""
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and "helpers.setup(" in cell.source:
            notebook.cells = notebook.cells[: index + 1]
            return notebook
    raise AssertionError(f"{path.name} never calls helpers.setup()")


def _run(path: Path, tmp_path: Path, *, mount_fails: bool):
    stand_in = tmp_path / "site"
    (stand_in / "google" / "colab").mkdir(parents=True)
    # No google/__init__.py: `google` stays a namespace package shared with protobuf.
    (stand_in / "google" / "colab" / "__init__.py").write_text("from . import drive\n")
    (stand_in / "google" / "colab" / "drive.py").write_text(textwrap.dedent(FAKE_DRIVE_MODULE))
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-colab.py").write_text(STARTUP)
    work = tmp_path / "work"
    work.mkdir()
    calls = tmp_path / "calls.jsonl"
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(stand_in), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        IPYTHONDIR=str(tmp_path / "ipython"),
        FAKE_COLAB_DRIVE=str(tmp_path / "drive"),
        FAKE_COLAB_CALLS=str(calls),
        UNET_COURSE_MODE="quick",
    )
    env.pop("UNET_COURSE_OUTPUTS", None)
    if mount_fails:
        env["FAKE_COLAB_MOUNT_FAILS"] = "1"
    notebook = _setup_cells(path)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(work)}})
    client.execute(env=env)
    text = "".join(
        output.get("text", "")
        for cell in notebook.cells if cell.cell_type == "code"
        for output in cell.outputs if output.get("output_type") == "stream"
    )
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.outputs if output.get("output_type") == "error"]
    mounts = [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []
    return text, errors, mounts, work


pytestmark = [
    pytest.mark.notebook,
    pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks yet"),
    pytest.mark.skipif(sys.platform == "win32", reason="kernel environment differs on Windows"),
]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_setup_on_colab_mounts_drive(path, tmp_path):
    text, errors, mounts, _ = _run(path, tmp_path, mount_fails=False)
    assert not errors, errors
    assert "Runtime: colab" in text
    assert "pip install" not in text  # keras-unet and helpers are present: nothing to install
    assert len(mounts) == 1 and mounts[0]["force_remount"] is True
    assert mounts[0]["timeout_ms"] > 0
    outputs = tmp_path / "drive" / "MyDrive" / "unet-course" / "outputs"
    assert (outputs / "checkpoints").is_dir()
    assert "(Google Drive)" in text


@pytest.mark.parametrize("path", NOTEBOOKS[:1], ids=lambda p: p.stem)
def test_notebook_setup_on_colab_falls_back_when_mount_fails(path, tmp_path):
    text, errors, mounts, work = _run(path, tmp_path, mount_fails=True)
    assert not errors, errors
    assert len(mounts) == 1
    assert "Google Drive was not mounted" in text and "local disk" in text
    assert (work / "outputs" / "checkpoints").is_dir()
    assert not (tmp_path / "drive" / "MyDrive").exists()
