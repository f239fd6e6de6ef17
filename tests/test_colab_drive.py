"""Google Drive going away during a run, under a stand-in `google.colab`.

Mount refused and mount timed out are in test_runtime.py (and, in a notebook
kernel, test_colab_path.py); here the mount works, and then the outputs folder
stops being writable in the middle of training. The run must go on with local
outputs, say so, and lose nothing already saved; every file is written to a
temporary name and renamed, so no half-written checkpoint is ever left.
"""

from __future__ import annotations

import csv
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import helpers
import helpers.callbacks as callbacks_module
import helpers.runtime as runtime_module


@pytest.fixture
def colab_with_drive(monkeypatch, tmp_path):
    """A stand-in Colab whose Drive mounts at tmp_path/drive; cwd is the local disk."""
    import tensorflow  # noqa: F401  (the real `google` namespace package first)

    def mount(mountpoint, **kwargs):
        (Path(mountpoint) / "MyDrive").mkdir(parents=True, exist_ok=True)

    colab = types.ModuleType("google.colab")
    colab.drive = types.SimpleNamespace(mount=mount)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    for name in ("UNET_COURSE_MODE", "UNET_COURSE_OUTPUTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(runtime_module, "COLAB_DRIVE", tmp_path / "drive")
    local = tmp_path / "content"
    local.mkdir()
    monkeypatch.chdir(local)
    return local


def _tiny_model():
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    return model


@pytest.mark.slow
def test_drive_outputs_unwritable_during_training_fall_back_locally(colab_with_drive, tmp_path,
                                                                     capsys):
    import keras

    course = helpers.setup(mode="quick", verbose=False)
    assert course.drive_mounted
    on_drive = course.output_dir
    kept = tmp_path / "what-drive-still-holds"

    class DriveGoesAway(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:  # after epoch 2 is saved, the folder stops being writable
                on_drive.rename(kept)
                on_drive.write_text("not a folder any more\n")

    model = _tiny_model()
    x = np.linspace(-1, 1, 32, dtype="float32").reshape(8, 4)
    y = x.sum(axis=1, keepdims=True)
    checkpoint = helpers.atomic_checkpoint(course.checkpoint_dir / "best.keras", monitor="loss")
    history = model.fit(x, y, epochs=4, batch_size=4, verbose=0, shuffle=False, callbacks=[
        checkpoint, keras.callbacks.CSVLogger(str(on_drive / "log.csv")), DriveGoesAway()])
    assert len(history.history["loss"]) == 4  # the run went on
    out = capsys.readouterr().out
    assert f"Could not write {on_drive / 'checkpoints' / 'best.keras'}" in out
    assert "Saving to the runtime's local disk instead" in out

    local = colab_with_drive / "outputs"
    assert checkpoint.last_saved == local / "checkpoints" / "best.keras"
    losses = history.history["loss"]
    assert losses == sorted(losses, reverse=True)  # each epoch better: each one saved
    final = keras.models.load_model(local / "checkpoints" / "best.keras")
    for saved, now in zip(final.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, now)

    # Nothing already saved was lost: Drive still holds epoch 2's model, whole, and
    # CSVLogger wrote every row through the file it held open (now in the moved folder).
    earlier = keras.models.load_model(kept / "checkpoints" / "best.keras")
    assert not np.array_equal(earlier.get_weights()[0], model.get_weights()[0])
    with open(kept / "log.csv") as drive_log:
        assert [row["epoch"] for row in csv.DictReader(drive_log)] == ["0", "1", "2", "3"]
    leftovers = [p for p in tmp_path.rglob("*") if ".partial-" in p.name]
    assert leftovers == []


def test_write_atomically_interrupted_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "best.keras"
    target.write_bytes(b"the complete old checkpoint")

    def half_then_killed(tmp):
        tmp.write_bytes(b"half a new che")
        raise KeyboardInterrupt  # as when the runtime is stopped mid-save

    with pytest.raises(KeyboardInterrupt):
        callbacks_module._write_atomically(target, half_then_killed)
    assert target.read_bytes() == b"the complete old checkpoint"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.keras"]


def test_write_atomically_replaces_whole_file(tmp_path):
    target = tmp_path / "sub" / "log.csv"
    callbacks_module._write_atomically(target, lambda tmp: tmp.write_text("epoch\n0\n"))
    callbacks_module._write_atomically(target, lambda tmp: tmp.write_text("epoch\n0\n1\n"))
    assert target.read_text() == "epoch\n0\n1\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["log.csv"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"filepath": "best.h5"}, "must end in '.keras'"),
    ({"filepath": "best.keras", "mode": "lowest"}, "mode must be 'min' or 'max'"),
])
def test_atomic_checkpoint_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        helpers.atomic_checkpoint(**kwargs)


def test_atomic_checkpoint_saves_only_improvements(tmp_path):
    model = _tiny_model()
    checkpoint = helpers.atomic_checkpoint(tmp_path / "best.keras", monitor="loss", mode="min")
    checkpoint.set_model(model)
    for epoch, loss in enumerate([1.0, 0.5, 0.7]):
        checkpoint.on_epoch_end(epoch, {"loss": loss})
        if epoch == 1:
            saved_at = (tmp_path / "best.keras").stat().st_mtime_ns
    assert checkpoint.best == 0.5
    assert (tmp_path / "best.keras").stat().st_mtime_ns == saved_at  # 0.7 is no better
