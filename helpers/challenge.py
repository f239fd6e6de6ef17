"""The ISBI 2012 challenge's own measures, computed as its scoring code computes them.

Introduced in notebook 02, section "7. Evaluation in depth". The challenge scores a map
of P(interior) against the true labels over thresholds 0, 0.1, ..., 1 and reports, for
each measure, the best threshold's figure:

- `v_rand` and `v_info`: the foreground-restricted Rand and information-theoretic
  scores after border thinning (1 is perfect), by which today's leaderboard is sorted;
- `isbi_pixel_error` and `isbi_rand_error`: the older scores (0 is perfect) of the U-Net
  paper's table 1, each 1 - a maximal F-score.

What each computes follows the challenge's evaluation page and its reference
implementation, Fiji's Trainable Segmentation (``trainableSegmentation.metrics``:
``PixelError.getPixelErrorMaximalFScore``, ``RandError.getMaximalVRandAfterThinning``,
``RandError.getForegroundRestrictedRandIndexMaximalFScore`` and
``VariationOfInformation.getMaximalVInfoAfterThinning``), and I. Arganda-Carreras et
al., "Crowdsourcing the creation of image segmentation algorithms for connectomics",
Front. Neuroanat. 9:142 (2015). Per image and threshold ``t``:

1. True cells are the 4-connected regions of mask interior; a probability ``> t`` is
   predicted interior (the challenge's strict ``>``).
2. The predicted regions are the 4-connected regions of predicted interior or, for the
   *thinned* scores, the basins of a 4-connected watershed of the predicted border, so
   that every border is one pixel wide whatever its drawn width.
3. Foreground restriction: only pixels inside true cells count, and each predicted
   border pixel among them is a region of its own (a singleton), never one big region.

The maximum over thresholds picks the threshold on the very images it scores, as the
challenge did; to report a figure honestly, choose the threshold on validation images
and pass it as ``threshold=``.

Where this differs from the reference implementation: the thinning uses scikit-image's
watershed, which breaks ties between two basins that reach a border pixel at the same
flooding step in its own order. The two can place a one-pixel watershed line on either
side of a two-pixel-thick border, which moves a figure by a few pixels' share. Checked
against the reference's own output (compiled from Fiji's source) on 24 ISBI 2012 slices
in 8 stacks, with noisy, thickened and thinned predictions: the best V_rand and V_info
agreed within 1e-4, each threshold's within 0.0015, and the two old errors exactly. On
small images a single tie weighs more: up to 0.003 at one threshold on 128 x 128 crops.
Pair counts are integers here; the reference sums fractions, which differ in the last
bits.
"""

from __future__ import annotations

import inspect
import numbers

import numpy as np

__all__ = [
    "ISBI_THRESHOLDS",
    "isbi_pixel_error",
    "isbi_rand_error",
    "isbi_scores",
    "v_info",
    "v_rand",
]


def _challenge_grid() -> tuple[float, ...]:
    # The scoring code steps ``t += 0.1`` from 0 while ``t <= 1``: eleven thresholds, the
    # last of them 0.9999999999999999, so that a probability of exactly 1 is still interior.
    grid, t = [], 0.0
    while t <= 1.0:
        grid.append(t)
        t += 0.1
    return tuple(grid)


ISBI_THRESHOLDS = _challenge_grid()
"""The challenge's thresholds: 0 to 1 in steps of 0.1, accumulated as its code does."""

_CROSS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)  # 4-connectivity

MEASURES = ("v_rand", "v_info", "pixel_error", "rand_error")


def _images(masks, probabilities) -> tuple[np.ndarray, np.ndarray]:
    """Validated (N, H, W) boolean truth and float probabilities."""
    arrays = []
    for name, value in (("masks", masks), ("probabilities", probabilities)):
        array = np.asarray(value)
        if array.dtype != bool and not np.issubdtype(array.dtype, np.number):
            raise ValueError(f"{name} must be numeric, got dtype {array.dtype}.")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ValueError(f"{name} contains NaN or infinite values.")
        if array.ndim in (3, 4) and array.shape[-1] == 1:
            array = array[..., 0]
        if array.ndim == 2:
            array = array[np.newaxis]
        if array.ndim != 3:
            raise ValueError(
                f"{name} must be one image (H, W[, 1]) or a batch (N, H, W[, 1]) with one "
                f"channel, the probability of interior; got shape {np.shape(value)}."
            )
        arrays.append(array)
    truth, probs = arrays
    if truth.shape != probs.shape:
        raise ValueError(f"masks and probabilities must cover the same pixels, got shapes "
                         f"{np.shape(masks)} and {np.shape(probabilities)}.")
    if not truth.any(axis=(1, 2)).all():
        empty = int(np.flatnonzero(~truth.any(axis=(1, 2)))[0])
        raise ValueError(
            f"masks: image {empty} has no cell interior, so there is nothing to score "
            "(the challenge's measures count only pixels inside true cells). Fix: leave "
            "such images or tiles out."
        )
    return truth > 0.5, probs.astype(np.float64, copy=False)


def _threshold(value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"threshold must be a number in [0, 1], or None for the "
                         f"challenge's maximum over thresholds; got {value!r}.")
    return float(value)


def _cells(binary: np.ndarray) -> np.ndarray:
    from skimage.measure import label

    return label(binary, background=0, connectivity=1)


def _thinned_regions(interior: np.ndarray) -> np.ndarray:
    """Basins of a 4-connected watershed of the border: borders one pixel wide (label 0).

    Each region of predicted interior seeds a basin, which floods the border around it;
    border pixels that two basins reach together stay 0. A patch of border that touches
    no interior becomes a basin of its own, as in the reference implementation.
    """
    from skimage.segmentation import watershed

    seeds = _cells(interior)
    regions = watershed(np.zeros(interior.shape, np.uint8), seeds, connectivity=1,
                        watershed_line=True)
    # A patch of border with no interior beside it, which no basin reaches.
    if not interior.all():
        from scipy.ndimage import binary_dilation

        border = _cells(~interior)
        beside_interior = binary_dilation(interior, structure=_CROSS) & ~interior
        lonely = ~interior & ~np.isin(border, np.unique(border[beside_interior]))
        if lonely.any():
            _, patches = np.unique(border[lonely], return_inverse=True)
            regions[lonely] = regions.max() + 1 + patches
    return regions


def _sums(true_cells: np.ndarray, regions: np.ndarray) -> dict:
    """The foreground-restricted contingency of one image, as pixel counts.

    ``joint`` holds n_ij for true cells i > 0 and predicted regions j > 0, ``rows`` the
    sizes a_i of the true cells, ``cols`` b_j (the part of region j inside true cells),
    and ``singletons`` the predicted border pixels inside true cells.
    """
    inside = true_cells > 0
    if not inside.any():
        empty = np.zeros(0)
        return {"joint": empty, "rows": empty, "cols": empty, "singletons": 0, "n": 0}
    t, p = true_cells[inside].astype(np.int64), regions[inside].astype(np.int64)
    singletons = int(np.count_nonzero(p == 0))
    keep = p > 0
    pairs = t[keep] * (int(p.max()) + 1) + p[keep]
    joint = np.unique(pairs, return_counts=True)[1].astype(np.float64)
    rows = np.bincount(t)[1:].astype(np.float64)
    cols = np.bincount(p[keep])[1:].astype(np.float64)
    return {"joint": joint, "rows": rows[rows > 0], "cols": cols[cols > 0],
            "singletons": singletons, "n": int(inside.sum())}


def _rand_counts(s: dict) -> tuple[float, float, float]:
    """(TP, FP, FN) of pixel pairs; a singleton pairs only with itself."""
    tp = float(np.sum(s["joint"] ** 2)) + s["singletons"]
    fp = float(np.sum(s["cols"] ** 2)) + s["singletons"] - tp
    fn = float(np.sum(s["rows"] ** 2)) - tp
    return tp, fp, fn


def _f_score(tp: float, fp: float, fn: float) -> float:
    """F-score as the reference implementation's ClassificationStatistics computes it."""
    precision = 1.0 if fp == 0 else tp / (tp + fp)
    recall = 1.0 if fn == 0 else tp / (tp + fn)
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def _entropy(counts: np.ndarray, n: int) -> float:
    p = counts[counts > 0] / n
    return float(-np.sum(p * np.log(p)))


def _info_f(s: dict) -> float:
    """Information-theoretic F-score, in nats: 2 I(A; B) / (H(A) + H(B)).

    H(A) is the entropy of the true cells, H(B) of the predicted regions with each
    singleton a region of its own. As in the reference, a side with zero entropy (one
    cell) scores 0.
    """
    n = s["n"]
    singles = s["singletons"] * np.log(n) / n  # each singleton: p log(1/p) with p = 1/n
    h_true = _entropy(s["rows"], n)
    h_pred = _entropy(s["cols"], n) + singles
    h_joint = _entropy(s["joint"], n) + singles
    if h_true == 0 or h_pred == 0:
        return 0.0
    information = h_true + h_pred - h_joint
    precision, recall = information / h_true, information / h_pred
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def _scores_at(truth, probs, threshold: float, wanted) -> dict:
    """The wanted measures at one threshold, over a batch of images."""
    out = {}
    interior = probs > threshold
    if "pixel_error" in wanted:  # counts pooled over the images, as in the reference
        tp = np.count_nonzero(interior & truth)
        fp = np.count_nonzero(interior & ~truth)
        fn = np.count_nonzero(~interior & truth)
        out["pixel_error"] = float(1 - _f_score(tp, fp, fn))
    need_thin = {"v_rand", "v_info"} & set(wanted)
    per_image = {"v_rand": [], "v_info": []}
    pooled = np.zeros(3)
    for true_image, predicted in zip(truth, interior, strict=True):
        true_cells = _cells(true_image)
        if "rand_error" in wanted:  # plain regions, counts pooled over the images
            pooled += _rand_counts(_sums(true_cells, _cells(predicted)))
        if need_thin:  # thinned, scores averaged over the images
            s = _sums(true_cells, _thinned_regions(predicted))
            per_image["v_rand"].append(_f_score(*_rand_counts(s)))
            if "v_info" in wanted:
                per_image["v_info"].append(_info_f(s))
    if "rand_error" in wanted:
        out["rand_error"] = float(1 - _f_score(*pooled))
    for name in need_thin:
        out[name] = float(np.mean(per_image[name]))
    return out


def isbi_scores(masks, probabilities, *, thresholds=ISBI_THRESHOLDS):
    """All four challenge measures at each threshold: the table the maxima come from.

    Parameters
    ----------
    masks : array_like, shape (H, W[, 1]) or (N, H, W[, 1])
        True masks, 1 = cell interior, 0 = membrane.
    probabilities : array_like, the shape of `masks`
        Predicted P(interior); a value ``> threshold`` is interior.
    thresholds : sequence of float, default `ISBI_THRESHOLDS`
        Each in [0, 1].

    Returns
    -------
    pandas.DataFrame
        One row per threshold: ``threshold``, ``v_rand``, ``v_info`` (higher is better),
        ``pixel_error`` and ``rand_error`` (lower is better), each as the functions of
        the same names compute it at that threshold.

    Examples
    --------
    >>> truth = np.ones((5, 9))
    >>> truth[:, 4] = 0
    >>> isbi_scores(truth, truth, thresholds=[0.5]).round(3).to_dict("records")
    [{'threshold': 0.5, 'v_rand': 1.0, 'v_info': 1.0, 'pixel_error': 0.0, 'rand_error': 0.0}]
    """
    import pandas as pd

    truth, probs = _images(masks, probabilities)
    rows = []
    for t in thresholds:
        scores = _scores_at(truth, probs, _threshold(t), MEASURES)
        rows.append({"threshold": float(t), **{name: scores[name] for name in MEASURES}})
    return pd.DataFrame(rows, columns=["threshold", *MEASURES])


def _measure(name, masks, probabilities, threshold, higher_is_better):
    truth, probs = _images(masks, probabilities)
    if threshold is not None:
        return _scores_at(truth, probs, _threshold(threshold), (name,))[name]
    best, best_t = None, ISBI_THRESHOLDS[0]
    for t in ISBI_THRESHOLDS:
        # Scored as an F-score; the first threshold that reaches the best one is kept.
        score = _scores_at(truth, probs, t, (name,))[name]
        goodness = score if higher_is_better else 1 - score
        if best is None or goodness > best:
            best, best_t = goodness, t
    return (best if higher_is_better else 1 - best), best_t


_PARAMETERS = """
    Parameters
    ----------
    masks : array_like, shape (H, W[, 1]) or (N, H, W[, 1])
        True masks, 1 = cell interior, 0 = membrane. Every image needs some interior.
    probabilities : array_like, the shape of `masks`
        Predicted P(interior); a value ``> threshold`` is interior.
    threshold : float in [0, 1], optional
        Score at this threshold (one chosen on validation images). Default: the
        challenge's maximum over `ISBI_THRESHOLDS`.

    Returns
    -------
    float, or (float, float)
        With `threshold`, the figure; without, ``(figure, threshold)``: the best figure
        over the challenge's thresholds and the first threshold that reached it.

    Raises
    ------
    ValueError
        If the inputs do not pair, an image has no true interior, or `threshold` is out
        of range.
"""


def v_rand(masks, probabilities, *, threshold=None):
    """V_rand (thinned): the challenge's foreground-restricted Rand score, 1 is perfect.

    The F-score of Rand precision and recall over pairs of pixels inside true cells,
    after border thinning: two pixels pair when they lie in the same cell (truth) or
    the same region (prediction). A gap in a membrane merges two cells and costs much;
    a border drawn too thick costs almost nothing, since it is thinned first. Averaged
    over images (each image's score, then the mean).
    """
    return _measure("v_rand", masks, probabilities, threshold, True)


def v_info(masks, probabilities, *, threshold=None):
    """V_info (thinned): the challenge's information-theoretic score, 1 is perfect.

    2 I(A; B) / (H(A) + H(B)) for the true cells A and the thinned predicted regions B,
    over pixels inside true cells (entropies in nats; the ratio has no unit). Averaged
    over images.
    """
    return _measure("v_info", masks, probabilities, threshold, True)


def isbi_pixel_error(masks, probabilities, *, threshold=None):
    """The challenge's old pixel error: 1 - the maximal F-score of pixel similarity.

    Interior is the positive class; true positives, false positives and false negatives
    are counted over all images together. This is the unit of the U-Net paper's 0.0611
    (table 1), not the fraction of wrong pixels that `helpers.pixel_error` gives.
    """
    return _measure("pixel_error", masks, probabilities, threshold, False)


def isbi_rand_error(masks, probabilities, *, threshold=None):
    """The challenge's old Rand error: 1 - the maximal foreground-restricted Rand F-score.

    As `v_rand` but without thinning (predicted regions are the 4-connected regions of
    predicted interior, so a thick border costs more) and with pair counts pooled over
    images. The unit of the U-Net paper's Rand error of 0.0382 (table 1).
    """
    return _measure("rand_error", masks, probabilities, threshold, False)


# Both parts dedented first: Python 3.13 strips a docstring's indentation when it
# compiles it, so an indented tail appended as it is would stay indented.
for _function in (v_rand, v_info, isbi_pixel_error, isbi_rand_error):
    _function.__doc__ = (inspect.cleandoc(_function.__doc__) + "\n\n"
                         + inspect.cleandoc(_PARAMETERS))
