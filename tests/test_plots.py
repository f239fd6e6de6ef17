"""helpers.plots: figures are returned, drawn into given axes, and never shown."""

from __future__ import annotations

import types

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from helpers import plot_error_map, plot_history, plot_samples


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
    assert fig.axes[0].get_title() == "image"
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), images[0, ..., 0])
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), masks[0, ..., 0])


def test_plot_samples_overlay_marks_predicted_membrane():
    images, masks, probabilities = _data(n=1)
    fig = plot_samples(images, masks, probabilities, threshold=0.4)
    overlay = fig.axes[3].images[1].get_array()
    np.testing.assert_array_equal(overlay[..., 3] > 0, probabilities[0, ..., 0] < 0.4)


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
    missed = overlay[..., 0] == 1.0
    invented = np.isclose(overlay[..., 2], 1.0) & (overlay[..., 3] > 0)
    assert sorted(zip(*np.nonzero(missed), strict=True)) == [(0, 2), (0, 3)]
    assert sorted(zip(*np.nonzero(invented), strict=True)) == [(3, 3)]
    assert "errors: 0.188" in ax.get_title()  # 3 of 16 pixels


def test_plot_error_map_into_given_axes_with_title():
    images, masks, probabilities = _data(n=1)
    fig, (left, right) = plt.subplots(1, 2)
    result = plot_error_map(images[0], masks[0], probabilities[0], ax=right, title="hello")
    assert result is fig
    assert right.get_title() == "hello"
    assert not left.images


@pytest.mark.parametrize("shapes", [
    ((8, 8), (8, 8), (8, 9)), ((8, 8, 1), (9, 8, 1), (8, 8, 1)), ((8, 8), (8, 8, 2), (8, 8)),
])
def test_plot_error_map_mismatched_shapes(shapes):
    image, mask, probability = (np.zeros(s) for s in shapes)
    with pytest.raises(ValueError, match="image, mask and probability must have the same shape"):
        plot_error_map(image, mask, probability)


# --------------------------------------------------------------------------- plot_history

LOGS = {"loss": [0.9, 0.5, 0.3], "val_loss": [1.0, 0.7, 0.6],
        "iou": [0.2, 0.5, 0.6], "val_iou": [0.1, 0.4, 0.5], "lr": [1e-3, 1e-3, 5e-4]}


def _history_kinds():
    return {
        "dict": LOGS,
        "dataframe": pd.DataFrame({"epoch": [0, 1, 2], **LOGS}),  # as read from a CSV log
        "history": types.SimpleNamespace(history=LOGS),
    }


@pytest.mark.parametrize("kind", ["dict", "dataframe", "history"])
def test_plot_history_kinds(kind):
    fig = plot_history(_history_kinds()[kind], title="run 1")
    assert isinstance(fig, Figure)
    # one panel per metric with a val_ partner, loss first; lr and epoch left out
    assert [ax.get_title() for ax in fig.axes] == ["loss", "iou"]
    loss_ax = fig.axes[0]
    assert [line.get_label() for line in loss_ax.lines] == ["training", "validation"]
    np.testing.assert_array_equal(loss_ax.lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(loss_ax.lines[0].get_ydata(), LOGS["loss"])
    np.testing.assert_allclose(loss_ax.lines[1].get_ydata(), LOGS["val_loss"])
    assert fig.get_suptitle() == "run 1"


def test_plot_history_chosen_metrics_into_axes():
    fig, axes = plt.subplots(1, 2)
    result = plot_history(LOGS, metrics=["lr", "iou"], ax=axes)
    assert result is fig
    assert [ax.get_title() for ax in axes] == ["lr", "iou"]
    assert len(axes[0].lines) == 1  # lr has no validation curve
    assert len(axes[1].lines) == 2


def test_plot_history_single_axes():
    fig, ax = plt.subplots()
    assert plot_history(LOGS, metrics=["loss"], ax=ax) is fig
    assert ax.get_title() == "loss"


def test_plot_history_without_validation():
    fig = plot_history({"loss": [3, 2, 1], "acc": [0.1, 0.2, 0.3]})
    assert [ax.get_title() for ax in fig.axes] == ["loss", "acc"]


@pytest.mark.parametrize("metric", ["dice", "val_loss_typo"])
def test_plot_history_unknown_metric(metric):
    with pytest.raises(ValueError, match=metric):
        plot_history(LOGS, metrics=["loss", metric])


@pytest.mark.parametrize("history", [{}, [1, 2, 3], None, types.SimpleNamespace(history={})])
def test_plot_history_bad_history(history):
    with pytest.raises(ValueError, match="history must be"):
        plot_history(history)
