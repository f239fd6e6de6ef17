"""One definition of each recipe and setting: the notebooks, benchmarks and slides share them.

Each check reads the source of the places that once wrote a setting out for
themselves, and fails if one of them does so again, or stops using the shared one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import helpers

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.py"))
CONSUMERS = [*NOTEBOOKS, *sorted((REPO_ROOT / "benchmarks").glob("*.py")),
             REPO_ROOT / "slides" / "figures.py"]


def _source(path: Path) -> str:
    """The code, without comment lines (a notebook's markdown cells are comments)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def _name(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix()


def test_there_are_three_notebooks():
    assert [path.stem for path in NOTEBOOKS] == ["01_introduction", "02_further_topics",
                                                 "03_your_own_data"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_notebook_builds_the_course_unet_from_the_shared_settings(path):
    source = _source(path)
    assert "helpers.course_unet(" in source or "**helpers.COURSE_UNET" in source, \
        f"{_name(path)} builds its U-Net without helpers.course_unet or helpers.COURSE_UNET"
    assert f'course.budget["{path.stem}"]' in source, f"{_name(path)} has its own budget"
    # Each loads its data, or the offline look-alike, through the one function made for it.
    loader = ("helpers.demonstration_folder(" if path.stem == "03_your_own_data"
              else "helpers.load_isbi2012_or_synthetic(")
    assert loader in source


@pytest.mark.parametrize("path", CONSUMERS, ids=_name)
def test_no_consumer_writes_a_shared_setting_out_again(path):
    source = _source(path)
    retyped = {
        "the course U-Net's settings": r'dropout_type="spatial"',
        "the data fallback": r"except \(ConnectionError|synthetic_membranes\(30, size=512",
        "the batch-norm momentum patch": r"\.momentum = ",
        "get_augmented's arguments": r"shear_range=30|rotation_range=15",
        "the seam band": r"border - (BAND|width)|% tile",
        "non-overlapping tiling": r"get_patches\((img_arr=)?(images|batch|data\.x_test)",
        "the convolution matrix": r"window\[out_row",
        "the quick/full U-Net width": r"16 if QUICK else 32",
    }
    if path.parent.name != "notebooks":  # notebook 01, section 4, shows it once: the lesson
        retyped["the keras-unet rewrap"] = r"keras\.Model\(\w+\.inputs\[0\], \w+\.outputs\[0\]"
    found = [what for what, pattern in retyped.items() if re.search(pattern, source)]
    assert not found, f"{_name(path)} writes out again: {found} (use the helpers' definition)"


def test_course_unet_settings_are_those_notebook_01_explains():
    # The table in notebook 01, section 4, states these values; the settings must match it.
    table = (REPO_ROOT / "notebooks" / "01_introduction.py").read_text(encoding="utf-8")
    assert dict(helpers.COURSE_UNET) == {
        "input_shape": (None, None, 1), "num_layers": 4, "dropout": 0.1,
        "dropout_type": "spatial", "use_batch_norm": True, "output_activation": "sigmoid"}
    for row in ("| `num_layers` |", "| 0.1, spatial |", "| `True` |", '| `"sigmoid"` |',
                "`(None, None, 1)`"):
        assert row in table


def test_workshop_augment_args_are_the_cited_recipe():
    # Unet_in_Keras_introduction.ipynb, cell 25 (shared/reference/seed-recipes.md).
    assert dict(helpers.WORKSHOP_AUGMENT_ARGS) == {
        "rotation_range": 15.0, "width_shift_range": 0.05, "height_shift_range": 0.05,
        "shear_range": 30, "zoom_range": 0.2, "horizontal_flip": True, "vertical_flip": True,
        "fill_mode": "constant"}
    with pytest.raises(TypeError):
        helpers.WORKSHOP_AUGMENT_ARGS["shear_range"] = 20  # read-only: copy it to change it
