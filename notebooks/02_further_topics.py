# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Image segmentation with U-Net in Keras: further topics
#
# The choices that decide whether a U-Net works on real, large images: tiles,
# losses, optimisers, luck, memory, checkpoints, honest evaluation, a classic
# baseline, and more than two classes.
#
# <a href="https://colab.research.google.com/github/unet-course/unet-segmentation-course/blob/main/notebooks/02_further_topics.ipynb" target="_parent"><img src="https://colab.research.google.com/assets/colab-badge.svg" alt="Open In Colab"/></a>

# %% [markdown]
# # Setup
#
# As in notebook 01: on Colab the first cell installs keras-unet and the
# course's `helpers` (from `COURSE_SOURCE`, your Drive's `unet-course` folder,
# an uploaded wheel, or GitHub; never TensorFlow). `helpers.setup()` comes
# before `import keras`: it starts TensorFlow quietly with GPU memory growth,
# reports the hardware, seeds, chooses the budget (the `MODE` switch, which
# `UNET_COURSE_MODE` overrides when set) and mounts Drive on Colab.

# %%
# On Colab, leave this empty: the course comes from your Drive's `unet-course` folder,
# an uploaded wheel, or GitHub. Or give a folder, wheel or URL of the course here.
COURSE_SOURCE = ""  # @param {type:"string"}

import importlib.util
import sys

IS_COLAB = "google.colab" in sys.modules
if IS_COLAB and importlib.util.find_spec("tensorflow") is None:
    raise RuntimeError(
        "This runtime has no TensorFlow: Colab's TPU runtimes ship without it. Choose a GPU: "
        "Runtime > Change runtime type > T4 GPU > Save, then Runtime > Run all."
    )
missing = [name for name in ("keras_unet", "helpers") if importlib.util.find_spec(name) is None]
if missing and IS_COLAB:
    import os
    import subprocess
    import tempfile
    from importlib.metadata import PackageNotFoundError, version
    from pathlib import Path

    # pip may add packages, but never change the TensorFlow, Keras and NumPy Colab has.
    keep = []
    for name in ("tensorflow", "keras", "numpy"):
        try:
            keep.append(f"{name}=={version(name)}\n")
        except PackageNotFoundError:
            pass
    constraints = Path(tempfile.mkdtemp()) / "keep-colab-versions.txt"
    constraints.write_text("".join(keep))

    def pip_install(*args):
        """Run pip; return "" when it worked, else its error."""
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-c", str(constraints), *args],
            capture_output=True, text=True, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        errors = [line.strip() for line in lines if line.startswith("ERROR")
                  or " depends on " in line or "(constraint)" in line] or lines[-1:]
        return "" if done.returncode == 0 else " | ".join(errors)[:600] or "pip failed"

    tried = []
    if "keras_unet" in missing:
        # On its own, so that its failure cannot take the course down, nor the reverse.
        # setuptools: keras-unet 0.1.2 imports distutils, gone from Python >= 3.12.
        error = pip_install("keras-unet==0.1.2", "setuptools")
        tried.append(f"keras-unet from PyPI: {error or 'installed'}")
    if "helpers" in missing:
        content = Path("/content")
        sources = []
        if COURSE_SOURCE.strip():
            sources.append(("COURSE_SOURCE", COURSE_SOURCE.strip()))
        else:
            try:  # Mounted here, so that the course can come from Drive; setup() reuses it.
                from google.colab import drive

                drive.mount(str(content / "drive"))
            except Exception as error:  # refused, timed out: go on without Drive
                tried.append(f"Google Drive: not mounted ({type(error).__name__}: {error})")
            folder = content / "drive" / "MyDrive" / "unet-course"
            wheels = sorted(folder.glob("unet_course_helpers-*.whl"))
            if (folder / "pyproject.toml").is_file():
                sources.append(("the course folder on Drive", str(folder)))
            elif wheels:
                sources.append(("the course wheel on Drive", str(wheels[-1])))
            elif folder.parent.is_dir():
                tried.append(f"Google Drive: no course wheel or folder in {folder}")
            uploaded = sorted(content.glob("unet_course_helpers-*.whl"))
            if uploaded:
                sources.append(("the wheel uploaded to the runtime", str(uploaded[-1])))
            sources.append(("GitHub", "git+https://github.com/unet-course/unet-segmentation-course"))
        for label, source in sources:
            error = pip_install(source)
            tried.append(f"{label}, {source}: {error or 'installed'}")
            if not error:
                break
    importlib.invalidate_caches()
    still_missing = [name for name in missing if importlib.util.find_spec(name) is None]
    if still_missing:
        raise ModuleNotFoundError(
            f"Could not install {' and '.join(still_missing)}. Tried, in order:\n  - "
            + "\n  - ".join(tried)
            + "\nTo fix it, do one of these, then run this cell again:\n"
            "  - check that the runtime is online (keras-unet and GitHub need the internet);\n"
            "  - copy the course bundle from your instructor to MyDrive/unet-course, and allow "
            "access to Drive;\n"
            "  - upload the course wheel (unet_course_helpers-*.whl) to the Files pane;\n"
            "  - put the course's folder, wheel or URL in COURSE_SOURCE."
        )
    print("Installed:", "; ".join(entry for entry in tried if entry.endswith("installed")))
elif missing:
    raise ModuleNotFoundError(
        f"Missing {missing}. From the course folder run `make run` (it builds .venv), or "
        "`pip install -r requirements.txt -e .`, then restart the kernel."
    )

# %%
MODE = "auto"  # @param ["auto", "quick", "full"]

import helpers

course = helpers.setup(mode=MODE, seed=42)
QUICK = course.quick

import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import tensorflow as tf
from keras_unet.models import custom_unet

try:
    images, masks, challenge_images = helpers.load_isbi2012()
    SYNTHETIC = False
except (ConnectionError, FileNotFoundError, ValueError) as error:
    print(f"ISBI 2012 is not available here ({error}).")
    print("Using the synthetic look-alike instead: the lesson is the same, the numbers differ.")
    images, masks = helpers.synthetic_membranes(30, size=512, seed=0)
    SYNTHETIC = True

parts = helpers.split_dataset(images, masks)
x_train, y_train = parts["train"]
x_val, y_val = parts["validation"]
x_test, y_test = parts["test"]
all_interior_error = helpers.pixel_error(y_test, np.ones_like(y_test))
print(f"all-interior guess, test pixel error: {all_interior_error:.3f}")

# %% [markdown]
# The budget. Quick mode (a CPU) trains the main model for a few hundred steps
# and each comparison for far fewer, with a smaller network: enough to see the
# effects, too little to rank close contenders. Full mode (a GPU) gives the
# numbers to believe.

# %%
if QUICK:
    FILTERS, PATCH, BATCH, MAIN_STEPS = 16, 128, 8, 320
    COMPARE_FILTERS, COMPARE_PATCH, COMPARE_EPOCHS, COMPARE_STEPS = 8, 96, 4, 25
else:
    FILTERS, PATCH, BATCH, MAIN_STEPS = 32, 256, 8, 8000
    COMPARE_FILTERS, COMPARE_PATCH, COMPARE_EPOCHS, COMPARE_STEPS = 16, 128, 10, 150
print(f"main model: {FILTERS} filters, {MAIN_STEPS} steps of {BATCH} x {PATCH}^2 crops; "
      f"comparisons: {COMPARE_FILTERS} filters, {COMPARE_EPOCHS * COMPARE_STEPS} steps each")


def build_unet(filters, num_classes=1, output_activation="sigmoid", use_batch_norm=True,
               bn_momentum=None):
    """keras-unet's custom_unet as in notebook 01: any input size, batch norm."""
    net = custom_unet(
        input_shape=(None, None, 1), filters=filters, num_layers=4, dropout=0.1,
        dropout_type="spatial", use_batch_norm=use_batch_norm, num_classes=num_classes,
        output_activation=output_activation,
    )
    # keras-unet declares its one input as a list; Keras 3 expects it as we pass it (notebook 01).
    net = keras.Model(net.inputs[0], net.outputs[0])
    if bn_momentum is not None:  # custom_unet has no option for it; see section 2
        for layer in net.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = bn_momentum
    return net


# %% [markdown]
# # 1. Full resolution by tiling
#
# An EM section from a modern microscope is often 10 000 pixels a side or more:
# it does not fit through a network in one piece, in training or in prediction.
# So we **train on tiles** (random crops, augmented on the fly, as in notebook
# 01), and **predict in tiles**, then put the pieces together. How we put them
# together matters.
#
# First, the main model of this notebook: trained on 128-pixel (quick) or
# 256-pixel (full) tiles cut from the full-resolution 512×512 images, with
# BCE + Jaccard (section 2 says why).

# %%
strategy = helpers.distribution_strategy()
with strategy.scope():
    model = build_unet(FILTERS)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss=helpers.bce_jaccard_loss,
        metrics=[keras.metrics.BinaryIoU(target_class_ids=[0], threshold=0.5,
                                         name="iou_membrane")],
    )
main_checkpoint = course.checkpoint_dir / "unet_tiles_best.keras"
start = time.perf_counter()
main_history = model.fit(
    helpers.augmented_batches(x_train, y_train, patch_size=PATCH, batch_size=BATCH,
                              seed=course.seed),
    steps_per_epoch=MAIN_STEPS // 8,
    epochs=8,
    validation_data=(x_val, y_val),
    validation_batch_size=1,
    callbacks=[helpers.atomic_checkpoint(main_checkpoint, monitor="val_loss",
                                         save_best_only=True)],
    shuffle=False,  # a generator cannot be shuffled; it draws random crops anyway
    verbose=2,
)
main_seconds = time.perf_counter() - start
main_steps_per_second = MAIN_STEPS / main_seconds
print(f"trained in {main_seconds:.0f} s: {main_steps_per_second:.2f} steps/s on "
      f"{course.runtime.accelerator}")
model = keras.models.load_model(main_checkpoint, custom_objects=helpers.custom_objects())

# %% [markdown]
# ## Non-overlapping tiles, the keras-unet way
#
# keras-unet's `get_patches` cuts an image into a grid of tiles, and
# `reconstruct_from_patches` pastes predictions back. Two pitfalls: both use the
# image's **height for both sides** (square images only), and pasting simply
# overwrites, with no blending.

# %%
from keras_unet.utils import get_patches, reconstruct_from_patches

TILE = 128


def predict_non_overlapping(model, images, tile=TILE):
    side = images.shape[1]
    assert images.shape[1] == images.shape[2], "keras-unet's patches assume square images"
    patches = get_patches(img_arr=images, size=tile, stride=tile)
    predicted = model.predict(patches, batch_size=16, verbose=0)
    return reconstruct_from_patches(img_arr=predicted, org_img_size=(side, side), size=tile,
                                     stride=tile)


start = time.perf_counter()
plain = predict_non_overlapping(model, x_test)
plain_seconds = time.perf_counter() - start
start = time.perf_counter()
blended = helpers.predict_tiled(model, x_test, tile_size=TILE, overlap=TILE // 4, batch_size=16)
blended_seconds = time.perf_counter() - start
print(f"non-overlapping: {plain_seconds:.1f} s, overlap-tile: {blended_seconds:.1f} s "
      f"for {len(x_test)} images")

# %% [markdown]
# ## Overlap-tile: what `helpers.predict_tiled` does
#
# A network with 'same' padding sees zeros beyond a tile's edge, so its
# predictions are worst near the edge. **Overlap-tile** (the U-Net paper's
# strategy) lets neighbouring tiles overlap, and blends their predictions with
# weights that fade out towards each tile's edge: every pixel is decided mostly
# by a tile that saw it with context. The image's own border is mirrored first,
# so it gets context too. The tile grids:

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 5))
for ax, overlap, title in ((axes[0], 0, "non-overlapping"), (axes[1], TILE // 4, "overlap 32")):
    ax.imshow(x_test[0, ..., 0], cmap="gray")
    margin = overlap // 2
    starts = helpers.tile_starts(512 + 2 * margin, TILE, overlap) if overlap else \
        helpers.tile_starts(512, TILE, 0)
    colours = plt.cm.tab10(np.linspace(0, 1, 10))
    for i, r in enumerate(starts[:2]):  # two rows of tiles are enough to see the overlap
        for j, c in enumerate(starts):
            ax.add_patch(plt.Rectangle((c - margin + 2 * i, r - margin + 2 * i), TILE - 4,
                                       TILE - 4, fill=False, lw=2, ec=colours[(i * 5 + j) % 10]))
    ax.set_title(f"{title}: {len(starts) ** 2} tiles (two rows drawn)")
    ax.set_axis_off()
plt.show()

# %% [markdown]
# **The seams.** Where does each method go wrong? We compare the error within
# 8 pixels of the 128-pixel grid lines (where the non-overlapping tiles meet)
# with the error elsewhere.

# %%
def near_grid(shape, tile=TILE, width=8):
    """True within `width` px of an internal grid line at multiples of `tile`."""
    rows = np.arange(shape[0]) % tile
    cols = np.arange(shape[1]) % tile
    near_rows = (np.minimum(rows, tile - rows) < width) & (np.arange(shape[0]) >= width) & (
        np.arange(shape[0]) < shape[0] - width)
    near_cols = (np.minimum(cols, tile - cols) < width) & (np.arange(shape[1]) >= width) & (
        np.arange(shape[1]) < shape[1] - width)
    return near_rows[:, None] | near_cols[None, :]


border = near_grid(x_test.shape[1:3])
rows = []
for name, probabilities in (("non-overlapping tiles", plain), ("overlap-tile", blended)):
    wrong = (probabilities[..., 0] >= 0.5) != (y_test[..., 0] >= 0.5)
    rows.append({
        "method": name,
        "pixel error": wrong.mean(),
        "error near tile borders": wrong[:, border].mean(),
        "error elsewhere": wrong[:, ~border].mean(),
        "seam error": wrong[:, border].mean() - wrong[:, ~border].mean(),
    })
tiling_table = pd.DataFrame(rows).set_index("method")
print(tiling_table.round(4).to_string())
# The lesson, checked: blending is at least as good as pasting.
assert tiling_table.loc["overlap-tile", "pixel error"] <= \
    tiling_table.loc["non-overlapping tiles", "pixel error"] + 1e-3

# %%
zoom = np.s_[64:320, 64:320]
fig, axes = plt.subplots(1, 3, figsize=(12, 4.3))
axes[0].imshow(x_test[0][zoom][..., 0], cmap="gray")
axes[0].set_title("image (zoom)")
axes[1].imshow(plain[0][zoom][..., 0], cmap="magma", vmin=0, vmax=1)
axes[1].set_title("non-overlapping: seams at 128, 256")
axes[2].imshow(blended[0][zoom][..., 0], cmap="magma", vmin=0, vmax=1)
axes[2].set_title("overlap-tile: no seams")
for ax in axes:
    ax.set_axis_off()
plt.show()

# %% [markdown]
# # 2. Loss functions
#
# Same network, same data, same seed, same number of steps; only the loss
# changes. The candidates:
#
# - **binary cross-entropy (BCE)**: the standard; each pixel counts the same,
#   so the rare membrane class counts for little;
# - **keras-unet's `jaccard_distance`**: despite its name it is computed per
#   pixel (see below);
# - **soft Jaccard per image** (`helpers.soft_jaccard_loss`): IoU of each class
#   over the whole image, so the membrane class weighs as much as the interior;
# - **BCE + Jaccard** (`helpers.bce_jaccard_loss`): BCE's smooth gradients plus
#   Jaccard's balance.
#
# First, what `jaccard_distance` really computes. It sums over the last axis,
# which for a one-channel mask is a single number: the "intersection" and
# "union" are those of one pixel with itself.

# %%
from keras_unet.losses import jaccard_distance

y_one = np.array([[[[1.0], [0.0]]]])  # one image, two pixels: interior, membrane
p_one = np.array([[[[0.7], [0.2]]]])
print("jaccard_distance output shape:", keras.ops.shape(jaccard_distance(y_one, p_one)),
      "(one value per pixel)")
print("per pixel:", keras.ops.convert_to_numpy(jaccard_distance(y_one, p_one)).ravel().round(3),
      "~ |y - p| =", np.abs(y_one - p_one).ravel())

# %% [markdown]
# With its `smooth=100` it is almost exactly |y − p|, an L1 loss. For a pixel
# the network cannot yet tell apart, say one that is interior 78% of the time,
# the expected L1 loss is a straight line in p, lowest at **p = 1**: "interior".
# BCE's expected loss is lowest at p = 0.78, an honest probability. So an
# L1-like loss pushes every uncertain pixel to the majority class, and early in
# training, when every pixel is uncertain, the network can settle on "all
# interior".

# %%
p = np.linspace(0.001, 0.999, 200)
q = float(y_train.mean())
fig, ax = plt.subplots(figsize=(5.5, 3.5))
ax.plot(p, q * (1 - p) + (1 - q) * p, label="expected jaccard_distance (~L1)")
ax.plot(p, -(q * np.log(p) + (1 - q) * np.log(1 - p)), label="expected BCE")
ax.axvline(q, ls=":", c="grey")
ax.set_xlabel("predicted probability of interior")
ax.set_ylim(0, 1.5)
ax.set_title(f"a pixel that is interior {q:.0%} of the time")
ax.legend()
plt.show()

# %% [markdown]
# Now the race. `train_compare` builds, compiles and fits one small U-Net; all
# runs share the data stream (same seed) and the budget. Curves are measured on
# the centre 256×256 of the validation images, to save time.
#
# One trap first. Batch normalisation keeps running averages of each layer's
# statistics for use at prediction time, updated with Keras's default momentum
# of 0.99: they need a few hundred steps to forget their starting values (0 and
# 1). keras-unet offers no option for it, so for these short runs we set the
# momentum to 0.9 on its layers. Without that, every short run looks bad on
# validation, whatever its loss.

# %%
val_crops = (x_val[:, 128:384, 128:384], y_val[:, 128:384, 128:384])


def train_compare(loss, optimizer, *, seed=42, filters=COMPARE_FILTERS, use_batch_norm=True,
                  label=""):
    keras.utils.set_random_seed(seed)
    with strategy.scope():
        net = build_unet(filters, use_batch_norm=use_batch_norm, bn_momentum=0.9)
        net.compile(optimizer=optimizer, loss=loss, metrics=[
            keras.metrics.BinaryIoU(target_class_ids=[0], threshold=0.5, name="iou_membrane")])
    start = time.perf_counter()
    history = net.fit(
        helpers.augmented_batches(x_train, y_train, patch_size=COMPARE_PATCH, batch_size=BATCH,
                                  seed=seed),
        steps_per_epoch=COMPARE_STEPS, epochs=COMPARE_EPOCHS,
        validation_data=val_crops, validation_batch_size=len(x_val), shuffle=False, verbose=0,
    )
    seconds = time.perf_counter() - start
    # Called directly, not with predict: predict would build a graph for each of these
    # throwaway models, and TensorFlow warns when one function is traced so often.
    probabilities = keras.ops.convert_to_numpy(net(x_val, training=False))
    result = {
        "run": label,
        "val pixel error": helpers.pixel_error(y_val, probabilities),
        "val IoU membrane": helpers.iou_per_class(y_val, probabilities)["membrane"],
        "predicted membrane": float(np.mean(probabilities < 0.5)),
        "seconds": seconds,
    }
    print(", ".join(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}"
                    for k, v in result.items()))
    return net, history, result


losses = {
    "BCE": "binary_crossentropy",
    "jaccard_distance (keras-unet)": jaccard_distance,
    "soft Jaccard per image": helpers.soft_jaccard_loss,
    "BCE + Jaccard": helpers.bce_jaccard_loss,
}
loss_runs = {name: train_compare(loss, keras.optimizers.Adam(1e-3), label=name)
             for name, loss in losses.items()}
loss_table = pd.DataFrame([run[2] for run in loss_runs.values()]).set_index("run")
print(loss_table.round(3).to_string())

# %% [markdown]
# Validation curves, each on its own loss scale, so we compare the membrane IoU:

# %%
fig, ax = plt.subplots(figsize=(6, 3.8))
for name, (_, history, _) in loss_runs.items():
    ax.plot(np.arange(1, COMPARE_EPOCHS + 1), history.history["val_iou_membrane"], marker="o",
            label=name)
ax.set_xlabel("epoch")
ax.set_ylabel("validation IoU, membrane")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Read the *predicted membrane* column against the truth (about 22%). With
# batch norm, all four losses learn something in this budget. Now take away
# batch norm, as the original workshop's models had it, and race
# `jaccard_distance` against the soft Jaccard again:

# %%
collapse_runs = {
    name: train_compare(loss, keras.optimizers.Adam(1e-3), use_batch_norm=False,
                        label=f"{name}, no batch norm")
    for name, loss in (("jaccard_distance", jaccard_distance),
                       ("soft Jaccard per image", helpers.soft_jaccard_loss))
}
collapse_table = pd.DataFrame([run[2] for run in collapse_runs.values()]).set_index("run")
print(collapse_table.round(3).to_string())

# %% [markdown]
# If `jaccard_distance`'s *predicted membrane* is 0% and its validation pixel
# error equals the all-interior guess's, it has **collapsed to "all
# interior"**: every pixel sits where the L1-like loss is flat-bottomed, at
# p ≈ 1, and the gradient that would pull the rare membrane pixels out of it is
# small. The per-image soft Jaccard cannot settle there, since "all interior"
# scores an IoU of 0 on the membrane class, half its loss. (In full mode, with
# more steps, `jaccard_distance` may escape; in the original workshop's tile
# recipe it scored 0.179, close to the all-interior 0.196.)
#
# # 3. Optimisers
#
# Same loss (BCE + Jaccard), same budget; Adam, SGD with momentum and RMSprop,
# at learning rates typical for each.

# %%
optimisers = {
    "Adam 1e-3": lambda: keras.optimizers.Adam(learning_rate=1e-3),
    "SGD 1e-2, momentum 0.9": lambda: keras.optimizers.SGD(learning_rate=1e-2, momentum=0.9),
    "RMSprop 1e-3": lambda: keras.optimizers.RMSprop(learning_rate=1e-3),
}
optimiser_runs = {"Adam 1e-3": loss_runs["BCE + Jaccard"]}  # already trained above
for name, make in optimisers.items():
    if name not in optimiser_runs:
        optimiser_runs[name] = train_compare(helpers.bce_jaccard_loss, make(), label=name)
optimiser_table = pd.DataFrame([run[2] for run in optimiser_runs.values()])
optimiser_table["run"] = list(optimiser_runs)
optimiser_table = optimiser_table.set_index("run")
print(optimiser_table.round(3).to_string())

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for name, (_, history, _) in optimiser_runs.items():
    epochs = np.arange(1, COMPARE_EPOCHS + 1)
    axes[0].plot(epochs, history.history["loss"], marker="o", label=name)
    axes[1].plot(epochs, history.history["val_loss"], marker="o", label=name)
axes[0].set_title("training loss")
axes[1].set_title("validation loss")
for ax in axes:
    ax.set_xlabel("epoch")
    ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Adam adapts a step size for every weight, so it is forgiving of the learning
# rate; SGD needs its learning rate (and often a schedule) tuned, and then can
# generalise as well or better; RMSprop sits in between. Adam at 10⁻³ is the
# recommended start.
#
# # 4. Restarts: how much is luck?
#
# "The optimiser sometimes gets stuck." The starting weights and the order of
# the data are random. We train the same recipe with three seeds, look at the
# spread, and keep the best **by validation** (never by test).

# %%
restart_runs = {"seed 42": loss_runs["BCE + Jaccard"]}
for seed in (7, 2024):
    restart_runs[f"seed {seed}"] = train_compare(helpers.bce_jaccard_loss,
                                                 keras.optimizers.Adam(1e-3), seed=seed,
                                                 label=f"seed {seed}")
restart_table = pd.DataFrame([run[2] for run in restart_runs.values()])
restart_table["run"] = list(restart_runs)
restart_table = restart_table.set_index("run")
print(restart_table.round(3).to_string())
spread = restart_table["val pixel error"].max() - restart_table["val pixel error"].min()
best_seed = restart_table["val pixel error"].idxmin()
print(f"spread of validation pixel error across seeds: {spread:.3f}; keep: {best_seed}")

# %% [markdown]
# If the spread between seeds is as large as the differences in sections 2 and
# 3, those differences are not yet evidence. Restarts cost time, but they are
# the cheapest insurance against a stuck run.
#
# # 5. Batch and tile size: memory and step time
#
# Memory for training grows with batch × tile area (every layer's output is kept
# for the backward pass). On a GPU we read the real peak; on a CPU we add up the
# sizes of the layers' outputs for an estimate.

# %%
def activation_megabytes(net, batch, tile):
    """Sum of all layer outputs for one batch, float32, x2 for their gradients."""
    probe = keras.Model(net.inputs[0], [layer.output for layer in net.layers[1:]])
    total = sum(int(np.prod(shape[1:])) for shape in
                (tuple(t.shape) for t in probe(np.zeros((1, tile, tile, 1), "float32"))))
    return 2 * 4 * batch * total / 1e6


def step_time(net, batch, tile, steps=3):
    x = np.random.default_rng(0).random((batch, tile, tile, 1), dtype=np.float32)
    y = (x > 0.5).astype("float32")
    if course.runtime.accelerator == "GPU":
        tf.config.experimental.reset_memory_stats("GPU:0")
    net.train_on_batch(x, y)  # warm-up: builds the graph for this shape
    start = time.perf_counter()
    for _ in range(steps):
        net.train_on_batch(x, y)
    seconds = (time.perf_counter() - start) / steps
    peak = (tf.config.experimental.get_memory_info("GPU:0")["peak"] / 1e6
            if course.runtime.accelerator == "GPU" else float("nan"))
    return seconds, peak


with strategy.scope():
    probe_net = build_unet(FILTERS)
    probe_net.compile(optimizer=keras.optimizers.Adam(1e-3), loss=helpers.bce_jaccard_loss)
rows = []
for batch, tile in ((4, 128), (8, 128), (16, 128), (4, 256)) if QUICK else \
        ((8, 128), (32, 128), (8, 256), (32, 256), (8, 512)):
    seconds, peak = step_time(probe_net, batch, tile)
    rows.append({"batch": batch, "tile": tile, "ms per step": 1000 * seconds,
                 "pixels per second (M)": batch * tile * tile / seconds / 1e6,
                 "activation memory estimate (MB)": activation_megabytes(probe_net, batch, tile),
                 "GPU peak (MB)": peak})
memory_table = pd.DataFrame(rows)
print(memory_table.round(1).to_string(index=False))

# %% [markdown]
# **On an out-of-memory error** (`ResourceExhaustedError`, "OOM when allocating
# tensor"): halve the batch size first, then the tile size (keep it a multiple
# of 16 for four pooling levels), or the filters. Restart the runtime after an
# OOM on a GPU, since memory may stay fragmented. For prediction, lower
# `predict_tiled`'s `batch_size`: it changes nothing in the result.
#
# # 6. Checkpoint and resume
#
# Colab disconnects idle or long sessions. Two callbacks make a long training
# safe: `ModelCheckpoint(save_best_only=True)` keeps the best model so far, and
# `BackupAndRestore` saves the whole training state every epoch, so that calling
# `fit` again *resumes* where it stopped. Both write to the outputs folder, on
# Drive when it is mounted. We simulate a disconnect at the end of epoch 2.

# %%
backup_dir = course.checkpoint_dir / "resume_demo_backup"
resume_checkpoint = course.checkpoint_dir / "resume_demo_best.keras"


class Disconnect(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise RuntimeError("simulated disconnect after epoch 2")


def resumable_fit(extra_callbacks):
    keras.utils.set_random_seed(1)
    with strategy.scope():
        net = build_unet(COMPARE_FILTERS)
        net.compile(optimizer=keras.optimizers.Adam(1e-3), loss=helpers.bce_jaccard_loss)
    epochs_run = []
    history = net.fit(
        helpers.augmented_batches(x_train, y_train, patch_size=128, batch_size=BATCH, seed=1),
        steps_per_epoch=5, epochs=4, validation_data=val_crops, shuffle=False, verbose=0,
        callbacks=[
            keras.callbacks.BackupAndRestore(backup_dir),
            keras.callbacks.ModelCheckpoint(resume_checkpoint, save_best_only=True),
            keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs_run.append(e + 1)),
            *extra_callbacks,
        ],
    )
    return history, epochs_run


try:
    resumable_fit([Disconnect()])
except RuntimeError as error:
    print("first run stopped:", error)
history, epochs_run = resumable_fit([])
print("second run trained epochs", epochs_run, "(resumed, not restarted)")
assert epochs_run[0] == 3, epochs_run
print("best checkpoint:", resume_checkpoint.name, resume_checkpoint.exists())

# %% [markdown]
# # 7. Evaluation in depth
#
# The ISBI 2012 challenge ranked entries by measures that count *cells*, not
# pixels, because neuroscientists trace neurons: a one-pixel gap in a membrane
# merges two neurons.
#
# - **pixel error**: 1 − the fraction of pixels right;
# - **Rand error** (foreground-restricted, adapted): how often a pair of pixels
#   is wrongly put in the same cell or in different cells;
# - **variation of information**: the information (in nats) lost and gained
#   between the true and the predicted cells (split + merge).
#
# We evaluate the main model, predicted at full resolution with overlap-tile.
# First, the threshold, chosen on the **validation** images.

# %%
val_probabilities = helpers.predict_tiled(model, x_val, tile_size=TILE, overlap=TILE // 4)
sweep = helpers.threshold_sweep(y_val, val_probabilities)
threshold = float(sweep.loc[sweep["rand_error"].idxmin(), "threshold"])
fig, ax = plt.subplots(figsize=(6, 3.8))
ax.plot(sweep["threshold"], sweep["pixel_error"], marker="o", label="pixel error")
ax.plot(sweep["threshold"], sweep["rand_error"], marker="s", label="Rand error")
ax.axvline(threshold, ls=":", c="grey")
ax.set_xlabel("threshold on the probability of interior")
ax.set_title(f"validation: best Rand error at {threshold:.2f}")
ax.legend()
plt.show()

# %% [markdown]
# A threshold above 0.5 calls more pixels membrane: it closes gaps in
# membranes (fewer merged cells, lower Rand error) at a small cost in pixel
# error. Now the test images, at 0.5 and at the chosen threshold:

# %%
test_probabilities = blended
rows = []
for name, cut in (("threshold 0.5", 0.5), (f"threshold {threshold:.2f} (from validation)",
                                           threshold)):
    scores = helpers.evaluate(y_test, test_probabilities, threshold=cut)
    rows.append({"": name, **scores})
evaluation_table = pd.DataFrame(rows).set_index("")
print(evaluation_table.round(4).T.to_string())
test_scores = helpers.evaluate(y_test, test_probabilities)
print(f"\ntest pixel error: {test_scores['pixel_error']:.4f}")
print(f"test IoU: {test_scores['iou_membrane']:.4f} (membrane), "
      f"{test_scores['iou_interior']:.4f} (interior)")
assert test_scores["pixel_error"] < 0.75 * all_interior_error, test_scores

# %%
per_image = helpers.evaluate(y_test, test_probabilities, per_image=True)
per_image.index = [f"image {i}" for i in helpers.SPLIT["test"]]
print(per_image.round(4).to_string())
fig, axes = plt.subplots(1, 3, figsize=(15, 5))
for ax, index in zip(axes, range(3), strict=True):
    helpers.plot_error_map(x_test[index], y_test[index], test_probabilities[index], ax=ax,
                           title=f"image {helpers.SPLIT['test'][index]}: "
                                 f"pixel error {per_image.iloc[index]['pixel_error']:.3f}")
plt.show()

# %% [markdown]
# # 8. The classic baseline: a random-forest pixel classifier
#
# Before deep learning, and still today in Fiji's *Trainable Weka Segmentation*
# and in ilastik, each pixel is described by filters at several scales
# (smoothed intensity, edges, texture), and a random forest learns which
# combinations mean membrane. The user paints a few **scribbles**, not full
# masks. We build the same thing with scikit-image and scikit-learn, train it
# on scribbles and on full labels, and compare it with the U-Net.

# %%
from functools import partial

from skimage.feature import multiscale_basic_features
from skimage.morphology import disk, erosion, skeletonize
from sklearn.ensemble import RandomForestClassifier

features_of = partial(multiscale_basic_features, intensity=True, edges=True, texture=True,
                      sigma_min=1, sigma_max=8)
forest_images = range(0, 24, 4) if QUICK else range(24)  # a few sections suffice for a forest
rng = np.random.default_rng(0)


def scribbles(mask, windows=6, size=48):
    """Like a user's brush strokes: membrane centre-lines and cell cores in a few windows."""
    label = np.full(mask.shape, -1)
    membrane_core = skeletonize(mask < 0.5)
    interior_core = erosion(mask >= 0.5, disk(6))
    for _ in range(windows):
        r, c = rng.integers(0, mask.shape[0] - size, 2)
        box = np.s_[r : r + size, c : c + size]
        label[box][membrane_core[box]] = 0
        label[box][interior_core[box] & (rng.random((size, size)) < 0.05)] = 1
    return label


features, sparse_labels, full_labels = [], [], []
for index in forest_images:
    features.append(features_of(x_train[index, ..., 0]))
    sparse_labels.append(scribbles(y_train[index, ..., 0]))
    full_labels.append(y_train[index, ..., 0].astype(int))
features = np.stack(features)
sparse_labels, full_labels = np.stack(sparse_labels), np.stack(full_labels)
labelled = sparse_labels >= 0
sample = rng.random(full_labels.shape) < (0.03 if QUICK else 0.2)  # full labels: a large sample
print(f"scribbles label {labelled.mean():.2%} of pixels; full labels, sampled: {sample.mean():.0%}")

forest_rows = []
test_features = np.stack([features_of(image[..., 0]) for image in x_test])
for name, where, target in (("random forest, scribbles", labelled, sparse_labels),
                            ("random forest, full labels", sample, full_labels)):
    forest = RandomForestClassifier(n_estimators=40, max_depth=16, n_jobs=-1, random_state=0)
    start = time.perf_counter()
    forest.fit(features[where], target[where])
    fit_seconds = time.perf_counter() - start
    flat = test_features.reshape(-1, test_features.shape[-1])
    forest_probability = forest.predict_proba(flat)[:, 1].reshape(y_test.shape)
    forest_rows.append({"method": name, "training pixels": int(where.sum()),
                        "fit seconds": fit_seconds,
                        **helpers.evaluate(y_test, forest_probability)})
forest_rows.append({"method": f"U-Net ({FILTERS} filters, overlap-tile)",
                    "training pixels": int(np.prod(y_train.shape)),
                    "fit seconds": main_seconds, **test_scores})
forest_rows.append({"method": "all interior", "training pixels": 0, "fit seconds": 0.0,
                    **helpers.evaluate(y_test, np.ones_like(y_test))})
baseline_table = pd.DataFrame(forest_rows).set_index("method")
print(baseline_table[["training pixels", "fit seconds", "pixel_error", "iou_membrane",
                      "rand_error"]].round(4).to_string())
assert test_scores["pixel_error"] < all_interior_error

# %% [markdown]
# The forest sees only a window of up to a few dozen pixels through its
# filters, and each pixel is decided alone; the U-Net sees a field of view
# of about 200 pixels and learns its own filters. Scribbles take minutes to
# paint rather than hours, which is why the forest remains a good first tool.
#
# # 9. Multi-class segmentation
#
# With three or more classes, the network ends in K channels with a **softmax**
# (the K probabilities of each pixel sum to 1), the masks are **one-hot** (K
# channels, one of them 1), and the loss is **categorical** cross-entropy (our
# soft Jaccard works per channel too). We use the synthetic tissue from
# `helpers`: interior, membrane, and dark organelles that a binary model
# would confuse with membrane.

# %%
def cce_jaccard_loss(y_true, y_pred):
    """Categorical cross-entropy (mean over the image) + soft Jaccard over the K classes."""
    cce = keras.losses.categorical_crossentropy(y_true, y_pred)  # (batch, H, W)
    return keras.ops.mean(cce, axis=(1, 2)) + helpers.soft_jaccard_loss(y_true, y_pred)


n_tissue, tissue_size = (16, 256) if QUICK else (60, 512)
tissue_images, tissue_classes = helpers.synthetic_tissue(n_tissue, size=tissue_size, seed=3)
tissue_onehot = keras.utils.to_categorical(tissue_classes, num_classes=3).astype("float32")
print("classes:", helpers.TISSUE_CLASSES, "fractions:",
      np.bincount(tissue_classes.ravel(), minlength=3) / tissue_classes.size)
n_fit = n_tissue - 4

keras.utils.set_random_seed(5)
with strategy.scope():
    tissue_model = build_unet(COMPARE_FILTERS * 2, num_classes=3, output_activation="softmax",
                              bn_momentum=0.9)
    tissue_model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=cce_jaccard_loss)
tissue_model.fit(
    helpers.augmented_batches(tissue_images[:n_fit], tissue_onehot[:n_fit], patch_size=128,
                              batch_size=BATCH, seed=5),
    steps_per_epoch=COMPARE_STEPS, epochs=COMPARE_EPOCHS + 2, shuffle=False, verbose=0,
)
tissue_probabilities = tissue_model.predict(tissue_images[n_fit:], batch_size=2, verbose=0)
tissue_iou = helpers.iou_per_class(tissue_onehot[n_fit:], tissue_probabilities, num_classes=3,
                                   class_names=helpers.TISSUE_CLASSES)
print("IoU per class on held-out synthetic images:",
      {name: round(value, 3) for name, value in tissue_iou.items()})

fig, axes = plt.subplots(1, 3, figsize=(12, 4.2))
class_colours = plt.matplotlib.colors.ListedColormap(["#f0e0c0", "#202020", "#c03030"])
axes[0].imshow(tissue_images[n_fit, ..., 0], cmap="gray")
axes[0].set_title("image")
axes[1].imshow(tissue_classes[n_fit], cmap=class_colours, vmin=0, vmax=2)
axes[1].set_title("truth: interior / membrane / organelle")
axes[2].imshow(tissue_probabilities[0].argmax(-1), cmap=class_colours, vmin=0, vmax=2)
axes[2].set_title("prediction (arg-max of softmax)")
for ax in axes:
    ax.set_axis_off()
plt.show()

# %% [markdown]
# # 10. Hardware
#
# What did this run's device give?

# %%
print(f"device: {course.runtime.accelerator} {', '.join(course.runtime.devices)}")
print(f"main model: {main_steps_per_second:.2f} training steps/s "
      f"({BATCH} x {PATCH}^2 crops, {FILTERS} filters) = "
      f"{main_steps_per_second * BATCH * PATCH * PATCH / 1e6:.1f} M pixels/s")

# %% [markdown]
# **GPU versus CPU.** Training a U-Net is almost all convolutions, which a GPU
# runs in parallel. We know how large the gain is only by measuring the same
# code on both: this notebook prints steps/s and pixels/s for whatever it runs
# on. Run it once on a Colab GPU runtime and once on a CPU runtime (Runtime >
# Change runtime type) and compare the line above; per pixel, expect a Colab
# T4 GPU to train this U-Net one to two orders of magnitude faster than
# Colab's two CPU cores, which is why full mode is for GPUs. On a GPU, mixed
# precision (`keras.mixed_precision.set_global_policy("mixed_float16")`) can
# add speed; on a CPU it does not apply. The course's `make bench` measures
# step times side by side on your machine.
#
# **TPU runtimes.** Colab's TPU runtimes ship without TensorFlow, and
# installing it there is fragile; `helpers.distribution_strategy()` would use a
# TPU that TensorFlow can reach, and the notebooks build their models inside
# its scope, but for this course choose a GPU.
#
# # Summary
#
# - Train on tiles, predict with **overlapping**, blended tiles: pasting
#   non-overlapping tiles leaves seams where the network saw no context.
# - The loss decides what the network cares about. keras-unet's
#   `jaccard_distance` is per pixel (≈ L1) and can collapse to "all interior";
#   per-image soft Jaccard, or BCE + Jaccard, give the membrane its due.
# - Adam at 10⁻³ is a forgiving default. Compare options only with the spread
#   between seeds in mind, and keep the best restart by validation.
# - Memory grows with batch × tile area; halve the batch first after an OOM.
# - `ModelCheckpoint` + `BackupAndRestore` on Drive survive a disconnect.
# - Measure as the field does (Rand error, VI as well as pixel error), choose
#   thresholds on validation data, and compare with a classic baseline.
# - More classes: softmax, one-hot masks, categorical loss, IoU per class.
#
# # Exercises
#
# **1. Overlap.** Predict the test images with `overlap` 0, 16, 32 and 64.
# How do the pixel error and the time change?

# %% cellView="form" jupyter={"source_hidden": true}
# @title Solution 1
for overlap in (0, 16, 32, 64):
    start = time.perf_counter()
    probabilities = helpers.predict_tiled(model, x_test, tile_size=TILE, overlap=overlap)
    print(f"overlap {overlap:>2}: pixel error {helpers.pixel_error(y_test, probabilities):.4f}, "
          f"{time.perf_counter() - start:.1f} s")
# More overlap means more tiles (time grows as (tile / (tile - overlap))^2) and
# fewer pixels decided near a tile edge; beyond a quarter of the tile, little changes.

# %% [markdown]
# **2. Dice.** Add `helpers.dice_loss` to the loss race. Is it closer to the
# soft Jaccard or to BCE? Why would it be?

# %% cellView="form" jupyter={"source_hidden": true}
# @title Solution 2
_, _, dice_result = train_compare(helpers.dice_loss, keras.optimizers.Adam(1e-3), label="Dice")
# Dice = 2 IoU / (1 + IoU): a monotone function of the soft IoU, so it ranks
# predictions the same way and behaves like the soft Jaccard, with slightly
# different gradients.
assert 0 <= dice_result["val pixel error"] <= 1

# %% [markdown]
# **3. Scribbles.** How few scribble windows does the forest need to beat the
# all-interior guess? Try `windows=1, 2, 4`.

# %% cellView="form" jupyter={"source_hidden": true}
# @title Solution 3
for windows in (1, 2, 4):
    labels = np.stack([scribbles(y_train[i, ..., 0], windows=windows) for i in forest_images])
    where = labels >= 0
    if len(np.unique(labels[where])) < 2:
        print(f"{windows} window(s): only one class painted, nothing to learn")
        continue
    forest = RandomForestClassifier(n_estimators=30, max_depth=12, n_jobs=-1, random_state=0)
    forest.fit(features[where], labels[where])
    prediction = forest.predict_proba(test_features.reshape(-1, test_features.shape[-1]))[:, 1]
    error = helpers.pixel_error(y_test, prediction.reshape(y_test.shape))
    print(f"{windows} window(s), {where.sum()} pixels: pixel error {error:.3f} "
          f"(all interior {all_interior_error:.3f})")

# %% [markdown]
# **4. Which threshold for which measure?** Using the sweep of section 7, which
# threshold minimises the pixel error, and which the Rand error? Explain the
# difference in one sentence.

# %% cellView="form" jupyter={"source_hidden": true}
# @title Solution 4
best_pixel = sweep.loc[sweep["pixel_error"].idxmin(), "threshold"]
best_rand = sweep.loc[sweep["rand_error"].idxmin(), "threshold"]
print(f"pixel error is lowest at {best_pixel:.2f}, Rand error at {best_rand:.2f}")
# Rand error punishes gaps in membranes (merged cells) far more than pixel error
# does, so it prefers a threshold that calls borderline pixels membrane.
assert 0.1 <= best_pixel <= 0.9 and 0.1 <= best_rand <= 0.9

# %% [markdown]
# **5. A bigger field of view.** The U-Net with 4 levels sees about 200 pixels.
# Build one with `num_layers=5` (tiles must then be multiples of 32) and
# compare in full mode. When would the extra context matter?

# %% cellView="form" jupyter={"source_hidden": true}
# @title Solution 5
deeper = custom_unet(input_shape=(None, None, 1), filters=8, num_layers=5, use_batch_norm=True)
print(f"5 levels: {deeper.count_params():,} parameters; output for a 128 tile:",
      deeper.compute_output_shape((1, 128, 128, 1)))
# Extra context matters when a pixel's class depends on things far away: large
# organelles that resemble membrane up close, or whole-cell shapes. For ISBI's
# thin membranes, 4 levels are usually enough.
