"""The workshop deck builds, and what it builds is complete and opens offline.

One module-scoped fixture runs ``slides/build.py`` with this Python (as
``make slides`` does); the tests then read its outputs. The first build on a
fresh clone draws every figure and trains a small U-Net (a few minutes on two
cores); later builds reuse ``slides/figures`` and ``slides/build/cache``.

The PDF needs Debian's ``chromium`` (CI installs it in ``.ci/run``); without it
the PDF tests fail and say how to install it. The build runs ``npm ci`` in
``slides/`` once, to install Marp CLI from the npm registry.
"""

from __future__ import annotations

import importlib.util
import re
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
    """slides/build.py as a module, for its Markdown parsing and network-load checks."""
    spec = importlib.util.spec_from_file_location("slides_build", SLIDES / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_build_module()


@pytest.fixture(scope="module")
def built():
    """Run the deck's build once; return its completed process (it may have failed)."""
    try:
        result = subprocess.run(
            [sys.executable, str(SLIDES / "build.py")],
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
    if built.returncode != 0:
        pytest.fail("slides/build.py failed, so there is no PDF to check. If Chromium is "
                    "missing, install it: `apt-get update && apt-get install -y chromium` "
                    f"(or set CHROME_PATH).\n{_output(built)}")
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


def _load_figures_module():
    """slides/figures.py as a module (it imports helpers and matplotlib, not TensorFlow)."""
    sys.path.insert(0, str(SLIDES))
    try:
        spec = importlib.util.spec_from_file_location("slides_figures", SLIDES / "figures.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["slides_figures"] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SLIDES))
    return module


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
