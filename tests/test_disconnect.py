"""A Colab disconnect, for real: SIGKILL in the middle of an epoch, or of a save.

A training script runs in its own process with `keras.callbacks.BackupAndRestore`
and `keras.callbacks.CSVLogger`. The test kills it with SIGKILL halfway through an
epoch (no exception, no callback runs: the process is gone, as when Colab recycles
a runtime), starts it again, and checks that it resumes from the last completed
epoch, stops after the same total number of epochs, ends with the weights of an
uninterrupted run, and that the CSV log lost no completed epoch: Keras's own
logger is safe, which is why the course need not replace it.

The second test kills a run in the middle of writing a checkpoint. Keras's
`ModelCheckpoint` writes the ``.keras`` file in place, so nothing loadable is
left; `helpers.atomic_checkpoint` writes beside it and renames, so the previous
checkpoint survives. That difference is why the course keeps its own callback; if
a Keras release makes `ModelCheckpoint` safe, the first case fails, and the course
can teach Keras's own.

Tiny model and data, CPU, deterministic ops: seconds, and comparable to 1e-6.
"""

from __future__ import annotations

import csv
import importlib.util
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
    keras.callbacks.BackupAndRestore(workdir / "backup"),
    keras.callbacks.CSVLogger(workdir / "log.csv", append=True), Trace()])
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


def _weights(workdir: Path, name: str = "final.npz") -> list[np.ndarray]:
    with np.load(workdir / name) as saved:
        return [saved[f"arr_{i}"] for i in range(len(saved.files))]


def _logged_epochs(workdir: Path) -> list[str]:
    """The CSV log's epoch column, checking that every row is whole."""
    with open(workdir / "log.csv", newline="") as log:
        rows = list(csv.reader(log))
    assert all(len(row) == len(rows[0]) for row in rows), rows
    return [row[0] for row in rows]


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
    assert _logged_epochs(resumed) == ["epoch", "0", "1", "2"]  # flushed at each epoch's end

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
    # append=True: the resumed run goes on in the same log, one header, every epoch once.
    assert _logged_epochs(resumed) == ["epoch", *map(str, range(EPOCHS))]

    expected, got = _weights(reference), _weights(resumed)
    assert [w.shape for w in got] == [w.shape for w in expected]
    for mine, theirs in zip(got, expected, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=TOLERANCE)


# --------------------------------------------------------------------------- killed mid-save

STALLING_LAYER = '''
import time
from pathlib import Path

import keras


class StallingDense(keras.layers.Dense):
    """A Dense layer that stops in the middle of the model's second save, for the test to kill."""

    saves = 0
    marker = None  # the file that tells the test the save is under way

    def save_own_variables(self, store):  # called by model.save, inside the open .keras file
        super().save_own_variables(store)
        StallingDense.saves += 1
        if StallingDense.saves == 2 and StallingDense.marker is not None:
            Path(StallingDense.marker).touch()
            time.sleep(600)  # the test kills the process here
'''

SAVE = '''
import sys
from pathlib import Path

import numpy as np
import keras

import helpers
from stalling_layer import StallingDense

workdir, which = Path(sys.argv[1]), sys.argv[2]
StallingDense.marker = workdir / "mid-save"
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((4,)), StallingDense(1)])
model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
x = np.linspace(-1, 1, 32, dtype="float32").reshape(8, 4)
path = workdir / "best.keras"
checkpoint = (keras.callbacks.ModelCheckpoint(path, monitor="loss", save_best_only=False)
              if which == "ModelCheckpoint"
              else helpers.atomic_checkpoint(path, monitor="loss", save_best_only=False))


class KeepWeights(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):  # after the checkpoint callback has saved
        np.savez(workdir / f"weights-{epoch}.npz", *self.model.get_weights())


model.fit(x, x.sum(axis=1, keepdims=True), epochs=3, batch_size=4, verbose=0, shuffle=False,
          callbacks=[checkpoint, KeepWeights()])
'''


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@pytest.mark.parametrize(("which", "loadable"), [("ModelCheckpoint", False),
                                                  ("atomic_checkpoint", True)])
def test_killed_mid_save_keeps_the_previous_checkpoint_only_with_atomic_checkpoint(
        which, loadable, tmp_path):
    import keras

    (tmp_path / "stalling_layer.py").write_text(STALLING_LAYER)
    script = tmp_path / "save.py"  # its folder, with stalling_layer.py, is on its sys.path
    script.write_text(SAVE)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               TF_ENABLE_ONEDNN_OPTS="0")
    with open(tmp_path / "output.txt", "w") as output:
        run = subprocess.Popen([sys.executable, str(script), str(tmp_path), which], env=env,
                               stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while not (tmp_path / "mid-save").exists():
        assert run.poll() is None, _output(tmp_path)
        assert time.monotonic() < deadline, "training never reached its second save"
        time.sleep(0.05)
    os.kill(run.pid, signal.SIGKILL)
    assert run.wait(timeout=60) == -signal.SIGKILL
    assert not (tmp_path / "weights-1.npz").exists()  # killed in epoch 1's save

    spec = importlib.util.spec_from_file_location("stalling_layer", tmp_path / "stalling_layer.py")
    stalling_layer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stalling_layer)
    custom_objects = {"StallingDense": stalling_layer.StallingDense}

    checkpoint = tmp_path / "best.keras"
    if not loadable:
        # ModelCheckpoint emptied epoch 0's file and was writing epoch 1's into it.
        with pytest.raises(ValueError, match="accessible `.keras` zip file"):
            keras.models.load_model(checkpoint, custom_objects=custom_objects)
        return
    model = keras.models.load_model(checkpoint, custom_objects=custom_objects)
    for saved, expected in zip(model.get_weights(), _weights(tmp_path, "weights-0.npz"),
                               strict=True):
        np.testing.assert_array_equal(saved, expected)  # epoch 0's checkpoint, whole
    # What the kill left beside it: the hidden temporary file, never under the checkpoint's name.
    assert len(list(tmp_path.glob(".best.partial-*.keras"))) == 1
