"""helpers.weights: the U-Net paper's border weight map, and its use as Keras sample weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage
from skimage.measure import label

from helpers import augmented_batches, border_weight_map, class_balance_weights


def _paper(d1, d2, *, w0=10.0, sigma=5.0, class_weight=1.0):
    """Equation 2 of the paper for one membrane pixel, written out."""
    return class_weight + w0 * math.exp(-((d1 + d2) ** 2) / (2 * sigma**2))


# Two cells in a 6 x 9 image: A is the strip in columns 0-1 (all rows), B the 2 x 2
# square at rows 2-3, columns 6-7. Everything else is membrane.
TWO_CELLS = np.zeros((6, 9), np.uint8)
TWO_CELLS[:, 0:2] = 1
TWO_CELLS[2:4, 6:8] = 1
# (pixel) -> (distance to A, distance to B), by hand: A's nearest pixel is in column 1 of
# the same row; B's nearest pixel is the corner or edge of the square.
HAND_DISTANCES = {
    (0, 5): (4.0, math.sqrt(2**2 + 1**2)),  # B's corner (2, 6)
    (2, 4): (3.0, 2.0),  # B's edge pixel (2, 6)
    (3, 3): (2.0, 3.0),
    (5, 8): (7.0, math.sqrt(2**2 + 1**2)),  # B's corner (3, 7)
    (2, 8): (7.0, 1.0),
    (0, 2): (1.0, math.sqrt(2**2 + 4**2)),  # B's corner (2, 6)
}


@pytest.mark.parametrize(("pixel", "distances"), list(HAND_DISTANCES.items()))
@pytest.mark.parametrize(("w0", "sigma"), [(10.0, 5.0), (5.0, 2.0), (10.0, 1.5)])
def test_border_weight_map_two_cells_hand_computed(pixel, distances, w0, sigma):
    weights = border_weight_map(TWO_CELLS, w0=w0, sigma=sigma, class_weights=None)
    assert weights[pixel] == pytest.approx(_paper(*distances, w0=w0, sigma=sigma), rel=1e-6)


@pytest.mark.parametrize("pixel", [(0, 0), (5, 1), (2, 6), (3, 7)])
def test_border_weight_map_cells_get_only_their_class_weight(pixel):
    weights = border_weight_map(TWO_CELLS, class_weights=(3.0, 0.25))
    assert weights[pixel] == 0.25


def test_border_weight_map_two_cells_balanced():
    # 16 interior pixels of 54: interior weighs 54 / (2 * 16), membrane 54 / (2 * 38).
    weights = border_weight_map(TWO_CELLS)
    assert weights[0, 0] == pytest.approx(54 / 32)
    assert weights[2, 4] == pytest.approx(_paper(3.0, 2.0, class_weight=54 / 76), rel=1e-6)
    assert class_balance_weights(TWO_CELLS) == pytest.approx((54 / 76, 54 / 32))


def test_border_weight_map_uses_the_second_nearest_not_a_farther_cell():
    # One-pixel cells at columns 0, 4 and 12 of a row.
    row = np.zeros((1, 13), np.uint8)
    row[0, [0, 4, 12]] = 1
    weights = border_weight_map(row, class_weights=None)
    expected = {1: (1, 3), 2: (2, 2), 6: (2, 6), 9: (3, 5), 11: (1, 7)}
    for column, (d1, d2) in expected.items():
        assert weights[0, column] == pytest.approx(_paper(d1, d2), rel=1e-6), column


@pytest.mark.parametrize("mask", [
    pytest.param(np.zeros((8, 8), np.uint8), id="no cell"),
    pytest.param(np.pad(np.ones((3, 3), np.uint8), 2), id="one cell"),
])
def test_border_weight_map_needs_two_cells_for_the_border_term(mask):
    weights = border_weight_map(mask, class_weights=(2.0, 0.5))
    np.testing.assert_array_equal(weights, np.where(mask == 1, 0.5, 2.0))


def _brute_force(mask, *, w0, sigma):
    """Every cell's full distance transform, sorted: the definition, without shortcuts."""
    labels = label(mask, connectivity=1)
    if labels.max() < 2:
        return np.ones(mask.shape)
    distances = np.sort(np.stack([ndimage.distance_transform_edt(labels != k)
                                  for k in range(1, labels.max() + 1)]), axis=0)
    border = w0 * np.exp(-((distances[0] + distances[1]) ** 2) / (2 * sigma**2))
    return 1.0 + np.where(mask == 1, 0.0, border)


@pytest.mark.parametrize("sigma", [1.0, 3.0, 5.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_border_weight_map_matches_brute_force(sigma, seed):
    rng = np.random.default_rng(seed)
    mask = ndimage.binary_opening(rng.random((60, 70)) > 0.35).astype(np.uint8)
    assert label(mask, connectivity=1).max() > 5
    expected = _brute_force(mask, w0=10.0, sigma=sigma)
    weights = border_weight_map(mask, sigma=sigma, class_weights=None)
    np.testing.assert_allclose(weights, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(12, 10), (3, 12, 10, 1)])
def test_border_weight_map_shapes_and_dtypes(dtype, shape):
    rng = np.random.default_rng(3)
    mask = (rng.random(shape) > 0.4).astype(dtype)
    weights = border_weight_map(mask)
    assert weights.shape == shape
    assert weights.dtype == np.float32
    assert np.isfinite(weights).all()
    assert (weights > 0).all()


def test_border_weight_map_batch_is_each_image_with_shared_class_weights():
    rng = np.random.default_rng(4)
    masks = (rng.random((3, 16, 16, 1)) > 0.4).astype(np.float32)
    batch = border_weight_map(masks, class_weights=(1.5, 0.5))
    for image, weights in zip(masks, batch, strict=True):
        np.testing.assert_array_equal(
            weights[..., 0], border_weight_map(image[..., 0], class_weights=(1.5, 0.5)))


@pytest.mark.parametrize("interior_fraction", [0.2, 0.5, 0.8])
def test_class_balance_weights_give_both_classes_the_same_total(interior_fraction):
    rng = np.random.default_rng(5)
    masks = (rng.random((2, 32, 32, 1)) < interior_fraction).astype(np.uint8)
    membrane_weight, interior_weight = class_balance_weights(masks)
    interior = np.count_nonzero(masks)
    assert interior * interior_weight == pytest.approx((masks.size - interior) * membrane_weight)
    # Without the border term the map is the class weights, with mean 1.
    weights = border_weight_map(masks, w0=0)
    assert weights.mean() == pytest.approx(1.0, rel=1e-5)
    assert set(np.unique(weights)) == {np.float32(membrane_weight), np.float32(interior_weight)}


@pytest.mark.parametrize("interior_fraction", [0.05, 0.5, 0.78, 0.99])
def test_class_balance_weights_equal_scikit_learn_balanced(interior_fraction):
    # The docstring's claim, checked. The hand-written count stays: scikit-learn's
    # compute_class_weight sorts every pixel's label (about 20x the time on 3-30
    # ISBI-size masks) and raises where a class is absent.
    from sklearn.utils.class_weight import compute_class_weight

    rng = np.random.default_rng(7)
    masks = (rng.random((3, 64, 64, 1)) < interior_fraction).astype(np.float32)
    expected = compute_class_weight("balanced", classes=np.array([0, 1]),
                                    y=masks.reshape(-1).astype(int))
    assert class_balance_weights(masks) == tuple(float(w) for w in expected)


def test_class_balance_weights_one_class_only():
    assert class_balance_weights(np.ones((4, 4))) == (1.0, 1.0)


def test_border_weight_map_on_isbi_weighs_membrane_most(isbi):
    masks = isbi.masks[:2]
    weights = border_weight_map(masks)
    membrane = masks == 0
    assert weights[membrane].mean() > 3 * weights[~membrane].mean()
    assert weights.max() <= class_balance_weights(masks)[0] + 10.0 + 1e-5


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("masks", "match"), [
    (np.zeros((2, 8, 8)), r"masks must be one mask \(H, W\) or a batch \(N, H, W, 1\)"),
    (np.zeros((2, 8, 8, 2)), r"masks must be one mask .* got shape \(2, 8, 8, 2\)"),
    (np.zeros(8), r"masks must be one mask"),
    (np.full((8, 8), 255, np.uint8), r"masks must be binary .* binarize_masks"),
    (np.full((8, 8), 0.5), r"masks must be binary"),
    (np.full((8, 8), "a"), r"masks must be numeric or boolean"),
])
def test_border_weight_map_rejects_bad_masks(masks, match):
    with pytest.raises(ValueError, match=match):
        border_weight_map(masks)


@pytest.mark.parametrize(("options", "match"), [
    ({"w0": -1}, r"w0 must be >= 0, got -1"),
    ({"w0": float("nan")}, r"w0 must be a finite number"),
    ({"w0": True}, r"w0 must be a finite number"),
    ({"sigma": 0}, r"sigma must be > 0, got 0"),
    ({"sigma": "5"}, r"sigma must be a finite number, got '5'"),
    ({"class_weights": "equal"}, r"class_weights must be 'balanced', None, or a pair"),
    ({"class_weights": (1.0,)}, r"class_weights must be .* got \(1.0,\)"),
    ({"class_weights": (1.0, -2.0)}, r"class_weights must be"),
])
def test_border_weight_map_rejects_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        border_weight_map(TWO_CELLS, **options)


# --------------------------------------------------------------------------- in Keras

keras = pytest.importorskip("keras")


def _bce(y, p):
    p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def test_keras_binary_crossentropy_applies_pixel_weights():
    # What the course relies on: a (B, H, W, 1) sample_weight weighs each pixel's BCE,
    # and the loss is the mean over all pixels of weight * BCE.
    rng = np.random.default_rng(6)
    y = (rng.random((2, 5, 6, 1)) > 0.5).astype(np.float32)
    p = rng.uniform(0.05, 0.95, (2, 5, 6, 1)).astype(np.float32)
    w = rng.uniform(0.5, 11, (2, 5, 6, 1)).astype(np.float32)
    loss = keras.losses.BinaryCrossentropy()(y, p, sample_weight=w)
    assert float(loss) == pytest.approx(np.mean(w * _bce(y, p)), rel=1e-5)


def _tiny_model(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((None, None, 1))
    hidden = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    outputs = keras.layers.Conv2D(1, 1, activation="sigmoid")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="binary_crossentropy")
    return model


def _tiny_data():
    """Square cells of 8 x 8 pixels between 2-pixel membranes, and noisy images of them."""
    rng = np.random.default_rng(7)
    rows, cols = np.mgrid[:40, :40]
    cells = (rows % 10 >= 2) & (cols % 10 >= 2)
    masks = np.stack([cells, np.roll(cells, 3, axis=1)])[..., np.newaxis].astype(np.float32)
    images = np.clip(masks + rng.normal(0, 0.3, masks.shape), 0, 1).astype(np.float32)
    return images, masks


def test_fit_with_border_weights_from_augmented_batches():
    images, masks = _tiny_data()
    weights = border_weight_map(masks)
    batches = augmented_batches(images, masks, patch_size=24, batch_size=4, seed=1,
                                elastic=3.0, weights=weights)
    x, y, w = next(batches)
    assert w.shape == y.shape == (4, 24, 24, 1)
    assert w[y == 0].mean() > 5 * w[y == 1].mean()  # membranes between cells weigh most
    model = _tiny_model()
    # The loss Keras reports is the weighted mean of the pixels' BCE.
    reported = model.evaluate(x, y, sample_weight=w, verbose=0, batch_size=4)
    assert reported == pytest.approx(np.mean(w * _bce(y, model.predict(x, verbose=0))),
                                     rel=1e-4)
    history = model.fit(batches, steps_per_epoch=3, epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"]).all()


def test_fit_unit_weights_equal_no_weights_and_border_weights_differ():
    images, masks = _tiny_data()
    trained = {}
    for name, weights in [("none", None), ("ones", np.ones_like(masks)),
                          ("border", border_weight_map(masks))]:
        model = _tiny_model(seed=0)
        batches = augmented_batches(images, masks, patch_size=24, batch_size=4, seed=2,
                                    weights=weights)
        model.fit(batches, steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)
        trained[name] = np.concatenate([v.ravel() for v in model.get_weights()])
    np.testing.assert_allclose(trained["ones"], trained["none"], rtol=1e-5, atol=1e-6)
    assert not np.allclose(trained["border"], trained["none"], rtol=1e-3, atol=1e-4)
