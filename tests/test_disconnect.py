"""A Colab disconnect, for real: SIGKILL in the middle of an epoch, then resume.

A training script runs in its own process with `keras.callbacks.BackupAndRestore`.
The test kills it with SIGKILL halfway through an epoch (no exception, no
callback runs: the process is gone, as when Colab recycles a runtime), starts it
again, and checks that it resumes from the last completed epoch, stops after the
same total number of epochs, and ends with the weights of an uninterrupted run.
Tiny model and data, CPU, deterministic ops: seconds, and comparable to 1e-6.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

EPOCHS = 6
KILL_AT = (3, 4)  # (epoch, batch), from 0: epochs 0-2 done, epoch 3 half done
TOLERANCE = 1e-6  # absolute, on every weight; deterministic CPU ops make the runs agree

TRAIN = '''
import json, os, sys, time
from pathlib import Path

import numpy as np
import keras
import tensorflow as tf

workdir = Path(sys.argv[1])
kill_at = json.loads(sys.argv[2])
keras.utils.set_random_seed(0)
tf.config.experimental.enable_op_determinism()
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 8)).astype("float32")
y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")


class Trace(keras.callbacks.Callback):
    def _log(self, text):
        with open(workdir / "trace.log", "a") as log:
            log.write(text + "\\n")

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self._log(f"begin {epoch}")

    def on_epoch_end(self, epoch, logs=None):
        self._log(f"end {epoch}")

    def on_train_batch_end(self, batch, logs=None):
        if kill_at == [self.epoch, batch]:
            self._log(f"waiting in epoch {self.epoch} after batch {batch}")
            (workdir / "mid-epoch").touch()
            time.sleep(600)  # the test kills the process here


model.fit(x, y, batch_size=8, epochs=%(epochs)d, shuffle=False, verbose=0, callbacks=[
    keras.callbacks.BackupAndRestore(workdir / "backup"), Trace()])
np.savez(workdir / "final.npz", *model.get_weights())
'''


def _start(script: Path, workdir: Path, kill_at) -> subprocess.Popen:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               TF_ENABLE_ONEDNN_OPTS="0")
    with open(workdir / "output.txt", "a") as output:
        return subprocess.Popen([sys.executable, str(script), str(workdir), json.dumps(kill_at)],
                                env=env, stdout=output, stderr=subprocess.STDOUT)


def _output(workdir: Path) -> str:
    return (workdir / "output.txt").read_text()


def _trace(workdir: Path) -> list[str]:
    return (workdir / "trace.log").read_text().splitlines()


def _weights(workdir: Path) -> list[np.ndarray]:
    with np.load(workdir / "final.npz") as saved:
        return [saved[f"arr_{i}"] for i in range(len(saved.files))]


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_training_killed_mid_epoch_resumes_through_backup_and_restore(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TRAIN % {"epochs": EPOCHS})

    reference = tmp_path / "uninterrupted"
    reference.mkdir()
    run = _start(script, reference, None)
    assert run.wait(timeout=300) == 0, _output(reference)

    resumed = tmp_path / "killed"
    resumed.mkdir()
    run = _start(script, resumed, list(KILL_AT))
    deadline = time.monotonic() + 300
    while not (resumed / "mid-epoch").exists():
        assert run.poll() is None, _output(resumed)
        assert time.monotonic() < deadline, "training never reached the middle of epoch 3"
        time.sleep(0.1)
    os.kill(run.pid, signal.SIGKILL)
    assert run.wait(timeout=60) == -signal.SIGKILL
    killed_trace = _trace(resumed)
    assert killed_trace[-2:] == ["begin 3", "waiting in epoch 3 after batch 4"]
    assert not (resumed / "final.npz").exists()
    assert (resumed / "backup").is_dir()  # what BackupAndRestore saved after epoch 2

    (resumed / "trace.log").rename(resumed / "trace-before-kill.log")
    run = _start(script, resumed, None)
    assert run.wait(timeout=300) == 0, _output(resumed)
    trace = _trace(resumed)
    # Resumed from the last completed epoch (2), so it starts epoch 3 again ...
    assert trace[0] == "begin 3", trace
    # ... and stops after the same total number of epochs.
    assert trace == [f"{step} {epoch}" for epoch in range(3, EPOCHS) for step in ("begin", "end")]
    completed = {int(line.split()[1]) for line in killed_trace + trace if line.startswith("end")}
    assert completed == set(range(EPOCHS))

    expected, got = _weights(reference), _weights(resumed)
    assert [w.shape for w in got] == [w.shape for w in expected]
    for mine, theirs in zip(got, expected, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=TOLERANCE)
