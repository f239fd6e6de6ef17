"""Segmentation measures in NumPy: the simple ones first, then cells rather than pixels.

Introduced in notebook 01, section "Evaluation"; notebook 02 goes deeper
(section "7. Evaluation in depth": `split_merge_counts`, `worst_tiles`, and the ISBI
2012 challenge's own measures, which live in `helpers.challenge`). `pixel_error`,
`rand_error` and `variation_of_information` score one thresholded prediction; the
challenge's figures are different quantities (each a best F-score over thresholds).

Conventions: for the binary ISBI task, masks and probabilities have one channel
(or none) and 1 means cell interior, 0 membrane. Probabilities are thresholded
at `threshold` (``>=`` is interior). For several classes, the last axis holds
one-hot masks or softmax probabilities (summing to 1), and the class is the
arg-max.
"""

from __future__ import annotations

import numpy as np

from helpers.challenge import v_info, v_rand

__all__ = [
    "BINARY_CLASSES",
    "dice_per_class",
    "evaluate",
    "iou_per_class",
    "membrane_edge_band",
    "pixel_error",
    "rand_error",
    "split_merge_counts",
    "threshold_sweep",
    "variation_of_information",
    "worst_tiles",
]

BINARY_CLASSES = ("membrane", "interior")


def _labels(array: np.ndarray, threshold: float, name: str) -> np.ndarray:
    """Class index per pixel from a mask, probabilities, one-hot or softmax."""
    array = np.asarray(array)
    if not np.issubdtype(array.dtype, np.number) and array.dtype != bool:
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}.")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    if array.ndim >= 3 and array.shape[-1] > 1:
        if np.allclose(array.sum(axis=-1), 1.0, atol=1e-3):  # one-hot or softmax
            return np.argmax(array, axis=-1)
        return (array >= threshold).astype(np.int64)  # binary (N, H, W) without a channel axis
    if array.ndim >= 3 and array.shape[-1] == 1:
        array = array[..., 0]
    return (array >= threshold).astype(np.int64)


def _pair(masks, predictions, threshold):
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold}.")
    truth = _labels(masks, 0.5, "masks")
    guess = _labels(predictions, threshold, "predictions")
    if truth.shape != guess.shape:
        raise ValueError(
            f"masks and predictions must cover the same pixels, got shapes "
            f"{np.shape(masks)} and {np.shape(predictions)}."
        )
    return truth, guess


def pixel_error(masks, predictions, *, threshold: float = 0.5) -> float:
    """Fraction of pixels whose class is wrong.

    The plainest measure, and not the ISBI 2012 challenge's "pixel error", which is
    1 - the best F-score of interior pixels over thresholds (`helpers.isbi_pixel_error`,
    the unit of the U-Net paper's 0.0611).

    Parameters
    ----------
    masks, predictions : array_like
        True masks and predicted probabilities (or masks) of the same pixels: see the
        conventions at the top of this module.
    threshold : float, default 0.5
        In [0, 1]; a probability ``>= threshold`` is interior.

    Returns
    -------
    float

    Examples
    --------
    >>> pixel_error(np.array([[1, 1, 0, 0]]), np.array([[0.9, 0.4, 0.1, 0.6]]))
    0.5
    """
    truth, guess = _pair(masks, predictions, threshold)
    return float(np.mean(truth != guess))


def _class_names(n_classes: int, class_names):
    if class_names is not None:
        if len(class_names) != n_classes:
            raise ValueError(f"class_names must name {n_classes} classes, got {class_names!r}.")
        return tuple(class_names)
    return BINARY_CLASSES if n_classes == 2 else tuple(f"class {k}" for k in range(n_classes))


def _overlaps(masks, predictions, threshold, num_classes):
    truth, guess = _pair(masks, predictions, threshold)
    k = max(2, num_classes or 0, int(truth.max()) + 1, int(guess.max()) + 1)
    confusion = np.bincount(truth.ravel() * k + guess.ravel(), minlength=k * k).reshape(k, k)
    intersection = np.diag(confusion).astype(np.float64)
    true_count = confusion.sum(axis=1)
    guess_count = confusion.sum(axis=0)
    return k, intersection, true_count, guess_count


def iou_per_class(masks, predictions, *, threshold=0.5, num_classes=None, class_names=None):
    """Intersection over union for each class, over all pixels given.

    A class absent from both the truth and the prediction scores 1.

    Parameters
    ----------
    masks, predictions, threshold
        As for `pixel_error`; several classes are read as the module's conventions say.
    num_classes : int, optional
        At least this many classes (default: as many as the data show, at least 2).
    class_names : sequence of str, optional
        One name per class; default ``membrane, interior`` for two classes.

    Returns
    -------
    dict of str -> float
        Keys ``membrane`` and ``interior`` for binary masks.

    Examples
    --------
    >>> iou_per_class(np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0]))
    {'membrane': 0.6666666666666666, 'interior': 0.5}
    """
    k, intersection, true_count, guess_count = _overlaps(masks, predictions, threshold,
                                                         num_classes)
    union = true_count + guess_count - intersection
    scores = np.where(union > 0, intersection / np.maximum(union, 1), 1.0)
    return dict(zip(_class_names(k, class_names), scores.tolist(), strict=True))


def dice_per_class(masks, predictions, *, threshold=0.5, num_classes=None, class_names=None):
    """Dice coefficient (F1) for each class, over all pixels given.

    A class absent from both scores 1.

    Parameters
    ----------
    masks, predictions, threshold, num_classes, class_names
        As for `iou_per_class`.

    Returns
    -------
    dict of str -> float

    Examples
    --------
    >>> dice_per_class(np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0]))
    {'membrane': 0.8, 'interior': 0.6666666666666666}
    """
    k, intersection, true_count, guess_count = _overlaps(masks, predictions, threshold,
                                                         num_classes)
    total = true_count + guess_count
    scores = np.where(total > 0, 2 * intersection / np.maximum(total, 1), 1.0)
    return dict(zip(_class_names(k, class_names), scores.tolist(), strict=True))


def _segments(binary: np.ndarray) -> np.ndarray:
    """Cells as connected regions of interior pixels; membrane is label 0."""
    from skimage.measure import label

    return label(binary, background=0, connectivity=1)


def _per_image(masks, predictions, threshold):
    truth, guess = _pair(masks, predictions, threshold)
    if truth.ndim == 2:
        truth, guess = truth[np.newaxis], guess[np.newaxis]
    if truth.ndim != 3:
        raise ValueError(
            f"masks must be one image (H, W[, 1]) or a batch (N, H, W[, 1]), got {np.shape(masks)}."
        )
    return truth, guess


def _region_sums(truth, guess):
    """Per image, the challenge's foreground-restricted contingency (see helpers.challenge)."""
    from helpers.challenge import _sums

    return [_sums(_segments(t), _segments(g)) for t, g in zip(truth, guess, strict=True)]


def rand_error(masks, predictions, *, threshold: float = 0.5) -> float:
    """Foreground-restricted Rand error at one threshold, averaged over images.

    1 - the F-score of Rand precision and recall over pairs of pixels inside true
    cells, with the ISBI 2012 challenge's singleton rule: cells are the 4-connected
    regions of interior, ground-truth membrane is ignored, and each predicted membrane
    pixel inside a true cell is a region of its own (so a wall drawn too thick costs a
    little, not a merge of every cell). 0 is a perfect split into cells. A one-pixel
    gap in a membrane merges two cells, so this punishes what pixel error hardly
    notices. It is the challenge's old Rand error before its maximum over thresholds
    (`helpers.isbi_rand_error` takes that maximum, with counts pooled over images);
    there is no border thinning (`helpers.v_rand` thins).

    Parameters
    ----------
    masks, predictions, threshold
        As for `pixel_error`, for one image (H, W[, 1]) or a batch (N, H, W[, 1]).

    Returns
    -------
    float

    Examples
    --------
    Two cells of 4 x 2 pixels; the prediction leaves a gap in the wall between them,
    so one region spans both: precision 1/2, recall 1, F-score 2/3.

    >>> truth = np.array([[1, 1, 0, 1, 1]] * 4)
    >>> leaky = np.ones((4, 5))
    >>> rand_error(truth, truth), round(rand_error(truth, leaky), 4)
    (0.0, 0.3333)
    """
    from helpers.challenge import _f_score, _rand_counts

    truth, guess = _per_image(masks, predictions, threshold)
    errors = [1 - _f_score(*_rand_counts(s)) if s["n"] else 0.0
              for s in _region_sums(truth, guess)]
    return float(np.mean(errors))


def variation_of_information(masks, predictions, *, threshold: float = 0.5) -> float:
    """Variation of information between cell segmentations, in bits, averaged over images.

    H(truth | prediction) + H(prediction | truth): the information, in bits (base-2
    logarithms, as scikit-image's `variation_of_information`), that a merge loses and
    a split adds. Only pixels inside true cells count, and each predicted membrane pixel
    there is a region of its own, with the same rule as `rand_error`. 0 is perfect.

    Parameters
    ----------
    masks, predictions, threshold
        As for `rand_error`.

    Returns
    -------
    float, in bits

    Examples
    --------
    Two equal cells merged into one region: knowing the region leaves one bit (which
    of the two cells) unknown.

    >>> truth = np.array([[1, 1, 0, 1, 1]] * 4)
    >>> variation_of_information(truth, truth), variation_of_information(truth, np.ones((4, 5)))
    (0.0, 1.0)
    """
    from helpers.challenge import _entropy

    truth, guess = _per_image(masks, predictions, threshold)
    values = []
    for s in _region_sums(truth, guess):
        if not s["n"]:
            values.append(0.0)
            continue
        singles = s["singletons"] * np.log(s["n"]) / s["n"]
        joint = _entropy(s["joint"], s["n"]) + singles
        true_entropy = _entropy(s["rows"], s["n"])
        predicted_entropy = _entropy(s["cols"], s["n"]) + singles
        values.append((2 * joint - true_entropy - predicted_entropy) / np.log(2))
    return float(np.mean(values))


def evaluate(masks, probabilities, *, threshold: float = 0.5, per_image: bool = False):
    """All the binary measures at once.

    Parameters
    ----------
    masks, probabilities : array_like, shape (N, H, W[, 1])
        True masks and predicted probabilities of interior.
    threshold : float, default 0.5
    per_image : bool, default False
        One row per image instead of one figure over all pixels.

    Returns
    -------
    dict of str -> float, or pandas.DataFrame with one row per image when `per_image`.
        pixel_error, iou_membrane, iou_interior, dice_membrane, dice_interior,
        rand_error, variation_of_information (bits), and the challenge's v_rand and
        v_info (thinned) at this threshold (`helpers.v_rand`, `helpers.v_info`; there a
        probability above `threshold` is interior). Every image needs some true interior.

    Raises
    ------
    ValueError
        The inputs do not fit (see `pixel_error`); with `per_image`, also when `masks`
        and `probabilities` hold different numbers of images.

    Examples
    --------
    >>> truth = np.array([[[1, 1, 0, 1]]])
    >>> evaluate(truth, truth)["pixel_error"]
    0.0
    """
    def measures(truth, guess):
        iou = iou_per_class(truth, guess, threshold=threshold)
        dice = dice_per_class(truth, guess, threshold=threshold)
        return {
            "pixel_error": pixel_error(truth, guess, threshold=threshold),
            "iou_membrane": iou["membrane"],
            "iou_interior": iou["interior"],
            "dice_membrane": dice["membrane"],
            "dice_interior": dice["interior"],
            "rand_error": rand_error(truth, guess, threshold=threshold),
            "variation_of_information": variation_of_information(truth, guess,
                                                                 threshold=threshold),
            "v_rand": v_rand(truth, guess, threshold=threshold),
            "v_info": v_info(truth, guess, threshold=threshold),
        }

    if not per_image:
        return measures(masks, probabilities)
    import pandas as pd

    masks, probabilities = np.asarray(masks), np.asarray(probabilities)
    if len(masks) != len(probabilities):
        raise ValueError(
            f"per_image=True: masks and probabilities must hold the same number of images, "
            f"got {len(masks)} and {len(probabilities)}."
        )
    rows = [measures(t, p) for t, p in zip(masks, probabilities, strict=True)]
    return pd.DataFrame(rows).rename_axis("image")


def threshold_sweep(masks, probabilities, *, thresholds=None, rand: bool = True):
    """Pixel error (and the challenge's V_rand) as the threshold moves.

    Choose a threshold on validation images with it: the lowest pixel error, or the
    highest V_rand (thinned), which cares about cells rather than pixels.

    Parameters
    ----------
    masks, probabilities : array_like
        As for `evaluate`.
    thresholds : sequence of float, optional
        Default: 0.1, 0.15, ..., 0.9.
    rand : bool, default True
        Also compute V_rand (thinned) with `helpers.v_rand` (slower).

    Returns
    -------
    pandas.DataFrame
        One row per threshold; columns ``threshold``, ``pixel_error``,
        ``iou_membrane`` and (if `rand`) ``v_rand``.

    Examples
    --------
    >>> sweep = threshold_sweep(np.array([[1, 0]]), np.array([[0.7, 0.2]]), thresholds=[0.5, 0.8],
    ...                         rand=False)
    >>> sweep["pixel_error"].tolist()
    [0.0, 0.5]
    """
    import pandas as pd

    thresholds = np.round(np.arange(0.1, 0.91, 0.05), 2) if thresholds is None else thresholds
    rows = []
    for threshold in thresholds:
        row = {
            "threshold": float(threshold),
            "pixel_error": pixel_error(masks, probabilities, threshold=threshold),
            "iou_membrane": iou_per_class(masks, probabilities, threshold=threshold)["membrane"],
        }
        if rand:
            row["v_rand"] = v_rand(masks, probabilities, threshold=threshold)
        rows.append(row)
    return pd.DataFrame(rows)


def _min_overlap(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"min_overlap must be an int of at least 1 (pixels), got {value!r}.")
    return int(value)


def split_merge_counts(masks, predictions, *, threshold: float = 0.5,
                       min_overlap: int = 10) -> dict[str, int]:
    """Count the cells a prediction splits and the cells it merges, summed over images.

    Introduced in notebook 02, section "7. Evaluation in depth". The Rand error says
    how wrong a segmentation is; these counts say which way: a *split* is a true cell
    cut into two or more predicted cells (an invented membrane), a *merge* is a
    predicted cell that spans two or more true cells (a gap in a membrane). Cells
    are the 4-connected regions of interior, as for `rand_error`; ground-truth
    membrane is ignored, so only overlaps of interior with interior count.

    Parameters
    ----------
    masks, predictions : array_like
        True masks and predicted probabilities (or masks) of interior, one image
        (H, W[, 1]) or a batch (N, H, W[, 1]).
    threshold : float, default 0.5
        In [0, 1]; a probability ``>= threshold`` is interior.
    min_overlap : int, default 10
        Pixels two cells must share for their overlap to count. A true cell is split
        when at least two predicted cells each cover at least this many of its
        pixels; a predicted cell is a merge when it covers at least this many pixels
        of each of two or more true cells. The default ignores specks and corner
        slivers of a few pixels (10 pixels is about a 3 by 3 patch), which are noise
        rather than a cell cut in two; a typical cell is far larger (the median cell
        of the 30 ISBI 2012 training labels covers about 570 pixels). Set 1 to
        count every overlap.

    Returns
    -------
    dict of str -> int
        ``splits`` (true cells split), ``merges`` (predicted cells that merge true
        cells), ``true_cells`` and ``predicted_cells`` (how many cells there are).
        Each offending cell counts once: a predicted cell that swallows five true
        cells is one merge, a true cell cut in three is one split. Comparing
        ``predicted_cells`` with ``true_cells`` shows how many cells were lost.

    Raises
    ------
    ValueError
        If the inputs do not pair (see `rand_error`), or `threshold` or
        `min_overlap` is out of range.

    Examples
    --------
    Two true cells side by side; the prediction leaves a gap in the membrane
    between them, so one predicted cell covers both:

    >>> truth = np.ones((6, 9))
    >>> truth[:, 4] = 0
    >>> leaky = truth.copy()
    >>> leaky[2, 4] = 1
    >>> split_merge_counts(truth, leaky, min_overlap=1)
    {'splits': 0, 'merges': 1, 'true_cells': 2, 'predicted_cells': 1}
    """
    min_overlap = _min_overlap(min_overlap)
    truth, guess = _per_image(masks, predictions, threshold)
    counts = dict.fromkeys(("splits", "merges", "true_cells", "predicted_cells"), 0)
    for true_image, guessed_image in zip(truth, guess, strict=True):
        true_cells, guessed_cells = _segments(true_image), _segments(guessed_image)
        both = (true_cells > 0) & (guessed_cells > 0)
        # Contingency table of (true cell, predicted cell) pairs that share pixels.
        pairs, shared = np.unique(np.stack([true_cells[both], guessed_cells[both]]), axis=1,
                                  return_counts=True)
        true_of_pair, guessed_of_pair = pairs[:, shared >= min_overlap]
        counts["splits"] += int(np.sum(np.unique(true_of_pair, return_counts=True)[1] >= 2))
        counts["merges"] += int(np.sum(np.unique(guessed_of_pair, return_counts=True)[1] >= 2))
        counts["true_cells"] += int(true_cells.max())
        counts["predicted_cells"] += int(guessed_cells.max())
    return counts


WORST_TILE_METRICS = ("v_rand", "pixel_error")


def worst_tiles(masks, probabilities, *, tile_size, k: int = 4, threshold: float = 0.5,
                metric: str = "v_rand"):
    """The `k` tiles of a batch that a prediction gets most wrong, worst first.

    Introduced in notebook 02, section "7. Evaluation in depth". One figure over
    a whole test set hides where the errors are; looking at the worst places
    shows what kind they are. Each image is cut into a non-overlapping grid of
    `tile_size` tiles, each tile is scored on its own, and the worst `k` are kept.
    A cell cut by a tile's edge counts as two cells there, so the V_rand of a tile is
    not its share of the whole image's.

    Parameters
    ----------
    masks, probabilities : array_like
        True masks and predicted probabilities of interior, one image (H, W[, 1])
        or a batch (N, H, W[, 1]).
    tile_size : int or (int, int)
        Height and width of a tile; it must divide the images' height and width.
    k : int, default 4
        How many tiles to return. When there are fewer tiles than `k`, all of them
        are returned, ranked (no error).
    threshold : float, default 0.5
        In [0, 1]; a probability ``>= threshold`` is interior.
    metric : {"v_rand", "pixel_error"}, default "v_rand"
        Which measure ranks the tiles, lowest V_rand (thinned, `helpers.v_rand`) or
        highest pixel error first; both are reported. Ties keep the grid's order.

    Returns
    -------
    pandas.DataFrame
        One row per tile, worst first, with columns ``image`` (index in the batch),
        ``row`` and ``col`` (the tile's top-left pixel), ``v_rand`` and
        ``pixel_error``. A tile with no true interior has no cells to split or
        merge: its ``v_rand`` is NaN and it ranks last by V_rand.

    Raises
    ------
    ValueError
        If the inputs do not pair, `tile_size` does not fit the images, or an
        option is out of range.

    Examples
    --------
    Two 4 by 4 tiles; in the second, the membrane between two cells has a gap:

    >>> truth = np.ones((4, 8))
    >>> truth[:, [1, 6]] = 0
    >>> leaky = truth.copy()
    >>> leaky[1, 6] = 1
    >>> worst_tiles(truth, leaky, tile_size=4, k=1)
       image  row  col    v_rand  pixel_error
    0      0    0    4  0.714286       0.0625
    """
    import pandas as pd

    from helpers._checks import as_pair

    if metric not in WORST_TILE_METRICS:
        raise ValueError(f"metric must be one of {', '.join(WORST_TILE_METRICS)}, "
                         f"got {metric!r}.")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an int of at least 1, got {k!r}.")
    tile_h, tile_w = as_pair(tile_size, "tile_size")
    truth, guess = _per_image(masks, probabilities, threshold)
    height, width = truth.shape[1:]
    if tile_h > height or tile_w > width or height % tile_h or width % tile_w:
        raise ValueError(
            f"tile_size must divide the images' height and width {(height, width)} exactly "
            f"(and be no larger), got {(tile_h, tile_w)}. Fix: choose a divisor of both, "
            f"e.g. tile_size={np.gcd(height, width) // 4 or 1}."
        )
    rows = []
    for image, (true_image, guessed_image) in enumerate(zip(truth, guess, strict=True)):
        for row in range(0, height, tile_h):
            for col in range(0, width, tile_w):
                # A channel axis of 1, so that a tile is never read as one-hot classes.
                true_tile = true_image[row:row + tile_h, col:col + tile_w, np.newaxis]
                guessed_tile = guessed_image[row:row + tile_h, col:col + tile_w, np.newaxis]
                rows.append({
                    "image": image, "row": row, "col": col,
                    # guess is 0/1 already, so V_rand's strict > 0.5 keeps it as it is.
                    "v_rand": (v_rand(true_tile, guessed_tile, threshold=0.5)
                               if true_tile.any() else float("nan")),
                    "pixel_error": pixel_error(true_tile, guessed_tile),
                })
    table = pd.DataFrame(rows, columns=["image", "row", "col", "v_rand", "pixel_error"])
    table = table.sort_values(metric, ascending=metric == "v_rand", kind="stable",
                              na_position="last")
    return table.head(k).reset_index(drop=True)


def membrane_edge_band(masks, *, width: int = 1) -> np.ndarray:
    """The pixels on both sides of every boundary between membrane and interior.

    To be used in notebook 01, section "6. Evaluation on the held-out test split"
    (where do the errors lie?), and in the slides' prediction figure. A pixel is in
    the band when a pixel of the other class lies within `width` steps of it,
    stepping to the 4 neighbours (``skimage.segmentation.find_boundaries``, mode
    "thick", widened by `width` - 1 steps). The image's own border is no boundary:
    an interior pixel at the edge of the image is in the band only if membrane is
    near it inside the image.

    Parameters
    ----------
    masks : array_like, shape (H, W), (N, H, W) or (N, H, W, 1)
        True masks, 1 = cell interior, 0 = membrane (bool, or numbers where ``>= 0.5``
        is interior). Each image of a batch is treated on its own.
    width : int, default 1
        How far from the boundary, in pixels, the band reaches on each side; the
        band is ``2 * width`` pixels across a straight boundary.

    Returns
    -------
    ndarray of bool, the shape of `masks`

    Raises
    ------
    ValueError
        If `masks` is not shaped as above or not numeric, or `width` is not an int
        of at least 1.

    Examples
    --------
    One row, with a membrane pixel in it: the band holds it and its two neighbours,
    and, 2 pixels wide, one more on each side.

    >>> mask = np.array([[1, 1, 0, 1, 1, 1]])
    >>> membrane_edge_band(mask).astype(int)
    array([[0, 1, 1, 1, 0, 0]])
    >>> membrane_edge_band(mask, width=2).astype(int)
    array([[1, 1, 1, 1, 1, 0]])
    """
    from scipy import ndimage
    from skimage.segmentation import find_boundaries

    array = np.asarray(masks)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(f"masks must be numeric or boolean, got dtype {array.dtype}.")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError("masks contains NaN or infinite values.")
    if array.ndim == 4 and array.shape[-1] == 1:
        images = array[..., 0]
    elif array.ndim in (2, 3):
        images = array.reshape(-1, *array.shape[-2:])
    else:
        raise ValueError(
            "masks must be one mask (H, W) or a batch (N, H, W) or (N, H, W, 1), got shape "
            f"{array.shape}. Fix: for one-hot masks, pass the interior channel."
        )
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
        raise ValueError(f"width must be an int of at least 1, got {width!r}.")
    cross = ndimage.generate_binary_structure(2, 1)
    band = np.empty(images.shape, dtype=bool)
    for index, image in enumerate(images >= 0.5):
        # One image at a time: on a stack, find_boundaries would also compare an
        # image with its neighbours in the batch.
        band[index] = find_boundaries(image, connectivity=1, mode="thick")
        if width > 1:
            # A pixel within `width` steps of the other class is within `width` - 1
            # steps of a pixel of the 1-pixel band (a path between the two classes
            # crosses the boundary somewhere).
            band[index] = ndimage.binary_dilation(band[index], cross, iterations=width - 1)
    return band.reshape(array.shape)
