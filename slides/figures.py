"""The deck's figures, made by code from `helpers` and the ISBI 2012 data.

`slides/build.py` calls `make_figures`. Each function below draws one figure
and returns it; the registry `FIGURES` maps the file name (without ``.png``) to
its function, and ``deck.md`` refers to ``figures/NAME.png`` (``NAME.jpg`` for
figures that are mostly EM images, see `PHOTOS`). Every number a
figure shows is computed here. When ISBI 2012 cannot be loaded, the figures use
`helpers.synthetic_membranes` and say so on the figure.

One small U-Net is trained for 120 steps on the CPU (learning curves,
predictions, tiling; the learning-curves figure says how long it took); its
weights and history are cached in ``slides/build/cache`` so that a rebuild does
not train again. A figure that states a result computes it here; the results
slide's table is rendered by ``slides/build.py`` from ``benchmarks/published.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: no screen needed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

import helpers  # noqa: E402
from benchmarks import _common as bench  # noqa: E402  (the workshop's recipe and resize)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's C++ start-up chatter
# Keras notes that fit ignores shuffle for a generator: true and harmless here.
warnings.filterwarnings("ignore", message="`shuffle=True` was passed")

DPI = 150
# For charts; membrane and error overlays on images use helpers.OVERLAY_COLOURS (Okabe-Ito).
RED, BLUE, GREEN, ORANGE, GREY = "#c0392b", "#2e6fba", "#2e8b57", "#e08a1e", "#777777"
SYNTHETIC_NOTE = "synthetic stand-in: ISBI 2012 could not be loaded here"

#: Notebook 01's quick-mode budget (helpers.BUDGETS): the deck's models have its filters.
QUICK_NB01 = helpers.BUDGETS["quick"]["01_introduction"]
#: The small model trained for the deck: notebook 01's quick-mode recipe (its filters,
#: crops and batch) on the deck's own, smaller budget of 6 x 20 steps.
TINY = {
    "filters": QUICK_NB01["filters"],  # the other settings are helpers.COURSE_UNET
    "patch": QUICK_NB01["patch"],
    "batch": QUICK_NB01["batch"],
    "epochs": 6,
    "steps": 20,
    "learning_rate": 1e-3,
    "batch_norm_momentum": 0.9,
    "seed": 0,
}

# The deck's look, applied while drawing (make_figures): importing this module changes nothing.
STYLE = {
    "font.size": 14,
    "axes.titlesize": 15,
    "axes.labelsize": 14,
    "legend.fontsize": 13,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.constrained_layout.use": True,  # titles and labels never clipped
}

FIGURES: dict[str, object] = {}
PHOTOS: set[str] = set()  # figures mostly of EM images: saved as JPEG, a quarter the size


def figure(name: str, *, photo: bool = False):
    """Register a figure function under the name its file is saved as."""

    def register(function):
        FIGURES[name] = function
        if photo:
            PHOTOS.add(name)
        return function

    return register


def file_name(name: str) -> str:
    """The file a figure is saved as: NAME.jpg for photos, NAME.png for the rest."""
    return f"{name}.jpg" if name in PHOTOS else f"{name}.png"


# ----------------------------------------------------------------------------- context


@dataclass
class Data:
    images: np.ndarray
    masks: np.ndarray
    test_images: np.ndarray
    synthetic: bool

    @property
    def source(self) -> str:
        return "synthetic" if self.synthetic else "isbi2012"


def load_data() -> Data:
    """ISBI 2012, else the synthetic stand-in, as the notebooks load it; the figures say which."""
    return Data(*helpers.load_isbi2012_or_synthetic(verbose=False))


class Context:
    """What the figures share: the data, and the small trained model (both made once)."""

    def __init__(self, cache_dir: Path):
        self.cache_dir = Path(cache_dir)

    @cached_property
    def data(self) -> Data:
        return load_data()

    @cached_property
    def parts(self) -> dict:
        return helpers.split_dataset(self.data.images, self.data.masks)

    @cached_property
    def vanilla(self):
        """keras-unet's vanilla_unet for a 572 x 572 tile, as in the paper (built once)."""
        from keras_unet.models import vanilla_unet

        return vanilla_unet(input_shape=(572, 572, 1))

    @cached_property
    def trained(self):
        """(model, history dict, how long it trained), from the cache when it matches."""
        return train_tiny_model(self.parts, self.cache_dir, self.data.source)

    def note(self, fig) -> None:
        """Say on the figure when the data are the synthetic stand-in."""
        if self.data.synthetic:
            fig.text(0.995, 0.005, SYNTHETIC_NOTE, ha="right", va="bottom", fontsize=11,
                     color=RED, weight="bold")


def train_tiny_model(parts: dict, cache_dir: Path, source: str):
    """Notebook 01's recipe (the course U-Net, soft Jaccard, Adam) on a budget of 120 steps."""
    import keras

    key_text = json.dumps({"tiny": TINY, "unet": dict(helpers.COURSE_UNET), "data": source,
                           "keras": keras.__version__, "v": 2}, sort_keys=True)
    key = hashlib.sha256(key_text.encode()).hexdigest()[:16]
    weights = cache_dir / f"tiny_unet_{key}.weights.h5"
    record = cache_dir / f"tiny_unet_{key}.json"

    keras.utils.set_random_seed(TINY["seed"])
    # Keras's default momentum (0.99) lets batch norm's running statistics lag far
    # behind after only 120 steps, which spoils validation; 0.9 catches up.
    model = helpers.course_unet(TINY["filters"], bn_momentum=TINY["batch_norm_momentum"])
    if weights.is_file() and record.is_file():
        model.load_weights(weights)
        saved = json.loads(record.read_text())
        print(f"  small U-Net: weights from the cache ({weights.name})")
        return model, saved["history"], saved["trained"]

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=TINY["learning_rate"]),
        loss=helpers.soft_jaccard_loss,
        metrics=[keras.metrics.BinaryIoU(target_class_ids=[0], threshold=0.5,
                                         name="iou_membrane")],
    )

    (x_train, y_train), (x_val, y_val) = parts["train"], parts["validation"]
    batches = helpers.augmented_batches(x_train, y_train, patch_size=TINY["patch"],
                                        batch_size=TINY["batch"], seed=TINY["seed"])
    print(f"  small U-Net: training {TINY['epochs']} x {TINY['steps']} steps on the CPU ...")
    start = time.perf_counter()
    history = model.fit(batches, steps_per_epoch=TINY["steps"], epochs=TINY["epochs"],
                        validation_data=(x_val, y_val), validation_batch_size=1, verbose=0)
    seconds = time.perf_counter() - start
    trained = f"{seconds:.0f} s on {os.cpu_count()} CPU cores"
    print(f"  small U-Net: trained in {trained}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    for old in cache_dir.glob("tiny_unet_*"):
        old.unlink()
    model.save_weights(weights)
    logs = {name: [float(v) for v in values] for name, values in history.history.items()}
    record.write_text(json.dumps({"history": logs, "trained": trained}, indent=1))
    return model, logs, trained


# ----------------------------------------------------------------------------- drawing aids


def _grid(ax, array, *, title=None, cmap="Greys_r", fmt="{:g}", vmin=None, vmax=None,
          fontsize=13):
    """Show a small array as cells with their numbers written in."""
    array = np.asarray(array, dtype=float)
    vmin = array.min() if vmin is None else vmin
    vmax = array.max() if vmax is None else vmax
    image = ax.imshow(array, cmap=cmap, vmin=vmin, vmax=vmax if vmax > vmin else vmin + 1)
    for (row, col), value in np.ndenumerate(array):
        shade = image.cmap(image.norm(value))
        light = 0.299 * shade[0] + 0.587 * shade[1] + 0.114 * shade[2] > 0.55
        ax.text(col, row, fmt.format(value), ha="center", va="center", fontsize=fontsize,
                color="black" if light else "white")
    ax.set_xticks(np.arange(-0.5, array.shape[1]), minor=True)
    ax.set_yticks(np.arange(-0.5, array.shape[0]), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title)
    return image


def _membrane_overlay(ax, image, mask, alpha=0.55):
    """An EM image with its membrane (mask 0) in orange, as in helpers.plot_samples."""
    from matplotlib.colors import to_rgb

    ax.imshow(np.squeeze(image), cmap="gray", vmin=0, vmax=1)
    overlay = np.zeros(np.squeeze(mask).shape + (4,))
    overlay[..., :3] = to_rgb(helpers.OVERLAY_COLOURS["membrane"])  # colour-blind safe
    overlay[..., 3] = alpha * (np.squeeze(mask) < 0.5)
    ax.imshow(overlay)
    ax.set_axis_off()


def _off(*axes):
    for ax in axes:
        ax.set_axis_off()


def _conv_layer(kernels: np.ndarray):
    """A Keras Conv2D with the given (3, 3, n) kernels, 'same' padding, no bias."""
    import keras

    layer = keras.layers.Conv2D(kernels.shape[-1], 3, padding="same", use_bias=False)
    layer.build((None, None, None, 1))
    layer.set_weights([kernels.reshape(3, 3, 1, -1).astype("float32")])
    return layer


DARK_LINE = np.array([[1, 1, 1], [-2, -2, -2], [1, 1, 1]], dtype="float32")


# ----------------------------------------------------------------------------- computer vision


@figure("cv_tasks", photo=True)
def cv_tasks(ctx: Context):
    """Four tasks on one EM crop: classification, semantic, detection, instance."""
    from skimage.color import label2rgb
    from skimage.measure import label, regionprops

    image = ctx.data.images[0, :256, :256, 0]
    mask = ctx.data.masks[0, :256, :256, 0]
    cells = label(mask > 0.5, connectivity=1)
    fig, axes = plt.subplots(1, 4, figsize=(14, 4.1))
    axes[0].imshow(image, cmap="gray")
    axes[0].text(128, 128, "\u201cnerve tissue\u201d", ha="center", va="center", fontsize=18,
                 color="white", weight="bold",
                 bbox={"facecolor": "black", "alpha": 0.6, "edgecolor": "none"})
    axes[0].set_title("classification\none label per image")
    axes[1].imshow(mask, cmap="gray")
    axes[1].set_title("semantic segmentation\none class per pixel")
    axes[2].imshow(image, cmap="gray")
    regions = [r for r in regionprops(cells) if r.area >= 300]
    for region in regions:
        r0, c0, r1, c1 = region.bbox
        axes[2].add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0, r1 - r0, fill=False,
                                    edgecolor="#ffd400", linewidth=1.5))
    axes[2].set_title(f"object detection\n{len(regions)} boxes around cells")
    axes[3].imshow(np.clip(label2rgb(cells, image=image, bg_label=0, alpha=0.45), 0, 1))
    axes[3].set_title(f"instance segmentation\n{cells.max()} separate cells")
    _off(*axes)
    ctx.note(fig)
    return fig


@figure("semantic_segmentation", photo=True)
def semantic_segmentation(ctx: Context):
    """An ISBI image, its label image, and the class balance."""
    image, mask = ctx.data.images[0, ..., 0], ctx.data.masks[0, ..., 0]
    interior = float(ctx.data.masks.mean())
    fig, axes = plt.subplots(1, 2, figsize=(8.6, 4.6))
    axes[0].imshow(image, cmap="gray")
    axes[0].set_title("EM section (512 \u00d7 512)")
    axes[1].imshow(mask, cmap="gray")
    axes[1].set_title(f"label: white interior ({interior:.0%}),\nblack membrane "
                      f"({1 - interior:.0%})")
    _off(*axes)
    ctx.note(fig)
    return fig


def _pixel_features(image: np.ndarray) -> np.ndarray:
    """Per-pixel statistics in the Trainable Weka spirit: smoothing, edges, ridges."""
    from skimage.feature import hessian_matrix, hessian_matrix_eigvals
    from skimage.filters import gaussian, sobel

    features = [image]
    for sigma in (1, 2, 4, 8):
        smooth = gaussian(image, sigma=sigma)
        features.append(smooth)
        features.append(sobel(smooth))
        eigen = hessian_matrix_eigvals(hessian_matrix(image, sigma=sigma, order="rc",
                                                      use_gaussian_derivatives=False))
        features.append(eigen[0])  # large where a dark ridge (membrane) runs
        features.append(gaussian(image**2, sigma=sigma) - smooth**2)  # local variance
    return np.stack(features, axis=-1)


@figure("pixel_classifier", photo=True)
def pixel_classifier(ctx: Context):
    """Features per pixel, a random forest on them, and its answer on a test image."""
    from sklearn.ensemble import RandomForestClassifier

    (x_train, y_train), (x_test, y_test) = ctx.parts["train"], ctx.parts["test"]
    rng = np.random.default_rng(0)
    samples, labels = [], []
    for index in range(0, 24, 4):  # six training images, 8000 pixels each
        features = _pixel_features(x_train[index, ..., 0])
        rows = rng.integers(0, 512, 8000)
        cols = rng.integers(0, 512, 8000)
        samples.append(features[rows, cols])
        labels.append(y_train[index, rows, cols, 0])
    forest = RandomForestClassifier(n_estimators=40, min_samples_leaf=5, n_jobs=2,
                                    random_state=0)
    forest.fit(np.concatenate(samples), np.concatenate(labels))
    test_features = _pixel_features(x_test[0, ..., 0])
    probability = forest.predict_proba(test_features.reshape(-1, test_features.shape[-1]))[:, 1]
    probability = probability.reshape(512, 512)
    error = helpers.pixel_error(y_test[:1], probability[np.newaxis, ..., np.newaxis])

    crop = (slice(0, 256), slice(0, 256))
    panels = [
        (x_test[0, ..., 0][crop], f"EM image\n(test image {helpers.SPLIT['test'][0]})", "gray"),
        (test_features[..., 5][crop], "smoothed\n\u03c3 = 2", "gray"),
        (test_features[..., 6][crop], "edges\n\u03c3 = 2", "magma"),
        (test_features[..., 7][crop], "ridges\n\u03c3 = 2", "magma"),
        (probability[crop], f"random forest\npixel error {error:.3f}", "magma"),
        (y_test[0, ..., 0][crop], "\nlabel", "gray"),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(9.6, 7.0))
    for ax, (array, title, cmap) in zip(axes.flat, panels, strict=True):
        ax.imshow(array, cmap=cmap)
        ax.set_title(title, fontsize=14)
    _off(*axes.flat)
    ctx.note(fig)
    return fig


# ----------------------------------------------------------------------------- U-Net parts


@figure("unet_diagram")
def unet_diagram(ctx: Context):
    """The U shape, drawn by helpers.plot_unet from keras-unet's vanilla_unet's own layers."""
    model = ctx.vanilla
    return helpers.plot_unet(
        model, fontsize=10,
        title=f"keras-unet vanilla_unet, as in the paper: {model.count_params() / 1e6:.0f} "
              "million weights; sizes for a 572\u00d7572 input")


@figure("conv_numbers")
def conv_numbers(ctx: Context):
    """A 3x3 dark-line kernel on a 5x5 patch, by Keras, then ReLU."""
    import keras

    patch = np.full((5, 5), 9.0, dtype="float32")
    patch[2] = 1.0
    conv = keras.layers.Conv2D(1, 3, padding="valid", use_bias=False)
    conv.build((None, 5, 5, 1))
    conv.set_weights([DARK_LINE.reshape(3, 3, 1, 1)])
    response = conv(patch.reshape(1, 5, 5, 1)).numpy()[0, :, :, 0]
    relu = keras.activations.relu(response).numpy()
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.9), gridspec_kw={"width_ratios": [5, 3, 3, 3]})
    _grid(axes[0], patch, title="patch: a dark line in row 3", vmin=0, vmax=10)
    axes[0].add_patch(Rectangle((-0.5, 0.5), 3, 3, fill=False, edgecolor=ORANGE, linewidth=3))
    _grid(axes[1], DARK_LINE, title="3\u00d73 kernel", cmap="coolwarm_r", vmin=-3, vmax=3)
    _grid(axes[2], response, title="sum of weights \u00d7 pixels", cmap="coolwarm_r",
          vmin=-60, vmax=60)
    axes[2].add_patch(Rectangle((-0.5, 0.5), 1, 1, fill=False, edgecolor=ORANGE, linewidth=3))
    _grid(axes[3], relu, title="ReLU: max(0, x)", cmap="Greys", vmin=0, vmax=60)
    return fig


def _shrunk(image: np.ndarray, factor: int = 4) -> np.ndarray:
    """An (H, W, 1) image shrunk by averaging factor x factor blocks (Keras AveragePooling2D)."""
    import keras

    return np.asarray(keras.layers.AveragePooling2D(factor)(image[np.newaxis]))[0]


@figure("conv_em", photo=True)
def conv_em(ctx: Context):
    """The dark-line kernel and its transpose on a real EM image, after ReLU."""
    import keras

    small = _shrunk(ctx.data.images[0])
    mask = _shrunk(ctx.data.masks[0])[..., 0]
    layer = _conv_layer(np.stack([DARK_LINE, DARK_LINE.T], axis=-1))
    response = keras.activations.relu(layer(small[np.newaxis])).numpy()[0]
    size = small.shape[0]
    panels = [
        (small[..., 0], f"EM image shrunk 4\u00d7\n({size} \u00d7 {size})", "gray"),
        (response[..., 0], "horizontal\ndark-line kernel", "magma"),
        (response[..., 1], "vertical\n(its transpose)", "magma"),
        (response.max(axis=-1), "the stronger\nof the two", "magma"),
        (mask, "label\n(black = membrane)", "gray"),
    ]
    fig, axes = plt.subplots(1, 5, figsize=(14, 3.6))
    for ax, (array, title, cmap) in zip(axes, panels, strict=True):
        ax.imshow(array, cmap=cmap)
        ax.set_title(title)
    _off(*axes)
    ctx.note(fig)
    return fig


@figure("max_pooling")
def max_pooling(ctx: Context):
    """2x2 max pooling, stride 2, on numbers, by Keras."""
    import keras

    x4 = np.array([[1, 3, 2, 0], [4, 2, 1, 1], [0, 1, 5, 6], [2, 2, 7, 8]], dtype="float32")
    pooled = keras.layers.MaxPooling2D(pool_size=2, strides=2)(x4.reshape(1, 4, 4, 1))
    pooled = np.asarray(pooled)[0, :, :, 0]
    colours = np.array([["#b9d3ee", "#f5cba7"], ["#c8e6c9", "#f7c6d0"]])
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.9), gridspec_kw={"width_ratios": [4, 2]})
    for ax, array, scale in ((axes[0], x4, 2), (axes[1], pooled, 1)):
        for (row, col), value in np.ndenumerate(array):
            ax.add_patch(Rectangle((col, row), 1, 1, facecolor=colours[row // scale, col // scale],
                                   edgecolor="white", linewidth=2))
            ax.text(col + 0.5, row + 0.5, f"{value:g}", ha="center", va="center", fontsize=20,
                    weight="bold" if value == pooled[row // scale, col // scale] else "normal")
        ax.set_xlim(0, array.shape[1])
        ax.set_ylim(array.shape[0], 0)
        ax.set_aspect("equal")
        ax.set_axis_off()
    axes[0].set_title("4 \u00d7 4 feature map")
    axes[1].set_title("2 \u00d7 2: max of each block")
    return fig


@figure("spatial_dropout", photo=True)
def spatial_dropout(ctx: Context):
    """Dropout zeroes single values; SpatialDropout2D zeroes whole feature maps."""
    import keras

    small = _shrunk(ctx.data.images[0])[:96, :96]
    kernels = np.stack([
        DARK_LINE, DARK_LINE.T,
        np.array([[1, 1, -2], [1, -2, 1], [-2, 1, 1]]),
        np.array([[-2, 1, 1], [1, -2, 1], [1, 1, -2]]),
        np.ones((3, 3)) / 9,
        np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]]),
        np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
        np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
    ], axis=-1).astype("float32")
    maps = keras.activations.relu(_conv_layer(kernels)(small[np.newaxis])).numpy()
    plain = keras.layers.Dropout(0.5, seed=3)(maps, training=True).numpy()[0]
    spatial = keras.layers.SpatialDropout2D(0.5, seed=3)(maps, training=True).numpy()[0]
    # Both dropouts scale what they keep by 2, so their maps are shown on a doubled scale.
    rows = [(maps[0], "8 feature maps", 1.0), (plain, "Dropout(0.5)", 2.0),
            (spatial, "SpatialDropout2D(0.5)", 2.0)]
    fig, axes = plt.subplots(3, 8, figsize=(12.5, 5.0))
    for row, (array, name, scale) in enumerate(rows):
        for channel in range(8):
            top = float(np.percentile(maps[0, ..., channel], 99)) or 1.0
            ax = axes[row, channel]
            ax.imshow(array[..., channel], cmap="magma", vmin=0, vmax=top * scale)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 2 and not array[..., channel].any():
                ax.set_title("dropped", fontsize=12, color=RED)
        axes[row, 0].set_ylabel(name, fontsize=13, rotation=0, ha="right", va="center")
    ctx.note(fig)
    return fig


@figure("skip_connections", photo=True)
def skip_connections(ctx: Context):
    """What poolings leave of a crop, and what the skip connection brings back."""
    import keras

    crop = ctx.data.images[0, 160:288, 160:288]
    mask = ctx.data.masks[0, 160:288, 160:288, 0]
    pool = keras.layers.MaxPooling2D(2)
    x, stages = crop[np.newaxis], {}
    for level in range(1, 5):
        x = -pool(-x)  # pooling the negative keeps the dark membranes visible
        stages[level] = np.asarray(x)[0, ..., 0]
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.9))
    axes[0].imshow(crop[..., 0], cmap="gray")
    axes[0].set_title("input, 128 \u00d7 128")
    for ax, level in zip(axes[1:3], (2, 4), strict=True):
        side = stages[level].shape[0]
        ax.imshow(stages[level], cmap="gray")
        ax.set_title(f"after {level} poolings: {side} \u00d7 {side}")
    _membrane_overlay(axes[3], crop, mask)
    axes[3].set_title("the skip brings back 128 \u00d7 128\n(label: membrane in orange)")
    _off(*axes)
    ctx.note(fig)
    return fig


@figure("transposed_convolution")
def transposed_convolution(ctx: Context):
    """Conv2DTranspose grows 2x2 to 4x4: each input spreads a weighted kernel."""
    import keras

    kernel, _, small, _ = helpers.convolution_example(seed=0)  # notebook 01's, section 1.5
    layer = keras.layers.Conv2DTranspose(1, 3, padding="valid", use_bias=False)
    layer.build((None, 2, 2, 1))
    layer.set_weights([kernel.reshape(3, 3, 1, 1)])
    grown = layer(small.reshape(1, 2, 2, 1)).numpy().reshape(4, 4)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.9), gridspec_kw={"width_ratios": [2, 3, 4]})
    _grid(axes[0], small, title="input 2 \u00d7 2", cmap="Greys", vmin=0, vmax=8, fontsize=16)
    _grid(axes[1], kernel, title="3 \u00d7 3 kernel", cmap="coolwarm_r", vmin=-3, vmax=3,
          fontsize=16)
    limit = float(np.abs(grown).max())
    _grid(axes[2], grown, title="output 4 \u00d7 4\n(overlaps add up)", cmap="coolwarm_r",
          vmin=-limit, vmax=limit, fontsize=16)
    return fig


@figure("conv_matrix")
def conv_matrix(ctx: Context):
    """The 4x16 matrix C of the convolution; Conv2DTranspose multiplies by C transposed."""
    import keras

    kernel, image4, small, matrix = helpers.convolution_example(seed=0)  # notebook 01's
    forward = keras.layers.Conv2D(1, 3, padding="valid", use_bias=False)
    forward.build((None, 4, 4, 1))
    forward.set_weights([kernel.reshape(3, 3, 1, 1)])
    by_keras = forward(image4.reshape(1, 4, 4, 1)).numpy().ravel()
    transpose = keras.layers.Conv2DTranspose(1, 3, padding="valid", use_bias=False)
    transpose.build((None, 2, 2, 1))
    transpose.set_weights([kernel.reshape(3, 3, 1, 1)])
    keras_up = transpose(small.reshape(1, 2, 2, 1)).numpy().ravel()
    forward_same = bool(np.allclose(by_keras, matrix @ image4.ravel()))
    transpose_same = bool(np.allclose(keras_up, matrix.T @ small.ravel()))

    fig = plt.figure(figsize=(13, 4.6), layout="none")  # axes placed by hand
    top = fig.add_axes([0.03, 0.36, 0.94, 0.5])
    _grid(top, matrix, cmap="coolwarm_r", vmin=-3, vmax=3, fontsize=13)
    top.set_title("C: the 3\u00d73 'valid' convolution of a 4\u00d74 image as a 4 \u00d7 16 "
                  "matrix (one row per output pixel)")
    top.set_ylabel("4 outputs")
    fig.text(0.5, 0.22, f"Conv2D(4\u00d74 image) = C \u00b7 (16 pixels):   "
             f"{'equal' if forward_same else 'DIFFERENT'}", ha="center", fontsize=14)
    fig.text(0.5, 0.08, f"Conv2DTranspose(2\u00d72 input) = C\u1d40 \u00b7 (4 values), "
             f"a 16 \u00d7 4 matrix, back to 4\u00d74:   "
             f"{'equal' if transpose_same else 'DIFFERENT'}",
             ha="center", fontsize=14)
    return fig


@figure("padding")
def padding(ctx: Context):
    """'valid' trims the border, 'same' keeps the size; sizes through two U-Nets."""
    import keras
    from keras_unet.models import custom_unet

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4), gridspec_kw={"width_ratios": [1, 1, 1.7]})
    for ax, mode in zip(axes[:2], ("valid", "same"), strict=True):
        layer = keras.layers.Conv2D(1, 3, padding=mode)
        out = layer.compute_output_shape((1, 6, 6, 1))[1]
        pad = 1 if mode == "same" else 0
        for row in range(-pad, 6 + pad):
            for col in range(-pad, 6 + pad):
                inside = 0 <= row < 6 and 0 <= col < 6
                ax.add_patch(Rectangle((col, row), 1, 1, facecolor="#dddddd" if inside else
                                       "white", edgecolor="#999999", linewidth=1,
                                       linestyle="-" if inside else "--"))
                if not inside:
                    ax.text(col + 0.5, row + 0.5, "0", ha="center", va="center", color=GREY)
        start = 1 - pad
        ax.add_patch(Rectangle((start, start), out, out, fill=False, edgecolor=BLUE,
                               linewidth=3))
        ax.add_patch(Rectangle((start - 1, start - 1), 3, 3, fill=False, edgecolor=ORANGE,
                               linewidth=2.5))
        ax.set_xlim(-1.2, 7.2)
        ax.set_ylim(7.2, -1.2)
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.set_title(f"padding='{mode}': 6 \u00d7 6 \u2192 {out} \u00d7 {out}")

    def sizes(model):
        kinds = keras.layers.Conv2D | keras.layers.MaxPooling2D | keras.layers.Conv2DTranspose
        return [layer.output.shape[1] for layer in model.layers if isinstance(layer, kinds)]

    valid = sizes(ctx.vanilla)
    same = sizes(custom_unet(input_shape=(576, 576, 1), filters=8, use_batch_norm=False))
    axes[2].plot(valid, "o-", color=RED, label=f"vanilla_unet ('valid'): 572 \u2192 {valid[-1]}")
    axes[2].plot(same, "s-", color=BLUE, label=f"custom_unet ('same'): 576 \u2192 {same[-1]}")
    axes[2].set_xlabel("layers in order: convolutions, poolings, up-convolutions")
    axes[2].set_ylabel("height = width (pixels)")
    axes[2].legend(loc="upper center", fontsize=12)
    axes[2].set_ylim(0, 700)
    axes[2].set_title("size through the network")
    return fig


@figure("output_activation")
def output_activation(ctx: Context):
    """Sigmoid for one class, softmax across several."""
    import keras

    z = np.linspace(-6, 6, 200).astype("float32")
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    axes[0].plot(z, keras.activations.sigmoid(z).numpy(), color=BLUE, linewidth=3)
    axes[0].axhline(0.5, color=GREY, linestyle="--")
    axes[0].set_xlabel("network output for a pixel (logit)")
    axes[0].set_ylabel("P(interior)")
    axes[0].set_title("sigmoid: one channel, two classes")
    logits = np.array([[2.0, 0.5, -1.0]], dtype="float32")
    probabilities = keras.activations.softmax(logits).numpy()[0]
    names = ["interior", "membrane", "organelle"]
    bars = axes[1].bar(names, probabilities, color=[GREEN, RED, ORANGE])
    for bar, value, logit in zip(bars, probabilities, logits[0], strict=True):
        axes[1].text(bar.get_x() + bar.get_width() / 2, value + 0.02,
                     f"{value:.2f}\n(logit {logit:g})", ha="center", va="bottom", fontsize=12)
    axes[1].set_ylim(0, 1.05)
    axes[1].set_title(f"softmax: one channel per class, sum = {probabilities.sum():.0f}")
    return fig


@figure("keras_unet_models")
def keras_unet_models(ctx: Context):
    """keras-unet's three models: weights and output size, built here."""
    from keras_unet.models import custom_unet, satellite_unet

    models = [
        ("custom_unet\nfilters=16", custom_unet((256, 256, 1), filters=16), 256),
        ("custom_unet\nfilters=64", custom_unet((256, 256, 1), filters=64), 256),
        ("satellite_unet", satellite_unet((256, 256, 1)), 256),
        ("vanilla_unet", ctx.vanilla, 572),
    ]
    fig, ax = plt.subplots(figsize=(11, 4.3))
    counts = [model.count_params() / 1e6 for _, model, _ in models]
    bars = ax.barh([name for name, _, _ in models], counts,
                   color=[BLUE, BLUE, ORANGE, RED])
    for bar, (_, model, size), count in zip(bars, models, counts, strict=True):
        out = model.output_shape[1]
        ax.text(bar.get_width() + 0.4, bar.get_y() + bar.get_height() / 2,
                f"{count:.1f} M weights; {size}\u00b2 in \u2192 {out}\u00b2 out",
                va="center", fontsize=13)
    ax.invert_yaxis()
    ax.set_xlim(0, max(counts) * 1.75)
    ax.set_xlabel("weights (millions)")
    return fig


# ----------------------------------------------------------------------------- data


@figure("training_set", photo=True)
def training_set(ctx: Context):
    """The course's fixed split of the 30 labelled images."""
    fig = plt.figure(figsize=(12, 4.4))
    grid = fig.add_gridspec(2, 3, height_ratios=[5, 1.1], width_ratios=[1, 1, 1.7])
    colours = {"train": BLUE, "validation": ORANGE, "test": RED}
    for column, (name, index) in enumerate((("train", 0), ("test", 27))):
        ax = fig.add_subplot(grid[0, column])
        _membrane_overlay(ax, ctx.data.images[index], ctx.data.masks[index], alpha=0.45)
        ax.set_title(f"image {index} ({name})", color=colours[name])
    ax = fig.add_subplot(grid[1, :])
    for name, indices in helpers.SPLIT.items():
        for index in indices:
            ax.add_patch(Rectangle((index, 0), 0.92, 1, color=colours[name]))
            ax.text(index + 0.46, 0.5, str(index), ha="center", va="center", color="white",
                    fontsize=13)
    ax.set_xlim(0, 30)
    ax.set_ylim(0, 1)
    ax.set_axis_off()
    text = fig.add_subplot(grid[0, 2])
    text.set_axis_off()
    counts = {name: len(indices) for name, indices in helpers.SPLIT.items()}
    lines = [(f"train: {counts['train']} images", BLUE),
             (f"validation: {counts['validation']} (choose settings)", ORANGE),
             (f"test: {counts['test']} (look only at the end)", RED),
             (f"interior: {float(ctx.data.masks.mean()):.0%} of labelled pixels", "black")]
    for row, (line, colour) in enumerate(lines):
        text.text(0.02, 0.85 - 0.22 * row, line, color=colour, fontsize=17, va="center")
    ctx.note(fig)
    return fig


@figure("augment_symmetries", photo=True)
def augment_symmetries(ctx: Context):
    """The 8 exact symmetries of a square crop, as helpers.augmented_batches uses them."""
    x_train, y_train = ctx.parts["train"]
    crop = x_train[3, 200:328, 60:188, 0]
    mask = y_train[3, 200:328, 60:188, 0]
    fig, axes = plt.subplots(2, 4, figsize=(12, 6.4))
    values = set()
    for index, ax in enumerate(axes.flat):
        turns, flip = index % 4, index >= 4
        image, label = np.rot90(crop, turns), np.rot90(mask, turns)
        if flip:
            image, label = image[:, ::-1], label[:, ::-1]
        _membrane_overlay(ax, image, label, alpha=0.35)
        ax.set_title(f"{turns * 90}\u00b0" + (" + flip" if flip else ""))
        values.update(np.unique(label).tolist())
    fig.suptitle("one crop, its 8 exact symmetries; membrane in orange; mask values in all 8: "
                 + ", ".join(f"{v:g}" for v in sorted(values)))
    ctx.note(fig)
    return fig


#: The original workshop's introduction (benchmarks' ``_common.INTRO``): get_augmented's
#: arguments are helpers.WORKSHOP_AUGMENT_ARGS (its cell 25, counting every cell from 0),
#: with a batch of 5 and whole images resized to 128 x 128, nearest (cell 18:
#: ``_common.resize_nearest``).
WORKSHOP_BATCH, WORKSHOP_SIZE = bench.INTRO["batch"], bench.INTRO["size"]


@figure("get_augmented_traps", photo=True)
def get_augmented_traps(ctx: Context):
    """keras-unet get_augmented (the original workshop's settings) next to augmented_batches."""
    from keras_unet.utils import get_augmented

    x_train, y_train = ctx.parts["train"]
    x_small = bench.resize_nearest(x_train, WORKSHOP_SIZE)
    y_small = bench.resize_nearest(y_train, WORKSHOP_SIZE)

    def theirs(x, y):
        return get_augmented(x, y, batch_size=WORKSHOP_BATCH,
                             data_gen_args=dict(helpers.WORKSHOP_AUGMENT_ARGS), seed=1)

    def ours(x, y):
        return helpers.augmented_batches(x, y, patch_size=WORKSHOP_SIZE,
                                         batch_size=WORKSHOP_BATCH, seed=1)

    def fill_map(make, x, y):
        """Where the batch's pixels come from the fill, not the image: the same generator,
        with the same seed (so the same moves), on images of ones."""
        x_ones, _ = next(make(np.ones_like(x), np.ones_like(y)))
        return x_ones < 0.5

    x_theirs, y_theirs = next(theirs(x_small, y_small))
    x_ours, y_ours = next(ours(x_train, y_train))
    fills = (fill_map(theirs, x_small, y_small), fill_map(ours, x_train, y_train))

    def not_binary(y):
        return float(np.mean((y > 0) & (y < 1)))

    fig, axes = plt.subplots(2, 3, figsize=(8.6, 6.6))
    rows = (("get_augmented", x_theirs, y_theirs), ("augmented_batches", x_ours, y_ours))
    for row, ((name, x, y), fill) in enumerate(zip(rows, fills, strict=True)):
        # The sample with the most fill shows trap 2 best.
        k = int(np.argmax(fill.mean(axis=(1, 2, 3))))
        axes[row, 0].imshow(x[k, ..., 0], cmap="gray", vmin=0, vmax=1)
        axes[row, 0].set_title(f"filled with 0:\n{fill.mean():.1%}")
        axes[row, 0].set_ylabel(name, fontsize=16, weight="bold")
        axes[row, 1].imshow(y[k, ..., 0], cmap="gray", vmin=0, vmax=1)
        axes[row, 1].set_title("mask\n(0 = membrane)")
        side = y.shape[1]
        zoom = (slice(side // 2 - 16, side // 2 + 16),) * 2
        axes[row, 2].imshow(y[k, ..., 0][zoom], cmap="viridis", vmin=0, vmax=1,
                            interpolation="nearest")
        axes[row, 2].set_title(f"zoom: neither 0 nor 1\nin {not_binary(y):.1%} of masks")
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
    ctx.note(fig)
    return fig


# ----------------------------------------------------------------------------- training


@figure("losses")
def losses(ctx: Context):
    """How three losses score three guesses for the same validation crop."""
    import keras
    from keras_unet.losses import jaccard_distance

    x_val, y_val = ctx.parts["validation"]
    truth = y_val[:1, :256, :256]
    from scipy.ndimage import gaussian_filter

    guesses = {
        "perfect": truth,
        "blurred truth": gaussian_filter(truth, sigma=(0, 2, 2, 0)),
        "all interior": np.ones_like(truth),
    }
    bce = keras.losses.BinaryCrossentropy()

    def value(loss, guess):
        return float(np.mean(keras.ops.convert_to_numpy(loss(truth, guess))))

    table = {
        "binary cross-entropy": [value(bce, g) for g in guesses.values()],
        "keras-unet jaccard_distance": [value(jaccard_distance, g) for g in guesses.values()],
        "soft Jaccard per image": [value(helpers.soft_jaccard_loss, g)
                                   for g in guesses.values()],
    }
    fig, axes = plt.subplots(1, 3, figsize=(13.5, 4.1))
    for ax, (name, values) in zip(axes, table.items(), strict=True):
        bars = ax.bar(list(guesses), values, color=[GREEN, ORANGE, RED])
        for bar, number in zip(bars, values, strict=True):
            ax.text(bar.get_x() + bar.get_width() / 2, number, f"{number:.3f}", ha="center",
                    va="bottom", fontsize=12)
        ax.set_title(name)
        ax.set_ylim(0, max(max(values) * 1.25, 0.05))
        ax.tick_params(axis="x", labelsize=11)
    ctx.note(fig)
    return fig


@figure("metrics_gap")
def metrics_gap(ctx: Context):
    """A gap in a membrane: tiny pixel error, low V_rand; a thick wall costs V_rand nothing."""
    truth = np.ones((64, 64), dtype="float32")
    truth[:, 30:33] = 0  # one membrane splits two cells
    truth[[0, -1], :] = 0
    truth[:, [0, -1]] = 0
    thicker = truth.copy()
    thicker[1:-1, 33] = 0  # membrane one pixel too wide
    gap = truth.copy()
    gap[30:32, 30:33] = 1  # a two-pixel hole in the membrane
    fig, axes = plt.subplots(1, 3, figsize=(11, 4.6))
    cases = [("truth: 2 cells", truth), ("prediction A:\nmembrane 1 px too wide", thicker),
             ("prediction B:\na 2-pixel gap", gap)]
    for ax, (title, prediction) in zip(axes, cases, strict=True):
        ax.imshow(prediction, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        if prediction is not truth:
            pixel = helpers.pixel_error(truth, prediction)
            score = helpers.v_rand(truth, prediction, threshold=0.5)
            title += f"\npixel error {pixel:.3f}, V_rand {score:.2f}"
        ax.set_title(title, fontsize=13)
        ax.set_axis_off()
    return fig


@figure("learning_curves")
def learning_curves(ctx: Context):
    """helpers.plot_history of the small model trained for the deck."""
    _, history, trained = ctx.trained
    with plt.rc_context({"figure.constrained_layout.use": False}):  # plot_history lays out
        fig = helpers.plot_history(history, title=(
            f"custom_unet, {TINY['filters']} filters, {TINY['epochs']} \u00d7 {TINY['steps']} "
            f"steps of {TINY['batch']} crops: {trained}"))
    fig.set_size_inches(11, 4.2)
    fig.tight_layout()
    ctx.note(fig)
    return fig


def _errors_near_edges(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """(share of wrong pixels next to a membrane edge, share of all pixels next to one).

    A pixel is next to an edge when one of its 4 neighbours has the other class.
    """
    edge = helpers.membrane_edge_band(truth)  # the notebook's band, one home
    wrong = truth != predicted
    share = float(edge[wrong].mean()) if wrong.any() else 0.0
    return share, float(edge.mean())


@figure("prediction", photo=True)
def prediction(ctx: Context):
    """The small model on a test image: probability, threshold, errors."""
    model, _, trained = ctx.trained
    x_test, y_test = ctx.parts["test"]
    probability = model.predict(x_test[:1], verbose=0)
    results = helpers.evaluate(y_test[:1], probability)
    guess = helpers.pixel_error(y_test[:1], np.ones_like(y_test[:1]))
    near_edge, edge_share = _errors_near_edges(y_test[0, ..., 0] > 0.5,
                                           probability[0, ..., 0] >= 0.5)
    fig, axes = plt.subplots(1, 3, figsize=(13, 5.2))
    axes[0].imshow(x_test[0, ..., 0], cmap="gray")
    axes[0].set_title(f"test image {helpers.SPLIT['test'][0]}")
    axes[1].imshow(probability[0, ..., 0], cmap="magma", vmin=0, vmax=1)
    axes[1].set_title("P(interior)")
    helpers.plot_error_map(x_test[0], y_test[0], probability[0], ax=axes[2],
                           title=f"pixel error {results['pixel_error']:.3f} "
                                 f"(all interior: {guess:.3f})\n"
                                 "orange: missed membrane, blue: invented")
    axes[2].title.set_fontsize(13)
    _off(*axes)
    fig.suptitle(f"the deck's small model, trained for {trained}\n{near_edge:.0%} of its errors "
                 f"lie within 1 px of a membrane edge (such pixels: {edge_share:.0%} of the image)",
                 fontsize=14)
    ctx.note(fig)
    return fig


# ----------------------------------------------------------------------------- tiling


@figure("tile_grids", photo=True)
def tile_grids(ctx: Context):
    """Non-overlapping and overlapping 128-pixel tiles on a 512-pixel image (tile_starts)."""
    image = ctx.data.test_images[0, ..., 0]
    colours = [BLUE, ORANGE, GREEN, RED]
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 5.4))
    for ax, overlap in zip(axes, (0, 32), strict=True):
        starts = helpers.tile_starts(512, tile_size=128, overlap=overlap)
        ax.imshow(image, cmap="gray")
        for row in starts:
            for col in starts:
                ax.add_patch(Rectangle((col - 0.5, row - 0.5), 128, 128, fill=False,
                                       edgecolor="white", linewidth=1, alpha=0.8))
        # The first four tiles filled: where they overlap, the colours mix.
        for k, (row, col) in enumerate([(r, c) for r in starts[:2] for c in starts[:2]]):
            ax.add_patch(Rectangle((col - 0.5, row - 0.5), 128, 128, facecolor=colours[k],
                                   edgecolor=colours[k], linewidth=2.5, alpha=0.35))
        ax.set_title(f"overlap {overlap}: {len(starts)} \u00d7 {len(starts)} tiles\n"
                     f"tile_starts(512, tile_size=128, overlap={overlap}) = {starts}", fontsize=13)
        ax.set_axis_off()
    ctx.note(fig)
    return fig


def _distance_to_seam(size: int, tile: int) -> np.ndarray:
    """Each pixel's distance to the nearest internal edge of a non-overlapping tile grid."""
    edges = np.arange(tile, size, tile)
    line = np.min(np.abs(np.arange(size)[:, None] + 0.5 - edges[None, :]), axis=1)
    return np.minimum(line[:, None], line[None, :])


@figure("tile_seams")
def tile_seams(ctx: Context):
    """Stitched non-overlapping tiles vs helpers.predict_tiled with overlap and blending."""
    model, _, _ = ctx.trained
    images = ctx.data.test_images[:3]
    stitched = helpers.predict_non_overlapping(model, images, tile_size=128)[..., 0]
    blended = helpers.predict_tiled(model, images, tile_size=128, overlap=32)[..., 0]
    difference = np.abs(stitched - blended)
    distance = np.floor(_distance_to_seam(512, 128)).astype(int)
    by_distance = [float(difference[:, distance == d].mean()) for d in range(32)]

    crop = (slice(192, 320), slice(192, 320))  # around the tiles' common corner at (256, 256)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.4), gridspec_kw={"width_ratios": [1, 1, 1.4]})
    axes[0].imshow(stitched[0][crop], cmap="magma", vmin=0, vmax=1)
    axes[0].set_title("tiles side by side\n(overlap 0; tile corner at centre)")
    axes[1].imshow(blended[0][crop], cmap="magma", vmin=0, vmax=1)
    axes[1].set_title("predict_tiled\n(overlap 32, blended)")
    _off(*axes[:2])
    axes[2].plot(range(32), by_distance, "o-", color=RED)
    axes[2].set_xlabel("distance from the nearest tile edge (pixels)")
    axes[2].set_ylabel("mean |difference| of P(interior)")
    axes[2].set_title(f"where the two disagree ({len(images)} images)")
    axes[2].set_ylim(0, None)
    ctx.note(fig)
    return fig


@figure("memory")
def memory(ctx: Context):
    """Memory for the layer outputs that training keeps, by batch and tile size."""
    import keras

    tiles = (64, 128, 256, 512)
    filters = QUICK_NB01["filters"]
    per_sample = []  # bytes of all layer outputs for one tile, float32
    for tile in tiles:
        model = helpers.course_unet(filters, input_shape=(tile, tile, 1))
        per_sample.append(4 * sum(int(np.prod(layer.output.shape[1:]))
                                  for layer in model.layers
                                  if not isinstance(layer, keras.layers.InputLayer)))
    fig, ax = plt.subplots(figsize=(7.2, 5.6))
    for batch, colour in zip((4, 8, 16), (GREEN, BLUE, RED), strict=True):
        megabytes = [batch * size / 1e6 for size in per_sample]
        ax.plot(tiles, megabytes, "o-", color=colour, label=f"batch {batch}")
        ax.annotate(f"{megabytes[-1]:,.0f} MB", (tiles[-1], megabytes[-1]),
                    textcoords="offset points", xytext=(8, 0), ha="left", va="center",
                    color=colour)
    ax.set_xscale("log", base=2)
    ax.set_xlim(52, 1150)
    ax.set_yscale("log")
    ax.set_xticks(tiles, [str(tile) for tile in tiles])
    ax.set_xlabel("tile size (pixels a side)")
    ax.set_ylabel("MB of layer outputs (float32)")
    ax.set_title(f"custom_unet, {filters} filters:\nwhat training keeps for the backward pass")
    ax.legend()
    return fig


@figure("threshold_sweep")
def threshold_sweep(ctx: Context):
    """helpers.threshold_sweep of the small model on the validation images."""
    model, _, _ = ctx.trained
    x_val, y_val = ctx.parts["validation"]
    probabilities = model.predict(x_val, batch_size=1, verbose=0)
    sweep = helpers.threshold_sweep(y_val, probabilities)
    best = sweep.loc[sweep["v_rand"].idxmax()]
    fig, ax = plt.subplots(figsize=(7.2, 5.6))
    ax.plot(sweep["threshold"], sweep["pixel_error"], "o-", color=BLUE, label="pixel error")
    ax.plot(sweep["threshold"], 1 - sweep["v_rand"], "s-", color=RED,
            label="1 - V_rand (thinned)")
    ax.axvline(best["threshold"], color=GREY, linestyle=":")
    ax.set_xlabel("threshold on P(interior)")
    ax.set_ylim(0, None)
    ax.set_title(f"the deck's small model, validation images:\n"
                 f"highest V_rand at {best['threshold']:.2f}")
    ax.legend()
    ctx.note(fig)
    return fig


@figure("multiclass", photo=True)
def multiclass(ctx: Context):
    """Three classes from helpers.synthetic_tissue: one softmax channel each."""
    from matplotlib.colors import ListedColormap

    images, classes = helpers.synthetic_tissue(1, size=256, seed=2)
    fig, axes = plt.subplots(1, 2, figsize=(8, 4.6))
    axes[0].imshow(images[0, ..., 0], cmap="gray")
    axes[0].set_title("synthetic EM-like image\n(helpers.synthetic_tissue)")
    colours = ListedColormap([GREEN, RED, ORANGE])
    axes[1].imshow(classes[0], cmap=colours, vmin=0, vmax=2, interpolation="nearest")
    fractions = [float(np.mean(classes == k)) for k in range(3)]
    names = [f"{name} {share:.0%}" for name, share in
             zip(helpers.TISSUE_CLASSES, fractions, strict=True)]
    axes[1].set_title(f"{names[0]} (green), {names[1]} (red),\n{names[2]} (orange)")
    _off(*axes)
    return fig


# ----------------------------------------------------------------------------- driver


def make_figures(out_dir: Path, cache_dir: Path, names=None) -> Context:
    """Draw the registered figures (or `names`) into `out_dir` as PNG.

    Returns the `Context`, whose ``data.source`` says which data were used.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = Context(cache_dir)
    for name in names or FIGURES:
        start = time.perf_counter()
        with plt.rc_context(STYLE):
            fig = FIGURES[name](ctx)
            options = {"pil_kwargs": {"quality": 90, "subsampling": 0}} if name in PHOTOS else {}
            fig.savefig(out_dir / file_name(name), facecolor="white", **options)
        plt.close(fig)
        print(f"  figure {file_name(name)} ({time.perf_counter() - start:.1f} s)")
    return ctx
