"""setup(deterministic=True): two short CPU trainings give bit-identical weights.

Each training runs in its own Python process, as two runs of a notebook would:
nothing (a TensorFlow graph, a random state) can carry over from the first to
the second.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # starts TensorFlow or a kernel: not in make test-fast

pytest.importorskip("tensorflow")

REPO_ROOT = Path(__file__).resolve().parents[1]

TRAINING = """
import json, sys
import numpy as np
import helpers

weights_file, seed, deterministic = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
helpers.setup(mode="quick", seed=seed, deterministic=deterministic, verbose=False,
              mount_drive=False, output_dir=sys.argv[4])
import keras

rows, cols = np.mgrid[:48, :48]
cells = ((rows % 12 >= 3) & (cols % 12 >= 3)).astype("float32")
masks = np.stack([cells, np.roll(cells, 5, axis=0)])[..., np.newaxis]
noise = np.random.default_rng(0).normal(0, 0.2, masks.shape)
images = np.clip(masks + noise, 0, 1).astype("float32")

inputs = keras.Input((None, None, 1))
x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
x = keras.layers.BatchNormalization()(x)
x = keras.layers.Dropout(0.3)(x)  # draws from the backend's seeded generator
outputs = keras.layers.Conv2D(1, 1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
batches = helpers.augmented_batches(images, masks, patch_size=24, batch_size=4, seed=seed,
                                    elastic=2.0, weights=helpers.border_weight_map(masks))
model.fit(batches, steps_per_epoch=4, epochs=2, shuffle=False, verbose=0)
np.savez(weights_file, *model.get_weights())
try:
    from tensorflow.python.framework.config import is_op_determinism_enabled
    enabled = bool(is_op_determinism_enabled())
except ImportError:  # a private function: may move in a later TensorFlow
    enabled = None
print(json.dumps({"op_determinism": enabled}))
"""


def _train(tmp_path, name, *, seed=7, deterministic=True):
    script = tmp_path / "train.py"
    script.write_text(TRAINING)
    weights_file = tmp_path / f"{name}.npz"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # the claim is about CPU runs
    done = subprocess.run(
        [sys.executable, str(script), str(weights_file), str(seed),
         "1" if deterministic else "0", str(tmp_path / f"outputs-{name}")],
        capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    with np.load(weights_file) as saved:
        weights = [saved[key] for key in sorted(saved.files, key=lambda k: int(k.split("_")[1]))]
    return weights, report


def test_setup_deterministic_two_trainings_identical_weights(tmp_path):
    first, report = _train(tmp_path, "first")
    second, _ = _train(tmp_path, "second")
    if report["op_determinism"] is not None:
        assert report["op_determinism"] is True
    assert len(first) == len(second) > 0
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)  # bit for bit, not approximately
    # The weights did move, and the seed decides where to: another seed ends elsewhere.
    other, _ = _train(tmp_path, "other", seed=8)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_setup_not_deterministic_by_default(tmp_path):
    _, report = _train(tmp_path, "default", deterministic=False)
    if report["op_determinism"] is None:
        pytest.skip("this TensorFlow has no is_op_determinism_enabled to ask")
    assert report["op_determinism"] is False


@pytest.mark.parametrize("value", [1, "yes", None])
def test_setup_rejects_non_bool_deterministic(value, tmp_path):
    from helpers import setup

    with pytest.raises(ValueError, match="deterministic must be True or False"):
        setup(deterministic=value, output_dir=tmp_path, verbose=False)
