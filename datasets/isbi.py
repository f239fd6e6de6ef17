"""ISBI 2012 EM membrane data: find it, fetch it, verify it, load it, split it.

Introduced in notebook 01, section "Data". See ``datasets/README.md`` for the
provenance, citation and terms of use.
"""

from __future__ import annotations

import hashlib
import os
import re
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = [
    "ISBI2012",
    "ISBI2012_URL",
    "SPLIT",
    "binarize_masks",
    "find_isbi2012",
    "load_image_mask_pairs",
    "load_isbi2012",
    "read_manifest",
    "split_dataset",
    "validate_pairs",
]

# The public copy: keras-unet's repository at a fixed commit (byte-identical files).
ISBI2012_URL = (
    "https://raw.githubusercontent.com/karolzak/keras-unet/"
    "2b1c6d5ea1846b97ff7fa0f38ec371f20db73020/input/isbi2015/"
)
DATA_VARIABLE = "UNET_COURSE_DATA"
N_LABELLED = 30

#: The course's fixed split of the 30 labelled images, by index: consecutive
#: sections, so that the test sections are not neighbours of training sections
#: on both sides.
SPLIT = {
    "train": tuple(range(0, 24)),
    "validation": (24, 25, 26),
    "test": (27, 28, 29),
}

NO_DATA_HELP = (
    "To get the data: (1) connect to the internet and call load_isbi2012() again "
    "(it downloads 13 MB and checks every file); or (2) copy the folder isbi2012/ "
    "(train/image, train/label, test) somewhere and set UNET_COURSE_DATA to the folder "
    "that holds it. To work offline without it, use the synthetic stand-in: "
    "images, masks = helpers.synthetic_membranes(30, size=512, seed=0)."
)


class ISBI2012(NamedTuple):
    """The loaded data set; unpack it as ``images, masks, test_images``."""

    images: np.ndarray
    masks: np.ndarray
    test_images: np.ndarray


def read_manifest() -> dict[str, str]:
    """Return the ISBI 2012 manifest: relative path -> sha256.

    Examples
    --------
    >>> manifest = read_manifest()
    >>> len(manifest), manifest["train/label/0.png"][:8]
    (90, '13b67edd')
    """
    text = files("helpers.datasets").joinpath("isbi2012/SHA256SUMS").read_text()
    manifest = {}
    for line in text.splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            manifest[name.strip().removeprefix("./")] = digest
    return manifest


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _verify(folder: Path, manifest: dict[str, str]) -> list[str]:
    """Names of the files that are missing or fail their checksum."""
    bad = []
    for name, digest in manifest.items():
        path = folder / name
        if not path.is_file() or _sha256(path) != digest:
            bad.append(name)
    return bad


def _checkout_root() -> Path | None:
    """The course folder when running from a checkout (or an editable install)."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def _resolve(path: Path) -> Path:
    """A relative path is taken from the working directory or, failing that, the course
    folder: notebooks run in notebooks/, while a variable is usually set at the top."""
    if path.is_absolute() or path.is_dir():
        return path
    root = _checkout_root()
    return root / path if root is not None and (root / path).is_dir() else path


def _course_cache() -> Path:
    """Where downloads go: ``datasets/isbi2012`` in a checkout, else the user cache."""
    if _checkout_root() is not None:
        return Path(__file__).resolve().parent / "isbi2012"
    import pooch

    return Path(pooch.os_cache("unet-course")) / "isbi2012"


@contextmanager
def _quiet_pooch():
    import pooch

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")
    try:
        yield
    finally:
        logger.setLevel(level)


def _download(cache: Path, manifest: dict[str, str], base_url: str) -> None:
    import pooch

    if not base_url.startswith(("https://", "http://")):
        raise ValueError(
            f"base_url must start with https:// or http://, got {base_url!r}. Fix: leave it "
            "out to use the public copy."
        )
    fetcher = pooch.create(
        path=cache,
        base_url=base_url,
        registry={name: f"sha256:{digest}" for name, digest in manifest.items()},
        retry_if_failed=2,
    )
    with _quiet_pooch():
        for name in manifest:
            try:
                # pooch skips a file whose checksum matches, re-downloads a corrupt
                # one, and moves a download into place only after checking it.
                fetcher.fetch(name)
            except ValueError as error:
                if "hash" not in str(error).lower():
                    raise
                raise ValueError(  # checksum mismatch after download
                    f"The downloaded file {name} does not match its sha256 in the manifest "
                    f"({error}). The server at {base_url} serves other bytes; do not use them. "
                    + NO_DATA_HELP
                ) from error
            except Exception as error:  # requests/urllib errors: no network, 404, timeout
                raise ConnectionError(
                    f"Could not download ISBI 2012 file {name} from {base_url} "
                    f"({type(error).__name__}: {error}). " + NO_DATA_HELP
                ) from error


def find_isbi2012(
    *,
    data_dir: str | os.PathLike | None = None,
    base_url: str = ISBI2012_URL,
    download: bool = True,
    verbose: bool = False,
) -> Path:
    """Return a folder holding the verified ISBI 2012 files, downloading if needed.

    Lookup order: (1) ``data_dir``, or else the ``UNET_COURSE_DATA`` variable: a
    folder holding ``isbi2012/`` (a relative path is tried from the working
    directory, then from the course folder); (2) the course's ``datasets/isbi2012``; (3) a
    download from `base_url` into the course's ``datasets/`` (or the user cache
    when the course is pip-installed). Every file's sha256 is checked against
    the manifest; a corrupt or partial download is fetched again.

    Parameters
    ----------
    data_dir : path-like, optional
        Folder that holds ``isbi2012/``. Overrides ``UNET_COURSE_DATA``.
    base_url : str
        Where to download from; the default is the public copy.
    download : bool, default True
        Allow step (3).
    verbose : bool, default False
        Say where the data came from.

    Returns
    -------
    pathlib.Path
        The ``isbi2012`` folder.

    Raises
    ------
    FileNotFoundError
        The configured folder does not exist, or has no ``isbi2012/``.
    ValueError
        A file in the configured folder fails its checksum.
    ConnectionError
        The download failed (no network) and no local copy exists.
    """
    manifest = read_manifest()
    configured = data_dir if data_dir is not None else os.environ.get(DATA_VARIABLE)
    if configured:
        source = "data_dir" if data_dir is not None else DATA_VARIABLE
        root = _resolve(Path(configured).expanduser())
        folder = root / "isbi2012"
        if not folder.is_dir():
            raise FileNotFoundError(
                f"{source}={str(configured)!r}: no folder isbi2012/ there "
                f"({'the folder itself is missing' if not root.is_dir() else 'it is empty of it'}"
                "). Fix: point it to the folder that holds isbi2012/ (with train/image, "
                f"train/label and test inside), or unset {DATA_VARIABLE} to download the data."
            )
        bad = _verify(folder, manifest)
        if bad:
            raise ValueError(
                f"{source}={str(configured)!r}: {len(bad)} of {len(manifest)} ISBI 2012 files "
                f"are missing or fail their sha256 check, e.g. {', '.join(bad[:3])}. "
                "Fix: copy the files again from a verified source, or unset "
                f"{DATA_VARIABLE} to download them."
            )
        if verbose:
            print(f"ISBI 2012: verified local copy in {folder} (from {source})")
        return folder

    cache = _course_cache()
    missing = _verify(cache, manifest)
    if not missing:
        if verbose:
            print(f"ISBI 2012: verified copy in {cache}")
        return cache
    if not download:
        raise FileNotFoundError(
            f"ISBI 2012 is not in {cache} ({len(missing)} files missing or corrupt) "
            "and download=False. " + NO_DATA_HELP
        )
    if verbose:
        print(f"ISBI 2012: fetching {len(missing)} files from {base_url} into {cache} ...")
    _download(cache, manifest, base_url)
    if verbose:
        print(f"ISBI 2012: all {len(manifest)} files verified in {cache}")
    return cache


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


def load_isbi2012(
    *,
    data_dir: str | os.PathLike | None = None,
    base_url: str = ISBI2012_URL,
    download: bool = True,
    verbose: bool = True,
) -> ISBI2012:
    """Load the ISBI 2012 training images, their masks, and the challenge test images.

    Parameters are those of `find_isbi2012`, which this calls first.

    Returns
    -------
    ISBI2012
        ``images``: (30, 512, 512, 1) float32 in [0, 1];
        ``masks``: (30, 512, 512, 1) float32 in {0, 1}, 1 = cell interior (label 255),
        0 = membrane; ``test_images``: (30, 512, 512, 1) float32, unlabelled.
        All in index order 0..29.

    Examples
    --------
    >>> images, masks, test_images = load_isbi2012()  # doctest: +SKIP
    >>> images.shape, float(masks.mean().round(2))  # doctest: +SKIP
    ((30, 512, 512, 1), 0.78)
    """
    folder = find_isbi2012(data_dir=data_dir, base_url=base_url, download=download,
                           verbose=verbose)
    images, masks = load_image_mask_pairs(folder / "train" / "image", folder / "train" / "label")
    test_by_index = _by_index(folder / "test", "test", "*.png")
    test_images = np.stack([_read_grey(test_by_index[i]) for i in sorted(test_by_index)])
    test_images = _to_unit_float(test_images, "test_images")[..., np.newaxis]
    if len(images) != N_LABELLED:
        raise ValueError(f"Expected {N_LABELLED} labelled images in {folder}, got {len(images)}.")
    return ISBI2012(images, masks, test_images)


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
