"""helpers.runtime: where the course runs, the training mode, seeding, Drive and outputs."""

from __future__ import annotations

import importlib.metadata
import platform
import sys
import types

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
    behaviour = {"error": None}

    def mount(mountpoint, **kwargs):
        calls.append((mountpoint, kwargs))
        if behaviour["error"] is not None:
            raise behaviour["error"]

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
    assert fake_colab.calls == [(str(drive), {"force_remount": True, "timeout_ms": 7000})]
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
    assert fake_colab.calls[0][1]["force_remount"] is True
    assert fake_colab.calls[0][1]["timeout_ms"] == 120_000
    assert not course.drive_mounted
    assert course.output_dir == tmp_path / "outputs"
    assert course.checkpoint_dir.is_dir()
    assert not drive.exists()
    out = capsys.readouterr().out
    assert "Google Drive was not mounted" in out
    assert "TimeoutError" in out
    assert "local disk" in out


def test_setup_colab_mount_failure_uses_output_dir(fake_colab, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(runtime_module, "COLAB_DRIVE", tmp_path / "drive")
    monkeypatch.chdir(tmp_path)
    fake_colab.behaviour["error"] = RuntimeError("mount failed")
    course = setup(verbose=False, output_dir=tmp_path / "mine")
    assert course.output_dir == tmp_path / "mine"
    assert (tmp_path / "mine" / "checkpoints").is_dir()
    assert "Drive" in capsys.readouterr().out


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
    assert course.data_dir == tmp_path / "data"
    assert not course.drive_mounted
    assert not (tmp_path / "outputs").exists()


def test_setup_local_mode_from_variable(clean_env, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("UNET_COURSE_MODE", "full")
    course = setup(output_dir=tmp_path, seed=3)
    assert course.mode == "full"
    assert not course.quick
    assert course.seed == 3
    assert "Mode: full (UNET_COURSE_MODE); seed: 3" in capsys.readouterr().out


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
