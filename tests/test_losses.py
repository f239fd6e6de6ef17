"""helpers.losses: per-image soft Jaccard, Dice and BCE + Jaccard; saving models that use them."""

from __future__ import annotations

import numpy as np
import pytest

import helpers
from helpers import bce_jaccard_loss, custom_objects, dice_loss, soft_jaccard_loss

keras = pytest.importorskip("keras")
ops = keras.ops

LOSSES = [soft_jaccard_loss, dice_loss, bce_jaccard_loss]


def _np(tensor):
    return np.asarray(ops.convert_to_numpy(tensor), dtype=np.float64)


# The tiny example: one 2x2 image, one sigmoid channel.
Y = np.array([[1.0, 0.0], [1.0, 1.0]], np.float32).reshape(1, 2, 2, 1)
P = np.array([[0.8, 0.3], [0.6, 0.9]], np.float32).reshape(1, 2, 2, 1)
# interior:  sum(y p) = 0.8 + 0.6 + 0.9 = 2.3, sum y = 3, sum p = 2.6
# membrane:  y' = 1 - y = (0, 1, 0, 0), p' = 1 - p = (0.2, 0.7, 0.4, 0.1):
#            sum(y' p') = 0.7, sum y' = 1, sum p' = 1.4
IOU_INTERIOR = (2.3 + 1) / (3 + 2.6 - 2.3 + 1)  # 3.3 / 4.3
IOU_MEMBRANE = (0.7 + 1) / (1 + 1.4 - 0.7 + 1)  # 1.7 / 2.7
DICE_INTERIOR = (2 * 2.3 + 1) / (3 + 2.6 + 1)  # 5.6 / 6.6
DICE_MEMBRANE = (2 * 0.7 + 1) / (1 + 1.4 + 1)  # 2.4 / 3.4
BCE = -np.mean([np.log(0.8), np.log(0.7), np.log(0.6), np.log(0.9)])


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("batch", [1, 3])
def test_loss_shape_is_batch(loss, batch, rng):
    y = (rng.random((batch, 8, 12, 1)) > 0.4).astype(np.float32)
    p = rng.random((batch, 8, 12, 1)).astype(np.float32)
    value = loss(y, p)
    assert tuple(value.shape) == (batch,)
    assert np.isfinite(_np(value)).all()


@pytest.mark.parametrize("loss", LOSSES)
def test_loss_accepts_keras_tensors(loss, rng):
    y = (rng.random((2, 6, 6, 1)) > 0.5).astype(np.float32)
    p = rng.random((2, 6, 6, 1)).astype(np.float32)
    np.testing.assert_allclose(_np(loss(ops.convert_to_tensor(y), ops.convert_to_tensor(p))),
                               _np(loss(y, p)), rtol=1e-6)


def test_soft_jaccard_loss_hand_computed():
    expected = 1 - (IOU_INTERIOR + IOU_MEMBRANE) / 2
    np.testing.assert_allclose(_np(soft_jaccard_loss(Y, P)), [expected], rtol=1e-6)


def test_dice_loss_hand_computed():
    expected = 1 - (DICE_INTERIOR + DICE_MEMBRANE) / 2
    np.testing.assert_allclose(_np(dice_loss(Y, P)), [expected], rtol=1e-6)


def test_bce_jaccard_loss_hand_computed():
    expected = BCE + 1 - (IOU_INTERIOR + IOU_MEMBRANE) / 2
    np.testing.assert_allclose(_np(bce_jaccard_loss(Y, P)), [expected], rtol=1e-5)


@pytest.mark.parametrize("loss", [soft_jaccard_loss, dice_loss])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, bool])
def test_loss_perfect_prediction_is_zero(loss, dtype, rng):
    y = rng.random((2, 16, 16, 1)) > 0.3
    value = _np(loss(y.astype(dtype), y.astype(np.float32)))
    np.testing.assert_allclose(value, [0.0, 0.0], atol=1e-6)


def test_bce_jaccard_loss_perfect_prediction_is_small(rng):
    y = (rng.random((2, 16, 16, 1)) > 0.3).astype(np.float32)
    value = _np(bce_jaccard_loss(y, y))
    assert (value >= 0).all() and (value < 1e-5).all()


@pytest.mark.parametrize("loss", LOSSES)
def test_loss_worse_prediction_scores_higher(loss, rng):
    y = (rng.random((1, 16, 16, 1)) > 0.3).astype(np.float32)
    good = np.clip(y * 0.8 + 0.1, 0, 1)
    bad = np.clip((1 - y) * 0.8 + 0.1, 0, 1)
    assert _np(loss(y, good))[0] < _np(loss(y, bad))[0]


@pytest.mark.parametrize("loss", LOSSES)
def test_loss_is_per_image(loss, rng):
    y = (rng.random((2, 10, 10, 1)) > 0.3).astype(np.float32)
    p = rng.random((2, 10, 10, 1)).astype(np.float32)
    before = _np(loss(y, p))
    p2 = p.copy()
    p2[1] = 1 - p2[1]
    y2 = y.copy()
    y2[1, :5] = 1 - y2[1, :5]
    after = _np(loss(y2, p2))
    assert after[0] == pytest.approx(before[0], rel=1e-6)
    assert after[1] != pytest.approx(before[1], rel=1e-3)
    # and each image's loss is the loss of that image alone
    np.testing.assert_allclose(after[1], _np(loss(y2[1:], p2[1:]))[0], rtol=1e-6)


def test_soft_jaccard_loss_membrane_counts_as_much_as_interior():
    # 'All interior' on an image with 10% membrane: a per-pixel loss would call it 90% right.
    y = np.ones((1, 10, 10, 1), np.float32)
    y[0, :, 0] = 0
    p = np.ones_like(y)
    expected_interior = (90 + 1) / (90 + 100 - 90 + 1)
    expected_membrane = (0 + 1) / (10 + 0 - 0 + 1)
    np.testing.assert_allclose(_np(soft_jaccard_loss(y, p)),
                               [1 - (expected_interior + expected_membrane) / 2], rtol=1e-6)
    assert _np(soft_jaccard_loss(y, p))[0] > 0.4


@pytest.mark.parametrize("loss", [soft_jaccard_loss, dice_loss])
def test_loss_multichannel_softmax(loss, rng):
    classes = rng.integers(0, 3, (2, 6, 7))
    y = np.eye(3, dtype=np.float32)[classes]
    logits = rng.normal(size=(2, 6, 7, 3))
    p = (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).astype(np.float32)
    intersection = (y * p).sum(axis=(1, 2))
    total = y.sum(axis=(1, 2)) + p.sum(axis=(1, 2))
    if loss is soft_jaccard_loss:
        score = (intersection + 1) / (total - intersection + 1)
    else:
        score = (2 * intersection + 1) / (total + 1)
    value = loss(y, p)
    assert tuple(value.shape) == (2,)
    np.testing.assert_allclose(_np(value), 1 - score.mean(axis=-1), rtol=1e-5)
    np.testing.assert_allclose(_np(loss(y, y)), [0, 0], atol=1e-6)


def test_loss_two_channel_softmax_equals_one_sigmoid_channel():
    # One sigmoid channel is scored as the two classes (1 - p, p).
    y2 = np.concatenate([1 - Y, Y], axis=-1)
    p2 = np.concatenate([1 - P, P], axis=-1)
    np.testing.assert_allclose(_np(soft_jaccard_loss(y2, p2)), _np(soft_jaccard_loss(Y, P)),
                               rtol=1e-6)
    np.testing.assert_allclose(_np(dice_loss(y2, p2)), _np(dice_loss(Y, P)), rtol=1e-6)


def test_custom_objects_names():
    objects = custom_objects()
    assert objects == {
        "soft_jaccard_loss": soft_jaccard_loss,
        "dice_loss": dice_loss,
        "bce_jaccard_loss": bce_jaccard_loss,
    }
    assert objects is not custom_objects()  # a fresh dict each time


def _tiny_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, None, 1))
    outputs = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")(inputs)
    return keras.Model(inputs, outputs)


@pytest.mark.slow
@pytest.mark.parametrize("loss", LOSSES, ids=lambda f: f.__name__)
def test_custom_objects_save_and_load(loss, tmp_path, rng):
    x = rng.random((2, 16, 16, 1)).astype(np.float32)
    y = (x > 0.5).astype(np.float32)
    model = _tiny_model()
    model.compile(optimizer="adam", loss=loss)
    history = model.fit(x, y, epochs=2, batch_size=2, verbose=0)
    losses = history.history["loss"]
    assert np.isfinite(losses).all()
    assert losses[1] < losses[0]  # the loss has a gradient that trains
    path = tmp_path / f"{loss.__name__}.keras"
    model.save(path)
    with pytest.raises(TypeError, match=loss.__name__):
        keras.models.load_model(path)  # without custom_objects, Keras cannot find it
    loaded = keras.models.load_model(path, custom_objects=helpers.custom_objects())
    assert loaded.loss is loss
    np.testing.assert_array_equal(loaded.predict_on_batch(x), model.predict_on_batch(x))
    # and it trains on from where it stopped
    again = loaded.fit(x, y, epochs=1, batch_size=2, verbose=0).history["loss"][0]
    assert again < losses[0]


# --------------------------------------------------------------------------- keras-unet's loss


def test_keras_unet_jaccard_distance_is_per_pixel(rng):
    from keras_unet.losses import jaccard_distance

    y = (rng.random((2, 5, 6, 1)) > 0.3).astype(np.float32)
    p = rng.random((2, 5, 6, 1)).astype(np.float32)
    value = _np(jaccard_distance(y, p))
    assert value.shape == (2, 5, 6)  # one number per pixel, not per image
    yy, pp = y[..., 0].astype(np.float64), p[..., 0].astype(np.float64)
    expected = (1 - (yy * pp + 100) / (yy + pp - yy * pp + 100)) * 100
    np.testing.assert_allclose(value, expected, rtol=1e-4, atol=1e-5)
    # close to the L1 distance for smooth=100: a per-pixel loss, not an IoU
    np.testing.assert_allclose(value, np.abs(yy - pp), atol=0.011)
    # ours gives one number per image
    assert tuple(soft_jaccard_loss(y, p).shape) == (2,)
