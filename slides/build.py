"""Build the workshop deck: figures from code, then HTML and PDF with Marp.

    make slides                                 # or: .venv/bin/python -m slides.build
    .venv/bin/python -m slides.build --force    # redraw every figure, retrain the small model
    .venv/bin/python -m slides.build --no-pdf   # HTML only: no Chromium needed

from the repository root (``slides`` and ``benchmarks`` are packages there).

Steps:

1. Figures: ``slides/figures.py`` draws them into ``slides/figures/`` from
   `helpers`, the workshop's recipe in ``benchmarks/_common.py`` and the ISBI 2012
   data (``UNET_COURSE_DATA``, else the course's ``datasets/``, else a download; the
   synthetic stand-in if none works). They are redrawn only when their code or
   data change (``slides/figures/.stamp``); the small trained model is cached in
   ``slides/build/cache/``.
2. Benchmark figures: the results slide's table (between ``<!-- bench:start -->``
   and ``<!-- bench:end -->``) is rendered from ``benchmarks/published.json`` by
   ``benchmarks.report``, the same code that writes the README's table.
3. Marp CLI, from npm (``slides/package.json`` and its lock file), installed
   into ``slides/node_modules`` on first use.
4. ``slides/build/deck.html``: one file with the figures inside, which opens
   offline; the build checks that it loads nothing from the network.
5. ``slides/build/deck.pdf``: the same slides printed by Chromium (Debian's
   ``chromium`` package, or ``CHROME_PATH``).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import helpers
from benchmarks import report

SLIDES = Path(__file__).resolve().parent
ROOT = SLIDES.parent
DECK = SLIDES / "deck.md"
THEME = SLIDES / "theme" / "course.css"
FIGURES_DIR = SLIDES / "figures"
BUILD = SLIDES / "build"
CACHE = BUILD / "cache"
STAMP = FIGURES_DIR / ".stamp"
NODE_MODULES = SLIDES / "node_modules"
MARP = NODE_MODULES / ".bin" / "marp"
LOCK = SLIDES / "package-lock.json"
LOCK_STAMP = NODE_MODULES / ".course-lock-sha256"
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<path>figures/[^)\s]+\.(?P<ext>png|jpg))\)")
FENCE = re.compile(r"^(```|~~~)")

NO_CHROMIUM = (
    "The PDF needs Chromium, and none was found (looked for CHROME_PATH, /usr/bin/chromium "
    "and {names} on PATH). Fix: on Debian or Ubuntu, as root: "
    "`apt-get update && apt-get install -y chromium`; elsewhere install Chromium or Chrome "
    "and set CHROME_PATH to its executable. The HTML deck is built: {html}"
)


class BuildError(RuntimeError):
    """A step failed; the message says what to do."""


def log(message: str) -> None:
    print(f"[slides] {message}", flush=True)


# ----------------------------------------------------------------------------- the source


def front_matter_and_body(text: str) -> tuple[str, str]:
    """Split Marp's YAML front matter (between the first two '---' lines) from the slides."""
    lines = text.splitlines(keepends=True)
    if lines and lines[0].strip() == "---":
        for index in range(1, len(lines)):
            if lines[index].strip() == "---":
                return "".join(lines[: index + 1]), "".join(lines[index + 1 :])
    return "", text


def count_slides(text: str) -> int:
    """Slides in a Marp source: '---' separators outside code fences, plus one."""
    _, body = front_matter_and_body(text)
    separators, in_fence = 0, False
    for line in body.splitlines():
        if FENCE.match(line.strip()):
            in_fence = not in_fence
        elif not in_fence and line.strip() == "---":
            separators += 1
    return separators + 1


def referenced_figures(text: str) -> list[str]:
    """File names of the figures the deck shows, in order, without repeats."""
    names = [Path(match["path"]).name for match in IMAGE.finditer(text)]
    return list(dict.fromkeys(names))


# ----------------------------------------------------------------------------- figures


def _source_digest() -> str:
    """What the figures depend on: their code, `helpers`, and the training settings."""
    digest = hashlib.sha256()
    paths = [SLIDES / "figures.py", ROOT / "benchmarks" / "_common.py"]
    paths += sorted((ROOT / "helpers").glob("*.py")) + sorted((ROOT / "datasets").glob("*.py"))
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _local_data() -> str:
    """'isbi2012' when a verified copy is at hand without downloading, else 'none'."""
    try:
        helpers.find_isbi2012(download=False)
        return "isbi2012"
    except (FileNotFoundError, ValueError, ConnectionError):
        return "none"


def figures_up_to_date(names: list[str]) -> bool:
    if not STAMP.is_file():
        return False
    stamp = json.loads(STAMP.read_text())
    if stamp.get("source") != _source_digest():
        return False
    # Redraw when real data have appeared since a synthetic build, or vanished.
    if (stamp.get("data") == "isbi2012") != (_local_data() == "isbi2012"):
        return False
    return all((FIGURES_DIR / name).is_file() and (FIGURES_DIR / name).stat().st_size
               for name in names)


def build_figures(names: list[str], force: bool) -> None:
    if not force and figures_up_to_date(names):
        log(f"figures: all {len(names)} up to date in slides/figures/")
        return
    log("figures: drawing (the first build trains a small U-Net for 120 steps)")
    from slides import figures  # matplotlib and the figures' code: only when drawing

    made = {figures.file_name(name) for name in figures.FIGURES}
    unknown = sorted(set(names) - made)
    if unknown:
        raise BuildError(f"deck.md shows figures that figures.py does not make: {unknown}")
    if force:
        shutil.rmtree(CACHE, ignore_errors=True)
    context = figures.make_figures(FIGURES_DIR, CACHE)
    made = {figures.file_name(name) for name in figures.FIGURES}
    for old in [*FIGURES_DIR.glob("*.png"), *FIGURES_DIR.glob("*.jpg")]:
        if old.name not in made:
            old.unlink()  # left over from an earlier version of figures.py
    STAMP.write_text(json.dumps({"source": _source_digest(), "data": context.data.source}))


def check_figures(names: list[str]) -> None:
    missing = [name for name in names
               if not (FIGURES_DIR / name).is_file() or not (FIGURES_DIR / name).stat().st_size]
    if missing:
        raise BuildError(f"figures missing or empty in slides/figures/: {missing}")


# ----------------------------------------------------------------------------- Marp


def _lock_digest() -> str:
    return hashlib.sha256(LOCK.read_bytes()).hexdigest()


def ensure_marp() -> None:
    """Install Marp CLI from the lock file into slides/node_modules (once per lock file)."""
    if MARP.exists() and LOCK_STAMP.is_file() and LOCK_STAMP.read_text() == _lock_digest():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError(
            "npm is not installed, and the deck is built with Marp CLI from npm. Fix: install "
            "Node.js 18 or newer with npm (Debian: `apt-get install -y nodejs npm`)."
        )
    log("Marp CLI: installing from slides/package-lock.json (npm ci) ...")
    result = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund",
                             "--loglevel=error"],
                            cwd=SLIDES, capture_output=True, text=True)
    if result.returncode != 0 or not MARP.exists():
        raise BuildError(f"`npm ci` in slides/ failed:\n{result.stdout}\n{result.stderr}")
    LOCK_STAMP.write_text(_lock_digest())


def with_benchmarks(text: str) -> str:
    """The deck with its results table rendered from benchmarks/published.json."""
    if report.START not in text:
        return text
    if not report.PUBLISHED.is_file():
        raise BuildError(f"{report.PUBLISHED.relative_to(ROOT)} is missing: the results slide "
                         "is rendered from it. Fix: run `make bench` (it writes the file), or "
                         "restore it with git.")
    results, when = report.load_published()
    try:
        return report.replace_block(text, report.deck_block(results, when), "slides/deck.md")
    except ValueError as error:
        raise BuildError(str(error)) from error


def inline_figures(text: str) -> str:
    """Put each figure into the Markdown as a data URI, so the HTML is one offline file."""

    def embed(match):
        data = base64.b64encode((SLIDES / match["path"]).read_bytes()).decode("ascii")
        kind = "jpeg" if match["ext"] == "jpg" else "png"
        return f"![{match['alt']}](data:image/{kind};base64,{data})"

    return IMAGE.sub(embed, text)


def run_marp(source: Path, output: Path, *extra: str, env=None) -> None:
    command = [str(MARP), str(source), "-o", str(output), "--no-config-file", "--html",
               "--theme", str(THEME), *extra]
    result = subprocess.run(command, cwd=SLIDES, capture_output=True, text=True, env=env)
    if result.returncode != 0 or not output.is_file():
        raise BuildError(f"Marp failed making {output.name}:\n{result.stdout}\n{result.stderr}")


# What would make the browser fetch something: scripts, styles, fonts, images, frames.
NETWORK_LOADS = [
    ("a script from the network", r"<script\b[^>]*\bsrc\s*=\s*[\"']?\s*(?:https?:)?//"),
    ("a <link> to the network", r"<link\b[^>]*\bhref\s*=\s*[\"']?\s*(?:https?:)?//"),
    ("an @import from the network", r"@import\s+(?:url\()?\s*[\"']?\s*(?:https?:)?//"),
    ("a CSS url() to the network", r"url\(\s*[\"']?\s*(?:https?:)?//"),
    ("an image, frame or media from the network",
     r"<(?:img|iframe|source|video|audio|embed|object|image|use)\b[^>]*"
     r"\b(?:src|srcset|data|href|xlink:href)\s*=\s*[\"']?\s*(?:https?:)?//"),
]


def network_loads(html: str) -> list[str]:
    """Descriptions of everything in `html` that would load from the network."""
    found = []
    for what, pattern in NETWORK_LOADS:
        for match in re.finditer(pattern, html, flags=re.IGNORECASE):
            found.append(f"{what}: {match.group(0)[:120]}")
    return found


def find_chromium() -> str | None:
    configured = os.environ.get("CHROME_PATH")
    if configured and Path(configured).is_file():
        return configured
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


# ----------------------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true",
                        help="redraw every figure and retrain the small model")
    parser.add_argument("--no-pdf", action="store_true", help="build the HTML deck only")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    text = DECK.read_text(encoding="utf-8")
    names = referenced_figures(text)
    slides = count_slides(text)
    log(f"deck.md: {slides} slides, {len(names)} figures")
    try:
        step = time.perf_counter()
        build_figures(names, args.force)
        check_figures(names)
        log(f"figures: {time.perf_counter() - step:.0f} s")

        ensure_marp()
        BUILD.mkdir(parents=True, exist_ok=True)
        inlined = BUILD / "deck.inlined.md"
        inlined.write_text(inline_figures(with_benchmarks(text)), encoding="utf-8")

        step = time.perf_counter()
        html_path, pdf_path = BUILD / "deck.html", BUILD / "deck.pdf"
        for stale in (html_path, pdf_path):
            stale.unlink(missing_ok=True)  # never leave an old deck beside a failed build
        run_marp(inlined, html_path)
        html = html_path.read_text(encoding="utf-8")
        loads = network_loads(html)
        if loads:
            raise BuildError("deck.html would load from the network:\n  " + "\n  ".join(loads))
        log(f"HTML: {html_path.relative_to(ROOT)} ({html_path.stat().st_size / 1e6:.1f} MB, "
            f"{time.perf_counter() - step:.0f} s), offline")

        if args.no_pdf:
            log(f"done in {time.perf_counter() - start:.0f} s (no PDF, as asked)")
            return 0
        chromium = find_chromium()
        if chromium is None:
            raise BuildError(NO_CHROMIUM.format(names=", ".join(CHROMIUM_CANDIDATES),
                                                html=html_path.relative_to(ROOT)))
        step = time.perf_counter()
        # Marp starts Chromium headless through puppeteer, with --no-sandbox when run
        # as root; CHROME_DISABLE_GPU adds --disable-gpu (no display here).
        env = dict(os.environ, CHROME_PATH=chromium, CHROME_DISABLE_GPU="1")
        run_marp(inlined, pdf_path, "--pdf", "--browser", "chrome", "--browser-path", chromium,
                 "--browser-timeout", "120", env=env)
        log(f"PDF: {pdf_path.relative_to(ROOT)} ({pdf_path.stat().st_size / 1e6:.1f} MB, "
            f"{time.perf_counter() - step:.0f} s)")
    except BuildError as error:
        print(f"[slides] ERROR: {error}", file=sys.stderr, flush=True)
        return 2
    log(f"done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
