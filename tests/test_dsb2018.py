"""helpers.dsb2018: the manifest, the local mirror, and the download of an archive, each file
checked (against a real HTTP server on 127.0.0.1, serving a small archive of mirror files)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

import helpers
import helpers.dsb2018 as dsb
from helpers import find_dsb2018, load_folder, read_dsb2018_manifest
from tests.test_download import http_server  # noqa: F401 (a fixture)


@pytest.fixture(scope="module")
def dsb_mirror(mirror_root) -> Path:
    folder = mirror_root / "dsb2018"
    if not folder.is_dir():
        pytest.skip(f"no dsb2018/ beside isbi2012/ in {mirror_root}")
    return folder


def test_read_dsb2018_manifest_lists_the_subset():
    manifest = read_dsb2018_manifest()
    images = [name for name in manifest if "/images/" in name]
    assert len(manifest) == 4738 and len(images) == 100
    assert all(name.startswith("stage1_train/") for name in manifest)
    assert all(len(digest) == 64 for digest in manifest.values())


@pytest.mark.slow
def test_find_dsb2018_local_mirror_is_verified_and_loads(dsb_mirror, monkeypatch):
    monkeypatch.setenv("UNET_COURSE_DATA", str(dsb_mirror.parent))
    folder = find_dsb2018()
    assert folder == dsb_mirror / "stage1_train"
    data = load_folder(folder, verbose=False)
    assert len(data.images) == 100
    assert sum(int(mask.max()) for mask in data.masks) == 4638  # PROVENANCE.md's count
    assert int(data.table["overlapping pixels"].sum()) == 2     # and its one overlap
    assert len(data.table.groupby(["height", "width"])) == 7


def test_find_dsb2018_names_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no folder dsb2018/ there"):
        find_dsb2018(data_dir=tmp_path)


def _small_subset(dsb_mirror: Path, n: int = 6) -> dict[str, str]:
    manifest = read_dsb2018_manifest()
    return dict(list(manifest.items())[:n])


def _archive(dsb_mirror: Path, subset: dict[str, str], folder: Path, corrupt: str = "") -> Path:
    path = folder / "archive.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name in subset:
            data = (dsb_mirror / name).read_bytes()
            archive.writestr(dsb._ARCHIVE_ROOT + name, data[:-1] if name == corrupt else data)
    return path


def test_find_dsb2018_downloads_the_archive_and_checks_each_file(dsb_mirror, tmp_path,
                                                                 monkeypatch, http_server):  # noqa: F811
    monkeypatch.delenv("UNET_COURSE_DATA", raising=False)
    subset = _small_subset(dsb_mirror)
    monkeypatch.setattr(dsb, "read_dsb2018_manifest", lambda: subset)
    served = tmp_path / "served"
    served.mkdir()
    _archive(dsb_mirror, subset, served)
    base_url, requests = http_server(served)
    url = base_url.replace("/isbi2012/", "/archive.zip")
    folder = find_dsb2018(archive_url=url)
    cache = folder.parent
    for name, digest in subset.items():
        assert hashlib.sha256((cache / name).read_bytes()).hexdigest() == digest
    assert not list(cache.rglob("*.part")) and not (cache / "download" / "archive.zip").exists()
    assert requests == ["/archive.zip"]
    find_dsb2018(archive_url=url)  # a verified cache: no second request
    assert requests == ["/archive.zip"]


def test_find_dsb2018_refuses_a_file_that_fails_its_checksum(dsb_mirror, tmp_path, monkeypatch,
                                                             http_server):  # noqa: F811
    monkeypatch.delenv("UNET_COURSE_DATA", raising=False)
    subset = _small_subset(dsb_mirror)
    monkeypatch.setattr(dsb, "read_dsb2018_manifest", lambda: subset)
    served = tmp_path / "served"
    served.mkdir()
    bad = list(subset)[3]
    _archive(dsb_mirror, subset, served, corrupt=bad)
    base_url, _ = http_server(served)
    with pytest.raises(ValueError, match="does not match its sha256"):
        find_dsb2018(archive_url=base_url.replace("/isbi2012/", "/archive.zip"))
    assert not (tmp_path / "course-cache" / "dsb2018" / bad).exists()


def test_find_dsb2018_local_copy_with_other_bytes_of_same_size_and_mtime_is_refused(
        dsb_mirror, tmp_path, monkeypatch):
    # Each load hashes every file of the local copy again (about 0.3 s for the 4,738
    # files, 2% of loading the folder), so a file changed in place is named.
    import os
    import shutil

    subset = _small_subset(dsb_mirror)
    monkeypatch.setattr(dsb, "read_dsb2018_manifest", lambda: subset)
    copy = tmp_path / "copy" / "dsb2018"
    for name in subset:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(dsb_mirror / name, copy / name)
    bad = list(subset)[3]
    before = (copy / bad).stat()
    data = bytearray((copy / bad).read_bytes())
    data[-1] ^= 0xFF
    (copy / bad).write_bytes(bytes(data))
    os.utime(copy / bad, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (copy / bad).stat().st_size == before.st_size
    with pytest.raises(ValueError, match="1 of 6 DSB 2018 files are missing or fail their "
                                         "sha256 check") as info:
        find_dsb2018(data_dir=copy.parent)
    assert bad in str(info.value)


def test_find_dsb2018_offline_raises_connection_error(monkeypatch, tmp_path):
    monkeypatch.delenv("UNET_COURSE_DATA", raising=False)
    with pytest.raises(ConnectionError, match="Could not download"):
        find_dsb2018(archive_url="http://127.0.0.1:9/archive.zip")
    with pytest.raises(FileNotFoundError, match="download=False"):
        find_dsb2018(download=False)


def test_synthetic_nuclei_labels_are_exact_and_some_touch():
    from skimage.measure import label

    images, labels = helpers.synthetic_nuclei(4, seed=3)
    assert [image.shape for image in images] == list(helpers.synthetic.NUCLEI_SIZES)
    touching = 0
    for objects in labels:
        assert objects.dtype.kind == "i"
        merged = label(objects > 0, connectivity=1).max()
        touching += int(objects.max()) - int(merged)
    assert touching > 0
