"""The benchmarks: the workshop's recipes as cited, and tables that only code writes.

The README's benchmark table and the deck's results slide are rendered from
``benchmarks/published.json`` by ``benchmarks/report.py``. These tests render
them again and compare: a number typed into either by hand fails them. They
need neither TensorFlow nor the data.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import helpers

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO_ROOT / "benchmarks"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


report = _load("bench_report", BENCHMARKS / "report.py")
common = _load("bench_common", BENCHMARKS / "_common.py")


@pytest.fixture(scope="module")
def published():
    if not report.PUBLISHED.is_file():
        pytest.fail("benchmarks/published.json is missing; `make bench` writes it.")
    return report.load_published()


# --------------------------------------------------------------------------- written by code


@pytest.mark.parametrize(("name", "path", "render"), [
    ("README.md's benchmark block", report.README, report.readme_block),
    ("slides/deck.md's results table", report.DECK, report.deck_block),
])
def test_block_is_rendered_from_published_results(published, name, path, render):
    results, when = published
    text = path.read_text(encoding="utf-8")
    assert report.current_block(text) == render(results, when), (
        f"{name} differs from what benchmarks/report.py renders from "
        "benchmarks/published.json. Fix: `python benchmarks/run_all.py --from-published`.")


def test_published_results_hold_both_workshop_recipes_and_every_benchmark(published):
    results, _ = published
    assert set(results) == set(report.BENCHMARKS)
    recipes = results["quality"]["recipes"]
    assert set(recipes) == {*report.ORIGINALS, *report.OURS}
    for name in report.ORIGINALS:
        assert recipes[name]["workshop_steps"] == {"original_intro": 2000,
                                                   "original_tiles": 1200}[name]


def test_readme_block_changes_when_a_result_changes(published):
    results, when = published
    changed = {**results, "quality": {**results["quality"], "recipes": {
        **results["quality"]["recipes"],
        "ours_nb01": {**results["quality"]["recipes"]["ours_nb01"], "pixel_error": 0.5}}}}
    assert report.readme_block(changed, when) != report.readme_block(results, when)
    assert report.deck_block(changed, when) != report.deck_block(results, when)


@pytest.mark.parametrize("text", [
    "no markers at all",
    f"{report.END} before {report.START}",
    f"{report.START} twice {report.START} {report.END}",
])
def test_replace_block_bad_markers(text):
    with pytest.raises(ValueError, match="exactly once"):
        report.replace_block(text, "new", "the text")


def test_replace_block_keeps_what_is_outside():
    text = f"head\n{report.START}\nold\n{report.END}\ntail"
    assert report.replace_block(text, "new") == f"head\n{report.START}\nnew\n{report.END}\ntail"
    assert report.current_block(report.replace_block(text, "new")) == "new"


# --------------------------------------------------------------------------- the recipes


@pytest.mark.parametrize(("recipe", "key", "expected"), [
    ("INTRO", "size", 128),
    ("INTRO", "filters", 64),
    ("INTRO", "dropout", 0.2),
    ("INTRO", "batch", 5),
    ("INTRO", "learning_rate", 1e-4),
    ("INTRO", "loss", "binary_crossentropy"),
    ("INTRO", "steps", 2000),
    ("TILES", "size", 128),
    ("TILES", "batch", 10),
    ("TILES", "learning_rate", 1e-3),
    ("TILES", "loss", "jaccard_distance"),
    ("TILES", "steps", 1200),
])
def test_workshop_recipe_known_values(recipe, key, expected):
    assert getattr(common, recipe)[key] == expected


def test_workshop_augmentation_shear_differs_between_notebooks():
    assert common.INTRO_AUGMENT["shear_range"] == 30
    assert common.TILES_AUGMENT["shear_range"] == 20
    others = {k: v for k, v in common.INTRO_AUGMENT.items() if k != "shear_range"}
    assert {k: v for k, v in common.TILES_AUGMENT.items() if k != "shear_range"} == others
    assert others["fill_mode"] == "constant"


def test_resize_nearest_keeps_masks_binary_and_picks_pixels():
    rng = np.random.default_rng(0)
    masks = (rng.random((2, 512, 512, 1)) > 0.3).astype("float32")
    small = common.resize_nearest(masks, 128)
    assert small.shape == (2, 128, 128, 1)
    assert set(np.unique(small)) <= {0.0, 1.0}
    # PIL's nearest neighbour takes, for a factor of 4, source pixel 4 * i + 2.
    np.testing.assert_array_equal(small, masks[:, 2::4, 2::4])


def test_upsample_nearest_repeats_each_pixel_over_its_block():
    small = np.arange(4, dtype="float32").reshape(1, 2, 2, 1)
    big = common.upsample_nearest(small, 8)
    assert big.shape == (1, 8, 8, 1)
    np.testing.assert_array_equal(big[0, :4, :4, 0], np.zeros((4, 4)))
    np.testing.assert_array_equal(big[0, 4:, 4:, 0], np.full((4, 4), 3.0))
    np.testing.assert_array_equal(common.resize_nearest(big / 3, 2), small / 3)


def test_upsample_nearest_bad_size():
    with pytest.raises(ValueError, match="multiple of 2"):
        common.upsample_nearest(np.zeros((1, 2, 2, 1)), 5)


def test_deck_figure_uses_the_workshop_introduction_arguments():
    sys.path.insert(0, str(REPO_ROOT / "slides"))
    try:
        figures = _load("slides_figures", REPO_ROOT / "slides" / "figures.py")
    finally:
        sys.path.remove(str(REPO_ROOT / "slides"))
    # The arguments themselves are shared (helpers.WORKSHOP_AUGMENT_ARGS: see
    # test_shared_settings.py); the batch and size are the benchmark's recipe.
    assert common.INTRO_AUGMENT == dict(helpers.WORKSHOP_AUGMENT_ARGS)
    assert (figures.WORKSHOP_BATCH, figures.WORKSHOP_SIZE) == (common.INTRO["batch"],
                                                               common.INTRO["size"])


def _records_module():
    spec = importlib.util.spec_from_file_location("records", BENCHMARKS / "records.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_records_block_is_rendered_from_the_record_files():
    records = _records_module()
    assert records.readme_block((REPO_ROOT / "README.md").read_text()) == records.render()


def test_records_block_changes_when_a_record_changes(tmp_path):
    import json
    import shutil

    records = _records_module()
    for path in records.RECORDS.glob("*.json"):
        shutil.copy(path, tmp_path / path.name)
    full = json.loads((tmp_path / "full_mode_gpu.json").read_text())
    full["recipes"]["notebook_01"]["test"]["pixel_error"] = 0.0123
    (tmp_path / "full_mode_gpu.json").write_text(json.dumps(full))
    changed = records.render(tmp_path)
    assert changed != records.render() and "0.0123" in changed and "**met**" in changed


def test_records_quick_mode_shows_candidates_and_validation_thresholds(tmp_path):
    import json
    import shutil

    records = _records_module()
    for path in records.RECORDS.glob("*.json"):
        shutil.copy(path, tmp_path / path.name)
    quick = json.loads((tmp_path / "quick_mode.json").read_text())

    def spread(mean, low, high):
        return {"mean": mean, "std": 0.001, "min": low, "max": high}

    summary = dict(quick["recipes"]["after"]["summary"])
    for name in ("pixel_error_flip_mean_val_threshold", "val_threshold"):
        summary.pop(name, None)  # as recorded before the column existed
    quick["recipes"]["after"]["summary"] = summary
    quick["recipes"]["ema"] = {
        "recipe": dict(quick["recipes"]["after"]["recipe"], ema=0.99),
        "summary": dict(summary, pixel_error_flip_mean_val_threshold=spread(0.0712, 0.07, 0.072),
                        val_threshold=spread(0.3, 0.25, 0.35)),
    }
    (tmp_path / "quick_mode.json").write_text(json.dumps(quick))
    block = records.render(tmp_path)
    after_row = next(line for line in block.splitlines() if line.startswith("| after |"))
    ema_row = next(line for line in block.splitlines() if line.startswith("| ema (ema=0.99) |"))
    assert "| - |" in after_row
    assert "0.0712 ± 0.0010 (0.0700 to 0.0720) (0.25 to 0.35)" in ema_row
    assert "measured and not kept" in block


def test_deck_block_dates_the_quality_figures_when_they_were_measured(published):
    import copy

    results, _ = published
    results = copy.deepcopy(results)
    results["quality"]["written"] = "2026-01-02T03:04:05+00:00"
    block = report.deck_block(results, "2030-12-31 23:59 UTC")  # a later render
    assert "(2026-01-02 03:04 UTC)" in block and "2030" not in block
