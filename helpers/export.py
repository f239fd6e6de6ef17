"""Save a trained model in the formats used outside the course, and check each reload.

To be taught in notebook 02 (using the model outside the course). A ``.keras``
file reloads in Keras (with the course's losses as ``custom_objects``); a
TensorFlow SavedModel, written by ``model.export``, reloads with TensorFlow
alone (``tf.saved_model.load``), as TensorFlow Serving and TFLite converters
read it. A reload that predicts differently from the model in memory is a bug
(a missing custom object, a layer that does not serialise), so each is checked
on the same tiles.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path

import numpy as np

__all__ = ["export_round_trip"]


def _predict_keras_file(path: Path, tiles: np.ndarray) -> np.ndarray:
    import keras

    from helpers.losses import custom_objects

    model = keras.models.load_model(path, custom_objects=custom_objects(), compile=False)
    return np.asarray(model.predict(tiles, verbose=0))


def _predict_saved_model(path: Path, tiles: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    served = tf.saved_model.load(str(path))
    return np.asarray(served.serve(tf.constant(tiles)))


def export_round_trip(model, tiles, *, folder, name: str = "unet", atol: float = 1e-5):
    """Save `model` as ``.keras`` and as a SavedModel, reload both, compare predictions.

    To be taught in notebook 02 (using the model outside the course).

    Parameters
    ----------
    model : keras.Model
        The trained model.
    tiles : ndarray, shape (N, H, W, C)
        Inputs the model accepts (e.g. a few test tiles), float32 in [0, 1].
    folder : path-like
        Where ``<name>.keras`` and the SavedModel folder ``<name>_savedmodel`` go.
    name : str, default "unet"
    atol : float, default 1e-5
        The largest absolute difference in predicted probability accepted as
        "the same": the reloaded graphs may order float32 sums differently.

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
    >>> table = export_round_trip(model, np.ones((2, 8, 8, 1)), folder="export")
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
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    expected = np.asarray(model.predict(tiles, verbose=0))

    keras_file = folder / f"{name}.keras"
    model.save(keras_file)
    saved_model = folder / f"{name}_savedmodel"
    model.export(os.fspath(saved_model), verbose=False)

    rows = []
    for label, path, predict in (("keras", keras_file, _predict_keras_file),
                                 ("saved_model", saved_model, _predict_saved_model)):
        difference = float(np.max(np.abs(predict(path, tiles) - expected)))
        rows.append({"format": label, "path": str(path), "max_abs_difference": difference,
                     "same": difference <= atol})
    return pd.DataFrame(rows)
