"""The download path of find_isbi2012/load_isbi2012, against a real HTTP server on 127.0.0.1.

The server serves a copy of the read-only mirror; downloads go to a temporary
course cache (the autouse ``course_cache`` fixture of conftest.py).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import socket
import sys
import threading
import types
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

import helpers.isbi as isbi_module
from helpers import find_isbi2012, load_isbi2012, read_manifest

REPO_ROOT = Path(__file__).resolve().parents[1]

N_FILES = 90


class _CountingHandler(SimpleHTTPRequestHandler):
    """Serves a folder, silently, recording every requested path."""

    requests: list[str]  # set per server

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.requests.append(self.path)
        super().do_GET()

    def log_message(self, format, *args):  # noqa: A002
        pass


@pytest.fixture
def http_server():
    """Start servers: ``start(directory) -> (base_url, requests)``; all are shut down after."""
    servers = []

    def start(directory: Path):
        requests: list[str] = []
        handler = type("Handler", (_CountingHandler,), {"requests": requests})
        server = ThreadingHTTPServer(("127.0.0.1", 0),
                                     functools.partial(handler, directory=str(directory)))
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True)
        thread.start()
        servers.append((server, thread))
        port = server.server_address[1]
        return f"http://127.0.0.1:{port}/isbi2012/", requests

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        assert not thread.is_alive()


@pytest.fixture
def no_data_variable(monkeypatch):
    monkeypatch.delenv("UNET_COURSE_DATA", raising=False)


@pytest.fixture
def no_retry_wait(monkeypatch):
    """pooch waits 1 s, then 2 s, between retries; record the waits instead."""
    import pooch.core

    waits = []
    monkeypatch.setattr(pooch.core, "time", types.SimpleNamespace(sleep=waits.append))
    return waits


def _files(requests: list[str]) -> list[str]:
    return sorted(path.removeprefix("/isbi2012/") for path in requests)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[100:108] = bytes(255 - b for b in data[100:108])
    path.write_bytes(bytes(data))


def test_load_isbi2012_downloads_then_uses_cache(mirror_root, isbi, http_server,
                                                 no_data_variable, course_cache, capsys):
    base_url, requests = http_server(mirror_root)
    data = load_isbi2012(base_url=base_url, verbose=True)
    assert _files(requests) == sorted(read_manifest())
    assert len(requests) == N_FILES
    out = capsys.readouterr().out
    assert f"fetching {N_FILES} files from {base_url}" in out
    for name, digest in read_manifest().items():
        assert _sha256(course_cache / name) == digest
    for downloaded, reference in zip(data, isbi, strict=True):
        np.testing.assert_array_equal(downloaded, reference)
    assert sorted(p.relative_to(course_cache).as_posix()
                  for p in course_cache.rglob("*") if p.is_file()) == sorted(read_manifest())

    requests.clear()
    again = find_isbi2012(base_url=base_url, verbose=True)
    assert again == course_cache
    assert requests == []
    assert "verified copy" in capsys.readouterr().out


def _copy_data(source: Path, destination: Path) -> None:
    """Copy the 90 manifest files (only those) from one isbi2012 folder to another."""
    for name in read_manifest():
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, destination / name)


@pytest.fixture
def filled_cache(mirror, course_cache) -> Path:
    """The course cache, already holding a verified copy (copied, not downloaded)."""
    _copy_data(mirror, course_cache)
    return course_cache


def test_find_isbi2012_download_is_quiet(http_server, mirror_root, no_data_variable, capsys):
    import pooch

    # pooch's handler holds the stderr of the moment pooch was imported: point it at capsys.
    handlers = pooch.get_logger().handlers
    streams = [h.setStream(sys.stderr) for h in handlers]
    try:
        base_url, _ = http_server(mirror_root)
        find_isbi2012(base_url=base_url, verbose=False)
    finally:
        for handler, stream in zip(handlers, streams, strict=True):
            if stream is not None:
                handler.setStream(stream)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Downloading file" not in captured.err


def test_find_isbi2012_cache_hit_no_request(http_server, mirror_root, filled_cache,
                                            no_data_variable):
    base_url, requests = http_server(mirror_root)
    assert find_isbi2012(base_url=base_url) == filled_cache
    assert requests == []


@pytest.mark.parametrize("name", ["train/image/2.png", "train/label/29.png", "test/10.png"])
def test_find_isbi2012_refetches_corrupted_cache_file(http_server, mirror_root, filled_cache,
                                                      no_data_variable, name):
    _corrupt(filled_cache / name)
    base_url, requests = http_server(mirror_root)
    assert find_isbi2012(base_url=base_url) == filled_cache
    assert _files(requests) == [name]
    assert _sha256(filled_cache / name) == read_manifest()[name]


def test_find_isbi2012_refetches_missing_cache_files(http_server, mirror_root, filled_cache,
                                                     no_data_variable):
    missing = ["test/0.png", "train/label/11.png"]
    for name in missing:
        (filled_cache / name).unlink()
    base_url, requests = http_server(mirror_root)
    find_isbi2012(base_url=base_url)
    assert _files(requests) == sorted(missing)


@pytest.mark.parametrize("name", ["train/label/7.png", "test/0.png"])
def test_load_isbi2012_server_serves_wrong_bytes(http_server, mirror, tmp_path, course_cache,
                                                 no_data_variable, no_retry_wait, name):
    served = tmp_path / "served"
    shutil.copytree(mirror, served / "isbi2012")
    _corrupt(served / "isbi2012" / name)
    # Everything else is cached already, so only the altered file is requested.
    _copy_data(mirror, course_cache)
    (course_cache / name).unlink()
    base_url, requests = http_server(served)

    with pytest.raises(ValueError, match="does not match its sha256") as info:
        load_isbi2012(base_url=base_url, verbose=False)
    message = str(info.value)
    assert name in message
    assert base_url in message
    assert set(_files(requests)) == {name}  # pooch retries the same file
    # Nothing with the wrong content under a final name; no stray temporary files.
    assert not (course_cache / name).exists()
    manifest = read_manifest()
    for path in course_cache.rglob("*"):
        if path.is_file():
            relative = path.relative_to(course_cache).as_posix()
            assert relative in manifest, f"stray file {relative} left in the cache"
            assert _sha256(path) == manifest[relative]


def test_load_isbi2012_wrong_bytes_in_empty_cache(http_server, mirror, tmp_path, course_cache,
                                                  no_data_variable, no_retry_wait):
    name = "train/image/4.png"
    served = tmp_path / "served"
    shutil.copytree(mirror, served / "isbi2012")
    _corrupt(served / "isbi2012" / name)
    base_url, requests = http_server(served)
    with pytest.raises(ValueError, match=name.replace(".", r"\.")):
        find_isbi2012(base_url=base_url)
    assert not (course_cache / name).exists()
    manifest = read_manifest()
    for path in course_cache.rglob("*.png"):
        relative = path.relative_to(course_cache).as_posix()
        assert _sha256(path) == manifest[relative]


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_load_isbi2012_connection_refused(no_data_variable, no_retry_wait, course_cache):
    base_url = f"http://127.0.0.1:{_closed_port()}/isbi2012/"
    with pytest.raises(ConnectionError) as info:
        load_isbi2012(base_url=base_url, verbose=False)
    message = str(info.value)
    assert "UNET_COURSE_DATA" in message
    assert "synthetic_membranes" in message
    assert base_url in message
    assert not isinstance(info.value, ValueError)
    assert no_retry_wait == [1, 2]  # it did retry (twice) before giving up
    assert [p for p in course_cache.rglob("*") if p.is_file()] == []


def test_load_isbi2012_http_404(http_server, tmp_path, no_data_variable, no_retry_wait):
    empty = tmp_path / "empty"
    (empty / "isbi2012").mkdir(parents=True)
    base_url, requests = http_server(empty)
    with pytest.raises(ConnectionError, match="404"):
        find_isbi2012(base_url=base_url)
    assert len(requests) == 3  # one file, tried three times


def test_load_isbi2012_download_false_empty_cache(no_data_variable, course_cache):
    with pytest.raises(FileNotFoundError, match="download=False") as info:
        load_isbi2012(download=False, verbose=False)
    message = str(info.value)
    assert str(course_cache) in message
    assert f"{N_FILES} files missing" in message
    assert "UNET_COURSE_DATA" in message and "synthetic_membranes" in message


def test_find_isbi2012_download_false_filled_cache(filled_cache, no_data_variable):
    assert find_isbi2012(download=False) == filled_cache


def test_find_isbi2012_data_variable_wins_over_cache(mirror_root, filled_cache, monkeypatch):
    monkeypatch.setenv("UNET_COURSE_DATA", str(mirror_root))
    assert find_isbi2012(download=False) == mirror_root / "isbi2012"


@pytest.mark.parametrize("base_url", ["htps://127.0.0.1:1/isbi2012/", "ftp://127.0.0.1/",
                                      "127.0.0.1/isbi2012/"])
def test_load_isbi2012_bad_url_scheme(base_url, no_data_variable, no_retry_wait, course_cache):
    with pytest.raises(ValueError, match="base_url must start with https:// or http://") as info:
        find_isbi2012(base_url=base_url)
    assert repr(base_url) in str(info.value)
    assert no_retry_wait == []  # refused before any attempt
    assert not course_cache.exists() or not any(course_cache.iterdir())


def test_find_isbi2012_local_copy_with_other_bytes_of_same_size_and_mtime_is_refused(
        mirror, tmp_path):
    # Every file of a local copy is hashed on every load (16 ms for ISBI's 13 MB, 3% of
    # load_isbi2012): a cheaper size-and-mtime check would pass this copy.
    copy = tmp_path / "copy" / "isbi2012"
    shutil.copytree(mirror, copy)  # copy2: sizes and mtimes as in the mirror
    bad = copy / "train" / "label" / "7.png"
    before = bad.stat()
    _corrupt(bad)
    os.utime(bad, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert bad.stat().st_size == before.st_size and bad.stat().st_mtime == before.st_mtime
    with pytest.raises(ValueError, match=r"1 of 90 ISBI 2012 files are missing or fail their "
                                         r"sha256 check, e\.g\. train/label/7\.png"):
        find_isbi2012(data_dir=copy.parent)


# The real function, taken before the autouse fixture of conftest.py replaces it.
REAL_COURSE_CACHE = isbi_module._course_cache


def test_downloads_land_in_the_checkouts_datasets_folder():
    assert REAL_COURSE_CACHE() == REPO_ROOT / "datasets" / "isbi2012"


def test_downloads_land_in_the_user_cache_when_pip_installed(monkeypatch, tmp_path):
    import pooch

    monkeypatch.setattr(isbi_module, "_checkout_root", lambda: None)
    monkeypatch.setattr(pooch, "os_cache", lambda name: tmp_path / "user-cache" / name)
    assert REAL_COURSE_CACHE() == tmp_path / "user-cache" / "unet-course" / "isbi2012"


@pytest.mark.parametrize("where", ["working directory", "course folder"])
def test_find_isbi2012_relative_data_variable(where, mirror_root, monkeypatch, tmp_path):
    # A relative UNET_COURSE_DATA is read from the working directory, else the course folder.
    base = tmp_path / "elsewhere" / "deeper" if where == "course folder" else mirror_root.parent
    base.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(base)
    relative = os.path.relpath(mirror_root, REPO_ROOT if where == "course folder" else base)
    assert not Path(relative).is_absolute()
    if where == "course folder":
        assert not (base / relative).is_dir()
    monkeypatch.setenv("UNET_COURSE_DATA", relative)
    assert find_isbi2012(download=False).resolve() == (mirror_root / "isbi2012").resolve()
