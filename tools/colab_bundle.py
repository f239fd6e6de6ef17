"""Write the course bundle for Google Drive: dist/unet-course/ (`make colab-bundle`).

The bundle holds the three notebooks, a wheel of the course package (`helpers`) and a
short README. An instructor copies the folder to ``MyDrive/unet-course``; the
notebooks' install cell then installs the course from that wheel, with or
without a public repository. See slides/INSTRUCTOR.md.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What the wheel is built from (copied, so that the build writes nothing into the checkout).
PACKAGE_FILES = ["pyproject.toml", "README.md", "LICENSE", "helpers", "datasets"]

README = """# unet-course: the course bundle for Google Drive

Image segmentation with U-Net in Keras, version {version}.

- `01_introduction.ipynb`, `02_further_topics.ipynb`, `03_your_own_data.ipynb`: the notebooks.
- `{wheel}`: the course's `helpers` package.

Copy this whole folder to your Google Drive as `MyDrive/unet-course` (the name
matters). Open a notebook from there in Colab (double-click, then "Open with
Google Colaboratory"), choose *Runtime > Change runtime type > T4 GPU*, and
*Runtime > Run all*. The first cell asks to mount your Drive and installs the
course from the wheel in this folder; results go to `MyDrive/unet-course/outputs`.

Made by `make colab-bundle` from {repository}.
"""


def _not_packaged(folder: str, names: list[str]) -> set[str]:
    """Caches and downloaded images (datasets/isbi2012/{train,test},
    datasets/dsb2018/{stage1_train,download}) stay out of the wheel."""
    skip = {name for name in names if name == "__pycache__" or name.endswith(".pyc")}
    if Path(folder).name == "isbi2012":
        skip |= {"train", "test"} & set(names)
    if Path(folder).name == "dsb2018":
        skip |= {"stage1_train", "download"} & set(names)
    return skip


def build(output: Path) -> Path:
    """Write the bundle to `output` (replaced if it exists); return the wheel's path."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="unet-course-build-") as workdir:
        source = Path(workdir) / "source"
        for name in PACKAGE_FILES:
            path = ROOT / name
            if path.is_dir():
                shutil.copytree(path, source / name, ignore=_not_packaged)
            else:
                source.mkdir(exist_ok=True)
                shutil.copy2(path, source / name)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                        "--wheel-dir", str(output), str(source)], check=True)
    wheels = sorted(output.glob("*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one wheel in {output}, found {[w.name for w in wheels]}")
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copy2(notebook, output / notebook.name)
    (output / "README.md").write_text(README.format(
        version=project["version"], wheel=wheels[0].name,
        repository=project["urls"]["Repository"]), encoding="utf-8")
    return wheels[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=ROOT / "dist" / "unet-course")
    args = parser.parse_args()
    wheel = build(args.output)
    for path in sorted(args.output.iterdir()):
        print(f"{path.relative_to(args.output.parent)}  ({path.stat().st_size / 1e3:.0f} kB)")
    print(f"Copy {args.output} to Google Drive as MyDrive/unet-course ({wheel.name} inside).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
