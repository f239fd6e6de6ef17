"""`make run`'s runner: output streams while a cell runs; the summary gives key figures and time.

One run of ``tools/run_notebooks.py`` on four tiny notebooks (one that works, one
that fails, one whose kernel dies, one without a `summary`) serves every test; it
starts four kernels, a few seconds.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow  # starts TensorFlow or a kernel: not in make test-fast

REPO_ROOT = Path(__file__).resolve().parents[1]
RUNNER = REPO_ROOT / "tools" / "run_notebooks.py"
PAUSE_S = 2.0


def _load_runner():
    spec = importlib.util.spec_from_file_location("course_run_notebooks", RUNNER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _notebook(path: Path, *cells) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = list(cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="module")
def runner_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runner")
    (folder / "notebooks").mkdir()  # the kernel runs there, the runner one folder up
    works = _notebook(
        folder / "notebooks" / "works.ipynb",
        nbformat.v4.new_markdown_cell("# Part one\n\nSome text."),
        nbformat.v4.new_code_cell(f"import time\nprint('first', flush=True)\n"
                                  f"time.sleep({PAUSE_S})\nprint('second', flush=True)\n"
                                  "summary = {'answer': 42, 'ratio': 0.125}"),
        # Written below Python, as TensorFlow's C++ logs are: once in the output, not twice.
        # (ipykernel forwards such writes from a thread: give it a moment before the cell ends.)
        nbformat.v4.new_code_cell("import os\n_ = os.write(2, b'from the file descriptor\\n')\n"
                                  "time.sleep(1)"),
    )
    fails = _notebook(folder / "notebooks" / "fails.ipynb",
                      nbformat.v4.new_code_cell("raise ValueError('boom')"))
    dies = _notebook(folder / "notebooks" / "dies.ipynb", nbformat.v4.new_code_cell(
        "import os, time\n_ = os.write(2, b'last words\\n')\ntime.sleep(1)\nos._exit(3)"))
    no_summary = _notebook(folder / "notebooks" / "no_summary.ipynb",
                           nbformat.v4.new_code_cell("x = 1"))
    command = [sys.executable, "-u", str(RUNNER), "--output-dir", str(folder / "build"),
               str(works), str(fails), str(dies), str(no_summary)]
    arrivals = []  # (seconds since start, line)
    start = time.perf_counter()
    # As from a terminal: under pytest, ipykernel would not capture low-level output.
    environment = {name: value for name, value in os.environ.items()
                   if name != "PYTEST_CURRENT_TEST"}
    with subprocess.Popen(command, cwd=folder, stdout=subprocess.PIPE, env=environment,
                          stderr=subprocess.STDOUT, text=True) as process:
        for line in process.stdout:
            arrivals.append((time.perf_counter() - start, line.rstrip("\n")))
        process.wait(timeout=120)
    return {"arrivals": arrivals, "returncode": process.returncode, "folder": folder,
            "text": "\n".join(line for _, line in arrivals)}


def _arrival(run, text) -> float:
    return next(seconds for seconds, line in run["arrivals"] if line == text)


def test_run_prints_output_while_the_cell_runs(runner_run):
    first, second = _arrival(runner_run, "first"), _arrival(runner_run, "second")
    assert second - first >= 0.75 * PAUSE_S, runner_run["text"]


def test_run_announces_sections(runner_run):
    assert "--- Part one" in runner_run["text"]


def test_run_summary_gives_key_figures_and_wall_time(runner_run):
    summary = runner_run["text"].split("=== Summary ===", 1)[1]
    assert "works.ipynb: ran to the end; wall time" in summary
    assert "answer" in summary and " 42" in summary
    assert "0.1250" in summary
    without = summary.split("no_summary.ipynb", 1)[1]
    assert "not available (the notebook assigns no `summary` dict)" in without
    assert "total wall time" in summary


def test_run_goes_on_after_a_failure_and_reports_it(runner_run):
    summary = runner_run["text"].split("=== Summary ===", 1)[1]
    assert "fails.ipynb: FAILED: ValueError in cell 0: boom" in summary
    assert runner_run["returncode"] == 1


def test_run_prints_what_the_kernel_process_writes_once(runner_run):
    assert runner_run["text"].count("from the file descriptor") == 1


def test_run_reports_a_dead_kernel_with_its_last_words(runner_run):
    summary = runner_run["text"].split("=== Summary ===", 1)[1]
    assert "dies.ipynb: FAILED: the kernel died" in summary
    assert "The kernel died. Its last words:\n  last words" in runner_run["text"]


def test_run_leaves_no_kernel_sockets_behind(runner_run):
    assert not list(runner_run["folder"].rglob("*ipc*"))
    assert not list(runner_run["folder"].rglob("kernel*"))


def test_run_saves_the_notebook_without_the_probe(runner_run):
    saved = nbformat.read(runner_run["folder"] / "build" / "works.ipynb", as_version=4)
    assert len(saved.cells) == 3
    assert "".join(out["text"] for out in saved.cells[1].outputs) == "first\nsecond\n"
    assert (runner_run["folder"] / "build" / "works.html").is_file()
    assert (runner_run["folder"] / "build" / "fails.ipynb").is_file()


def _code_cells(stem: str) -> list[str]:
    notebook = nbformat.read(REPO_ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def _assigns(source: str, name: str) -> int:
    return sum(isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store)
               for node in ast.walk(ast.parse(source)))


@pytest.mark.parametrize("stem", ["01_introduction", "02_further_topics", "03_your_own_data"])
def test_notebook_assigns_summary_once_in_its_last_code_cell(stem):
    cells = _code_cells(stem)
    assert _assigns(cells[-1], "summary") == 1, f"{stem}: its last code cell sets no summary"
    assert sum(_assigns(cell, "summary") for cell in cells) == 1, f"{stem} rebinds summary"
