"""Overlap-tile prediction for images of any size.

Introduced in notebook 02, section "Full resolution by tiling".

Overlapping tiles go back to the U-Net paper (Ronneberger, Fischer and Brox, 2015,
arXiv:1505.04597), whose network uses valid convolutions: each tile predicts a smaller
centre, the centres abut, and the image's border is mirrored. This module keeps
Keras's 'same' convolutions, where every tile predicts all its pixels, and instead
*blends* overlapping tiles with weights that fade out towards each tile's edge: that
cross-fade is this course's own choice, not the paper's.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from helpers._checks import as_pair, as_side

__all__ = [
    "TileGrid",
    "blend_weights",
    "predict_non_overlapping",
    "predict_tiled",
    "predict_with_flips",
    "tile_border_band",
    "tile_grid",
    "tile_starts",
]


def tile_starts(length: int, *, tile_size: int = 128, overlap: int = 32) -> list[int]:
    """Start offsets of tiles that cover ``range(length)`` with at least `overlap` shared.

    The last tile is moved back to end exactly at `length`, so no padding is needed
    for sizes that are not a multiple of the stride. Introduced in notebook 02,
    section "Full resolution by tiling"; `tile_grid` uses it for each axis.

    Parameters
    ----------
    length : int
        The image's side along one axis.
    tile_size : int, default 128
        The tile's side along that axis; at most `length`.
    overlap : int, default 32
        Pixels shared by neighbouring tiles; ``0 <= overlap < tile_size``.

    Returns
    -------
    list of int
        Increasing starts; the first is 0 and the last ``length - tile_size``.

    Examples
    --------
    >>> tile_starts(300, tile_size=128, overlap=32)
    [0, 96, 172]
    >>> tile_starts(128, tile_size=128, overlap=32)
    [0]
    """
    tile = as_side(tile_size, "tile_size")
    _check_overlap(overlap, tile)
    if tile > length:
        raise ValueError(f"tile_size ({tile}) is larger than the image side ({length}).")
    stride = tile - overlap
    starts = list(range(0, length - tile + 1, stride))
    if starts[-1] != length - tile:
        starts.append(length - tile)
    return starts


def _check_overlap(overlap, tile: int) -> None:
    if not isinstance(overlap, (int, np.integer)) or not 0 <= overlap < tile:
        raise ValueError(
            f"overlap must be an int with 0 <= overlap < tile_size ({tile}), got {overlap!r}. "
            "Fix: a quarter of the tile is a good start."
        )


def blend_weights(*, tile_size=128, overlap: int = 32) -> np.ndarray:
    """Weights that fade a tile out towards its edges, over `overlap` pixels.

    The network sees least context at a tile's edge, so that is where its output
    is worst. Each output pixel is the weighted mean of the tiles that cover it,
    so overlapping tiles cross-fade instead of meeting at a seam.

    Parameters
    ----------
    tile_size : int or (int, int), default 128
    overlap : int, default 32
        ``0 <= overlap < tile_size``; 0 gives weights of 1 everywhere.

    Returns
    -------
    ndarray, shape (tile_h, tile_w), float64, all > 0 and at most 1.

    Examples
    --------
    >>> blend_weights(tile_size=12, overlap=4)[5].round(2)  # a row through the middle
    array([0.2, 0.4, 0.6, 0.8, 1. , 1. , 1. , 1. , 0.8, 0.6, 0.4, 0.2])
    """
    tile_h, tile_w = as_pair(tile_size, "tile_size")
    _check_overlap(overlap, min(tile_h, tile_w))

    def ramp(n):
        distance = np.minimum(np.arange(n), np.arange(n)[::-1])  # to the nearest edge
        return np.minimum(1.0, (distance + 1) / (overlap + 1)) if overlap else np.ones(n)

    return np.outer(ramp(tile_h), ramp(tile_w))


class TileGrid(NamedTuple):
    """Where `predict_tiled` puts its tiles; returned by `tile_grid`.

    Attributes
    ----------
    padded_shape : (int, int)
        Height and width after mirroring the border.
    margin : (int, int)
        Pixels mirrored above and below, and left and right, of the image.
    rows, cols : list of int
        Tile starts in the padded image; every (row, col) pair is one tile.
    """

    padded_shape: tuple[int, int]
    margin: tuple[int, int]
    rows: list[int]
    cols: list[int]

    @property
    def origins(self) -> list[tuple[int, int]]:
        """Top-left corner of every tile, in the image's own coordinates.

        Negative where a tile starts in the mirrored margin.
        """
        return [(r - self.margin[0], c - self.margin[1]) for r in self.rows for c in self.cols]


def tile_grid(shape, *, tile_size=128, overlap: int = 32, pad_mode: str | None = "reflect"
              ) -> TileGrid:
    """The tiles `predict_tiled` uses for an image of `shape`: margins and tile starts.

    With ``pad_mode="reflect"`` the border is mirrored by up to ``overlap // 2``
    pixels, but only as far as the slack of the tiles needed anyway allows, so the
    mirror never adds a tile. When the tiles fit the image exactly there is no
    slack, and nothing is mirrored: 512 pixels with tile 128 and overlap 32 is
    such a case (5 tiles of stride 96 cover 4 * 96 + 128 = 512).

    Parameters
    ----------
    shape : (int, int)
        Height and width of the image (further axes are ignored).
    tile_size : int or (int, int), default 128
    overlap : int, default 32
        ``0 <= overlap < tile_size``.
    pad_mode : {"reflect", None}, default "reflect"

    Returns
    -------
    TileGrid

    Raises
    ------
    ValueError
        A side is not a positive int, the tile is larger than the image, the overlap
        is not smaller than the tile, or `pad_mode` is unknown.

    Examples
    --------
    >>> grid = tile_grid((512, 512), tile_size=128, overlap=32)
    >>> grid.margin, grid.rows, len(grid.origins)
    ((0, 0), [0, 96, 192, 288, 384], 25)
    >>> grid = tile_grid((300, 300), tile_size=128, overlap=32)
    >>> grid.margin, grid.padded_shape, grid.origins[:2]
    ((10, 10), (320, 320), [(-10, -10), (-10, 86)])
    """
    if len(shape) < 2:
        raise ValueError(f"shape must give (height, width), got {shape!r}.")
    height, width = as_pair(tuple(shape[:2]), "shape")
    tile_h, tile_w = as_pair(tile_size, "tile_size")
    _check_overlap(overlap, min(tile_h, tile_w))
    if pad_mode not in ("reflect", None):
        raise ValueError(f"pad_mode must be 'reflect' or None, got {pad_mode!r}.")
    if tile_h > height or tile_w > width:
        raise ValueError(
            f"tile_size {(tile_h, tile_w)} is larger than the image ({height}, {width}). "
            "Fix: use a smaller tile_size, or predict the whole image with model.predict."
        )
    margin_h = _free_margin(height, tile_h, overlap) if pad_mode else 0
    margin_w = _free_margin(width, tile_w, overlap) if pad_mode else 0
    padded = (height + 2 * margin_h, width + 2 * margin_w)
    return TileGrid(padded, (margin_h, margin_w),
                    tile_starts(padded[0], tile_size=tile_h, overlap=overlap),
                    tile_starts(padded[1], tile_size=tile_w, overlap=overlap))


def predict_tiled(
    model,
    image: np.ndarray,
    *,
    tile_size=128,
    overlap: int = 32,
    batch_size: int = 16,
    pad_mode: str | None = "reflect",
) -> np.ndarray:
    """Predict an image of any height and width with overlapping, blended tiles.

    The image (or each image of a batch) is cut into tiles of `tile_size` that
    share at least `overlap` pixels, all tiles are predicted in batches, and the
    predictions are blended with weights that fade out towards each tile's
    edge (`blend_weights`), so that no seams show. The tiles are those of
    `tile_grid`: with ``pad_mode="reflect"`` the border is mirrored by up to
    ``overlap // 2`` pixels, as far as the slack of the tiles needed anyway allows,
    so the mirror never costs an extra tile, and where the tiles fit exactly
    (512 pixels, tile 128, overlap 32) nothing is mirrored. For a wider mirror,
    pad the image yourself with ``np.pad(..., mode="reflect")`` and crop the result.

    Parameters
    ----------
    model : callable
        A Keras model (or any callable) mapping (B, th, tw, C) to (B, th, tw, K).
    image : ndarray, shape (H, W), (H, W, C) or (N, H, W, C)
    tile_size : int or (int, int), default 128
        Must fit the model (a multiple of 2**num_layers for keras-unet models).
    overlap : int, default 32
        Pixels shared by neighbouring tiles; ``0 <= overlap < tile_size``.
    batch_size : int, default 16
        Tiles per forward pass: lower it after an out-of-memory error.
    pad_mode : {"reflect", None}, default "reflect"

    Returns
    -------
    ndarray, float32
        (H, W, K) for a single image, (N, H, W, K) for a batch: the input's H x W.

    Raises
    ------
    ValueError
        The image has the wrong dimensions or contains NaN/inf; the tile is larger
        than the image; the overlap is not smaller than the tile.

    Examples
    --------
    >>> identity = lambda tiles: tiles
    >>> image = np.random.default_rng(0).random((100, 130, 1)).astype("float32")
    >>> result = predict_tiled(identity, image, tile_size=32, overlap=8)
    >>> result.shape, bool(np.allclose(result, image, atol=1e-6))
    ((100, 130, 1), True)
    """
    image = np.asarray(image)
    single = image.ndim in (2, 3)
    if image.ndim == 2:
        image = image[np.newaxis, ..., np.newaxis]
    elif image.ndim == 3:
        image = image[np.newaxis]
    elif image.ndim != 4:
        raise ValueError(
            f"image must have shape (H, W), (H, W, C) or (N, H, W, C), got {image.shape}."
        )
    if not np.isfinite(image).all():
        raise ValueError("image contains NaN or infinite values. Fix: clean it, e.g. with "
                         "np.nan_to_num.")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    n, height, width, channels = image.shape
    # tile_grid checks tile_size, overlap and pad_mode, and that the tile fits the image.
    grid = tile_grid((height, width), tile_size=tile_size, overlap=overlap, pad_mode=pad_mode)
    tile_h, tile_w = as_pair(tile_size, "tile_size")
    fixed = getattr(model, "input_shape", None)
    if fixed is not None and len(fixed) == 4 and None not in fixed[1:3]:
        if tuple(fixed[1:3]) != (tile_h, tile_w):
            raise ValueError(
                f"tile_size {(tile_h, tile_w)} does not fit the model, whose input is "
                f"{tuple(fixed[1:3])}. Fix: tile_size={fixed[1]}, or build the model with "
                "input_shape=(None, None, channels)."
            )

    margin_h, margin_w = grid.margin
    padded = np.pad(image, ((0, 0), (margin_h, margin_h), (margin_w, margin_w), (0, 0)),
                    mode="reflect") if margin_h or margin_w else image
    rows, cols = grid.rows, grid.cols
    positions = [(k, r, c) for k in range(n) for r in rows for c in cols]

    # float64 sums: with a wide overlap the edge weights are tiny, and float32 would
    # lose the exactness an identity model must show.
    weights = blend_weights(tile_size=(tile_h, tile_w), overlap=overlap)[..., np.newaxis]
    # A Keras model's predict_on_batch skips the per-call input checks and warnings.
    forward = getattr(model, "predict_on_batch", model)
    total = None
    weight_sum = np.zeros(padded.shape[:3] + (1,), dtype=np.float64)
    for start in range(0, len(positions), batch_size):
        chunk = positions[start : start + batch_size]
        tiles = np.stack([padded[k, r : r + tile_h, c : c + tile_w] for k, r, c in chunk])
        predicted = np.asarray(forward(tiles.astype(np.float32)), dtype=np.float64)
        if total is None:
            total = np.zeros(padded.shape[:3] + (predicted.shape[-1],), dtype=np.float64)
        for (k, r, c), tile in zip(chunk, predicted, strict=True):
            total[k, r : r + tile_h, c : c + tile_w] += tile * weights
            weight_sum[k, r : r + tile_h, c : c + tile_w] += weights
    result = (total / weight_sum)[:, margin_h : margin_h + height, margin_w : margin_w + width]
    result = result.astype(np.float32)
    return result[0] if single else result


def _free_margin(length: int, tile: int, overlap: int) -> int:
    """Mirror margin (at most overlap // 2) that fits in the slack of the tiles needed anyway."""
    stride = tile - overlap
    count = max(1, -(-(length - overlap) // stride))  # tiles to cover `length`
    slack = count * stride + overlap - length
    return min(overlap // 2, slack // 2, length - 1)


def predict_non_overlapping(model, images: np.ndarray, *, tile_size: int = 128,
                            batch_size: int = 16) -> np.ndarray:
    """Predict square images in non-overlapping tiles, pasted back: keras-unet's way.

    Introduced in notebook 02, section "Non-overlapping tiles, the keras-unet way",
    as the baseline that `predict_tiled` improves on; the original workshop predicted
    this way, and the benchmarks and the slides measure it. keras-unet's
    ``get_patches`` cuts the tiles, ``model.predict`` predicts them, and
    ``reconstruct_from_patches`` pastes them back, without blending.

    Parameters
    ----------
    model : keras.Model
        Maps (B, tile, tile, C) to (B, tile, tile, K).
    images : ndarray, shape (S, S), (S, S, C) or (N, S, S, C)
        Square: ``get_patches`` counts the columns with the image's height.
    tile_size : int, default 128
        Must divide S.
    batch_size : int, default 16
        Tiles per forward pass.

    Returns
    -------
    ndarray
        (S, S, K) for a single image, (N, S, S, K) for a batch.

    Raises
    ------
    ValueError
        The images are not square, or `tile_size` does not divide them.

    Examples
    --------
    >>> class Identity:
    ...     def predict(self, tiles, **kwargs):
    ...         return tiles
    >>> images = np.random.default_rng(0).random((2, 64, 64, 1)).astype("float32")
    >>> result = predict_non_overlapping(Identity(), images, tile_size=32)
    >>> bool(np.allclose(result, images))
    True
    """
    images = np.asarray(images)
    single = images.ndim in (2, 3)
    batch = images.reshape((1, *images.shape[:2], -1)) if single else images
    if batch.ndim != 4 or batch.shape[1] != batch.shape[2]:
        raise ValueError(
            f"images must be square, (S, S), (S, S, C) or (N, S, S, C), got shape "
            f"{images.shape}. Fix: keras-unet's get_patches assumes square images; use "
            "predict_tiled for others."
        )
    tile = as_side(tile_size, "tile_size")
    side = batch.shape[1]
    if side % tile:
        raise ValueError(f"tile_size ({tile}) must divide the image side ({side}).")
    from helpers.runtime import _import_keras_unet

    _import_keras_unet()  # without the banner it prints on import
    from keras_unet.utils import get_patches, reconstruct_from_patches

    patches = get_patches(img_arr=batch, size=tile, stride=tile)
    predicted = model.predict(patches, batch_size=batch_size, verbose=0)
    result = reconstruct_from_patches(img_arr=predicted, org_img_size=(side, side), size=tile,
                                      stride=tile)
    return result[0] if single else result


def predict_with_flips(model, images: np.ndarray, *, batch_size: int = 1) -> np.ndarray:
    """Test-time augmentation: the mean prediction over the 8 flips and quarter turns.

    Each image is predicted in its 8 views (4 quarter turns, each also mirrored),
    each answer is turned back, and the 8 are averaged: one probability map, steadier
    than any one view, for 8 predictions instead of one. Introduced in notebook 01,
    section "6. Evaluation on the held-out test split"; the benchmarks measure it with
    and without.

    Parameters
    ----------
    model : keras.Model or callable
        A Keras model (anything with ``predict``), called as
        ``model.predict(view, batch_size=batch_size, verbose=0)``; or a function
        mapping a batch (N, h, w, C) to (N, h, w, K), e.g. one that calls
        `predict_tiled`.
    images : ndarray, shape (N, H, W, C)
        Non-square images work too: a quarter turn swaps H and W, which a fully
        convolutional model accepts.
    batch_size : int, default 1
        Images per forward pass of ``model.predict`` (not used with a function).

    Returns
    -------
    ndarray, shape (N, H, W, K)
        The mean of the 8 answers, each in the images' own orientation.

    Raises
    ------
    ValueError
        The images are not (N, H, W, C), or `batch_size` is not a positive int.

    Examples
    --------
    >>> images = np.random.default_rng(0).random((2, 8, 8, 1)).astype("float32")
    >>> bool(np.allclose(predict_with_flips(lambda batch: batch, images), images))
    True
    >>> row_index = lambda batch: np.broadcast_to(  # sees which way up each view is
    ...     np.arange(batch.shape[1], dtype="float32")[:, None, None], batch.shape[1:])[None]
    >>> predict_with_flips(row_index, np.zeros((1, 4, 4, 1)))[0, :, 0, 0].tolist()
    [1.5, 1.5, 1.5, 1.5]
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W, C), got {images.shape}. Fix: "
                         "for one image, pass image[np.newaxis].")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    if hasattr(model, "predict"):
        def forward(view):
            return model.predict(view, batch_size=batch_size, verbose=0)
    else:
        forward = model
    total = 0
    for turns in range(4):
        for mirror in (False, True):
            view = np.rot90(images, turns, axes=(1, 2))  # axes 1 and 2: height and width
            view = view[:, :, ::-1] if mirror else view
            answer = np.asarray(forward(np.ascontiguousarray(view)))
            answer = answer[:, :, ::-1] if mirror else answer
            total = total + np.rot90(answer, -turns, axes=(1, 2))  # turned back
    return total / 8


def tile_border_band(shape, *, tile_size: int = 128, width: int = 8) -> np.ndarray:
    """True within `width` pixels on either side of an internal border of a tile grid.

    A grid of `tile_size` tiles starting at 0 has its internal borders between
    pixels ``k * tile_size - 1`` and ``k * tile_size``; the band takes `width`
    pixels on each side of each, so with 128 and 8 it is rows (and columns) 120-135,
    248-263 and 376-391: the same number of pixels from each of the two tiles that
    meet there. Notebook 02 and ``benchmarks/bench_tiling.py`` measure seam errors
    in this band.

    Parameters
    ----------
    shape : (int, int)
        Height and width of the image.
    tile_size : int, default 128
    width : int, default 8
        Pixels on each side of a border; at most ``tile_size // 2``.

    Returns
    -------
    ndarray of bool, shape (height, width)

    Examples
    --------
    >>> band = tile_border_band((256, 256), tile_size=128, width=8)
    >>> np.flatnonzero(band[0]).tolist() == list(range(120, 136))
    True
    """
    height, width_px = as_pair(tuple(shape[:2]), "shape")
    tile = as_side(tile_size, "tile_size")
    if not isinstance(width, (int, np.integer)) or not 1 <= width <= tile // 2:
        raise ValueError(f"width must be an int from 1 to tile_size // 2 ({tile // 2}), "
                         f"got {width!r}.")

    def near(length):
        position = np.arange(length)
        band = np.zeros(length, dtype=bool)
        for border in range(tile, length, tile):
            band |= (position >= border - width) & (position < border + width)
        return band

    return near(height)[:, np.newaxis] | near(width_px)[np.newaxis, :]
