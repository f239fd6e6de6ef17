"""helpers.runtime, with helpers.tensorflow_start and helpers.drive that setup() calls.

Where the course runs, the training mode, seeding, TensorFlow's quiet start with GPU
memory growth, Drive and the outputs folder. `COLAB_DRIVE` is patched in
helpers.runtime, where setup() reads it.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

import helpers
import helpers.runtime as runtime_module
from helpers import Runtime, detect_runtime, resolve_mode, setup


@pytest.fixture
def clean_env(monkeypatch):
    """No course variable and no TPU hint from the calling environment."""
    for name in ("UNET_COURSE_MODE", "UNET_COURSE_OUTPUTS", "COLAB_TPU_ADDR", "TPU_NAME"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_colab(monkeypatch, clean_env):
    """A stand-in ``google.colab`` whose ``drive.mount`` records its calls."""
    import tensorflow  # noqa: F401  (imports the real `google` namespace package first)

    calls = []
    behaviour = {"error": None, "hang": False}

    def mount(mountpoint, **kwargs):
        calls.append((mountpoint, kwargs))
        if behaviour["hang"]:  # as Colab does when nobody answers: wait, then give up
            time.sleep(kwargs.get("timeout_ms", 120_000) / 1000)
            raise ValueError("mount failed: timeout during initial read of root folder")
        if behaviour["error"] is not None:
            raise behaviour["error"]
        (Path(mountpoint) / "MyDrive").mkdir(parents=True, exist_ok=True)

    colab = types.ModuleType("google.colab")
    colab.drive = types.SimpleNamespace(mount=mount)
    if "google" not in sys.modules:
        google = types.ModuleType("google")
        google.__path__ = []
        monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    return types.SimpleNamespace(calls=calls, behaviour=behaviour)


def _tf_gpus():
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


# --------------------------------------------------------------------------- detect_runtime


def test_detect_runtime_local(clean_env):
    runtime = detect_runtime()
    assert runtime.platform == "local"
    assert not runtime.is_colab
    assert runtime.accelerator == ("GPU" if _tf_gpus() else "CPU")
    if runtime.accelerator == "CPU":
        assert runtime.devices == ()
    assert runtime.python == platform.python_version()
    assert runtime.tensorflow == importlib.metadata.version("tensorflow")
    assert runtime.keras == importlib.metadata.version("keras")
    assert all(isinstance(v, str) for v in (runtime.python, runtime.tensorflow, runtime.keras))


def test_detect_runtime_summary_names_versions(clean_env):
    runtime = detect_runtime()
    summary = runtime.summary()
    assert f"Python {runtime.python}" in summary
    assert f"TensorFlow {runtime.tensorflow}" in summary
    assert f"Keras {runtime.keras}" in summary
    assert runtime.accelerator in summary


def test_detect_runtime_colab(fake_colab):
    runtime = detect_runtime()
    assert runtime.platform == "colab"
    assert runtime.is_colab
    assert fake_colab.calls == []  # detecting mounts nothing


# --------------------------------------------------------------------------- setup on "Colab"


def test_setup_colab_mounts_drive(fake_colab, monkeypatch, tmp_path, capsys):
    drive = tmp_path / "drive"
    monkeypatch.setattr(runtime_module, "COLAB_DRIVE", drive)
    monkeypatch.chdir(tmp_path)
    course = setup(drive_timeout_s=7, verbose=True)
    assert fake_colab.calls == [(str(drive), {"timeout_ms": 7000})]
    assert course.drive_mounted
    assert course.output_dir == drive / "MyDrive" / "unet-course" / "outputs"
    assert course.checkpoint_dir == course.output_dir / "checkpoints"
    assert course.checkpoint_dir.is_dir()
    assert not (tmp_path / "outputs").exists()
    out = capsys.readouterr().out
    assert "(Google Drive)" in out
    assert "Runtime: colab" in out


def test_setup_colab_mount_failure_falls_back_to_local_disk(fake_colab, monkeypatch, tmp_path,
                                                           capsys):
    drive = tmp_path / "drive"
    monkeypatch.setattr(runtime_module, "COLAB_DRIVE", drive)
    monkeypatch.chdir(tmp_path)
    fake_colab.behaviour["error"] = TimeoutError("user did not allow access")
    course = setup(verbose=False)
    assert len(fake_colab.calls) == 1
    assert fake_colab.calls[0][1]["timeout_ms"] == 120_000
    assert not course.drive_mounted
    assert course.output_dir == tmp_path / "outputs"
    assert course.checkpoint_dir.is_dir()
    assert not drive.exists()
    out = capsys.readouterr().out
    assert "Google Drive was not mounted" in out
    assert "TimeoutError" in out
    assert "local disk" in out


def test_setup_colab_output_dir_skips_the_mount(fake_colab, monkeypatch, tmp_path):
    monkeypatch.setattr(runtime_module, "COLAB_DRIVE", tmp_path / "drive")
    monkeypatch.chdir(tmp_path)
    fake_colab.behaviour["error"] = RuntimeError("mount failed")
    course = setup(verbose=False, output_dir=tmp_path / "mine")
    assert fake_colab.calls == []  # outputs go where asked: no need for Drive
    assert course.output_dir == tmp_path / "mine"
    assert (tmp_path / "mine" / "checkpoints").is_dir()


def test_setup_colab_reuses_the_install_cells_mount(fake_colab, monkeypatch, tmp_path, capsys):
    drive = tmp_path / "drive"
    (drive / "MyDrive").mkdir(parents=True)  # the install cell mounted Drive
    monkeypatch.setattr(runtime_module, "COLAB_DRIVE", drive)
    monkeypatch.chdir(tmp_path)
    course = setup(verbose=True)
    assert fake_colab.calls == []
    assert course.drive_mounted
    assert (drive / "MyDrive" / "unet-course" / "outputs" / "checkpoints").is_dir()
    assert "(Google Drive)" in capsys.readouterr().out


def test_setup_colab_mount_times_out(fake_colab, monkeypatch, tmp_path, capsys):
    drive = tmp_path / "drive"
    monkeypatch.setattr(runtime_module, "COLAB_DRIVE", drive)
    monkeypatch.chdir(tmp_path)
    fake_colab.behaviour["hang"] = True
    start = time.monotonic()
    course = setup(drive_timeout_s=2, verbose=False)
    assert time.monotonic() - start >= 2  # it waited for the mount, then gave up
    assert fake_colab.calls[0][1] == {"timeout_ms": 2000}
    assert not course.drive_mounted
    assert course.output_dir == tmp_path / "outputs"
    assert course.checkpoint_dir.is_dir()
    out = capsys.readouterr().out
    assert "Google Drive was not mounted (ValueError: mount failed: timeout" in out
    assert "local disk" in out


def test_setup_colab_drive_outputs_not_writable(fake_colab, monkeypatch, tmp_path, capsys):
    drive = tmp_path / "drive"
    course_folder = drive / "MyDrive" / "unet-course"
    course_folder.mkdir(parents=True)
    (course_folder / "outputs").write_text("a file where the outputs folder should be\n")
    monkeypatch.setattr(runtime_module, "COLAB_DRIVE", drive)
    monkeypatch.chdir(tmp_path)
    course = setup(verbose=True)
    assert not course.drive_mounted
    assert course.output_dir == tmp_path / "outputs"
    assert course.checkpoint_dir.is_dir()
    assert (course_folder / "outputs").read_text().startswith("a file")  # untouched
    out = capsys.readouterr().out
    assert "is not writable" in out and "local disk" in out
    assert "(Google Drive)" not in out


def test_setup_colab_uses_the_drive_module_it_is_patched_in(fake_colab, monkeypatch, tmp_path,
                                                            capsys):
    seen = []

    def refuse(mountpoint, *, timeout_s):
        seen.append((mountpoint, timeout_s))
        return False, "refused by the test"

    monkeypatch.setattr("helpers.drive._mount_drive", refuse)
    monkeypatch.setattr(runtime_module, "COLAB_DRIVE", tmp_path / "drive")
    monkeypatch.chdir(tmp_path)
    course = setup(drive_timeout_s=3, verbose=False)
    assert seen == [(tmp_path / "drive", 3)]
    assert fake_colab.calls == []
    assert not course.drive_mounted
    assert "Google Drive was not mounted (refused by the test)" in capsys.readouterr().out


def test_setup_colab_mount_drive_false_does_not_mount(fake_colab, monkeypatch, tmp_path):
    monkeypatch.setattr(runtime_module, "COLAB_DRIVE", tmp_path / "drive")
    monkeypatch.chdir(tmp_path)
    course = setup(mount_drive=False, verbose=False)
    assert fake_colab.calls == []
    assert not course.drive_mounted
    assert course.output_dir == tmp_path / "outputs"


# --------------------------------------------------------------------------- setup locally


def test_setup_local_outputs_variable(clean_env, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("UNET_COURSE_OUTPUTS", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("UNET_COURSE_DATA", str(tmp_path / "data"))
    course = setup(verbose=False)
    assert course.output_dir == tmp_path / "elsewhere"
    assert course.checkpoint_dir.is_dir()
    assert not course.drive_mounted
    assert not (tmp_path / "outputs").exists()


def test_setup_local_mode_from_variable(clean_env, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("UNET_COURSE_MODE", "full")
    course = setup(output_dir=tmp_path, seed=3)
    assert course.mode == "full"
    assert not course.quick
    assert course.seed == 3
    assert "Mode: full (set by UNET_COURSE_MODE); seed: 3" in capsys.readouterr().out


@pytest.mark.parametrize("seed", [0, 42, 2**31 - 1])
def test_setup_seed_reproducible(clean_env, tmp_path, seed):
    setup(seed=seed, output_dir=tmp_path, verbose=False)
    first = (np.random.random(), np.random.randint(0, 2**30))  # noqa: NPY002 (legacy RNG)
    import random

    first_python = random.random()
    setup(seed=seed, output_dir=tmp_path, verbose=False)
    second = (np.random.random(), np.random.randint(0, 2**30))  # noqa: NPY002
    assert first == second
    assert random.random() == first_python


def test_setup_seed_different_seeds_differ(clean_env, tmp_path):
    setup(seed=1, output_dir=tmp_path, verbose=False)
    first = np.random.random(4)  # noqa: NPY002 (setup seeds the legacy global RNG)
    setup(seed=2, output_dir=tmp_path, verbose=False)
    assert not np.array_equal(first, np.random.random(4))  # noqa: NPY002


def test_setup_seed_keras_backend(clean_env, tmp_path):
    import keras

    setup(seed=5, output_dir=tmp_path, verbose=False)
    first = keras.ops.convert_to_numpy(keras.random.uniform((3,)))
    setup(seed=5, output_dir=tmp_path, verbose=False)
    second = keras.ops.convert_to_numpy(keras.random.uniform((3,)))
    np.testing.assert_array_equal(first, second)


# --------------------------------------------------------------------------- resolve_mode


@pytest.mark.parametrize(("value", "expected"), [
    ("quick", "quick"), ("full", "full"), (" FULL ", "full"), ("Quick", "quick"),
    ("full\n", "full"),
])
def test_resolve_mode_from_environ(value, expected):
    gpu = Runtime("local", "GPU")
    cpu = Runtime("local", "CPU")
    assert resolve_mode(runtime=gpu, environ={"UNET_COURSE_MODE": value}) == expected
    assert resolve_mode(runtime=cpu, environ={"UNET_COURSE_MODE": value}) == expected


@pytest.mark.parametrize("value", ["fast", "slow", "1", "quick mode", "ful"])
def test_resolve_mode_invalid_value(value):
    with pytest.raises(ValueError, match="UNET_COURSE_MODE") as info:
        resolve_mode(runtime=Runtime("local", "CPU"), environ={"UNET_COURSE_MODE": value})
    assert repr(value) in str(info.value)


@pytest.mark.parametrize(("accelerator", "expected"), [
    ("CPU", "quick"), ("GPU", "full"), ("TPU", "full"),
])
@pytest.mark.parametrize("environ", [{}, {"UNET_COURSE_MODE": ""}, {"UNET_COURSE_MODE": "  "}])
def test_resolve_mode_unset_by_hardware(accelerator, expected, environ):
    runtime = Runtime("colab", accelerator, tensorflow="2.20.0")
    assert resolve_mode(runtime=runtime, environ=environ) == expected


def test_resolve_mode_reads_os_environ(monkeypatch):
    monkeypatch.setenv("UNET_COURSE_MODE", "FULL")
    assert resolve_mode(runtime=Runtime("local", "CPU")) == "full"
    monkeypatch.setenv("UNET_COURSE_MODE", "bogus")
    with pytest.raises(ValueError, match="UNET_COURSE_MODE"):
        resolve_mode(runtime=Runtime("local", "GPU"))


# --------------------------------------------------------------------------- advice


def test_runtime_advice_colab_cpu():
    advice = Runtime("colab", "CPU", tensorflow="2.20.0", keras="3.10.0").advice()
    assert "Change runtime type" in advice
    assert "GPU" in advice


def test_runtime_advice_tpu_without_tensorflow():
    advice = Runtime("colab", "TPU", tensorflow=None).advice()
    assert "TPU runtimes ship without TensorFlow" in advice
    assert "GPU" in advice
    assert "Change runtime type" in advice


def test_runtime_advice_gpu_is_empty():
    assert Runtime("colab", "GPU", ("Tesla T4",), tensorflow="2.20.0").advice() == ""


def test_runtime_advice_local_cpu_mentions_cuda():
    advice = Runtime("local", "CPU", tensorflow="2.21.0").advice()
    assert "quick mode" in advice
    assert "Change runtime type" not in advice


def test_runtime_advice_no_tensorflow_locally():
    advice = Runtime("local", "CPU", tensorflow=None).advice()
    assert "pip install -r requirements.txt" in advice


def test_runtime_summary_without_tensorflow():
    summary = Runtime("colab", "TPU", tensorflow=None, keras=None).summary()
    assert "TensorFlow not installed" in summary
    assert "Keras not installed" in summary


# --------------------------------------------------------------------------- distribution


def test_distribution_strategy_default_on_this_machine(clean_env):
    import tensorflow as tf

    if len(tf.config.list_logical_devices("GPU")) > 1:
        pytest.skip("several GPUs: MirroredStrategy is expected")
    if runtime_module._tpu_hint():
        pytest.skip("this machine looks like a TPU host")
    strategy = helpers.distribution_strategy()
    assert type(strategy) is type(tf.distribute.get_strategy())
    assert strategy.num_replicas_in_sync == 1


# --------------------------------------------------------------------------- the MODE switch


@pytest.mark.parametrize(("mode", "variable", "accelerator", "expected", "source"), [
    ("auto", None, "CPU", "quick", "chosen by hardware"),
    ("auto", None, "GPU", "full", "chosen by hardware: GPU"),
    ("full", None, "CPU", "full", "set by MODE"),
    (" Quick ", None, "GPU", "quick", "set by MODE"),
    ("full", "quick", "GPU", "quick", "set by UNET_COURSE_MODE, which overrides MODE='full'"),
    ("auto", "full", "CPU", "full", "set by UNET_COURSE_MODE"),
    ("quick", "quick", "CPU", "quick", "set by UNET_COURSE_MODE"),
])
def test_resolve_mode_precedence(mode, variable, accelerator, expected, source):
    environ = {} if variable is None else {"UNET_COURSE_MODE": variable}
    runtime = Runtime("colab", accelerator, tensorflow="2.20.0")
    assert resolve_mode(mode=mode, runtime=runtime, environ=environ) == expected
    chosen, said = runtime_module._resolve_mode(mode=mode, runtime=runtime, environ=environ)
    assert (chosen, said.startswith(source)) == (expected, True), said


@pytest.mark.parametrize("mode", ["fast", "", "QUICKER", None, 1])
def test_resolve_mode_invalid_mode_argument(mode):
    with pytest.raises(ValueError, match="mode must be one of 'auto', 'quick', 'full'") as info:
        resolve_mode(mode=mode, runtime=Runtime("local", "GPU"), environ={})
    assert repr(mode) in str(info.value)
    assert "MODE field" in str(info.value)


def test_setup_mode_argument_and_variable(clean_env, monkeypatch, tmp_path, capsys):
    course = setup(mode="full", output_dir=tmp_path)
    assert course.mode == "full"
    assert "Mode: full (set by MODE)" in capsys.readouterr().out
    monkeypatch.setenv("UNET_COURSE_MODE", "quick")
    course = setup(mode="full", output_dir=tmp_path)
    assert course.quick
    assert "overrides MODE='full'" in capsys.readouterr().out


def test_setup_invalid_mode_fails_before_anything(clean_env, tmp_path):
    with pytest.raises(ValueError, match="'slow'"):
        setup(mode="slow", output_dir=tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_setup_without_tensorflow_stops_with_tpu_advice(fake_colab, monkeypatch, tmp_path):
    monkeypatch.setattr(runtime_module, "_version", lambda name: None)
    monkeypatch.setattr(runtime_module, "_tpu_hint", lambda: True)
    monkeypatch.setattr(runtime_module, "COLAB_DRIVE", tmp_path / "drive")
    with pytest.raises(RuntimeError, match="Colab's TPU runtimes ship without TensorFlow") as info:
        setup(output_dir=tmp_path / "never")
    assert "Runtime > Change runtime type > T4 GPU" in str(info.value)
    assert fake_colab.calls == []
    assert not (tmp_path / "never").exists()


# --------------------------------------------------------------------------- GPU memory growth


class _StandInConfig:
    """tensorflow.config as it behaves: GPU settings are refused once devices are listed."""

    def __init__(self, gpus=("GPU:0", "GPU:1"), started=False):
        self.gpus = [types.SimpleNamespace(name=f"/physical_device:{g}", device_type="GPU")
                     for g in gpus]
        self.started = started
        self.growth = {}
        self.calls = []
        self.experimental = types.SimpleNamespace(
            set_memory_growth=self._set_memory_growth,
            get_device_details=lambda device: {"device_name": "Tesla T4"},
        )

    def list_physical_devices(self, kind=None):
        self.calls.append(("list_physical_devices", kind))
        return list(self.gpus) if kind in (None, "GPU") else []

    def list_logical_devices(self, kind=None):
        self.calls.append(("list_logical_devices", kind))
        self.started = True
        return []

    def _set_memory_growth(self, device, enable):
        self.calls.append(("set_memory_growth", device.name))
        if self.started:
            raise RuntimeError("Physical devices cannot be modified after being initialized")
        self.growth[device.name] = enable


@pytest.fixture
def stand_in_tensorflow(monkeypatch, clean_env):
    import keras  # noqa: F401  (the real Keras, imported before the stand-in goes in)
    import keras_unet  # noqa: F401

    def install(config):
        monkeypatch.setitem(sys.modules, "tensorflow",
                            types.SimpleNamespace(config=config, __version__="2.20.0"))
        return config

    return install


def test_setup_memory_growth_before_devices_start(stand_in_tensorflow, tmp_path, capsys):
    config = stand_in_tensorflow(_StandInConfig())
    course = setup(output_dir=tmp_path, verbose=True)
    assert config.growth == {"/physical_device:GPU:0": True, "/physical_device:GPU:1": True}
    first_logical = config.calls.index(("list_logical_devices", None))
    last_growth = max(i for i, call in enumerate(config.calls) if call[0] == "set_memory_growth")
    assert last_growth < first_logical
    assert course.runtime.accelerator == "GPU"
    assert course.runtime.devices == ("Tesla T4", "Tesla T4")
    assert course.mode == "full"
    assert "could not be set" not in capsys.readouterr().out


def test_setup_memory_growth_refused_is_reported(stand_in_tensorflow, tmp_path, capsys):
    config = stand_in_tensorflow(_StandInConfig(gpus=("GPU:0",), started=True))
    setup(output_dir=tmp_path, verbose=False)
    assert config.growth == {}
    out = capsys.readouterr().out
    assert "GPU memory growth could not be set on /physical_device:GPU:0" in out
    assert "Restart the runtime" in out


def test_detect_runtime_does_not_start_devices(stand_in_tensorflow):
    config = stand_in_tensorflow(_StandInConfig())
    detect_runtime()
    assert not config.started
    assert all(call[0] == "list_physical_devices" for call in config.calls)


# --------------------------------------------------------------------------- quiet start


@pytest.mark.slow
def test_setup_first_import_of_tensorflow_is_silent(tmp_path):
    code = (
        "import sys, helpers\n"
        "assert 'tensorflow' not in sys.modules\n"
        f"helpers.setup(mode='quick', output_dir={str(tmp_path)!r}, verbose=False)\n"
        "import keras, keras_unet, tensorflow\n"
        "assert 'tensorflow' in sys.modules\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL",
                                                            "UNET_COURSE_MODE")}
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           cwd=tmp_path, env=env, timeout=300)
    assert probe.returncode == 0, probe.stderr
    assert probe.stderr == ""  # no I0000/E0000 lines, no absl notice
    assert probe.stdout == ""  # no keras-unet banner


def test_setup_failed_tensorflow_import_replays_its_log(tmp_path):
    broken = tmp_path / "site" / "tensorflow"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text(
        "import os\n"
        "os.write(2, b'E0000 00:00 cuda_dnn.cc:8310] Unable to register cuDNN factory\\n')\n"
        "raise ImportError('libcudnn.so.9: cannot open shared object file')\n"
    )
    code = "import helpers.tensorflow_start as t\nt._start_tensorflow()\n"
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"))
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           cwd=tmp_path, env=env, timeout=120)
    assert probe.returncode == 1
    assert "E0000 00:00 cuda_dnn.cc:8310] Unable to register cuDNN factory" in probe.stderr
    assert "ImportError: libcudnn.so.9" in probe.stderr
    assert probe.stderr.index("cuda_dnn.cc") < probe.stderr.index("Traceback")
