"""The U-Net paper's border weight map (Ronneberger et al., 2015, equation 2).

To be taught in notebook 02 (the paper's own methods). The map gives each pixel
of a training mask a weight in the loss:

    w(x) = w_c(x) + w0 * exp(-(d1(x) + d2(x))**2 / (2 * sigma**2))

where w_c balances the two classes, and d1 and d2 are the distances from x to
the nearest and the second-nearest cell. Cells are the connected regions of
interior (value 1, as everywhere in the course; 0 is membrane), four-connected,
as in `rand_error`. The border term is large only where two cells come close,
so the thin membranes that separate touching cells weigh most: a gap there
merges two cells, which the Rand error punishes and pixel error hardly sees.

How the weights reach the loss: as Keras's per-pixel ``sample_weight``, with the
built-in binary cross-entropy. ``augmented_batches(..., weights=w)`` yields
``(images, masks, weights)``, and ``model.fit`` passes the third item to the
loss, which then averages ``w(x) * BCE(x)`` over the pixels (the paper's
equation 1, divided by the pixel count). This route was chosen over packing the
weights into an extra channel of the masks because keras-unet's model ends in
one sigmoid channel: the masks keep that shape, so metrics given to
``compile(metrics=...)`` see plain masks (and stay unweighted), and the saved
model needs no custom loss to load.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["border_weight_map", "class_balance_weights"]

# Distances beyond CUTOFF_SIGMAS * sigma count as "no cell there": the border term
# is then below w0 * exp(-CUTOFF_SIGMAS**2 / 2) = w0 * 1.5e-8, far below float32's
# resolution of the class weight it is added to.
CUTOFF_SIGMAS = 6.0


def _check_masks(masks) -> np.ndarray:
    """Masks as a boolean (N, H, W) array of interior; errors name the fix."""
    array = np.asarray(masks)
    if array.ndim == 2:
        array = array[np.newaxis]
    elif array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    else:
        raise ValueError(
            "masks must be one mask (H, W) or a batch (N, H, W, 1) with one channel "
            f"(1 = cell interior, 0 = membrane), got shape {array.shape}. Fix: for a batch "
            "without its channel axis, pass masks[..., np.newaxis]; for one-hot masks, pass "
            "the interior channel."
        )
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(f"masks must be numeric or boolean, got dtype {array.dtype}.")
    values = np.unique(array)
    if not np.isin(values, (0, 1)).all():
        raise ValueError(
            f"masks must be binary (0 and 1), got {values.size} distinct values, e.g. "
            f"{values[:5].tolist()}. Fix: binarize_masks(masks)."
        )
    return array.astype(bool)


def _check_number(name: str, value, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    if (positive and value <= 0) or value < 0:
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be {bound}, got {value!r}.")
    return float(value)


def class_balance_weights(masks) -> tuple[float, float]:
    """Weights for membrane and interior that give both classes the same total weight.

    To be taught in notebook 02, with `border_weight_map`. Each class gets
    ``n_pixels / (2 * n_pixels_of_the_class)``, scikit-learn's "balanced" rule:
    the rarer membrane weighs more, and the mean weight over all pixels is 1.
    A class with no pixel gets weight 1.

    Parameters
    ----------
    masks : array_like, shape (H, W) or (N, H, W, 1)
        Binary: 1 is cell interior, 0 is membrane.

    Returns
    -------
    (float, float)
        The weights of membrane (0) and interior (1).

    Examples
    --------
    >>> class_balance_weights(np.array([[1, 1, 1, 0]]))
    (2.0, 0.6666666666666666)
    """
    interior = _check_masks(masks)
    total = interior.size
    counts = (total - int(np.count_nonzero(interior)), int(np.count_nonzero(interior)))
    if 0 in counts:
        return (1.0, 1.0)
    return tuple(total / (2 * count) for count in counts)


def _nearest_two_distances(labels: np.ndarray, cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, the distances to the nearest and the second-nearest labelled region.

    One Euclidean distance transform per region, computed only in its bounding box
    widened by `cutoff`: farther pixels are more than `cutoff` away, and stay inf.
    """
    from scipy import ndimage

    nearest = np.full(labels.shape, np.inf)
    second = np.full(labels.shape, np.inf)
    margin = int(np.ceil(cutoff))
    for label, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        window = tuple(slice(max(s.start - margin, 0), min(s.stop + margin, size))
                       for s, size in zip(box, labels.shape, strict=True))
        distance = ndimage.distance_transform_edt(labels[window] != label)
        first, then = nearest[window], second[window]  # views: written in place
        closer = distance < first
        then[...] = np.where(closer, first, np.minimum(then, distance))
        first[...] = np.where(closer, distance, first)
    return nearest, second


def border_weight_map(masks, *, w0: float = 10.0, sigma: float = 5.0,
                      class_weights="balanced") -> np.ndarray:
    """The U-Net paper's weight map: class balance plus a bonus between close cells.

    To be taught in notebook 02 (section on the paper's border weights).
    ``w(x) = w_c(x) + w0 * exp(-(d1(x) + d2(x))**2 / (2 * sigma**2))``, where
    ``d1`` and ``d2`` are the Euclidean distances from pixel ``x`` to the
    nearest and the second-nearest cell (connected region of interior). The
    border term is added on membrane pixels only: inside a cell ``d1`` is 0,
    and the paper's figure 3d shows the large weights in the gaps between
    cells. Where fewer than two cells lie within ``6 * sigma``, the term is 0
    (it would be below ``w0 * 1.5e-8``). Compute the map on whole images, then
    crop it with the masks (`augmented_batches` does, given ``weights=``).

    Parameters
    ----------
    masks : array_like, shape (H, W) or (N, H, W, 1)
        Binary: 1 is cell interior, 0 is membrane (bool or any numeric dtype).
    w0 : float, default 10
        Height of the border term (the paper's value).
    sigma : float, default 5
        Width of the border term in pixels (the paper: "approximately 5 pixels").
    class_weights : "balanced", None or (float, float), default "balanced"
        ``w_c``: "balanced" computes `class_balance_weights` over all the masks
        given (pass the whole training set at once); None gives 1 to both
        classes; a pair gives the weights of membrane and interior.

    Returns
    -------
    ndarray of float32, the shape of `masks`

    Raises
    ------
    ValueError
        If `masks` are not binary or not shaped as above, or an option is out of range.

    Examples
    --------
    Two one-pixel cells, four pixels apart, and no class weighting: the pixel
    half-way is 2 from each, so its weight is ``1 + 10 * exp(-16 / 50)``.

    >>> mask = np.array([[1, 0, 0, 0, 1]])
    >>> weights = border_weight_map(mask, class_weights=None)
    >>> round(float(weights[0, 2]), 4), float(weights[0, 0])
    (8.2615, 1.0)
    """
    interior = _check_masks(masks)
    w0 = _check_number("w0", w0, positive=False)
    sigma = _check_number("sigma", sigma, positive=True)
    if isinstance(class_weights, str) and class_weights == "balanced":
        membrane_weight, interior_weight = class_balance_weights(interior[..., np.newaxis])
    elif class_weights is None:
        membrane_weight, interior_weight = 1.0, 1.0
    else:
        try:
            membrane_weight, interior_weight = (
                _check_number("class_weights", value, positive=False) for value in class_weights)
        except (TypeError, ValueError) as error:
            raise ValueError(
                "class_weights must be 'balanced', None, or a pair (membrane, interior) of "
                f"numbers >= 0, got {class_weights!r}."
            ) from error

    from skimage.measure import label

    weights = np.where(interior, interior_weight, membrane_weight).astype(np.float64)
    if w0 > 0:
        for index, cells in enumerate(interior):
            labels = label(cells, background=0, connectivity=1)
            d1, d2 = _nearest_two_distances(labels, CUTOFF_SIGMAS * sigma)
            border = w0 * np.exp(-((d1 + d2) ** 2) / (2 * sigma**2))  # 0 where d2 is inf
            weights[index] += np.where(cells, 0.0, border)
    return weights.astype(np.float32).reshape(np.shape(masks))
