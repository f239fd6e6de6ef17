"""helpers.predict_with_flips: the mean prediction over the 8 flips and quarter turns."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import predict_with_flips


def _views(images):
    """The 8 views as predict_with_flips makes them, for a reference written out by hand."""
    for turns in range(4):
        for mirror in (False, True):
            view = np.rot90(images, turns, axes=(1, 2))
            yield turns, mirror, (view[:, :, ::-1] if mirror else view)


def _pointwise(batch):
    """A model that looks at each pixel alone: every view gives the same answer back."""
    return 1 / (1 + np.exp(-4 * (batch - 0.5)))


def _orientation(batch):
    """A model that sees which way up a view is: each pixel's row and column in the view."""
    n, height, width, _ = batch.shape
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    return np.broadcast_to(np.stack([rows, cols], axis=-1), (n, height, width, 2)).astype(
        "float32")


class _Keras:
    """Stands in for a Keras model: only ``predict``, with the arguments it was given."""

    def __init__(self, function):
        self.function = function
        self.calls = []

    def predict(self, batch, *, batch_size, verbose):
        self.calls.append((batch.shape, batch_size, verbose, batch.flags.c_contiguous))
        return self.function(batch)


def test_a_model_blind_to_orientation_gives_its_one_view_back():
    images = np.random.default_rng(0).random((3, 16, 16, 1)).astype("float32")
    np.testing.assert_allclose(predict_with_flips(_pointwise, images), _pointwise(images),
                               rtol=1e-6)


def test_each_answer_is_turned_back_before_the_mean():
    # Turned back, the view's rows and columns run over i, j, H-1-i and W-1-j (each
    # twice: mirrored and not), so every pixel's mean is (H-1)/2 in both channels.
    result = predict_with_flips(_orientation, np.zeros((2, 6, 6, 1)))
    assert result.shape == (2, 6, 6, 2)
    np.testing.assert_allclose(result, 2.5)


def test_the_mean_does_not_depend_on_the_view_it_starts_from():
    rng = np.random.default_rng(1)
    images = rng.random((2, 8, 8, 1)).astype("float32")
    weights = rng.random((8, 8, 1)).astype("float32")

    def lopsided(batch):  # a different answer for every view
        return batch * weights

    turned = predict_with_flips(lopsided, np.rot90(images, 1, axes=(1, 2)))
    np.testing.assert_allclose(np.rot90(turned, -1, axes=(1, 2)),
                               predict_with_flips(lopsided, images), rtol=1e-5)


def test_known_values_against_the_views_written_out():
    rng = np.random.default_rng(2)
    images = rng.random((1, 4, 4, 1)).astype("float32")
    weights = rng.random((4, 4, 1)).astype("float32")

    def lopsided(batch):
        return batch * weights

    expected = np.zeros_like(images)
    for turns, mirror, view in _views(images):
        answer = lopsided(view)
        answer = answer[:, :, ::-1] if mirror else answer
        expected += np.rot90(answer, -turns, axes=(1, 2))
    np.testing.assert_allclose(predict_with_flips(lopsided, images), expected / 8, rtol=1e-6)


def test_non_square_images_keep_their_shape():
    images = np.random.default_rng(3).random((1, 6, 10, 1))
    assert predict_with_flips(_orientation, images).shape == (1, 6, 10, 2)
    np.testing.assert_allclose(predict_with_flips(_pointwise, images), _pointwise(images))


def test_a_keras_model_is_called_through_predict_with_the_batch_size():
    model = _Keras(_pointwise)
    images = np.random.default_rng(4).random((2, 8, 8, 1)).astype("float32")
    result = predict_with_flips(model, images, batch_size=4)
    np.testing.assert_allclose(result, _pointwise(images), rtol=1e-6)
    assert len(model.calls) == 8
    assert all(call == ((2, 8, 8, 1), 4, 0, True) for call in model.calls)


@pytest.mark.slow
def test_a_real_keras_model_agrees_with_its_views():
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((None, None, 1)),
                              keras.layers.Conv2D(2, 3, padding="same", activation="sigmoid")])
    images = np.random.default_rng(5).random((2, 8, 8, 1)).astype("float32")
    expected = np.zeros((2, 8, 8, 2))
    for turns, mirror, view in _views(images):
        answer = model.predict(np.ascontiguousarray(view), verbose=0)
        answer = answer[:, :, ::-1] if mirror else answer
        expected += np.rot90(answer, -turns, axes=(1, 2))
    np.testing.assert_allclose(predict_with_flips(model, images), expected / 8, rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize(("images", "options", "message"), [
    (np.zeros((8, 8, 1)), {}, r"\(N, H, W, C\).*image\[np.newaxis\]"),
    (np.zeros((1, 8, 8, 1)), {"batch_size": 0}, "batch_size must be a positive int"),
    (np.zeros((1, 8, 8, 1)), {"batch_size": 2.0}, "batch_size must be a positive int"),
    (np.zeros((1, 8, 8, 1)), {"batch_size": True}, "batch_size must be a positive int"),
])
def test_bad_input_says_what_to_do(images, options, message):
    with pytest.raises(ValueError, match=message):
        predict_with_flips(_pointwise, images, **options)
