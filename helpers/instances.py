"""Nuclei as objects: one normalisation, three classes, instances, and object matching.

Introduced in notebook 03 ("Your own images"). A mask of nuclei is scored by
objects, not pixels: two nuclei that touch and come out as one are one miss and
one false detection, however few pixels are wrong. So the network learns three
classes (background, interior, and a thin boundary ring inside each nucleus),
the interiors of touching nuclei stay apart, and each interior grows back over its
ring by a seeded watershed. Objects are matched at IoU >= tau as the nucleus
segmentation field scores them (Caicedo et al. 2019, the 2018 Data Science Bowl).

The matching is StarDist's (``stardist.matching.matching``, the field's usual
implementation: the most pairs at IoU >= tau, ties broken by IoU), written here in a
few lines on SciPy's ``linear_sum_assignment`` rather than imported: StarDist
installs with the course's versions, but importing it rewrites
``warnings.formatwarning`` for the whole process and loads csbdeep, numba and its
plotting code. ``tests/test_instances.py`` checks that both count alike.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

__all__ = [
    "BOWL_THRESHOLDS",
    "INSTANCE_CLASSES",
    "Normalization",
    "labels_from_probabilities",
    "interval_table",
    "match_objects",
    "object_scores",
    "percentile_normalize",
    "training_targets",
]

#: The class channels of `training_targets` with ``classes=3``.
INSTANCE_CLASSES = ("background", "interior", "boundary")
#: The IoU thresholds of the Data Science Bowl's score: 0.5, 0.55, ..., 0.95.
BOWL_THRESHOLDS = tuple(round(0.5 + 0.05 * k, 2) for k in range(10))


# --------------------------------------------------------------------------- normalisation


def percentile_normalize(image, *, low: float = 1.0, high: float = 99.8,
                         clip: bool = True) -> np.ndarray:
    """Scale an image so that its `low` and `high` percentiles become 0 and 1.

    The normalisation of csbdeep and StarDist (``normalize(x, 1, 99.8)``), over all
    pixels and channels of the one image: 8-, 16- and 32-bit images, bright and dim
    fields all come out on one scale, and a few saturated pixels do not set it.
    With `clip` (the course's default, as its augmentation expects values in [0, 1])
    values beyond the percentiles are clipped.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
    low, high : float, default 1 and 99.8
        Percentiles, ``0 <= low < high <= 100``.
    clip : bool, default True

    Returns
    -------
    ndarray, float32, the shape of `image`
        A constant image becomes all 0.

    Examples
    --------
    >>> image = np.arange(101, dtype=np.uint16) * 100
    >>> normalized = percentile_normalize(image, low=0, high=100)
    >>> float(normalized.min()), float(normalized.max()), float(normalized[50])
    (0.0, 1.0, 0.5)
    """
    for name, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                or not 0 <= value <= 100:
            raise ValueError(f"{name} must be a percentile in [0, 100], got {value!r}.")
    if not low < high:
        raise ValueError(f"low must be below high, got low={low!r} and high={high!r}.")
    image = np.asarray(image, dtype=np.float32)
    if not np.isfinite(image).all():
        raise ValueError("image contains NaN or infinite values. Fix: np.nan_to_num(image).")
    lo, hi = np.percentile(image, (low, high))
    scaled = (image - np.float32(lo)) / np.float32(max(hi - lo, 1e-20))
    return np.clip(scaled, 0.0, 1.0) if clip else scaled.astype(np.float32)


class Normalization(NamedTuple):
    """The percentile normalisation of training, saved with the model and used again.

    One object is made once, in the notebook; training, validation, prediction and
    the exported model all call it (or its saved settings, `as_dict`), so no image
    is ever normalised another way.

    Examples
    --------
    >>> norm = Normalization()
    >>> norm
    Normalization(low=1.0, high=99.8, clip=True)
    >>> Normalization(**norm.as_dict()) == norm
    True
    >>> norm(np.array([[0, 10], [20, 30]])).shape
    (2, 2, 1)
    """

    low: float = 1.0
    high: float = 99.8
    clip: bool = True

    def __call__(self, image) -> np.ndarray:
        """The image normalised, as float32 (H, W, C) (a 2-D image gets C = 1)."""
        image = np.asarray(image)
        if image.ndim == 2:
            image = image[..., np.newaxis]
        return percentile_normalize(image, low=self.low, high=self.high, clip=self.clip)

    def as_dict(self) -> dict:
        """The settings, for a JSON file beside the model."""
        return {"low": float(self.low), "high": float(self.high), "clip": bool(self.clip)}


# --------------------------------------------------------------------------- classes


def _check_labels(labels, name: str = "labels") -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim == 3 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.ndim != 2 or labels.dtype.kind not in "iub":
        raise ValueError(f"{name} must be a 2-D integer label image (0 = background), got "
                         f"dtype {labels.dtype} and shape {labels.shape}.")
    if labels.size and labels.min() < 0:
        raise ValueError(f"{name} must not be negative, got a minimum of {labels.min()}.")
    return labels


def _boundary(labels: np.ndarray, width: int) -> np.ndarray:
    """The ring of each object within `width` pixels of another label or the background."""
    from skimage.segmentation import find_boundaries

    ring = np.zeros(labels.shape, bool)
    inner = labels.copy()
    for _ in range(width):
        # 'inner': an object's own pixels next to any other value; peeled one ring a pass.
        ring |= find_boundaries(inner, mode="inner") & (inner > 0)
        inner[ring] = 0
    return ring


def training_targets(labels, *, classes: int = 3, boundary_width: int = 2) -> np.ndarray:
    """What the network learns from an instance label image.

    Parameters
    ----------
    labels : ndarray, shape (H, W)
        0 = background, one integer per object (`helpers.load_folder`'s masks).
    classes : {3, 2}, default 3
        3: one-hot background, interior and boundary (`INSTANCE_CLASSES`), where the
        boundary is each object's own ring of `boundary_width` pixels next to the
        background or to another object, so that touching objects are kept apart by
        two rings. 2: one channel, 1 = any object (interior and boundary).
    boundary_width : int, default 2

    Returns
    -------
    ndarray, float32, shape (H, W, 3) or (H, W, 1)

    Examples
    --------
    Two 4 x 3 objects side by side: with a 1-pixel ring, only the two middle pixels
    of each are interior.

    >>> labels = np.zeros((6, 8), int); labels[1:5, 1:4] = 1; labels[1:5, 4:7] = 2
    >>> targets = training_targets(labels, boundary_width=1)
    >>> targets.shape, int(targets[..., 1].sum()), int(targets[..., 2].sum())
    ((6, 8, 3), 4, 20)
    >>> int(training_targets(labels, classes=2).sum())
    24
    """
    labels = _check_labels(labels)
    if classes not in (2, 3):
        raise ValueError(f"classes must be 3 (background, interior, boundary) or 2, "
                         f"got {classes!r}.")
    if isinstance(boundary_width, bool) or not isinstance(boundary_width, (int, np.integer)) \
            or boundary_width < 1:
        raise ValueError(f"boundary_width must be an int >= 1, got {boundary_width!r}.")
    if classes == 2:
        return (labels > 0).astype(np.float32)[..., np.newaxis]
    ring = _boundary(labels, boundary_width)
    index = np.where(ring, 2, np.where(labels > 0, 1, 0))
    return np.eye(3, dtype=np.float32)[index]


def _without_small(labels: np.ndarray, min_size: int) -> np.ndarray:
    """Objects of fewer than `min_size` pixels removed, the rest numbered 1..n again."""
    from skimage.segmentation import relabel_sequential

    if min_size > 1:
        small = np.bincount(labels.ravel()) < min_size
        small[0] = False
        labels = relabel_sequential(np.where(small[labels], 0, labels))[0]
    return labels.astype(np.int32)


def labels_from_probabilities(probabilities, *, threshold: float = 0.5,
                              method: str = "watershed", min_size: int = 0) -> np.ndarray:
    """Turn a network's output into a label image, one integer per object.

    Parameters
    ----------
    probabilities : ndarray, shape (H, W, 3) or (H, W, 1)
        Softmax over `INSTANCE_CLASSES`, or one sigmoid channel (any object).
    threshold : float, default 0.5
        Three classes: an interior pixel is one whose interior probability is above
        it; one sigmoid channel: an object pixel. Choose it on validation images.
    method : {"watershed", "components"}, default "watershed"
        Three classes only. "components": each connected interior is an object (the
        rings are left out, so objects come out too small by the ring); "watershed":
        those interiors are the seeds of a watershed on the interior probability,
        within the pixels more likely object than background, so each object gets
        its ring back and two that touch stay two. One channel: connected components.
    min_size : int, default 0
        Objects (seeds, with three classes) of fewer pixels are dropped.

    Returns
    -------
    ndarray, int32, shape (H, W)

    Examples
    --------
    Two touching squares whose interiors the network kept apart:

    >>> p = np.zeros((6, 10, 3), np.float32); p[..., 0] = 1
    >>> p[1:5, 1:9] = [0, 0, 1]                        # both objects: boundary...
    >>> p[2:4, 2:4] = p[2:4, 6:8] = [0, 1, 0]           # ...with two interiors
    >>> labels = labels_from_probabilities(p)
    >>> sorted(np.unique(labels).tolist()), int((labels > 0).sum())
    ([0, 1, 2], 32)
    >>> int(labels_from_probabilities(p[..., 2:] + p[..., 1:2]).max())  # one channel: merged
    1
    """
    from skimage.measure import label

    probabilities = np.asarray(probabilities, dtype=np.float32)
    if probabilities.ndim != 3 or probabilities.shape[-1] not in (1, 3):
        raise ValueError("probabilities must have shape (H, W, 3) (background, interior, "
                         f"boundary) or (H, W, 1), got {probabilities.shape}.")
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) \
            or not 0 <= threshold < 1:
        raise ValueError(f"threshold must lie in [0, 1), got {threshold!r}.")
    if method not in ("watershed", "components"):
        raise ValueError(f"method must be 'watershed' or 'components', got {method!r}.")
    if isinstance(min_size, bool) or not isinstance(min_size, (int, np.integer)) or min_size < 0:
        raise ValueError(f"min_size must be an int >= 0, got {min_size!r}.")
    if probabilities.shape[-1] == 1:
        return _without_small(label(probabilities[..., 0] > threshold, connectivity=1),
                              min_size)
    interior = probabilities[..., 1]
    seeds = _without_small(label(interior > threshold, connectivity=1), min_size)
    if method == "components":
        return seeds.astype(np.int32)
    from skimage.segmentation import watershed

    objects = probabilities[..., 0] < 0.5  # interior + boundary above background
    return watershed(-interior, seeds, mask=objects | (seeds > 0)).astype(np.int32)


# --------------------------------------------------------------------------- matching


def _iou_matrix(truth: np.ndarray, found: np.ndarray) -> np.ndarray:
    """IoU of every true object (rows, labels 1..) with every found object (columns)."""
    from skimage.segmentation import relabel_sequential

    truth = relabel_sequential(truth)[0]
    found = relabel_sequential(found)[0]
    n_true, n_found = int(truth.max()), int(found.max())
    overlap = np.bincount(truth.ravel().astype(np.int64) * (n_found + 1) + found.ravel(),
                          minlength=(n_true + 1) * (n_found + 1)).reshape(n_true + 1,
                                                                          n_found + 1)
    area_true = overlap.sum(axis=1, keepdims=True)
    area_found = overlap.sum(axis=0, keepdims=True)
    union = area_true + area_found - overlap
    return (overlap / np.maximum(union, 1))[1:, 1:]


class _Counts(NamedTuple):
    tp: int
    fp: int
    fn: int


def _matches(iou: np.ndarray, threshold: float) -> _Counts:
    from scipy.optimize import linear_sum_assignment

    n_true, n_found = iou.shape
    if n_true == 0 or n_found == 0:
        return _Counts(0, n_found, n_true)
    # One-to-one matching with the most pairs at IoU >= tau, and among those the largest
    # IoU: each pair is worth 1, plus its IoU scaled so that all of them add up to less
    # than 1 (StarDist's cost; above 0.5 a match is unique anyway: two objects cannot
    # both overlap one by more than half its union).
    worth = (iou >= threshold) + iou / (2 * min(n_true, n_found))
    rows, cols = linear_sum_assignment(-worth)
    tp = int(np.count_nonzero(iou[rows, cols] >= threshold))
    return _Counts(tp, n_found - tp, n_true - tp)


def match_objects(true_labels, predicted_labels, *, thresholds=BOWL_THRESHOLDS) -> dict:
    """Match the objects of two label images at IoU >= tau, one to one.

    Parameters
    ----------
    true_labels, predicted_labels : ndarray, shape (H, W)
        Label images (0 = background).
    thresholds : sequence of float, default `BOWL_THRESHOLDS`
        Each in (0, 1].

    Returns
    -------
    dict
        For each tau (a float key): ``{"tp", "fp", "fn", "precision", "recall", "f1",
        "ap"}``, where ``ap = tp / (tp + fp + fn)`` is the Data Science Bowl's
        "average precision" at tau (it counts misses, unlike the AP of detection
        benchmarks). With no object in either image every score is 1.

    Examples
    --------
    One object found well, one missed, one false detection:

    >>> truth = np.zeros((8, 8), int); truth[:3, :3] = 1; truth[5:, 5:] = 2
    >>> found = np.zeros((8, 8), int); found[:3, :2] = 1; found[5:, :2] = 2
    >>> scores = match_objects(truth, found, thresholds=(0.5, 0.9))
    >>> {tau: (s["tp"], s["fp"], s["fn"], round(s["ap"], 3)) for tau, s in scores.items()}
    {0.5: (1, 1, 1, 0.333), 0.9: (0, 2, 2, 0.0)}
    """
    truth = _check_labels(true_labels, "true_labels")
    found = _check_labels(predicted_labels, "predicted_labels")
    if truth.shape != found.shape:
        raise ValueError(f"true_labels and predicted_labels must have the same shape, got "
                         f"{truth.shape} and {found.shape}.")
    thresholds = tuple(float(t) for t in thresholds)
    if not thresholds or any(not 0 < t <= 1 for t in thresholds):
        raise ValueError(f"thresholds must be IoUs in (0, 1], got {thresholds!r}.")
    iou = _iou_matrix(truth, found)
    scores = {}
    for tau in thresholds:
        tp, fp, fn = _matches(iou, tau)
        both_empty = tp + fp + fn == 0
        scores[tau] = {
            "tp": tp, "fp": fp, "fn": fn,
            "precision": 1.0 if tp + fp == 0 and fn == 0 else tp / max(tp + fp, 1),
            "recall": 1.0 if tp + fn == 0 and fp == 0 else tp / max(tp + fn, 1),
            "f1": 1.0 if both_empty else 2 * tp / (2 * tp + fp + fn),
            "ap": 1.0 if both_empty else tp / (tp + fp + fn),
        }
    return scores


def object_scores(true_labels, predicted_labels, *, names=None):
    """Per image: F1 and AP at IoU 0.5, the Bowl's mean AP over 0.5 to 0.95, pixel IoU.

    Parameters
    ----------
    true_labels, predicted_labels : sequence of ndarray (H, W)
        Label images, pairwise of one shape (the images' sizes may differ).
    names : sequence of str, optional
        The table's index.

    Returns
    -------
    pandas.DataFrame
        Columns ``f1@0.5``, ``ap@0.5``, ``mean_ap`` (the mean of `match_objects`' AP
        over `BOWL_THRESHOLDS`, the Bowl's score of one image), ``pixel_iou`` (object
        pixels against background, 1 when both are empty), ``true_objects`` and
        ``found_objects``; one row per image.

    Examples
    --------
    >>> truth = np.zeros((8, 8), int); truth[:4, :4] = 1
    >>> object_scores([truth], [truth]).iloc[0].tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    import pandas as pd

    if len(true_labels) != len(predicted_labels):
        raise ValueError(f"true_labels and predicted_labels must pair one to one, got "
                         f"{len(true_labels)} and {len(predicted_labels)}.")
    rows = []
    for truth, found in zip(true_labels, predicted_labels, strict=True):
        scores = match_objects(truth, found)
        truth, found = np.asarray(truth), np.asarray(found)
        union = np.count_nonzero((truth > 0) | (found > 0))
        rows.append({
            "f1@0.5": scores[0.5]["f1"],
            "ap@0.5": scores[0.5]["ap"],
            "mean_ap": float(np.mean([scores[tau]["ap"] for tau in BOWL_THRESHOLDS])),
            "pixel_iou": np.count_nonzero((truth > 0) & (found > 0)) / union if union else 1.0,
            "true_objects": int(len(np.unique(truth[truth > 0]))),
            "found_objects": int(len(np.unique(found[found > 0]))),
        })
    return pd.DataFrame(rows, index=list(names) if names is not None else None)


def interval_table(scores, *, confidence: float = 0.95, n_resamples: int = 2000,
                   seed: int | None = 0):
    """Each column's mean over images, with its percentile bootstrap interval.

    The images are resampled with replacement (``scipy.stats.bootstrap``); with few
    test images the interval is wide, and two figures whose intervals overlap are
    not told apart by it.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per image, one column per measure (`object_scores`).
    confidence : float, default 0.95
    n_resamples : int, default 2000
    seed : int or None, default 0

    Returns
    -------
    pandas.DataFrame
        Index: the measures; columns ``mean``, ``low``, ``high``, ``images``.

    Examples
    --------
    >>> import pandas as pd
    >>> table = interval_table(pd.DataFrame({"f1@0.5": [0.5, 0.7, 0.9, 0.7]}))
    >>> float(table.loc["f1@0.5", "mean"]), bool(table.loc["f1@0.5", "low"] < 0.7)
    (0.7, True)
    """
    import pandas as pd
    from scipy.stats import bootstrap

    if len(scores) < 2:
        raise ValueError(f"interval_table needs at least 2 images, got {len(scores)}.")
    rows = {}
    for column in scores.columns:
        values = scores[column].to_numpy(dtype=np.float64)
        if np.ptp(values) == 0:  # all equal: nothing to resample
            low = high = float(values[0])
        else:
            result = bootstrap((values,), np.mean, confidence_level=confidence,
                               n_resamples=n_resamples, method="percentile",
                               rng=np.random.default_rng(seed))
            low, high = (float(result.confidence_interval.low),
                         float(result.confidence_interval.high))
        rows[column] = {"mean": float(values.mean()), "low": low, "high": high,
                        "images": len(values)}
    return pd.DataFrame(rows).T.astype({"images": int})
