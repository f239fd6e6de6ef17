"""The scan of executed notebooks' outputs (conftest.py at the repository root) can fail."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _scan():
    spec = importlib.util.spec_from_file_location("course_output_scan", REPO_ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


scan = _scan()


def _stream(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


@pytest.mark.parametrize(
    "line",
    [
        "/x/keras/src/trainers/epoch_iterator.py:74: UserWarning: `shuffle=True` was passed",
        "/x/skimage/morphology/binary.py:9: FutureWarning: binary_erosion is deprecated",
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "E0000 00:00:1795637305.088671   11222 cuda_platform.cc:52] failed call to cuInit",
        "W0000 00:00:1795637305.1 something.cc:1] a TensorFlow warning",
        "I0000 00:00:1795637300.188261   11222 port.cc:153] oneDNN custom operations are on.",
        "WARNING:tensorflow:5 out of the last 5 calls to <function> triggered tf.function "
        "retracing.",
        "INFO:tensorflow:Assets written to: /x/unet_savedmodel/assets",
    ],
)
def test_noise_lines_finds_each_kind(line):
    outputs = [_stream("all good\n"), _stream(f"before\n{line}\nafter\n", name="stderr")]
    assert scan.noise_lines(outputs) == [line]


def test_noise_lines_reads_results_and_tracebacks():
    outputs = [{"output_type": "execute_result", "data": {"text/plain": "x\nDeprecationWarning"}},
               {"output_type": "error", "traceback": ["Traceback", "UserWarning: raised"]},
               {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo="}}]
    assert scan.noise_lines(outputs) == ["DeprecationWarning", "UserWarning: raised"]


@pytest.mark.parametrize("text", ["epoch 1/8 - loss 0.31\n", "3 warnings filtered? no: none\n",
                                  "warning: lower case is advice, not a Python warning\n", ""])
def test_noise_lines_passes_clean_output(text):
    assert scan.noise_lines([_stream(text)]) == []


class _Cell:
    """Stands in for nbval's IPyNbCell after it ran."""

    def __init__(self, outputs):
        self.test_outputs = outputs


def _call_hook(item):
    hook = scan.pytest_runtest_call(item)
    next(hook)  # the test itself would run here
    try:
        hook.send(None)
    except StopIteration:
        return


def test_hook_fails_a_notebook_cell_that_printed_a_warning(monkeypatch):
    monkeypatch.setattr(scan, "_is_notebook_cell", lambda item: True)
    noisy = _Cell([_stream("I0000 00:00:1 port.cc:153] oneDNN custom operations are on.\n")])
    with pytest.raises(pytest.fail.Exception, match="1 warning or TensorFlow log line"):
        _call_hook(noisy)
    _call_hook(_Cell([_stream("clean\n")]))


def test_hook_leaves_other_tests_alone(monkeypatch):
    monkeypatch.setattr(scan, "_is_notebook_cell", lambda item: False)
    _call_hook(_Cell([_stream("UserWarning: not a notebook cell\n")]))


def test_notebook_cells_are_recognised():
    from nbval.plugin import IPyNbCell

    assert scan._is_notebook_cell(object()) is False
    assert scan._is_notebook_cell(object.__new__(IPyNbCell)) is True


def test_kernel_environment_drops_only_pytests_marker():
    environ = {"PATH": "/usr/bin", "PYTEST_CURRENT_TEST": "x.py::t (call)", "CI": "true"}
    assert scan._kernel_environment(environ) == {"PATH": "/usr/bin", "CI": "true"}


def test_nbval_start_new_kernel_drops_pytests_marker(monkeypatch):
    # Without this, ipykernel would not capture TensorFlow's C++ lines under pytest, and
    # nbval would send them to /dev/null: the scan would miss what a learner sees.
    # nbval's own kernel start, as this session patched it, stopped at the kernel manager:
    # the environment it would start the kernel with must lack PYTEST_CURRENT_TEST.
    import nbval.kernel

    started = []

    class Recorder:
        def __init__(self, **kwargs):
            pass

        def start_kernel(self, **kwargs):
            started.append(kwargs)
            raise RuntimeError("stopped before a kernel starts")

    monkeypatch.setattr(nbval.kernel, "KernelManager", Recorder)
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "tests/x.py::t (call)")
    monkeypatch.setenv("COURSE_SCAN_PROBE", "kept")
    with pytest.raises(RuntimeError, match="stopped before a kernel starts"):
        nbval.kernel.start_new_kernel(kernel_name="python3")
    (kwargs,) = started
    assert "PYTEST_CURRENT_TEST" not in kwargs["env"]
    assert kwargs["env"]["COURSE_SCAN_PROBE"] == "kept"
