"""Executed notebooks show no warnings and no TensorFlow log lines.

nbval executes every notebook in `make test` (``--nbval-lax``); the hook below
reads each cell's outputs as nbval collected them in that same run and fails the
cell that printed such a line, naming it. Nothing is executed a second time. It
lives here, at the repository root, because the notebooks are outside ``tests/``.

TensorFlow's C++ log lines are written below Python, to file descriptor 2.
Jupyter's kernel (ipykernel) captures them into the cell's output, so a learner
sees them; but it does not when ``PYTEST_CURRENT_TEST`` is set, and nbval sends
the kernel's own stderr to /dev/null. So nbval's kernel is started here without
that variable: it then shows what a learner's kernel shows, and the scan sees it.
"""

from __future__ import annotations

import os

import pytest

# The list: Python warnings (UserWarning, FutureWarning, ...), absl's
# "WARNING: All log messages ...", TensorFlow's C++ log lines (E0000, W0000, I0000),
# and its Python logger's lines below WARNING ("INFO:tensorflow:Assets written to ...").
NOISE_MARKERS = ("Warning", "WARNING", "E0000", "W0000", "I0000", "INFO:tensorflow",
                 "INFO:absl")


def noise_lines(outputs) -> list[str]:
    """Lines of a cell's outputs (streams, tracebacks, plain-text results) that are noise."""
    found = []
    for output in outputs or []:
        kind = output.get("output_type")
        if kind == "stream":
            texts = [output.get("text", "")]
        elif kind == "error":
            texts = list(output.get("traceback", []))
        else:
            texts = [output.get("data", {}).get("text/plain", "")]
        for text in texts:
            if isinstance(text, list):
                text = "".join(text)
            found += [line for line in text.splitlines()
                      if any(marker in line for marker in NOISE_MARKERS)]
    return found


def _is_notebook_cell(item) -> bool:
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:
        return False
    return isinstance(item, IPyNbCell)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    if _is_notebook_cell(item):
        lines = noise_lines(getattr(item, "test_outputs", None))
        if lines:
            shown = "\n".join(f"  {line[:200]}" for line in lines[:10])
            pytest.fail(f"this cell's output holds {len(lines)} warning or TensorFlow log "
                        f"line(s); fix each at its source:\n{shown}", pytrace=False)
    return result


def _kernel_environment(environ) -> dict:
    """The environment for a notebook kernel: this one, less pytest's marker."""
    return {name: value for name, value in environ.items() if name != "PYTEST_CURRENT_TEST"}


def pytest_configure(config):
    try:
        import nbval.kernel
    except ImportError:
        return
    start_new_kernel = nbval.kernel.start_new_kernel
    if getattr(start_new_kernel, "course_patched", False):
        return

    def start_kernel_as_jupyter_does(*args, **kwargs):
        kwargs["env"] = _kernel_environment(kwargs.get("env") or os.environ)
        return start_new_kernel(*args, **kwargs)

    start_kernel_as_jupyter_does.course_patched = True
    nbval.kernel.start_new_kernel = start_kernel_as_jupyter_does
