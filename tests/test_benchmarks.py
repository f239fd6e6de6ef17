"""The benchmarks: the workshop's recipes as cited, and tables that only code writes.

The README's benchmark table and the deck's results slide are rendered from
``benchmarks/published.json`` by ``benchmarks/report.py``. These tests render
them again and compare: a number typed into either by hand fails them. They
need neither TensorFlow nor the data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import helpers
from benchmarks import _common as common
from benchmarks import bench_quality, records, report
from slides import figures

REPO_ROOT = Path(__file__).resolve().parents[1]


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
        "benchmarks/published.json. Fix: `python -m benchmarks.run_all --from-published`.")


def test_published_results_hold_both_workshop_recipes_and_every_benchmark(published):
    results, _ = published
    assert set(results) == set(report.BENCHMARKS)
    quality = results["quality"]
    recipes = quality["recipes"]
    if report.is_cross_validation(quality):
        assert set(recipes) == {*report.ORIGINALS, *report.PEERS, *report.OURS}
        assert quality["settings"]["folds"][-1] == quality["settings"]["total_folds"] - 1
        for record in recipes.values():
            assert set(record["summary"]) == set(report.MEASURES)
            assert len(record["steps"]) == len(quality["folds"])
    else:  # published before the cross-validation (and ZeroCostDL4Mic) were measured
        assert set(recipes) == {*report.ORIGINALS, *report.OURS}
    for name in report.ORIGINALS:
        assert recipes[name]["workshop_steps"] == {"original_intro": 2000,
                                                   "original_tiles": 1200}[name]


def test_readme_block_changes_when_a_result_changes(published):
    results, when = published
    record = results["quality"]["recipes"]["ours_nb01"]
    if report.is_cross_validation(results["quality"]):  # the figures are in the summary
        record = {**record, "summary": {**record["summary"], "pixel_error": {
            **record["summary"]["pixel_error"], "mean": 0.5}}}
    else:
        record = {**record, "pixel_error": 0.5}
    changed = {**results, "quality": {**results["quality"], "recipes": {
        **results["quality"]["recipes"], "ours_nb01": record}}}
    assert report.readme_block(changed, when) != report.readme_block(results, when)
    assert report.deck_block(changed, when) != report.deck_block(results, when)


# --------------------------------------------------------------------------- cross-validation


def _stats(mean, half=None, n=3):
    """A t_interval-shaped record: mean, and low/high at mean -/+ half (None: one fold)."""
    low, high = (None, None) if half is None else (mean - half, mean + half)
    return {"mean": mean, "low": low, "high": high, "sd": None, "n": n, "values": []}


def _cross_validation(v_rand, differences, *, mode="quick", gpus=(), folds=(0, 5, 9)):
    """A quality record in bench_quality's format, with the given V_rand means and paired
    V_rand differences ((ours, other) -> (mean, half-width)); other measures constant."""
    recipes = {}
    for name in ("original_intro", "original_tiles", "zerocostdl4mic", "ours_nb01",
                 "ours_nb02"):
        summary = {m: _stats(0.1, 0.01) for m in report.MEASURES}
        summary["v_rand"] = _stats(v_rand[name], 0.01)
        recipes[name] = {"label": name, "steps": [10] * len(folds),
                         "train_seconds": [60.0] * len(folds), "summary": summary}
    recipes["original_intro"]["workshop_steps"] = 2000
    recipes["zerocostdl4mic"]["schedule_steps"] = [700] * len(folds)
    recipes["zerocostdl4mic"]["own_threshold"] = {"threshold": _stats(0.4, 0.1),
                                                  "v_rand": _stats(0.8, 0.1)}
    pairs = [{"ours": ours, "other": other, "measure": "v_rand",
              **_stats(mean, half, len(folds))}
             for (ours, other), (mean, half) in differences.items()]
    return {
        "mode": mode, "data": "ISBI 2012", "written": "2026-12-03T01:02:03+00:00",
        "load_average_at_end": [1.0, 1.0, 1.0],
        "machine": {"cpu": "CPU", "cores": 2, "memory_gib": 8, "gpus": list(gpus),
                    "python": "3.11", "tensorflow": "2", "keras": "3", "keras_unet": "0.1.2"},
        "settings": {"budget_s": 60.0, "folds": list(folds), "total_folds": 10, "fold_size": 3,
                     "seed": 42},
        "folds": [{"fold": f} for f in folds],
        "all_interior": {"summary": {m: _stats(0.5, 0.01) for m in report.MEASURES}},
        "recipes": recipes, "pairs": pairs,
        "timing": {"measured_seconds_per_fold": [500] * len(folds), "folds": 10,
                   "at_this_budget_seconds": 5000, "at_full_budget_seconds": 46000,
                   "full_budget_s": 900.0},
    }


OTHERS = ("original_intro", "original_tiles", "zerocostdl4mic")
MEANS = {"original_intro": 0.7, "original_tiles": 0.6, "zerocostdl4mic": 0.8,
         "ours_nb01": 0.96, "ours_nb02": 0.955}


@pytest.mark.parametrize(("measure", "low", "high", "expected"), [
    ("v_rand", 0.01, 0.05, "notebook 01 better"),  # higher is better: ours - other > 0
    ("v_rand", -0.05, -0.01, "workshop introduction better"),
    ("v_rand", -0.01, 0.05, "not separable"),
    ("v_rand", 0.0, 0.05, "not separable"),  # an interval touching 0 does not exclude it
    ("isbi_pixel_error", -0.05, -0.01, "notebook 01 better"),  # lower is better
    ("pixel_error", 0.01, 0.05, "workshop introduction better"),
    ("v_rand", None, None, "not separable (one fold)"),
])
def test_verdict_calls_a_recipe_better_only_when_the_interval_excludes_zero(
        measure, low, high, expected):
    pair = {"ours": "ours_nb01", "other": "original_intro", "measure": measure,
            "mean": 0.0 if low is None else (low + high) / 2, "low": low, "high": high}
    assert report.verdict(pair) == expected


def test_interval_text():
    assert report.interval_text(_stats(0.95, 0.01), 3) == "0.950 (0.940 to 0.960)"
    assert report.interval_text(_stats(0.02, 0.03), 3, sign=True) == "+0.020 (-0.010 to +0.050)"
    assert report.interval_text(_stats(0.95), 2) == "0.95 (one fold: no interval)"


def test_goals_in_cross_validation_units():
    wins = {(ours, other): (0.1, 0.05) for ours in report.OURS for other in OTHERS}
    q = _cross_validation(MEANS, {**wins, ("ours_nb01", "ours_nb02"): (0.005, 0.02)})
    goals = report.quality_goals(q)
    assert [verdict for _, verdict, _ in goals] == ["met", "met", "not measured"]
    assert "notebook 01 - ZeroCostDL4Mic +0.100 (+0.050 to +0.150)" in goals[0][2]
    assert "notebook 02 V_rand (thinned) 0.955" in goals[1][2]
    assert "this run: quick mode, no GPU" in goals[2][2] and "0.960" in goals[2][2]
    # One pair not separable is enough to miss the first goal; a low mean, the second.
    tie = {**wins, ("ours_nb02", "zerocostdl4mic"): (0.01, 0.05)}
    low = {**MEANS, "ours_nb02": 0.949}
    assert [v for _, v, _ in report.quality_goals(_cross_validation(low, tie))][:2] == [
        "NOT met", "NOT met"]
    # Full mode on a GPU: the third goal is measured, the second is not.
    full = _cross_validation({**MEANS, "ours_nb01": 0.98, "ours_nb02": 0.975}, wins,
                             mode="full", gpus=["GPU 0"])
    full["recipes"]["ours_nb01"]["summary"]["isbi_pixel_error"] = _stats(0.04, 0.01)
    full["recipes"]["ours_nb02"]["summary"]["isbi_pixel_error"] = _stats(0.045, 0.01)
    verdicts = [v for _, v, _ in report.quality_goals(full)]
    assert verdicts[1:] == ["not measured", "met"]
    assert verdicts[0].startswith("met (measured in full mode, GPU 0")


@pytest.mark.parametrize(("get_patches", "predict_tiled", "verdict"), [
    (0.020, 0.007, "met"),  # get_patches shows a seam, predict_tiled none
    (0.020, 0.015, "NOT met"),  # predict_tiled 0.008 above the whole image
    (0.009, 0.007, "NOT shown"),  # the measure sees no seam at all: nothing is shown
])
def test_seam_goal_is_met_only_where_the_measure_sees_get_patches_seams(
        published, get_patches, predict_tiled, verdict):
    results = {"tiling": dict(published[0]["tiling"])}
    results["tiling"]["seams"] = {"get_patches": {"seam_error": get_patches},
                                  "predict_tiled": {"seam_error": predict_tiled},
                                  "whole_image": {"seam_error": 0.007}}
    (seam_goal,) = [g for g in report.goals(results) if g[0].startswith("Seam error")]
    assert seam_goal[1].split(" (")[0] == verdict


def test_cross_validation_renders_means_intervals_and_verdicts(published):
    results, when = published
    wins = {(ours, other): (0.1, 0.05) for ours in report.OURS for other in OTHERS}
    pairs = {**wins, ("ours_nb01", "ours_nb02"): (0.005, 0.02)}
    results = {**results, "quality": _cross_validation(MEANS, pairs)}
    block = report.readme_block(results, when)
    assert "folds 0, 5 and 9 of 10" in block
    assert "0.960 (0.950 to 0.970)" in block  # notebook 01's V_rand, mean (interval)
    assert "| notebook 01 | notebook 02 | +0.005 (-0.015 to +0.025) | not separable |" in block
    assert "| notebook 02 | ZeroCostDL4Mic | +0.100 (+0.050 to +0.150) | notebook 02 better |" \
        in block
    assert "threshold on the test fold itself" in block and "**Estimates**" in block
    assert "Quick-mode pixel error" not in block  # the old goals
    assert f"<= {records.WITHDRAWN_FULL_PIXEL_ERROR_GOAL}" not in block
    deck = report.deck_block(results, when)
    assert "**0.960 (0.950 to 0.970)**" in deck  # the best V_rand in bold
    assert "notebook 01 better than 3 of 3; notebook 02 better than 3 of 3" in deck
    changed = _cross_validation({**MEANS, "ours_nb01": 0.5}, pairs)
    assert report.readme_block({**results, "quality": changed}, when) != block


def test_published_quality_before_the_cross_validation_renders_with_its_own_measures(
        published):
    results, when = published
    if report.is_cross_validation(results["quality"]):
        pytest.skip("published.json holds a cross-validation")
    block = report.readme_block(results, when)
    assert report.OLD_RAND in block  # the old Rand error, labelled as such
    quality_goals = [g for g in report.goals(results) if "V_rand" in g[0]]
    assert [verdict for _, verdict, _ in quality_goals] == ["not measured"] * 3
    assert "Quick-mode pixel error" not in block
    assert f"pixel error <= {records.WITHDRAWN_FULL_PIXEL_ERROR_GOAL}" not in block


def test_fold_numbers_spread_over_the_stack_and_keep_the_course_test_split():
    quality = bench_quality
    assert quality.fold_numbers(3, 10) == [0, 5, 9]
    assert quality.fold_numbers(10, 10) == list(range(10))
    assert quality.fold_numbers(1, 10) == [9]  # tests 27-29: bench_tiling's model
    with pytest.raises(ValueError, match="between 1 and 10"):
        quality.fold_numbers(11, 10)
    assert quality.QUICK["folds"] == 3 and quality.FULL["folds"] == 10


# --------------------------------------------------------------------------- markers


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


@pytest.mark.parametrize(("key", "expected"), [
    # ZeroCostDL4Mic's U-Net 2D defaults (its cells 18, 20, 25; peer-recipes.md).
    ("max_patch", 512), ("min_fraction", 0.02), ("filters", 64), ("pooling_steps", 2),
    ("batch", 4), ("learning_rate", 3e-4), ("validation_fraction", 0.1), ("epochs", 100),
    ("percentiles", (1, 99.8)),
    ("plateau", {"monitor": "val_loss", "factor": 0.1, "patience": 10, "min_lr": 0}),
])
def test_zerocost_recipe_known_values(key, expected):
    assert common.ZEROCOST[key] == expected


def test_zerocost_augmentation_is_its_notebooks_default():
    assert common.ZEROCOST_AUGMENT == {
        "width_shift_range": 0.1, "height_shift_range": 0.2, "rotation_range": 180,
        "zoom_range": 0.1, "shear_range": 0.1, "horizontal_flip": True,
        "vertical_flip": True, "fill_mode": "reflect"}


def test_zerocost_patches_whole_images_kept_by_foreground():
    rng = np.random.default_rng(0)
    images = rng.random((3, 512, 512, 1)).astype("float32") * 0.5 + 0.2
    masks = np.ones((3, 512, 512, 1), "float32")
    masks[1] = 0
    masks[1, :50, :100] = 1  # 5000 pixels: under 2% of 512 x 512
    masks[2, :, :200] = 0
    assert common.zerocost_patch_size(images) == (512, 512)
    assert common.zerocost_patch_size(np.zeros((2, 300, 700, 1))) == (256, 512)
    x, y = common.zerocost_patches(images, masks, (512, 512))
    assert x.shape == y.shape == (2, 512, 512, 1)  # image 1 has too little foreground
    assert x.min() == 0 and x.max() == 255 and np.all(x == np.round(x))  # min-max, 8-bit
    assert set(np.unique(y)) == {0.0, 255.0}
    np.testing.assert_array_equal(y[1, ..., 0] > 0, masks[2, ..., 0] > 0)
    tiles_x, _ = common.zerocost_patches(np.zeros((1, 512, 512, 1)), np.ones((1, 512, 512, 1)),
                                         (256, 256))
    assert len(tiles_x) == 4  # without overlap


def test_zerocost_class_weights_are_balanced():
    masks = np.zeros((2, 10, 10, 1))
    masks[:, :8] = 1  # 80% foreground
    weights = common.zerocost_class_weights(masks)
    np.testing.assert_allclose(weights, [1 / (2 * 0.2), 1 / (2 * 0.8)])


def test_zerocost_threshold_is_the_mean_of_each_images_best_iou_threshold():
    truth = np.zeros((2, 4, 4, 1))
    truth[:, :, :2] = 1
    probabilities = np.zeros((2, 4, 4, 1))
    probabilities[0, :, :2] = 100 / 255  # interior above every t < 100: the first best is 0
    probabilities[1, :, :2] = 200 / 255
    probabilities[1, :, 2:] = 50 / 255  # best from t = 50 up; the first is 50
    rule = common.zerocost_threshold(truth, probabilities)
    assert rule["per_image_8bit"] == [0, 50]
    assert rule["threshold"] == pytest.approx(25 / 255)


def test_percentile_normalise_ignores_scale():
    image = np.random.default_rng(1).random((64, 64))
    np.testing.assert_allclose(common.percentile_normalise(image),
                               common.percentile_normalise(255 * image), atol=1e-5)
    normalised = common.percentile_normalise(image)
    assert np.percentile(normalised, 1) == pytest.approx(0, abs=1e-6)
    assert np.percentile(normalised, 99.8) == pytest.approx(1, abs=1e-6)


def test_challenge_measures_agree_with_helpers():
    rng = np.random.default_rng(2)
    truth = np.ones((2, 32, 32, 1))
    truth[:, 10, :] = truth[:, :, 20] = 0
    probabilities = np.clip(truth + rng.normal(0, 0.3, truth.shape), 0, 1)
    measures = common.challenge_measures(truth, probabilities)
    for name, function in (("v_rand", helpers.v_rand), ("v_info", helpers.v_info),
                           ("isbi_pixel_error", helpers.isbi_pixel_error),
                           ("isbi_rand_error", helpers.isbi_rand_error)):
        score, threshold = function(truth, probabilities)
        assert measures[name] == pytest.approx(score)
        assert measures[f"{name}_threshold"] == pytest.approx(threshold)
    assert measures["pixel_error"] == helpers.pixel_error(truth, probabilities)


def test_t_interval_over_folds():
    record = common.t_interval([0.9, 0.92, 0.94])
    # mean 0.92, sd 0.02, t(0.975, df 2) = 4.303: half-width 4.303 * 0.02 / sqrt(3)
    assert record["mean"] == pytest.approx(0.92)
    assert record["high"] - record["mean"] == pytest.approx(4.3027 * 0.02 / 3**0.5, rel=1e-4)
    assert common.t_interval([0.9])["low"] is None


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
    # The arguments themselves are shared (helpers.WORKSHOP_AUGMENT_ARGS: see
    # test_shared_settings.py); the batch and size are the benchmark's recipe.
    assert common.INTRO_AUGMENT == dict(helpers.WORKSHOP_AUGMENT_ARGS)
    assert (figures.WORKSHOP_BATCH, figures.WORKSHOP_SIZE) == (common.INTRO["batch"],
                                                               common.INTRO["size"])


def _records_module():
    return records


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
    assert changed != records.render() and "0.0123" in changed
    assert "**met**" not in changed and "withdrawn" in changed  # goals in the wrong units


def test_records_label_the_measures_of_their_day():
    records = _records_module()
    block = records.render()
    # Both records were measured before helpers.rand_error took the challenge's rule.
    assert block.count("Rand error (scikit-image's adapted Rand, the course's measure "
                       "before 2026-12)") == 3
    assert "VI (scikit-image's, the course's measure before 2026-12)" in block
    assert f"<= {records.WITHDRAWN_QUICK_PIXEL_ERROR_GOAL}: **" not in block
    assert f"<= {records.WITHDRAWN_FULL_PIXEL_ERROR_GOAL}: **" not in block
    assert records._rand_label("2026-12-05T00:00:00") != records._rand_label("2026-11-26")


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
