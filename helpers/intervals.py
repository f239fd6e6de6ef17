"""Bootstrap confidence intervals for test figures, resampled over test tiles.

To be taught in notebook 02 (figures with their uncertainty); the main test
tables of both notebooks are to carry them. Three test images are few: a
figure measured on them moves when other images are drawn. The bootstrap
estimates by how much, from the test set itself: cut the test images into
tiles, score each tile, then draw as many tiles again with replacement, many
times, and see where the mean falls (Efron and Tibshirani, *An Introduction
to the Bootstrap*, 1993, chapter 13, the percentile interval). Tiles of one
image are not independent, so the interval is, if anything, too narrow: read
it as the least uncertainty there is.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from helpers import challenge, metrics
from helpers._checks import as_pair

__all__ = ["Interval", "bootstrap_interval"]

METRICS = ("pixel_error", "rand_error", "variation_of_information", "v_rand", "v_info")


class Interval(NamedTuple):
    """A figure and its bootstrap confidence interval.

    Attributes
    ----------
    estimate : float
        The mean over the tiles (for pixel error, the pixel error of all of them).
    low, high : float
        The interval's bounds.
    confidence : float
        For example 0.95.
    tiles : int
        How many tiles were resampled.
    """

    estimate: float
    low: float
    high: float
    confidence: float
    tiles: int

    def __str__(self) -> str:
        return (f"{self.estimate:.4f} ({self.confidence:.0%} interval "
                f"{self.low:.4f} to {self.high:.4f}, {self.tiles} tiles)")


def _tiles(array: np.ndarray, tile_size, name: str) -> np.ndarray:
    """(N, H, W[, C]) cut into non-overlapping (th, tw) tiles: (N * H/th * W/tw, th, tw[, C])."""
    tile_h, tile_w = as_pair(tile_size, "tile_size")
    n, height, width = array.shape[:3]
    if height % tile_h or width % tile_w:
        raise ValueError(
            f"tile_size {(tile_h, tile_w)} must divide the {name}' height and width "
            f"{(height, width)} exactly. Fix: choose a divisor, e.g. {height // 4} for 4 tiles "
            "a side."
        )
    rest = array.shape[3:]
    tiles = array.reshape(n, height // tile_h, tile_h, width // tile_w, tile_w, *rest)
    return tiles.swapaxes(2, 3).reshape(-1, tile_h, tile_w, *rest)


def bootstrap_interval(masks, predictions, *, metric="pixel_error", tile_size=None,
                       threshold: float = 0.5, confidence: float = 0.95,
                       n_resamples: int = 2000, seed: int | None = 0) -> Interval:
    """A figure over test tiles, with its percentile bootstrap confidence interval.

    To be taught in notebook 02 (figures with their uncertainty). Each tile is
    scored once; then `n_resamples` times, as many tiles are drawn with
    replacement and their mean taken. The interval holds the central
    `confidence` share of those means. Choose `threshold` on validation data,
    never on the test tiles themselves.

    Parameters
    ----------
    masks : ndarray, shape (N, H, W, 1) or (N, H, W)
        Ground truth, 1 = cell interior.
    predictions : ndarray, the shape of `masks`
        Probabilities (or 0/1 predictions).
    metric : {"pixel_error", "rand_error", "variation_of_information", "v_rand", "v_info"} \
or callable
        A measure of `helpers.metrics` or `helpers.challenge` (V_rand and V_info at
        `threshold`, higher is better), or a function ``f(masks, predictions,
        threshold=...) -> float`` scoring one tile (given with a batch axis of 1).
    tile_size : int or (int, int), optional
        Cut each image into non-overlapping tiles of this size first (it must
        divide the image). Default: each image is one tile. For the Rand error
        and VI, a cell cut by a tile's edge counts as two cells, so the figure
        on tiles is not the figure on whole images: compare like with like.
    threshold : float, default 0.5
    confidence : float, default 0.95
    n_resamples : int, default 2000
    seed : int or None, default 0
        Seeds the resampling, so that a notebook shows the same interval each run.

    Returns
    -------
    Interval
        ``(estimate, low, high, confidence, tiles)``.

    Raises
    ------
    ValueError
        If the arrays do not pair, fewer than 2 tiles result, or an option is out
        of range.

    Examples
    --------
    Two tiles, with pixel errors 0 and 0.5: resampling two tiles gives means of
    0, 0.25 and 0.5, so the 95% interval runs from 0 to 0.5.

    >>> masks = np.ones((2, 2, 2, 1))
    >>> predictions = np.ones((2, 2, 2, 1))
    >>> predictions[1, 0] = 0
    >>> bootstrap_interval(masks, predictions)
    Interval(estimate=0.25, low=0.0, high=0.5, confidence=0.95, tiles=2)
    """
    masks, predictions = np.asarray(masks), np.asarray(predictions)
    if masks.shape != predictions.shape or masks.ndim not in (3, 4):
        raise ValueError(
            "masks and predictions must have the same shape, (N, H, W, 1) or (N, H, W), got "
            f"{masks.shape} and {predictions.shape}."
        )
    if callable(metric):
        score = metric
    elif isinstance(metric, str) and metric in METRICS:
        score = getattr(challenge if metric.startswith("v_") else metrics, metric)
    else:
        raise ValueError(f"metric must be one of {', '.join(METRICS)} or a function, "
                         f"got {metric!r}.")
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real) \
            or not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}.")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) \
            or n_resamples < 100:
        raise ValueError(f"n_resamples must be an int >= 100, got {n_resamples!r}.")
    if tile_size is not None:
        masks = _tiles(masks, tile_size, "masks")
        predictions = _tiles(predictions, tile_size, "predictions")
    if len(masks) < 2:
        raise ValueError(
            f"bootstrap_interval needs at least 2 tiles to resample, got {len(masks)}. "
            "Fix: pass several images, or set tile_size to cut them into tiles."
        )
    values = np.array([score(m[np.newaxis], p[np.newaxis], threshold=threshold)
                       for m, p in zip(masks, predictions, strict=True)], dtype=np.float64)
    # The draws of scipy.stats.bootstrap(method="percentile") with the same generator
    # (tests/test_intervals.py checks the bounds agree), written out because SciPy's
    # input checks cost about 1 ms a call: 1.3x the time of a pixel error on 3 images.
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (n_resamples, len(values)))].mean(axis=1)
    low, high = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return Interval(float(values.mean()), float(low), float(high), float(confidence),
                    len(values))
