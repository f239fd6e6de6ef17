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


# --------------------------------------------------------------------------- elastic deformation


def _ramps(size):
    """Two channels whose values are each pixel's row and column, scaled into [0, 1]."""
    rows, cols = np.mgrid[:size, :size].astype(np.float64)
    return np.stack([rows, cols], axis=-1)[np.newaxis] / (size - 1)


def test_augmented_batches_elastic_off_by_default_changes_nothing():
    images, masks = _data()
    default = augmented_batches(images, masks, patch_size=8, batch_size=5, seed=7)
    explicit = augmented_batches(images, masks, patch_size=8, batch_size=5, seed=7, elastic=0)
    for _ in range(2):
        for a, b in zip(next(default), next(explicit), strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("patch_size", [16, (12, 20), (20, 9)])
@pytest.mark.parametrize("elastic", [2.0, 10.0])
def test_augmented_batches_elastic_masks_stay_binary(patch_size, elastic):
    images, masks = _data(n=3, height=24, width=28)
    ph, pw = (patch_size, patch_size) if np.isscalar(patch_size) else patch_size
    x, y = next(augmented_batches(images, masks, patch_size=patch_size, batch_size=16,
                                  elastic=elastic))
    assert x.shape == (16, ph, pw, 1) and y.shape == (16, ph, pw, 1)
    assert x.dtype == y.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert set(np.unique(y).tolist()) == {0.0, 1.0}


def test_augmented_batches_elastic_one_hot_stays_one_hot():
    images, masks = _data(n=2, height=32, width=32)
    one_hot = np.concatenate([1 - masks, masks], axis=-1)
    _, y = next(augmented_batches(images, one_hot, patch_size=(16, 24), batch_size=8,
                                  elastic=10.0))
    assert np.isin(y, (0.0, 1.0)).all()
    np.testing.assert_array_equal(y.sum(axis=-1), 1.0)


def test_augmented_batches_elastic_same_seed_same_batches():
    images, masks = _data()
    a = augmented_batches(images, masks, patch_size=8, batch_size=4, seed=3, elastic=5.0)
    b = augmented_batches(images, masks, patch_size=8, batch_size=4, seed=3, elastic=5.0)
    c = augmented_batches(images, masks, patch_size=8, batch_size=4, seed=4, elastic=5.0)
    for _ in range(2):
        (xa, ya), (xb, yb), (xc, _) = next(a), next(b), next(c)
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
        assert not np.array_equal(xa, xc)


def test_augmented_batches_elastic_moves_pixels_smoothly_by_sigma():
    # Ramp images tell where each output pixel was sampled (bilinear interpolation of a
    # ramp is exact). With the patch as large as the image the crop starts at (0, 0),
    # so the sampled position minus the pixel's own position is the displacement.
    size, sigma = 65, 2.0  # pixel 32 is the middle control point of the 3 x 3 grid
    images = _ramps(size)
    masks = np.zeros((1, size, size, 1))
    x, _ = next(augmented_batches(images, masks, patch_size=size, batch_size=400, seed=0,
                                  flips=False, intensity=0, elastic=sigma))
    grid = np.mgrid[:size, :size].transpose(1, 2, 0)
    displacement = x * (size - 1) - grid  # (400, size, size, 2): rows, columns
    inner = displacement[:, 12:-12, 12:-12]  # > 5 sigma from the edges: never mirrored
    centre = displacement[:, 32, 32]  # a control point: drawn from N(0, sigma**2)
    assert np.abs(centre.mean(axis=0)).max() < 0.3
    np.testing.assert_allclose(centre.std(axis=0), sigma, rtol=0.15)
    # Between control points the spline varies smoothly: neighbours move alike.
    assert np.abs(np.diff(inner, axis=1)).max() < 0.5
    assert np.abs(np.diff(inner, axis=2)).max() < 0.5
    assert inner.std() > 0.5 * sigma


def test_augmented_batches_elastic_masks_follow_the_images_by_nearest():
    # The mask pixel comes from the nearest pixel of where the image was sampled.
    size = 33
    images = _ramps(size)
    rng = np.random.default_rng(0)
    masks = (rng.random((1, size, size, 1)) > 0.5).astype(np.float32)
    x, y = next(augmented_batches(images, masks, patch_size=(25, 17), batch_size=20, seed=1,
                                  intensity=0, elastic=4.0))
    where = np.rint(x * (size - 1)).astype(int)
    # Positions beyond the edge were mirrored, for the image and the mask alike; the ramp
    # shows the mirrored position, so this holds everywhere.
    np.testing.assert_array_equal(y[..., 0], masks[0, where[..., 0], where[..., 1], 0])


def test_deformed_crops_match_scipy_map_coordinates():
    from scipy import ndimage

    from helpers.augment import _deformed_crops, _elastic_field

    images, masks = _data(n=3, height=30, width=26, channels=2)
    rng = np.random.default_rng(2)
    which = np.array([0, 2, 1, 2])
    points = _elastic_field(rng, 4, (12, 14), sigma=6.0)
    points += rng.integers(-5, 20, (4, 2, 1, 1))  # some samples reach beyond the edges
    x, y = _deformed_crops(images, masks, which, points)
    for i, k in enumerate(which):
        for channel in range(2):
            expected = ndimage.map_coordinates(images[k, ..., channel].astype(np.float64),
                                               points[i], order=1, mode="mirror")
            np.testing.assert_allclose(x[i, ..., channel], expected, atol=1e-6)
        nearest = ndimage.map_coordinates(masks[k, ..., 0], points[i], order=0, mode="mirror")
        assert np.mean(y[i, ..., 0] == nearest) > 0.99  # rounding of exact halves may differ


@pytest.mark.parametrize(("n", "height", "width"), [(1, 1, 9), (2, 1, 9), (2, 7, 1), (1, 1, 1)])
def test_deformed_crops_match_scipy_on_one_pixel_wide_images(n, height, width):
    from scipy import ndimage

    from helpers.augment import _deformed_crops

    images, masks = _data(n=n, height=height, width=width)
    rng = np.random.default_rng(3)
    which = np.array([n - 1, 0])
    points = rng.uniform(-3, 12, (2, 2, 5, 6)).astype(np.float32)
    x, y = _deformed_crops(images, masks, which, points)
    for i, k in enumerate(which):
        expected = ndimage.map_coordinates(images[k, ..., 0].astype(np.float64), points[i],
                                           order=1, mode="mirror")
        np.testing.assert_allclose(x[i, ..., 0], expected, atol=1e-6)
        nearest = ndimage.map_coordinates(masks[k, ..., 0], points[i], order=0, mode="mirror")
        assert np.mean(y[i, ..., 0] == nearest) > 0.95  # rounding of exact halves may differ


@pytest.mark.parametrize("height", [4096, 4160])  # 2**24 pixels per image, and more
def test_deformed_crops_exact_on_either_side_of_float32_indices(height):
    """Flat indices are computed in float32 up to 2**24 pixels per image, in float64 above."""
    from scipy import ndimage

    from helpers.augment import _deformed_crops

    rng = np.random.default_rng(5)
    images = rng.integers(0, 2, (2, height, 4096, 1), dtype=np.uint8)  # neighbours differ
    masks = images.copy()
    # Points in the last 30 rows and columns of image 1, whose flat indices exceed 2**24
    # when height is 4160: one index off there would show.
    points = (np.array([height, 4096])[None, :, None, None] - 1
              - rng.uniform(0, 30, (1, 2, 8, 8))).astype(np.float32)
    x, y = _deformed_crops(images, masks, np.array([1]), points)
    corner = images[1, -40:, -40:, 0].astype(np.float64)
    local = points[0] - np.array([height - 40, 4096 - 40], np.float32)[:, None, None]
    expected = ndimage.map_coordinates(corner, local, order=1, mode="mirror")
    np.testing.assert_allclose(x[0, ..., 0], expected, atol=1e-5)
    nearest = ndimage.map_coordinates(corner, local, order=0, mode="mirror")
    np.testing.assert_array_equal(y[0, ..., 0], nearest)


@pytest.mark.parametrize(("options", "match"), [
    ({"elastic": -1.0}, r"elastic must be a number of pixels >= 0 .* got -1.0"),
    ({"elastic": float("inf")}, r"elastic must be a number of pixels"),
    ({"elastic": "10"}, r"elastic must be a number of pixels .* got '10'"),
    ({"elastic": 10.0, "elastic_grid": 1}, r"elastic_grid must be an int >= 2 .* got 1"),
    ({"elastic": 10.0, "elastic_grid": 3.0}, r"elastic_grid must be an int"),
])
def test_augmented_batches_bad_elastic(options, match):
    images, masks = _data()
    with pytest.raises(ValueError, match=match):
        augmented_batches(images, masks, patch_size=8, **options)


# --------------------------------------------------------------------------- loss weights


@pytest.mark.parametrize("elastic", [0.0, 6.0])
def test_augmented_batches_weights_move_with_the_masks(elastic):
    images, masks = _data(n=3, height=24, width=28)
    weights = masks * 4.0 + 0.5  # a function of the mask, so it must stay one
    x, y, w = next(augmented_batches(images, masks, patch_size=(12, 16), batch_size=10,
                                     weights=weights, elastic=elastic))
    assert w.shape == y.shape == (10, 12, 16, 1)
    assert w.dtype == np.float32
    np.testing.assert_array_equal(w, y * 4.0 + 0.5)


def test_augmented_batches_weights_are_cut_and_turned_like_the_images():
    images, masks = _data(n=2, height=16, width=16)
    x, y, w = next(augmented_batches(images, masks, patch_size=8, batch_size=12, seed=5,
                                     intensity=0, weights=images[..., 0] * 3.0))
    np.testing.assert_allclose(w, x * 3.0, rtol=1e-6)
    plain_x, plain_y = next(augmented_batches(images, masks, patch_size=8, batch_size=12,
                                              seed=5, intensity=0))
    np.testing.assert_array_equal(x, plain_x)  # weights change no random draw
    np.testing.assert_array_equal(y, plain_y)


@pytest.mark.parametrize(("weights", "match"), [
    (np.ones((3, 20, 20, 1)),
     r"weights must have one value per mask pixel, shape \(3, 20, 24, 1\)"),
    (np.ones((2, 20, 24, 1)), r"weights must have one value per mask pixel"),
    (-np.ones((3, 20, 24, 1)), r"weights must be finite numbers >= 0"),
    (np.full((3, 20, 24), np.nan), r"weights must be finite numbers >= 0"),
])
def test_augmented_batches_bad_weights(weights, match):
    images, masks = _data()
    with pytest.raises(ValueError, match=match):
        augmented_batches(images, masks, patch_size=8, weights=weights)


@pytest.mark.parametrize("patch_size", [8, (6, 10)])
def test_augmented_batches_elastic_flips_are_the_dihedral_transforms(patch_size):
    # With a vanishing deformation, each patch of a ramp image rounds to an exact crop,
    # flipped or turned: the same 8 (or 4) transforms as without elastic, all occurring.
    size = 20
    ramps = _ramps(size)
    positions = np.rint(ramps * (size - 1))  # each pixel's (row, column): all distinct
    square = np.isscalar(patch_size)
    x, _ = next(augmented_batches(ramps, np.zeros((1, size, size, 1)), patch_size=patch_size,
                                  batch_size=60, seed=2, intensity=0, elastic=1e-4))
    found = set()
    for patch in np.rint(x * (size - 1)):
        location = _locate(patch, positions, square)
        assert location is not None, "patch is not a transformed crop"
        found.add(location[0])
    assert found == set(_dihedral(square))


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


@pytest.mark.parametrize(("point", "expected"), [
    (3.0, 3.0), (0.0, 0.0), (10.0, 10.0),   # inside: unchanged
    (-2.5, 2.5), (12.0, 8.0),               # one reflection, about 0 and about 10
    (25.0, 5.0), (-25.0, 5.0), (41.0, 1.0),  # beyond twice the edge: reflected again
])
def test_reflect_known_values(point, expected):
    from helpers.augment import _reflect

    result = _reflect(np.array([point], np.float32), 10)
    assert result.tolist() == [expected]
    assert _reflect(np.array([point], np.float32), 0).tolist() == [0.0]
