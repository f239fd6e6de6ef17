"""helpers.export_round_trip: .keras and SavedModel reloads predict as the model in memory."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import bce_jaccard_loss, export_round_trip

pytestmark = pytest.mark.slow  # starts TensorFlow or a kernel: not in make test-fast

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")


def _small_unet_like(seed=0):
    """Down, up and a skip connection, batch norm, one sigmoid channel, a course loss."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((32, 32, 1))
    down = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    down = keras.layers.BatchNormalization()(down)
    pooled = keras.layers.MaxPooling2D()(down)
    middle = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(pooled)
    up = keras.layers.Conv2DTranspose(4, 2, strides=2, padding="same")(middle)
    joined = keras.layers.concatenate([up, down])
    outputs = keras.layers.Conv2D(1, 1, activation="sigmoid")(joined)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss=bce_jaccard_loss)
    return model


@pytest.fixture(scope="module")
def trained():
    model = _small_unet_like()
    rng = np.random.default_rng(0)
    x = rng.random((6, 32, 32, 1)).astype(np.float32)
    y = (x > 0.5).astype(np.float32)
    model.fit(x, y, epochs=1, batch_size=3, verbose=0)  # batch norm statistics move
    return model, x


def test_export_round_trip_both_formats_predict_the_same(trained, tmp_path):
    model, x = trained
    table = export_round_trip(model, x[:2], folder=tmp_path / "export", onnx=False)
    assert table["format"].tolist() == ["keras", "saved_model"]
    assert (tmp_path / "export" / "unet.keras").is_file()
    assert (tmp_path / "export" / "unet_savedmodel" / "saved_model.pb").is_file()
    assert table["same"].all()
    assert (table["max_abs_difference"] <= 1e-5).all()


def test_export_round_trip_saved_model_needs_no_keras_objects(trained, tmp_path):
    # The SavedModel reloads with TensorFlow alone and serves any batch of tiles.
    import tensorflow as tf

    model, x = trained
    export_round_trip(model, x[:1], folder=tmp_path, name="m")
    served = tf.saved_model.load(str(tmp_path / "m_savedmodel"))
    np.testing.assert_allclose(np.asarray(served.serve(tf.constant(x[2:5]))),
                               model.predict(x[2:5], verbose=0), atol=1e-5)


def test_export_round_trip_detects_a_different_model(trained, tmp_path, monkeypatch):
    # If a reload predicted differently, the table says so: here the .keras reload is
    # replaced by a freshly initialised model of the same shape.
    import helpers.export as export_module

    model, x = trained
    monkeypatch.setattr(export_module, "_predict_keras_file",
                        lambda path, tiles: _small_unet_like(seed=1).predict(tiles, verbose=0))
    table = export_round_trip(model, x[:2], folder=tmp_path, onnx=False)
    assert table.set_index("format")["same"].to_dict() == {"keras": False, "saved_model": True}


def test_export_round_trip_onnx_predicts_the_same(trained, tmp_path):
    pytest.importorskip("tf2onnx")
    pytest.importorskip("onnxruntime")
    model, x = trained
    table = export_round_trip(model, x[:3], folder=tmp_path, onnx=True).set_index("format")
    assert table.index.tolist() == ["keras", "saved_model", "onnx"]
    assert (tmp_path / "unet.onnx").is_file()
    assert table.loc["onnx", "same"], table
    assert table.loc["onnx", "max_abs_difference"] <= 1e-5


def test_export_round_trip_onnx_by_default_only_when_installed(trained, tmp_path, monkeypatch):
    import helpers.export as export_module

    model, x = trained
    monkeypatch.setattr(export_module, "_onnx_available", lambda: False)
    table = export_round_trip(model, x[:1], folder=tmp_path)
    assert table["format"].tolist() == ["keras", "saved_model"]
    with pytest.raises(ModuleNotFoundError, match="pip install tf2onnx onnxruntime"):
        export_round_trip(model, x[:1], folder=tmp_path, onnx=True)


@pytest.mark.parametrize(("tiles", "options", "match"), [
    (np.zeros((32, 32, 1)), {}, r"tiles must be a batch \(N, H, W, C\), got shape \(32, 32, 1\)"),
    (np.zeros((1, 32, 32, 1)), {"atol": -1}, r"atol must be a number >= 0, got -1"),
    (np.zeros((1, 32, 32, 1)), {"onnx": "yes"}, r"onnx must be None, True or False, got 'yes'"),
])
def test_export_round_trip_bad_input(trained, tmp_path, tiles, options, match):
    model, _ = trained
    with pytest.raises(ValueError, match=match):
        export_round_trip(model, tiles, folder=tmp_path, **options)


def test_export_round_trip_logs_no_info_lines(trained, tmp_path):
    # TensorFlow logs "Assets written to ..." at INFO while saving; executed notebooks
    # must show no TensorFlow log lines, so export_round_trip keeps them back.
    import logging

    model, x = trained
    records = []
    handler = logging.Handler(level=logging.INFO)
    handler.emit = records.append
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.INFO)
    tf_logger.addHandler(handler)
    try:
        export_round_trip(model, x[:1], folder=tmp_path, onnx=False)
    finally:
        tf_logger.removeHandler(handler)
        tf_logger.setLevel(level)
    assert [r.getMessage() for r in records if r.levelno < logging.WARNING] == []
    assert tf_logger.level == level
