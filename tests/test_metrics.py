"""helpers.metrics: pixel error, IoU, Dice, Rand error, VI; against hand values and references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from skimage.measure import label
from skimage.metrics import adapted_rand_error
from skimage.metrics import variation_of_information as skimage_vi
from sklearn.metrics import accuracy_score, f1_score, jaccard_score

from helpers import (
    dice_per_class,
    evaluate,
    iou_per_class,
    membrane_edge_band,
    pixel_error,
    rand_error,
    split_merge_counts,
    threshold_sweep,
    v_info,
    v_rand,
    variation_of_information,
    worst_tiles,
)

# --------------------------------------------------------------------------- hand-made values


def test_pixel_error_known_values():
    masks = np.array([[1, 1, 0, 0]])
    assert pixel_error(masks, np.array([[0.9, 0.4, 0.1, 0.6]])) == 0.5
    assert pixel_error(masks, masks) == 0.0
    assert pixel_error(masks, 1 - masks) == 1.0
    # threshold: >= is interior
    assert pixel_error(masks, np.array([[0.5, 0.5, 0.49, 0.49]])) == 0.0
    assert pixel_error(masks, np.array([[0.5, 0.5, 0.49, 0.49]]), threshold=0.495) == 0.0
    assert pixel_error(masks, np.array([[0.5, 0.5, 0.49, 0.49]]), threshold=0.6) == 0.5
    assert pixel_error(masks, np.array([[0.5, 0.5, 0.49, 0.49]]), threshold=0.0) == 0.5


def test_pixel_error_returns_python_float():
    value = pixel_error(np.ones((2, 3)), np.ones((2, 3)))
    assert type(value) is float


def test_iou_dice_known_values():
    # truth    1 1 0 0 | prediction 1 0 0 0
    # interior: intersection 1, union 2 -> IoU 1/2, Dice 2*1/(2+1) = 2/3
    # membrane: intersection 2, union 3 -> IoU 2/3, Dice 2*2/(2+3) = 4/5
    masks, predictions = np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0])
    iou = iou_per_class(masks, predictions)
    dice = dice_per_class(masks, predictions)
    assert list(iou) == ["membrane", "interior"]
    assert iou == pytest.approx({"membrane": 2 / 3, "interior": 1 / 2})
    assert dice == pytest.approx({"membrane": 4 / 5, "interior": 2 / 3})


def test_iou_dice_known_values_2d_probabilities():
    masks = np.array([[1, 1, 1], [0, 0, 1], [0, 1, 1]])
    probabilities = np.array([[0.9, 0.8, 0.2], [0.1, 0.7, 0.6], [0.3, 0.55, 0.95]])
    # predicted interior: [[1,1,0],[0,1,1],[0,1,1]]
    # interior: truth 6, predicted 6, both 5 -> IoU 5/7, Dice 10/12
    # membrane: truth 3, predicted 3, both 2 -> IoU 2/4, Dice 4/6
    assert iou_per_class(masks, probabilities) == pytest.approx(
        {"membrane": 2 / 4, "interior": 5 / 7})
    assert dice_per_class(masks, probabilities) == pytest.approx(
        {"membrane": 4 / 6, "interior": 10 / 12})
    assert pixel_error(masks, probabilities) == pytest.approx(2 / 9)


def test_iou_dice_absent_class_scores_one():
    masks = np.ones((4, 4, 1))
    iou = iou_per_class(masks, masks)
    assert iou == {"membrane": 1.0, "interior": 1.0}
    assert dice_per_class(masks, masks) == {"membrane": 1.0, "interior": 1.0}
    # membrane predicted where there is none: its IoU is 0, interior's 15/16
    predictions = masks.copy()
    predictions[0, 0, 0] = 0
    assert iou_per_class(masks, predictions) == pytest.approx(
        {"membrane": 0.0, "interior": 15 / 16})


def test_iou_per_class_class_names():
    masks, predictions = np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0])
    result = iou_per_class(masks, predictions, class_names=("background", "cell"))
    assert result == pytest.approx({"background": 2 / 3, "cell": 1 / 2})
    with pytest.raises(ValueError, match="class_names must name 2 classes"):
        iou_per_class(masks, predictions, class_names=("only one",))


# --------------------------------------------------------------------------- against sklearn

SHAPES = [(3, 16, 20, 1), (16, 20), (2, 9, 31, 1), (40, 7)]


def _random_pair(shape, seed):
    rng = np.random.default_rng(seed)
    masks = (rng.random(shape) < 0.7).astype(np.float32)
    # probabilities correlated with the truth, so that all scores are far from 0 and 1
    probabilities = np.clip(0.35 * masks + 0.65 * rng.random(shape), 0, 1).astype(np.float32)
    return masks, probabilities


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.62])
def test_binary_metrics_match_sklearn(shape, threshold):
    masks, probabilities = _random_pair(shape, seed=len(shape) + int(threshold * 100))
    truth = masks.ravel().astype(int)
    guess = (probabilities.ravel() >= threshold).astype(int)
    assert 0 < guess.mean() < 1
    assert pixel_error(masks, probabilities, threshold=threshold) == pytest.approx(
        1 - accuracy_score(truth, guess))
    iou = iou_per_class(masks, probabilities, threshold=threshold)
    dice = dice_per_class(masks, probabilities, threshold=threshold)
    np.testing.assert_allclose(list(iou.values()),
                               jaccard_score(truth, guess, average=None, labels=[0, 1]))
    np.testing.assert_allclose(list(dice.values()),
                               f1_score(truth, guess, average=None, labels=[0, 1]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, bool, np.int64])
def test_binary_metrics_mask_dtypes(dtype):
    masks, probabilities = _random_pair((2, 12, 12, 1), seed=1)
    reference = iou_per_class(masks, probabilities)
    assert iou_per_class(masks.astype(dtype), probabilities) == reference
    hard = probabilities >= 0.5
    assert pixel_error(masks.astype(dtype), hard.astype(dtype)) == pixel_error(masks, hard)


@pytest.mark.parametrize("encoding", ["onehot", "softmax"])
@pytest.mark.parametrize("shape", [(2, 10, 12), (15, 9)])
def test_multiclass_metrics_match_sklearn(encoding, shape):
    rng = np.random.default_rng(7)
    truth = rng.integers(0, 3, shape)
    guess = np.where(rng.random(shape) < 0.6, truth, rng.integers(0, 3, shape))
    masks = np.eye(3, dtype=np.float32)[truth]
    if encoding == "onehot":
        predictions = np.eye(3, dtype=np.float32)[guess]
    else:
        logits = rng.normal(size=(*shape, 3)) + 10 * np.eye(3)[guess]
        predictions = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
        assert (predictions.argmax(-1) == guess).all()
    iou = iou_per_class(masks, predictions, num_classes=3)
    dice = dice_per_class(masks, predictions, num_classes=3)
    assert list(iou) == ["class 0", "class 1", "class 2"]
    np.testing.assert_allclose(list(iou.values()), jaccard_score(
        truth.ravel(), guess.ravel(), average=None, labels=[0, 1, 2]))
    np.testing.assert_allclose(list(dice.values()), f1_score(
        truth.ravel(), guess.ravel(), average=None, labels=[0, 1, 2]))
    assert pixel_error(masks, predictions) == pytest.approx(
        1 - accuracy_score(truth.ravel(), guess.ravel()))


def test_multiclass_num_classes_counts_absent_class():
    masks = np.eye(3)[np.array([[0, 1], [1, 0]])]
    iou = iou_per_class(masks, masks, num_classes=4, class_names=list("abcd"))
    assert iou == {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}


# --------------------------------------------------------------------------- Rand error and VI


def _cells(shape, seed):
    """Masks with cells: interior 1, a few straight membranes 0."""
    rng = np.random.default_rng(seed)
    mask = np.ones(shape, np.float32)
    for _ in range(3):
        mask[rng.integers(2, shape[0] - 2), :] = 0
        mask[:, rng.integers(2, shape[1] - 2)] = 0
    return mask


def _two_cells_6x9():
    """Cells of 6 x 4 = 24 pixels (columns 0-3 and 5-8) beside a membrane at column 4.

    n = 48 pixels inside true cells; ordered pairs of them, self-pairs included:
    sum_i a_i^2 = 2 * 24^2 = 1152.
    """
    truth = np.ones((6, 9))
    truth[:, 4] = 0
    return truth


def _f(precision, recall):
    return 2 * precision * recall / (precision + recall)


def _pair_count_rand_error(mask, prediction, threshold):
    """1 - F of Rand precision and recall, counting ordered pairs of pixels one by one.

    Pixels inside true cells only; two pixels pair in the prediction when they share a
    predicted cell, and a predicted membrane pixel pairs only with itself.
    """
    true_cells = label(mask >= 0.5, connectivity=1)
    predicted = label(prediction >= threshold, connectivity=1)
    inside = true_cells > 0
    t, p = true_cells[inside], predicted[inside]
    same_true = t[:, None] == t[None, :]
    same_predicted = ((p[:, None] == p[None, :]) & (p[:, None] > 0)) | np.eye(len(p), dtype=bool)
    tp = np.sum(same_true & same_predicted)
    fp = np.sum(~same_true & same_predicted)
    fn = np.sum(same_true & ~same_predicted)
    precision = 1.0 if fp == 0 else tp / (tp + fp)
    recall = 1.0 if fn == 0 else tp / (tp + fn)
    return 1 - _f(precision, recall)


@pytest.mark.parametrize("threshold", [0.4, 0.5])
@pytest.mark.parametrize("n", [1, 3])
def test_rand_error_matches_pair_count(n, threshold):
    rng = np.random.default_rng(n)
    masks = np.stack([_cells((32, 40), seed) for seed in range(n)])[..., None]
    noise = rng.random(masks.shape)
    probabilities = np.where(noise < 0.08, 1 - masks, masks) * 0.8 + 0.1 * rng.random(
        masks.shape)
    expected = np.mean([_pair_count_rand_error(m[..., 0], p[..., 0], threshold)
                        for m, p in zip(masks, probabilities, strict=True)])
    assert expected > 0.01
    assert rand_error(masks, probabilities, threshold=threshold) == pytest.approx(expected)


@pytest.mark.parametrize("n", [1, 3])
def test_variation_of_information_matches_skimage_when_membrane_is_only_missed(n):
    # With no predicted membrane inside true cells (only gaps: merges), the singleton rule
    # has nothing to act on, and skimage's VI (bits, true label 0 ignored) is the same.
    rng = np.random.default_rng(10 + n)
    masks = np.stack([_cells((32, 40), seed) for seed in range(n)])
    gaps = (masks == 0) & (rng.random(masks.shape) < 0.3)
    probabilities = np.where(gaps, 1, masks) * 0.8 + 0.1
    expected = np.mean([
        np.sum(skimage_vi(label(m >= 0.5, connectivity=1), label(p >= 0.5, connectivity=1),
                          ignore_labels=(0,)))
        for m, p in zip(masks, probabilities, strict=True)])
    assert expected > 0.05
    assert variation_of_information(masks, probabilities) == pytest.approx(expected)


def test_rand_error_thick_wall_scores_much_worse_under_skimage():
    # 32 cells of 4 x 10 pixels in a row, walls at columns 0, 11, ..., 352; the prediction
    # draws each wall 3 pixels wide, so each cell keeps a core of 4 x 8 = 32 pixels and
    # loses 8 pixels of predicted membrane. n = 32 * 40 = 1280.
    truth = np.ones((4, 32 * 11 + 1))
    truth[:, ::11] = 0
    thick = truth.copy()
    for column in range(0, truth.shape[1], 11):
        thick[:, max(column - 1, 0):column + 2] = 0
    # rand_error: the 8 pixels are singletons of their own. Per cell TP = 32^2 + 8 = 1032
    # of a_i^2 = 40^2 = 1600 pairs; FP = 0: recall 1032/1600.
    ours = 1 - _f(1, 1032 / 1600)
    assert rand_error(truth, thick) == pytest.approx(ours)
    # skimage: predicted label 0 is one region of 32 * 8 = 256 pixels across all cells, and
    # self-pairs are left out: sum n_ij^2 - n = 32 * (32^2 + 8^2) - 1280 = 33536,
    # sum a_i^2 - n = 32 * 40^2 - 1280 = 49920, sum b_j^2 - n = 32 * 32^2 + 256^2 - 1280 = 97024.
    theirs = 1 - 2 * 33536 / (49920 + 97024)
    true_cells = label(truth >= 0.5, connectivity=1)
    assert adapted_rand_error(true_cells, label(thick >= 0.5, connectivity=1),
                              ignore_labels=(0,))[0] == pytest.approx(theirs)
    assert ours == pytest.approx(0.2158, abs=1e-4) and theirs == pytest.approx(0.5436, abs=1e-4)
    assert theirs > 2 * ours
    # The challenge's V_rand thins the walls first: a perfect score.
    assert v_rand(truth, thick, threshold=0.5) == pytest.approx(1)


def test_rand_error_and_vi_gap_merges_two_equal_cells():
    # One region holds both cells: TP = 1152, sum_j b_j^2 = 48^2 = 2304: precision 1/2.
    # VI: knowing the region leaves one bit (which cell) unknown; H(prediction | truth) = 0.
    truth = _two_cells_6x9()
    gap = truth.copy()
    gap[2, 4] = 1
    assert rand_error(truth, gap) == pytest.approx(1 - _f(1 / 2, 1))
    assert variation_of_information(truth, gap) == pytest.approx(1.0)


def test_rand_error_and_vi_spurious_wall_counts_singletons():
    # A wall across the left cell (row 2, columns 0-3): regions of 8 and 12 pixels there,
    # 4 singletons, the right cell whole. TP = 8^2 + 12^2 + 24^2 + 4 = 788, FP = 0,
    # FN = 1152 - 788: recall 788/1152.
    truth = _two_cells_6x9()
    split = truth.copy()
    split[2, :4] = 0
    assert rand_error(truth, split) == pytest.approx(1 - _f(1, 788 / 1152))
    # VI = H(B | A) + H(A | B) = H(B) - H(A) (no region spans two cells), in bits:
    # H(B) = (8/48) log2 6 + (12/48) log2 4 + (24/48) log2 2 + 4 (1/48) log2 48, H(A) = 1.
    h_b = (8 / 48) * np.log2(6) + (12 / 48) * 2 + (24 / 48) * 1 + 4 / 48 * np.log2(48)
    assert variation_of_information(truth, split) == pytest.approx(h_b - 1)


@pytest.mark.parametrize("shape", [(6, 9), (6, 9, 1), (1, 6, 9, 1)])
def test_rand_error_single_image_2d(shape):
    truth = _two_cells_6x9()
    thick = truth.copy()
    thick[:, 3:6] = 0
    # The wall drawn 3 pixels wide, no thinning: regions of 18 pixels and 12 singletons.
    # TP = 2 * 18^2 + 12 = 660, FP = 0: recall 660/1152. VI = H(B) - H(A), in bits.
    h_b = 2 * (18 / 48) * np.log2(48 / 18) + 12 / 48 * np.log2(48)
    assert rand_error(truth.reshape(shape), thick.reshape(shape)) == pytest.approx(
        1 - _f(1, 660 / 1152))
    assert variation_of_information(truth.reshape(shape), thick.reshape(shape)) == \
        pytest.approx(h_b - 1)


def test_rand_error_averages_per_image_errors():
    # Image 0 perfect (error 0), image 1 one merged region (error 1/3): mean 1/6. Pooling the
    # pairs instead would give 1 - F(2304/3456, 1) = 1/5.
    truth = np.stack([_two_cells_6x9()] * 2)
    predictions = np.stack([_two_cells_6x9(), np.ones((6, 9))])
    assert rand_error(truth, predictions) == pytest.approx((0 + 1 / 3) / 2)
    assert variation_of_information(truth, predictions) == pytest.approx((0 + 1) / 2)


def test_rand_error_threshold_is_inclusive():
    # helpers.metrics' convention: a probability >= threshold is interior, so a membrane at
    # exactly 0.5 is interior at 0.5 (a merge) and border just above.
    truth = _two_cells_6x9()
    probabilities = np.where(truth > 0, 1.0, 0.5)
    assert rand_error(truth, probabilities, threshold=0.5) == pytest.approx(1 / 3)
    assert rand_error(truth, probabilities, threshold=0.51) == 0.0


@pytest.mark.parametrize("shape", [(1, 24, 24, 1), (24, 24), (24, 24, 1)])
def test_rand_error_and_vi_perfect_prediction(shape):
    mask = _cells(shape[-3:-1] if len(shape) == 4 else shape[:2], seed=0).reshape(shape)
    assert rand_error(mask, mask) == 0.0
    assert variation_of_information(mask, mask) == 0.0
    assert pixel_error(mask, mask) == 0.0


def test_rand_error_gap_worse_than_thick_membrane():
    # Two cells separated by a vertical membrane (column 15).
    truth = np.ones((30, 30), np.float32)
    truth[:, 15] = 0
    # (a) a 2-pixel gap in the membrane merges the two cells;
    gap = truth.copy()
    gap[14:16, 15] = 1
    # (b) the membrane drawn 3 pixels thick keeps the cells apart.
    thick = truth.copy()
    thick[:, 14:17] = 0
    assert pixel_error(truth, gap) < pixel_error(truth, thick)  # 2/900 < 60/900
    assert pixel_error(truth, gap) == pytest.approx(2 / 900)
    assert pixel_error(truth, thick) == pytest.approx(60 / 900)
    # Cells of 30 * 15 = 450 and 30 * 14 = 420 pixels: sum_i a_i^2 = 450^2 + 420^2 = 378900.
    # The gap: one region, sum_j b_j^2 = 870^2, TP = 378900, so precision 378900/870^2.
    assert rand_error(truth, gap) == pytest.approx(1 - _f(378900 / 870**2, 1))
    assert rand_error(truth, gap) > 0.3
    # The thick membrane: regions of 420 and 390 pixels and 60 singletons (columns 14, 16):
    # TP = 420^2 + 390^2 + 60 = 328560, FP = 0, recall 328560/378900.
    assert rand_error(truth, thick) == pytest.approx(1 - _f(1, 328560 / 378900))
    assert rand_error(truth, thick) < 0.1
    assert rand_error(truth, gap) > 4 * rand_error(truth, thick)
    assert variation_of_information(truth, gap) > variation_of_information(truth, thick)


# --------------------------------------------------------------------------- evaluate, sweep

COLUMNS = ["pixel_error", "iou_membrane", "iou_interior", "dice_membrane", "dice_interior",
           "rand_error", "variation_of_information", "v_rand", "v_info"]


def test_evaluate_summary_matches_individual_functions():
    masks = np.stack([_cells((24, 28), s) for s in range(3)])[..., None]
    probabilities = np.clip(masks * 0.7 + np.random.default_rng(0).random(masks.shape) * 0.4,
                            0, 1)
    result = evaluate(masks, probabilities, threshold=0.55)
    assert list(result) == COLUMNS
    assert result["pixel_error"] == pixel_error(masks, probabilities, threshold=0.55)
    iou = iou_per_class(masks, probabilities, threshold=0.55)
    assert result["iou_membrane"] == iou["membrane"]
    assert result["iou_interior"] == iou["interior"]
    assert result["dice_interior"] == dice_per_class(masks, probabilities,
                                                     threshold=0.55)["interior"]
    assert result["rand_error"] == rand_error(masks, probabilities, threshold=0.55)
    assert result["variation_of_information"] == variation_of_information(
        masks, probabilities, threshold=0.55)
    assert result["v_rand"] == v_rand(masks, probabilities, threshold=0.55)
    assert result["v_info"] == v_info(masks, probabilities, threshold=0.55)


def test_evaluate_spurious_wall_by_hand():
    # The 6 x 9 cells with a wall invented across the left cell (row 2, columns 0-3).
    truth = _two_cells_6x9()
    split = truth.copy()
    split[2, :4] = 0
    result = evaluate(truth[np.newaxis], split[np.newaxis])
    # Pixels: 4 of 54 wrong. Interior: truth 48, predicted 44, both 44. Membrane: truth 6,
    # predicted 10, both 6.
    assert result["pixel_error"] == pytest.approx(4 / 54)
    assert result["iou_interior"] == pytest.approx(44 / 48)
    assert result["iou_membrane"] == pytest.approx(6 / 10)
    assert result["dice_interior"] == pytest.approx(2 * 44 / (48 + 44))
    assert result["dice_membrane"] == pytest.approx(2 * 6 / (6 + 10))
    # Rand: TP = 8^2 + 12^2 + 24^2 + 4 singletons = 788 of 1152 pairs, FP = 0. A one-pixel
    # wall is its own thinning, so V_rand is the same F-score.
    assert result["rand_error"] == pytest.approx(1 - _f(1, 788 / 1152))
    assert result["v_rand"] == pytest.approx(_f(1, 788 / 1152))
    # H(A) = 1 bit; H(B) in bits as in test_rand_error_and_vi_spurious_wall_counts_singletons.
    h_b = (8 / 48) * np.log2(6) + (12 / 48) * 2 + (24 / 48) * 1 + 4 / 48 * np.log2(48)
    assert result["variation_of_information"] == pytest.approx(h_b - 1)
    assert result["v_info"] == pytest.approx(_f(1, 1 / h_b))  # I = H(A): 2 H(A) / (H(A) + H(B))


def test_evaluate_per_image_names_the_argument_when_lengths_differ():
    masks = np.stack([_cells((12, 12), s) for s in range(3)])[..., None]
    with pytest.raises(ValueError, match=r"per_image=True: masks and probabilities must hold "
                                         r"the same number of images, got 3 and 2"):
        evaluate(masks, masks[:2], per_image=True)


def test_evaluate_per_image_dataframe():
    masks = np.stack([_cells((24, 28), s) for s in range(4)])[..., None]
    probabilities = np.clip(masks * 0.7 + np.random.default_rng(1).random(masks.shape) * 0.4,
                            0, 1)
    table = evaluate(masks, probabilities, per_image=True)
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == COLUMNS
    assert len(table) == 4
    assert table.index.name == "image"
    assert list(table.index) == [0, 1, 2, 3]
    for i in range(4):
        assert table.loc[i, "pixel_error"] == pixel_error(masks[i], probabilities[i])
        assert table.loc[i, "rand_error"] == pytest.approx(
            rand_error(masks[i], probabilities[i]))
    # pixel error is a mean over equally sized images: per-image mean = overall
    assert table["pixel_error"].mean() == pytest.approx(pixel_error(masks, probabilities))
    assert table["rand_error"].mean() == pytest.approx(rand_error(masks, probabilities))
    assert table["v_rand"].mean() == pytest.approx(v_rand(masks, probabilities, threshold=0.5))
    assert table["v_info"].mean() == pytest.approx(v_info(masks, probabilities, threshold=0.5))


def test_threshold_sweep_rows_and_values():
    masks, probabilities = _random_pair((2, 20, 24, 1), seed=3)
    table = threshold_sweep(masks, probabilities)
    expected_thresholds = np.round(np.arange(0.1, 0.91, 0.05), 2)
    assert len(table) == len(expected_thresholds) == 17
    np.testing.assert_allclose(table["threshold"], expected_thresholds)
    assert list(table.columns) == ["threshold", "pixel_error", "iou_membrane", "v_rand"]
    for _, row in table.iterrows():
        assert row["pixel_error"] == pixel_error(masks, probabilities,
                                                 threshold=row["threshold"])
        assert row["iou_membrane"] == iou_per_class(masks, probabilities,
                                                    threshold=row["threshold"])["membrane"]
        assert row["v_rand"] == v_rand(masks, probabilities, threshold=row["threshold"])


def test_threshold_sweep_v_rand_by_hand():
    # Interior 0.55, membrane 0.25. At 0.2 the membrane is interior (one region, V_rand 2/3;
    # pixel error 6/54); at 0.4 the truth; at 0.6 nothing is interior, and the challenge's
    # watershed makes the whole border one region (2/3), while every interior pixel is wrong
    # (48/54). At exactly 0.25 the two conventions part: pixel_error counts >= as interior
    # (the membrane, 6/54 wrong), V_rand the challenge's > (border: right).
    truth = _two_cells_6x9()
    probabilities = np.where(truth > 0, 0.55, 0.25)
    table = threshold_sweep(truth, probabilities, thresholds=[0.2, 0.25, 0.4, 0.6])
    np.testing.assert_allclose(table["v_rand"], [2 / 3, 1, 1, 2 / 3])
    np.testing.assert_allclose(table["pixel_error"], [6 / 54, 6 / 54, 0, 48 / 54])


def test_threshold_sweep_custom_thresholds_without_rand():
    masks, probabilities = _random_pair((30, 30), seed=4)
    table = threshold_sweep(masks, probabilities, thresholds=[0.25, 0.75], rand=False)
    assert list(table.columns) == ["threshold", "pixel_error", "iou_membrane"]
    assert table["threshold"].tolist() == [0.25, 0.75]
    assert table["pixel_error"].tolist() == [
        pixel_error(masks, probabilities, threshold=0.25),
        pixel_error(masks, probabilities, threshold=0.75),
    ]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("func", [pixel_error, iou_per_class, dice_per_class, rand_error,
                                  variation_of_information, evaluate])
def test_metrics_mismatched_shapes(func):
    with pytest.raises(ValueError, match="masks and predictions must cover the same pixels"):
        func(np.ones((2, 8, 8, 1)), np.ones((2, 8, 9, 1)))


@pytest.mark.parametrize("func", [pixel_error, iou_per_class, dice_per_class, rand_error,
                                  variation_of_information])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_metrics_non_finite_predictions(func, bad):
    predictions = np.full((1, 4, 4, 1), 0.7)
    predictions[0, 1, 2, 0] = bad
    with pytest.raises(ValueError, match="predictions contains NaN or infinite"):
        func(np.ones((1, 4, 4, 1)), predictions)


def test_metrics_non_finite_masks():
    masks = np.ones((4, 4))
    masks[0, 0] = np.nan
    with pytest.raises(ValueError, match="masks contains NaN"):
        pixel_error(masks, np.ones((4, 4)))


@pytest.mark.parametrize("threshold", [-0.1, 1.1])
def test_metrics_bad_threshold(threshold):
    with pytest.raises(ValueError, match="threshold must lie in"):
        pixel_error(np.ones((4, 4)), np.ones((4, 4)), threshold=threshold)


def test_metrics_non_numeric():
    with pytest.raises(ValueError, match="predictions must be numeric"):
        pixel_error(np.ones(3), np.array(["a", "b", "c"]))


def test_rand_error_bad_ndim():
    with pytest.raises(ValueError, match="masks must be one image"):
        rand_error(np.ones(5), np.ones(5))


@pytest.mark.parametrize("func", [pixel_error, rand_error])
def test_metrics_batch_without_channel_axis(func):
    masks = np.stack([_cells((12, 12), seed) for seed in range(2)])  # (2, 12, 12)
    predictions = 1 - masks
    # A batch of binary (N, H, W) masks reads as N images without a channel axis.
    value = func(masks, predictions)
    assert value == func(masks[..., None], predictions[..., None])
    assert value == func(masks.astype(bool), predictions.astype(bool))
    assert value > 0


# --------------------------------------------------------------------------- split_merge_counts


def _two_cells(height=10, width=21):
    """Two cells of 10 x 10 either side of a one-pixel membrane at column 10."""
    truth = np.ones((height, width))
    truth[:, width // 2] = 0
    return truth


def test_split_merge_counts_membrane_gap_is_one_merge():
    truth = _two_cells()
    leaky = truth.copy()
    leaky[4, 10] = 1  # one pixel of the membrane missed: the two cells join
    counts = split_merge_counts(truth, leaky)
    assert counts == {"splits": 0, "merges": 1, "true_cells": 2, "predicted_cells": 1}


def test_split_merge_counts_invented_membrane_is_one_split():
    truth = _two_cells()
    cut = truth.copy()
    cut[5, :10] = 0  # a membrane line across the left cell: 50 + 40 pixels either side
    counts = split_merge_counts(truth, cut)
    assert counts == {"splits": 1, "merges": 0, "true_cells": 2, "predicted_cells": 3}


@pytest.mark.parametrize("shape", [(10, 21), (1, 10, 21), (1, 10, 21, 1)])
def test_split_merge_counts_perfect_prediction(shape):
    truth = _two_cells().reshape(shape)
    counts = split_merge_counts(truth, truth.astype(np.float32) * 0.9)
    assert counts == {"splits": 0, "merges": 0, "true_cells": 2, "predicted_cells": 2}


@pytest.mark.parametrize(("sliver", "min_overlap", "expected_splits"), [
    (3, 10, 0),   # 3 pixels cut off: below the default, not a split
    (3, 3, 1),    # ... unless min_overlap allows it
    (3, 4, 0),
    (10, 10, 1),  # 10 pixels: exactly the default, a split
])
def test_split_merge_counts_sliver_below_min_overlap_does_not_count(sliver, min_overlap,
                                                                    expected_splits):
    truth = np.ones((10, 12))
    cut = truth.copy()
    cut[1, :sliver] = 0  # row 0's first `sliver` pixels become a predicted cell of their own
    cut[0, sliver] = 0
    counts = split_merge_counts(truth, cut, min_overlap=min_overlap)
    assert counts["predicted_cells"] == 2
    assert counts["splits"] == expected_splits
    assert counts["merges"] == 0


def test_split_merge_counts_merge_needs_min_overlap_with_each_true_cell():
    truth = _two_cells()
    leaky = truth.copy()
    leaky[4, 10] = 1
    leaky[:, 12] = 0  # the right cell's part of the joined cell: column 11, 10 pixels
    leaky[4, 12] = 1  # ... plus the rest of row 4 through a hole in the new membrane
    # Joined cell: all 100 pixels of the left cell, and 10 + 9 of the right one.
    assert split_merge_counts(truth, leaky, min_overlap=19)["merges"] == 1
    assert split_merge_counts(truth, leaky, min_overlap=100)["merges"] == 0


def test_split_merge_counts_batch_sums_over_images():
    truth = _two_cells()
    leaky, cut = truth.copy(), truth.copy()
    leaky[4, 10] = 1
    cut[5, :10] = 0
    masks = np.stack([truth, truth, truth])[..., np.newaxis]
    predictions = np.stack([leaky, cut, truth])[..., np.newaxis]
    counts = split_merge_counts(masks, predictions)
    assert counts == {"splits": 1, "merges": 1, "true_cells": 6, "predicted_cells": 6}
    assert all(type(value) is int for value in counts.values())


def test_split_merge_counts_threshold_decides_interior():
    truth = _two_cells()
    probabilities = truth * 0.9
    probabilities[4, 10] = 0.4  # interior at threshold 0.3, membrane at 0.5
    assert split_merge_counts(truth, probabilities)["merges"] == 0
    assert split_merge_counts(truth, probabilities, threshold=0.3)["merges"] == 1


def test_split_merge_counts_leaves_evaluate_keys_alone():
    truth = _two_cells()[np.newaxis]
    assert "splits" not in evaluate(truth, truth)


@pytest.mark.parametrize("min_overlap", [0, -1, 2.5, True, "10", None])
def test_split_merge_counts_bad_min_overlap(min_overlap):
    truth = _two_cells()
    with pytest.raises(ValueError, match=r"min_overlap must be an int of at least 1.*got"):
        split_merge_counts(truth, truth, min_overlap=min_overlap)


@pytest.mark.parametrize(("masks", "predictions", "message"), [
    (np.ones((8, 8)), np.ones((8, 9)), "masks and predictions must cover the same pixels"),
    (np.ones(8), np.ones(8), "masks must be one image"),
    (np.ones((8, 8)), np.full((8, 8), np.nan), "predictions contains NaN"),
])
def test_split_merge_counts_bad_input(masks, predictions, message):
    with pytest.raises(ValueError, match=message):
        split_merge_counts(masks, predictions)


def test_split_merge_counts_bad_threshold():
    with pytest.raises(ValueError, match="threshold must lie in"):
        split_merge_counts(np.ones((4, 4)), np.ones((4, 4)), threshold=2)


# --------------------------------------------------------------------------- worst_tiles


def _planted(n=1, size=32, bad=(0, 16, 0)):
    """Cells of 7 x 7 on an 8-pixel grid; perfect predictions but for one tile with a gap."""
    truth = np.ones((n, size, size, 1), np.float32)
    truth[:, 7::8, :] = 0
    truth[:, :, 7::8] = 0
    probabilities = truth * 0.8 + 0.1
    image, row, col = bad
    probabilities[image, row + 3, col + 7] = 0.9  # a gap in the membrane: two cells merge
    return truth, probabilities


# A 16 x 16 tile holds four 7 x 7 cells of 49 pixels. The planted gap merges two of them:
# TP = 4 * 49^2 = 9604, sum_j b_j^2 = 98^2 + 2 * 49^2 = 14406, FN = 0, so precision
# 9604/14406 = 2/3 and V_rand = 2 * (2/3) / (1 + 2/3) = 4/5.
PLANTED_V_RAND = 2 * (2 / 3) / (1 + 2 / 3)


def test_worst_tiles_planted_bad_tile_ranks_first():
    truth, probabilities = _planted(n=2, bad=(1, 16, 0))
    table = worst_tiles(truth, probabilities, tile_size=16, k=3)
    assert list(table.columns) == ["image", "row", "col", "v_rand", "pixel_error"]
    assert table.iloc[0][["image", "row", "col"]].tolist() == [1, 16, 0]
    assert table.loc[0, "pixel_error"] == pytest.approx(1 / 256)
    assert table.loc[0, "v_rand"] == pytest.approx(PLANTED_V_RAND)
    assert PLANTED_V_RAND == pytest.approx(4 / 5)
    assert (table.loc[1:, "v_rand"] == 1).all()
    assert len(table) == 3


def test_worst_tiles_sorted_worst_first_by_chosen_metric():
    truth, probabilities = _planted(n=1, size=32)
    # Tile (0, 16): its top row called membrane, 14 interior pixels (2 are membrane already).
    # Cells shrink but none splits or merges: the worst by pixel error, not by V_rand, which
    # thins the border first (the row joins the cells below it): V_rand 1 there.
    probabilities[0, 0, 16:32] = 0.0
    by_rand = worst_tiles(truth, probabilities, tile_size=16, k=4)
    by_pixel = worst_tiles(truth, probabilities, tile_size=16, k=4, metric="pixel_error")
    assert by_rand["v_rand"].is_monotonic_increasing  # lowest V_rand first
    assert by_pixel["pixel_error"].is_monotonic_decreasing
    assert by_rand.iloc[0][["row", "col"]].tolist() == [16, 0]  # the planted gap
    assert by_rand["v_rand"].tolist() == pytest.approx([PLANTED_V_RAND, 1, 1, 1])
    assert by_pixel.iloc[0][["row", "col"]].tolist() == [0, 16]
    assert by_pixel.loc[0, "pixel_error"] == pytest.approx(14 / 256)
    assert by_pixel.loc[0, "v_rand"] == 1.0


@pytest.mark.parametrize("k", [4, 5, 100])
def test_worst_tiles_k_larger_than_tile_count_returns_all(k):
    truth, probabilities = _planted(n=1, size=32)  # 4 tiles
    table = worst_tiles(truth, probabilities, tile_size=16, k=k)
    assert len(table) == 4
    assert sorted(zip(table["row"], table["col"], strict=True)) == [
        (0, 0), (0, 16), (16, 0), (16, 16)]


def test_worst_tiles_rectangular_tiles_and_2d_input():
    truth, probabilities = _planted(n=1, size=32, bad=(0, 0, 16))
    table = worst_tiles(truth[0, ..., 0], probabilities[0, ..., 0], tile_size=(8, 32), k=8)
    assert len(table) == 4
    assert table.iloc[0][["image", "row", "col"]].tolist() == [0, 0, 0]
    # Four 7 x 7 cells in the 8 x 32 tile, two merged: the same counts as a 16 x 16 tile.
    assert table.loc[0, "v_rand"] == pytest.approx(PLANTED_V_RAND)
    assert (table.loc[1:, "v_rand"] == 1).all()


def test_worst_tiles_tile_without_interior_ranks_last_as_nan():
    truth = np.ones((1, 8, 16, 1))
    truth[0, :, 8:] = 0  # the right tile is all membrane
    predictions = truth.copy()
    predictions[0, 0, 0] = 0
    table = worst_tiles(truth, predictions, tile_size=8, k=2)
    assert table["col"].tolist() == [0, 8]
    assert table.loc[0, "v_rand"] == 1.0  # one corner pixel of border, thinned away
    assert np.isnan(table.loc[1, "v_rand"])
    assert table.loc[1, "pixel_error"] == 0


@pytest.mark.parametrize(("tile_size", "message"), [
    (12, r"tile_size must divide the images' height and width \(32, 32\).*Fix"),
    (64, r"tile_size must divide .*no larger.*got \(64, 64\)"),
    ((16, 40), r"tile_size must divide"),
    (0, "tile_size must be a positive int"),
    (None, "tile_size must be a positive int"),
])
def test_worst_tiles_bad_tile_size(tile_size, message):
    truth, probabilities = _planted(n=1, size=32)
    with pytest.raises(ValueError, match=message):
        worst_tiles(truth, probabilities, tile_size=tile_size)


@pytest.mark.parametrize(("options", "message"), [
    ({"k": 0}, "k must be an int of at least 1, got 0"),
    ({"k": 2.0}, "k must be an int"),
    ({"metric": "dice"}, "metric must be one of v_rand, pixel_error, got 'dice'"),
    ({"metric": "rand_error"}, "metric must be one of v_rand, pixel_error, got 'rand_error'"),
    ({"threshold": 1.5}, "threshold must lie in"),
])
def test_worst_tiles_bad_options(options, message):
    truth, probabilities = _planted(n=1, size=32)
    with pytest.raises(ValueError, match=message):
        worst_tiles(truth, probabilities, tile_size=16, **options)


@pytest.mark.parametrize(("masks", "probabilities", "message"), [
    (np.ones((1, 32, 32, 1)), np.ones((1, 32, 16, 1)), "must cover the same pixels"),
    (np.ones(32), np.ones(32), "masks must be one image"),
])
def test_worst_tiles_shape_errors(masks, probabilities, message):
    with pytest.raises(ValueError, match=message):
        worst_tiles(masks, probabilities, tile_size=16)


# --------------------------------------------------------------------------- membrane_edge_band


def _notebook_01_band(truth):
    """Notebook 01's hand-written band, as it was: (N, H, W) bool in, (N, H, W) bool out."""
    from scipy import ndimage

    return np.stack([ndimage.binary_dilation(t) & ~ndimage.binary_erosion(t) for t in truth])


def _slides_band(truth):
    """slides/figures.py's hand-written band (_errors_near_edges): (H, W) bool in and out."""
    from scipy.ndimage import binary_dilation, binary_erosion

    return binary_dilation(truth) & ~binary_erosion(truth, border_value=1)


def _band_by_distance(truth, width):
    """Brute force: a pixel of one class with a pixel of the other within `width` steps."""
    from scipy import ndimage

    reach = ndimage.generate_binary_structure(2, 1)
    return np.stack([ndimage.binary_dilation(t, reach, iterations=width)
                     & ~ndimage.binary_erosion(t, reach, iterations=width, border_value=1)
                     for t in truth])


def test_membrane_edge_band_known_row():
    mask = np.array([[1, 1, 0, 1, 1, 1, 1, 0]])
    assert membrane_edge_band(mask).astype(int).tolist() == [[0, 1, 1, 1, 0, 0, 1, 1]]
    assert membrane_edge_band(mask, width=2).astype(int).tolist() == [[1, 1, 1, 1, 1, 1, 1, 1]]


def test_membrane_edge_band_equals_the_slides_hand_version(isbi_like_truth):
    for truth in isbi_like_truth:
        np.testing.assert_array_equal(membrane_edge_band(truth), _slides_band(truth))


def test_membrane_edge_band_equals_notebook_01_inside_the_image_border(isbi_like_truth):
    # Notebook 01 eroded with border_value=0, which also marks every interior pixel
    # on the image's outer frame; find_boundaries (and the slides) do not, as the
    # frame is no boundary between membrane and interior. Inside it they agree.
    band, hand = membrane_edge_band(isbi_like_truth), _notebook_01_band(isbi_like_truth)
    inside = np.s_[:, 1:-1, 1:-1]
    np.testing.assert_array_equal(band[inside], hand[inside])
    frame = np.ones(band.shape[1:], bool)
    frame[1:-1, 1:-1] = False
    np.testing.assert_array_equal(hand[:, frame], band[:, frame] | isbi_like_truth[:, frame])


def test_membrane_edge_band_on_isbi_equals_the_hand_versions(isbi):
    # The 30 ISBI 2012 masks: the slides' version everywhere, notebook 01's inside the
    # frame (its frame adds about 1,650 interior pixels an image: 12.1% of the pixels
    # in its band, against 11.5%).
    truth = isbi.masks[..., 0] >= 0.5
    band = membrane_edge_band(truth)
    np.testing.assert_array_equal(band, np.stack([_slides_band(t) for t in truth]))
    inside = np.s_[:, 1:-1, 1:-1]
    np.testing.assert_array_equal(band[inside], _notebook_01_band(truth)[inside])


@pytest.mark.parametrize("width", [2, 3, 5])
def test_membrane_edge_band_width_is_the_distance_to_the_other_class(isbi_like_truth, width):
    np.testing.assert_array_equal(membrane_edge_band(isbi_like_truth[:2], width=width),
                                  _band_by_distance(isbi_like_truth[:2], width))


def test_membrane_edge_band_keeps_the_shape_and_reads_numbers():
    from helpers import synthetic_membranes

    _, masks = synthetic_membranes(2, size=64, seed=1)
    band = membrane_edge_band(masks)
    assert band.shape == masks.shape and band.dtype == bool
    np.testing.assert_array_equal(band[..., 0], membrane_edge_band(masks[..., 0] >= 0.5))
    np.testing.assert_array_equal(membrane_edge_band(masks[0, ..., 0]), band[0, ..., 0])
    assert not membrane_edge_band(np.ones((8, 8))).any()


@pytest.mark.parametrize(("masks", "options", "message"), [
    (np.ones((2, 8, 8, 3)), {}, r"masks must be one mask \(H, W\) or a batch"),
    (np.ones(8), {}, r"masks must be one mask"),
    (np.array([["a"]]), {}, r"masks must be numeric or boolean"),
    (np.full((4, 4), np.nan), {}, r"masks contains NaN"),
    (np.ones((4, 4)), {"width": 0}, r"width must be an int of at least 1, got 0"),
    (np.ones((4, 4)), {"width": 1.5}, r"width must be an int of at least 1, got 1.5"),
])
def test_membrane_edge_band_rejects_bad_input(masks, options, message):
    with pytest.raises(ValueError, match=message):
        membrane_edge_band(masks, **options)


@pytest.fixture(scope="module")
def isbi_like_truth():
    """Three 512 x 512 masks, as the notebook's test set: (3, H, W) bool, 1 = interior."""
    from helpers import synthetic_membranes

    _, masks = synthetic_membranes(3, size=512, seed=0)
    return masks[..., 0] >= 0.5
