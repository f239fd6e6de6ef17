"""Your own images: read a folder of images and masks as analysts have them, and check it.

Introduced in notebook 03, section "1. Your folders". The course's other notebooks
read one data set made for them; a microscopist's own folders hold TIFFs and PNGs
of 8, 16 or 32 bits, RGB exports, masks saved as 0/1, 0/255 or one integer per
object, file names that almost pair, and the odd stray file. `check_folder` reads
everything first and stops on the first run with every problem listed, each with
its fix, before anything is trained or written; `load_folder` runs the same check
and returns the arrays.

What is converted, and how (also in the table `check_folder` prints):

- images become float32 arrays (H, W, C) with their stored values (16-bit stays
  0 to 65535): normalise them with one `helpers.Normalization` (notebook 03,
  section 2), the same object in training, prediction and the saved model;
- RGB(A) images become grey with scikit-image's ``rgb2gray`` weights (exactly one
  channel when R = G = B), or keep R, G and B with ``channels="rgb"``; alpha is dropped;
- masks become int32 label images (H, W), 0 = background, one integer per object:
  instance labels are renumbered 1..n in order; a binary mask (any two values
  0 and v: 0/1, 0/255, 0/65535) is split into objects by connected components
  (8-connected), so objects that touch in a binary mask are one object;
- the 2018 Data Science Bowl's layout (``<id>/images/<id>.png`` with one binary
  file per object in ``<id>/masks/``) is read when `mask_dir` is left out: each
  object file becomes one label; a pixel in two object files keeps the first
  (by file name), and the table counts such pixels.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = ["IMAGE_EXTENSIONS", "MASK_SUFFIXES", "FolderData", "check_folder", "load_folder",
           "read_image"]

#: The file types read, by extension (any case).
IMAGE_EXTENSIONS = (".tif", ".tiff", ".png", ".jpg", ".jpeg")
#: Endings of a mask's file stem that pair it with the image of the stem without them.
MASK_SUFFIXES = ("_masks", "_mask", "_labels", "_label")
_CHANNELS = ("grey", "rgb")
_ALWAYS_STRAY = {"thumbs.db", "desktop.ini"}


class FolderData(NamedTuple):
    """What `load_folder` returns.

    Attributes
    ----------
    images : list of ndarray
        float32 (H, W, C) with the stored values; sizes may differ.
    masks : list of ndarray or None
        int32 (H, W) label images, 0 = background, objects 1..n; None without masks.
    names : list of str
        Each image's file stem, in sorted order.
    table : pandas.DataFrame
        The check's table, one row per image.
    """

    images: list
    masks: list | None
    names: list
    table: object


class _Problem(Exception):
    """One file's problem and its fix; collected, then raised together as ValueError."""

    def __init__(self, path: Path, problem: str, fix: str):
        super().__init__(f"{path}: {problem}. Fix: {fix}")


# --------------------------------------------------------------------------- reading


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read one TIFF (with tifffile), PNG or JPEG file as stored.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    ndarray
        The stored array: (H, W), (H, W, 3 or 4) for RGB(A), or more dimensions for
        a stack; its stored dtype.

    Raises
    ------
    ValueError
        The extension is not one of `IMAGE_EXTENSIONS`, or the file cannot be read as
        an image; the message names the file and the fix.

    Examples
    --------
    >>> import tempfile, tifffile
    >>> path = Path(tempfile.mkdtemp()) / "cells.tif"
    >>> tifffile.imwrite(path, np.arange(6, dtype=np.uint16).reshape(2, 3))
    >>> read_image(path).dtype, read_image(path).shape
    (dtype('uint16'), (2, 3))
    """
    path = Path(path)
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise ValueError(f"{path}: not an image file by its extension. Fix: use one of "
                         f"{', '.join(IMAGE_EXTENSIONS)}.")
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            array = tifffile.imread(path)
        else:
            import imageio.v3 as iio

            # From bytes: imageio leaves a file open when a broken file fails to decode.
            array = iio.imread(path.read_bytes(), extension=path.suffix.lower())
    except Exception as error:  # each reader raises its own kinds for a broken file
        raise ValueError(
            f"{path}: not an image that can be read ({type(error).__name__}: "
            f"{str(error)[:120]}). Fix: remove it from the folder, or save it again as TIFF "
            "or PNG (in Fiji: File > Save As > Tiff...)."
        ) from error
    array = np.asarray(array)
    if array.dtype == bool:
        array = array.astype(np.uint8)
    if array.dtype.kind not in "uif" or array.size == 0:
        raise ValueError(f"{path}: holds no pixel values that can be used (dtype {array.dtype}, "
                         f"shape {array.shape}). Fix: save it again as an 8- or 16-bit TIFF.")
    return array


def _stack_problem(path: Path, shape, what: str) -> _Problem:
    return _Problem(
        path, f"a stack of shape {tuple(shape)} where one 2-D {what} was expected",
        "save each plane as its own file (in Fiji: Image > Stacks > Stack to Images), or "
        "keep the plane you want, e.g. tifffile.imwrite(name, tifffile.imread(path)[k])")


def _as_image(array: np.ndarray, path: Path, channels: str) -> tuple[np.ndarray, str]:
    """(H, W, C) float32 with the stored values, and a note of what was converted."""
    note = ""
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        if array.shape[-1] == 4:
            array, note = array[..., :3], "alpha dropped; "
        if channels == "rgb":
            return array.astype(np.float32), note + "RGB kept"
        if (array[..., 0] == array[..., 1]).all() and (array[..., 0] == array[..., 2]).all():
            return array[..., :1].astype(np.float32), note + "RGB with R = G = B: one channel"
        from skimage.color import rgb2gray

        # A float input keeps its range (rgb2gray rescales integers to [0, 1] otherwise).
        grey = rgb2gray(array.astype(np.float32))
        return grey[..., np.newaxis].astype(np.float32), note + "RGB to grey"
    if array.ndim != 2:
        raise _stack_problem(path, array.shape, "image")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise _Problem(path, "the image holds NaN or infinite values",
                       "replace them, e.g. np.nan_to_num(image), and save it again")
    return array[..., np.newaxis].astype(np.float32), note


def _mask_values(values: np.ndarray) -> str:
    shown = ", ".join(f"{v:g}" for v in values[:4])
    return f"{{{shown}{', ...' if values.size > 4 else ''}}} ({values.size} values)"


def _as_labels(array: np.ndarray, path: Path) -> tuple[np.ndarray, str]:
    """int32 labels (H, W), and how the mask was read ('binary 0/255', 'labels', ...)."""
    from skimage.measure import label
    from skimage.segmentation import relabel_sequential

    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        raise _Problem(path, f"an RGB mask (shape {array.shape}): colours are not labels",
                       "save the mask with one channel, 8- or 16-bit (in Fiji: Image > Type > "
                       "16-bit for labels, 8-bit for a binary mask), or export labels, not an "
                       "overlay")
    if array.ndim != 2:
        raise _stack_problem(path, array.shape, "mask")
    values = np.unique(array)
    whole = array.dtype.kind in "iu" or bool(np.all(np.isfinite(values))
                                             and np.all(values == np.round(values)))
    if not whole or values[0] < 0:
        raise _Problem(
            path, f"the mask is neither binary nor labels: values {_mask_values(values)}"
            + (", not whole numbers (a probability map?)" if not whole else ", some negative"),
            "threshold a probability map (mask > 0.5) and save it as 8-bit, or save the label "
            "image as integers, 0 = background")
    if values.size == 1 and values[0] == 0:
        return np.zeros(array.shape, np.int32), "empty"
    if values[0] != 0:
        raise _Problem(
            path, f"the mask has no background 0: values {_mask_values(values)}",
            "make background 0 (ilastik's exports use 1 and 2: subtract 1 where the "
            "background is 1), and save it again")
    if values.size == 2:
        # Any two values 0 and v: 0/1, 0/255, 0/65535, a binary TIFF from Fiji.
        labels = label(array > 0, connectivity=2).astype(np.int32)
        return labels, f"binary 0/{values[1]:g}: objects by connected components"
    if values[-1] > np.iinfo(np.int32).max:
        raise _Problem(path, f"labels up to {values[-1]:g} do not fit int32",
                       "renumber the objects 1..n, e.g. skimage.segmentation.relabel_sequential")
    labels = relabel_sequential(array.astype(np.int64))[0].astype(np.int32)
    return labels, "labels"


# --------------------------------------------------------------------------- pairing


def _is_stray(path: Path) -> bool:
    return (path.name.startswith(".") or path.name.lower() in _ALWAYS_STRAY
            or path.suffix.lower() not in IMAGE_EXTENSIONS)


def _files(folder: Path, argument: str) -> tuple[list[Path], list[str]]:
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{argument}: the folder {str(folder)!r} does not exist. Fix: check the path (on "
            "Colab, Drive folders start with /content/drive/MyDrive/).")
    entries = sorted(p for p in folder.iterdir() if p.is_file())
    return [p for p in entries if not _is_stray(p)], [p.name for p in entries if _is_stray(p)]


def _mask_stem(stem: str) -> str:
    for suffix in MASK_SUFFIXES:
        if stem.lower().endswith(suffix):
            return stem[: -len(suffix)]
    return stem


def _by_stem(paths: list[Path], stem_of, problems: list) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in paths:
        stem = stem_of(path.stem)
        if stem in found:
            problems.append(_Problem(
                path, f"it has the same name as {found[stem].name} (both pair as {stem!r})",
                "keep one file per image, or rename one of them"))
            continue
        found[stem] = path
    return found


def _is_bowl_layout(folder: Path) -> bool:
    return folder.is_dir() and any((sub / "images").is_dir() for sub in folder.iterdir()
                                   if sub.is_dir())


def _pairs(image_dir: Path, mask_dir: Path | None, problems: list):
    """[(name, image path, mask path(s) or None)], the stray files, and the layout."""
    if mask_dir is None and _is_bowl_layout(image_dir):
        pairs, stray = [], []
        for sub in sorted(p for p in image_dir.iterdir() if p.is_dir()):
            images, ignored = _files(sub / "images", "image_dir") if (sub / "images").is_dir() \
                else ([], [])
            stray += [f"{sub.name}/images/{name}" for name in ignored]
            if len(images) != 1:
                problems.append(_Problem(
                    sub / "images", f"{len(images)} images where the Bowl's layout has one",
                    "keep one image per folder <id>/images/"))
                continue
            masks = (_files(sub / "masks", "image_dir")[0] if (sub / "masks").is_dir() else [])
            pairs.append((sub.name, images[0], masks))
        return pairs, stray, "bowl"

    same_folder = mask_dir is not None and Path(mask_dir).resolve() == Path(image_dir).resolve()
    images, stray = _files(image_dir, "image_dir")
    if mask_dir is None:
        return [(p.stem, p, None) for p in images], stray, "images"
    if same_folder:  # images and masks side by side: the masks are the files with a suffix
        masks = [p for p in images if _mask_stem(p.stem) != p.stem]
        images = [p for p in images if _mask_stem(p.stem) == p.stem]
        mask_stray: list[str] = []
    else:
        masks, mask_stray = _files(Path(mask_dir), "mask_dir")
    by_image = _by_stem(images, lambda stem: stem, problems)
    # A mask pairs by its whole stem, or by its stem without a suffix such as _mask.
    by_mask = _by_stem(masks, lambda stem: stem if stem in by_image else _mask_stem(stem),
                       problems)
    for stem in sorted(set(by_image) - set(by_mask)):
        problems.append(_Problem(
            by_image[stem], "no mask pairs with this image",
            f"name its mask {stem}{by_image[stem].suffix} or {stem}_mask.tif in the mask "
            "folder, or move the image out of the folder"))
    for stem in sorted(set(by_mask) - set(by_image)):
        problems.append(_Problem(
            by_mask[stem], "no image pairs with this mask",
            f"name it as its image (the image's name, optionally with one of "
            f"{', '.join(MASK_SUFFIXES)} before the extension), or remove it"))
    pairs = [(stem, by_image[stem], by_mask[stem]) for stem in sorted(by_image)
             if stem in by_mask]
    return pairs, stray + [f"masks: {name}" for name in mask_stray], "pairs"


# --------------------------------------------------------------------------- the check


def _bowl_labels(paths: list[Path], shape) -> tuple[np.ndarray, str, int]:
    labels = np.zeros(shape, np.int32)
    overlaps = 0
    for value, path in enumerate(paths, start=1):
        array = read_image(path)
        if array.ndim == 3 and array.shape[-1] in (3, 4):
            array = array[..., 0]
        if array.shape != tuple(shape):
            raise _Problem(path, f"the object mask is {array.shape}, its image {tuple(shape)}",
                           "each object's mask must be the size of its image")
        inside = array > 0
        overlaps += int(np.count_nonzero(inside & (labels > 0)))
        labels[inside & (labels == 0)] = value  # the first file keeps a shared pixel
    from skimage.segmentation import relabel_sequential

    labels = relabel_sequential(labels)[0].astype(np.int32)
    return labels, f"{len(paths)} object files", overlaps


def _scan(image_dir, mask_dir, channels: str, verbose: bool, keep: bool):
    import pandas as pd

    if channels not in _CHANNELS:
        raise ValueError(f"channels must be one of {_CHANNELS}, got {channels!r}.")
    image_dir = Path(image_dir).expanduser()
    mask_dir = None if mask_dir in (None, "") else Path(mask_dir).expanduser()
    problems: list[_Problem] = []
    pairs, stray, layout = _pairs(image_dir, mask_dir, problems)
    if not pairs and not problems:
        raise FileNotFoundError(
            f"image_dir: no images ({', '.join(IMAGE_EXTENSIONS)}) in {str(image_dir)!r}. "
            "Fix: point it to the folder that holds the image files themselves.")
    rows, images, masks, names, empty = [], [], [], [], []
    for name, image_path, mask_path in pairs:
        try:
            stored = read_image(image_path)
            image, note = _as_image(stored, image_path, channels)
        except (_Problem, ValueError) as problem:
            problems.append(problem)
            continue
        row = {"name": name, "height": image.shape[0], "width": image.shape[1],
               "channels": image.shape[2], "dtype": str(stored.dtype),
               "min": float(stored.min()), "max": float(stored.max())}
        labels = None
        if mask_path is not None:
            try:
                if layout == "bowl":
                    labels, how, overlaps = _bowl_labels(mask_path, image.shape[:2])
                    row["overlapping pixels"] = overlaps
                else:
                    labels, how = _as_labels(read_image(mask_path), mask_path)
                    if labels.shape != image.shape[:2]:
                        raise _Problem(
                            mask_path, f"the mask is {labels.shape[0]} x {labels.shape[1]}, "
                            f"its image {image_path.name} {image.shape[0]} x {image.shape[1]}",
                            "use the mask drawn on this image at its own size (never resize a "
                            "mask), or pair it with the right image")
            except (_Problem, ValueError) as problem:
                problems.append(problem)
                continue
            row["mask"] = how
            row["objects"] = int(labels.max())
            if row["objects"] == 0:
                empty.append(mask_path if layout != "bowl" else image_path.parent.parent)
        if note:
            row["converted"] = note
        rows.append(row)
        if keep:
            images.append(image)
            masks.append(labels)
            names.append(name)
    table = pd.DataFrame(rows)
    if verbose and not table.empty:
        # Long folders: the first and last rows (the whole table is returned).
        print(table.to_string(index=False, max_rows=16, max_colwidth=24))
    if verbose and stray:
        shown = ", ".join(stray[:5]) + (f" and {len(stray) - 5} more" if len(stray) > 5 else "")
        print(f"ignored {len(stray)} files that are not images by their name: {shown}")
    if problems:
        raise ValueError(
            f"{len(problems)} problem{'s' * (len(problems) > 1)} in the folder"
            f"{'s' * (mask_dir is not None)}; nothing was trained or written:\n  - "
            + "\n  - ".join(str(problem) for problem in problems))
    for path in empty:
        warnings.warn(f"{path}: the mask is empty (no objects). Kept: a field with no objects "
                      "is allowed; check that it is meant to be empty.", UserWarning,
                      stacklevel=3)
    if verbose:
        objects = int(table["objects"].sum()) if "objects" in table else None
        print(f"{len(table)} images" + (f", {objects} objects" if objects is not None else "")
              + f", read from {image_dir}" + (f" and {mask_dir}" if mask_dir else ""))
    has_masks = layout == "bowl" or mask_dir is not None
    return FolderData(images, masks if has_masks else None, names, table)


def check_folder(image_dir: str | os.PathLike, mask_dir: str | os.PathLike | None = None, *,
                 channels: str = "grey", verbose: bool = True):
    """Read every image and mask of a folder, print one table, and raise on any problem.

    Introduced in notebook 03, section "1. Your folders"; `load_folder` runs it too.
    Images and masks are paired by file stem (``cell7.tif`` with ``cell7.tif``,
    ``cell7_mask.png`` or ``cell7_labels.tif``); see the module's docstring for what is
    converted and how.

    Parameters
    ----------
    image_dir : path-like
        The images; or, with `mask_dir` left out, the Data Science Bowl's layout
        (``<id>/images/`` and ``<id>/masks/``), or images alone (to predict).
    mask_dir : path-like, optional
        The masks. It may be `image_dir` itself: then the files with a mask suffix
        (`MASK_SUFFIXES`) are the masks.
    channels : {"grey", "rgb"}, default "grey"
        What an RGB image becomes.
    verbose : bool, default True
        Print the table (size, dtype, value range, how the mask was read, number of
        objects), and the stray files ignored.

    Returns
    -------
    pandas.DataFrame
        The table, one row per image.

    Raises
    ------
    FileNotFoundError
        A folder does not exist, or holds no image.
    ValueError
        Listing every problem, each with its file and its fix: unpaired names, two
        files with one name, an image and mask of different sizes, a mask that is
        neither binary nor labels, an RGB mask, a stack where 2-D was expected, a
        file that is not an image. Nothing is returned then.

    Warns
    -----
    UserWarning
        A mask without objects (allowed: a field can be empty).

    Examples
    --------
    >>> import tempfile, tifffile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "images").mkdir(); (folder / "masks").mkdir()
    >>> tifffile.imwrite(folder / "images" / "a.tif", np.zeros((4, 6), np.uint16))
    >>> tifffile.imwrite(folder / "masks" / "a_mask.tif", np.eye(4, 6, dtype=np.uint8) * 255)
    >>> table = check_folder(folder / "images", folder / "masks", verbose=False)
    >>> table[["name", "height", "width", "objects"]].values.tolist()
    [['a', 4, 6, 1]]
    >>> tifffile.imwrite(folder / "masks" / "b.tif", np.zeros((4, 6), np.uint8))
    >>> check_folder(folder / "images", folder / "masks", verbose=False)
    Traceback (most recent call last):
    ...
    ValueError: 1 problem in the folders; nothing was trained or written:
      - ...b.tif: no image pairs with this mask. Fix: ...
    """
    return _scan(image_dir, mask_dir, channels, verbose, keep=False).table


def load_folder(image_dir: str | os.PathLike, mask_dir: str | os.PathLike | None = None, *,
                channels: str = "grey", verbose: bool = True) -> FolderData:
    """Load a folder of images (and masks) of any sizes, after `check_folder`'s checks.

    Introduced in notebook 03, section "1. Your folders".

    Parameters
    ----------
    image_dir, mask_dir, channels, verbose
        As for `check_folder`.

    Returns
    -------
    FolderData
        ``images`` (float32 (H, W, C), stored values), ``masks`` (int32 labels, or
        None), ``names`` and ``table``.

    Raises
    ------
    FileNotFoundError, ValueError
        As `check_folder`.

    Examples
    --------
    >>> import tempfile, tifffile
    >>> folder = Path(tempfile.mkdtemp())
    >>> labels = np.zeros((5, 7), np.uint16); labels[1:3, 1:3] = 4; labels[3:, 4:] = 9
    >>> tifffile.imwrite(folder / "a.tif", np.full((5, 7), 300, np.uint16))
    >>> tifffile.imwrite(folder / "a_labels.tif", labels)
    >>> data = load_folder(folder, folder, verbose=False)
    >>> data.names, data.images[0].shape, data.images[0].dtype, np.unique(data.masks[0]).tolist()
    (['a'], (5, 7, 1), dtype('float32'), [0, 1, 2])
    """
    return _scan(image_dir, mask_dir, channels, verbose, keep=True)
