"""Figures: images with masks and predictions, error maps, training curves.

Introduced in notebook 01. Every function takes ``ax=None`` (or ``axes=None``),
returns the figure, and never calls ``plt.show()``: the notebook decides.
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_error_map", "plot_history", "plot_samples"]


def _grey(array):
    array = np.asarray(array)
    return array[..., 0] if array.ndim == 3 and array.shape[-1] == 1 else array


def _axes(ax, nrows=1, ncols=1, size=3.2):
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax.figure if not isinstance(ax, np.ndarray) else ax.flat[0].figure, ax
    fig, ax = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size), squeeze=False)
    return fig, ax


def plot_samples(images, masks, predictions=None, *, n=3, threshold=0.5, axes=None,
                 titles=None):
    """Show images, their masks, and (optionally) predictions with an overlay.

    Columns: image, mask (white = interior), then, if `predictions` are given,
    the probability map and the thresholded prediction's membrane in red over the image.

    Parameters
    ----------
    images, masks : ndarray, shape (N, H, W, 1)
    predictions : ndarray, shape (N, H, W, 1), optional
    n : int, default 3
        How many rows (the first n images).
    axes : array of Axes, shape (n, columns), optional
    titles : sequence of str, optional
        One per row, e.g. the image indices.

    Returns
    -------
    matplotlib.figure.Figure
    """
    n = min(n, len(images))
    columns = 2 if predictions is None else 4
    fig, axes = _axes(axes, n, columns)
    axes = np.asarray(axes).reshape(n, columns)
    names = ["image", "mask (white = interior)", "probability of interior", "membrane (red)"]
    for row in range(n):
        image = _grey(images[row])
        axes[row, 0].imshow(image, cmap="gray", vmin=0, vmax=1)
        axes[row, 1].imshow(_grey(masks[row]), cmap="gray", vmin=0, vmax=1)
        if predictions is not None:
            probability = _grey(predictions[row])
            axes[row, 2].imshow(probability, cmap="magma", vmin=0, vmax=1)
            overlay = np.zeros(image.shape + (4,))
            overlay[..., 0] = 1.0
            overlay[..., 3] = 0.6 * (probability < threshold)
            axes[row, 3].imshow(image, cmap="gray", vmin=0, vmax=1)
            axes[row, 3].imshow(overlay)
        for column in range(columns):
            axes[row, column].set_axis_off()
            if row == 0:
                axes[row, column].set_title(names[column], fontsize=9)
        if titles is not None:
            axes[row, 0].text(4, 20, str(titles[row]), color="yellow", fontsize=9)
    fig.tight_layout()
    return fig


def plot_error_map(image, mask, probability, *, threshold=0.5, ax=None, title=None):
    """Overlay the errors of a prediction on its image.

    Red: membrane that was missed (predicted interior). Blue: membrane that was
    invented (predicted membrane where the truth is interior).

    Returns
    -------
    matplotlib.figure.Figure
    """
    image, mask, probability = _grey(image), _grey(mask), _grey(probability)
    if not image.shape == mask.shape == probability.shape:
        raise ValueError(
            f"image, mask and probability must have the same shape, got {image.shape}, "
            f"{mask.shape} and {probability.shape}."
        )
    fig, ax = _axes(ax)
    ax = ax[0, 0] if isinstance(ax, np.ndarray) else ax
    predicted_interior = probability >= threshold
    missed = (mask < 0.5) & predicted_interior
    invented = (mask >= 0.5) & ~predicted_interior
    overlay = np.zeros(image.shape + (4,))
    overlay[missed] = (1.0, 0.1, 0.1, 0.85)
    overlay[invented] = (0.2, 0.5, 1.0, 0.85)
    ax.imshow(image, cmap="gray", vmin=0, vmax=1)
    ax.imshow(overlay)
    error = float(np.mean(missed | invented))
    ax.set_title(title or f"errors: {error:.3f} (red missed, blue invented membrane)",
                 fontsize=9)
    ax.set_axis_off()
    return fig


def plot_history(history, *, metrics=None, ax=None, title=None):
    """Training and validation curves, one panel per quantity.

    Parameters
    ----------
    history : keras History, dict of lists, or pandas.DataFrame (e.g. a CSV log)
    metrics : sequence of str, optional
        Names without the ``val_`` prefix; default: every one that has a
        ``val_`` partner, loss first.
    ax : array of Axes, optional
        One per metric.

    Returns
    -------
    matplotlib.figure.Figure
    """
    logs = getattr(history, "history", history)
    if hasattr(logs, "to_dict"):
        logs = {key: list(values) for key, values in logs.to_dict("list").items()}
    if not isinstance(logs, dict) or not logs:
        raise ValueError("history must be a keras History, a dict of lists or a DataFrame.")
    if metrics is None:
        metrics = [key for key in logs if f"val_{key}" in logs]
        metrics.sort(key=lambda key: key != "loss")
    if not metrics:
        metrics = [key for key in logs if not key.startswith("val_") and key != "epoch"]
    missing = [m for m in metrics if m not in logs]
    if missing:
        raise ValueError(f"metrics {missing} are not in the history; it has {sorted(logs)}.")
    fig, axes = _axes(ax, 1, len(metrics), size=3.6)
    axes = np.asarray(axes).ravel()
    for axis, name in zip(axes, metrics, strict=True):
        epochs = np.arange(1, len(logs[name]) + 1)
        axis.plot(epochs, logs[name], label="training")
        if f"val_{name}" in logs:
            axis.plot(epochs, logs[f"val_{name}"], label="validation")
        axis.set_xlabel("epoch")
        axis.set_title(name, fontsize=10)
        axis.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
