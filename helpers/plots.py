"""Figures: images with masks and predictions, error maps, training curves, a U-Net's structure.

Introduced in notebook 01; notebook 02, section "7. Evaluation in depth", adds
`plot_worst_tiles` and the colour-blind-safe `OVERLAY_COLOURS`. Every function takes
``ax=None`` (or ``axes=None``), returns the figure, and never calls ``plt.show()``:
the notebook decides.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from helpers._checks import as_pair

__all__ = ["OVERLAY_COLOURS", "plot_error_map", "plot_history", "plot_samples", "plot_unet",
           "plot_worst_tiles"]

#: Colours of the overlays on images (read-only), from Okabe and Ito's palette for
#: colour-blind readers: Okabe, M. and Ito, K. (2008) "Color Universal Design (CUD):
#: how to make figures and presentations that are friendly to colorblind people",
#: https://jfly.uni-koeln.de/color/ . Missed membrane is their vermillion (#D55E00, an
#: orange red), invented membrane their blue (#0072B2): under simulated deuteranopia and
#: protanopia (Machado et al. 2009) they become a yellow-brown and a blue that stay far
#: apart, where plain red and green become nearly the same (tests/test_plots.py checks
#: this). "membrane" is the colour of the membrane overlay in `plot_samples`. Introduced
#: in notebook 02, section "7. Evaluation in depth".
OVERLAY_COLOURS = MappingProxyType({
    "missed": "#D55E00",    # vermillion
    "invented": "#0072B2",  # blue
    "membrane": "#D55E00",  # vermillion
})
# The words the figures' titles use for them: what a reader would call these colours.
_COLOUR_WORDS = MappingProxyType({"missed": "orange", "invented": "blue", "membrane": "orange"})


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
    the probability map and the thresholded prediction's membrane in orange
    (``OVERLAY_COLOURS["membrane"]``) over the image.

    Parameters
    ----------
    images, masks : ndarray, shape (N, H, W, 1)
    predictions : ndarray, shape (N, H, W, 1), optional
    n : int, default 3
        How many rows (the first n images).
    threshold : float, default 0.5
        Probabilities ``>= threshold`` are interior in the overlay.
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
    names = ["image", "mask (white = interior)", "probability of interior",
             f"membrane ({_COLOUR_WORDS['membrane']})"]
    for row in range(n):
        image = _grey(images[row])
        axes[row, 0].imshow(image, cmap="gray", vmin=0, vmax=1)
        axes[row, 1].imshow(_grey(masks[row]), cmap="gray", vmin=0, vmax=1)
        if predictions is not None:
            probability = _grey(predictions[row])
            axes[row, 2].imshow(probability, cmap="magma", vmin=0, vmax=1)
            axes[row, 3].imshow(image, cmap="gray", vmin=0, vmax=1)
            axes[row, 3].imshow(_tint(probability < threshold, "membrane", 0.6))
        for column in range(columns):
            axes[row, column].set_axis_off()
            if row == 0:
                axes[row, column].set_title(names[column], fontsize=9)
        if titles is not None:
            axes[row, 0].text(4, 20, str(titles[row]), color="yellow", fontsize=9)
    fig.tight_layout()
    return fig


def _tint(where, colour: str, alpha: float) -> np.ndarray:
    """An RGBA layer: `OVERLAY_COLOURS[colour]` at opacity `alpha` where `where`, else clear."""
    from matplotlib.colors import to_rgb

    where = np.asarray(where, dtype=bool)
    layer = np.zeros(where.shape + (4,))
    layer[where] = (*to_rgb(OVERLAY_COLOURS[colour]), alpha)
    return layer


def _draw_errors(ax, image, mask, probability, threshold) -> float:
    """Draw `image` with missed and invented membrane over it; return the pixel error."""
    predicted_interior = probability >= threshold
    missed = (mask < 0.5) & predicted_interior
    invented = (mask >= 0.5) & ~predicted_interior
    overlay = _tint(missed, "missed", 0.85) + _tint(invented, "invented", 0.85)  # disjoint
    ax.imshow(image, cmap="gray", vmin=0, vmax=1)
    ax.imshow(overlay)
    ax.set_axis_off()
    return float(np.mean(missed | invented))


def _error_legend() -> str:
    return f"{_COLOUR_WORDS['missed']}: missed, {_COLOUR_WORDS['invented']}: invented membrane"


def plot_error_map(image, mask, probability, *, threshold=0.5, ax=None, title=None):
    """Overlay the errors of a prediction on its image.

    Orange (``OVERLAY_COLOURS["missed"]``): membrane that was missed (predicted
    interior). Blue (``OVERLAY_COLOURS["invented"]``): membrane that was invented
    (predicted membrane where the truth is interior). The two stay distinct for
    colour-blind readers (see `OVERLAY_COLOURS`).

    Parameters
    ----------
    image, mask, probability : ndarray, shape (H, W) or (H, W, 1)
        The image, its true mask and the predicted probability of interior.
    threshold : float, default 0.5
    ax : matplotlib Axes, optional
    title : str, optional
        Default: the pixel error and what the colours mean.

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
    error = _draw_errors(ax, image, mask, probability, threshold)
    ax.set_title(title or f"errors: {error:.3f} ({_error_legend()})", fontsize=9)
    return fig


def _batch(array, name: str) -> np.ndarray:
    """(H, W[, 1]) or (N, H, W[, 1]) as (N, H, W); a last axis of 1 is a channel, as in
    `helpers.metrics`."""
    array = np.asarray(array)
    if array.ndim in (3, 4) and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        array = array[np.newaxis]
    if array.ndim != 3:
        raise ValueError(f"{name} must be one image (H, W[, 1]) or a batch (N, H, W[, 1]), "
                         f"got shape {array.shape}.")
    return array


def plot_worst_tiles(images, masks, probabilities, *, tile_size, k=4, threshold=0.5,
                     axes=None):
    """Show the `k` tiles with the lowest V_rand: the image with its errors, and P(interior).

    Introduced in notebook 02, section "7. Evaluation in depth". The tiles are those
    of `helpers.worst_tiles` (a non-overlapping grid; the worst first). One column
    per tile: on top the image with missed (orange) and invented (blue) membrane as
    in `plot_error_map`, below the predicted probability of interior. Each title
    gives the image's index in the batch, the tile's top-left pixel (row, col) and
    its V_rand (thinned).

    Parameters
    ----------
    images, masks, probabilities : ndarray, shape (N, H, W[, 1]) or (H, W[, 1])
        Images, their true masks and the predicted probabilities of interior.
    tile_size : int or (int, int)
        Height and width of a tile; it must divide the images' height and width.
    k : int, default 4
        How many tiles to show; with fewer tiles than `k`, all of them are shown.
    threshold : float, default 0.5
        In [0, 1]; a probability ``>= threshold`` is interior.
    axes : array of Axes, shape (2, k), optional
        Where to draw (as many columns as tiles are shown).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        As `helpers.worst_tiles`; also when the images do not match the masks, or
        `axes` has the wrong shape.

    Examples
    --------
    >>> masks = np.ones((1, 16, 16))
    >>> masks[:, 3] = 0
    >>> probabilities = masks.copy()
    >>> probabilities[0, 3, 2] = 1  # a gap in the membrane of the tile at (0, 0)
    >>> fig = plot_worst_tiles(masks, masks, probabilities, tile_size=8, k=2)
    >>> fig.axes[0].get_title().splitlines()
    ['image 0, tile (0, 0)', 'V_rand 0.676']
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    from helpers.metrics import worst_tiles

    table = worst_tiles(masks, probabilities, tile_size=tile_size, k=k, threshold=threshold)
    images = _batch(images, "images")
    masks, probabilities = _batch(masks, "masks"), _batch(probabilities, "probabilities")
    if images.shape != masks.shape:
        raise ValueError(f"images must match masks, shape (N, H, W[, 1]); got {np.shape(images)} "
                         f"for images and {masks.shape} for masks (channel axis dropped).")
    if axes is not None and np.size(axes) != 2 * len(table):
        raise ValueError(f"axes must hold 2 rows of {len(table)} Axes (one column per tile "
                         f"shown), got {np.size(axes)} Axes.")
    fig, axes = _axes(axes, 2, len(table), size=2.8)
    axes = np.asarray(axes).reshape(2, len(table))
    tile_h, tile_w = as_pair(tile_size, "tile_size")
    for column, tile in enumerate(table.itertuples(index=False)):
        window = (tile.image, slice(tile.row, tile.row + tile_h),
                  slice(tile.col, tile.col + tile_w))
        _draw_errors(axes[0, column], images[window], masks[window], probabilities[window],
                     threshold)
        axes[0, column].set_title(f"image {tile.image}, tile ({tile.row}, {tile.col})\n"
                                  f"V_rand {tile.v_rand:.3f}", fontsize=9)
        axes[1, column].imshow(probabilities[window], cmap="magma", vmin=0, vmax=1)
        axes[1, column].set_title("P(interior)", fontsize=9)
        axes[1, column].set_axis_off()
    fig.suptitle(f"worst tiles by V_rand, thinned ({_error_legend()})", fontsize=10)
    fig.tight_layout()
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
    title : str, optional
        Above the panels.

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


# What each layer does, in a word or two, for the boxes of `plot_unet`.
def _describe(layer) -> str:
    kind = type(layer).__name__
    if kind in ("Conv2D", "Conv2DTranspose"):
        height, width = layer.kernel_size
        name = "conv" if kind == "Conv2D" else "up-conv"
        activation = getattr(layer.activation, "__name__", "")
        extra = f", {activation}" if activation in ("sigmoid", "softmax") else ""
        return f"{name} {height}\u00d7{width}{extra}"
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        height, width = layer.pool_size
        return f"{'max' if kind.startswith('Max') else 'mean'} pool {height}\u00d7{width}"
    names = {"BatchNormalization": "batch norm",
             "UpSampling2D": "upsample", "Concatenate": "concat (skip)",
             "Dropout": "dropout", "SpatialDropout2D": "dropout", "Cropping2D": "crop"}
    return names.get(kind, kind)


def _unet_blocks(model, input_size):
    """Group a model's layers into blocks of one resolution, in order.

    Returns a list of dicts: ``level`` (0 = input resolution, 1 = half, ...),
    ``shape`` (height, width, channels of the block's last layer), ``ops`` (what
    its layers do, with counts), ``enter`` (the layer that changed the resolution,
    or None) and ``skips`` (indices of earlier blocks whose output it concatenates).
    """
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}.")
    if len(model.inputs) != 1 or len(model.inputs[0].shape) != 4:
        raise ValueError("model must take one image input of shape (height, width, channels); "
                         f"got inputs {[tuple(tensor.shape) for tensor in model.inputs]}.")
    static = model.inputs[0].shape[1]
    if input_size is None:
        input_size = static or 128
    if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < 1:
        raise ValueError(f"input_size must be a positive int, got {input_size!r}.")
    if static is not None and static != input_size:
        raise ValueError(f"input_size must be {static}, the model's input size; "
                         f"got {input_size}.")
    channels = model.inputs[0].shape[-1]
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    probe = keras.Model(model.inputs, [layer.output for layer in layers])
    try:
        specs = probe.compute_output_spec(keras.KerasTensor((1, input_size, input_size, channels)))
    except ValueError as error:
        raise ValueError(f"input_size={input_size} does not fit this model: {error}") from error
    specs = specs if isinstance(specs, (list, tuple)) else [specs]

    producer = {id(layer.output): layer for layer in model.layers}
    blocks = [{"level": 0, "shape": (input_size, input_size, channels), "ops": ["input"],
               "layers": [], "enter": None, "skips": []}]
    block_of = {id(model.layers[0]): 0}
    # A layer's level is its first input's, plus one per halving of the height (pooling),
    # minus one per doubling (up-convolution); 'valid' convolutions trim a few pixels only.
    level_of, height_of = {id(model.layers[0]): 0}, {id(model.layers[0]): input_size}
    output_layers = {id(producer.get(id(tensor))) for tensor in model.outputs}
    for layer, spec in zip(layers, specs, strict=True):
        height, width, depth = spec.shape[1:4]
        inputs = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
        first = producer.get(id(inputs[0]))
        level = level_of.get(id(first), blocks[-1]["level"])
        ratio = height_of.get(id(first), height) / height
        if ratio >= 1.5 or ratio <= 0.75:
            level += int(round(float(np.log2(ratio))))
        level_of[id(layer)], height_of[id(layer)] = level, height
        changes = level != blocks[-1]["level"]
        if changes or id(layer) in output_layers or len(blocks) == 1:
            blocks.append({"level": level, "shape": (height, width, depth), "ops": [],
                           "layers": [], "enter": layer if changes else None, "skips": []})
        block = blocks[-1]
        block["layers"].append(layer)
        block["shape"] = (height, width, depth)
        if layer is not block["enter"]:
            block["ops"].append(_describe(layer))
        for tensor in inputs:
            source = producer.get(id(tensor))
            index = block_of.get(id(source))
            if index is not None and index < len(blocks) - 2 and index not in block["skips"]:
                block["skips"].append(index)
        block_of[id(layer)] = len(blocks) - 1
    for block in blocks:
        counts = {}
        for op in block["ops"]:
            counts[op] = counts.get(op, 0) + 1
        block["ops"] = [op if n == 1 else f"{op} \u00d7{n}" for op, n in counts.items()]
    return blocks


def plot_unet(model, *, input_size=None, ax=None, title=None, fontsize=9):
    """Draw a U-Net's structure from the model's own layers: levels, shapes, skips.

    Layers are grouped into blocks of one resolution. Each box shows its output
    (height × width × channels, for an input of `input_size`) and what its layers
    do; arrows show pooling down (red) and up-convolution up (green), dashed grey
    arrows the skip connections. Needs only matplotlib (no graphviz). Introduced
    in notebook 01.

    Parameters
    ----------
    model : keras.Model
        A functional model with one image input, e.g. keras-unet's ``custom_unet``.
    input_size : int, optional
        Height and width of the input for which shapes are shown; default: the
        model's own, or 128 when the model takes any size.
    ax : matplotlib Axes, optional
    title : str, optional
        Default: the parameter count and the input size.
    fontsize : float, default 9
        Size of the shapes' labels; the rest scales with it, and so does a new figure
        (about 1 inch per block at the default).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import keras
    >>> inputs = keras.Input((None, None, 1))
    >>> skip = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    >>> bottom = keras.layers.Conv2D(8, 3, padding="same")(keras.layers.MaxPooling2D()(skip))
    >>> up = keras.layers.Conv2DTranspose(4, 2, strides=2)(bottom)
    >>> outputs = keras.layers.Conv2D(1, 1)(keras.layers.Concatenate()([up, skip]))
    >>> fig = plot_unet(keras.Model(inputs, outputs), input_size=32)
    >>> type(fig).__name__
    'Figure'
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    from matplotlib.patches import FancyBboxPatch

    if isinstance(fontsize, bool) or not isinstance(fontsize, (int, float)) or fontsize <= 0:
        raise ValueError(f"fontsize must be a positive number, got {fontsize!r}.")
    blocks = _unet_blocks(model, input_size)
    small = 0.83 * fontsize
    deepest = max(block["level"] for block in blocks)
    first_bottom = next(i for i, block in enumerate(blocks) if block["level"] == deepest)
    dx, dy, box_w, box_h = 1.55, 1.25, 1.42, 0.92
    if ax is None:
        import matplotlib.pyplot as plt

        inches = 0.8 * fontsize / 9  # per unit of the layout below: the text fits the boxes
        width = (len(blocks) - 1) * dx + box_w + 0.2
        height = deepest * dy + box_h + 0.55
        fig = plt.figure(figsize=(inches * width, inches * height / 0.9), layout="none")
        ax = fig.add_axes((0, 0, 1, 0.9))
    else:
        fig = ax.figure
    colours = {"input": "#e0e0e0", "encoder": "#cfe2f3", "bottom": "#d9d2e9",
               "decoder": "#fce5cd", "output": "#e0e0e0"}

    def centre(index):
        return index * dx, -blocks[index]["level"] * dy

    for index, block in enumerate(blocks):
        x, y = centre(index)
        role = ("input" if index == 0 else "output" if index == len(blocks) - 1
                else "bottom" if block["level"] == deepest
                else "encoder" if index < first_bottom else "decoder")
        ax.add_patch(FancyBboxPatch((x - box_w / 2, y - box_h / 2), box_w, box_h,
                                    boxstyle="round,pad=0.02", facecolor=colours[role],
                                    edgecolor="#555555", linewidth=0.8))
        height, width, depth = block["shape"]
        ax.text(x, y + 0.27, f"{height}\u00d7{width}\u00d7{depth}", ha="center", va="center",
                fontsize=fontsize, fontweight="bold")
        ax.text(x, y - 0.1, "\n".join(block["ops"]), ha="center", va="center", fontsize=small,
                linespacing=1.15)
        if index:
            (x0, y0), kind = centre(index - 1), block["enter"]
            change = block["level"] - blocks[index - 1]["level"]
            colour = "#cc3333" if change > 0 else "#2e8b57" if change < 0 else "#333333"
            start = (x0 + box_w / 2, y0) if change == 0 else (x0, y0 - np.sign(change) * box_h / 2)
            end = (x - box_w / 2, y) if change == 0 else (x, y + np.sign(change) * box_h / 2)
            ax.annotate("", xy=end, xytext=start,
                        arrowprops={"arrowstyle": "->", "color": colour, "lw": 1.3})
            if kind is not None:  # below the arrow, on the side away from the boxes
                ax.text((start[0] + end[0]) / 2 + (-0.08 if change > 0 else 0.08),
                        (start[1] + end[1]) / 2 - 0.1, _describe(kind), fontsize=small,
                        color=colour, ha="right" if change > 0 else "left", va="top")
        for source in block["skips"]:
            xs, ys = centre(source)
            ax.annotate("", xy=(x - box_w / 2, y + 0.32), xytext=(xs + box_w / 2, ys + 0.32),
                        arrowprops={"arrowstyle": "->", "color": "#888888", "lw": 1.0,
                                    "linestyle": "--"})
            label = "skip: copy and concatenate" if index - source > 3 else "skip"
            ax.text((xs + x) / 2, ys + 0.4, label, fontsize=small,
                    color="#666666", ha="center", va="bottom")
    ax.set_xlim(-dx / 2 - 0.1, (len(blocks) - 1) * dx + dx / 2 + 0.1)
    ax.set_ylim(-deepest * dy - box_h / 2 - 0.2, box_h / 2 + 0.35)
    ax.set_aspect("equal")
    ax.set_axis_off()
    size = blocks[0]["shape"][0]
    ax.set_title(title or f"{model.count_params():,} parameters; shapes for a "
                 f"{size}\u00d7{size} input", fontsize=1.2 * fontsize)
    return fig
