"""Check that the installed versions are exactly the pins given (NAME==VERSION ...)."""

from __future__ import annotations

import sys
from importlib.metadata import version


def main(pins: list[str]) -> int:
    wrong = []
    for pin in pins:
        name, _, wanted = pin.partition("==")
        have = version(name)
        print(f"{name}: {have}" + ("" if have == wanted else f" (pinned {wanted})"))
        if have != wanted:
            wrong.append(pin)
    print(f"Python {sys.version.split()[0]}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
