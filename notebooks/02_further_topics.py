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

# %% cellView="form" jupyter={"source_hidden": true}
# @title Setup: on Colab, installs keras-unet and the course's `helpers`
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

# ISBI 2012 if it can be had, else the look-alike, exactly as in notebook 01.
images, masks, _, SYNTHETIC = helpers.load_isbi2012_or_synthetic()

parts = helpers.split_dataset(images, masks)
x_train, y_train = parts["train"]
x_val, y_val = parts["validation"]
x_test, y_test = parts["test"]
all_interior_error = helpers.pixel_error(y_test, np.ones_like(y_test))
print(f"all-interior guess, test pixel error: {all_interior_error:.3f}")

# %% [markdown]
# The budget, from `helpers.BUDGETS`, the one table that the notebooks, the
# benchmarks and the slides read. Quick mode (the default on a CPU) trains the
# main model for a few hundred steps and each comparison for far fewer, with a
# smaller network: too little to rank close contenders, so read its comparisons
# as demonstrations. Full mode (the default on a GPU) trains the main model,
# each comparison and section 8's methods 15 to 33 times as many steps (the
# ratios are printed below); each comparison is still a single run.

# %%
budget = course.budget["02_further_topics"]  # helpers.BUDGETS: this mode's steps and sizes
FILTERS, PATCH, BATCH = budget["filters"], budget["patch"], budget["batch"]
MAIN_STEPS = budget["main_steps"]
COMPARE_FILTERS, COMPARE_PATCH = budget["compare_filters"], budget["compare_patch"]
COMPARE_EPOCHS, COMPARE_STEPS = budget["compare_epochs"], budget["compare_steps"]
PAPER_STEPS = budget["paper_steps"]  # section 8: the main model's network, three times
print(f"main model: {FILTERS} filters, {MAIN_STEPS} steps of {BATCH} x {PATCH}^2 crops; "
      f"comparisons: {COMPARE_FILTERS} filters, {COMPARE_EPOCHS * COMPARE_STEPS} steps each; "
      f"section 8: {FILTERS} filters, {PAPER_STEPS} steps each")
full_budget = helpers.BUDGETS["full"]["02_further_topics"]
compare_steps = COMPARE_EPOCHS * COMPARE_STEPS
print("full mode / quick mode, steps: main model "
      f"{full_budget['main_steps'] / MAIN_STEPS:.1f}, each comparison "
      f"{full_budget['compare_epochs'] * full_budget['compare_steps'] / compare_steps:.1f}, "
      f"section 8 {full_budget['paper_steps'] / PAPER_STEPS:.1f}")


# %% [markdown]
# **Exercises.** Each main section has one, inside it: a task, a cell for your
# answer (it runs harmlessly as shipped), a self-check that compares your answer
# with a computation of its own and says "correct", "not yet" or "not
# attempted" (`helpers.check_answer`, as in notebook 01), and a hidden solution
# (double-click to open it).

# %% [markdown]
# # 1. Full resolution by tiling
#
# Microscope images can be far larger than ISBI's 512 × 512, too large to go
# through a network in one piece, in training or in prediction. So we **train
# on tiles** (random crops, augmented on the fly, as in notebook 01), and
# **predict in tiles**, then put the pieces together. How we put them together
# matters.
#
# First, the main model of this notebook: trained on 128-pixel (quick) or
# 256-pixel (full) tiles cut from the full-resolution 512×512 images, with
# BCE + Jaccard (section 2 compares losses).

# %%
keras.utils.set_random_seed(course.seed)  # this section's own seed
strategy = helpers.distribution_strategy()
with strategy.scope():
    model = helpers.course_unet(FILTERS)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss=helpers.bce_jaccard_loss,
        metrics=[keras.metrics.BinaryIoU(target_class_ids=[0], threshold=0.5,
                                         name="iou_membrane")],
    )
    # Adam's moment slots, made now: fit would make them while tracing its training step
    # and then trace that step a second time (keras/src/backend/tensorflow/trainer.py,
    # _maybe_symbolic_build: without a distribution strategy, building waits for the
    # trace). Every model this notebook trains with fit does the same, to skip that second
    # trace.
    model.optimizer.build(model.trainable_variables)
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
# `reconstruct_from_patches` pastes predictions back. Two pitfalls, shown
# below: `get_patches` counts the columns with the image's **height** (square
# images only), and pasting **overwrites**, with no blending.

# %%
from keras_unet.utils import get_patches, reconstruct_from_patches

TILE = 128
wide = np.zeros((1, TILE, 2 * TILE, 1), "float32")  # room for two tiles side by side
wide_tiles = len(get_patches(img_arr=wide, size=TILE, stride=TILE))
print(f"tiles cut from a {TILE} x {2 * TILE} image: {wide_tiles}")
assert wide_tiles == 1  # the height (one tile) is used for both sides

numbered = np.stack([np.full((TILE, TILE, 1), k, "float32") for k in range(9)])
pasted = reconstruct_from_patches(img_arr=numbered, org_img_size=(256, 256), size=TILE,
                                  stride=TILE // 2)  # 3 x 3 tiles that overlap by half
print("where tiles 0, 1, 3 and 4 overlap, the result is", pasted[0, 100, 100, 0])
assert pasted[0, 100, 100, 0] == 4  # the last tile pasted there, not a mean


# keras-unet's way, put together (get_patches, model.predict, reconstruct_from_patches):
# helpers.predict_non_overlapping, which the benchmarks and the slides measure too.
helpers.predict_non_overlapping(model, x_test[:1], tile_size=TILE)  # warm-up: builds the graph
helpers.predict_tiled(model, x_test[0], tile_size=TILE, overlap=TILE // 4, batch_size=16)
start = time.perf_counter()
plain = helpers.predict_non_overlapping(model, x_test, tile_size=TILE, batch_size=16)
plain_seconds = time.perf_counter() - start
start = time.perf_counter()
blended = helpers.predict_tiled(model, x_test, tile_size=TILE, overlap=TILE // 4, batch_size=16)
blended_seconds = time.perf_counter() - start
print(f"non-overlapping: {plain_seconds:.1f} s, overlap-tile: {blended_seconds:.1f} s "
      f"for {len(x_test)} images")

# %% [markdown]
# ## Overlap-tile: what `helpers.predict_tiled` does
#
# A network with 'same' padding sees zeros beyond a tile's edge, so it has
# least context there (the seam table below measures the cost).
#
# The U-Net paper (Ronneberger, Fischer and Brox, 2015,
# [arXiv:1505.04597](https://arxiv.org/abs/1505.04597)) predicts large images
# tile by tile with *valid* convolutions: each tile yields a smaller centre,
# the centres abut, and the image's border is mirrored so that the outermost
# tiles get context too. Our Keras U-Net uses 'same' convolutions, so
# `predict_tiled` does something of **this course's own**: neighbouring tiles
# overlap, and their predictions are **blended** with weights that fade out
# towards each tile's edge (`helpers.blend_weights`), so a pixel that two tiles
# cover is decided mostly by the tile in which it lies further from the edge.
#
# And the image's own border, which no neighbouring tile covers? `predict_tiled`
# mirrors it only within the slack that
# the tiles leave, so the mirror never costs a tile. At 512 pixels with tile
# 128 and overlap 32 there is no slack (5 tiles of stride 96: 4 × 96 + 128 =
# 512), so **nothing is mirrored**. The tiles, as `helpers.tile_grid` gives
# them to `predict_tiled`:

# %%
tiles_seen = []


def counting_identity(tiles):  # stands in for a model: counts the tiles it is given
    tiles_seen.append(len(tiles))
    return tiles


fig, axes = plt.subplots(1, 2, figsize=(10, 5))
colours = plt.cm.tab10(np.linspace(0, 1, 10))
for ax, overlap in zip(axes, (0, TILE // 4), strict=True):
    grid = helpers.tile_grid(x_test.shape[1:3], tile_size=TILE, overlap=overlap)
    tiles_seen.clear()
    helpers.predict_tiled(counting_identity, x_test[0], tile_size=TILE, overlap=overlap)
    assert sum(tiles_seen) == len(grid.origins) and grid.margin == (0, 0)
    ax.imshow(x_test[0, ..., 0], cmap="gray")
    for k, (r, c) in enumerate(grid.origins[: 2 * len(grid.cols)]):  # two rows of tiles
        shift = 2 * (k // len(grid.cols))  # so that the two rows' edges do not coincide
        ax.add_patch(plt.Rectangle((c + shift, r + shift), TILE - 4, TILE - 4, fill=False,
                                   lw=2, ec=colours[k % 10]))
    ax.set_title(f"overlap {overlap}: {len(grid.origins)} tiles, mirror {grid.margin[0]} px "
                 "(two rows drawn)")
    ax.set_axis_off()
plt.show()

# %% [markdown]
# **The seams.** Where does each method go wrong? We measure the error within
# 8 pixels on either side of the 128-pixel grid lines (where the non-overlapping
# tiles meet: rows and columns 120-135, 248-263 and 376-391, 8 pixels from each of
# the two tiles; `helpers.tile_border_band`, which the benchmarks use too). Those
# rows and columns may be harder or easier than the rest of the image for
# reasons of their own, so the reference is the same network on the **whole
# image** at once (512 is a multiple of 16, so it fits), which has no seams at
# all: what a tiling adds to the whole image's error in that band is its seam
# error. (The benchmarks' seam error, in the README, subtracts the error
# elsewhere in the same image, and is then compared with the whole image's own.)

# %%
def error_table(predictions, band, band_name):
    """Pixel error inside and outside a boolean `band` of pixels, per method."""
    table = {}
    for name, probabilities in predictions.items():
        wrong = (probabilities[..., 0] >= 0.5) != (y_test[..., 0] >= 0.5)
        table[name] = {"pixel error": wrong.mean(), f"error {band_name}": wrong[:, band].mean(),
                       "error elsewhere": wrong[:, ~band].mean()}
    return pd.DataFrame(table).T


whole = model.predict(x_test, batch_size=1, verbose=0)  # no tiles, no seams
tiling_table = error_table({"whole image (no tiles)": whole, "non-overlapping tiles": plain,
                            "overlap-tile": blended},
                           helpers.tile_border_band(x_test.shape[1:3], tile_size=TILE, width=8),
                           "near tile borders")
tiling_table["seam error"] = tiling_table["error near tile borders"] - \
    tiling_table.loc["whole image (no tiles)", "error near tile borders"]
print(tiling_table.round(4).to_string())
# The lessons, checked on this run: pasted tiles err more at their borders than the
# whole image does, and blending removes most of that excess without costing accuracy.
assert tiling_table.loc["non-overlapping tiles", "seam error"] > 0, tiling_table
assert tiling_table.loc["overlap-tile", "seam error"] < \
    0.5 * tiling_table.loc["non-overlapping tiles", "seam error"], tiling_table
assert tiling_table.loc["overlap-tile", "pixel error"] <= \
    tiling_table.loc["non-overlapping tiles", "pixel error"] + 1e-3, tiling_table

# %%
zoom = np.s_[64:320, 64:320]
fig, axes = plt.subplots(1, 3, figsize=(12, 4.3))
axes[0].imshow(x_test[0][zoom][..., 0], cmap="gray")
axes[0].set_title("image (zoom)")
axes[1].imshow(plain[0][zoom][..., 0], cmap="magma", vmin=0, vmax=1)
axes[1].set_title("non-overlapping: tile edges at 128, 256")
axes[2].imshow(blended[0][zoom][..., 0], cmap="magma", vmin=0, vmax=1)
axes[2].set_title("overlap-tile, blended")
for ax in axes:
    ax.set_axis_off()
plt.show()

# %% [markdown]
# **The image's border.** `predict_tiled` mirrored nothing here. The U-Net
# paper mirrors all the context that its valid convolutions lose at the
# image's border (its figure 2). We try less, 16 pixels (half the overlap, the
# course's choice): what does that buy, and cost? We pad the images ourselves with
# `np.pad(..., mode="reflect")`, predict, crop back, and compare the error in
# the outermost 16 pixels and the time:

# %%
MIRROR = TILE // 8  # 16 pixels


def predict_mirrored(model, images, margin=MIRROR):
    padded = np.pad(images, ((0, 0), (margin, margin), (margin, margin), (0, 0)), mode="reflect")
    result = helpers.predict_tiled(model, padded, tile_size=TILE, overlap=TILE // 4,
                                   pad_mode=None)
    return result[:, margin:-margin, margin:-margin]


start = time.perf_counter()
mirrored = predict_mirrored(model, x_test)
mirrored_seconds = time.perf_counter() - start
outer = np.ones(x_test.shape[1:3], bool)
outer[MIRROR:-MIRROR, MIRROR:-MIRROR] = False
border_table = error_table({"non-overlapping tiles": plain, "overlap-tile": blended,
                            f"overlap-tile, {MIRROR} px mirrored": mirrored},
                           outer, f"in the outer {MIRROR} px")
border_table["tiles per image"] = [
    len(helpers.tile_grid(shape, tile_size=TILE, overlap=overlap, pad_mode=None).origins)
    for shape, overlap in ((x_test.shape[1:3], 0), (x_test.shape[1:3], TILE // 4),
                           (np.add(x_test.shape[1:3], 2 * MIRROR).tolist(), TILE // 4))]
border_table["seconds"] = [plain_seconds, blended_seconds, mirrored_seconds]
print(border_table.round(4).to_string())
unmirrored, with_mirror = border_table.iloc[1], border_table.iloc[2]
outer_error = f"error in the outer {MIRROR} px"
print(f"\nIn this run, mirroring changed the {outer_error} from {unmirrored[outer_error]:.4f} "
      f"to {with_mirror[outer_error]:.4f}, for "
      f"{with_mirror['tiles per image'] / unmirrored['tiles per image'] - 1:.0%} more tiles.")

# %% [markdown]
# **Exercise 1 (tiles).** How many tiles does `predict_tiled` use for one
# 512 × 512 image with tile 128 and overlap 64? And for a 600 × 600 image with
# overlap 32? Work it out on paper: along one side, tiles of stride
# `tile - overlap` must reach the end.

# %%
tiles_512_overlap_64 = None  # your answer, e.g. 16
tiles_600_overlap_32 = None

# %%
def check_exercise_1(answer_512, answer_600):
    """Counts the tiles predict_tiled really sends to the model."""
    verdicts = []
    for name, answer, side, overlap in (("512 px, overlap 64", answer_512, 512, 64),
                                        ("600 px, overlap 32", answer_600, 600, 32)):
        tiles_seen.clear()
        helpers.predict_tiled(counting_identity, np.zeros((side, side)), tile_size=TILE,
                              overlap=overlap)
        verdicts.append(helpers.check_answer(name, answer, sum(tiles_seen)))
    return all(verdict == "correct" for verdict in verdicts)


check_exercise_1(tiles_512_overlap_64, tiles_600_overlap_32);  # the semicolon: the check prints its verdict; Jupyter need not echo it

# %% cellView="form" jupyter={"source_hidden": true}
# @title Solution 1
import math


def tiles_per_image(side, tile, overlap):
    per_side = math.ceil((side - overlap) / (tile - overlap))  # stride tile - overlap
    return per_side**2


# 512: ceil(448 / 64) = 7 per side; 600: ceil(568 / 96) = 6 per side (predict_tiled
# uses the 8 spare pixels to mirror 4 on each side).
assert check_exercise_1(tiles_per_image(512, TILE, 64), tiles_per_image(600, TILE, 32))

# %% [markdown]
# **Section summary.** Train on tiles; predict with overlapping tiles and
# blend them (the blend is this course's choice; the U-Net paper's valid
# convolutions let its tiles abut). keras-unet's patch helpers assume square
# images and overwrite where tiles overlap. `predict_tiled` mirrors the border
# only where that costs no tile; the table above shows what mirroring 16
# pixels would change on these images.

# %% [markdown]
# # 2. Loss functions
#
# Same network, same data, same seed, same number of steps; only the loss
# changes. The candidates:
#
# - **binary cross-entropy (BCE)**: the mean over pixels, so each pixel counts
#   the same and the rare membrane class (its share is printed below) counts
#   for little;
# - **keras-unet's `jaccard_distance`**: despite its name it is computed per
#   pixel (see below);
# - **soft Jaccard per image** (`helpers.soft_jaccard_loss`): IoU of each class
#   over the whole image, averaged over the two classes, so the membrane class
#   weighs as much as the interior;
# - **BCE + Jaccard** (`helpers.bce_jaccard_loss`): the sum of the two.
#
# First, what `jaccard_distance` really computes. It sums over the last axis,
# which for a one-channel mask is a single number: the "intersection" and
# "union" are those of one pixel with itself.

# %%
import inspect

from keras_unet.losses import jaccard_distance

membrane_share = float(np.mean(y_train < 0.5))
print(f"membrane: {membrane_share:.1%} of the training pixels")
assert membrane_share < 0.5  # the rare class

y_one = np.array([[[[1.0], [0.0]]]])  # one image, two pixels: interior, membrane
p_one = np.array([[[[0.7], [0.2]]]])
per_pixel = keras.ops.convert_to_numpy(jaccard_distance(y_one, p_one))
smooth = inspect.signature(jaccard_distance).parameters["smooth"].default
print(f"jaccard_distance output shape: {per_pixel.shape} (one value per pixel); "
      f"smooth = {smooth}")
print("per pixel:", per_pixel.ravel().round(3), "~ |y - p| =", np.abs(y_one - p_one).ravel())
assert per_pixel.shape == (1, 1, 2)
assert np.allclose(per_pixel.ravel(), np.abs(y_one - p_one).ravel(), atol=0.01)

# %% [markdown]
# With its `smooth=100` it is almost exactly |y − p|, an L1 loss. Take a pixel
# the network cannot yet tell apart, one that is interior as often as interior
# is in the training set (q below). Its expected L1 loss is a straight line in
# p, lowest at **p = 1**: "interior". BCE's expected loss is lowest at p = q,
# an honest probability. So an L1-like loss pushes every uncertain pixel to the
# majority class, and early in training, when every pixel is uncertain, the
# network can settle on "all interior".

# %%
p = np.linspace(0.001, 0.999, 200)
q = float(y_train.mean())
expected_l1 = q * (1 - p) + (1 - q) * p
expected_bce = -(q * np.log(p) + (1 - q) * np.log(1 - p))
assert p[expected_l1.argmin()] == p.max() and abs(p[expected_bce.argmin()] - q) < 0.01
fig, ax = plt.subplots(figsize=(5.5, 3.5))
ax.plot(p, expected_l1, label="expected jaccard_distance (~L1)")
ax.plot(p, expected_bce, label="expected BCE")
ax.axvline(q, ls=":", c="grey")
ax.set_xlabel("predicted probability of interior")
ax.set_ylim(0, 1.5)
ax.set_title(f"a pixel that is interior {q:.0%} of the time")
ax.legend()
plt.show()

# %% [markdown]
# Now the race. `train_compare` builds, compiles and fits one small U-Net; all
# runs share the data stream (same seed) and the budget. Sections 2 to 4 ask
# for some settings twice (Adam with BCE + Jaccard, say); such a run is trained
# once, and its line says when it is reused. Curves are measured on
# the centre 256×256 of the validation images, to save time.
#
# One trap first. Batch normalisation keeps running averages of each layer's
# statistics for use at prediction time. Keras updates them with a momentum of
# 0.99 by default, and keras-unet's `custom_unet` has no option to change it
# (both checked below): after n steps, 0.99ⁿ of the starting values (0 and 1)
# is still in the averages. So for these short runs we set the momentum to 0.9
# on its layers.

# %%
compare_total_steps = COMPARE_EPOCHS * COMPARE_STEPS
assert keras.layers.BatchNormalization().momentum == 0.99
assert "momentum" not in inspect.signature(custom_unet).parameters
print(f"after {compare_total_steps} steps, the share of the starting value left: "
      f"{0.99 ** compare_total_steps:.1%} at momentum 0.99, "
      f"{0.9 ** compare_total_steps:.1e} at 0.9")

# %%
val_crops = (x_val[:, 128:384, 128:384], y_val[:, 128:384, 128:384])
all_interior_val_error = helpers.pixel_error(y_val, np.ones_like(y_val))
# Runs by their settings: a later section that asks for the same settings (loss,
# optimiser, seed, batch norm) gets the run already trained, and its line says so.
finished_runs = {}


def predict_directly(net, images):
    """Call the model on one image at a time: no prediction graph is traced per model.

    (predict would build a graph for each throwaway model, and TensorFlow warns when one
    function is traced so often.)
    """
    return np.concatenate([keras.ops.convert_to_numpy(net(image[np.newaxis], training=False))
                           for image in images])


def train_compare(loss, optimizer, *, seed=42, use_batch_norm=True, label=""):
    config = optimizer.get_config()
    key = (getattr(loss, "__name__", loss), type(optimizer).__name__,
           float(config["learning_rate"]), config.get("momentum"), seed, use_batch_norm)
    if key not in finished_runs:
        keras.utils.set_random_seed(seed)
        with strategy.scope():
            net = helpers.course_unet(COMPARE_FILTERS, use_batch_norm=use_batch_norm, bn_momentum=0.9)
            net.compile(optimizer=optimizer, loss=loss, metrics=[keras.metrics.BinaryIoU(
                target_class_ids=[0], threshold=0.5, name="iou_membrane")])
            net.optimizer.build(net.trainable_variables)  # one trace, not two: section 1
        start = time.perf_counter()
        history = net.fit(
            helpers.augmented_batches(x_train, y_train, patch_size=COMPARE_PATCH,
                                      batch_size=BATCH, seed=seed),
            steps_per_epoch=COMPARE_STEPS, epochs=COMPARE_EPOCHS,
            validation_data=val_crops, validation_batch_size=len(x_val), shuffle=False,
            verbose=0,
        )
        seconds = time.perf_counter() - start
        probabilities = predict_directly(net, x_val)
        finished_runs[key] = (net, history, {
            "val pixel error": helpers.pixel_error(y_val, probabilities),
            "val IoU membrane": helpers.iou_per_class(y_val, probabilities)["membrane"],
            "predicted membrane": float(np.mean(probabilities < 0.5)),
            "seconds": seconds,
        })
        reused = ""
    else:
        reused = " (these settings ran before: that run, not a new one)"
    net, history, result = finished_runs[key]
    result = {"run": label, **result}
    print(", ".join(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}"
                    for k, v in result.items()) + reused)
    return net, history, result

# %%
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
print(f"truth: membrane {np.mean(y_val < 0.5):.3f} of the validation pixels; "
      f"all-interior guess: pixel error {all_interior_val_error:.3f}")
learned = loss_table["val pixel error"] < all_interior_val_error
print("beat the all-interior guess:", ", ".join(learned.index[learned]) or "none")
assert learned.all(), loss_table  # with batch norm, every loss learns something here

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
# With batch norm, all four losses learn something in this budget: each beats
# the all-interior guess on validation (asserted above). Read the *predicted
# membrane* column against the truth, printed under the table. Now take
# away batch norm, as the original workshop's models had it
# (`use_batch_norm=False`; its further-topics notebook, cell 24, counting every
# cell from 0, markdown too), and race
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
all_interior_loss = float(helpers.soft_jaccard_loss(y_val, np.ones_like(y_val)).numpy().min())
print(f"soft Jaccard loss of 'all interior' on the validation images: {all_interior_loss:.3f}")
assert all_interior_loss > 0.5  # the membrane class alone costs half the loss
if not SYNTHETIC:  # on ISBI 2012, jaccard_distance without batch norm collapses
    collapsed = collapse_table.loc["jaccard_distance, no batch norm"]
    assert collapsed["predicted membrane"] < 0.01, collapse_table
    assert collapsed["val pixel error"] >= all_interior_val_error - 0.01, collapse_table
    assert collapse_table.loc["soft Jaccard per image, no batch norm",
                              "predicted membrane"] > 0.05, collapse_table

# %% [markdown]
# A run has **collapsed to "all interior"** when its *predicted membrane* is
# near 0% and its validation pixel error is the all-interior guess's: every
# pixel sits at p ≈ 1, where the sigmoid is flat, so the gradient of the
# L1-like loss that would pull the rare membrane pixels out of it is small. The
# per-image soft Jaccard cannot settle there: "all interior" scores an IoU of
# about 0 on the membrane class, so its loss stays above 0.5 (checked above).
# On ISBI 2012, `jaccard_distance` without batch norm collapses in this budget
# (the cell above asserts it when ISBI is loaded). On the synthetic stand-in it
# need not: read the table.
#
# **Exercise 2 (Dice against Jaccard).** `helpers.dice_loss` is 1 − soft Dice,
# and Dice = 2 IoU / (1 + IoU) for one class, a rising function of the IoU. Does
# the Dice loss therefore rank predictions as the soft Jaccard loss does? A
# strip of 8 pixels, 2 membrane and 6 interior: prediction A says "all
# interior" with certainty; B hedges, 0.4 on the membrane pixels and 0.6 on the
# interior. Which does each loss prefer (the lower loss)?

# %%
strip = np.array([0, 0, 1, 1, 1, 1, 1, 1], "float32").reshape(1, 1, 8, 1)
prediction_a = np.ones_like(strip)
prediction_b = np.where(strip == 1, 0.6, 0.4).astype("float32")
dice_prefers = None  # "A" or "B"
jaccard_prefers = None

# %%
def check_exercise_2(dice_answer, jaccard_answer):
    verdicts = []
    for name, loss, answer in (("Dice", helpers.dice_loss, dice_answer),
                               ("soft Jaccard", helpers.soft_jaccard_loss, jaccard_answer)):
        loss_a, loss_b = (float(keras.ops.convert_to_numpy(loss(strip, p))[0])
                          for p in (prediction_a, prediction_b))
        verdicts.append(helpers.check_answer(f"{name} prefers", answer, "A" if loss_a < loss_b else "B"))
    return all(verdict == "correct" for verdict in verdicts)


check_exercise_2(dice_prefers, jaccard_prefers);

# %% cellView="form" jupyter={"source_hidden": true}
# @title Solution 2
def scores_by_hand(truth, prediction, smooth=1.0):
    """Mean over the two classes of (IoU, Dice), smoothed as helpers.losses does."""
    ious, dices = [], []
    for t, p in ((truth, prediction), (1 - truth, 1 - prediction)):  # interior, membrane
        overlap, total = (t * p).sum(), t.sum() + p.sum()
        ious.append((overlap + smooth) / (total - overlap + smooth))
        dices.append((2 * overlap + smooth) / (total + smooth))
    return np.mean(ious), np.mean(dices)


(iou_a, dice_a), (iou_b, dice_b) = (scores_by_hand(strip, p) for p in (prediction_a, prediction_b))
print(f"A: IoU {iou_a:.3f}, Dice {dice_a:.3f};  B: IoU {iou_b:.3f}, Dice {dice_b:.3f}")
# Averaged over two classes (and smoothed), a rising function of each class's IoU
# need not keep the order of their mean: A has one class near 0 and one high,
# B two middling ones, and Dice's curve favours the middling pair.
assert check_exercise_2("A" if dice_a > dice_b else "B", "A" if iou_a > iou_b else "B")
assert (dice_a > dice_b) != (iou_a > iou_b)  # the two losses disagree here

# %% [markdown]
# **Section summary.** The loss decides what the network cares about.
# keras-unet's `jaccard_distance` is per pixel (≈ L1, checked above) and, on
# ISBI without batch norm, collapsed to "all interior"; the per-image soft
# Jaccard, or BCE + Jaccard, count the membrane class as much as the interior.
# Dice and soft Jaccard are close relatives, but they can rank two predictions
# differently (exercise 2).

# %% [markdown]
# # 3. Optimisers
#
# Same loss (BCE + Jaccard), same budget; Adam, SGD with momentum, and RMSprop.
# The workshop trained with Adam at its default learning rate of 10⁻³ and, for
# comparison, with SGD at a learning rate of 0.01 and momentum 0.99
# (further-topics notebook, cells 28 and 47, counting every cell from 0), both with keras-unet's
# `jaccard_distance`; here both use BCE + Jaccard, and we add RMSprop.
#
# **Discussion question.** On this data and in this budget, does Adam beat the
# workshop's SGD? Guess first, then run the cell and open the answer below it.

# %%
optimisers = {
    "Adam 1e-3": lambda: keras.optimizers.Adam(learning_rate=1e-3),
    "SGD 1e-2, momentum 0.99 (workshop)": lambda: keras.optimizers.SGD(learning_rate=1e-2,
                                                                      momentum=0.99),
    "RMSprop 1e-3": lambda: keras.optimizers.RMSprop(learning_rate=1e-3),
}
optimiser_runs = {name: train_compare(helpers.bce_jaccard_loss, make(), label=name)
                  for name, make in optimisers.items()}
optimiser_table = pd.DataFrame([run[2] for run in optimiser_runs.values()]).set_index("run")
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

# %% cellView="form" jupyter={"source_hidden": true}
# @title Answer: Adam against the workshop's SGD, measured
adam_error = optimiser_table.loc["Adam 1e-3", "val pixel error"]
sgd_error = optimiser_table.loc["SGD 1e-2, momentum 0.99 (workshop)", "val pixel error"]
winner = "Adam" if adam_error < sgd_error else "the workshop's SGD"
print(f"Validation pixel error: Adam {adam_error:.3f}, workshop SGD {sgd_error:.3f}; "
      f"all-interior guess {all_interior_val_error:.3f}. In this run, {winner} did better, "
      f"by {abs(adam_error - sgd_error):.3f}.")
# One run each, one seed: section 4 measures how much of such a gap is luck.

# %% [markdown]
# Adam (Kingma and Ba, 2015, ICLR, [arXiv:1412.6980](https://arxiv.org/abs/1412.6980))
# scales each weight's step by a running estimate of its gradient's size, so
# the size of its first steps hardly depends on the scale of the gradient
# (exercise 3 shows it), which makes it forgiving of the learning rate. Plain
# SGD steps in proportion to the gradient, so its learning rate needs tuning;
# well tuned, it can generalise as well as adaptive methods or better (Wilson
# et al., 2017, [arXiv:1705.08292](https://arxiv.org/abs/1705.08292)). Our
# advice: start with Adam at 10⁻³, the default that paper proposes.
#
# **Exercise 3 (Adam's first step).** With `Adam(learning_rate=1e-3)`, by how
# much does the first step change a weight whose gradient is 0.001, and one
# whose gradient is 1000? (Adam's step is
# `lr * m_hat / (sqrt(v_hat) + epsilon)`, with `m_hat` and `v_hat` the
# bias-corrected running means of the gradient and its square, and
# `epsilon = 1e-7` in Keras.)

# %%
adam_step_small_gradient = None  # the change of the weight, a positive number
adam_step_large_gradient = None

# %%
def check_exercise_3(small_answer, large_answer):
    """One real Keras Adam step on two weights."""
    weights = keras.Variable(np.zeros(2, "float32"))
    keras.optimizers.Adam(learning_rate=1e-3).apply_gradients(
        [(keras.ops.convert_to_tensor(np.array([1e-3, 1e3], "float32")), weights)])
    small, large = np.abs(keras.ops.convert_to_numpy(weights))
    return [helpers.check_answer("gradient 0.001", small_answer, small, rtol=0.01, atol=0),
            helpers.check_answer("gradient 1000", large_answer, large, rtol=0.01, atol=0)] == ["correct"] * 2


check_exercise_3(adam_step_small_gradient, adam_step_large_gradient);

# %% cellView="form" jupyter={"source_hidden": true}
# @title Solution 3
learning_rate, epsilon = 1e-3, 1e-7
# After one step the bias-corrected means are the gradient and its square.
steps = [learning_rate * g / (np.sqrt(g**2) + epsilon) for g in (1e-3, 1e3)]
print(f"Adam's first steps: {steps[0]:.6f} and {steps[1]:.6f}; "
      f"SGD's would be lr * g: {1e-3 * 1e-3:g} and {1e-3 * 1e3:g}")
assert check_exercise_3(*steps)

# %% [markdown]
# **Section summary.** Adam at 10⁻³ is a forgiving default; compare
# optimisers only with the spread between seeds in mind (next section).
#
# # 4. Restarts: how much is luck?
#
# A run can get stuck, and the starting weights and the order of the data are
# random. We train the same recipe with three seeds, look at the
# spread, and keep the best **by validation** (never by test).

# %%
restart_runs = {f"seed {seed}": train_compare(helpers.bce_jaccard_loss,
                                              keras.optimizers.Adam(1e-3), seed=seed,
                                              label=f"seed {seed}")
                for seed in (42, 7, 2024)}
restart_table = pd.DataFrame([run[2] for run in restart_runs.values()]).set_index("run")
print(restart_table.round(3).to_string())
spread = restart_table["val pixel error"].max() - restart_table["val pixel error"].min()
best_seed = restart_table["val pixel error"].idxmin()
workshop_sgd = train_compare(helpers.bce_jaccard_loss, keras.optimizers.SGD(
    learning_rate=1e-2, momentum=0.99), label="SGD 1e-2, momentum 0.99 (workshop)")[2]
optimiser_gap = abs(workshop_sgd["val pixel error"] - restart_table.loc["seed 42",
                                                                        "val pixel error"])
print(f"spread of validation pixel error across seeds: {spread:.3f}; keep: {best_seed}")
print(f"Adam against the workshop's SGD (section 3): a gap of {optimiser_gap:.3f}, "
      f"{'larger' if optimiser_gap > spread else 'no larger'} than the spread between seeds.")

# %% [markdown]
# Advice: if the spread between seeds is as large as a difference you measured
# in sections 2 and 3, that difference is not yet evidence (the line above
# compares them for Adam and the workshop's SGD). Restarts cost time, but they
# are cheap insurance against a stuck run.
#
# **Exercise 4 (which run to keep).** From the table above, which run do you
# keep (write its label, e.g. `"seed 7"`)? And which images decide: `"test"` or
# `"validation"`?

# %%
kept_run = None
decided_on = None

# %%
def check_exercise_4(run_answer, images_answer):
    errors = {label: helpers.pixel_error(y_val, predict_directly(net, x_val))
              for label, (net, _, _) in restart_runs.items()}  # measured afresh
    return [helpers.check_answer("kept run", run_answer, min(errors, key=errors.get)),
            helpers.check_answer("decided on", images_answer, "validation")] == ["correct"] * 2


check_exercise_4(kept_run, decided_on);

# %% cellView="form" jupyter={"source_hidden": true}
# @title Solution 4
# The lowest validation pixel error; the test images stay unseen until the very end,
# or they stop measuring how the model does on new images.
assert check_exercise_4(restart_table["val pixel error"].idxmin(), "validation")

# %% [markdown]
# **Section summary.** Luck matters: train a few seeds, keep the best by
# validation, and read any comparison against the spread between seeds.

# %% [markdown]
# # 5. Batch and tile size: memory and step time
#
# Memory for training grows with batch × tile area: every layer's output is
# kept for the backward pass. We add up the sizes of the layers' outputs,
# doubled for their gradients, as a rough estimate; on a GPU we also read the
# real peak.

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


# %%
keras.utils.set_random_seed(5)  # this section's own seed
with strategy.scope():
    probe_net = helpers.course_unet(FILTERS)
    probe_net.compile(optimizer=keras.optimizers.Adam(1e-3), loss=helpers.bce_jaccard_loss)
memory_rows = []
for batch, tile in ((4, 128), (8, 128), (16, 128), (4, 256)) if QUICK else \
        ((8, 128), (32, 128), (8, 256), (32, 256), (8, 512)):
    seconds, peak = step_time(probe_net, batch, tile)
    memory_rows.append({"batch": batch, "tile": tile, "ms per step": 1000 * seconds,
                        "pixels per second (M)": batch * tile * tile / seconds / 1e6,
                        "activation memory estimate (MB)":
                            activation_megabytes(probe_net, batch, tile),
                        "GPU peak (MB)": peak})
memory_table = pd.DataFrame(memory_rows)
print(memory_table.round(1).to_string(index=False))
# The layers' outputs scale with the tile's area: twice the side, four times the memory.
assert np.isclose(activation_megabytes(probe_net, 1, 256),
                  4 * activation_megabytes(probe_net, 1, 128), rtol=1e-6)

# %% [markdown]
# **On an out-of-memory error** (`ResourceExhaustedError`, "OOM when allocating
# tensor"), our advice: halve the batch size first, then the tile size (keep it
# a multiple of 2⁴ = 16 for four pooling levels), or the filters. After an OOM
# on a GPU, restarting the runtime frees all its memory. For prediction, lower
# `predict_tiled`'s `batch_size`: it changes nothing in the result (checked
# here on one image).

# %%
by_4, by_16 = (helpers.predict_tiled(probe_net, x_test[0], tile_size=TILE, overlap=TILE // 4,
                                     batch_size=size) for size in (4, 16))
print("largest difference between batch sizes 4 and 16:", float(np.abs(by_4 - by_16).max()))
assert np.allclose(by_4, by_16, atol=1e-5)

# %% [markdown]
# **Exercise 5 (memory).** From the row for batch 8 and tile 128 in the table,
# predict the activation memory estimate for batch 16 and tile 256, in MB.

# %%
megabytes_batch_16_tile_256 = None

# %%
def check_exercise_5(answer):
    return helpers.check_answer("batch 16, tile 256", answer, activation_megabytes(probe_net, 16, 256),
                      rtol=0.01, atol=0) == "correct"


check_exercise_5(megabytes_batch_16_tile_256);

# %% cellView="form" jupyter={"source_hidden": true}
# @title Solution 5
row = memory_table.set_index(["batch", "tile"]).loc[(8, 128)]
# twice the batch, four times the area
assert check_exercise_5(row["activation memory estimate (MB)"] * 2 * 4)

# %% [markdown]
# **Section summary.** Memory grows with batch × tile area; after an OOM, halve
# the batch first. The *pixels per second* column shows which shapes this
# machine runs best.

# %% [markdown]
# # 6. Checkpoint and resume
#
# Colab can disconnect a session that sits idle or runs long. Its
# [FAQ](https://research.google.com/colaboratory/faq.html) ("How long can
# notebooks run in Colab?") says that runtimes have a maximum lifetime, that
# notebooks disconnect when left idle for too long, and that both limits vary
# over time and with your usage. Two
# callbacks make a long training safe:
# [`BackupAndRestore`](https://keras.io/api/callbacks/backup_and_restore/)
# saves the whole training state every epoch, so that calling `fit` again
# *resumes* where it stopped, and a best-only checkpoint keeps the best model
# so far. For the checkpoint the course uses `helpers.atomic_checkpoint`, which
# does what Keras's `ModelCheckpoint(save_best_only=True)` does, with two
# differences. Keras's own rewrites the `.keras` file in place, so a runtime that dies while it
# saves leaves no loadable model, not even the last good one (the course's
# tests kill a training mid-save to check both). `atomic_checkpoint` writes
# each save to a new file and then renames it over the old one; and if the
# folder stops taking files (Drive gone), it goes on saving to the runtime's
# local disk, where Keras's own stops the training with an error. Both write to
# `course.checkpoint_dir`, on Drive when it is mounted. We simulate a
# disconnect at the end of epoch 2.

# %%
import shutil

backup_dir = course.checkpoint_dir / "resume_demo_backup"
resume_checkpoint = course.checkpoint_dir / "resume_demo_best.keras"


class Disconnect(keras.callbacks.Callback):
    def __init__(self, after_epoch):
        super().__init__()
        self.after_epoch = after_epoch  # 1-based, as Keras prints epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.after_epoch:
            raise RuntimeError(f"simulated disconnect after epoch {self.after_epoch}")


def resumable_fit(extra_callbacks):
    keras.utils.set_random_seed(1)  # this section's own seed
    with strategy.scope():
        net = helpers.course_unet(COMPARE_FILTERS)
        net.compile(optimizer=keras.optimizers.Adam(1e-3), loss=helpers.bce_jaccard_loss)
        net.optimizer.build(net.trainable_variables)  # one trace, not two: section 1
    epochs_run = []
    net.fit(
        helpers.augmented_batches(x_train, y_train, patch_size=128, batch_size=BATCH, seed=1),
        steps_per_epoch=5, epochs=4, shuffle=False, verbose=0,
        validation_data=(x_val[:, 128:384, 128:384], y_val[:, 128:384, 128:384]),
        callbacks=[
            keras.callbacks.BackupAndRestore(backup_dir),
            helpers.atomic_checkpoint(resume_checkpoint, save_best_only=True),
            keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs_run.append(e + 1)),
            *extra_callbacks,
        ],
    )
    return epochs_run


# %%
def first_epoch_after_disconnect(after_epoch):
    shutil.rmtree(backup_dir, ignore_errors=True)  # no backup left from an earlier run
    try:
        resumable_fit([Disconnect(after_epoch)])
    except RuntimeError as error:
        print("first run stopped:", error)
    epochs_run = resumable_fit([])
    print("second run trained epochs", epochs_run)
    return epochs_run[0]


assert first_epoch_after_disconnect(2) == 3  # resumed, not restarted
assert resume_checkpoint.exists(), resume_checkpoint
print("best checkpoint saved:", resume_checkpoint.name)

# %% [markdown]
# **Exercise 6 (resume).** The four-epoch training above is cut after epoch 3
# instead. Which epoch does the second call of `fit` train first?

# %%
first_epoch_resumed = None

# %%
def check_exercise_6(answer):
    if answer is None:  # the experiment takes a few seconds: run it only for an answer
        return helpers.check_answer("first epoch after resuming", None, 0) == "correct"
    return helpers.check_answer("first epoch after resuming", answer,
                      first_epoch_after_disconnect(3)) == "correct"


check_exercise_6(first_epoch_resumed);

# %% cellView="form" jupyter={"source_hidden": true}
# @title Solution 6
# BackupAndRestore saved the state at the end of epoch 3; the second fit goes on from there.
assert check_exercise_6(3 + 1)

# %% [markdown]
# ## Using the model outside the course
#
# A `.keras` file reloads in Keras, given the course's losses as
# `custom_objects`. Elsewhere, other formats serve better:
#
# - a TensorFlow **SavedModel**, written by
#   [`model.export()`](https://keras.io/api/models/model_saving_apis/export/),
#   reloads with TensorFlow alone (`tf.saved_model.load`), with no Keras code
#   and no custom objects; TensorFlow Serving and the TFLite converter read it;
# - an **ONNX** file, converted from the SavedModel by
#   [tf2onnx](https://github.com/onnx/tensorflow-onnx), runs in
#   [ONNX Runtime](https://onnxruntime.ai/) without TensorFlow, from Python,
#   C++, C# or Java. It is optional: `pip install tf2onnx onnxruntime` adds it
#   (the course's local install has it; Colab has not, by
#   [its package list](https://github.com/googlecolab/backend-info/blob/main/pip-freeze.gpu.txt)).
#
# `helpers.export_round_trip` writes each format, reloads it, and compares its
# predictions on the same test tiles with the model in memory. The tolerance
# is 10⁻⁵ in probability: a reloaded graph may add float32 numbers in another
# order, which changes the last digits and nothing else.

# %%
export_folder = course.output_dir / "export"
export_table = helpers.export_round_trip(model, x_test[:, :TILE, :TILE], folder=export_folder,
                                         name="unet_tiles", atol=1e-5)
print(export_table[["format", "max_abs_difference", "same"]].to_string(index=False))
if "onnx" not in export_table["format"].tolist():
    print("ONNX: tf2onnx and onnxruntime are not installed here (optional, see above)")
assert export_table["same"].all(), export_table

# %% [markdown]
# The SavedModel in use, with TensorFlow alone: it takes a batch of images of
# any size that 16 divides (four poolings), here a whole 512×512 test image,
# and returns the probability of interior.

# %%
served = tf.saved_model.load(str(export_folder / "unet_tiles_savedmodel"))
served_probability = served.serve(tf.constant(x_test[:1])).numpy()
print("input", x_test[:1].shape, "-> output", served_probability.shape)
assert served_probability.shape == x_test[:1].shape
assert np.allclose(served_probability, predict_directly(model, x_test[:1]), atol=1e-5)

# %% [markdown]
# In ONNX Runtime the same takes three lines (where it is installed):
#
# ```python
# import onnxruntime
# session = onnxruntime.InferenceSession("unet_tiles.onnx")
# probability = session.run(None, {session.get_inputs()[0].name: images})[0]
# ```
#
# `images` is a float32 array (N, H, W, 1) scaled to [0, 1], as in training.
# Whatever runs the model must prepare its input the same way: that is part of
# the model too.

# %% [markdown]
# **Section summary.** On Colab, train with `BackupAndRestore` and a best-only
# checkpoint that is saved atomically (`helpers.atomic_checkpoint`), both
# writing to Drive: after a disconnect, run `fit` again and it resumes. To use the model elsewhere, export it (a SavedModel, or ONNX) and
# check that the reload predicts what the model in memory does.

# %% [markdown]
# # 7. Evaluation in depth
#
# The ISBI 2012 challenge ranks entries by measures that count *cells*, not
# pixels (Arganda-Carreras et al., 2015, "Crowdsourcing the creation of image
# segmentation algorithms for connectomics", *Frontiers in Neuroanatomy* 9:142,
# [doi:10.3389/fnana.2015.00142](https://doi.org/10.3389/fnana.2015.00142)):
# tracing neurons, a one-pixel gap in a membrane merges two of them. The
# challenge scores a map of P(interior) at the thresholds 0, 0.1, ..., 1, with
# the code of Fiji's [Trainable Segmentation](https://github.com/fiji/Trainable_Segmentation),
# and reports each measure at its best threshold
# ([evaluation page](http://brainiac2.mit.edu/isbi_challenge/evaluation)).
# `helpers.challenge` computes the same measures:
#
# - **V_rand (thinned)**, `helpers.v_rand`, by which today's leaderboard is
#   sorted: the F-score of Rand precision and recall over pairs of pixels inside
#   true cells (two pixels pair when they share a cell). Predicted borders are
#   first thinned to one pixel by a watershed, so how thick a border was drawn
#   matters little; 1 is perfect.
# - **V_info (thinned)**, `helpers.v_info`: the same idea with information
#   instead of pairs, 2 I(A; B) / (H(A) + H(B)) for true cells A and predicted
#   cells B; 1 is perfect.
# - The challenge's older scores, which the U-Net paper's table 1 reports:
#   **pixel error** = 1 − the best F-score of interior pixels
#   (`helpers.isbi_pixel_error`), and **Rand error** = 1 − the best
#   foreground-restricted Rand F-score without thinning (`helpers.isbi_rand_error`).
#   These are not the plain fraction of wrong pixels and the one-threshold Rand
#   error of notebook 01 (`helpers.pixel_error`, `helpers.rand_error`), and their
#   figures differ.
#
# "Best threshold" means best on the images being scored: the challenge picks
# the threshold on its test images. A course, like a lab, has to choose the
# threshold before it sees the test images, so we choose it on the
# **validation** images and report both.
#
# We evaluate the main model of section 1, predicted at full resolution with
# overlap-tile. First the threshold, from a sweep over the validation images: a
# pixel is interior when its probability is at least the threshold (above it,
# for the challenge's measures), so a higher threshold calls more pixels
# membrane (checked below).

# %%
val_probabilities = helpers.predict_tiled(model, x_val, tile_size=TILE, overlap=TILE // 4)
sweep = helpers.threshold_sweep(y_val, val_probabilities)
threshold = float(sweep.loc[sweep["v_rand"].idxmax(), "threshold"])
membrane_called = [float(np.mean(val_probabilities < cut)) for cut in sweep["threshold"]]
assert np.all(np.diff(membrane_called) >= 0)  # more membrane as the threshold rises
fig, ax = plt.subplots(figsize=(6, 3.8))
ax.plot(sweep["threshold"], sweep["pixel_error"], marker="o", label="pixel error")
ax.plot(sweep["threshold"], 1 - sweep["v_rand"], marker="s", label="1 − V_rand (thinned)")
ax.axvline(threshold, ls=":", c="grey")
ax.set_xlabel("threshold on the probability of interior")
ax.set_title(f"validation: best V_rand at {threshold:.2f}")
ax.legend()
plt.show()

# %% [markdown]
# Calling more pixels membrane can close gaps in membranes (fewer merged cells,
# a higher V_rand), at some cost in pixel error. Whether it pays on new images
# is a measurement: the test images, at 0.5 and at the threshold chosen on
# validation. The course's own measures first (`helpers.evaluate`; VI in bits),
# with V_rand and V_info at the same thresholds.

# %%
test_probabilities = helpers.predict_tiled(model, x_test, tile_size=TILE, overlap=TILE // 4)
test_thresholds = {"threshold 0.5": 0.5,
                   f"threshold {threshold:.2f} (from validation)": threshold}
evaluation_table = pd.DataFrame({name: helpers.evaluate(y_test, test_probabilities, threshold=cut)
                                 for name, cut in test_thresholds.items()})
print(evaluation_table.round(4).to_string())
at_half, at_chosen = evaluation_table.iloc[:, 0], evaluation_table.iloc[:, 1]
print(f"\nIn this run, on the test images, the chosen threshold moved V_rand from "
      f"{at_half['v_rand']:.4f} to {at_chosen['v_rand']:.4f} and the pixel error "
      f"from {at_half['pixel_error']:.4f} to {at_chosen['pixel_error']:.4f}.")
all_interior_error = helpers.pixel_error(y_test, np.ones_like(y_test))
test_scores = helpers.evaluate(y_test, test_probabilities)
print(f"test IoU: {test_scores['iou_membrane']:.4f} (membrane), "
      f"{test_scores['iou_interior']:.4f} (interior); all-interior guess's pixel error: "
      f"{all_interior_error:.4f}")
assert test_scores["pixel_error"] < 0.75 * all_interior_error, test_scores

# %% [markdown]
# **Scored as the challenge scores.** `helpers.isbi_scores` gives the four
# measures at each of the challenge's thresholds. Below: each at its best
# threshold on these test images, as the challenge reports it; each at the
# threshold chosen on validation, as we should report it; and the U-Net paper's
# table 1 in the same units (Ronneberger et al. 2015: "u-net", pixel error
# 0.0611, Rand error 0.0382; it gives no V_rand or V_info, which the challenge
# introduced later). The paper's figures are on the challenge's 30 test images,
# whose labels were never released, as the mean over 7 rotated versions of each
# input, with a 64-filter network; ours are on three held-out *training* images,
# from a small network trained as long as section 1 printed. Same units, different images and
# budgets: a comparison of scale, not a ranking.

# %%
challenge_sweep = helpers.isbi_scores(y_test, test_probabilities)
higher_is_better = {"v_rand": True, "v_info": True, "pixel_error": False, "rand_error": False}
challenge_rows = {}
for measure, higher in higher_is_better.items():
    column = challenge_sweep[measure]
    best_row = column.idxmax() if higher else column.idxmin()
    scorer = getattr(helpers, measure if higher else f"isbi_{measure}")
    challenge_rows[measure] = {
        "best over thresholds (on test, as the challenge)": column[best_row],
        "its threshold": challenge_sweep.loc[best_row, "threshold"],
        f"at {threshold:.2f} (from validation)": scorer(y_test, test_probabilities,
                                                        threshold=threshold),
    }
    # The table's maximum and the helper's own search agree.
    assert np.isclose(scorer(y_test, test_probabilities)[0], column[best_row])
challenge_table = pd.DataFrame(challenge_rows).T
challenge_table["U-Net paper, table 1"] = [np.nan, np.nan, 0.0611, 0.0382]
challenge_table.index = ["V_rand (thinned)", "V_info (thinned)", "pixel error (old)",
                         "Rand error (old)"]
print(challenge_table.round(4).to_string())

# %% [markdown]
# The old pixel error is 1 − an F-score of interior pixels, so it is not the
# fraction of wrong pixels of notebook 01; compare the two printed tables.
# Each test image has its own score, and a mean of three hides a bad one:

# %%
per_image = helpers.evaluate(y_test, test_probabilities, threshold=threshold, per_image=True)
per_image.index = [f"image {i}" for i in helpers.SPLIT["test"]]
print(per_image[["pixel_error", "rand_error", "v_rand", "v_info"]].round(4).to_string())
worst_image = int(np.argmin(per_image["v_rand"].to_numpy()))
print(f"lowest V_rand: {per_image.index[worst_image]}")
fig, axes = plt.subplots(1, 3, figsize=(15, 5))
for ax, index in zip(axes, range(3), strict=True):
    helpers.plot_error_map(x_test[index], y_test[index], test_probabilities[index], ax=ax,
                           threshold=threshold,
                           title=f"image {helpers.SPLIT['test'][index]}: "
                                 f"V_rand {per_image.iloc[index]['v_rand']:.3f}")
plt.show()
assert np.isclose(per_image["v_rand"].mean(), at_chosen["v_rand"])

# %% [markdown]
# **With their uncertainty.** Three test images are few. As in notebook 01,
# the bootstrap resamples the 48 test tiles of 128×128, 2000 times, and the
# middle 95% of the means is the 95% interval (`helpers.bootstrap_interval`).
# V_rand on tiles counts a cell cut by a tile's edge as two, so it is not the
# whole-image figure above; the pixel error is.

# %%
interval_rows = []
for name, cut in test_thresholds.items():
    for measure in ("pixel_error", "v_rand"):
        interval = helpers.bootstrap_interval(y_test, test_probabilities, metric=measure,
                                              tile_size=128, threshold=cut)
        interval_rows.append({"threshold": name, "measure": f"{measure} (128 tiles)",
                              "estimate": interval.estimate, "95% low": interval.low,
                              "95% high": interval.high})
interval_table = pd.DataFrame(interval_rows).set_index(["threshold", "measure"])
print(interval_table.round(4).to_string())
for name in evaluation_table.columns:
    assert np.isclose(interval_table.loc[(name, "pixel_error (128 tiles)"), "estimate"],
                      evaluation_table.loc["pixel_error", name])
assert (interval_table["95% low"] <= interval_table["estimate"]).all()
assert (interval_table["estimate"] <= interval_table["95% high"]).all()

# %% [markdown]
# **The worst tiles.** An average hides where a model fails.
# `helpers.worst_tiles` cuts the test images into 128×128 tiles and ranks them
# by V_rand (thinned, lowest first, at the threshold chosen on validation);
# `helpers.plot_worst_tiles` shows the worst four: orange where membrane was
# missed, blue where it was invented, colours that stay distinct for readers
# with red-green colour blindness (Okabe and Ito, 2008,
# [Color Universal Design](https://jfly.uni-koeln.de/color/)). Look for what
# they share: gaps in faint membranes, dark organelles taken for membrane.

# %%
all_tiles = helpers.worst_tiles(y_test, test_probabilities, tile_size=128, k=48,
                                threshold=threshold)
worst = all_tiles.head(4)
print(worst.assign(image=[helpers.SPLIT["test"][i] for i in worst["image"]])
      .round(4).to_string(index=False))
print(f"median V_rand over the {len(all_tiles)} tiles: {all_tiles['v_rand'].median():.4f}")
assert all_tiles["v_rand"].dropna().is_monotonic_increasing and len(all_tiles) == 48
fig = helpers.plot_worst_tiles(x_test, y_test, test_probabilities, tile_size=128, k=4,
                               threshold=threshold)
plt.show()

# %% [markdown]
# **Exercise 7 (which threshold for which measure?).** From the sweep above
# (`sweep`, a table), which threshold gives the lowest validation pixel error,
# and which the highest V_rand?

# %%
best_threshold_pixel = None
best_threshold_v_rand = None

# %%
def check_exercise_7(pixel_answer, v_rand_answer):
    thresholds = sweep["threshold"].to_numpy()
    pixel_errors = [helpers.pixel_error(y_val, val_probabilities, threshold=cut)
                    for cut in thresholds]  # computed afresh
    return [helpers.check_answer("pixel error", pixel_answer, thresholds[np.argmin(pixel_errors)]),
            helpers.check_answer("V_rand", v_rand_answer, threshold)] == ["correct"] * 2


check_exercise_7(best_threshold_pixel, best_threshold_v_rand);

# %% cellView="form" jupyter={"source_hidden": true}
# @title Solution 7
best = {"pixel_error": sweep.loc[sweep["pixel_error"].idxmin(), "threshold"],
        "v_rand": sweep.loc[sweep["v_rand"].idxmax(), "threshold"]}
print(f"pixel error lowest at {best['pixel_error']:.2f}, V_rand highest at {best['v_rand']:.2f}")
# V_rand counts merged cells, which a gap of a few pixels causes, so it can
# prefer a threshold that calls borderline pixels membrane.
assert check_exercise_7(best["pixel_error"], best["v_rand"])

# %% [markdown]
# **Section summary.** Measure as the field does: V_rand and V_info (thinned)
# as the challenge computes them, the old pixel and Rand errors to compare with
# the U-Net paper, and the plain pixel error as a sanity check. Choose
# thresholds on validation images, report the test images once, and say when a
# figure's threshold was picked on the images it scores.

# %% [markdown]
# # 8. The U-Net paper's own methods
#
# Besides the network, the U-Net paper (Ronneberger, Fischer and Brox, 2015,
# "U-Net: Convolutional Networks for Biomedical Image Segmentation", MICCAI,
# [arXiv:1505.04597](https://arxiv.org/abs/1505.04597)) trains with two
# methods of its own:
#
# - a **border weight map** (its equation 2) that makes the loss care most
#   about the thin membranes between two cells, aimed at cells that touch (its
#   section 3: "to force the network to learn the small separation borders");
# - **elastic deformation** (its section 3.1) as augmentation, aimed at having
#   few training images (section 3.1: elastic deformations "seem to be the key
#   concept to train a segmentation network with very few annotated images").
#
# ## Border weights
#
# Each pixel x of a training mask gets a weight in the loss:
#
# w(x) = w_c(x) + w0 · exp(−(d1(x) + d2(x))² / 2σ²)
#
# - **w_c** balances the classes: each class gets the same total weight, so
#   a membrane pixel (the rarer class) weighs more than an interior one;
# - **d1(x)** is the distance from x to the nearest cell, **d2(x)** the
#   distance to the second-nearest cell (a cell is a connected region of
#   interior). Between two cells that almost touch, both are small, and the
#   second term, up to w0, is large; far from any second cell it vanishes.
#
# The paper used w0 = 10 and σ ≈ 5 pixels; so does
# `helpers.border_weight_map`, which adds the border term on membrane pixels,
# where the paper's figure 3d shows it. By hand first: two one-pixel cells,
# four pixels apart, and no class weighting (w_c = 1). The pixel half-way
# between them has d1 = d2 = 2.

# %%
two_cells = np.array([[1, 0, 0, 0, 1]], "float32")  # cell, three membrane pixels, cell
toy_weights = helpers.border_weight_map(two_cells, class_weights=None)
by_hand = 1 + 10 * np.exp(-((2 + 2) ** 2) / (2 * 5**2))
print("weights:", toy_weights.round(3), f"; by hand, half-way: {by_hand:.3f}")
assert np.isclose(toy_weights[0, 2], by_hand) and toy_weights[0, 0] == 1  # cells: w_c only
assert toy_weights[0, 1] == toy_weights[0, 3] > 1  # d1 = 1, d2 = 3: the same sum

# %% [markdown]
# On the training images, how many membrane pixels get a bonus above 1, and
# the median bonus, are printed below; the bonus is largest in the narrow gaps
# between cells, where d1 + d2 is smallest (the map shows one image).

# %%
train_weights = helpers.border_weight_map(y_train)  # all 24 masks at once: w_c over all
membrane_weight, interior_weight = helpers.class_balance_weights(y_train)
print(f"w_c: membrane {membrane_weight:.2f}, interior {interior_weight:.2f}; "
      f"largest weight {train_weights.max():.2f}")
assert np.all(train_weights[y_train >= 0.5] == np.float32(interior_weight))  # no bonus inside
bonus = train_weights[y_train < 0.5] - np.float32(membrane_weight)
print(f"membrane pixels with a bonus above 1: {np.mean(bonus > 1):.0%}; "
      f"median bonus {np.median(bonus):.1f} (w0 = 10 at most)")
window = np.s_[0, 96:288, 96:288, 0]
fig, axes = plt.subplots(1, 3, figsize=(13, 4.4))
axes[0].imshow(x_train[window], cmap="gray")
axes[0].set_title("training image 0 (crop)")
axes[1].imshow(y_train[window], cmap="gray", vmin=0, vmax=1)
axes[1].set_title("mask (white = interior)")
shown = axes[2].imshow(train_weights[window], cmap="viridis")
axes[2].set_title("border weight map w(x)")
fig.colorbar(shown, ax=axes[2], fraction=0.046)
for ax in axes:
    ax.set_axis_off()
plt.show()

# %% [markdown]
# **How the weights reach the loss.** Keras's `fit` accepts a third item from
# the data, a per-pixel `sample_weight`, and multiplies each pixel's loss by
# it. Given `weights=train_weights`, `helpers.augmented_batches` cuts, flips
# and turns the weights with their masks and yields `(images, masks,
# weights)`. With the built-in binary cross-entropy, that is the paper's
# weighted loss (its equation 1, averaged over pixels). The masks keep their
# shape, so the model and its metrics stay as they were.

# %%
x_batch, y_batch, w_batch = next(helpers.augmented_batches(
    x_train, y_train, patch_size=PATCH, batch_size=BATCH, seed=0, weights=train_weights))
print("a weighted batch:", x_batch.shape, y_batch.shape, w_batch.shape)
assert w_batch.shape == y_batch.shape
assert np.all(w_batch[y_batch >= 0.5] == np.float32(interior_weight))  # cut with their masks

# %% [markdown]
# ## Elastic deformation
#
# The paper: "random displacement vectors on a coarse 3 by 3 grid", with a
# standard deviation of 10 pixels, interpolated smoothly over the image.
# Tissue bends and stretches like this, so the network learns shapes it has
# not seen. `augmented_batches(..., elastic=10)` does it. The paper does not
# say how it resampled images and masks; here (the course's choice) the image
# is interpolated smoothly and the mask by nearest neighbour, so the mask
# stays exactly binary (checked below).

# %%
plain_x, plain_y = next(helpers.augmented_batches(x_train, y_train, patch_size=256,
                                                  batch_size=1, seed=3, flips=False))
bent_x, bent_y = next(helpers.augmented_batches(x_train, y_train, patch_size=256,
                                                batch_size=1, seed=3, flips=False, elastic=10))
assert set(np.unique(bent_y)) <= {0.0, 1.0}  # still binary
fig, axes = plt.subplots(1, 4, figsize=(14, 3.8))
for ax, picture, title in zip(axes, (plain_x, plain_y, bent_x, bent_y),
                              ("crop", "its mask", "elastic, sigma 10", "its mask"), strict=True):
    ax.imshow(picture[0, ..., 0], cmap="gray", vmin=0, vmax=1)
    ax.set_title(title)
    ax.set_axis_off()
plt.show()

# %% [markdown]
# ## The same budget, three ways
#
# Three trainings of the main model's network, from the same initial weights
# and the same seed for the crops, for the same number of steps: plain BCE, BCE
# with border weights, and plain BCE on elastically deformed crops. Each
# chooses its threshold on the **validation** images (the highest V_rand, as
# in section 7), then is measured once on the test images. Besides the
# measures of section 7, the table counts cells: a **split** is a true cell
# that two predicted cells share, a **merge** a predicted cell that spans two
# true cells (`helpers.split_merge_counts`; overlaps under 10 pixels are
# ignored).

# %%
def train_paper_method(label, **batch_options):
    keras.utils.set_random_seed(course.seed)
    with strategy.scope():
        net = helpers.course_unet(FILTERS, bn_momentum=0.9)  # short runs: see section 2
        net.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
        net.optimizer.build(net.trainable_variables)  # one trace, not two: section 1
    start = time.perf_counter()
    net.fit(helpers.augmented_batches(x_train, y_train, patch_size=PATCH, batch_size=BATCH,
                                      seed=course.seed, **batch_options),
            steps_per_epoch=PAPER_STEPS // 4, epochs=4, shuffle=False, verbose=0)
    seconds = time.perf_counter() - start
    val_sweep = helpers.threshold_sweep(y_val, predict_directly(net, x_val))
    cut = float(val_sweep.loc[val_sweep["v_rand"].idxmax(), "threshold"])
    probabilities = predict_directly(net, x_test)
    scores = helpers.evaluate(y_test, probabilities, threshold=cut)
    cells = helpers.split_merge_counts(y_test, probabilities, threshold=cut)
    return {"method": label, "threshold (validation)": cut,
            "pixel error": scores["pixel_error"], "V_rand": scores["v_rand"],
            "V_info": scores["v_info"], "splits": cells["splits"],
            "merges": cells["merges"],
            "membrane at 0.5": float(np.mean(probabilities < 0.5)), "seconds": seconds}


paper_table = pd.DataFrame([
    train_paper_method("BCE"),
    train_paper_method("BCE + border weights", weights=train_weights),
    train_paper_method("BCE + elastic (sigma 10)", elastic=10.0),
]).set_index("method")
print(f"{PAPER_STEPS} steps each; true cells in the test images: "
      f"{helpers.split_merge_counts(y_test, y_test)['true_cells']}")
print(paper_table.round(4).to_string())
print(f"truth: membrane {np.mean(y_test < 0.5):.3f} of the test pixels")
all_interior_scores = helpers.evaluate(y_test, np.ones_like(y_test), threshold=0.5)
print(f"all-interior guess: V_rand {all_interior_scores['v_rand']:.3f}, "
      f"pixel error {all_interior_error:.3f}")
worse_pixels = paper_table.index[paper_table["pixel error"] > all_interior_error]
print("pixel error above the all-interior guess's at the threshold chosen for V_rand:",
      ", ".join(worse_pixels) or "none")
# Every method learned cells: its V_rand, the measure its threshold was chosen by, lies well
# above the all-interior guess's (0.3 is the margin asked for, not a result).
assert (paper_table["V_rand"] > all_interior_scores["v_rand"] + 0.3).all(), paper_table
assert (paper_table.loc["BCE + border weights", "membrane at 0.5"]
        > paper_table.loc["BCE", "membrane at 0.5"]), paper_table  # the weights favour membrane

# %% [markdown]
# Read the table as a measurement of this run, not a law. The border weights
# make membrane errors costlier, so at 0.5 the weighted network calls more
# pixels membrane (asserted above), and the threshold chosen on validation
# may move to make up for it (compare the threshold column). The paper
# designed the weights to keep touching cells apart, so look at V_rand and
# the cell counts as well as the pixel error. A threshold chosen for V_rand
# need not suit the pixel error: it may call more pixels membrane than are,
# and then the pixel error can even exceed the all-interior guess's (the line
# "pixel error above the all-interior guess's ...", under the table, names any
# method where it did). In quick mode these are
# `PAPER_STEPS` steps each (printed above the table) from one seed (section 4
# shows how far a restart alone moves a
# result), so no ranking here is firm. The README's "Measured once" table
# records one GPU run at full-mode settings, 2000 steps each, scored with the
# course's earlier Rand error (scikit-image's adapted Rand error, which counts
# predicted membrane as one region); it has not been scored again with V_rand.
#
# **Exercise 8 (border weights).** A row of 8 pixels: a one-pixel cell at
# each end (columns 0 and 7), membrane between, and no class weighting. What
# weight does `border_weight_map` give the membrane pixel in column 2? Give it
# to 3 decimals.

# %%
border_weight_answer = None

# %%
def check_exercise_8(answer):
    row = np.array([[1, 0, 0, 0, 0, 0, 0, 1]], "float32")  # cells at 0 and 7
    expected = float(helpers.border_weight_map(row, class_weights=None)[0, 2])
    return helpers.check_answer("weight 2 pixels from the left cell", answer, expected, rtol=1e-3, atol=0)


check_exercise_8(border_weight_answer);

# %% cellView="form" jupyter={"source_hidden": true}
# @title Solution 8
# Distances are counted from pixel to pixel: the left cell is at column 0, the right at
# column 7, so column 2 has d1 = 2 and d2 = 5.
solution_8 = 1 + 10 * np.exp(-((2 + 5) ** 2) / (2 * 5**2))
print(f"w = 1 + 10 exp(-(2 + 5)^2 / 50) = {solution_8:.3f}")
assert check_exercise_8(round(solution_8, 3)) == "correct"
assert check_exercise_8(round(1 + 10 * np.exp(-((2 + 4) ** 2) / 50), 3)) == "not yet"

# %% [markdown]
# **Section summary.** The U-Net paper weighs the loss by a border weight map
# (class balance plus a bonus between close cells) and augments with elastic
# deformation. Both are options here: `border_weight_map` with
# `augmented_batches(weights=...)`, and `augmented_batches(elastic=10)`.
# Choose thresholds on validation, and judge them by the cell counts and
# V_rand as well as the pixel error.

# %% [markdown]
# # 9. The classic baseline: a random-forest pixel classifier
#
# Before deep learning, and still today in Fiji's *Trainable Weka
# Segmentation* (Arganda-Carreras et al., 2017, *Bioinformatics* 33:2424,
# [doi:10.1093/bioinformatics/btx180](https://doi.org/10.1093/bioinformatics/btx180))
# and in ilastik (Berg et al., 2019, *Nature Methods* 16:1226,
# [doi:10.1038/s41592-019-0582-9](https://doi.org/10.1038/s41592-019-0582-9)),
# each pixel is described by filters at several scales (smoothed intensity,
# edges, texture), and a random forest learns which combinations mean
# membrane. The user paints a few **scribbles**, not full masks. We build the
# same thing with scikit-image and scikit-learn, train it on scribbles and on
# full labels, and compare it with the U-Net.

# %%
import warnings
from functools import partial

from skimage.feature import multiscale_basic_features
from skimage.morphology import disk, erosion, skeletonize
from sklearn.ensemble import RandomForestClassifier

features_of = partial(multiscale_basic_features, intensity=True, edges=True, texture=True,
                      sigma_min=1, sigma_max=8)
forest_images = range(0, 24, 4) if QUICK else range(24)  # a few sections suffice for a forest


def scribbles(mask, *, seed, windows=6, size=48):
    """Like a user's brush strokes: membrane centre-lines and cell cores in a few windows."""
    rng = np.random.default_rng(seed)
    label = np.full(mask.shape, -1)
    membrane_core = skeletonize(mask < 0.5)
    interior_core = erosion(mask >= 0.5, disk(6))
    for _ in range(windows):
        r, c = rng.integers(0, mask.shape[0] - size, 2)
        box = np.s_[r : r + size, c : c + size]
        label[box][membrane_core[box]] = 0
        label[box][interior_core[box] & (rng.random((size, size)) < 0.05)] = 1
    return label


features = np.stack([features_of(x_train[index, ..., 0]) for index in forest_images])
sparse_labels = np.stack([scribbles(y_train[index, ..., 0], seed=index)
                          for index in forest_images])
full_labels = np.stack([y_train[index, ..., 0].astype(int) for index in forest_images])
labelled = sparse_labels >= 0
sample = np.random.default_rng(8).random(full_labels.shape) < (0.03 if QUICK else 0.2)
print(f"scribbles label {labelled.mean():.2%} of pixels; full labels, sampled: {sample.mean():.0%}")
assert labelled.mean() < 0.01
test_features = np.stack([features_of(image[..., 0]) for image in x_test])

# %%
forest_rows = []
for name, where, target in (("random forest, scribbles", labelled, sparse_labels),
                            ("random forest, full labels", sample, full_labels)):
    forest = RandomForestClassifier(n_estimators=40, max_depth=16, n_jobs=-1, random_state=0)
    # Each of scikit-learn's worker threads swaps the process's warning filters, which is
    # not thread-safe (Python's warnings docs; scikit-learn issue #2755) and can leave
    # them changed; catch_warnings puts this kernel's own filters back afterwards.
    with warnings.catch_warnings():
        start = time.perf_counter()
        forest.fit(features[where], target[where])
        fit_seconds = time.perf_counter() - start
        flat = test_features.reshape(-1, test_features.shape[-1])
        forest_probability = forest.predict_proba(flat)[:, 1].reshape(y_test.shape)
    forest_rows.append({"method": name, "training pixels": int(where.sum()),
                        "fit seconds": fit_seconds,
                        **helpers.evaluate(y_test, forest_probability)})
unet_probabilities = helpers.predict_tiled(model, x_test, tile_size=TILE, overlap=TILE // 4)
forest_rows.append({"method": f"U-Net ({FILTERS} filters, overlap-tile)",
                    "training pixels": int(np.prod(y_train.shape)),
                    "fit seconds": main_seconds, **helpers.evaluate(y_test, unet_probabilities)})
forest_rows.append({"method": "all interior", "training pixels": 0, "fit seconds": 0.0,
                    **helpers.evaluate(y_test, np.ones_like(y_test))})
baseline_table = pd.DataFrame(forest_rows).set_index("method")
print(baseline_table[["training pixels", "fit seconds", "pixel_error", "iou_membrane",
                      "v_rand"]].round(4).to_string())
assert baseline_table.iloc[2]["pixel_error"] < baseline_table.iloc[3]["pixel_error"]
unet_row, forest_row = baseline_table.iloc[2], baseline_table.iloc[1]
print(f"U-Net minus forest (full labels): pixel error "
      f"{unet_row['pixel_error'] - forest_row['pixel_error']:+.4f}, V_rand "
      f"{unet_row['v_rand'] - forest_row['v_rand']:+.4f} (one run, one seed each)")

# %% [markdown]
# How far does each see? A pixel's features come from Gaussian filters up to
# σ = 8, which scikit-image cuts off at 4 σ; the U-Net's output at a pixel
# depends on the input within its field of view. Both measured below: for the
# forest, the pixels whose features change when one pixel lights up; for the
# U-Net, the pixels where the gradient of one output pixel is not zero.

# %%
def forest_window(size=129):
    impulse = np.zeros((size, size))
    impulse[size // 2, size // 2] = 1
    changed = np.abs(features_of(impulse) - features_of(np.zeros_like(impulse))).max(-1) > 1e-12
    return int(np.ptp(np.flatnonzero(changed.any(axis=1)))) + 1


def unet_field_of_view(net, size=512):
    image = tf.Variable(np.random.default_rng(0).random((1, size, size, 1), dtype=np.float32))
    with tf.GradientTape() as tape:
        centre = net(image, training=False)[0, size // 2, size // 2, 0]
    reached = np.abs(tape.gradient(centre, image).numpy()[0, ..., 0]).sum(axis=1) > 0
    return int(np.ptp(np.flatnonzero(reached))) + 1


window, field_of_view = forest_window(), unet_field_of_view(model)
print(f"forest: a window of {window} pixels; U-Net: a field of view of {field_of_view} pixels")
assert window < 100 and 150 < field_of_view < 250

# %% [markdown]
# The forest decides each pixel alone, from a window of a few dozen pixels
# and filters chosen by hand; the U-Net sees about 200 pixels and learns its
# own filters. Our advice: scribbles are quick to paint (here they label under
# 1% of the pixels, checked above), so a forest gives a quick first look; the
# line under the table gives how the U-Net and the forest differ in this run.
#
# **Exercise 9 (a bigger field of view).** A U-Net with 5 levels
# (`num_layers=5`; tiles must then be multiples of 2⁵ = 32). How wide is its
# field of view, in pixels? Each level has two 3 × 3 convolutions and a 2 × 2
# max pool on the way down, two 3 × 3 convolutions after a 2 × 2 transposed
# convolution on the way up, and two more at the bottom; a 3 × 3 convolution
# widens the view by 2 × the current step between pixels, a pool by 1 × the
# step, and then doubles the step. Within 10% counts as correct.

# %%
field_of_view_5_levels = None

# %%
def check_exercise_9(answer):
    if answer is None:
        return helpers.check_answer("5 levels", None, 0) == "correct"
    keras.utils.set_random_seed(8)  # random weights: any will do
    deeper = helpers.course_unet(4, num_layers=5)
    return helpers.check_answer("5 levels", answer, unet_field_of_view(deeper), rtol=0.1, atol=0) == "correct"


check_exercise_9(field_of_view_5_levels);

# %% cellView="form" jupyter={"source_hidden": true}
# @title Solution 9
def receptive_field(levels, kernel=3):
    size, step = 1, 1
    for _ in range(levels):  # down: two convolutions, then a max pool
        size += 2 * (kernel - 1) * step + step
        step *= 2
    size += 2 * (kernel - 1) * step  # the bottom
    for _ in range(levels):  # up: the transposed convolution adds nothing, two convolutions
        step //= 2
        size += 2 * (kernel - 1) * step
    return size


print("4 levels:", receptive_field(4), "pixels; 5 levels:", receptive_field(5), "pixels")
# The gradient reaches a little less than this bound: a max pool passes it to one
# pixel of each window. Extra context helps when a pixel's class depends on things
# far away: large organelles that look like membrane up close, or whole-cell shapes.
assert check_exercise_9(receptive_field(5))

# %% [markdown]
# **Section summary.** A random forest on multiscale filters, trained from a
# few scribbles, is a fast baseline; compare it with the U-Net on the same test
# images and measures.
#
# # 10. Multi-class segmentation
#
# With three or more classes, the network ends in K channels with a **softmax**
# (the K probabilities of each pixel sum to 1), the masks are **one-hot** (K
# channels, one of them 1), and the loss is **categorical** cross-entropy (our
# soft Jaccard works per channel too). We use the synthetic tissue from
# `helpers`: interior, membrane, and organelles that are dark like membrane
# (the mean intensities are printed below).

# %%
def cce_jaccard_loss(y_true, y_pred):
    """Categorical cross-entropy (mean over the image) + soft Jaccard over the K classes."""
    cce = keras.losses.categorical_crossentropy(y_true, y_pred)  # (batch, H, W)
    return keras.ops.mean(cce, axis=(1, 2)) + helpers.soft_jaccard_loss(y_true, y_pred)


n_tissue, tissue_size = (16, 256) if QUICK else (60, 512)
tissue_images, tissue_classes = helpers.synthetic_tissue(n_tissue, size=tissue_size, seed=3)
tissue_onehot = keras.utils.to_categorical(tissue_classes, num_classes=3).astype("float32")
assert np.all(tissue_onehot.sum(axis=-1) == 1)  # one-hot: one channel is 1
print("classes:", helpers.TISSUE_CLASSES, "fractions:",
      np.bincount(tissue_classes.ravel(), minlength=3) / tissue_classes.size)
class_brightness = [float(tissue_images[..., 0][tissue_classes == k].mean()) for k in range(3)]
print("mean intensity per class:", ", ".join(
    f"{name} {value:.3f}" for name, value in zip(helpers.TISSUE_CLASSES, class_brightness,
                                                 strict=True)))
assert max(class_brightness[1:]) < class_brightness[0]  # membrane and organelles darker
n_fit = n_tissue - 4

keras.utils.set_random_seed(5)  # this section's own seed
with strategy.scope():
    tissue_model = helpers.course_unet(COMPARE_FILTERS * 2, num_classes=3, output_activation="softmax",
                              bn_momentum=0.9)
    tissue_model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=cce_jaccard_loss)
    tissue_model.optimizer.build(tissue_model.trainable_variables)  # one trace: section 1
tissue_model.fit(
    helpers.augmented_batches(tissue_images[:n_fit], tissue_onehot[:n_fit], patch_size=128,
                              batch_size=BATCH, seed=5),
    steps_per_epoch=COMPARE_STEPS, epochs=COMPARE_EPOCHS, shuffle=False, verbose=0,
)
tissue_probabilities = tissue_model.predict(tissue_images[n_fit:], batch_size=2, verbose=0)
assert np.allclose(tissue_probabilities.sum(axis=-1), 1, atol=1e-4)  # softmax
tissue_iou = helpers.iou_per_class(tissue_onehot[n_fit:], tissue_probabilities, num_classes=3,
                                   class_names=helpers.TISSUE_CLASSES)
print("IoU per class on held-out synthetic images:",
      {name: round(value, 3) for name, value in tissue_iou.items()})

# %%
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
# **Exercise 10 (from probabilities to labels).** Turn `tissue_probabilities`
# into one class per pixel (the most probable), and compute the fraction of
# held-out pixels whose class is right (`tissue_classes[n_fit:]` is the truth).

# %%
tissue_accuracy = None

# %%
def check_exercise_10(answer):
    from sklearn.metrics import confusion_matrix

    counts = confusion_matrix(tissue_classes[n_fit:].ravel(),
                              tissue_probabilities.argmax(-1).ravel(), labels=[0, 1, 2])
    return helpers.check_answer("accuracy", answer, np.trace(counts) / counts.sum(), rtol=1e-6, atol=0) == "correct"


check_exercise_10(tissue_accuracy);

# %% cellView="form" jupyter={"source_hidden": true}
# @title Solution 10
labels = tissue_probabilities.argmax(axis=-1)  # the channel with the highest probability
assert check_exercise_10(np.mean(labels == tissue_classes[n_fit:]))

# %% [markdown]
# **Section summary.** More classes: softmax output, one-hot masks, a
# categorical loss, IoU per class, and the arg-max for a label map.

# %% [markdown]
# # 11. Hardware
#
# What did this run's hardware give?

# %%
print(f"hardware: {course.runtime.accelerator}", *course.runtime.devices)
print(f"main model: {main_steps_per_second:.2f} training steps/s "
      f"({BATCH} x {PATCH}^2 crops, {FILTERS} filters) = "
      f"{main_steps_per_second * BATCH * PATCH * PATCH / 1e6:.1f} M pixels/s")

# %% [markdown]
# **GPU versus CPU.** A U-Net's work is its convolutions, which a GPU runs in
# parallel. How large the gain is we know only by measuring the same code on
# both: this notebook prints steps/s and pixels/s for whatever it runs on. Run
# it once on a Colab GPU runtime and once on a CPU runtime (Runtime > Change
# runtime type) and compare the line above. We have not measured a Colab T4
# for this course; as an expectation only, NVIDIA gives a T4's peak as 8.1
# TFLOP/s in float32 and 65 TFLOP/s in mixed precision
# ([T4 datasheet](https://www.nvidia.com/en-us/data-center/tesla-t4/)); set
# that against the pixels per second measured here. Full mode is meant for
# GPUs.
#
# **Mixed precision.** On a GPU,
# `keras.mixed_precision.set_global_policy("mixed_float16")` makes layers
# compute in float16 and keep their weights in float32 (exercise 11). NVIDIA
# GPUs run float16 faster than float32; a CPU runs it slower (TensorFlow's
# [mixed-precision guide](https://www.tensorflow.org/guide/mixed_precision),
# which also covers bfloat16 for TPUs and recent Intel CPUs). The course's
# `make bench` measures float32 and mixed-precision step times side by side
# when TensorFlow sees a GPU (on a CPU it skips mixed precision).
#
# **TPU runtimes.** Colab's TPU runtimes ship without TensorFlow
# ([Colab's package list](https://github.com/googlecolab/backend-info/blob/main/pip-freeze.tpu.txt)), and our
# advice is not to install it there; `helpers.distribution_strategy()` would
# use a TPU that TensorFlow can reach, and the notebooks build their models
# inside its scope, but for this course choose a GPU.
#
# **Exercise 11 (mixed precision).** Under the `"mixed_float16"` policy, in
# which dtype does a layer compute, and in which does it keep its weights?
# (Answer with dtype names, e.g. `"float64"`.)

# %%
compute_dtype = None
weight_dtype = None

# %%
def check_exercise_11(compute_answer, weight_answer):
    layer = keras.layers.Dense(2, dtype="mixed_float16")  # the policy for this layer only
    layer.build((None, 3))  # creates the weights; no float16 sums on this CPU
    return [helpers.check_answer("computes in", compute_answer, layer.compute_dtype),
            helpers.check_answer("keeps weights in", weight_answer, layer.kernel.dtype)] == ["correct"] * 2


check_exercise_11(compute_dtype, weight_dtype);

# %% cellView="form" jupyter={"source_hidden": true}
# @title Solution 11
# float16 halves the memory traffic and runs on tensor cores; the weights stay
# float32, so that small updates are not rounded away.
assert check_exercise_11("float16", "float32")

# %% [markdown]
# # Summary
#
# - Train on tiles, predict with **overlapping**, blended tiles: pasting
#   non-overlapping tiles erred more near the tile borders in this run, and
#   blending removed most of that excess.
# - The loss decides what the network cares about. keras-unet's
#   `jaccard_distance` is per pixel (≈ L1) and, on ISBI without batch norm,
#   collapsed to "all interior"; per-image soft Jaccard, or BCE + Jaccard, give
#   the membrane its due.
# - Our advice: Adam at 10⁻³ as a default; compare options only with the
#   spread between seeds in mind, and keep the best restart by validation.
# - Memory grows with batch × tile area; halve the batch first after an OOM.
# - `BackupAndRestore` and an atomic best-only checkpoint on Drive survive a disconnect;
#   export to a SavedModel (or ONNX) to use the model elsewhere, and check the
#   reload.
# - Measure as the field does: V_rand and V_info (thinned) as the ISBI
#   challenge computes them, beside the plain pixel error; choose thresholds on
#   validation data, give test figures with their bootstrap intervals, and
#   compare with a classic baseline.
# - The U-Net paper's border weights and elastic deformation are options of
#   `augmented_batches`; judge them by cells split and merged, not pixels alone.
# - More classes: softmax, one-hot masks, categorical loss, IoU per class.


# %% [markdown]
# The key figures of this run, gathered in one place (`make run` prints them
# at the end, too).

# %%
summary = {
    "mode": course.mode,
    "data": "synthetic stand-in" if SYNTHETIC else "ISBI 2012",
    "main model training (s)": round(main_seconds),
    "test pixel error (fraction wrong at 0.5)": test_scores["pixel_error"],
    "test Rand error (scikit-image adapted, at 0.5)": test_scores["rand_error"],
    "test V_rand (thinned), threshold 0.5": test_scores["v_rand"],
    "test membrane IoU": test_scores["iou_membrane"],
    "all-interior guess, fraction wrong": all_interior_error,
}
pd.Series(summary, name="this run").to_frame()
