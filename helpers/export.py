"""Save a trained model in the formats used outside the course, and check each reload.

To be taught in notebook 02 (using the model outside the course). A ``.keras``
file reloads in Keras (with the course's losses as ``custom_objects``); a
TensorFlow SavedModel, written by ``model.export``, reloads with TensorFlow
alone (``tf.saved_model.load``), as TensorFlow Serving and TFLite converters
read it. An ONNX file, converted from the SavedModel by tf2onnx, runs in ONNX
Runtime without TensorFlow, in C++, C#, Java or a browser; tf2onnx and
onnxruntime are optional (``pip install tf2onnx onnxruntime``). A reload that
predicts differently from the model in memory is a bug (a missing custom
object, a layer that does not serialise, an operator converted wrongly), so
each is checked on the same tiles.
"""

from __future__ import annotations

import importlib.util
import logging
import numbers
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

__all__ = ["export_round_trip"]


def _predict_keras_file(path: Path, tiles: np.ndarray) -> np.ndarray:
    import keras

    from helpers.losses import custom_objects

    model = keras.models.load_model(path, custom_objects=custom_objects(), compile=False)
    return _call(model, tiles)


def _call(model, tiles: np.ndarray) -> np.ndarray:
    # A direct call, not predict: predict traces a new graph for every model and input
    # shape, and TensorFlow warns when that happens often in one session.
    import keras

    return np.asarray(keras.ops.convert_to_numpy(model(tiles, training=False)))


def _predict_saved_model(path: Path, tiles: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    served = tf.saved_model.load(str(path))
    return np.asarray(served.serve(tf.constant(tiles)))


def _onnx_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("tf2onnx", "onnxruntime"))


def _convert_to_onnx(saved_model: Path, path: Path) -> None:
    # tf2onnx's command line reads a SavedModel; in a process of its own, its
    # TensorFlow log lines stay out of the caller's output.
    command = [sys.executable, "-m", "tf2onnx.convert", "--saved-model", os.fspath(saved_model),
               "--signature_def", "serve", "--output", os.fspath(path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if result.returncode != 0 or not path.is_file():
        raise RuntimeError(f"tf2onnx could not convert {saved_model} (exit {result.returncode}):\n"
                           f"{result.stderr[-2000:]}")


def _predict_onnx(path: Path, tiles: np.ndarray) -> np.ndarray:
    import onnxruntime

    session = onnxruntime.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {session.get_inputs()[0].name: tiles})[0])


def export_round_trip(model, tiles, *, folder, name: str = "unet", atol: float = 1e-5,
                      onnx: bool | None = None):
    """Save `model` as ``.keras``, as a SavedModel and (optionally) as ONNX; reload each.

    To be taught in notebook 02 (using the model outside the course).

    Parameters
    ----------
    model : keras.Model
        The trained model.
    tiles : ndarray, shape (N, H, W, C)
        Inputs the model accepts (e.g. a few test tiles), float32 in [0, 1].
    folder : path-like
        Where ``<name>.keras``, the SavedModel folder ``<name>_savedmodel`` and
        ``<name>.onnx`` go.
    name : str, default "unet"
    atol : float, default 1e-5
        The largest absolute difference in predicted probability accepted as
        "the same": the reloaded graphs may order float32 sums differently.
    onnx : bool or None, default None
        Also convert the SavedModel to ``<name>.onnx`` with tf2onnx and reload it
        in ONNX Runtime. None: when both are installed. True: they must be.

    Returns
    -------
    pandas.DataFrame
        One row per format: ``format``, ``path``, ``max_abs_difference`` (from the
        model in memory) and ``same`` (within `atol`).

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((8, 8, 1)),
    ...                           keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")])
    >>> table = export_round_trip(model, np.ones((2, 8, 8, 1)), folder="export", onnx=False)
    >>> table["format"].tolist(), bool(table["same"].all())
    (['keras', 'saved_model'], True)
    """
    import pandas as pd

    tiles = np.asarray(tiles, dtype=np.float32)
    if tiles.ndim != 4:
        raise ValueError(f"tiles must be a batch (N, H, W, C), got shape {tiles.shape}. "
                         "Fix: for one tile, pass tile[np.newaxis].")
    if isinstance(atol, bool) or not isinstance(atol, numbers.Real) or not atol >= 0:
        raise ValueError(f"atol must be a number >= 0, got {atol!r}.")
    if onnx is not None and not isinstance(onnx, bool):
        raise ValueError(f"onnx must be None, True or False, got {onnx!r}.")
    if onnx is None:
        onnx = _onnx_available()
    elif onnx and not _onnx_available():
        raise ModuleNotFoundError("onnx=True needs tf2onnx and onnxruntime. Fix: "
                                  "pip install tf2onnx onnxruntime, or pass onnx=None.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    expected = _call(model, tiles)

    keras_file = folder / f"{name}.keras"
    model.save(keras_file)
    saved_model = folder / f"{name}_savedmodel"
    # TensorFlow's Python logger reports "INFO:tensorflow:Assets written to ..." while
    # it saves, even with verbose=False: raise that one logger to WARNING meanwhile.
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(max(level, logging.WARNING))
    try:
        model.export(os.fspath(saved_model), verbose=False)
    finally:
        tf_logger.setLevel(level)

    formats = [("keras", keras_file, _predict_keras_file),
               ("saved_model", saved_model, _predict_saved_model)]
    if onnx:
        onnx_file = folder / f"{name}.onnx"
        _convert_to_onnx(saved_model, onnx_file)
        formats.append(("onnx", onnx_file, _predict_onnx))
    rows = []
    for label, path, predict in formats:
        difference = float(np.max(np.abs(predict(path, tiles) - expected)))
        rows.append({"format": label, "path": str(path), "max_abs_difference": difference,
                     "same": difference <= atol})
    return pd.DataFrame(rows)
