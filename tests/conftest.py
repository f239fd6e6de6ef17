"""Shared fixtures for the helpers test suite.

- Matplotlib runs headless (Agg), selected before anything imports pyplot.
- No test may reach the network beyond 127.0.0.1: name resolution and socket
  connections to any other host fail loudly (an autouse, session-wide guard).
- No test may write into the repository: the course's download caches
  (``datasets/isbi2012`` and ``datasets/dsb2018`` in a checkout) are redirected to a
  temporary folder for every test.
- The read-only ISBI 2012 mirror is found through ``UNET_COURSE_DATA`` (CI sets
  it relative to the repository root); tests that need it skip when it is
  unset or missing.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pooch  # noqa: E402, F401
import pytest  # noqa: E402

# pooch gives its logger a StreamHandler bound to the sys.stderr of the moment it is first
# imported. Importing it here binds it to pytest's session-long capture, not to the
# short-lived stream of one test's capsys (which would make later log calls fail).

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_VARIABLE = "UNET_COURSE_DATA"
N_FILES = 90  # 30 training images, 30 labels, 30 test images


# --------------------------------------------------------------------------- network guard

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _is_local(host) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode()
    host = str(host)
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def _no_network_beyond_localhost():
    """Fail any attempt to resolve or connect to a host other than the loopback."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host, *args, **kwargs):
        if not _is_local(host):
            raise OSError(f"tests may not resolve {host!r}: network access beyond 127.0.0.1")
        return real_getaddrinfo(host, *args, **kwargs)

    def _check(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            raise OSError(f"tests may not connect to {address!r}: network access beyond 127.0.0.1")

    def connect(self, address):
        _check(self, address)
        return real_connect(self, address)

    def connect_ex(self, address):
        _check(self, address)
        return real_connect_ex(self, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", getaddrinfo)
        patch.setattr(socket.socket, "connect", connect)
        patch.setattr(socket.socket, "connect_ex", connect_ex)
        yield


# --------------------------------------------------------------------------- download cache


@pytest.fixture(autouse=True)
def course_cache(tmp_path, monkeypatch) -> Path:
    """Where `find_isbi2012` would download to: a temporary folder, never the checkout."""
    import helpers.dsb2018 as dsb2018
    import helpers.isbi as isbi

    cache = tmp_path / "course-cache" / "isbi2012"
    monkeypatch.setattr(isbi, "_course_cache", lambda: cache)
    monkeypatch.setattr(dsb2018, "_course_cache", lambda: tmp_path / "course-cache" / "dsb2018")
    return cache


# --------------------------------------------------------------------------- ISBI 2012 mirror


def _mirror_root() -> Path | None:
    """The folder holding ``isbi2012/``, from UNET_COURSE_DATA, or None."""
    configured = os.environ.get(DATA_VARIABLE)
    if not configured:
        return None
    path = Path(configured).expanduser()
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, REPO_ROOT / path]
    for candidate in candidates:
        if (candidate / "isbi2012").is_dir():
            return candidate.resolve()
    return None


@pytest.fixture(scope="session")
def mirror_root() -> Path:
    """The ISBI 2012 mirror root (holding ``isbi2012/``); skips the test without it."""
    configured = os.environ.get(DATA_VARIABLE)
    if not configured:
        pytest.skip(f"{DATA_VARIABLE} is not set: no local ISBI 2012 mirror to test against "
                    f"(set {DATA_VARIABLE} to the folder that holds isbi2012/)")
    root = _mirror_root()
    if root is None:
        pytest.skip(f"{DATA_VARIABLE}={configured!r}: no folder isbi2012/ there "
                    "(relative to the working directory or the repository root)")
    return root


@pytest.fixture(scope="session")
def mirror(mirror_root) -> Path:
    """The ``isbi2012`` folder of the mirror."""
    return mirror_root / "isbi2012"


@pytest.fixture(scope="session")
def isbi(mirror_root):
    """`load_isbi2012()` with UNET_COURSE_DATA pointing at the mirror, loaded once."""
    import helpers

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DATA_VARIABLE, str(mirror_root))
        return helpers.load_isbi2012(verbose=False)


# --------------------------------------------------------------------------- small helpers


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")
