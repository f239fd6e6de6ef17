"""Fast augmentation that keeps masks exactly binary.

Introduced in notebook 01, section "Augmentation", as the fix for keras-unet's
``get_augmented`` traps. Random crops, flips and quarter turns move pixels
without interpolating them, so a mask stays 0/1; brightness and contrast jitter
touches the image only. Elastic deformation as the U-Net paper describes it (option
``elastic``, off by default; introduced in notebook 02, section 8) is sampled
bilinearly for images and by nearest neighbour for masks, the course's choice (the
paper does not say how it resampled), so masks stay 0/1 there too.
"""

from __future__ import annotations

import functools
import numbers
from types import MappingProxyType

import numpy as np

from helpers._checks import as_pair
from helpers.data import validate_pairs

__all__ = ["WORKSHOP_AUGMENT_ARGS", "augmented_batches", "random_patches"]

#: keras-unet ``get_augmented``'s arguments in the original workshop's introduction
#: (Unet_in_Keras_introduction.ipynb, cell 25, counting every cell from 0). Notebook 01
#: shows their traps, the benchmarks time them, the slides draw them; all read them from
#: here. Read-only.
WORKSHOP_AUGMENT_ARGS = MappingProxyType({
    "rotation_range": 15.0,
    "width_shift_range": 0.05,
    "height_shift_range": 0.05,
    "shear_range": 30,
    "zoom_range": 0.2,
    "horizontal_flip": True,
    "vertical_flip": True,
    "fill_mode": "constant",
})


def random_patches(
    images: np.ndarray,
    masks: np.ndarray,
    *,
    patch_size=128,
    count: int,
    rng: np.random.Generator,
    flips: bool = True,
    intensity: float = 0.1,
    elastic: float = 0.0,
    elastic_grid: int = 3,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut `count` random patches, with random flips, quarter turns and intensity jitter.

    Parameters
    ----------
    images, masks : ndarray, shape (N, H, W, C) and (N, H, W, K), or lists
        Lists of (H, W, C) and (H, W, K) arrays whose sizes differ (notebook 03): each
        image is then drawn in proportion to its number of crop positions.
    patch_size : int or (int, int), default 128
    count : int
    rng : numpy.random.Generator
    flips : bool, default True
        Random horizontal/vertical flips, and quarter turns for square patches:
        the 8 symmetries of a square, all exact.
    intensity : float, default 0.1
        Images get ``x * (1 + a) + b`` with ``a, b`` uniform in ``[-intensity, intensity]``,
        clipped to [0, 1]. 0 turns it off.
    elastic : float, default 0
        Elastic deformation as in the U-Net paper, which used 10: the standard
        deviation, in pixels, of random displacements on a coarse
        `elastic_grid` x `elastic_grid` grid spanning the patch, interpolated to
        every pixel by a bicubic (natural cubic spline) surface. Images are
        sampled bilinearly, masks by nearest neighbour (so 0/1 and one-hot masks
        stay so); beyond the image edge both are mirrored. 0 turns it off and
        leaves every other random draw as it was.
    elastic_grid : int, default 3
        Control points per side of the displacement grid (at least 2).

    Returns
    -------
    images, masks : float32 arrays, shape (count, ph, pw, C) and (count, ph, pw, K)
    """
    _check_elastic(elastic, elastic_grid)
    patch_h, patch_w = as_pair(patch_size, "patch_size")
    if isinstance(images, (list, tuple)):
        x, y = _patches_of_sizes(images, masks, (patch_h, patch_w), count, rng, flips,
                                 elastic, elastic_grid)
        return _flip_and_jitter(x, y, rng, flips=flips and not elastic, intensity=intensity)
    n, height, width = images.shape[:3]
    if patch_h > height or patch_w > width:
        raise ValueError(
            f"patch_size {(patch_h, patch_w)} is larger than the images ({height}, {width}). "
            "Fix: use a smaller patch_size."
        )
    which = rng.integers(0, n, count)
    rows = rng.integers(0, height - patch_h + 1, count)
    cols = rng.integers(0, width - patch_w + 1, count)
    if elastic:
        x, y = _elastic_patches(images, masks, which, rows, cols, (patch_h, patch_w), rng=rng,
                                flips=flips, sigma=elastic, grid=elastic_grid)
    else:
        # Gather all crops with one fancy index: (count, ph, pw, C).
        r = rows[:, None, None] + np.arange(patch_h)[None, :, None]
        c = cols[:, None, None] + np.arange(patch_w)[None, None, :]
        k = which[:, None, None]
        x = images[k, r, c].astype(np.float32)
        y = masks[k, r, c].astype(np.float32)
    return _flip_and_jitter(x, y, rng, flips=flips and not elastic, intensity=intensity)


def _patches_of_sizes(images, masks, shape, count, rng, flips, elastic, elastic_grid):
    """Crops from a list of images of different sizes, each image drawn in proportion to
    the number of crop positions it has (so every position is equally likely)."""
    patch_h, patch_w = shape
    small = [(k, image.shape[:2]) for k, image in enumerate(images)
             if image.shape[0] < patch_h or image.shape[1] < patch_w]
    if small:
        k, size = small[0]
        raise ValueError(
            f"patch_size {shape} is larger than image {k} {size} ({len(small)} images are "
            "smaller than a patch). Fix: use a smaller patch_size, or pad the small images, "
            "e.g. np.pad(image, ((0, dh), (0, dw), (0, 0)), mode='reflect') and their masks "
            "alike."
        )
    heights = np.array([image.shape[0] for image in images])
    widths = np.array([image.shape[1] for image in images])
    room = (heights - patch_h + 1) * (widths - patch_w + 1)
    which = rng.choice(len(images), size=count, p=room / room.sum())
    rows = (rng.random(count) * (heights[which] - patch_h + 1)).astype(np.intp)
    cols = (rng.random(count) * (widths[which] - patch_w + 1)).astype(np.intp)
    x = np.empty((count, patch_h, patch_w, images[0].shape[-1]), np.float32)
    y = np.empty((count, patch_h, patch_w, masks[0].shape[-1]), np.float32)
    for k in np.unique(which):
        chosen = np.flatnonzero(which == k)
        if elastic:
            x[chosen], y[chosen] = _elastic_patches(
                images[k][np.newaxis], masks[k][np.newaxis], np.zeros(len(chosen), np.intp),
                rows[chosen], cols[chosen], shape, rng=rng, flips=flips, sigma=elastic,
                grid=elastic_grid)
            continue
        for index in chosen:
            r, c = rows[index], cols[index]
            x[index] = images[k][r : r + patch_h, c : c + patch_w]
            y[index] = masks[k][r : r + patch_h, c : c + patch_w]
    return x, y


def _flip_and_jitter(x, y, rng, *, flips: bool, intensity: float):
    """Random flips and quarter turns (square patches), then the intensity jitter."""
    count, patch_h, patch_w = x.shape[:3]
    if flips:
        flip_v = rng.random(count) < 0.5
        flip_h = rng.random(count) < 0.5
        x[flip_v], y[flip_v] = x[flip_v, ::-1], y[flip_v, ::-1]
        x[flip_h], y[flip_h] = x[flip_h, :, ::-1], y[flip_h, :, ::-1]
        if patch_h == patch_w:
            turn = rng.random(count) < 0.5
            x[turn] = np.rot90(x[turn], axes=(1, 2))
            y[turn] = np.rot90(y[turn], axes=(1, 2))
    if intensity:
        gain = 1 + rng.uniform(-intensity, intensity, (count, 1, 1, 1)).astype(np.float32)
        bias = rng.uniform(-intensity, intensity, (count, 1, 1, 1)).astype(np.float32)
        x = np.clip(x * gain + bias, 0.0, 1.0)
    return x, y


def _checked_lists(images, masks, weights):
    """Lists of (H, W, C) images and (H, W, K) masks, each pair checked as a batch of one;
    weights, when given, are carried as an extra mask channel."""
    if not isinstance(masks, (list, tuple)) or len(masks) != len(images) or not images:
        raise ValueError(
            "images is a list: masks must be a list of the same length (one (H, W, K) "
            f"array per image), got {type(masks).__name__} of length {len(masks)}.")
    if weights is not None and (not isinstance(weights, (list, tuple))
                                or len(weights) != len(images)):
        raise ValueError("images is a list: weights must be a list of one array per image.")
    checked_images, checked_masks = [], []
    for k, (image, mask) in enumerate(zip(images, masks, strict=True)):
        image, mask = np.asarray(image), np.asarray(mask)
        try:
            validate_pairs(image[np.newaxis], mask[np.newaxis])
        except ValueError as error:
            raise ValueError(f"image {k} and its mask: {error}") from error
        if image.shape[-1] != np.shape(images[0])[-1] or mask.shape[-1] != np.shape(masks[0])[-1]:
            raise ValueError(f"image {k}: every image must have the channels of image 0, and "
                             "every mask its classes.")
        if weights is not None:
            weight = _check_weights(np.asarray(weights[k])[np.newaxis], mask[np.newaxis])[0]
            mask = np.concatenate([mask.astype(np.float32), weight.astype(np.float32)], axis=-1)
        checked_images.append(image)
        checked_masks.append(mask)
    return checked_images, checked_masks, weights


@functools.cache
def _spline_matrix(size: int, grid: int) -> np.ndarray:
    """(size, grid): values at pixels 0..size-1 of the natural cubic spline through each
    unit vector on `grid` evenly spaced knots from 0 to size - 1 (the first and last
    knots sit on the patch's edge pixels)."""
    from scipy.interpolate import CubicSpline

    if size == 1:
        return np.full((1, grid), 1.0 / grid, np.float32)
    knots = np.linspace(0.0, size - 1.0, grid)
    return CubicSpline(knots, np.eye(grid), bc_type="natural")(np.arange(size)).astype(np.float32)


def _elastic_field(rng: np.random.Generator, count: int, shape, *, sigma: float,
                  grid: int = 3) -> np.ndarray:
    """Random smooth displacement fields, shape (count, 2, H, W), in pixels (rows, columns).

    Displacements drawn from N(0, sigma**2) on a `grid` x `grid` lattice of control
    points spanning the patch, then interpolated bicubically: the tensor product of
    natural cubic splines, one matrix product per axis. At the control points the
    field equals the draws exactly.
    """
    height, width = shape
    control = rng.normal(0.0, sigma, (count, 2, grid, grid)).astype(np.float32)
    return _spline_matrix(height, grid) @ control @ _spline_matrix(width, grid).T


def _elastic_patches(images, masks, which, rows, cols, shape, *, rng, flips, sigma, grid):
    """Elastically deformed patches, with their flips done in the sampling.

    Output pixel (i, j) samples the image at its crop position, flipped as the patch
    is, plus the field's displacement at (i, j). Flipping the displacement field with
    the patch would give the same distribution (its control points are independent
    and the grid symmetric), so the field is left as drawn, and no patch is copied again.
    """
    count = len(which)
    patch_h, patch_w = shape
    points = _elastic_field(rng, count, shape, sigma=sigma, grid=grid)
    i = np.arange(patch_h)[None, :, None]
    j = np.arange(patch_w)[None, None, :]
    if flips:
        flip_v = (rng.random(count) < 0.5)[:, None, None]
        flip_h = (rng.random(count) < 0.5)[:, None, None]
        i = np.where(flip_v, patch_h - 1 - i, i)  # (count, ph, 1)
        j = np.where(flip_h, patch_w - 1 - j, j)  # (count, 1, pw)
    # float32 offsets: adding integers to the float32 points would compute in float64.
    points[:, 0] += (rows[:, None, None] + i).astype(np.float32)
    points[:, 1] += (cols[:, None, None] + j).astype(np.float32)
    x, y = _deformed_crops(images, masks, which, points)
    if flips and patch_h == patch_w:
        # Turned after sampling: sampling along columns would read the image out of order.
        turn = rng.random(count) < 0.5
        x[turn] = np.rot90(x[turn], axes=(1, 2))
        y[turn] = np.rot90(y[turn], axes=(1, 2))
    return x, y


def _reflect(coordinates: np.ndarray, last: int) -> np.ndarray:
    """Coordinates reflected into [0, last] about the edge pixels (scipy.ndimage's "mirror").

    Reflecting the point is exact for bilinear and nearest sampling: both are
    symmetric about the edge pixel.
    """
    if last == 0:
        return np.zeros_like(coordinates)
    # |c| reflects about 0; min(c, 2 * last - c) about last (it is c for c <= last).
    # One pass does it for c in [-last, 2 * last]; farther points need another.
    coordinates = np.abs(coordinates)
    np.minimum(coordinates, 2 * last - coordinates, out=coordinates)
    while coordinates.min() < 0:
        np.abs(coordinates, out=coordinates)
        np.minimum(coordinates, 2 * last - coordinates, out=coordinates)
    return coordinates


def _deformed_crops(images, masks, which, points):
    """Sample each image bilinearly and each mask by nearest at `points` (count, 2, ph, pw).

    The same as ``scipy.ndimage.map_coordinates`` with ``order=1`` (images) and
    ``order=0`` (masks) and ``mode="mirror"``, but gathering whole batches at once
    from the flattened arrays, which is several times faster.
    """
    height, width = images.shape[1:3]
    points = points.astype(np.float32, copy=False)  # 1e-4 px at 1000 px: plenty
    rows = _reflect(points[:, 0], height - 1)
    cols = _reflect(points[:, 1], width - 1)
    # The top-left neighbour; the other three are one row and/or one column further. On
    # the last row (column) it is the row before, and the far one gets all the weight, so
    # no neighbour lies beyond the image.
    top = np.floor(rows)
    top[top > height - 2] = max(height - 2, 0)
    left = np.floor(cols)
    left[left > width - 2] = max(width - 2, 0)
    # The weights of the lower and right neighbours, in [0, 1], in place (rows and cols
    # are _reflect's own arrays).
    down = np.subtract(rows, top, out=rows)
    right = np.subtract(cols, left, out=cols)
    # Flat pixel indices, computed in floats (exact below 2**24 in float32) because
    # numpy's integer casts and arithmetic are several times slower here.
    exact = np.float32 if images[0, ..., 0].size <= 2**24 else np.float64
    corner = top.astype(exact, copy=False) * width
    corner += left
    nearest = corner + (right >= 0.5)
    nearest += (down >= 0.5) * exact(width)
    start = (which * (height * width))[:, np.newaxis, np.newaxis]

    def flat(index):
        index = index.astype(np.int32 if exact is np.float32 else np.intp).astype(np.intp)
        index += start
        return index

    corner, nearest = flat(corner), flat(nearest)
    pixels = images.reshape(-1, images.shape[-1])
    if len(pixels) <= width + 1:  # a single one-row image: pad for the views below
        pixels = np.concatenate([pixels, np.zeros((width + 1, pixels.shape[1]), pixels.dtype)])

    def at(offset):
        # Shifted views instead of corner + offset: no index arithmetic. Every index is
        # in range, so "wrap" changes nothing, and numpy's take is fastest with it.
        return np.take(pixels[offset:], corner, axis=0, mode="wrap").astype(np.float32,
                                                                          copy=False)

    right = right[..., np.newaxis]
    upper = at(0)
    upper += right * (at(1) - upper)
    x = at(width)
    x += right * (at(width + 1) - x)
    x -= upper
    x *= down[..., np.newaxis]
    x += upper
    y = np.take(masks.reshape(-1, masks.shape[-1]), nearest, axis=0,
                mode="wrap").astype(np.float32, copy=False)
    return np.clip(x, 0.0, 1.0, out=x), y


def _check_elastic(elastic, elastic_grid) -> None:
    if (isinstance(elastic, bool) or not isinstance(elastic, numbers.Real)
            or not np.isfinite(elastic) or elastic < 0):
        raise ValueError(
            f"elastic must be a number of pixels >= 0 (the paper used 10; 0 turns it off), "
            f"got {elastic!r}."
        )
    if isinstance(elastic_grid, bool) or not isinstance(elastic_grid, (int, np.integer)) \
            or elastic_grid < 2:
        raise ValueError(f"elastic_grid must be an int >= 2 (the paper used 3), "
                         f"got {elastic_grid!r}.")


def _check_weights(weights, masks) -> np.ndarray:
    weights = np.asarray(weights)
    if weights.ndim == 3:
        weights = weights[..., np.newaxis]
    if weights.shape != masks.shape[:3] + (1,):
        raise ValueError(
            f"weights must have one value per mask pixel, shape {masks.shape[:3] + (1,)} "
            f"(or without the last axis), got {np.shape(weights)}. Fix: compute them from "
            "the same masks, e.g. border_weight_map(masks)."
        )
    if not np.issubdtype(weights.dtype, np.number) or not np.isfinite(weights).all() \
            or (weights < 0).any():
        raise ValueError("weights must be finite numbers >= 0, got "
                         f"dtype {weights.dtype}, range [{weights.min()}, {weights.max()}].")
    return weights


def augmented_batches(
    images: np.ndarray,
    masks: np.ndarray,
    *,
    patch_size=128,
    batch_size: int = 16,
    seed: int | None = 0,
    flips: bool = True,
    intensity: float = 0.1,
    elastic: float = 0.0,
    elastic_grid: int = 3,
    weights=None,
):
    """Endless (images, masks) batches of random augmented patches, for ``model.fit``.

    A plain Python generator, which Keras 3's ``fit`` accepts (with
    ``steps_per_epoch``). Masks stay exactly binary.

    Parameters
    ----------
    images, masks : ndarray, shape (N, H, W, C) and (N, H, W, K), or lists
        Checked by `validate_pairs`; masks may be one-hot (K > 1). Lists of (H, W, C)
        and (H, W, K) arrays may differ in size (see `random_patches`).
    patch_size : int or (int, int), default 128
    batch_size : int, default 16
    seed : int or None, default 0
        The same seed gives the same batches.
    flips : bool, default True
    intensity : float, default 0.1
        As in `random_patches`.
    elastic, elastic_grid : float and int
        As in `random_patches`.
    weights : ndarray, shape (N, H, W, 1) or (N, H, W), or a list, optional
        Per-pixel loss weights (e.g. `border_weight_map`), cut, turned and
        deformed exactly as the masks. Then each batch is (images, masks,
        weights), which ``model.fit`` passes to the loss as ``sample_weight``.
        Introduced in notebook 02, section 8.

    Returns
    -------
    generator of (ndarray, ndarray) or (ndarray, ndarray, ndarray)
        Shapes (batch_size, ph, pw, C), (batch_size, ph, pw, K) and, with
        `weights`, (batch_size, ph, pw, 1), float32. The arguments are checked
        at the call, not at the first batch.

    Examples
    --------
    >>> images = np.random.default_rng(0).random((4, 64, 64, 1)).astype("float32")
    >>> masks = (images > 0.5).astype("float32")
    >>> x, y = next(augmented_batches(images, masks, patch_size=32, batch_size=8))
    >>> x.shape, sorted(np.unique(y).tolist())
    ((8, 32, 32, 1), [0.0, 1.0])

    The U-Net paper's elastic deformation keeps masks binary too:

    >>> x, y = next(augmented_batches(images, masks, patch_size=32, batch_size=8, elastic=10))
    >>> sorted(np.unique(y).tolist())
    [0.0, 1.0]
    """
    # Check everything here, not at the first next() deep inside model.fit.
    if isinstance(images, (list, tuple)):
        images, masks, weights = _checked_lists(images, masks, weights)
    else:
        validate_pairs(images, masks)
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    _check_elastic(elastic, elastic_grid)
    if weights is not None and not isinstance(images, list):
        # Carried as extra mask channels: every transform of a mask applies to them as is.
        masks = np.concatenate([masks.astype(np.float32),
                                _check_weights(weights, masks).astype(np.float32)], axis=-1)
    rng = np.random.default_rng(seed)
    random_patches(images, masks, patch_size=patch_size, count=1, rng=np.random.default_rng(0))

    def batches():
        while True:
            x, y = random_patches(images, masks, patch_size=patch_size, count=batch_size,
                                  rng=rng, flips=flips, intensity=intensity,
                                  elastic=elastic, elastic_grid=elastic_grid)
            yield (x, y) if weights is None else (x, y[..., :-1], y[..., -1:])

    return batches()
