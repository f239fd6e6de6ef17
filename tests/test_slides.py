"""The workshop deck builds, and what it builds is complete and opens offline.

One module-scoped fixture runs ``slides/build.py`` with this Python (as
``make slides`` does); the tests then read its outputs. The first build on a
fresh clone draws every figure and trains a small U-Net (a few minutes on two
cores); later builds reuse ``slides/figures`` and ``slides/build/cache``.

The build needs Node.js 18 or newer with npm (it runs ``npm ci`` in ``slides/``
once, to install Marp CLI from the npm registry), and the PDF needs Chromium.
Where one is missing, the tests that need it are skipped with a one-line reason
that names the install command; with ``CI=true`` they fail instead, because CI
must check the deck (``.ci/run`` installs Node.js, npm and Chromium from
Debian's packages).
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SLIDES = REPO_ROOT / "slides"
DECK = SLIDES / "deck.md"
HTML = SLIDES / "build" / "deck.html"
PDF = SLIDES / "build" / "deck.pdf"
BUILD_TIMEOUT_S = 600


def _load_build_module():
    """slides.build, for its Markdown parsing and network-load checks."""
    return importlib.import_module("slides.build")


build = _load_build_module()

# --------------------------------------------------------------------------- prerequisites

NODE_MIN_MAJOR = 18
INSTALL_NODE = "apt-get install -y nodejs npm"
INSTALL_CHROMIUM = "apt-get install -y chromium"


def missing_node(which=shutil.which, run=subprocess.run) -> str | None:
    """Why the deck cannot be built here (no Node.js >= 18 with npm), or None."""
    node, npm = which("node"), which("npm")
    if node is None or npm is None:
        absent = " and ".join(name for name, path in (("node", node), ("npm", npm)) if not path)
        return (f"no {absent} on PATH: the deck is built with Marp CLI from npm; install "
                f"Node.js >= {NODE_MIN_MAJOR} with npm (Debian, as root: `{INSTALL_NODE}`)")
    version = run([node, "--version"], capture_output=True, text=True).stdout.strip()
    match = re.match(r"v?(\d+)\.", version)
    if match is None or int(match.group(1)) < NODE_MIN_MAJOR:
        return (f"node {version or '(no version)'} is too old: Marp CLI needs Node.js >= "
                f"{NODE_MIN_MAJOR} (Debian 12 or newer, as root: `{INSTALL_NODE}`)")
    return None


def missing_chromium(find=build.find_chromium) -> str | None:
    """Why the PDF cannot be printed here (no Chromium or Chrome), or None."""
    if find() is None:
        return (f"no Chromium found (CHROME_PATH, chromium on PATH): the PDF deck is printed by "
                f"it; install it (Debian, as root: `{INSTALL_CHROMIUM}`)")
    return None


def on_ci(environ=os.environ) -> bool:
    """True where CI is set to true (GitHub Actions, GitLab and this course's .ci/run do)."""
    return environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def require(problem: str | None, *, environ=os.environ) -> None:
    """Skip a test whose outside tool is missing; on CI, fail it: CI must check the deck."""
    if problem is None:
        return
    if on_ci(environ):
        pytest.fail(f"CI=true, so the slide tests are required, but {problem}", pytrace=False)
    pytest.skip(problem)


# --------------------------------------------------------------------------- the build


@pytest.fixture(scope="module")
def built():
    """Run the deck's build once; return its completed process (it may have failed).

    Without Chromium (and not on CI), the build makes the HTML deck only.
    """
    require(missing_node())
    no_pdf = ["--no-pdf"] if missing_chromium() and not on_ci() else []
    try:
        result = subprocess.run(
            [sys.executable, "-m", "slides.build", *no_pdf],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"slides/build.py took longer than {BUILD_TIMEOUT_S} s:\n{error.stdout}")
    return result


def _output(result) -> str:
    return f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"


@pytest.fixture(scope="module")
def html(built) -> str:
    if not HTML.is_file():
        pytest.fail(f"slides/build.py wrote no HTML deck.\n{_output(built)}")
    return HTML.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pdf(built) -> bytes:
    require(missing_chromium())
    if built.returncode != 0:
        pytest.fail(f"slides/build.py failed, so there is no PDF to check.\n{_output(built)}")
    if not PDF.is_file():
        pytest.fail(f"slides/build.py reported success but wrote no PDF.\n{_output(built)}")
    return PDF.read_bytes()


def _deck() -> str:
    return DECK.read_text(encoding="utf-8")


def test_source_has_a_reasonable_number_of_slides():
    assert 30 <= build.count_slides(_deck()) <= 60


def test_build_succeeds(built):
    assert built.returncode == 0, _output(built)


def test_html_has_one_section_per_slide(html):
    # Marp puts each slide in <svg><foreignObject><section id="N" ...>; background
    # images would add extra sections marked data-marpit-advanced-background.
    sections = re.findall(r"<section\b(?![^>]*data-marpit-advanced-background)[^>]*>", html)
    assert len(sections) == build.count_slides(_deck())


def test_every_figure_the_source_shows_exists_and_is_not_empty(built):
    names = build.referenced_figures(_deck())
    assert names, "deck.md shows no figures"
    missing = [name for name in names if not (SLIDES / "figures" / name).is_file()]
    empty = [name for name in names
             if (SLIDES / "figures" / name).is_file()
             and (SLIDES / "figures" / name).stat().st_size == 0]
    assert not missing, f"figures missing from slides/figures: {missing}\n{_output(built)}"
    assert not empty, f"empty figures in slides/figures: {empty}"


def test_figures_are_inside_the_html(html):
    # The deck is one file: every figure is a data URI, none a path beside it.
    assert "figures/" not in re.sub(r"<!--.*?-->", "", html, flags=re.DOTALL)
    embedded = re.findall(r"data:image/(?:png|jpeg);base64,", html)
    assert len(embedded) >= len(build.referenced_figures(_deck()))


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ('<script src="https://cdn.example.org/x.js"></script>', True),
        ("<link rel=stylesheet href=//fonts.example.org/css>", True),
        ("@import url('https://fonts.googleapis.com/css?family=Lato');", True),
        ('@import "https://fonts.bunny.net/css?family=Lato";', True),
        ("background: url(http://example.org/bg.png)", True),
        ('<img src="https://example.org/a.png">', True),
        ('<svg xmlns="http://www.w3.org/2000/svg"></svg>', False),
        ('<a href="https://keras.io">Keras</a>', False),
        ('<img src="data:image/png;base64,AAAA">', False),
    ],
)
def test_network_load_check_catches_loads_and_only_loads(snippet, expected):
    assert bool(build.network_loads(snippet)) is expected


def test_html_loads_nothing_from_the_network(html):
    assert build.network_loads(html) == []


def test_pdf_starts_with_the_pdf_header(pdf):
    assert pdf.startswith(b"%PDF")


def _pdf_page_objects(data: bytes) -> int:
    """Count '/Type /Page' objects (not '/Pages'), also inside compressed object streams."""
    page = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
    count = len(page.findall(data))
    for match in re.finditer(rb"stream\r?\n", data):
        header = data[max(0, match.start() - 300) : match.start()]
        if b"/ObjStm" not in header or b"/FlateDecode" not in header:
            continue
        end = data.find(b"endstream", match.end())
        try:
            count += len(page.findall(zlib.decompress(data[match.end() : end])))
        except zlib.error:
            continue
    return count


def test_pdf_has_one_page_per_slide(pdf):
    assert _pdf_page_objects(pdf) == build.count_slides(_deck())


def test_pdf_page_count_helper_ignores_the_page_tree():
    data = b"%PDF-1.7\n1 0 obj << /Type /Pages /Count 2 >>\n2 0 obj << /Type /Page >>\n"
    assert _pdf_page_objects(data) == 1


# --------------------------------------------------------------------------- skip or require


def _fake_run(version):
    def run(command, **kwargs):
        return subprocess.CompletedProcess(command, 0, stdout=f"{version}\n", stderr="")

    return run


@pytest.mark.parametrize(
    ("found", "version", "expected"),
    [
        ({"node": "/usr/bin/node", "npm": "/usr/bin/npm"}, "v20.19.2", None),
        ({"node": "/usr/bin/node", "npm": "/usr/bin/npm"}, "v18.19.0", None),
        ({"node": "/usr/bin/node", "npm": "/usr/bin/npm"}, "v16.20.2", "too old"),
        ({"node": "/usr/bin/node", "npm": "/usr/bin/npm"}, "", "too old"),
        ({"node": "/usr/bin/node"}, "v20.19.2", "no npm on PATH"),
        ({}, "v20.19.2", "no node and npm on PATH"),
    ],
)
def test_missing_node_names_the_problem(found, version, expected):
    problem = missing_node(which=found.get, run=_fake_run(version))
    if expected is None:
        assert problem is None
    else:
        assert expected in problem and INSTALL_NODE in problem
        assert "\n" not in problem


def test_missing_chromium_names_the_install_command():
    assert missing_chromium(find=lambda: "/usr/bin/chromium") is None
    problem = missing_chromium(find=lambda: None)
    assert INSTALL_CHROMIUM in problem and "\n" not in problem


@pytest.mark.parametrize(("value", "expected"),
                         [("true", True), ("TRUE", True), ("1", True), ("", False),
                          ("false", False), ("0", False), (None, False)])
def test_on_ci_reads_the_ci_variable(value, expected):
    environ = {} if value is None else {"CI": value}
    assert on_ci(environ) is expected


def test_require_skips_with_the_reason_off_ci():
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        require(missing_chromium(find=lambda: None), environ={})


def test_require_fails_on_ci():
    with pytest.raises(pytest.fail.Exception, match="CI=true.*apt-get install -y nodejs npm"):
        require(missing_node(which=lambda name: None), environ={"CI": "true"})


@pytest.mark.parametrize("environ", [{}, {"CI": "true"}])
def test_require_passes_when_nothing_is_missing(environ):
    require(None, environ=environ)


def _load_figures_module():
    """slides.figures, imported afresh (it imports helpers and matplotlib, not TensorFlow)."""
    sys.modules.pop("slides.figures", None)
    return importlib.import_module("slides.figures")


@pytest.mark.parametrize(("wrong", "expected_share"), [
    ([(0, 0)], 0.0),          # far from the membrane in column 4
    ([(2, 3)], 1.0),          # next to it
    ([(0, 0), (2, 3)], 0.5),
    ([(5, 4), (7, 0)], 0.5),  # a membrane pixel is next to the edge too
    ([], 0.0),
])
def test_errors_near_edges_known_values(wrong, expected_share):
    figures = _load_figures_module()
    import numpy as np

    truth = np.ones((8, 8), dtype=bool)
    truth[:, 4] = False
    predicted = truth.copy()
    for row, col in wrong:
        predicted[row, col] = ~predicted[row, col]
    share, edge = figures._errors_near_edges(truth, predicted)
    assert share == pytest.approx(expected_share)
    assert edge == pytest.approx(24 / 64)  # columns 3, 4 and 5


def test_deck_has_no_results_typed_outside_the_generated_block():
    # The results slide's table comes from benchmarks/published.json (see
    # tests/test_benchmarks.py); no other line of the deck may state a pixel error.
    text = _deck()
    start, end = text.index("<!-- bench:start -->"), text.index("<!-- bench:end -->")
    outside = text[:start] + text[end:]
    assert not re.search(r"\b0\.\d{2,3}\b", outside), re.findall(r".*\b0\.\d{2,3}\b.*", outside)


def test_figures_import_leaves_matplotlib_settings_alone():
    # The deck's style applies only while make_figures draws; tests and notebooks that
    # import the module afterwards keep matplotlib's defaults.
    import matplotlib.pyplot as plt

    before = dict(plt.rcParams)
    figures = _load_figures_module()
    assert dict(plt.rcParams) == before
    # The check above can fail: the deck's style would change settings that matter.
    assert any(plt.rcParams[key] != value for key, value in figures.STYLE.items())
