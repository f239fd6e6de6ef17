"""Execute course notebooks headless, print their output as it happens, save .ipynb and .html.

Used by `make run`. Each cell's output is printed while the cell runs (training
prints one line per epoch), each section's heading as it starts, then a summary:
every notebook's `summary` (its key figures) and wall time. The mode follows UNET_COURSE_MODE,
or the hardware when unset.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError
from nbconvert import HTMLExporter
from traitlets.config import Config

# What the summary reports for each notebook: its `summary` dict (label -> value), which
# every course notebook assigns in its last code cell; the only name read from the kernel.
_MARKER = "__course_key_figures__"
_PROBE = """
def _course_key_figures():
    import json
    found = globals().get("summary")
    if not isinstance(found, dict):
        found = {"summary": "not available (the notebook assigns no `summary` dict)"}
    shown = {str(label): value if isinstance(value, (int, str)) else float(value)
             for label, value in found.items()}
    print(%(marker)r + json.dumps(shown))
_course_key_figures()
del _course_key_figures
"""


class StreamingClient(NotebookClient):
    """A NotebookClient that prints each output as the kernel sends it, not when the cell ends."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.echo = True
        self.on_cell_start = self._announce_section

    def _announce_section(self, cell, cell_index):
        self.echo = _MARKER not in cell.metadata  # the key-figures probe runs quietly
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    print(f"\n--- {line[2:].strip()}", flush=True)

    def output(self, outs, msg, display_id, cell_index):
        out = super().output(outs, msg, display_id, cell_index)
        if self.echo:
            _echo(msg)
        return out


def _echo(msg) -> None:
    kind, content = msg["msg_type"], msg["content"]
    if kind == "stream":
        stream = sys.stderr if content.get("name") == "stderr" else sys.stdout
        stream.write(content.get("text", ""))
        stream.flush()
    elif kind == "error":
        print(f"ERROR: {content.get('ename')}: {content.get('evalue')}", flush=True)
    elif kind in ("display_data", "execute_result"):
        data = content.get("data", {})
        if any(key.startswith("image/") for key in data):
            print("[figure]", flush=True)
        elif "text/plain" in data:  # e.g. a table, or model.summary()
            print(data["text/plain"], flush=True)


def _probe_cell():
    cell = nbformat.v4.new_code_cell(_PROBE % {"marker": _MARKER})
    cell.metadata[_MARKER] = True
    return cell


def _read_probe(cell) -> dict:
    for output in cell.get("outputs", []):
        for line in output.get("text", "").splitlines():
            if line.startswith(_MARKER):
                return json.loads(line[len(_MARKER):])
    return {}


def run(path: Path, output_dir: Path, timeout: int) -> dict:
    """Execute one notebook; return its summary: wall time, key figures, any failure.

    The key figures come from a last cell that the runner adds and removes again:
    the saved notebook is the course's own.
    """
    notebook = nbformat.read(path, as_version=4)
    print(f"\n=== {path.name} ===", flush=True)
    start = time.perf_counter()
    probe = _probe_cell()
    notebook.cells.append(probe)
    # The kernel talks to this process over local sockets (IPC), in a folder of their own:
    # nothing on the network, so ipykernel has no reason to warn about unencrypted TCP.
    sockets = tempfile.TemporaryDirectory(prefix="course-kernel-")
    config = Config()
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = str(Path(sockets.name) / "kernel")
    client = StreamingClient(
        notebook,
        config=config,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    summary = {"notebook": path.name, "failure": None, "figures": {}}
    # What the kernel process writes to its own stdout and stderr also reaches the notebook
    # (ipykernel captures both), so it goes to a log, shown only if the kernel dies.
    kernel_log = Path(sockets.name) / "kernel.log"
    try:
        with sockets, kernel_log.open("w") as log:
            try:
                client.execute(stdout=log, stderr=subprocess.STDOUT)
            except DeadKernelError as error:
                log.flush()
                tail = kernel_log.read_text(errors="replace").splitlines()[-20:]
                print("The kernel died. Its last words:\n  " + "\n  ".join(tail), flush=True)
                summary["failure"] = f"the kernel died ({error})"
    except CellExecutionError as error:
        failed = [index for index, cell in enumerate(notebook.cells)
                  if any(out.get("output_type") == "error" for out in cell.get("outputs", []))]
        where = f"cell {failed[0]}" if failed else "a cell"
        summary["failure"] = f"{error.ename} in {where}: {error.evalue}"
    finally:
        notebook.cells.remove(probe)
        summary["figures"] = _read_probe(probe)
        output_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, output_dir / path.name)
        body, _ = HTMLExporter().from_notebook_node(notebook)
        (output_dir / path.with_suffix(".html").name).write_text(body, encoding="utf-8")
        summary["seconds"] = time.perf_counter() - start
        summary["written"] = str(output_dir / path.name)
    status = "FAILED" if summary["failure"] else "done"
    print(f"=== {path.name}: {status} in {summary['seconds'] / 60:.1f} min ===", flush=True)
    return summary


def format_summary(summaries: list[dict]) -> str:
    """The closing table: per notebook, its wall time, where it was written, its key figures."""
    lines = ["", "=== Summary ==="]
    for summary in summaries:
        status = f"FAILED: {summary['failure']}" if summary["failure"] else "ran to the end"
        lines.append(f"{summary['notebook']}: {status}; wall time "
                     f"{summary['seconds'] / 60:.1f} min; wrote {summary['written']} and .html")
        for label, value in summary["figures"].items():
            shown = f"{value:.4f}" if isinstance(value, float) else str(value)
            lines.append(f"  {label:<32} {shown}")
    total = sum(summary["seconds"] for summary in summaries)
    lines.append(f"total wall time: {total / 60:.1f} min")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--output-dir", type=Path, default=Path("build"))
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args(argv)
    if not args.notebooks:
        print("No notebooks to run yet: the environment is ready.")
        return 0
    summaries = []
    for path in args.notebooks:
        summaries.append(run(path, args.output_dir.resolve(), args.timeout))
    print(format_summary(summaries), flush=True)
    return 1 if any(summary["failure"] for summary in summaries) else 0


if __name__ == "__main__":
    sys.exit(main())
