"""helpers.intervals: percentile bootstrap intervals over test tiles."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import Interval, bootstrap_interval, pixel_error, rand_error


def _tiles_with_errors(errors, size=10):
    """One tile per value, each with exactly that fraction of its pixels wrong."""
    masks = np.ones((len(errors), size, size, 1))
    predictions = np.ones_like(masks)
    for tile, error in enumerate(errors):
        wrong = round(error * size * size)
        predictions[tile].reshape(-1)[:wrong] = 0.0
    return masks, predictions


def test_bootstrap_interval_two_tiles_known_bounds():
    # Means of two tiles drawn with replacement: a, (a + b) / 2 or b, with chances
    # 1/4, 1/2, 1/4; so the central 95% runs from a to b exactly.
    masks, predictions = _tiles_with_errors([0.1, 0.3])
    interval = bootstrap_interval(masks, predictions)
    assert interval.estimate == pytest.approx(0.2)
    assert interval.low == pytest.approx(0.1)
    assert interval.high == pytest.approx(0.3)
    assert interval.tiles == 2 and interval.confidence == 0.95


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("errors", [[0.0, 0.1, 0.2, 0.3], [0.05, 0.05, 0.4, 0.1, 0.2]])
def test_bootstrap_interval_contains_the_estimate(seed, errors):
    masks, predictions = _tiles_with_errors(errors)
    interval = bootstrap_interval(masks, predictions, seed=seed)
    assert interval.low <= interval.estimate <= interval.high
    assert min(errors) <= interval.low < interval.high <= max(errors)
    assert interval.estimate == pytest.approx(pixel_error(masks, predictions))


def test_bootstrap_interval_same_errors_everywhere_is_a_point():
    masks, predictions = _tiles_with_errors([0.2] * 6)
    interval = bootstrap_interval(masks, predictions)
    assert interval.low == pytest.approx(0.2) and interval.high == pytest.approx(0.2)


def test_bootstrap_interval_is_deterministic_given_the_seed():
    masks, predictions = _tiles_with_errors([0.0, 0.13, 0.2, 0.31, 0.07, 0.5])
    first = bootstrap_interval(masks, predictions, seed=5)
    assert bootstrap_interval(masks, predictions, seed=5) == first
    others = {bootstrap_interval(masks, predictions, seed=s)[1:3] for s in range(6, 12)}
    assert len(others) > 1  # the seed does drive the resampling


def test_bootstrap_interval_narrows_with_more_tiles():
    # Four times the tiles, drawn alike: the width shrinks by about sqrt(4) = 2.
    errors = [0.0, 0.13, 0.2, 0.31, 0.07, 0.5, 0.22, 0.16]
    few = bootstrap_interval(*_tiles_with_errors(errors), n_resamples=4000)
    many = bootstrap_interval(*_tiles_with_errors(errors * 4), n_resamples=4000)
    assert many.estimate == pytest.approx(few.estimate)
    ratio = (many.high - many.low) / (few.high - few.low)
    assert 0.4 < ratio < 0.6


@pytest.mark.parametrize("confidence", [0.5, 0.8, 0.95, 0.99])
def test_bootstrap_interval_matches_the_normal_approximation(confidence):
    # For a mean over many tiles, the percentile interval is close to
    # mean +- z * sd / sqrt(n), with sd the tiles' standard deviation (ddof=0).
    from scipy.stats import norm

    rng = np.random.default_rng(0)
    errors = rng.uniform(0, 0.3, 200).round(2)
    masks, predictions = _tiles_with_errors(errors)
    interval = bootstrap_interval(masks, predictions, confidence=confidence, n_resamples=20000)
    half = norm.ppf((1 + confidence) / 2) * errors.std() / np.sqrt(len(errors))
    assert interval.low == pytest.approx(errors.mean() - half, abs=0.1 * half)
    assert interval.high == pytest.approx(errors.mean() + half, abs=0.1 * half)


def test_bootstrap_interval_tile_size_cuts_images():
    # One 8 x 8 image, wrong only in its top-left 4 x 4 quarter (half its pixels there).
    masks = np.ones((1, 8, 8, 1))
    predictions = np.ones_like(masks)
    predictions[0, :2, :4] = 0
    interval = bootstrap_interval(masks, predictions, tile_size=4)
    assert interval.tiles == 4
    assert interval.estimate == pytest.approx(pixel_error(masks, predictions))
    # Draws of the wrong tile among 4 are Binomial(4, 1/4): the 97.5% point is 3 of them.
    assert interval.low == 0.0 and interval.high == pytest.approx(3 * 0.5 / 4)
    wide = bootstrap_interval(masks[..., 0], predictions[..., 0], tile_size=(8, 4))
    assert wide.tiles == 2 and wide.estimate == pytest.approx(interval.estimate)


def test_bootstrap_interval_rand_error_per_tile():
    rng = np.random.default_rng(1)
    rows, cols = np.mgrid[:16, :16]
    cells = ((rows % 8 >= 2) & (cols % 8 >= 2)).astype(float)[np.newaxis, ..., np.newaxis]
    masks = np.repeat(cells, 3, axis=0)
    perfect = bootstrap_interval(masks, masks, metric="rand_error")
    assert perfect == Interval(0.0, 0.0, 0.0, 0.95, 3)
    merged = masks.copy()
    merged[1, 6:10] = 1.0  # a gap in the membranes of image 1: cells merge there
    noisy = np.clip(merged + rng.normal(0, 0.01, merged.shape), 0, 1)
    interval = bootstrap_interval(masks, noisy, metric="rand_error")
    assert interval.estimate == pytest.approx(rand_error(masks, noisy))
    assert interval.low == 0.0 and interval.high > 0


def _two_cell_tiles():
    """Two 6 x 9 tiles of two 24-pixel cells (wall at column 4); tile 1's wall has a gap."""
    masks = np.ones((2, 6, 9, 1))
    masks[:, :, 4] = 0
    predictions = masks.copy()
    predictions[1, 2, 4] = 1.0
    return masks, predictions


def test_bootstrap_interval_v_rand_per_tile():
    # Tile 0 perfect (V_rand 1); tile 1 one region over both cells: precision 1/2, recall 1,
    # V_rand 2 * (1/2) / (1 + 1/2) = 2/3. Two tiles: the interval runs from one to the other.
    masks, predictions = _two_cell_tiles()
    interval = bootstrap_interval(masks, predictions, metric="v_rand")
    assert interval.estimate == pytest.approx((1 + 2 / 3) / 2)
    assert interval.low == pytest.approx(2 / 3) and interval.high == pytest.approx(1)


def test_bootstrap_interval_v_info_per_tile():
    # V_info 1 for the perfect tile, 0 for the merged one (one region: zero entropy).
    masks, predictions = _two_cell_tiles()
    interval = bootstrap_interval(masks, predictions, metric="v_info")
    assert interval == Interval(0.5, 0.0, 1.0, 0.95, 2)


def test_bootstrap_interval_v_rand_tile_without_interior_is_refused():
    masks, predictions = _two_cell_tiles()
    masks[1] = 0
    with pytest.raises(ValueError, match="masks: image 0 has no cell interior"):
        bootstrap_interval(masks, predictions, metric="v_rand")


def test_bootstrap_interval_accepts_a_function():
    masks, predictions = _tiles_with_errors([0.1, 0.3, 0.2])

    def accuracy(m, p, *, threshold):
        return 1.0 - pixel_error(m, p, threshold=threshold)

    interval = bootstrap_interval(masks, predictions, metric=accuracy)
    assert interval.estimate == pytest.approx(0.8)


@pytest.mark.parametrize(("tiles", "confidence", "n_resamples", "seed"), [
    (2, 0.95, 2000, 0), (3, 0.95, 2000, 0), (7, 0.9, 999, 3), (48, 0.95, 2000, 0),
    (48, 0.5, 100, 11), (120, 0.99, 5000, 42),
])
def test_bootstrap_interval_same_bounds_as_scipy_bootstrap(tiles, confidence, n_resamples,
                                                           seed):
    # bootstrap_interval draws SciPy's own resample indices from the seeded generator,
    # so the bounds agree to rounding (SciPy's quantile interpolates in another order).
    from scipy.stats import bootstrap

    errors = np.random.default_rng(tiles).integers(0, 100, tiles) / 100
    masks, predictions = _tiles_with_errors(errors)
    interval = bootstrap_interval(masks, predictions, confidence=confidence,
                                  n_resamples=n_resamples, seed=seed)
    reference = bootstrap((errors,), np.mean, n_resamples=n_resamples,
                          confidence_level=confidence, method="percentile",
                          rng=np.random.default_rng(seed)).confidence_interval
    assert interval.low == pytest.approx(reference.low, rel=1e-12, abs=1e-15)
    assert interval.high == pytest.approx(reference.high, rel=1e-12, abs=1e-15)


def test_interval_str_reads_as_a_sentence():
    text = str(Interval(0.0712, 0.065, 0.0791, 0.95, 48))
    assert text == "0.0712 (95% interval 0.0650 to 0.0791, 48 tiles)"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("options", "match"), [
    ({"metric": "accuracy"}, r"metric must be one of pixel_error, rand_error, "
                             r"variation_of_information, v_rand, v_info or a function, "
                             r"got 'accuracy'"),
    ({"confidence": 95}, r"confidence must lie strictly between 0 and 1, got 95"),
    ({"confidence": 1.0}, r"confidence must lie strictly between 0 and 1"),
    ({"n_resamples": 10}, r"n_resamples must be an int >= 100, got 10"),
    ({"n_resamples": 1000.0}, r"n_resamples must be an int"),
    ({"tile_size": 3}, r"tile_size \(3, 3\) must divide the masks' height and width \(10, 10\)"),
])
def test_bootstrap_interval_rejects_bad_options(options, match):
    masks, predictions = _tiles_with_errors([0.1, 0.3])
    with pytest.raises(ValueError, match=match):
        bootstrap_interval(masks, predictions, **options)


def test_bootstrap_interval_rejects_one_tile():
    masks, predictions = _tiles_with_errors([0.1])
    with pytest.raises(ValueError, match="at least 2 tiles .* set tile_size"):
        bootstrap_interval(masks, predictions)


@pytest.mark.parametrize(("masks", "predictions"), [
    (np.ones((2, 8, 8, 1)), np.ones((2, 8, 6, 1))),
    (np.ones((8, 8)), np.ones((8, 8))),
])
def test_bootstrap_interval_rejects_unpaired_shapes(masks, predictions):
    with pytest.raises(ValueError, match="masks and predictions must have the same shape"):
        bootstrap_interval(masks, predictions)
