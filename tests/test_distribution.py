"""helpers.distribution_strategy on two devices: two logical CPUs stand in for two GPUs.

No machine the course is tested on has two GPUs, so the path for several devices had
never run. TensorFlow can split one physical CPU into logical devices, but only before
its runtime starts: the check runs in a fresh Python process that configures two of
them first, asks helpers for a strategy, and trains the course U-Net (one level, 4
filters, 32 x 32 tiles) for 3 steps with helpers.soft_jaccard_loss on both devices.

By default distribution_strategy mirrors over GPUs only: on two CPUs it keeps the
default strategy (one replica). Given the two CPUs as its `devices`, it takes the path
it takes for two GPUs, and the training runs under the MirroredStrategy it returns.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # starts TensorFlow or a kernel: not in make test-fast

# Found, not imported: this process never needs TensorFlow (its import costs seconds).
if not all(importlib.util.find_spec(name) for name in ("tensorflow", "keras_unet")):
    pytest.skip("needs TensorFlow and keras-unet", allow_module_level=True)

SCRIPT = """
import json
import numpy as np
import tensorflow as tf

# Before anything lists or uses a device: afterwards TensorFlow refuses the change.
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

import keras
import helpers


def train(strategy):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = helpers.course_unet(4, input_shape=(32, 32, 1), num_layers=1)
        # Without XLA: compiling takes longer than the 3 steps themselves here.
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=helpers.soft_jaccard_loss,
                      jit_compile=False)
    rng = np.random.default_rng(0)
    x = rng.random((12, 32, 32, 1)).astype("float32")
    y = (x > 0.5).astype("float32")
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)  # 3 steps of 4 images
    after = model.get_weights()
    return {
        "losses": [float(v) for v in history.history["loss"]],
        "weights_changed": any(not np.array_equal(a, b) for a, b in zip(before, after)),
        "variable": type(model.trainable_variables[0].value).__name__,
    }


picked = helpers.distribution_strategy()
mirrored = helpers.distribution_strategy(devices=tf.config.list_logical_devices("CPU"))
print(json.dumps({
    "logical_cpus": len(tf.config.list_logical_devices("CPU")),
    "picked": {
        "kind": type(picked).__name__,
        "is_default": picked is tf.distribute.get_strategy(),
        "replicas": picked.num_replicas_in_sync,
    },
    "mirrored": {"kind": type(mirrored).__name__, "replicas": mirrored.num_replicas_in_sync,
                 **train(mirrored)},
}))
"""


@pytest.fixture(scope="module")
def two_cpus(tmp_path_factory):
    """What the process with two logical CPUs reported."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    for hint in ("COLAB_TPU_ADDR", "TPU_NAME"):  # no TPU, whatever this machine says
        env.pop(hint, None)
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          cwd=tmp_path_factory.mktemp("distribution"), env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["logical_cpus"] == 2, report  # else nothing here ran on two devices
    return report


def test_distribution_strategy_two_cpus_keeps_the_default_strategy(two_cpus):
    # By default it mirrors only over several GPUs, so two CPU devices get one replica.
    picked = two_cpus["picked"]
    assert picked["is_default"], picked
    assert picked["kind"] != "MirroredStrategy"
    assert picked["replicas"] == 1


def test_distribution_strategy_two_cpu_devices_trains_the_course_unet_on_both(two_cpus):
    mirrored = two_cpus["mirrored"]
    assert mirrored["kind"] == "MirroredStrategy" and mirrored["replicas"] == 2, mirrored
    # The variables are mirrored over both devices, not placed on one.
    assert "Mirrored" in mirrored["variable"], mirrored
    assert all(0 < loss < float("inf") for loss in mirrored["losses"]), mirrored
    assert mirrored["weights_changed"]


GPU_SCRIPT = """
import json
import tensorflow as tf

# One GPU split in two, before anything starts the GPU: as a machine with two GPUs.
gpu = tf.config.list_physical_devices("GPU")[0]
tf.config.set_logical_device_configuration(
    gpu, [tf.config.LogicalDeviceConfiguration(memory_limit=1024)] * 2)

import helpers

picked = helpers.distribution_strategy()
print(json.dumps({"logical_gpus": len(tf.config.list_logical_devices("GPU")),
                  "kind": type(picked).__name__, "replicas": picked.num_replicas_in_sync}))
"""


@pytest.mark.skipif(not (os.path.exists("/dev/nvidiactl") or os.path.exists("/dev/nvidia0")),
                    reason="needs an NVIDIA GPU to split into two logical GPUs")
def test_distribution_strategy_two_logical_gpus_mirrors_over_both(tmp_path):
    # The branch for several GPUs, on one GPU split in two (checked on a GPU machine only).
    env = {key: value for key, value in os.environ.items()
           if key not in ("COLAB_TPU_ADDR", "TPU_NAME", "CUDA_VISIBLE_DEVICES")}
    done = subprocess.run([sys.executable, "-c", GPU_SCRIPT], capture_output=True, text=True,
                          cwd=tmp_path, env={**env, "TF_CPP_MIN_LOG_LEVEL": "2"}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if report["logical_gpus"] == 0:
        pytest.skip("TensorFlow sees no GPU here")
    assert report == {"logical_gpus": 2, "kind": "MirroredStrategy", "replicas": 2}
