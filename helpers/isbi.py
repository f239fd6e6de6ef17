"""ISBI 2012 EM membrane data: find it, fetch it, verify it, load it.

Introduced in notebook 01, section "Data". See ``datasets/README.md`` for the
provenance, citation and terms of use, and `helpers.data` for the general code
(pairing, validation, splits) that loading uses.
"""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import NamedTuple

import numpy as np

from helpers.data import _by_index, _read_grey, _to_unit_float, load_image_mask_pairs

__all__ = [
    "DATA_UNAVAILABLE",
    "ISBI2012",
    "ISBI2012_URL",
    "CourseData",
    "find_isbi2012",
    "load_isbi2012",
    "load_isbi2012_or_synthetic",
    "read_manifest",
]

ISBI2012_URL = (
    "https://raw.githubusercontent.com/karolzak/keras-unet/"
    "2b1c6d5ea1846b97ff7fa0f38ec371f20db73020/input/isbi2015/"
)
DATA_VARIABLE = "UNET_COURSE_DATA"
MANIFEST = "isbi2012.sha256"
N_LABELLED = 30
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

    The manifest is ``datasets/isbi2012/SHA256SUMS``; the package reaches it through
    ``helpers/isbi2012.sha256`` (a link to it), so a wheel carries it as package data.

    Returns
    -------
    dict of str -> str

    Examples
    --------
    >>> manifest = read_manifest()
    >>> len(manifest), manifest["train/label/0.png"][:8]
    (90, '13b67edd')
    """
    return _read_checksums(MANIFEST)


def _read_checksums(resource: str) -> dict[str, str]:
    """A ``sha256sum``-style file of the package (a link into datasets/): path -> sha256."""
    text = files("helpers").joinpath(resource).read_text()
    if text.startswith("../"):  # a checkout made without symlinks: the link's target, as text
        text = files("helpers").joinpath(text.strip()).read_text()
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
    root = _checkout_root()
    if root is not None:
        return root / "datasets" / "isbi2012"
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

def load_isbi2012(
    *,
    data_dir: str | os.PathLike | None = None,
    base_url: str = ISBI2012_URL,
    download: bool = True,
    verbose: bool = True,
) -> ISBI2012:
    """Load the ISBI 2012 training images, their masks, and the challenge test images.

    Parameters
    ----------
    data_dir : path-like, optional
    base_url : str
    download : bool, default True
    verbose : bool, default True
        As for `find_isbi2012`, which this calls first.

    Returns
    -------
    ISBI2012
        ``images``: (30, 512, 512, 1) float32 in [0, 1];
        ``masks``: (30, 512, 512, 1) float32 in {0, 1}, 1 = cell interior (label 255),
        0 = membrane; ``test_images``: (30, 512, 512, 1) float32, unlabelled.
        All in index order 0..29.

    Examples
    --------
    >>> load_isbi2012(data_dir="no-such-folder")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: data_dir='no-such-folder': no folder isbi2012/ there ...
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


#: The errors that mean "ISBI 2012 cannot be had here", as `find_isbi2012` documents them:
#: no copy and no download (`ConnectionError`, `FileNotFoundError`), or a copy that fails
#: its checksums (`ValueError`). `load_isbi2012_or_synthetic` catches these, and only these.
DATA_UNAVAILABLE = (ConnectionError, FileNotFoundError, ValueError)


class CourseData(NamedTuple):
    """What `load_isbi2012_or_synthetic` returns; unpack it as
    ``images, masks, test_images, synthetic``."""

    images: np.ndarray
    masks: np.ndarray
    test_images: np.ndarray
    synthetic: bool


def load_isbi2012_or_synthetic(*, verbose: bool = True) -> CourseData:
    """ISBI 2012 when it can be had, else the synthetic look-alike, saying why.

    Introduced in notebook 01, section "1. Concepts on real numbers"; notebook 02,
    the benchmarks and the slides' figures load their data the same way. Without
    network and without a local copy, the course still runs: on
    `synthetic_membranes` images of the same shape (30 labelled, 30 unlabelled,
    512 x 512), and ``synthetic`` is True so that claims true only of ISBI can be
    checked only on ISBI.

    Parameters
    ----------
    verbose : bool, default True
        Passed to `load_isbi2012` (say where the data came from).

    Returns
    -------
    CourseData
        ``images``, ``masks``, ``test_images`` as `load_isbi2012` returns them, and
        ``synthetic``.

    Notes
    -----
    Of `load_isbi2012`'s errors, those in `DATA_UNAVAILABLE` lead to the fallback,
    with their message printed; any other error is raised.

    Examples
    --------
    >>> ConnectionError in DATA_UNAVAILABLE  # no network and no copy: the look-alike
    True
    >>> data = load_isbi2012_or_synthetic(verbose=False)  # doctest: +SKIP
    >>> data.images.shape, data.synthetic  # doctest: +SKIP
    ((30, 512, 512, 1), False)
    """
    from helpers.synthetic import synthetic_membranes

    try:
        images, masks, test_images = load_isbi2012(verbose=verbose)
        return CourseData(images, masks, test_images, synthetic=False)
    except DATA_UNAVAILABLE as error:
        print(f"ISBI 2012 is not available here ({error}).")
        print("Using the synthetic look-alike instead: the lesson is the same, the numbers "
              "differ.")
    images, masks = synthetic_membranes(N_LABELLED, size=512, seed=0)
    test_images, _ = synthetic_membranes(N_LABELLED, size=512, seed=1)
    return CourseData(images, masks, test_images, synthetic=True)
