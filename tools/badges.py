"""Write the course's repository URL (pyproject.toml, [project.urls] Repository)
into every Open-in-Colab badge and install line; --check only reports drift.

The URL is written by hand in one place only; this script copies it.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = ["README.md", "notebooks/*.py", "notebooks/*.ipynb", "slides/*.md"]
PATTERNS = [
    # Open-in-Colab links: colab.research.google.com/github/OWNER/REPO/blob/...
    re.compile(r"(colab\.research\.google\.com/github/)[\w.-]+/[\w.-]+(/blob/)"),
    # pip installs from the repository: git+https://github.com/OWNER/REPO
    re.compile(r"(git\+https://github\.com/)[\w.-]+/[\w.-]+?(\.git|(?=[\"'\s@]))"),
]


def repository() -> str:
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    owner_repo = urls["Repository"].removeprefix("https://github.com/").strip("/")
    if owner_repo.count("/") != 1:
        raise SystemExit(f"pyproject.toml: Repository must be https://github.com/OWNER/REPO, "
                         f"got {urls['Repository']!r}")
    return owner_repo


def rewrite(text: str, owner_repo: str) -> str:
    for pattern in PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + owner_repo + (m.group(2) or ""), text)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fix", action="store_true")
    args = parser.parse_args()
    owner_repo = repository()
    drift = []
    for pattern in FILES:
        for path in sorted(ROOT.glob(pattern)):
            text = path.read_text(encoding="utf-8")
            new = rewrite(text, owner_repo)
            if new != text:
                drift.append(path.relative_to(ROOT))
                if args.fix:
                    path.write_text(new, encoding="utf-8")
    for path in drift:
        print(f"{'fixed' if args.fix else 'out of date'}: {path} (repository {owner_repo})")
    return 1 if drift and not args.fix else 0


if __name__ == "__main__":
    sys.exit(main())
