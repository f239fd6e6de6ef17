"""Check (or with --fix, restore) the notebook rules that CI enforces.

- every notebooks/*.ipynb is clean: no outputs, no execution counts, kernel python3;
- every .ipynb asks Colab for a GPU (metadata ``accelerator: GPU``, ``colab.gpuType: T4``),
  so that an Open-in-Colab badge starts a T4 runtime rather than a CPU one. jupytext
  does not carry this metadata in the .py, so --fix writes it into each .ipynb;
- every .ipynb has a py:percent partner, and the two agree (the .py is regenerated
  from the .ipynb with jupytext and compared: timestamps are not trusted);
- every notebook's install cell is tools/install_cell.py, word for word, as a Colab form
  cell (``cellView: "form"``, and hidden in Jupyter): the one source of the install
  logic. Edit tools/install_cell.py, then run ``make sync-notebooks``, which copies it
  into every notebook. A notebook's install cell is its code cell that sets
  ``COURSE_SOURCE``.

With --fix, the .py files are the source: each .ipynb is rewritten from its .py,
clean, and the .py is rewritten in jupytext's canonical form.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
# What Colab writes when a notebook is saved with Runtime > Change runtime type > T4 GPU.
COLAB_METADATA = {"accelerator": "GPU", "colab": {"gpuType": "T4", "provenance": []}}
INSTALL_CELL = ROOT / "tools" / "install_cell.py"
# Colab shows a form cell as its title and fields; Jupyter collapses a hidden source.
FORM_METADATA = {"cellView": "form", "jupyter": {"source_hidden": True}}


def install_cell_source() -> str:
    return INSTALL_CELL.read_text(encoding="utf-8").rstrip("\n")


def _install_cells(notebook: nbformat.NotebookNode) -> list:
    return [cell for cell in notebook.cells
            if cell.cell_type == "code" and "\nCOURSE_SOURCE = " in "\n" + cell.source]


def install_cell_problems(notebook: nbformat.NotebookNode) -> list[str]:
    """How `notebook`'s install cell differs from tools/install_cell.py as a form cell."""
    cells = _install_cells(notebook)
    if len(cells) != 1:
        return [f"{len(cells)} install cells (code cells setting COURSE_SOURCE), not 1"]
    found = []
    if cells[0].source != install_cell_source():
        found.append("its install cell differs from tools/install_cell.py")
    if cells[0].metadata.get("cellView") != "form" \
            or not cells[0].metadata.get("jupyter", {}).get("source_hidden"):
        found.append("its install cell is not a hidden form cell")
    return found


def copy_install_cell(notebook: nbformat.NotebookNode) -> None:
    for cell in _install_cells(notebook):
        cell.source = install_cell_source()
        cell.metadata.update(FORM_METADATA)


def clean(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    notebook.metadata.setdefault("language_info", {"name": "python"})
    notebook.metadata["accelerator"] = COLAB_METADATA["accelerator"]
    colab = dict(notebook.metadata.get("colab", {}))
    colab.update(gpuType=COLAB_METADATA["colab"]["gpuType"], provenance=[])
    notebook.metadata["colab"] = colab
    return notebook


def colab_gpu_problems(notebook: nbformat.NotebookNode) -> list[str]:
    """What is missing for Colab to open `notebook` on a T4 GPU runtime."""
    found = []
    if notebook.metadata.get("accelerator") != "GPU":
        found.append("metadata accelerator is not 'GPU'")
    if notebook.metadata.get("colab", {}).get("gpuType") != "T4":
        found.append("metadata colab.gpuType is not 'T4'")
    return found


def as_text(notebook) -> str:
    return nbformat.writes(notebook) + "\n"


def stable_ids(notebook: nbformat.NotebookNode) -> None:
    """Cell ids from the cell's content, so that a sync does not rewrite every id."""
    seen: set[str] = set()
    for cell in notebook.cells:
        digest = hashlib.sha1((cell.cell_type + cell.source).encode()).hexdigest()
        cell_id, n = digest[:8], 0
        while cell_id in seen:
            n += 1
            cell_id = f"{digest[:8]}-{n}"
        seen.add(cell_id)
        cell.id = cell_id


def fix(py_path: Path) -> None:
    notebook = clean(jupytext.read(py_path))
    copy_install_cell(notebook)
    stable_ids(notebook)
    # The pairing lives in pyproject.toml ([tool.jupytext]), not in each notebook.
    notebook.metadata.get("jupytext", {}).pop("formats", None)
    py_path.with_suffix(".ipynb").write_text(as_text(notebook), encoding="utf-8")
    jupytext.write(notebook, py_path, fmt="py:percent")


def problems() -> list[str]:
    found = []
    for ipynb in sorted(NOTEBOOKS.glob("*.ipynb")):
        text = ipynb.read_text(encoding="utf-8")
        notebook = nbformat.reads(text, as_version=4)
        for problem in colab_gpu_problems(notebook):
            found.append(f"{ipynb.name}: {problem} (Colab would open it on a CPU); "
                         "run `make sync-notebooks`")
        if as_text(clean(nbformat.reads(text, as_version=4))) != text:
            found.append(f"{ipynb.name}: not clean (outputs, execution counts or kernel); "
                         "run `make sync-notebooks`")
        for problem in install_cell_problems(notebook):
            found.append(f"{ipynb.name}: {problem}; run `make sync-notebooks`")
        py = ipynb.with_suffix(".py")
        if not py.is_file():
            found.append(f"{ipynb.name}: no paired {py.name}")
            continue
        regenerated = jupytext.writes(notebook, fmt="py:percent")
        if regenerated != py.read_text(encoding="utf-8"):
            found.append(f"{ipynb.name} and {py.name} differ; edit the .py, then "
                         "run `make sync-notebooks`")
    for py in sorted(NOTEBOOKS.glob("*.py")):
        if not py.with_suffix(".ipynb").is_file():
            found.append(f"{py.name}: no paired .ipynb; run `make sync-notebooks`")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fix", action="store_true", help="rewrite each .ipynb from its .py")
    args = parser.parse_args()
    if args.fix:
        for py in sorted(NOTEBOOKS.glob("*.py")):
            fix(py)
            print(f"synced {py.name} -> {py.with_suffix('.ipynb').name}")
    found = problems()
    for problem in found:
        print("notebook check:", problem)
    if not found:
        print(f"notebook check: {len(list(NOTEBOOKS.glob('*.ipynb')))} notebooks clean and paired")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
