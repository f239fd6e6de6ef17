"""helpers.tiling: tile positions, blending weights and overlap-tile prediction."""

from __future__ import annotations

import inspect
import itertools

import numpy as np
import pytest

from helpers import (
    TileGrid,
    blend_weights,
    predict_non_overlapping,
    predict_tiled,
    tile_border_band,
    tile_grid,
    tile_starts,
)

# --------------------------------------------------------------------------- tile_starts


@pytest.mark.parametrize(("length", "tile", "overlap", "expected"), [
    (300, 128, 32, [0, 96, 172]),
    (128, 128, 32, [0]),
    (128, 128, 0, [0]),
    (256, 128, 0, [0, 128]),
    (257, 128, 0, [0, 128, 129]),
    (100, 32, 8, [0, 24, 48, 68]),
    (10, 4, 3, [0, 1, 2, 3, 4, 5, 6]),
    (5, 1, 0, [0, 1, 2, 3, 4]),
])
def test_tile_starts_known_values(length, tile, overlap, expected):
    assert tile_starts(length, tile_size=tile, overlap=overlap) == expected


@pytest.mark.parametrize(("length", "tile", "overlap"), list(itertools.product(
    [32, 33, 97, 131, 300, 517], [16, 32], [0, 1, 8, 15])))
def test_tile_starts_cover_and_overlap(length, tile, overlap):
    starts = tile_starts(length, tile_size=tile, overlap=overlap)
    assert starts[0] == 0
    assert starts[-1] + tile == length  # the last tile ends at the image's edge
    assert starts == sorted(set(starts))
    covered = np.zeros(length, int)
    for start in starts:
        covered[start : start + tile] += 1
    assert covered.min() >= 1
    for a, b in itertools.pairwise(starts):
        assert a + tile - b >= overlap  # neighbours share at least `overlap` pixels
        assert b - a <= tile - overlap  # and no more tiles than needed
    # as few tiles as the stride allows
    assert len(starts) == -(-(length - tile) // (tile - overlap)) + 1


def test_tile_starts_tile_larger_than_length():
    with pytest.raises(ValueError, match=r"tile_size \(64\) is larger than the image side \(63\)"):
        tile_starts(63, tile_size=64, overlap=8)


@pytest.mark.parametrize("overlap", [-8, 32, 40])
def test_tile_starts_bad_overlap(overlap):
    with pytest.raises(ValueError, match="overlap"):
        tile_starts(1000, tile_size=32, overlap=overlap)


# ----------------------------------------------------------------------------- tile_grid


@pytest.mark.parametrize(("shape", "tile_size", "overlap", "pad_mode", "margin", "rows", "cols"), [
    # The notebook's case: 5 tiles of stride 96 fit 512 exactly, so no slack, no mirror.
    ((512, 512), 128, 32, "reflect", (0, 0), [0, 96, 192, 288, 384], [0, 96, 192, 288, 384]),
    ((512, 512), 128, 0, "reflect", (0, 0), [0, 128, 256, 384], [0, 128, 256, 384]),
    # 3 tiles span 320: 20 pixels of slack, a mirror of 10 on each side.
    ((300, 300), 128, 32, "reflect", (10, 10), [0, 96, 192], [0, 96, 192]),
    ((300, 300), 128, 32, None, (0, 0), [0, 96, 172], [0, 96, 172]),
    # Slack of 60: the mirror stops at overlap // 2 = 16.
    ((260, 512), 128, 32, "reflect", (16, 0), [0, 96, 164], [0, 96, 192, 288, 384]),
    ((100, 130), (32, 48), 8, "reflect", (2, 4), [0, 24, 48, 72], [0, 40, 80, 90]),
    ((32, 48), (32, 48), 8, "reflect", (0, 0), [0], [0]),
])
def test_tile_grid_known_values(shape, tile_size, overlap, pad_mode, margin, rows, cols):
    grid = tile_grid(shape, tile_size=tile_size, overlap=overlap, pad_mode=pad_mode)
    assert isinstance(grid, TileGrid)
    assert grid.margin == margin
    assert grid.padded_shape == (shape[0] + 2 * margin[0], shape[1] + 2 * margin[1])
    assert grid.rows == rows
    assert grid.cols == cols
    assert grid.origins == [(r - margin[0], c - margin[1]) for r in rows for c in cols]


@pytest.mark.parametrize(("length", "tile", "overlap"), list(itertools.product(
    [32, 33, 64, 97, 131, 300, 512, 517], [16, 32], [0, 1, 8, 15])))
def test_tile_grid_reflect_costs_no_extra_tile(length, tile, overlap):
    mirrored = tile_grid((length, length), tile_size=tile, overlap=overlap, pad_mode="reflect")
    plain = tile_grid((length, length), tile_size=tile, overlap=overlap, pad_mode=None)
    starts = tile_starts(length, tile_size=tile, overlap=overlap)
    assert len(mirrored.rows) == len(plain.rows) == len(starts)
    assert 0 <= mirrored.margin[0] <= overlap // 2
    assert mirrored.padded_shape[0] <= len(mirrored.rows) * (tile - overlap) + overlap
    # tiles cover the image (image coordinates) and stay inside the padded image
    covered = np.zeros(length, int)
    for r in mirrored.rows:
        assert 0 <= r and r + tile <= mirrored.padded_shape[0]
        start = max(r - mirrored.margin[0], 0)
        covered[start : r - mirrored.margin[0] + tile] += 1
    assert covered.min() >= 1


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"shape": (100,)}, "shape must give"),
    ({"shape": (0, 100)}, "shape must be a positive int"),
    ({"shape": (100, 100.0)}, "shape must be a positive int"),
    ({"shape": (100, 100), "tile_size": 0}, "tile_size must be a positive int"),
    ({"shape": (100, 100), "overlap": 32}, "overlap must be an int with 0 <= overlap"),
    ({"shape": (100, 100), "pad_mode": "constant"}, "pad_mode must be 'reflect' or None"),
    ({"shape": (31, 100)}, r"tile_size \(32, 32\) is larger than the image \(31, 100\)"),
])
def test_tile_grid_bad_input(kwargs, message):
    options = {"tile_size": 32, "overlap": 8, **kwargs}
    shape = options.pop("shape")
    with pytest.raises(ValueError, match=message):
        tile_grid(shape, **options)


# --------------------------------------------------------------------------- blend_weights


@pytest.mark.parametrize(("tile_size", "overlap"), [
    (8, 4), (32, 0), (32, 8), (32, 31), ((32, 48), 8), ((16, 64), 15), (1, 0), (2, 1),
])
def test_blend_weights_properties(tile_size, overlap):
    weights = blend_weights(tile_size=tile_size, overlap=overlap)
    shape = (tile_size, tile_size) if np.isscalar(tile_size) else tile_size
    assert weights.shape == shape
    assert weights.dtype == np.float64
    assert (weights > 0).all()
    assert weights.max() <= 1.0
    # symmetric under both flips
    np.testing.assert_array_equal(weights, weights[::-1])
    np.testing.assert_array_equal(weights, weights[:, ::-1])
    if shape[0] == shape[1]:
        np.testing.assert_array_equal(weights, weights.T)
    # the centre is full weight once the tile is wider than two overlaps
    if min(shape) > 2 * overlap:
        assert weights.max() == 1.0
        assert weights[shape[0] // 2, shape[1] // 2] == 1.0


def test_blend_weights_known_values():
    # 1-D ramp for tile 8, overlap 4: (distance to edge + 1) / 5
    ramp = np.array([0.2, 0.4, 0.6, 0.8, 0.8, 0.6, 0.4, 0.2])
    np.testing.assert_allclose(blend_weights(tile_size=8, overlap=4), np.outer(ramp, ramp))
    ramp12 = np.array([0.2, 0.4, 0.6, 0.8, 1, 1, 1, 1, 0.8, 0.6, 0.4, 0.2])
    np.testing.assert_allclose(blend_weights(tile_size=12, overlap=4)[5], ramp12)
    np.testing.assert_allclose(blend_weights(tile_size=(12, 8), overlap=4),
                               np.outer(ramp12, ramp))


def test_blend_weights_no_overlap_is_flat():
    np.testing.assert_array_equal(blend_weights(tile_size=(5, 7), overlap=0), np.ones((5, 7)))


def test_blend_weights_monotone_towards_centre():
    row = blend_weights(tile_size=32, overlap=8)[16]
    assert (np.diff(row[:16]) >= 0).all()
    assert (np.diff(row[16:]) <= 0).all()


@pytest.mark.parametrize("tile_size", [0, -4, 2.5, (32,), (32, 32, 32), (32, 0), "32"])
def test_blend_weights_bad_tile_size(tile_size):
    with pytest.raises(ValueError, match="tile_size"):
        blend_weights(tile_size=tile_size, overlap=0)


# ------------------------------------------------------------------ predict_tiled: identity


def identity(tiles):
    return tiles


@pytest.mark.parametrize("shape", [(97, 131), (128, 128), (300, 517), (64, 200), (200, 48)])
@pytest.mark.parametrize("tile_size", [32, (32, 48)])
@pytest.mark.parametrize("overlap", [0, 8, 31])
@pytest.mark.parametrize("pad_mode", ["reflect", None])
def test_predict_tiled_identity_reconstructs(shape, tile_size, overlap, pad_mode):
    image = np.random.default_rng(sum(shape)).random((*shape, 1)).astype(np.float32)
    result = predict_tiled(identity, image, tile_size=tile_size, overlap=overlap,
                           pad_mode=pad_mode)
    assert result.dtype == np.float32
    assert result.shape == image.shape
    np.testing.assert_allclose(result, image, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_predict_tiled_identity_2d(dtype):
    image = (np.random.default_rng(1).random((97, 131)) * 200).astype(dtype)
    result = predict_tiled(identity, image, tile_size=32, overlap=8)
    assert result.shape == (97, 131, 1)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result[..., 0], image.astype(np.float32), atol=1e-4, rtol=1e-6)


@pytest.mark.parametrize("channels", [1, 3])
def test_predict_tiled_identity_channels(channels):
    image = np.random.default_rng(channels).random((70, 90, channels)).astype(np.float32)
    result = predict_tiled(identity, image, tile_size=(32, 48), overlap=12)
    assert result.shape == (70, 90, channels)
    np.testing.assert_allclose(result, image, atol=1e-6)


@pytest.mark.parametrize("batch_size", [1, 5, 64])
def test_predict_tiled_identity_batch(batch_size):
    images = np.random.default_rng(2).random((3, 65, 77, 2)).astype(np.float32)
    result = predict_tiled(identity, images, tile_size=32, overlap=8, batch_size=batch_size)
    assert result.shape == (3, 65, 77, 2)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, images, atol=1e-6)


def test_predict_tiled_tile_equals_image():
    image = np.random.default_rng(3).random((32, 48, 1)).astype(np.float32)
    for pad_mode in ("reflect", None):
        result = predict_tiled(identity, image, tile_size=(32, 48), overlap=8, pad_mode=pad_mode)
        np.testing.assert_allclose(result, image, atol=1e-6)


def test_predict_tiled_output_channels_from_model():
    # The model may change the number of channels (e.g. 1 grey channel -> 3 class scores).
    def three_classes(tiles):
        return np.concatenate([tiles, 1 - tiles, tiles * 0 + 0.5], axis=-1)

    image = np.random.default_rng(4).random((50, 60, 1)).astype(np.float32)
    result = predict_tiled(three_classes, image, tile_size=32, overlap=8)
    assert result.shape == (50, 60, 3)
    np.testing.assert_allclose(result[..., 0], image[..., 0], atol=1e-6)
    np.testing.assert_allclose(result[..., 1], 1 - image[..., 0], atol=1e-6)
    np.testing.assert_allclose(result[..., 2], 0.5, atol=1e-6)


def test_predict_tiled_calls_model_in_batches():
    calls = []

    def model(tiles):
        calls.append(tiles.shape)
        assert tiles.dtype == np.float32
        return tiles

    image = np.zeros((2, 100, 100, 1), np.float32)
    predict_tiled(model, image, tile_size=32, overlap=8, batch_size=7, pad_mode=None)
    n_tiles = 2 * len(tile_starts(100, tile_size=32, overlap=8)) ** 2
    assert sum(shape[0] for shape in calls) == n_tiles
    assert all(shape[0] <= 7 for shape in calls)
    assert all(shape[1:] == (32, 32, 1) for shape in calls)


class _Recorder:
    """A model that returns its tiles and remembers every tile it was given."""

    def __init__(self):
        self.tiles = []

    def __call__(self, tiles):
        self.tiles.extend(tiles.copy())
        return tiles


@pytest.mark.parametrize(("shape", "tile_size", "overlap"), [
    ((300, 300), 128, 32), ((260, 512), 128, 32), ((100, 130), (32, 48), 8), ((512, 512), 128, 32),
])
def test_predict_tiled_tiles_are_those_of_tile_grid(shape, tile_size, overlap):
    image = np.random.default_rng(8).random((*shape, 1)).astype(np.float32)
    recorder = _Recorder()
    predict_tiled(recorder, image, tile_size=tile_size, overlap=overlap, batch_size=5)
    grid = tile_grid(shape, tile_size=tile_size, overlap=overlap)
    (top, left), (tile_h, tile_w) = grid.margin, np.broadcast_to(tile_size, 2)
    # The mirror is numpy's reflect: the edge pixel is not repeated.
    padded = np.pad(image, ((top, top), (left, left), (0, 0)), mode="reflect")
    expected = [padded[r : r + tile_h, c : c + tile_w] for r in grid.rows for c in grid.cols]
    assert len(recorder.tiles) == len(grid.origins)
    for seen, wanted in zip(recorder.tiles, expected, strict=True):
        np.testing.assert_array_equal(seen, wanted)


def test_predict_tiled_reflect_mirrors_the_border():
    # The first tile starts 10 pixels outside the image: its top-left pixel is image[10, 10].
    image = np.arange(300 * 300, dtype=np.float32).reshape(300, 300, 1)
    recorder = _Recorder()
    predict_tiled(recorder, image, tile_size=128, overlap=32, pad_mode="reflect")
    first = recorder.tiles[0][..., 0]
    assert first[0, 0] == image[10, 10, 0]
    np.testing.assert_array_equal(first[10, 10:], image[0, : 128 - 10, 0])
    np.testing.assert_array_equal(first[:10, 10], image[10:0:-1, 0, 0])
    recorder = _Recorder()
    predict_tiled(recorder, image, tile_size=128, overlap=32, pad_mode=None)
    np.testing.assert_array_equal(recorder.tiles[0], image[:128, :128])


def test_predict_tiled_reflect_gives_border_tiles_mirrored_context():
    # A model whose output at each pixel is the mean of its tile: the mirror changes what
    # the border tiles see, so the result differs with and without it.
    def tile_mean(tiles):
        return np.broadcast_to(tiles.mean(axis=(1, 2), keepdims=True), tiles.shape).copy()

    image = np.random.default_rng(9).random((300, 300, 1)).astype(np.float32)
    image[:20] += 5  # a bright top border, which the mirror repeats
    mirrored = predict_tiled(tile_mean, image, tile_size=128, overlap=32, pad_mode="reflect")
    plain = predict_tiled(tile_mean, image, tile_size=128, overlap=32, pad_mode=None)
    assert mirrored[0].mean() > plain[0].mean()


# ------------------------------------------------------------------ predict_tiled: blending


def test_predict_tiled_constant_per_tile_stays_within_range():
    values = iter(np.random.default_rng(5).uniform(0.2, 0.9, size=1000))
    emitted = []

    def constant_per_tile(tiles):
        out = np.empty_like(tiles)
        for i in range(len(tiles)):
            value = next(values)
            emitted.append(value)
            out[i] = value
        return out

    image = np.zeros((90, 110, 1), np.float32)
    result = predict_tiled(constant_per_tile, image, tile_size=32, overlap=12)
    assert result.min() >= min(emitted) - 1e-6
    assert result.max() <= max(emitted) + 1e-6
    assert len(np.unique(result.round(6))) > len(emitted)  # blended, not pasted


def _ramp_model(tiles):
    """Output depends on position in the tile only: 0 at its left edge, 1 at its right."""
    n, height, width, _ = tiles.shape
    ramp = np.arange(width, dtype=np.float32) / (width - 1)
    return np.broadcast_to(ramp[None, None, :, None], (n, height, width, 1)).copy()


def _seams(result):
    """Mean absolute jump between neighbouring columns, for every column boundary."""
    return np.abs(np.diff(result[..., 0], axis=1)).mean(axis=0)


@pytest.mark.parametrize("pad_mode", ["reflect", None])
def test_predict_tiled_blending_removes_seams(pad_mode):
    image = np.zeros((64, 200, 1), np.float32)
    hard = _seams(predict_tiled(_ramp_model, image, tile_size=32, overlap=0, pad_mode=pad_mode))
    # column pairs (s-1, s)
    borders = [start - 1 for start in tile_starts(200, tile_size=32, overlap=0)[1:]]
    # Without overlap each tile border shows the whole ramp: a jump of (about) 1.
    assert hard[borders].mean() > 0.5
    assert hard.max() == pytest.approx(1.0)
    for overlap in (8, 16):
        soft = _seams(predict_tiled(_ramp_model, image, tile_size=32, overlap=overlap,
                                    pad_mode=pad_mode))
        assert soft.max() < 0.1 * hard.max()
        assert soft[borders].mean() < 0.1 * hard[borders].mean()
        assert soft.max() < 3 / 31  # at most a few ramp steps: no visible seam


# --------------------------------------------------------------------- predict_tiled: Keras


@pytest.fixture(scope="module")
def tiny_unet():
    import keras
    from keras_unet.models import custom_unet

    keras.utils.set_random_seed(0)
    return custom_unet((None, None, 1), filters=4, num_layers=2)


@pytest.mark.slow
def test_predict_tiled_keras_unet_model(tiny_unet):
    image = np.random.default_rng(6).random((100, 140, 1)).astype(np.float32)
    # No warnings filter here: pytest turns every warning into an error (pyproject.toml),
    # so this also checks that keras-unet's list-shaped input makes Keras warn no more.
    result = predict_tiled(tiny_unet, image, tile_size=32, overlap=8)
    batch = predict_tiled(tiny_unet, np.stack([image, image[::-1]]), tile_size=32, overlap=8)
    assert result.shape == (100, 140, 1)
    assert result.dtype == np.float32
    assert 0.0 <= result.min() and result.max() <= 1.0  # sigmoid output
    assert result.std() > 0  # depends on the image
    np.testing.assert_allclose(batch[0], result, atol=1e-5)
    # A tile that covers the whole image and sees no padding gives model.predict's answer.
    crop = image[:64, :96]
    whole = tiny_unet.predict_on_batch(crop[np.newaxis])[0]
    tiled = predict_tiled(tiny_unet, crop, tile_size=(64, 96), overlap=0)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


def test_predict_tiled_fixed_input_model_wrong_tile():
    import keras

    inputs = keras.Input((64, 64, 1))
    model = keras.Model(inputs, keras.layers.Conv2D(1, 1, activation="sigmoid")(inputs))
    image = np.zeros((100, 100, 1), np.float32)
    with pytest.raises(ValueError, match=r"tile_size \(32, 32\) does not fit the model") as info:
        predict_tiled(model, image, tile_size=32, overlap=8)
    assert "tile_size=64" in str(info.value)
    result = predict_tiled(model, image, tile_size=64, overlap=16)
    assert result.shape == (100, 100, 1)
    np.testing.assert_allclose(result, result[0, 0, 0], atol=1e-6)  # a constant image in


# -------------------------------------------------------------------- predict_tiled: errors


@pytest.mark.parametrize(("shape", "tile_size"), [
    ((31, 100), 32), ((100, 31), 32), ((64, 64), (32, 65)), ((64, 64), (65, 32)),
])
def test_predict_tiled_tile_larger_than_image(shape, tile_size):
    with pytest.raises(ValueError, match="tile_size .* is larger than the image"):
        predict_tiled(identity, np.zeros(shape), tile_size=tile_size, overlap=0)


@pytest.mark.parametrize(("tile_size", "overlap"), [
    (32, 32), (32, 40), ((32, 48), 32), (32, -1), (32, 2.5), (32, None),
])
def test_predict_tiled_bad_overlap(tile_size, overlap):
    with pytest.raises(ValueError, match="overlap must be an int with 0 <= overlap < tile_size"):
        predict_tiled(identity, np.zeros((64, 64)), tile_size=tile_size, overlap=overlap)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_predict_tiled_non_finite_image(bad):
    image = np.zeros((64, 64, 1), np.float32)
    image[10, 20, 0] = bad
    with pytest.raises(ValueError, match="image contains NaN or infinite"):
        predict_tiled(identity, image, tile_size=32, overlap=8)


@pytest.mark.parametrize("shape", [(2, 3, 64, 64, 1), (64,), ()])
def test_predict_tiled_bad_ndim(shape):
    with pytest.raises(ValueError, match=r"image must have shape \(H, W\)"):
        predict_tiled(identity, np.zeros(shape), tile_size=32, overlap=8)


@pytest.mark.parametrize("tile_size", [0, -32, (32,), 32.0, (32, 32, 1)])
def test_predict_tiled_bad_tile_size(tile_size):
    with pytest.raises(ValueError, match="tile_size must be a positive int"):
        predict_tiled(identity, np.zeros((64, 64)), tile_size=tile_size, overlap=0)


@pytest.mark.parametrize("batch_size", [0, -1, 2.0])
def test_predict_tiled_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        predict_tiled(identity, np.zeros((64, 64)), tile_size=32, overlap=8,
                      batch_size=batch_size)


@pytest.mark.parametrize("pad_mode", ["constant", "symmetric", "", 0])
def test_predict_tiled_bad_pad_mode(pad_mode):
    with pytest.raises(ValueError, match="pad_mode must be 'reflect' or None"):
        predict_tiled(identity, np.zeros((64, 64)), tile_size=32, overlap=8, pad_mode=pad_mode)


@pytest.mark.parametrize(("shape", "tile_size", "overlap"), [
    ((300, 300), 128, 32), ((260, 512), 128, 32), ((100, 130), (32, 48), 8), ((97, 33), 16, 8),
])
def test_predict_tiled_reflect_costs_no_extra_tile(shape, tile_size, overlap):
    # The docstring's claim, on predict_tiled itself: the mirror fits in the slack.
    image = np.random.default_rng(10).random((*shape, 1)).astype(np.float32)
    counts = {}
    for pad_mode in ("reflect", None):
        recorder = _Recorder()
        predict_tiled(recorder, image, tile_size=tile_size, overlap=overlap, pad_mode=pad_mode)
        counts[pad_mode] = len(recorder.tiles)
    assert counts["reflect"] == counts[None]
    assert tile_grid(shape, tile_size=tile_size, overlap=overlap).margin != (0, 0)


# ------------------------------------------------------------------------- keyword API


@pytest.mark.parametrize("call", [
    lambda: tile_starts(300, 128, 32),
    lambda: blend_weights(128, 32),
])
def test_tile_helpers_take_tile_size_and_overlap_by_keyword_only(call):
    with pytest.raises(TypeError):
        call()


@pytest.mark.parametrize("function", [tile_starts, blend_weights, tile_grid, predict_tiled])
def test_tile_helpers_share_predict_tiled_keyword_names(function):
    parameters = inspect.signature(function).parameters
    for name in ("tile_size", "overlap"):
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert parameters[name].default == inspect.signature(predict_tiled).parameters[
            name].default


# --------------------------------------------------------------------- tile_border_band


@pytest.mark.parametrize(("size", "tile_size", "width", "expected"), [
    (256, 128, 8, list(range(120, 136))),
    (512, 128, 8, [*range(120, 136), *range(248, 264), *range(376, 392)]),
    (300, 100, 2, [98, 99, 100, 101, 198, 199, 200, 201]),
    (128, 128, 8, []),
])
def test_tile_border_band_known_values(size, tile_size, width, expected):
    band = tile_border_band((size, size), tile_size=tile_size, width=width)
    assert np.flatnonzero(band[0]).tolist() == expected  # a row far from any border
    np.testing.assert_array_equal(band, band.T)
    # as many pixels from each of the two tiles that meet at a border
    for border in range(tile_size, size, tile_size):
        assert band[0, border - width : border].all() and band[0, border : border + width].all()


@pytest.mark.parametrize("width", [0, 65, 2.0])
def test_tile_border_band_bad_width(width):
    with pytest.raises(ValueError, match="width must be an int from 1"):
        tile_border_band((256, 256), tile_size=128, width=width)


# -------------------------------------------------------------- predict_non_overlapping


class _PredictRecorder:
    def __init__(self, scale=1.0):
        self.calls = []
        self.scale = scale

    def predict(self, tiles, batch_size, verbose):
        self.calls.append((len(tiles), batch_size))
        return tiles * self.scale


def test_predict_non_overlapping_pastes_tiles_back():
    images = np.random.default_rng(11).random((2, 96, 96, 1)).astype(np.float32)
    model = _PredictRecorder(scale=2.0)
    result = predict_non_overlapping(model, images, tile_size=32, batch_size=4)
    np.testing.assert_allclose(result, 2 * images, rtol=1e-6)
    assert model.calls == [(2 * 9, 4)]  # every tile once, no overlap
    single = predict_non_overlapping(model, images[0], tile_size=32)
    np.testing.assert_allclose(single, 2 * images[0], rtol=1e-6)


@pytest.mark.parametrize(("shape", "message"), [
    ((2, 64, 96, 1), "must be square"),
    ((64, 96), "must be square"),
    ((1, 96, 96, 1), r"tile_size \(64\) must divide the image side \(96\)"),
])
def test_predict_non_overlapping_bad_input(shape, message):
    with pytest.raises(ValueError, match=message):
        predict_non_overlapping(_PredictRecorder(), np.zeros(shape), tile_size=64)
