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
# # Image segmentation with U-Net in Keras: introduction
#
# From nothing to a trained U-Net that finds cell membranes in electron
# microscopy, measured on images it has never seen.
#
# <a href="https://colab.research.google.com/github/unet-course/unet-segmentation-course/blob/main/notebooks/01_introduction.ipynb" target="_parent"><img src="https://colab.research.google.com/assets/colab-badge.svg" alt="Open In Colab"/></a>

# %% [markdown]
# # Setup
#
# This cell works everywhere. On Google Colab it installs the two things Colab
# lacks: `keras-unet` and this course's small `helpers` package. The course
# comes from the first of these that exists: the `COURSE_SOURCE` field (a
# folder, wheel or URL), the `unet-course` folder on your Google Drive (the cell
# asks to mount Drive), a course wheel you uploaded to the runtime, or GitHub.
# It never reinstalls TensorFlow, which Colab already has, and if an install
# fails it stops and says what it tried. On a TPU runtime, which has no
# TensorFlow, it stops and tells you to choose a GPU. On your own machine,
# `make run` or `make test` has installed everything in `.venv`.

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

# %% [markdown]
# `helpers.setup()` is the first call of every notebook, before `import keras`:
# it starts TensorFlow quietly and turns on GPU memory growth, which must happen
# before TensorFlow starts its devices. It then prints where you run and on what
# (with advice if you have no GPU), seeds the random generators so that a rerun
# gives the same numbers, chooses the training budget, and on Colab mounts
# Google Drive so that your results survive the runtime.
#
# The budget is the `MODE` switch: `auto` means `full` on a GPU and `quick` on a
# CPU. Quick mode trains for about two minutes on a laptop; the lesson is the
# same, the result a little worse. The environment variable `UNET_COURSE_MODE`
# (`quick` or `full`), when set, overrides `MODE`: that is how headless runs and
# tests choose.

# %%
MODE = "auto"  # @param ["auto", "quick", "full"]

import helpers

course = helpers.setup(mode=MODE, seed=42)
QUICK = course.quick

import time

import keras
import matplotlib.pyplot as plt
import numpy as np

assert keras.__version__.startswith("3."), "This course needs Keras 3 (TensorFlow >= 2.16)."

# %% [markdown]
# # 1. Concepts on real numbers
#
# A U-Net is built from four operations. We run each one on small arrays you
# can check by hand, then on a real EM image.
#
# ## 1.1 A 3×3 convolution is a pattern detector
#
# A convolution slides a small grid of weights (the *kernel*) over the image and
# at each position outputs the sum of weights × pixels. A kernel that is
# positive in its middle row and negative above and below responds to a
# horizontal line darker than its surroundings: a membrane. A U-Net *learns* its
# kernels; here we set one by hand.

# %%
kernel = np.array([[1, 1, 1], [-2, -2, -2], [1, 1, 1]], dtype="float32")  # dark horizontal line
patch = np.array(
    [[9, 9, 9, 9, 9], [9, 9, 9, 9, 9], [1, 1, 1, 1, 1], [9, 9, 9, 9, 9], [9, 9, 9, 9, 9]],
    dtype="float32",
)
conv = keras.layers.Conv2D(1, 3, padding="valid", use_bias=False)
conv.build((None, 5, 5, 1))
conv.set_weights([kernel.reshape(3, 3, 1, 1)])
response = conv(patch.reshape(1, 5, 5, 1)).numpy()[0, :, :, 0]
print("patch (a dark line in row 2):\n", patch)
print("response (3x3: only positions centred on the line fire):\n", response)
# By hand, centre (2, 2): 3 * (9 + 9) - 2 * 3 * 1 = 48; one row up: 3 * 1 - 2 * 27 + 27 = -24.
assert response[1, 1] == 48 and response[0, 1] == -24

# %% [markdown]
# ## 1.2 Max pooling: keep the strongest answer in each 2×2 block
#
# Pooling halves the height and width, so the next convolution sees a region
# twice as large. Stride 2 means the 2×2 windows do not overlap.

# %%
x4 = np.array([[1, 3, 2, 0], [4, 2, 1, 1], [0, 1, 5, 6], [2, 2, 7, 8]], dtype="float32")
pooled = keras.layers.MaxPooling2D(pool_size=2, strides=2)(x4.reshape(1, 4, 4, 1)).numpy()
print(x4, "\n->\n", pooled[0, :, :, 0])
assert (pooled[0, :, :, 0] == [[4, 2], [2, 8]]).all()

# %% [markdown]
# ## 1.3 'valid' and 'same' padding
#
# With `padding="valid"` the kernel stays inside the image, so every 3×3
# convolution trims one pixel from each side (size − 2). With `padding="same"`
# the border is padded with zeros, so the size is kept. The original U-Net used
# 'valid'; keras-unet's `custom_unet` uses 'same', so its output is the size of
# its input.

# %%
for padding in ("valid", "same"):
    layer = keras.layers.Conv2D(1, 3, padding=padding)
    print(f"{padding:>5}: 572x572 ->", layer.compute_output_shape((1, 572, 572, 1))[1:3])

# %% [markdown]
# ## 1.4 The transposed convolution ("up-convolution") is a matrix product
#
# A 3×3 'valid' convolution maps a 4×4 image (16 numbers) to 2×2 (4 numbers).
# It is linear, so it is a 4×16 matrix **C**. The *transposed* convolution
# multiplies by **Cᵀ** (16×4): it maps 4 numbers back to 16, spreading each
# input over a 3×3 footprint. That is how the U-Net's decoder grows its maps.
# We build **C** by hand and check Keras's `Conv2DTranspose` against **Cᵀ**.

# %%
rng = np.random.default_rng(0)
k3 = rng.integers(-2, 3, size=(3, 3)).astype("float32")
C = np.zeros((4, 16), dtype="float32")
for out_row in range(2):
    for out_col in range(2):
        window = np.zeros((4, 4), dtype="float32")
        window[out_row : out_row + 3, out_col : out_col + 3] = k3
        C[out_row * 2 + out_col] = window.ravel()

image4 = rng.integers(0, 5, size=(4, 4)).astype("float32")
forward = keras.layers.Conv2D(1, 3, padding="valid", use_bias=False)
forward.build((None, 4, 4, 1))
forward.set_weights([k3.reshape(3, 3, 1, 1)])
np.testing.assert_allclose(forward(image4.reshape(1, 4, 4, 1)).numpy().ravel(), C @ image4.ravel())

small = rng.integers(0, 5, size=(2, 2)).astype("float32")
transpose = keras.layers.Conv2DTranspose(1, 3, padding="valid", use_bias=False)
transpose.build((None, 2, 2, 1))
transpose.set_weights([k3.reshape(3, 3, 1, 1)])
keras_up = transpose(small.reshape(1, 2, 2, 1)).numpy().reshape(4, 4)
matrix_up = (C.T @ small.ravel()).reshape(4, 4)
print("C has shape", C.shape, "; Conv2DTranspose(2x2) =\n", keras_up)
np.testing.assert_allclose(keras_up, matrix_up)
print("Conv2DTranspose equals multiplication by C transposed.")

# %% [markdown]
# ## 1.5 Spatial dropout drops whole feature maps
#
# Ordinary dropout zeroes single numbers; neighbouring pixels are so alike that
# the network barely notices. `SpatialDropout2D` zeroes whole channels (feature
# maps) at random during training and scales the rest up, so no single feature
# map can be relied on. At prediction time it does nothing.

# %%
feature_maps = np.ones((1, 4, 4, 8), dtype="float32")
dropped = keras.layers.SpatialDropout2D(0.5, seed=1)(feature_maps, training=True).numpy()
print("value of each of 8 channels (constant over the map):", dropped[0, 0, 0])
assert all(len(np.unique(dropped[0, :, :, c])) == 1 for c in range(8))  # whole maps

# %% [markdown]
# Now on a real image: the membrane detector of 1.1, applied to an EM section.

# %%
try:
    data = helpers.load_isbi2012()
    images, masks, challenge_images = data
    SYNTHETIC = False
except (ConnectionError, FileNotFoundError, ValueError) as error:
    print(f"ISBI 2012 is not available here ({error}).")
    print("Using the synthetic look-alike instead: the lesson is the same, the numbers differ.")
    images, masks = helpers.synthetic_membranes(30, size=512, seed=0)
    challenge_images, _ = helpers.synthetic_membranes(30, size=512, seed=1)
    SYNTHETIC = True

detector = keras.layers.Conv2D(2, 3, padding="same", use_bias=False)
detector.build((None, None, None, 1))
detector.set_weights([np.stack([kernel, kernel.T], axis=-1).reshape(3, 3, 1, 2)])
responses = detector(images[:1]).numpy()[0]
fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
axes[0].imshow(images[0, :200, :200, 0], cmap="gray")
axes[0].set_title("EM image (crop)")
axes[1].imshow(responses[:200, :200, 0], cmap="magma")
axes[1].set_title("horizontal dark-line detector")
axes[2].imshow(responses[:200, :200, 1], cmap="magma")
axes[2].set_title("vertical dark-line detector")
for ax in axes:
    ax.set_axis_off()
plt.show()

# %% [markdown]
# # 2. Data
#
# ISBI 2012: 30 serial-section TEM images of a *Drosophila* larva's nerve cord,
# 512×512, each with a label image drawn by experts. `load_isbi2012` finds the
# data (your `UNET_COURSE_DATA` folder, the course's `datasets/`, or a download
# whose every file is checked against its sha256), pairs images with labels **by
# the number in the file name** (a glob sorts `10.png` before `2.png`, which
# silently mismatches pairs), and checks that the masks are binary.

# %%
print("images:", images.shape, images.dtype, "range", (images.min(), images.max()))
print("masks: ", masks.shape, masks.dtype, "values", np.unique(masks))
print("challenge images (no labels):", challenge_images.shape)
interior_fraction = float(masks.mean())
print(f"interior: {interior_fraction:.1%} of pixels, membrane: {1 - interior_fraction:.1%}")
fig = helpers.plot_samples(images, masks, n=2, titles=[0, 1])
plt.show()

# %% [markdown]
# **The labels.** White (1) is cell interior, black (0) is membrane. About 78%
# of the pixels are interior, so the classes are imbalanced: a "network" that
# answers *interior* everywhere is already right on 78% of the pixels. That
# all-interior guess is the bar every model below must clear by a wide margin.
#
# **The split.** We fix it once, by index: 24 images to train on, 3 to choose
# settings and checkpoints (validation), and 3 that we look at only at the end
# (test). The sections are consecutive slices of one stack, so the test slices
# are the last three.

# %%
parts = helpers.split_dataset(images, masks)
x_train, y_train = parts["train"]
x_val, y_val = parts["validation"]
x_test, y_test = parts["test"]
all_interior_error = helpers.pixel_error(y_test, np.ones_like(y_test))
print({name: len(x) for name, (x, _) in parts.items()}, helpers.SPLIT["test"])
print(f"pixel error of the all-interior guess on the test split: {all_interior_error:.3f}")

# %% [markdown]
# # 3. Augmentation
#
# 24 images are few. Augmentation shows the network each image in many
# plausible variants (turned, flipped, shifted), so it learns membranes rather
# than memorising pixels. keras-unet has a helper for it, `get_augmented`,
# which wraps Keras's `ImageDataGenerator`. Let us use it as the original
# workshop did, and look closely at what it returns.

# %%
from keras_unet.utils import get_augmented

workshop_args = dict(
    rotation_range=15.0, width_shift_range=0.05, height_shift_range=0.05, shear_range=50,
    zoom_range=0.2, horizontal_flip=True, vertical_flip=True, fill_mode="constant",
)
train_gen = get_augmented(x_train, y_train, batch_size=8, data_gen_args=workshop_args)
x_aug, y_aug = next(train_gen)
fig = helpers.plot_samples(x_aug, y_aug, n=2)
plt.show()

# %% [markdown]
# It looks right. Now the traps.
#
# **Trap 1: the masks are no longer binary.** Turning, shearing and zooming
# interpolate between pixels, so the edges of each membrane get values between 0
# and 1: labels that are neither class.

# %%
not_binary = float(np.mean((y_aug > 0) & (y_aug < 1)))
print("distinct mask values:", len(np.unique(y_aug)), "; not 0 or 1:", f"{not_binary:.1%}")

# %% [markdown]
# **Trap 2: `fill_mode="constant"` paints membrane.** Where a turned image
# leaves its frame, the generator fills with 0. In the mask, 0 *means membrane*;
# in the image, black looks like membrane too. The network is taught that the
# corners of a turned image are membrane.

# %%
filled = float(np.mean(x_aug == 0))
print(f"pixels filled with 0 in this batch: {filled:.1%} (each labelled as membrane)")

# %% [markdown]
# **Trap 3: Keras 3 rejects what it returns.** `get_augmented` returns a `zip`
# of two generators. Keras 2 accepted that in `fit`; Keras 3, on today's Colab,
# does not, so the original workshop's `model.fit(train_gen, ...)` fails.

# %%
print("get_augmented returns:", type(train_gen).__name__)
tiny = keras.Sequential([keras.Input((None, None, 1)), keras.layers.Conv2D(1, 1)])
tiny.compile(loss="mse")
try:
    tiny.fit(train_gen, steps_per_epoch=1, epochs=1, verbose=0)
    print("This Keras accepted the zip.")
except ValueError as error:
    print("model.fit(zip) fails:", str(error).splitlines()[0][:120])

# %% [markdown]
# **The fixes**, one per trap: binarise the masks again after augmenting (at 0.5;
# `helpers.binarize_masks`), fill by reflecting the image instead of with zeros,
# and hand Keras a real generator.

# %%
fixed_args = dict(workshop_args, fill_mode="reflect")


def fixed_generator(images, masks, batch_size):
    for x, y in get_augmented(images, masks, batch_size=batch_size, data_gen_args=fixed_args):
        yield x, helpers.binarize_masks(y)


x_fix, y_fix = next(fixed_generator(x_train, y_train, 8))
print("mask values after the fix:", np.unique(y_fix), "; zero-filled pixels:", np.mean(x_fix == 0))

# %% [markdown]
# **A faster way that never interpolates.** Membranes have no preferred
# direction, so flips and quarter turns (the 8 symmetries of a square) are
# perfect augmentations, and they move pixels without blending them. Random
# 128×128 crops add variety and are cheap to train on; a U-Net is fully
# convolutional, so it can later predict whole 512×512 images. A little
# brightness and contrast jitter touches the images only. That is
# `helpers.augmented_batches`. Compare the speed:

# %%
def samples_per_second(generator, batches=5):
    next(generator)
    start = time.perf_counter()
    count = sum(len(next(generator)[0]) for _ in range(batches))
    return count / (time.perf_counter() - start)


ours = helpers.augmented_batches(x_train, y_train, patch_size=128, batch_size=16, seed=0)
x_ours, y_ours = next(ours)
for name, generator, side in (
    ("get_augmented, fixed", fixed_generator(x_train, y_train, 16), 512),
    ("augmented_batches", ours, 128),
):
    rate = samples_per_second(generator)
    # Samples differ in size (512 vs 128 pixels a side), so compare pixels per second too.
    print(f"{name:>21}: {rate:7.0f} samples/s of {side}x{side} = "
          f"{rate * side * side / 1e6:6.1f} Mpixels/s")
print("mask values from augmented_batches:", np.unique(y_ours))
fig = helpers.plot_samples(x_ours, y_ours, n=3)
plt.show()

# %% [markdown]
# # 4. The model
#
# keras-unet's `custom_unet` builds a U-Net from a few choices:
#
# | parameter | what it sets | our choice |
# | --- | --- | --- |
# | `input_shape` | (height, width, channels); `None` for any size | `(None, None, 1)`: train on crops, predict whole images |
# | `filters` | feature maps in the first block, doubled at each level down | 16 (quick) or 32 (full); the paper used 64 |
# | `num_layers` | levels in the encoder (each halves the size) | 4, so sizes must be multiples of 16 |
# | `dropout`, `dropout_type` | spatial dropout after the first convolution of each encoder block | 0.1, spatial |
# | `use_batch_norm` | normalises each layer's output over the batch: faster, steadier training | `True` |
# | `output_activation` | sigmoid: one probability per pixel (two classes); softmax for several classes | `"sigmoid"` |
#
# Encoder: two 3×3 convolutions, then 2×2 max pooling, four times. Decoder: a
# 2×2 transposed convolution doubles the size, the encoder's map of the same
# size is concatenated (the *skip connection*, which brings back the fine
# detail that pooling lost), then two 3×3 convolutions. A final 1×1 convolution
# gives one probability per pixel.
#
# `distribution_strategy()` picks Keras's engine for your hardware (several GPUs,
# TPU, or one device); building inside its scope means nothing changes when you
# move to bigger hardware.

# %%
from keras_unet.models import custom_unet, vanilla_unet

FILTERS = 16 if QUICK else 32
strategy = helpers.distribution_strategy()
with strategy.scope():
    model = custom_unet(
        input_shape=(None, None, 1),
        filters=FILTERS,
        num_layers=4,
        dropout=0.1,
        dropout_type="spatial",
        use_batch_norm=True,
        output_activation="sigmoid",
    )
    # keras-unet declares its one input as a list, so Keras 3 warns at every call with a
    # plain array. The same layers, with the input declared as we pass it:
    model = keras.Model(model.inputs[0], model.outputs[0])
model.summary(line_length=100, expand_nested=False, show_trainable=False)

# %%
# The model's own layers, drawn for a 128x128 crop: sizes halve on the way down,
# double on the way up, and each skip joins two blocks of the same size.
fig = helpers.plot_unet(model, input_size=128)
plt.show()

# %% [markdown]
# **The original U-Net's 572 → 388.** `vanilla_unet` follows the paper: 'valid'
# convolutions, 64 filters. Each 3×3 'valid' convolution trims 2 pixels, and
# pooling halves, so a 572×572 tile shrinks to a 388×388 output: the network
# predicts only the centre, where it saw full context. The arithmetic:

# %%
size = 572
for _ in range(4):  # encoder: two convolutions, then pooling
    size = (size - 4) // 2
size -= 4  # bottom: two convolutions
for _ in range(4):  # decoder: up-convolution doubles, two convolutions trim 4
    size = size * 2 - 4
paper_model = vanilla_unet(input_shape=(572, 572, 1))
print("by hand:", size, "| vanilla_unet output:", paper_model.output_shape[1:3],
      f"| {paper_model.count_params() / 1e6:.0f} M parameters")
assert size == paper_model.output_shape[1] == 388
del paper_model

# %% [markdown]
# # 5. Training
#
# **Loss.** The membrane is the rare class, and it is the one that matters. The
# *soft Jaccard* loss scores each image by its intersection over union (IoU),
# computed with probabilities so that it has a gradient, for each class, and
# averages: missing half the membrane costs as much as missing half the
# interior, however few pixels the membrane has. (keras-unet's own
# `jaccard_distance` is *not* this: it works pixel by pixel; notebook 02 shows
# the difference.)
#
# **Optimiser.** Adam, learning rate 10⁻³.
#
# **Metrics.** IoU of the membrane class, and the mean IoU of both classes, at
# a threshold of 0.5.
#
# **Callbacks.** The best model by validation loss is saved as a `.keras` file,
# and every epoch's numbers go to a CSV log, in the outputs folder (on Drive
# when it is mounted).

# %%
PATCH, BATCH = (128, 8) if QUICK else (256, 8)
EPOCHS, STEPS_PER_EPOCH = (8, 50) if QUICK else (60, 100)

with strategy.scope():
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss=helpers.soft_jaccard_loss,
        metrics=[
            keras.metrics.BinaryIoU(target_class_ids=[0], threshold=0.5, name="iou_membrane"),
            keras.metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.5, name="mean_iou"),
        ],
    )

checkpoint_path = course.checkpoint_dir / "unet_intro_best.keras"
callbacks = [  # Keras's ModelCheckpoint and CSVLogger, made safe for Colab (see their docstrings)
    helpers.atomic_checkpoint(checkpoint_path, monitor="val_loss", save_best_only=True),
    helpers.training_log(course.output_dir / "unet_intro_log.csv"),
]
train_batches = helpers.augmented_batches(x_train, y_train, patch_size=PATCH,
                                          batch_size=BATCH, seed=course.seed)
print(f"{EPOCHS} epochs x {STEPS_PER_EPOCH} steps, batches of {BATCH} crops of {PATCH}x{PATCH}")
start = time.perf_counter()
history = model.fit(
    train_batches,
    steps_per_epoch=STEPS_PER_EPOCH,
    epochs=EPOCHS,
    validation_data=(x_val, y_val),
    validation_batch_size=1,
    callbacks=callbacks,
    shuffle=False,  # a generator cannot be shuffled; ours draws random crops anyway
    verbose=2,
)
train_seconds = time.perf_counter() - start
print(f"training took {train_seconds:.0f} s ({EPOCHS * STEPS_PER_EPOCH / train_seconds:.1f} steps/s)")

# %% [markdown]
# **Learning curves.** Training and validation curves differ, and that is
# expected: the training numbers are averaged over the epoch on augmented
# 128-pixel crops, with dropout on and batch norm using batch statistics; the
# validation numbers are measured at the end of the epoch on three whole images,
# with dropout off. A validation loss that rises while the training loss falls
# would be overfitting; that is what the best-only checkpoint guards against.

# %%
fig = helpers.plot_history(history)
plt.show()

# %% [markdown]
# # 6. Evaluation on the held-out test split
#
# We load the best checkpoint (by validation loss) and predict the three test
# images, which played no part in training or in choosing the checkpoint. The
# network outputs a **probability** of interior for each pixel; a **threshold**
# (0.5) turns it into a mask.

# %%
model = keras.models.load_model(checkpoint_path, custom_objects=helpers.custom_objects())
probabilities = model.predict(x_test, batch_size=1, verbose=0)
fig = helpers.plot_samples(x_test, y_test, probabilities, n=3, titles=helpers.SPLIT["test"])
plt.show()

# %% [markdown]
# The measures:
#
# - **pixel error**: the fraction of pixels on the wrong side; the all-interior
#   guess scores about 0.2 on these three images (0.22 over all 30);
# - **IoU** and **Dice** per class: overlap of predicted and true region (IoU =
#   intersection / union; Dice = 2 × intersection / sum of sizes);
# - **Rand error**: treats the interior as separate cells and asks how often two
#   pixels are put in the same cell, or in different ones, wrongly. A one-pixel
#   gap in a membrane merges two cells: small in pixel error, large in Rand error.

# %%
results = helpers.evaluate(y_test, probabilities)
print(f"pixel error: {results['pixel_error']:.4f}")
print(f"IoU: {results['iou_membrane']:.4f} (membrane), {results['iou_interior']:.4f} (interior)")
print(f"Dice: {results['dice_membrane']:.4f} (membrane), {results['dice_interior']:.4f} (interior)")
print(f"Rand error: {results['rand_error']:.4f}")
print(f"(all-interior guess: pixel error {all_interior_error:.4f})")
# Learning happened: clearly better than the all-interior guess.
assert results["pixel_error"] < 0.75 * all_interior_error, results

# %% [markdown]
# Where are the errors? Red: membrane the network missed. Blue: membrane it
# invented. Most errors sit at the edges of membranes (a pixel either way), and
# in dark organelles that look like membrane.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 5.5))
for ax, index in zip(axes, range(2), strict=True):
    helpers.plot_error_map(x_test[index], y_test[index], probabilities[index], ax=ax)
plt.show()

# %% [markdown]
# # 7. Use the model
#
# Predict the 30 unlabelled challenge images, and save each mask as a PNG
# (255 = interior, 0 = membrane, as in the training labels).

# %%
from skimage.io import imsave

prediction_dir = course.output_dir / "challenge_predictions"
prediction_dir.mkdir(parents=True, exist_ok=True)
challenge_probabilities = model.predict(challenge_images, batch_size=2, verbose=0)
for index, probability in enumerate(challenge_probabilities):
    mask = np.where(probability[..., 0] >= 0.5, 255, 0).astype(np.uint8)
    imsave(prediction_dir / f"{index}.png", mask, check_contrast=False)
print(f"saved {len(challenge_probabilities)} masks to {prediction_dir}")
fig = helpers.plot_samples(challenge_images, np.round(challenge_probabilities), n=2)
plt.show()

# %% [markdown]
# Save the model in Keras 3's `.keras` format, and load it back. The file holds
# the architecture, the weights and the optimiser state; our loss is our own
# function, so loading needs `custom_objects`.

# %%
model_path = course.output_dir / "unet_intro.keras"
model.save(model_path)
reloaded = keras.models.load_model(model_path, custom_objects=helpers.custom_objects())
np.testing.assert_allclose(reloaded.predict(x_test[:1], verbose=0),
                           model.predict(x_test[:1], verbose=0), atol=1e-5)
print(f"saved {model_path.name} ({model_path.stat().st_size / 1e6:.1f} MB); "
      "the reloaded model predicts the same")

# %% [markdown]
# # Summary
#
# - Convolutions detect local patterns; pooling widens what the next layer
#   sees; transposed convolutions (multiplication by **Cᵀ**) grow maps back; skip
#   connections restore detail. That is a U-Net.
# - Pair images and masks by index, split once (train / validation / test), and
#   keep masks binary through augmentation. keras-unet's `get_augmented`
#   interpolates masks, fills with "membrane", and returns a `zip` that Keras 3
#   rejects.
# - Flips, quarter turns and random crops are exact, fast augmentations for
#   membranes.
# - A soft Jaccard loss per image gives the rare membrane class its due.
# - Measure on held-out images, against the all-interior baseline, with more
#   than one measure: pixel error and IoU count pixels, Rand error counts
#   merged and split cells.
#
# Notebook 02 trains at full resolution with overlapping tiles, compares
# losses and optimisers, and evaluates as the ISBI challenge did.
#
# # Exercises
#
# Each solution is in a hidden cell below the exercise (click to show it).
#
# **1. Padding arithmetic.** What output size does `vanilla_unet` give for a
# 508×508 input? Work it out by hand, then check.

# %% cellView="form" jupyter={"source_hidden": true}
# @title Solution 1
def vanilla_output_size(size, levels=4):
    for _ in range(levels):
        size = (size - 4) // 2
    size -= 4
    for _ in range(levels):
        size = size * 2 - 4
    return size


print("508 ->", vanilla_output_size(508))
assert vanilla_output_size(508) == 324  # self-check: (508 - 572) + 388

# %% [markdown]
# **2. Choose the threshold.** 0.5 is a convention, not a law. Use
# `helpers.threshold_sweep` to find the threshold with the lowest pixel error
# *on the validation images*. Why not on the test images?

# %% cellView="form" jupyter={"source_hidden": true}
# @title Solution 2
sweep = helpers.threshold_sweep(y_val, model.predict(x_val, batch_size=1, verbose=0), rand=False)
best = sweep.loc[sweep["pixel_error"].idxmin()]
print(sweep.round(4).to_string(index=False))
print(f"best threshold on validation: {best['threshold']:.2f}")
# Choosing it on the test images would make the test score optimistic: the test
# split must play no part in any choice.
assert sweep["pixel_error"].min() <= helpers.pixel_error(
    y_val, model.predict(x_val, batch_size=1, verbose=0)) + 1e-9

# %% [markdown]
# **3. An augmentation of your own.** Write a generator that wraps
# `helpers.augmented_batches` and adds Gaussian noise (σ = 0.03) to the images
# only. Check that the masks stay binary and the images stay in [0, 1].

# %% cellView="form" jupyter={"source_hidden": true}
# @title Solution 3
def noisy_batches(images, masks, sigma=0.03, seed=0):
    noise_rng = np.random.default_rng(seed)
    for x, y in helpers.augmented_batches(images, masks, patch_size=128, batch_size=8, seed=seed):
        yield np.clip(x + noise_rng.normal(0, sigma, x.shape), 0, 1).astype("float32"), y


x_noisy, y_noisy = next(noisy_batches(x_train, y_train))
assert set(np.unique(y_noisy)) <= {0.0, 1.0} and 0 <= x_noisy.min() and x_noisy.max() <= 1
print("masks binary, images in [0, 1]")

# %% [markdown]
# **4. Two Jaccards.** Compute keras-unet's `jaccard_distance` and
# `helpers.soft_jaccard_loss` for an "all interior" prediction on a training
# crop. Which one punishes it more, relative to a perfect prediction? What does
# the shape of `jaccard_distance`'s output tell you?

# %% cellView="form" jupyter={"source_hidden": true}
# @title Solution 4
from keras_unet.losses import jaccard_distance

y_crop = y_train[:1, :128, :128]
all_interior = np.ones_like(y_crop)
for name, loss in (("jaccard_distance", jaccard_distance),
                   ("soft_jaccard_loss", helpers.soft_jaccard_loss)):
    value = keras.ops.convert_to_numpy(loss(y_crop, all_interior))
    print(f"{name:>18}: output shape {value.shape}, mean loss {value.mean():.3f}")
# jaccard_distance returns one value per pixel (shape 1x128x128): it never sees
# the image as a whole, and a membrane pixel predicted as interior costs no more
# than the reverse. soft_jaccard_loss returns one value per image, and the
# all-interior guess scores badly on the membrane class's IoU (0), so it pays
# for ignoring the rare class.
assert keras.ops.convert_to_numpy(helpers.soft_jaccard_loss(y_crop, all_interior)).shape == (1,)

# %% [markdown]
# **5. Spend more.** Set `UNET_COURSE_MODE=full` (or run on a Colab GPU) and
# rerun. How much do pixel error and Rand error improve? Then try `filters=64`
# as in the paper. Is it worth the time?

# %% cellView="form" jupyter={"source_hidden": true}
# @title Solution 5
# Full mode trains 15 times as many steps on 256-pixel crops with 32 filters;
# on a GPU that takes minutes, and the course aims there for a test pixel error
# of 0.07 or less (the U-Net paper reached 0.0611 on the challenge's own test
# set). 64 filters quadruple the work per step; at this data size, longer
# training and more augmentation usually help more than width.
print(f"mode: {course.mode}; this run: test pixel error {results['pixel_error']:.4f}, "
      f"Rand error {results['rand_error']:.4f}")
