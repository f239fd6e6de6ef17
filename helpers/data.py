"""General data code: pair images with masks, check them, binarise masks, split them.

Introduced in notebook 01, section "2. Data"; every later lesson reuses it. Nothing
here is specific to ISBI 2012 (see `helpers.isbi` for that data set).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

__all__ = [
    "SPLIT",
    "binarize_masks",
    "load_image_mask_pairs",
    "split_dataset",
    "validate_pairs",
]

#: The course's fixed split of the 30 labelled images, by index: consecutive
#: sections, so that the test sections are not neighbours of training sections
#: on both sides.
SPLIT = {
    "train": tuple(range(0, 24)),
    "validation": (24, 25, 26),
    "test": (27, 28, 29),
}

def _index_of(path: Path, argument: str) -> int:
    match = re.fullmatch(r"\D*(\d+)\D*", path.stem)
    if match is None:
        raise ValueError(
            f"{argument}: cannot read a numeric index from the file name {path.name!r}. "
            "Fix: name files by index, e.g. 0.png, 1.png, ... (or slice_007.png)."
        )
    return int(match.group(1))


def _read_grey(path: Path) -> np.ndarray:
    from skimage.io import imread

    image = imread(path)
    if image.ndim == 3:  # RGB(A) saved from a viewer: keep the first channel
        image = image[..., 0]
    return image


def _by_index(folder: Path, argument: str, pattern: str) -> dict[int, Path]:
    if not folder.is_dir():
        raise FileNotFoundError(f"{argument}: the folder {str(folder)!r} does not exist.")
    paths = sorted(folder.glob(pattern))  # a stable order for messages; pairing is by index
    if not paths:
        raise FileNotFoundError(f"{argument}: no files matching {pattern!r} in {str(folder)!r}.")
    by_index: dict[int, Path] = {}
    for path in paths:
        index = _index_of(path, argument)
        if index in by_index:
            raise ValueError(
                f"{argument}: two files share the index {index}: "
                f"{by_index[index].name!r} and {path.name!r}. Fix: keep one file per index."
            )
        by_index[index] = path
    return by_index


def load_image_mask_pairs(
    image_dir: str | os.PathLike,
    mask_dir: str | os.PathLike,
    *,
    pattern: str = "*.png",
    threshold: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Load images and masks from two folders, paired by the number in each file name.

    Pairs are matched by numeric index (``7.png`` with ``7.png``, ``img_07.png``
    with ``mask_7.png``), never by position in a folder listing: ``glob`` returns
    names in arbitrary order, which can differ between the two folders, and a
    text sort puts ``10.png`` before ``2.png``, which breaks a split by index.

    Parameters
    ----------
    image_dir, mask_dir : path-like
    pattern : str, default "*.png"
    threshold : float, default 0.5
        Masks are scaled to [0, 1] and binarised at this threshold (see `binarize_masks`).

    Returns
    -------
    images : ndarray, shape (N, H, W, 1), float32 in [0, 1]
    masks : ndarray, shape (N, H, W, 1), float32 in {0, 1}
        In index order.

    Raises
    ------
    ValueError
        The two folders hold different indices, or different counts.
    """
    images_by_index = _by_index(Path(image_dir), "image_dir", pattern)
    masks_by_index = _by_index(Path(mask_dir), "mask_dir", pattern)
    if images_by_index.keys() != masks_by_index.keys():
        only_images = sorted(images_by_index.keys() - masks_by_index.keys())
        only_masks = sorted(masks_by_index.keys() - images_by_index.keys())
        raise ValueError(
            f"image_dir has {len(images_by_index)} files and mask_dir {len(masks_by_index)}, "
            f"and their indices do not match: images without a mask {only_images[:10]}, "
            f"masks without an image {only_masks[:10]}. Fix: give every image exactly one "
            "mask with the same number in its file name."
        )
    order = sorted(images_by_index)
    images = np.stack([_read_grey(images_by_index[i]) for i in order])
    masks = np.stack([_read_grey(masks_by_index[i]) for i in order])
    images = _to_unit_float(images, "images")[..., np.newaxis]
    masks = binarize_masks(masks[..., np.newaxis], threshold=threshold)
    validate_pairs(images, masks)
    return images, masks


def _to_unit_float(array: np.ndarray, argument: str) -> np.ndarray:
    if np.issubdtype(array.dtype, np.integer):
        return (array / np.iinfo(array.dtype).max).astype(np.float32)
    array = array.astype(np.float32)
    if array.size and (array.min() < 0 or array.max() > 1):
        raise ValueError(
            f"{argument}: float values must lie in [0, 1], got [{array.min()}, {array.max()}]."
        )
    return array

def binarize_masks(masks: np.ndarray, *, threshold: float = 0.5) -> np.ndarray:
    """Turn masks back into exact {0, 1} float32, e.g. after interpolation.

    Masks stored as 0/255 are scaled to [0, 1] first. Values ``>= threshold``
    become 1. Resizing, rotating or shearing a mask blends 0 and 1 at the edges;
    without this step the network is trained on labels that are neither class.

    Parameters
    ----------
    masks : ndarray
        Any shape: floats in [0, 1], booleans, or integer labels (0/1, 0/255 or
        0 to the dtype's maximum, scaled by the largest that fits).
    threshold : float, default 0.5
        In [0, 1].

    Returns
    -------
    ndarray, float32, same shape, values in {0, 1}

    Examples
    --------
    >>> binarize_masks(np.array([0.0, 0.3, 0.5, 0.97]))
    array([0., 0., 1., 1.], dtype=float32)
    >>> binarize_masks(np.array([0, 128, 255], dtype=np.uint8))
    array([0., 1., 1.], dtype=float32)
    >>> binarize_masks(np.array([0, 1], dtype=np.uint8))  # 0/1 label images too
    array([0., 1.], dtype=float32)
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold}.")
    masks = np.asarray(masks)
    if masks.dtype == bool:
        return masks.astype(np.float32)
    if np.issubdtype(masks.dtype, np.integer):
        # Label images are saved as 0/1, 0/255 or 0/65535, whatever their dtype.
        top = int(masks.max(initial=0))
        scale = 1 if top <= 1 else 255 if top <= 255 else np.iinfo(masks.dtype).max
        masks = (masks / scale).astype(np.float32)
    else:
        masks = _to_unit_float(masks, "masks")
    return (masks >= threshold).astype(np.float32)


def validate_pairs(images: np.ndarray, masks: np.ndarray) -> None:
    """Check that images and masks are ready for a U-Net; raise a clear error if not.

    Checks: both are 4-D (N, H, W, channels); the counts and the heights and
    widths match; images are finite and in [0, 1]; masks are exactly 0 or 1
    (one-hot for several classes).

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C)
    masks : ndarray, shape (N, H, W, K)

    Raises
    ------
    ValueError
        Naming the argument, what was expected and what was received.

    Examples
    --------
    >>> validate_pairs(np.zeros((2, 8, 8, 1)), np.ones((2, 8, 8, 1)))
    >>> validate_pairs(np.zeros((2, 8, 8)), np.ones((2, 8, 8, 1)))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: images must have 4 dimensions (N, H, W, channels), got shape (2, 8, 8)...
    """
    for name, array in (("images", images), ("masks", masks)):
        if array.ndim != 4:
            raise ValueError(
                f"{name} must have 4 dimensions (N, H, W, channels), got shape {array.shape}."
                + (f" Fix: add the channel axis with {name}[..., np.newaxis]."
                   if array.ndim == 3 else "")
            )
    if len(images) != len(masks):
        raise ValueError(
            f"images and masks must pair one to one, got {len(images)} images and "
            f"{len(masks)} masks. Fix: load them with load_image_mask_pairs(), which pairs "
            "by index."
        )
    if images.shape[1:3] != masks.shape[1:3]:
        raise ValueError(
            f"images and masks must have the same height and width, got {images.shape[1:3]} "
            f"and {masks.shape[1:3]}."
        )
    if not np.isfinite(images).all():
        count = int(np.size(images) - np.isfinite(images).sum())
        raise ValueError(
            f"images contain {count} NaN or infinite values. Fix: check how they were "
            "normalised (a division by a zero range?), e.g. with np.nan_to_num."
        )
    if images.size and (images.min() < 0 or images.max() > 1):
        raise ValueError(
            f"images must lie in [0, 1], got [{images.min():.3g}, {images.max():.3g}]. "
            "Fix: divide 8-bit images by 255."
        )
    values = np.unique(masks)
    if not np.isin(values, (0, 1)).all():
        raise ValueError(
            f"masks must be binary (0 and 1), got {values.size} distinct values, e.g. "
            f"{values[:5].tolist()}. Fix: binarize_masks(masks) (threshold 0.5; 0/255 masks "
            "are scaled first)."
        )


def split_dataset(
    images: np.ndarray, masks: np.ndarray, *, split: dict | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Split images and masks by index into the course's train/validation/test parts.

    Parameters
    ----------
    images, masks : ndarray, shape (N, H, W, C)
    split : dict of str -> sequence of int, optional
        Defaults to `SPLIT` (train 0-23, validation 24-26, test 27-29).

    Returns
    -------
    dict of str -> (images, masks)

    Examples
    --------
    >>> parts = split_dataset(np.zeros((30, 4, 4, 1)), np.ones((30, 4, 4, 1)))
    >>> {name: len(x) for name, (x, y) in parts.items()}
    {'train': 24, 'validation': 3, 'test': 3}
    """
    split = SPLIT if split is None else split
    validate_pairs(images, masks)
    needed = max(max(indices) for indices in split.values()) + 1
    if len(images) < needed:
        raise ValueError(
            f"images: the split needs at least {needed} images (indices up to {needed - 1}), "
            f"got {len(images)}. Fix: pass split= with indices that exist."
        )
    return {name: (images[list(idx)], masks[list(idx)]) for name, idx in split.items()}
