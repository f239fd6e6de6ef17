"""helpers.unet and helpers._checks: the shared U-Net settings, the convolution example, and
the one parser of "int or (h, w)"."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import correlate2d

import helpers
from helpers._checks import as_pair, as_side

# --------------------------------------------------------------------------- convolution


@pytest.mark.parametrize(("kernel_shape", "input_shape"), [((3, 3), (4, 4)), ((2, 3), (5, 4)),
                                                           ((1, 1), (3, 2)), ((3, 3), (3, 3))])
def test_convolution_matrix_is_the_valid_cross_correlation(kernel_shape, input_shape):
    rng = np.random.default_rng(0)
    kernel = rng.integers(-3, 4, kernel_shape).astype("float32")
    image = rng.integers(0, 5, input_shape).astype("float32")
    matrix = helpers.convolution_matrix(kernel, input_shape)
    expected = correlate2d(image, kernel, mode="valid")  # what Keras's Conv2D computes
    assert matrix.shape == (expected.size, image.size)
    np.testing.assert_array_equal(matrix @ image.ravel(), expected.ravel())


@pytest.mark.parametrize(("kernel", "input_shape", "message"), [
    (np.ones(3), (4, 4), "kernel must be 2-D"),
    (np.ones((3, 3)), (2, 4), "smaller than the kernel"),
])
def test_convolution_matrix_bad_input(kernel, input_shape, message):
    with pytest.raises(ValueError, match=message):
        helpers.convolution_matrix(kernel, input_shape)


def test_convolution_example_is_notebook_01s():
    # The numbers notebook 01, section 1.5, has always shown (seed 0).
    example = helpers.convolution_example()
    assert example.kernel.tolist() == [[2, 1, 0], [-1, -1, -2], [-2, -2, -2]]
    assert example.image.tolist() == [[4, 3, 4, 2], [3, 4, 3, 3], [2, 2, 4, 1], [4, 3, 0, 1]]
    assert example.small.tolist() == [[4, 2], [0, 3]]
    np.testing.assert_array_equal(example.matrix, helpers.convolution_matrix(example.kernel,
                                                                             (4, 4)))
    assert all(array.dtype == np.float32 for array in example)


# --------------------------------------------------------------------------- settings


@pytest.mark.slow
def test_set_batch_norm_momentum_changes_every_batch_norm_layer():
    import keras
    from keras_unet.models import custom_unet

    helpers.start_tensorflow()
    model = custom_unet(filters=4, **{**helpers.COURSE_UNET, "num_layers": 2})
    norms = [layer for layer in model.layers
             if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and all(layer.momentum == 0.99 for layer in norms)
    assert helpers.set_batch_norm_momentum(model, 0.9) == len(norms)
    assert all(layer.momentum == 0.9 for layer in norms)


@pytest.mark.parametrize("momentum", [0, 1, 1.5, -0.1, True, "0.9"])
def test_set_batch_norm_momentum_bad_momentum(momentum):
    with pytest.raises(ValueError, match=r"momentum must be a number in \(0, 1\)"):
        helpers.set_batch_norm_momentum(None, momentum)


def test_shared_settings_are_read_only():
    with pytest.raises(TypeError):
        helpers.COURSE_UNET["filters"] = 64


# --------------------------------------------------------------------------- as_pair


@pytest.mark.parametrize(("value", "expected"), [
    (128, (128, 128)), ((64, 96), (64, 96)), ([32, 48], (32, 48)), (np.int64(7), (7, 7)),
    ((np.int32(3), 5), (3, 5)),
])
def test_as_pair_known_values(value, expected):
    assert as_pair(value, "tile_size") == expected


@pytest.mark.parametrize("value", [0, -1, 2.5, "32", True, (32,), (32, 32, 32), (32, 0),
                                   (32, 2.0), None])
def test_as_pair_bad_value_names_the_argument(value):
    with pytest.raises(ValueError, match="patch_size must be a positive int or a "
                                                      "pair"):
        as_pair(value, "patch_size")


def test_as_pair_minimum():
    assert as_pair(32, "size", minimum=32) == (32, 32)
    with pytest.raises(ValueError, match="size must be an int of at least 32 or a pair"):
        as_pair((32, 31), "size", minimum=32)


def test_as_side_wants_one_int():
    assert as_side(128, "tile_size") == 128
    with pytest.raises(ValueError, match="tile_size must be an int here"):
        as_side((128, 128), "tile_size")
