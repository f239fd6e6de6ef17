"""helpers.challenge: the ISBI 2012 challenge's measures, against values worked out by hand.

Most cases share one truth, 6 x 9 pixels: two cells of 6 x 4 = 24 pixels (columns 0-3 and
5-8) either side of a one-pixel membrane (column 4); n = 48 pixels lie inside true cells.
Pair counts are over ordered pairs of those pixels, self-pairs included (the reference's
N^2 normalisation), so a true cell of 24 pixels holds 24^2 = 576 pairs and
sum_i a_i^2 = 2 * 576 = 1152. A predicted border pixel inside a true cell is a singleton:
it pairs only with itself, adding 1 to TP and nothing to FP or FN.
"""

from __future__ import annotations

from math import log

import numpy as np
import pytest

from helpers.challenge import (
    ISBI_THRESHOLDS,
    isbi_pixel_error,
    isbi_rand_error,
    isbi_scores,
    v_info,
    v_rand,
)

MEASURES = {"v_rand": v_rand, "v_info": v_info, "pixel_error": isbi_pixel_error,
            "rand_error": isbi_rand_error}


def _truth():
    truth = np.ones((6, 9))
    truth[:, 4] = 0
    return truth


def _gap():
    """The membrane with one pixel missed (row 2): one predicted region spans both cells."""
    gap = _truth()
    gap[2, 4] = 1
    return gap


def _spurious():
    """An invented one-pixel wall across the left cell (row 2, columns 0-3)."""
    split = _truth()
    split[2, :4] = 0
    return split


def _f(precision, recall):
    return 2 * precision * recall / (precision + recall)


# Entropy (nats) of the predicted regions in the spurious-wall case: regions of 8 (rows 0-1
# of the left cell), 12 (rows 3-5) and 24 (the right cell) pixels, and 4 singletons of
# 1 pixel, out of n = 48.
H_SPLIT = (8 / 48) * log(48 / 8) + (12 / 48) * log(48 / 12) + (24 / 48) * log(48 / 24) \
    + 4 * (1 / 48) * log(48)


# --------------------------------------------------------------------------- perfect


def test_measures_perfect_prediction_score_perfectly():
    # The truth itself as probabilities: interior 1, membrane 0, separated at every threshold
    # (0 > 0 is false), so the first threshold, 0, is the best.
    truth = _truth()
    assert v_rand(truth, truth) == (1.0, 0.0)
    assert v_info(truth, truth) == (1.0, 0.0)
    assert isbi_pixel_error(truth, truth) == (0.0, 0.0)
    assert isbi_rand_error(truth, truth) == (0.0, 0.0)


# --------------------------------------------------------------------------- a gap: a merge


def test_v_rand_gap_merges_two_cells():
    # One region holds both cells: TP = 2 * 24^2 = 1152, sum_j b_j^2 = 48^2 = 2304, so
    # precision 1152/2304 = 1/2, recall 1152/1152 = 1.
    assert v_rand(_truth(), _gap(), threshold=0.5) == pytest.approx(_f(1 / 2, 1))
    assert _f(1 / 2, 1) == pytest.approx(2 / 3)


def test_v_info_gap_scores_zero():
    # One predicted region: H(B) = 0, which the reference scores 0 (precision 1, recall 0).
    assert v_info(_truth(), _gap(), threshold=0.5) == 0.0


def test_isbi_pixel_error_gap_is_one_false_positive():
    # Interior is positive: TP = 48, FP = 1 (the gap), FN = 0.
    expected = 1 - _f(48 / 49, 1)
    assert isbi_pixel_error(_truth(), _gap(), threshold=0.5) == pytest.approx(expected)
    assert expected == pytest.approx(1 / 97)


def test_isbi_rand_error_gap_merges_two_cells():
    # Without thinning the same single region: 1 - 2/3.
    assert isbi_rand_error(_truth(), _gap(), threshold=0.5) == pytest.approx(1 / 3)


# --------------------------------------------------------------------------- a spurious wall


def test_v_rand_spurious_wall_splits_one_cell():
    # n_ij: left cell with the top region 8, with the bottom region 12; right cell with the
    # right region 24; 4 singletons (the wall, inside the left cell).
    # TP = 8^2 + 12^2 + 24^2 + 4 = 788; sum_j b_j^2 + 4 = 784 + 4 = 788, so FP = 0;
    # FN = 1152 - 788 = 364. Precision 1, recall 788/1152.
    expected = _f(1, 788 / 1152)
    assert v_rand(_truth(), _spurious(), threshold=0.5) == pytest.approx(expected)
    assert expected == pytest.approx(2 * 788 / (1152 + 788))  # = 394/485


def test_v_info_spurious_wall_splits_one_cell():
    # Every predicted region lies in one true cell, so H(A, B) = H(B) and
    # I(A; B) = H(A) = log 2: precision I/H(A) = 1, recall I/H(B) = log 2 / H_SPLIT.
    expected = _f(1, log(2) / H_SPLIT)
    assert v_info(_truth(), _spurious(), threshold=0.5) == pytest.approx(expected)
    assert expected == pytest.approx(0.6905504, abs=1e-7)


def test_isbi_rand_error_spurious_wall_splits_one_cell():
    # A one-pixel wall needs no thinning: the same counts as V_rand's.
    assert isbi_rand_error(_truth(), _spurious(), threshold=0.5) == pytest.approx(
        1 - 2 * 788 / (1152 + 788))


def test_isbi_pixel_error_spurious_wall_is_four_false_negatives():
    # TP = 44, FP = 0, FN = 4: precision 1, recall 44/48.
    assert isbi_pixel_error(_truth(), _spurious(), threshold=0.5) == pytest.approx(
        1 - _f(1, 44 / 48))


# --------------------------------------------------------------------------- thick walls


def test_v_rand_thick_wall_is_thinned_to_the_true_wall():
    # The membrane drawn 3 pixels wide (columns 3-5): the watershed gives column 3 to the
    # left basin and column 5 to the right one; column 4 stays border, as in the truth.
    thick = _truth()
    thick[:, 3:6] = 0
    assert v_rand(_truth(), thick, threshold=0.5) == pytest.approx(1, abs=1e-9)
    assert v_info(_truth(), thick, threshold=0.5) == pytest.approx(1, abs=1e-9)


def test_isbi_rand_error_thick_wall_costs_without_thinning():
    # Regions of 18 pixels (columns 0-2 and 6-8); columns 3 and 5 are 12 singletons.
    # TP = 2 * 18^2 + 12 = 660, FP = 0, FN = 1152 - 660 = 492.
    thick = _truth()
    thick[:, 3:6] = 0
    expected = 1 - _f(1, 660 / 1152)
    assert isbi_rand_error(_truth(), thick, threshold=0.5) == pytest.approx(expected)
    assert expected == pytest.approx(41 / 151)
    # Pixels: TP = 36, FP = 0, FN = 12.
    assert isbi_pixel_error(_truth(), thick, threshold=0.5) == pytest.approx(1 - _f(1, 36 / 48))


def _wide_truth():
    """6 x 11: cells of 6 x 5 = 30 pixels (columns 0-4 and 6-10) beside a membrane at 5.

    n = 60, sum_i a_i^2 = 2 * 30^2 = 1800. An invented wall runs down the left cell from
    edge to edge, parallel to the true one, so that no border meets another at a slant.
    """
    truth = np.ones((6, 11))
    truth[:, 5] = 0
    return truth


# The invented wall at column 2 leaves regions of 12 pixels (columns 0-1 and 3-4) and 6
# singletons in the left cell: TP = 12^2 + 12^2 + 30^2 + 6 = 1194, FP = 0,
# FN = 1800 - 1194 = 606, so V_rand = F(1, 1194/1800). H(A) = log 2 and, as every region
# lies in one cell, I(A; B) = H(A): V_info = F(1, log 2 / H_WIDE).
H_WIDE = 2 * (12 / 60) * log(60 / 12) + (30 / 60) * log(60 / 30) + 6 * (1 / 60) * log(60)


@pytest.mark.parametrize("columns", [[2], [1, 2, 3]], ids=["thin", "thick"])
def test_v_rand_thick_spurious_wall_scores_as_the_thin_one(columns):
    # Drawn 3 pixels thick (columns 1-3), the wall is thinned back to column 2: column 1
    # joins the region of column 0, column 3 that of column 4.
    split = _wide_truth()
    split[:, columns] = 0
    assert v_rand(_wide_truth(), split, threshold=0.5) == pytest.approx(_f(1, 1194 / 1800))
    assert _f(1, 1194 / 1800) == pytest.approx(398 / 499)
    assert v_info(_wide_truth(), split, threshold=0.5) == pytest.approx(
        _f(1, log(2) / H_WIDE))


def test_isbi_rand_error_thick_spurious_wall_costs_without_thinning():
    # Unthinned: regions of 6 pixels (columns 0 and 4) and 18 singletons (columns 1-3).
    # TP = 6^2 + 6^2 + 30^2 + 18 = 990, FP = 0, FN = 1800 - 990 = 810.
    thick = _wide_truth()
    thick[:, 1:4] = 0
    expected = 1 - _f(1, 990 / 1800)
    assert isbi_rand_error(_wide_truth(), thick, threshold=0.5) == pytest.approx(expected)
    assert expected == pytest.approx(9 / 31)
    thin = _wide_truth()
    thin[:, 2] = 0
    assert isbi_rand_error(_wide_truth(), thin, threshold=0.5) == pytest.approx(
        1 - _f(1, 1194 / 1800))


# --------------------------------------------------------------------------- the sweep


def _sweep_map():
    """Interior 0.55, membrane 0.25: right only for thresholds 0.3, 0.4 and 0.5."""
    return np.where(_truth() > 0, 0.55, 0.25)


# By hand, per threshold t of the grid:
# - t <= 0.2: the membrane is interior too, one region: V_rand 2/3, V_info 0, pixels
#   TP 48, FP 6 -> F = 2 * (48/54) / (1 + 48/54) = 16/17, Rand error 1/3;
# - 0.3 <= t <= 0.5: the truth: 1, 1, 0, 0;
# - t >= 0.6: all border. Thinned, one basin (V_rand 2/3, V_info 0); no TP pixel (F 0);
#   unthinned, 48 singletons: TP 48, FN 1152 - 48 -> F = 2 * (1/24) / (1 + 1/24) = 2/25.
SWEEP_ROWS = [
    *[(2 / 3, 0.0, 1 - 16 / 17, 1 / 3)] * 3,
    *[(1.0, 1.0, 0.0, 0.0)] * 3,
    *[(2 / 3, 0.0, 1.0, 1 - 2 / 25)] * 5,
]


@pytest.mark.parametrize(("name", "best"), [
    ("v_rand", 1.0), ("v_info", 1.0), ("pixel_error", 0.0), ("rand_error", 0.0)])
def test_measures_sweep_return_the_first_best_threshold(name, best):
    # 0.3 as the scoring code reaches it: 0.1 + 0.1 + 0.1 = 0.30000000000000004.
    score, threshold = MEASURES[name](_truth(), _sweep_map())
    assert score == best
    assert threshold == 0.1 + 0.1 + 0.1
    assert type(threshold) is float


def test_isbi_scores_rows_by_hand_and_match_the_functions():
    table = isbi_scores(_truth(), _sweep_map())
    assert list(table.columns) == ["threshold", "v_rand", "v_info", "pixel_error",
                                   "rand_error"]
    assert table["threshold"].tolist() == list(ISBI_THRESHOLDS)
    np.testing.assert_allclose(table[["v_rand", "v_info", "pixel_error", "rand_error"]],
                               SWEEP_ROWS, rtol=0, atol=1e-12)
    for _, row in table.iterrows():
        for name, function in MEASURES.items():
            value = function(_truth(), _sweep_map(), threshold=row["threshold"])
            assert isinstance(value, float)  # one figure, not a (figure, threshold) pair
            assert value == row[name]


def test_v_rand_probability_equal_to_threshold_is_border():
    # The challenge's strict >: a membrane at exactly 0.5 is border at threshold 0.5.
    probabilities = np.where(_truth() > 0, 1.0, 0.5)
    assert v_rand(_truth(), probabilities, threshold=0.5) == 1.0
    assert isbi_rand_error(_truth(), probabilities, threshold=0.5) == 0.0


def test_isbi_pixel_error_zero_probability_is_border_at_threshold_zero():
    # 0 > 0 is false: at threshold 0 the membrane (probability 0) is still border.
    assert isbi_pixel_error(_truth(), _truth(), threshold=0) == 0.0
    assert isbi_pixel_error(_truth(), _truth(), threshold=0.0) == 0.0


# --------------------------------------------------------------------------- the grid


def test_isbi_thresholds_are_eleven_accumulated_tenths():
    assert len(ISBI_THRESHOLDS) == 11
    assert ISBI_THRESHOLDS[0] == 0.0
    assert ISBI_THRESHOLDS[3] == 0.1 + 0.1 + 0.1
    accumulated = 0.0
    for _ in range(10):  # as the challenge's loop adds them (not sum(), which on Python
        accumulated += 0.1  # 3.12 and later compensates the rounding and gives 1.0)
    assert ISBI_THRESHOLDS[-1] == accumulated  # 0.9999999999999999
    assert 0.999999 < ISBI_THRESHOLDS[-1] < 1


def test_v_rand_probability_one_is_interior_at_the_last_threshold():
    # Interior exactly 1, membrane 0.95: only the last threshold (just under 1) separates
    # them; at 0.9 the membrane is interior too (a merge, 2/3).
    probabilities = np.where(_truth() > 0, 1.0, 0.95)
    assert v_rand(_truth(), probabilities) == (1.0, ISBI_THRESHOLDS[-1])
    assert isbi_pixel_error(_truth(), _truth(), threshold=ISBI_THRESHOLDS[-1]) == 0.0


# --------------------------------------------------------------------------- pooling


def _batch():
    """Image 0 predicted perfectly; image 1 all interior (its membrane missed)."""
    truth = np.stack([_truth(), _truth()])
    return truth, np.stack([_truth(), np.ones((6, 9))])


def test_isbi_pixel_error_pools_counts_over_images():
    # Pooled: TP = 48 + 48, FP = 0 + 6, FN = 0 -> precision 96/102, recall 1: F = 32/33.
    # (A mean of per-image F-scores would be (1 + 16/17) / 2 = 33/34.)
    truth, probabilities = _batch()
    score, threshold = isbi_pixel_error(truth, probabilities)
    assert score == pytest.approx(1 - _f(96 / 102, 1))
    assert score == pytest.approx(1 / 33)
    assert threshold == 0.0  # 0/1 probabilities: every threshold alike, the first kept


def test_isbi_rand_error_pools_pairs_over_images():
    # Image 1 is one region: TP 1152, FP 1152. Pooled with image 0 (TP 1152): TP 2304,
    # FP 1152, FN 0 -> precision 2/3, F = 4/5. (A mean of F-scores: (1 + 2/3) / 2 = 5/6.)
    truth, probabilities = _batch()
    assert isbi_rand_error(truth, probabilities, threshold=0.5) == pytest.approx(
        1 - _f(2304 / 3456, 1))
    assert isbi_rand_error(truth, probabilities, threshold=0.5) == pytest.approx(1 / 5)


def test_v_rand_averages_per_image_scores():
    # (1 + 2/3) / 2 = 5/6; pooling the pairs instead would give 4/5.
    truth, probabilities = _batch()
    assert v_rand(truth, probabilities, threshold=0.5) == pytest.approx((1 + 2 / 3) / 2)


def test_v_info_averages_per_image_scores():
    truth, probabilities = _batch()
    assert v_info(truth, probabilities, threshold=0.5) == pytest.approx((1 + 0) / 2)


@pytest.mark.parametrize("shape", [(6, 9), (6, 9, 1), (1, 6, 9), (1, 6, 9, 1)])
def test_v_rand_accepts_channel_and_batch_axes(shape):
    truth, split = _truth().reshape(shape), _spurious().reshape(shape)
    assert v_rand(truth, split, threshold=0.5) == pytest.approx(2 * 788 / (1152 + 788))
    assert isbi_pixel_error(truth, split, threshold=0.5) == pytest.approx(1 - _f(1, 44 / 48))


# --------------------------------------------------------------------------- regions


def test_v_rand_all_border_prediction_is_one_region():
    # No predicted interior: the reference watershed makes the whole border one basin, so
    # one region spans both cells (V_rand 2/3, V_info 0), not 48 singletons.
    nothing = np.zeros((6, 9))
    assert v_rand(_truth(), nothing, threshold=0.5) == pytest.approx(2 / 3)
    assert v_info(_truth(), nothing, threshold=0.5) == 0.0
    # With a single true cell that one region is the cell itself.
    assert v_rand(np.ones((6, 9)), nothing, threshold=0.5) == 1.0
    # Unthinned, the border is 48 singletons: TP 48, FN 1152 - 48.
    assert isbi_rand_error(_truth(), nothing, threshold=0.5) == pytest.approx(
        1 - _f(1, 48 / 1152))


def test_v_info_single_true_cell_scores_zero():
    # One true cell: H(A) = 0, which the reference scores 0 even for a perfect prediction;
    # V_rand has no such rule: 54^2 pairs, all right.
    one = np.ones((6, 9))
    assert v_info(one, one, threshold=0.5) == 0.0
    assert v_rand(one, one, threshold=0.5) == 1.0


def test_v_rand_cells_are_4_connected():
    # A diagonal membrane (pixels (i, i)) parts two 4-connected cells of 15 pixels, which
    # touch only at corners. Predicting no membrane merges them: precision 1/2, recall 1.
    truth = 1 - np.eye(6)
    assert v_rand(truth, truth, threshold=0.5) == 1.0
    assert v_rand(truth, np.ones((6, 6)), threshold=0.5) == pytest.approx(_f(1 / 2, 1))


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("function", MEASURES.values(), ids=list(MEASURES))
@pytest.mark.parametrize(("masks", "probabilities", "message"), [
    (np.ones((6, 9)), np.ones((6, 8)), r"masks and probabilities must cover the same pixels"),
    (np.ones(9), np.ones(9), r"masks must be one image .* got shape \(9,\)"),
    (np.ones((6, 9)), np.ones(9), r"probabilities must be one image"),
    (np.stack([_truth(), np.zeros((6, 9))]), np.ones((2, 6, 9)),
     r"masks: image 1 has no cell interior"),
    (_truth(), np.where(_truth() > 0, np.nan, 0), r"probabilities contains NaN"),
    (np.where(_truth() > 0, 1, np.nan), _truth(), r"masks contains NaN"),
    (_truth(), np.full((6, 9), "a"), r"probabilities must be numeric"),
], ids=["shapes", "masks_ndim", "probabilities_ndim", "no_interior", "nan_probabilities",
        "nan_masks", "non_numeric"])
def test_measures_bad_input_names_the_argument(function, masks, probabilities, message):
    with pytest.raises(ValueError, match=message):
        function(masks, probabilities)


@pytest.mark.parametrize("function", MEASURES.values(), ids=list(MEASURES))
@pytest.mark.parametrize("threshold", [-0.1, 1.5, float("nan"), True, "0.5"])
def test_measures_bad_threshold(function, threshold):
    with pytest.raises(ValueError, match=r"threshold must be a number in \[0, 1\]"):
        function(_truth(), _truth(), threshold=threshold)


def test_isbi_scores_bad_thresholds():
    with pytest.raises(ValueError, match=r"threshold must be a number in \[0, 1\].*got 2"):
        isbi_scores(_truth(), _truth(), thresholds=[0.5, 2])
