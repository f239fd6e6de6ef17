"""Execute course notebooks headless, print their output as they go, save .ipynb and .html.

Used by `make run`. The mode follows UNET_COURSE_MODE, or the hardware when unset.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter


class EchoingClient(NotebookClient):
    """A NotebookClient that prints each cell's text output once the cell has run."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.on_cell_executed = self._echo

    def _echo(self, cell, cell_index, execute_reply):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                sys.stdout.write(output["text"])
            elif output.get("output_type") == "error":
                sys.stdout.write(f"ERROR in cell {cell_index}: {output.get('ename')}: "
                                 f"{output.get('evalue')}\n")
        sys.stdout.flush()


def run(path: Path, output_dir: Path, timeout: int) -> float:
    notebook = nbformat.read(path, as_version=4)
    print(f"\n=== {path.name} ===", flush=True)
    start = time.perf_counter()
    client = EchoingClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    finally:
        output_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, output_dir / path.name)
        body, _ = HTMLExporter().from_notebook_node(notebook)
        (output_dir / path.with_suffix(".html").name).write_text(body, encoding="utf-8")
    seconds = time.perf_counter() - start
    print(f"=== {path.name}: done in {seconds / 60:.1f} min; wrote "
          f"{output_dir / path.name} and .html ===", flush=True)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--output-dir", type=Path, default=Path("build"))
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args()
    if not args.notebooks:
        print("No notebooks to run yet: the environment is ready.")
        return 0
    for path in args.notebooks:
        run(path, args.output_dir.resolve(), args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
