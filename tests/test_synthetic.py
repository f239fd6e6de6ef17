"""helpers.synthetic: the offline look-alike of ISBI 2012."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import TISSUE_CLASSES, synthetic_membranes, synthetic_tissue, validate_pairs


@pytest.mark.parametrize(("size", "shape"), [
    (32, (32, 32)), (64, (64, 64)), ((48, 80), (48, 80)), ((96, 40), (96, 40)),
    (np.int64(40), (40, 40)),
])
@pytest.mark.parametrize("n", [1, 3])
def test_synthetic_membranes_shapes_and_dtypes(n, size, shape):
    images, masks = synthetic_membranes(n, size=size, seed=0)
    assert images.shape == masks.shape == (n, *shape, 1)
    assert images.dtype == masks.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert np.isin(masks, (0.0, 1.0)).all()
    validate_pairs(images, masks)


def test_synthetic_membranes_default_size():
    images, masks = synthetic_membranes(1)
    assert images.shape == masks.shape == (1, 256, 256, 1)


@pytest.mark.parametrize("size", [256, (192, 256)])
def test_synthetic_membranes_class_balance(size):
    _, masks = synthetic_membranes(3, size=size, seed=0)
    fractions = masks.mean(axis=(1, 2, 3))
    assert ((fractions > 0.6) & (fractions < 0.9)).all(), fractions
    assert set(np.unique(masks).tolist()) == {0.0, 1.0}


@pytest.mark.parametrize("seed", [0, 3])
def test_synthetic_membranes_images_look_like_em(seed):
    # Membranes are dark, interiors bright, as in ISBI: the image carries the label.
    images, masks = synthetic_membranes(2, size=256, seed=seed)
    for image, mask in zip(images, masks, strict=True):
        membrane, interior = image[mask == 0], image[mask == 1]
        assert membrane.mean() + 0.2 < interior.mean()


@pytest.mark.parametrize("size", [
    32,
    64,
    (48, 80),
    128,
    (192, 256),
    256,
    (256, 384),
])
def test_synthetic_membranes_images_have_contrast(size):
    images, masks = synthetic_membranes(3, size=size, seed=0)
    for image, mask in zip(images, masks, strict=True):
        assert image.std() > 0.05  # not a blank image
        saturated = np.mean((image == 0) | (image == 1))
        assert saturated < 0.25
        # the image carries the label: membrane darker than interior
        assert image[mask == 0].mean() < image[mask == 1].mean()


@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_synthetic_membranes_same_seed_same_arrays(seed):
    a = synthetic_membranes(2, size=(40, 56), seed=seed)
    b = synthetic_membranes(2, size=(40, 56), seed=seed)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_synthetic_membranes_different_seed_different_arrays():
    a_images, a_masks = synthetic_membranes(1, size=64, seed=0)
    b_images, b_masks = synthetic_membranes(1, size=64, seed=1)
    assert not np.array_equal(a_images, b_images)
    assert not np.array_equal(a_masks, b_masks)


def test_synthetic_membranes_images_in_a_batch_differ():
    images, masks = synthetic_membranes(2, size=256, seed=0)
    assert not np.array_equal(images[0], images[1])
    assert not np.array_equal(masks[0], masks[1])


def test_synthetic_membranes_seed_none_is_random():
    _, a = synthetic_membranes(1, size=64, seed=None)
    _, b = synthetic_membranes(1, size=64, seed=None)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("n", [0, -1, 1.0, 2.5, "3", None])
def test_synthetic_membranes_bad_n(n):
    with pytest.raises(ValueError, match="n must be a positive integer"):
        synthetic_membranes(n, size=32)


@pytest.mark.parametrize("size", [0, 16, 31, (32, 31), (8, 64), -64])
def test_synthetic_membranes_bad_size(size):
    with pytest.raises(ValueError, match="size must be an int of at least 32 or a pair"):
        synthetic_membranes(1, size=size)


@pytest.mark.parametrize("seed", [1.5, "0", [1, 2]])
def test_synthetic_membranes_bad_seed(seed):
    with pytest.raises(ValueError, match="seed must be a non-negative integer or None"):
        synthetic_membranes(1, size=32, seed=seed)


@pytest.mark.parametrize(("func", "kwargs"), [
    pytest.param(synthetic_membranes, {"size": (32, 48, 1)}, id="size-3-values"),
    pytest.param(synthetic_membranes, {"size": (32,)}, id="size-1-value"),
    pytest.param(synthetic_membranes, {"size": 32, "seed": -1}, id="seed-negative"),
])
def test_synthetic_membranes_bad_argument_named(func, kwargs):
    with pytest.raises(ValueError, match="size|seed"):
        func(1, **kwargs)


def test_synthetic_tissue_three_classes():
    images, classes = synthetic_tissue(2, size=96, seed=1)
    assert images.shape == (2, 96, 96, 1) and images.dtype == np.float32
    assert classes.shape == (2, 96, 96) and classes.dtype == np.uint8
    assert set(np.unique(classes).tolist()) == {0, 1, 2}
    assert TISSUE_CLASSES == ("interior", "membrane", "organelle")
    # interior is the most common class, organelles the rarest
    counts = np.bincount(classes.ravel(), minlength=3)
    assert counts[0] > counts[1] > counts[2] > 0


def test_synthetic_tissue_organelles_are_dark_and_inside_cells():
    images, classes = synthetic_tissue(1, size=256, seed=2)
    image = images[0, ..., 0]
    assert image[classes[0] == 2].mean() < image[classes[0] == 0].mean() - 0.1
    # organelles never touch membrane (they sit well inside cells)
    from scipy.ndimage import binary_dilation

    near_organelle = binary_dilation(classes[0] == 2)
    assert not (near_organelle & (classes[0] == 1)).any()


@pytest.mark.parametrize(("size", "seed"), [(64, 0), ((48, 72), 5)])
def test_synthetic_membranes_equal_tissue_not_membrane(size, seed):
    images_m, masks = synthetic_membranes(3, size=size, seed=seed)
    images_t, classes = synthetic_tissue(3, size=size, seed=seed)
    np.testing.assert_array_equal(images_m, images_t)
    np.testing.assert_array_equal(masks[..., 0], (classes != 1).astype(np.float32))
