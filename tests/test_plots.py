"""helpers.plots: figures are returned, drawn into given axes, and never shown."""

from __future__ import annotations

import types

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from skimage.color import rgb2lab

from helpers import (
    OVERLAY_COLOURS,
    plot_error_map,
    plot_history,
    plot_samples,
    plot_worst_tiles,
    worst_tiles,
)


@pytest.fixture(autouse=True)
def _headless_and_tidy(monkeypatch, close_figures):
    assert matplotlib.get_backend().lower() == "agg"

    def no_show(*args, **kwargs):
        raise AssertionError("helpers.plots must never call plt.show()")

    monkeypatch.setattr(plt, "show", no_show)
    monkeypatch.setattr(Figure, "show", no_show)


def _data(n=4, size=16, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.random((n, size, size, 1)).astype(np.float32)
    masks = (rng.random((n, size, size, 1)) > 0.3).astype(np.float32)
    probabilities = np.clip(masks * 0.6 + rng.random(masks.shape) * 0.4, 0, 1)
    return images, masks, probabilities


# --------------------------------------------------------------------------- plot_samples


@pytest.mark.parametrize(("n", "with_predictions", "expected_axes"), [
    (3, False, 6), (3, True, 12), (1, True, 4), (10, False, 8),  # n is capped at 4 images
])
def test_plot_samples_returns_figure(n, with_predictions, expected_axes):
    images, masks, probabilities = _data()
    fig = plot_samples(images, masks, probabilities if with_predictions else None, n=n)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == expected_axes
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), images[0, ..., 0])
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), masks[0, ..., 0])


def test_plot_samples_overlay_marks_predicted_membrane():
    images, masks, probabilities = _data(n=1)
    fig = plot_samples(images, masks, probabilities, threshold=0.4)
    overlay = fig.axes[3].images[1].get_array()
    np.testing.assert_array_equal(overlay[..., 3] > 0, probabilities[0, ..., 0] < 0.4)
    drawn = overlay[overlay[..., 3] > 0][:, :3]
    assert len(drawn) > 0
    np.testing.assert_allclose(drawn, np.broadcast_to(to_rgb(OVERLAY_COLOURS["membrane"]),
                                                      drawn.shape))


def test_plot_samples_into_given_axes():
    images, masks, probabilities = _data()
    fig, axes = plt.subplots(2, 4)
    result = plot_samples(images, masks, probabilities, n=2, axes=axes, titles=["a", "b"])
    assert result is fig
    assert len(fig.axes) == 8
    assert all(ax.images for ax in axes.flat)
    assert [t.get_text() for t in axes[1, 0].texts] == ["b"]


def test_plot_samples_2d_images():
    images, masks, _ = _data()
    fig = plot_samples(images[..., 0], masks[..., 0], n=2)
    assert fig.axes[0].images[0].get_array().shape == (16, 16)


# --------------------------------------------------------------------------- plot_error_map


def test_plot_error_map_returns_figure_and_colours_errors():
    image = np.full((4, 4, 1), 0.5, np.float32)
    mask = np.ones((4, 4, 1), np.float32)
    mask[0, :] = 0  # membrane in the first row
    probability = np.full((4, 4, 1), 0.9, np.float32)
    probability[0, :2] = 0.1  # membrane found at (0,0) and (0,1), missed at (0,2), (0,3)
    probability[3, 3] = 0.2  # membrane invented at (3,3)
    fig = plot_error_map(image, mask, probability)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    overlay = ax.images[1].get_array()
    drawn = overlay[..., 3] > 0
    missed = drawn & np.all(np.isclose(overlay[..., :3], to_rgb(OVERLAY_COLOURS["missed"])), -1)
    invented = drawn & np.all(np.isclose(overlay[..., :3], to_rgb(OVERLAY_COLOURS["invented"])),
                              -1)
    assert sorted(zip(*np.nonzero(missed), strict=True)) == [(0, 2), (0, 3)]
    assert sorted(zip(*np.nonzero(invented), strict=True)) == [(3, 3)]
    assert drawn.sum() == 3
    # The title reports the error fraction it computed: 3 of 16 pixels wrong.
    assert "0.188" in ax.get_title()


def test_plot_error_map_into_given_axes_with_title():
    images, masks, probabilities = _data(n=1)
    fig, (left, right) = plt.subplots(1, 2)
    result = plot_error_map(images[0], masks[0], probabilities[0], ax=right, title="hello")
    assert result is fig
    assert right.get_title() == "hello"  # the title given, not the default
    np.testing.assert_array_equal(right.images[0].get_array(), images[0, ..., 0])
    assert not left.images


@pytest.mark.parametrize("shapes", [
    ((8, 8), (8, 8), (8, 9)), ((8, 8, 1), (9, 8, 1), (8, 8, 1)), ((8, 8), (8, 8, 2), (8, 8)),
])
def test_plot_error_map_mismatched_shapes(shapes):
    image, mask, probability = (np.zeros(s) for s in shapes)
    with pytest.raises(ValueError, match="image, mask and probability must have the same shape"):
        plot_error_map(image, mask, probability)


# --------------------------------------------------------------------------- OVERLAY_COLOURS

# Machado, G. M., Oliveira, M. M. and Fernandes, L. A. F. (2009) "A physiologically-based
# model for simulation of color vision deficiency", IEEE Transactions on Visualization and
# Computer Graphics 15(6), 1291-1298, https://doi.org/10.1109/TVCG.2009.113 : their matrices
# for severity 1.0, applied to linear RGB.
MACHADO_2009 = {
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
}
# The overlays lie on grey EM images of every brightness, so what tells the two colours
# apart is hue and colourfulness: their distance in CIELAB's a*b* plane, lightness left out.
# 50 units is far above a just-noticeable difference (about 2.3: Sharma, G. (2003) "Digital
# Color Imaging Handbook", CRC Press); plain red and green fall below it (about 11 and 43).
CLEARLY_DISTINCT = 50.0


def _seen_with(colour, deficiency):
    """A colour as simulated for a viewer with `deficiency`: its CIELAB (L*, a*, b*)."""
    srgb = np.asarray(to_rgb(colour))
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    seen = np.clip(MACHADO_2009[deficiency] @ linear, 0, 1) if deficiency else linear
    encoded = np.where(seen <= 0.0031308, 12.92 * seen, 1.055 * seen ** (1 / 2.4) - 0.055)
    return rgb2lab(encoded.reshape(1, 1, 3))[0, 0]


def _chroma_distance(first, second, deficiency):
    return float(np.linalg.norm(_seen_with(first, deficiency)[1:]
                                - _seen_with(second, deficiency)[1:]))


@pytest.mark.parametrize("deficiency", [None, "deuteranopia", "protanopia"])
def test_overlay_colours_error_pair_distinct_under_colour_blindness(deficiency):
    distance = _chroma_distance(OVERLAY_COLOURS["missed"], OVERLAY_COLOURS["invented"],
                                deficiency)
    assert distance > CLEARLY_DISTINCT


@pytest.mark.parametrize("deficiency", ["deuteranopia", "protanopia"])
def test_overlay_colours_check_fails_for_red_and_green(deficiency):
    # The known-bad pair: distinct for normal vision, not under the simulation.
    assert _chroma_distance((1, 0, 0), (0, 1, 0), None) > 3 * CLEARLY_DISTINCT
    assert _chroma_distance((1, 0, 0), (0, 1, 0), deficiency) < CLEARLY_DISTINCT


def test_overlay_colours_are_okabe_ito_and_read_only():
    okabe_ito = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"}
    assert set(OVERLAY_COLOURS) == {"missed", "invented", "membrane"}
    assert set(OVERLAY_COLOURS.values()) <= okabe_ito
    with pytest.raises(TypeError):
        OVERLAY_COLOURS["missed"] = "red"


# --------------------------------------------------------------------------- plot_worst_tiles


def _planted_tiles(n=2, size=32):
    """Cells on an 8-pixel grid; a perfect prediction but for a membrane gap in image 1's
    tile at (16, 0)."""
    masks = np.ones((n, size, size, 1), np.float32)
    masks[:, 7::8] = 0
    masks[:, :, 7::8] = 0
    probabilities = masks * 0.8 + 0.1
    probabilities[n - 1, 19, 7] = 0.9
    images = np.random.default_rng(0).random(masks.shape).astype(np.float32)
    return images, masks, probabilities


def test_plot_worst_tiles_planted_bad_tile_shown_first():
    images, masks, probabilities = _planted_tiles()
    fig = plot_worst_tiles(images, masks, probabilities, tile_size=16, k=3)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 6  # 2 rows of 3 tiles
    top, bottom = fig.axes[0], fig.axes[3]
    # Four 7 x 7 cells in the tile, two merged by the gap: precision 2/3, recall 1.
    assert worst_tiles(masks, probabilities, tile_size=16, k=1).loc[0, "v_rand"] == \
        pytest.approx(2 * (2 / 3) / (1 + 2 / 3))
    np.testing.assert_array_equal(top.images[0].get_array(), images[1, 16:32, 0:16, 0])
    np.testing.assert_array_equal(bottom.images[0].get_array(), probabilities[1, 16:32, 0:16, 0])
    overlay = top.images[1].get_array()  # the gap: membrane missed, in the palette's colour
    assert np.argwhere(overlay[..., 3] > 0).tolist() == [[3, 7]]
    np.testing.assert_allclose(overlay[3, 7, :3], to_rgb(OVERLAY_COLOURS["missed"]))
    # The score shown over the tile is worst_tiles' score for it.
    assert f"{worst_tiles(masks, probabilities, tile_size=16, k=1).loc[0, 'v_rand']:.3f}" in \
        top.get_title()


def test_plot_worst_tiles_k_larger_than_tile_count_is_clipped():
    images, masks, probabilities = _planted_tiles(n=1)
    fig = plot_worst_tiles(images[0], masks[0], probabilities[0], tile_size=16, k=10)
    assert len(fig.axes) == 8  # all 4 tiles, 2 rows each


def test_plot_worst_tiles_into_given_axes():
    images, masks, probabilities = _planted_tiles()
    fig, axes = plt.subplots(2, 2)
    assert plot_worst_tiles(images, masks, probabilities, tile_size=16, k=2, axes=axes) is fig
    assert all(ax.images for ax in axes.flat)


@pytest.mark.parametrize(("change", "message"), [
    ({"images": np.zeros((2, 32, 16, 1))}, "images must match masks"),
    ({"images": np.zeros((2, 32, 32, 3))}, r"images must be one image .* got shape"),
    ({"probabilities": np.zeros((2, 32, 16, 1))}, "must cover the same pixels"),
    ({"tile_size": 12}, "tile_size must divide"),
    ({"k": 0}, "k must be an int of at least 1"),
    ({"axes": (1, 4)}, "axes must hold 2 rows of 4 Axes .* got 4 Axes"),
])
def test_plot_worst_tiles_bad_input(change, message):
    images, masks, probabilities = _planted_tiles()
    arguments = {"images": images, "masks": masks, "probabilities": probabilities,
                 "tile_size": 16, "k": 4, **change}
    if "axes" in change:
        arguments["axes"] = plt.subplots(*change["axes"])[1]
    with pytest.raises(ValueError, match=message):
        plot_worst_tiles(arguments.pop("images"), arguments.pop("masks"),
                         arguments.pop("probabilities"), **arguments)


# --------------------------------------------------------------------------- plot_history

LOGS = {"loss": [0.9, 0.5, 0.3], "val_loss": [1.0, 0.7, 0.6],
        "iou": [0.2, 0.5, 0.6], "val_iou": [0.1, 0.4, 0.5], "lr": [1e-3, 1e-3, 5e-4]}


def _history_kinds():
    return {
        "dict": LOGS,
        "dataframe": pd.DataFrame({"epoch": [0, 1, 2], **LOGS}),  # as read from a CSV log
        "history": types.SimpleNamespace(history=LOGS),
    }


def _curves(ax):
    """The y values of each line an Axes shows, as lists."""
    return [np.asarray(line.get_ydata(), float).tolist() for line in ax.lines]


@pytest.mark.parametrize("kind", ["dict", "dataframe", "history"])
def test_plot_history_kinds(kind):
    fig = plot_history(_history_kinds()[kind], title="run 1")
    assert isinstance(fig, Figure)
    # one panel per metric with a val_ partner, loss first; lr and epoch left out
    assert [_curves(ax) for ax in fig.axes] == [[LOGS["loss"], LOGS["val_loss"]],
                                                [LOGS["iou"], LOGS["val_iou"]]]
    loss_ax = fig.axes[0]
    assert [line.get_label() for line in loss_ax.lines] == ["training", "validation"]
    np.testing.assert_array_equal(loss_ax.lines[0].get_xdata(), [1, 2, 3])  # epochs from 1
    assert fig.get_suptitle() == "run 1"  # the title given


def test_plot_history_chosen_metrics_into_axes():
    fig, axes = plt.subplots(1, 2)
    result = plot_history(LOGS, metrics=["lr", "iou"], ax=axes)
    assert result is fig
    # in the order asked for; lr has no validation curve
    assert [_curves(ax) for ax in axes] == [[LOGS["lr"]], [LOGS["iou"], LOGS["val_iou"]]]


def test_plot_history_single_axes():
    fig, ax = plt.subplots()
    assert plot_history(LOGS, metrics=["loss"], ax=ax) is fig
    assert _curves(ax) == [LOGS["loss"], LOGS["val_loss"]]


def test_plot_history_without_validation():
    fig = plot_history({"loss": [3, 2, 1], "acc": [0.1, 0.2, 0.3]})
    assert [_curves(ax) for ax in fig.axes] == [[[3, 2, 1]], [[0.1, 0.2, 0.3]]]


@pytest.mark.parametrize("metric", ["dice", "val_loss_typo"])
def test_plot_history_unknown_metric(metric):
    with pytest.raises(ValueError, match=metric):
        plot_history(LOGS, metrics=["loss", metric])


@pytest.mark.parametrize("history", [{}, [1, 2, 3], None, types.SimpleNamespace(history={})])
def test_plot_history_bad_history(history):
    with pytest.raises(ValueError, match="history must be"):
        plot_history(history)
