"""helpers.augment: random crops with exact flips and quarter turns, masks kept binary."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from helpers import augmented_batches, random_patches


def _data(n=3, height=20, width=24, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.random((n, height, width, channels)).astype(np.float32)  # all values distinct
    masks = (rng.random((n, height, width, 1)) > 0.4).astype(np.float32)
    return images, masks


def _dihedral(square: bool):
    """The exact transforms a patch may have had: name -> function on (h, w, c) arrays."""
    transforms = {
        "identity": lambda a: a,
        "flip_v": lambda a: a[::-1],
        "flip_h": lambda a: a[:, ::-1],
        "rot180": lambda a: a[::-1, ::-1],
    }
    if square:
        transforms.update({
            "rot90": lambda a: np.rot90(a, 1, axes=(0, 1)),
            "rot270": lambda a: np.rot90(a, 3, axes=(0, 1)),
            "transpose": lambda a: np.swapaxes(a, 0, 1),
            "antitranspose": lambda a: np.rot90(a, 2, axes=(0, 1)).swapaxes(0, 1),
        })
    return transforms


def _locate(patch, images, square):
    """Find (transform, image index, row, col) such that patch == transform(crop); or None."""
    for name in _dihedral(square):
        # undo the transform: every dihedral map here is its own inverse except the quarter turns
        inverse = {"rot90": "rot270", "rot270": "rot90"}.get(name, name)
        crop = _dihedral(square)[inverse](patch)
        windows = sliding_window_view(images, crop.shape[:2], axis=(1, 2))
        # windows: (N, H-ph+1, W-pw+1, C, ph, pw)
        target = np.moveaxis(crop, -1, 0)
        hits = np.argwhere((windows == target).all(axis=(-3, -2, -1)))
        if len(hits):
            return (name, *hits[0])
    return None


@pytest.mark.parametrize("patch_size", [8, (8, 8), (6, 10), (12, 5)])
@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("channels", [1, 2])
def test_augmented_batches_shapes_and_dtypes(patch_size, batch_size, channels):
    images, masks = _data(channels=channels)
    ph, pw = (patch_size, patch_size) if np.isscalar(patch_size) else patch_size
    batches = augmented_batches(images, masks, patch_size=patch_size, batch_size=batch_size)
    for _ in range(3):
        x, y = next(batches)
        assert x.shape == (batch_size, ph, pw, channels)
        assert y.shape == (batch_size, ph, pw, 1)
        assert x.dtype == y.dtype == np.float32
        assert 0.0 <= x.min() and x.max() <= 1.0
        assert np.isin(y, (0.0, 1.0)).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, bool])
def test_augmented_batches_masks_stay_binary(dtype):
    images, masks = _data(n=2, height=32, width=32)
    batches = augmented_batches(images.astype(np.float64), masks.astype(dtype), patch_size=16,
                                batch_size=32, intensity=0.3)
    x, y = next(batches)
    assert x.dtype == y.dtype == np.float32
    assert set(np.unique(y).tolist()) == {0.0, 1.0}


def test_augmented_batches_same_seed_same_batches():
    images, masks = _data()
    a = augmented_batches(images, masks, patch_size=8, batch_size=5, seed=7)
    b = augmented_batches(images, masks, patch_size=8, batch_size=5, seed=7)
    for _ in range(3):
        (xa, ya), (xb, yb) = next(a), next(b)
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_augmented_batches_different_seed_or_step_differs():
    images, masks = _data()
    a = augmented_batches(images, masks, patch_size=8, batch_size=5, seed=7)
    b = augmented_batches(images, masks, patch_size=8, batch_size=5, seed=8)
    first_a, first_b = next(a)[0], next(b)[0]
    assert not np.array_equal(first_a, first_b)
    assert not np.array_equal(first_a, next(a)[0])  # an endless stream, not one batch again


@pytest.mark.parametrize("patch_size", [8, (6, 10)])
def test_augmented_batches_patches_are_exact_dihedral_crops(patch_size):
    images, masks = _data(n=3, height=20, width=24)
    square = np.isscalar(patch_size)
    x, y = next(augmented_batches(images, masks, patch_size=patch_size, batch_size=40,
                                  seed=1, intensity=0))
    found = set()
    for image_patch, mask_patch in zip(x, y, strict=True):
        location = _locate(image_patch, images, square)
        assert location is not None, "patch is not a transformed crop of any image"
        name, k, r, c = location
        found.add(name)
        ph, pw = (patch_size, patch_size) if square else patch_size
        transform = _dihedral(square)[name]
        np.testing.assert_array_equal(mask_patch, transform(masks[k, r : r + ph, c : c + pw]))
    # all transforms do occur (8 for square patches, 4 flips for non-square ones)
    assert found == set(_dihedral(square))


def test_augmented_batches_no_flips_gives_plain_crops():
    images, masks = _data()
    x, y = next(augmented_batches(images, masks, patch_size=8, batch_size=20, flips=False,
                                  intensity=0))
    for image_patch in x:
        assert _locate(image_patch, images, square=True)[0] == "identity"


def test_augmented_batches_intensity_jitter_is_affine():
    # With the same seed, the crops and flips are drawn before the jitter: the first batch
    # with jitter is the first batch without, times (1 + a) plus b, clipped to [0, 1].
    images, masks = _data(n=2, height=32, width=32)
    plain_x, plain_y = next(augmented_batches(images, masks, patch_size=16, batch_size=8,
                                              seed=3, intensity=0))
    x, y = next(augmented_batches(images, masks, patch_size=16, batch_size=8, seed=3,
                                  intensity=0.1))
    np.testing.assert_array_equal(y, plain_y)  # masks untouched
    assert not np.array_equal(x, plain_x)
    for jittered, plain in zip(x, plain_x, strict=True):
        inside = (jittered > 0) & (jittered < 1)
        gain, bias = np.polyfit(plain[inside], jittered[inside], 1)
        assert 0.9 - 1e-5 <= gain <= 1.1 + 1e-5
        assert -0.1 - 1e-5 <= bias <= 0.1 + 1e-5
        np.testing.assert_allclose(jittered, np.clip(plain * gain + bias, 0, 1), atol=1e-5)


def test_random_patches_uses_given_generator():
    images, masks = _data()
    x1, y1 = random_patches(images, masks, patch_size=8, count=4,
                            rng=np.random.default_rng(5))
    x2, y2 = random_patches(images, masks, patch_size=8, count=4,
                            rng=np.random.default_rng(5))
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert x1.shape == (4, 8, 8, 1)


def test_augmented_batches_patch_size_equal_to_image():
    images, masks = _data(n=1, height=12, width=16)
    x, y = next(augmented_batches(images, masks, patch_size=(12, 16), batch_size=3,
                                  intensity=0))
    for image_patch in x:
        name, k, r, c = _locate(image_patch, images, square=False)
        assert (k, r, c) == (0, 0, 0)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("patch_size", [21, (21, 8), (8, 25), 64])
def test_augmented_batches_patch_larger_than_images(patch_size):
    images, masks = _data(height=20, width=24)
    with pytest.raises(ValueError, match="patch_size .* is larger than the images"):
        augmented_batches(images, masks, patch_size=patch_size, batch_size=2)


@pytest.mark.parametrize("batch_size", [0, -3, 2.0, None])
def test_augmented_batches_bad_batch_size(batch_size):
    images, masks = _data()
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        next(augmented_batches(images, masks, patch_size=8, batch_size=batch_size))


@pytest.mark.parametrize("masks", [
    pytest.param(np.full((3, 20, 24, 1), 0.5, np.float32), id="interpolated"),
    pytest.param(np.full((3, 20, 24, 1), 255, np.uint8), id="0-255"),
])
def test_augmented_batches_rejects_non_binary_masks(masks):
    images, _ = _data()
    with pytest.raises(ValueError, match="masks must be binary.*binarize_masks"):
        next(augmented_batches(images, masks, patch_size=8))


def test_augmented_batches_rejects_3d_images():
    images, masks = _data()
    with pytest.raises(ValueError, match="images must have 4 dimensions"):
        next(augmented_batches(images[..., 0], masks, patch_size=8))


@pytest.mark.parametrize("classes", [2, 3])
def test_augmented_batches_one_hot_masks_of_several_channels(classes):
    # Notebook 02's multi-class masks: every pixel one-hot over `classes` channels, and each
    # channel moved exactly as its image.
    rng = np.random.default_rng(4)
    labels = rng.integers(0, classes, (3, 32, 32))
    masks = np.eye(classes, dtype=np.float32)[labels]  # (3, 32, 32, classes)
    images = ((labels + rng.random(labels.shape)) / classes)[..., np.newaxis].astype(np.float32)
    x, y = next(augmented_batches(images, masks, patch_size=16, batch_size=8, seed=2,
                                  intensity=0))
    assert y.shape == (8, 16, 16, classes)
    np.testing.assert_array_equal(y.sum(axis=-1), 1.0)  # still one-hot
    assert set(np.unique(y).tolist()) == {0.0, 1.0}
    # the class of each pixel is the one its image value encodes
    np.testing.assert_array_equal(np.argmax(y, axis=-1), np.floor(x[..., 0] * classes))
