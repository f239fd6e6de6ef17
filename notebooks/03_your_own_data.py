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
# # Image segmentation with U-Net in Keras: your own images
#
# Take the course home: from a folder of your own microscopy images and masks to
# label images, probability maps and measurements that open in Fiji and napari.
#
# <a href="https://colab.research.google.com/github/unet-course/unet-segmentation-course/blob/main/notebooks/03_your_own_data.ipynb" target="_parent"><img src="https://colab.research.google.com/assets/colab-badge.svg" alt="Open In Colab"/></a>

# %% [markdown]
# # Setup
#
# As in notebooks 01 and 02: on Colab the first cell installs keras-unet and the
# course's `helpers` (never TensorFlow), and `helpers.setup()` starts TensorFlow
# quietly, reports the hardware, seeds, chooses the budget (`MODE`, which
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
budget = course.budget["03_your_own_data"]  # this mode's filters, crops and steps

import time

import keras
import matplotlib.pyplot as plt
import numpy as np

assert keras.__version__.startswith("3."), "This course needs Keras 3 (TensorFlow >= 2.16)."

# %% [markdown]
# **Your folders.** Leave the fields empty to use the demonstration data:
# 100 fluorescence images of nuclei from the 2018 Data Science Bowl, in its own
# layout (one mask file per nucleus), or, when they cannot be had, a synthetic
# look-alike (the cell below says which). For your own data, give:
#
# - `IMAGE_DIR`: a folder of images (TIFF, PNG or JPEG; 8, 16 or 32 bits; grey
#   or RGB; any size). On Colab, a Drive folder starts with `/content/drive/MyDrive/`.
# - `MASK_DIR`: a folder of masks with the same names (`cell7.tif` pairs with
#   `cell7.tif`, `cell7_mask.png` or `cell7_labels.tif`): 0/1, 0/255, or a label
#   image with one integer per nucleus. It may be `IMAGE_DIR` itself.
# - `PREDICT_DIR`: new images to segment at the end; empty: the test images.
# - `OUTPUT_DIR`: where results go; empty: the course's outputs folder (on Drive
#   when mounted).
# - `PIXEL_SIZE_UM`: microns per pixel, written into the TIFFs; 0 if unknown.

# %% cellView="form"
# @title Your folders
IMAGE_DIR = ""  # @param {type:"string"}
MASK_DIR = ""  # @param {type:"string"}
PREDICT_DIR = ""  # @param {type:"string"}
OUTPUT_DIR = ""  # @param {type:"string"}
PIXEL_SIZE_UM = 0.0  # @param {type:"number"}
CHANNELS = "grey"  # @param ["grey", "rgb"]

from pathlib import Path

output_dir = Path(OUTPUT_DIR).expanduser() if OUTPUT_DIR.strip() else course.output_dir / "own_data"
output_dir.mkdir(parents=True, exist_ok=True)
if IMAGE_DIR.strip():
    image_dir, mask_dir, SYNTHETIC = Path(IMAGE_DIR).expanduser(), MASK_DIR.strip() or None, False
    DEMONSTRATION = False
else:
    image_dir, mask_dir, SYNTHETIC = helpers.demonstration_folder(output_dir)
    DEMONSTRATION = True
pixel_size = PIXEL_SIZE_UM if PIXEL_SIZE_UM > 0 else None
print(f"images: {image_dir}\nmasks: {mask_dir or 'in the same folders (the Bowl layout)'}"
      f"\nresults: {output_dir}\npixel size: {pixel_size or 'unknown'}")

# %% [markdown]
# # 1. Your folders, checked before anything else
#
# `helpers.check_folder` reads every file first and prints one table: each
# image's size, dtype and value range, how its mask was read, and its number of
# objects. Any problem stops it with a list of every problem, each with its file
# and its fix: unpaired names, an image and a mask of different sizes, a mask
# that is neither binary nor labels, an RGB mask, a 3-D stack where one image was
# expected, a file that is not an image. Nothing has been trained or written
# then. `helpers.load_folder` runs the same check and returns the arrays: images
# as float32 with their stored values (a 16-bit image stays 0 to 65,535), masks
# as label images, 0 = background and one integer per nucleus. A binary mask is
# split into objects by connected components, so nuclei that touch in a binary
# mask are one object there: if you can, save label images.

# %%
data = helpers.load_folder(image_dir, mask_dir, channels=CHANNELS)
images, labels, names = data.images, data.masks, data.names
if labels is None:
    raise ValueError(f"{image_dir}: no masks were found, and training needs them. Fix: set "
                     "MASK_DIR to the folder of masks (or use the Bowl layout).")
CHANNELS_IN = images[0].shape[-1]
sizes = data.table.groupby(["height", "width"]).size().sort_values(ascending=False)
print("sizes (height x width: images):",
      ", ".join(f"{h}x{w}: {n}" for (h, w), n in sizes.items()))
if DEMONSTRATION and not SYNTHETIC:  # what datasets/README.md says of this folder
    assert len(images) == 100 and sum(int(m.max()) for m in labels) == 4638
    assert len(sizes) == 7

# %% [markdown]
# Three of them, with each nucleus outlined in its own colour (`find_boundaries`
# of the label image). Look at the dense fields: nuclei touch.

# %%
from skimage.color import label2rgb
from skimage.segmentation import find_boundaries


def show_objects(ax, image, objects, title):
    """The image, contrast-stretched, with each object's outline in a colour of its own."""
    grey = helpers.percentile_normalize(image[..., 0])
    outlines = np.where(find_boundaries(objects, mode="inner"), objects, 0)
    ax.imshow(label2rgb(outlines, image=grey, bg_label=0, alpha=1.0, image_alpha=1.0))
    ax.set_title(title, fontsize=9)
    ax.axis("off")


dense = sorted(range(len(images)), key=lambda k: -labels[k].max())[:3]
fig, axes = plt.subplots(1, 3, figsize=(12, 4))
for ax, k in zip(axes, dense, strict=True):
    show_objects(ax, images[k], labels[k], f"{names[k][:12]}: {labels[k].max()} objects")
plt.show()

# %% [markdown]
# # 2. One normalisation, everywhere
#
# Images from different microscopes and settings come on different scales: 8-bit
# 0 to 255, 16-bit 0 to 65,535, dim and bright fields. A network trained on one
# scale and used on another fails quietly. The course uses one normalisation,
# by percentiles, with the percentiles of StarDist's training example
# ([`normalize(x, 1, 99.8)`](https://github.com/stardist/stardist/blob/main/examples/2D/2_training.ipynb),
# csbdeep's function): each image's 1st percentile becomes 0 and its 99.8th
# becomes 1, and the course clips beyond them, so a few saturated pixels do not
# set the scale. It is one object, `norm`, used by training, validation,
# prediction and the exported model, and saved with the model (section 8).

# %%
norm = helpers.Normalization(low=1.0, high=99.8)
normalized = [norm(image) for image in images]
stored = np.array([[image.min(), image.max()] for image in images])
print(f"stored values: minimum {stored[:, 0].min():g} to {stored[:, 0].max():g}, "
      f"maximum {stored[:, 1].min():g} to {stored[:, 1].max():g}")
print(f"normalised with {norm}: every image in "
      f"[{min(x.min() for x in normalized):g}, {max(x.max() for x in normalized):g}]")
assert all(0 <= x.min() and x.max() <= 1 for x in normalized)

# %% [markdown]
# # 3. Touching nuclei need a third class
#
# Trained on "nucleus against background", a network learns to paint nuclei.
# Where two touch, the paint runs together, and connected components turn them
# into one object: one miss and one false detection, however few pixels are
# wrong. So the network learns three classes instead (`helpers.training_targets`):
# background, interior, and a boundary ring two pixels wide inside each nucleus,
# along the background and along every neighbour. Between two touching nuclei
# lie two rings, and their interiors stay apart. (Peeling the ring can also cut
# a thin or waisted nucleus into two interiors, so there can be more interiors
# than nuclei.) How many of the nuclei here would be lost to merging by the
# two-class targets?

# %%
BOUNDARY_WIDTH = 2
targets_3 = [helpers.training_targets(objects, classes=3, boundary_width=BOUNDARY_WIDTH)
             for objects in labels]
targets_2 = [helpers.training_targets(objects, classes=2) for objects in labels]

from skimage.measure import label as connected_components

true_objects = sum(int(objects.max()) for objects in labels)
merged_2 = sum(int(connected_components(t[..., 0] > 0, connectivity=1).max()) for t in targets_2)
apart_3 = sum(int(connected_components(t[..., 1] > 0, connectivity=1).max()) for t in targets_3)
print(f"{true_objects} nuclei; connected components of the 2-class targets: {merged_2} "
      f"({true_objects - merged_2} fewer); of the 3-class interiors: {apart_3}")
assert merged_2 <= true_objects  # touching nuclei can only merge

k = dense[0]
fig, axes = plt.subplots(1, 3, figsize=(12, 4))
show_objects(axes[0], images[k], labels[k], "true nuclei")
axes[1].imshow(targets_2[k][..., 0], cmap="gray")
axes[1].set_title("2 classes: nucleus or not", fontsize=9)
axes[2].imshow(np.argmax(targets_3[k], axis=-1), cmap="viridis", interpolation="nearest")
axes[2].set_title("3 classes: background, interior, boundary", fontsize=9)
for ax in axes[1:]:
    ax.axis("off")
plt.show()

# %% [markdown]
# # 4. Split by image
#
# Train, validation and test are whole images, never crops of one image in two
# parts: neighbouring crops look alike, and a test crop whose neighbour was
# trained on flatters the score. The validation images choose the threshold
# (section 6); the test images are looked at once, at the end.

# %%
order = np.random.default_rng(0).permutation(len(images))
n_test = max(2, round(0.2 * len(images)))
n_validation = max(2, round(0.1 * len(images)))
split = {"test": order[:n_test], "validation": order[n_test:n_test + n_validation],
         "train": order[n_test + n_validation:]}
print({part: len(indices) for part, indices in split.items()})
assert len(split["train"]) >= 2, "Too few images to train on: label a few more."


def part(arrays, name):
    return [arrays[k] for k in split[name]]


# %% [markdown]
# # 5. Training, twice, on the same budget
#
# The course's recipe (notebook 01): `helpers.course_unet`, keras-unet's `custom_unet` with the course's
# settings, Adam at 10⁻³, the soft Jaccard loss, random crops with flips and
# quarter turns (`helpers.augmented_batches`, which takes images of different
# sizes and draws each in proportion to its number of crop positions). One network learns the three
# classes with a softmax output; the other, the same network with one sigmoid
# output, learns nucleus against background. Both get the same steps, crops and
# seeds. The validation loss is measured on one crop of each validation image.

# %%
FILTERS, PATCH, BATCH = budget["filters"], budget["patch"], budget["batch"]
EPOCHS, STEPS_PER_EPOCH = budget["epochs"], budget["steps_per_epoch"]
side = min(256, *(min(x.shape[:2]) // 16 * 16 for x in part(normalized, "validation")))


def crops(arrays):
    """One top-left crop of each image, side x side, stacked: Keras validates on a batch."""
    return np.stack([array[:side, :side] for array in arrays])


def train(targets, classes, *, name):
    """Build, compile and fit the course U-Net on `targets`; return it, its history, seconds."""
    keras.utils.set_random_seed(4)  # the same initial weights for both
    # Notebook 01's U-Net (helpers.COURSE_UNET), for CHANNELS_IN channels and `classes`.
    net = helpers.course_unet(FILTERS, name=name, input_shape=(None, None, CHANNELS_IN),
                              num_classes=classes,
                              output_activation="softmax" if classes > 1 else "sigmoid")
    net.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                loss=helpers.soft_jaccard_loss)
    batches = helpers.augmented_batches(part(normalized, "train"), part(targets, "train"),
                                        patch_size=PATCH, batch_size=BATCH, seed=5)
    keras.utils.set_random_seed(5)  # the same dropout masks for both
    start = time.perf_counter()
    history = net.fit(batches, steps_per_epoch=STEPS_PER_EPOCH, epochs=EPOCHS,
                      validation_data=(crops(part(normalized, "validation")),
                                       crops(part(targets, "validation"))),
                      validation_batch_size=2, shuffle=False, verbose=2)
    return net, history, time.perf_counter() - start


print(f"{EPOCHS} epochs x {STEPS_PER_EPOCH} steps, batches of {BATCH} crops of {PATCH}x{PATCH}")
model_3, history_3, seconds_3 = train(targets_3, 3, name="unet_3_classes")
model_2, history_2, seconds_2 = train(targets_2, 1, name="unet_2_classes")
train_seconds = seconds_3 + seconds_2
print(f"training took {seconds_3:.0f} s (3 classes) and {seconds_2:.0f} s (2 classes)")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
helpers.plot_history(history_3, ax=axes[0], title="3 classes")
helpers.plot_history(history_2, ax=axes[1], title="2 classes")
plt.show()

# %% [markdown]
# # 6. From probabilities to nuclei, with the threshold chosen on validation
#
# Each image is predicted whole, in overlapping tiles blended where they
# overlap (`helpers.predict_tiled`, notebook 02, section 1), whatever its size. The
# three-class output becomes nuclei in two ways (`helpers.labels_from_probabilities`):
#
# - **components**: each connected interior is a nucleus. Touching nuclei stay
#   apart, but every nucleus lacks its boundary ring;
# - **watershed**: those interiors are seeds, and each grows back over its ring,
#   within the pixels more likely nucleus than background, until it meets its
#   neighbour. Touching nuclei stay apart and keep their size.
#
# The two-class output can only be cut into connected components. The threshold
# (on the interior, or on the nucleus probability) is the one with the best mean
# F1 at IoU 0.5 on the validation images; the test images play no part in it.

# %%
TILE = 256 if min(min(x.shape[:2]) for x in normalized) >= 256 else side


def predict(net, indices):
    """Each image's probabilities, by the one path that section 8 saves: normalised by
    `norm`, then predicted in overlapping tiles (`helpers.predict_tiled`)."""
    path = helpers.Segmenter(net, normalization=norm, threshold=0.5, tile_size=TILE, overlap=32)
    return [path.probabilities(images[k]) for k in indices]


probabilities = {}
for part_name in ("validation", "test"):
    probabilities[part_name, 3] = predict(model_3, split[part_name])
    probabilities[part_name, 2] = predict(model_2, split[part_name])

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
methods = {"3 classes, watershed": (3, "watershed"), "3 classes, components": (3, "components"),
           "2 classes, components": (2, "components")}


def objects_of(part_name, classes, method, threshold):
    return [helpers.labels_from_probabilities(p, threshold=threshold, method=method)
            for p in probabilities[part_name, classes]]


validation_f1 = {
    (label, threshold): helpers.object_scores(
        part(labels, "validation"), objects_of("validation", classes, method, threshold)
    )["f1@0.5"].mean()
    for label, (classes, method) in methods.items() for threshold in THRESHOLDS}
chosen = {label: max(THRESHOLDS, key=lambda t, label=label: validation_f1[label, t])
          for label in methods}
for label in methods:
    print(f"{label}: validation F1 at IoU 0.5 "
          + ", ".join(f"{validation_f1[label, t]:.3f} at {t}" for t in THRESHOLDS)
          + f"; chosen {chosen[label]}")

# %% [markdown]
# # 7. Judged on the test images, as the field scores nuclei
#
# Objects are matched one to one at IoU ≥ τ (`helpers.match_objects`). At
# τ = 0.5: F1 = 2TP / (2TP + FP + FN), and the Data Science Bowl's "average
# precision" TP / (TP + FP + FN), which counts misses too; then the Bowl's own
# score, that AP averaged over τ = 0.5, 0.55, ..., 0.95, which asks for tight
# outlines as well (Caicedo et al., *Nature Methods* 16, 2019,
# [doi:10.1038/s41592-019-0612-7](https://doi.org/10.1038/s41592-019-0612-7)). Pixel IoU
# (nucleus against background) is the pixel measure beside them. Each figure is
# the mean over the test images, with a 95% bootstrap interval over those
# images (`helpers.interval_table`, `scipy.stats.bootstrap`).

# %%
import pandas as pd

test_labels = part(labels, "test")
test_names = part(names, "test")
test_objects = {label: objects_of("test", classes, method, chosen[label])
                for label, (classes, method) in methods.items()}
test_scores = {label: helpers.object_scores(test_labels, found, names=test_names)
               for label, found in test_objects.items()}
MEASURES = ["f1@0.5", "ap@0.5", "mean_ap", "pixel_iou"]
rows = []
for label, scores in test_scores.items():
    table = helpers.interval_table(scores[MEASURES])
    rows.append({"method": label, **{
        measure: f"{table.loc[measure, 'mean']:.3f} ({table.loc[measure, 'low']:.3f} to "
                 f"{table.loc[measure, 'high']:.3f})" for measure in MEASURES}})
print(f"mean over {len(test_names)} test images (95% bootstrap interval over images):")
print(pd.DataFrame(rows).to_string(index=False))

# %% [markdown]
# **Three classes against two, image by image.** Both networks saw the same
# crops for the same steps. The paired difference per test image (three
# classes with the watershed, minus two classes) has its own interval; only an
# interval that excludes 0 says that one is better on this budget.

# %%
difference = (test_scores["3 classes, watershed"][MEASURES]
              - test_scores["2 classes, components"][MEASURES])
paired = helpers.interval_table(difference)
for measure in MEASURES:
    low, high = paired.loc[measure, "low"], paired.loc[measure, "high"]
    verdict = ("3 classes better" if low > 0 else "2 classes better" if high < 0
               else "not separable")
    print(f"{measure:>9}: 3 - 2 classes = {paired.loc[measure, 'mean']:+.3f} "
          f"({low:+.3f} to {high:+.3f}): {verdict}")
summary_scores = {measure: float(test_scores["3 classes, watershed"][measure].mean())
                  for measure in MEASURES}

# %% [markdown]
# **The worst test images**, by the Bowl's score, for the three-class network:
# true nuclei outlined on the left, the found ones on the right. Where are the
# errors: merged neighbours, missed dim nuclei, debris taken for nuclei?

# %%
scores_3 = test_scores["3 classes, watershed"]
worst = scores_3["mean_ap"].sort_values().index[:3]
fig, axes = plt.subplots(len(worst), 2, figsize=(9, 4.2 * len(worst)), squeeze=False)
for row, name in zip(axes, worst, strict=True):
    k = test_names.index(name)
    image = images[split["test"][k]]
    show_objects(row[0], image, test_labels[k], f"true: {test_labels[k].max()} nuclei")
    found = test_objects["3 classes, watershed"][k]
    show_objects(row[1], image, found, f"found: {found.max()}, mean AP "
                 f"{scores_3.loc[name, 'mean_ap']:.2f}, F1 {scores_3.loc[name, 'f1@0.5']:.2f}")
plt.show()

# %% [markdown]
# # 8. Export the model with its normalisation and threshold
#
# A `helpers.Segmenter` holds the model with everything prediction needs
# besides it: `norm`, the tiles, the threshold chosen on validation, and the
# watershed. `save` writes them together: the model as a `.keras` file and as a
# TensorFlow SavedModel (each reloaded and checked against the model in memory,
# as in notebook 02, section 6), and `settings.json` with the normalisation and
# the threshold. Loaded again, it predicts the same nuclei.

# %%
segmenter = helpers.Segmenter(model_3, normalization=norm,
                              threshold=chosen["3 classes, watershed"], method="watershed",
                              tile_size=TILE, overlap=32)
model_dir = output_dir / "model"
print(segmenter.save(model_dir, example=images[split["test"][0]]).to_string(index=False))
print((model_dir / "settings.json").read_text())
reloaded = helpers.Segmenter.load(model_dir)
assert reloaded.normalization == norm and reloaded.threshold == segmenter.threshold
first = images[split["test"][0]]
assert np.array_equal(reloaded.labels(first), segmenter.labels(first))

# %% [markdown]
# **For the BioImage Model Zoo.** [bioimage.io](https://bioimage.io) packages run in
# Fiji (deepImageJ), ilastik and napari as well as in Python. When `bioimageio.core`
# is installed (`pip install bioimageio.core`; the course's local environment has it),
# `helpers.write_bioimageio_package` packs the model with `norm` as the package's own
# preprocessing (`scale_range` over the same percentiles, then `clip`), a test image
# and its expected output, and a README with the threshold and the watershed. Then
# `bioimageio.core`'s own test runs on the saved zip: it predicts the test image
# through the package's preprocessing and checks the output, at several sizes.

# %%
import importlib.util

if importlib.util.find_spec("bioimageio") and importlib.util.find_spec("bioimageio.core"):
    package = helpers.write_bioimageio_package(
        segmenter, model_dir / "nuclei_unet_bioimageio.zip", example=first,
        name="U-Net for fluorescent nuclei (unet-course notebook 03)",
        description="Three classes (background, interior, boundary) for nuclei that touch; "
                    "trained in the course's notebook 03.")
    print(f"bioimageio.core's test of {Path(package['package']).name}: {package['status']}")
else:
    print("bioimageio.core is not installed: no BioImage Model Zoo package "
          "(pip install bioimageio.core, then run this cell again).")

# %% [markdown]
# # 9. Predict a folder and give the results back
#
# New images of any size go through the one path: `segmenter.labels`
# normalises with the saved settings, predicts in tiles and labels. For each
# image, `helpers.write_results` writes:
#
# - `<name>_labels.tif`: the nuclei, 16-bit, one integer each (ImageJ TIFF, with
#   the pixel size when you gave it);
# - `<name>_probabilities.tif`: background, interior and boundary, 32-bit;
# - `<name>_objects.csv`: one row per nucleus: area, centroid and mean intensity
#   (scikit-image's `regionprops_table`), in microns too when the pixel size is known.
#
# The folder is checked first, with `helpers.load_folder`, before anything is written.

# %%
if PREDICT_DIR.strip():
    new = helpers.load_folder(PREDICT_DIR, channels=CHANNELS)
    new_images, new_names = new.images, new.names
else:  # the test images stand in for new ones
    new_images, new_names = part(images, "test"), test_names
results_dir = output_dir / "results"
for image, name in zip(new_images, new_names, strict=True):
    found_probabilities = segmenter.probabilities(image)
    found = segmenter.labels(image, found_probabilities)
    written = helpers.write_results(results_dir, name, labels=found,
                                    probabilities=found_probabilities, image=image,
                                    pixel_size=pixel_size)
print(f"wrote {3 * len(new_names)} files for {len(new_names)} images to {results_dir}")

# %% [markdown]
# Read one back, as Fiji would: the labels are 16-bit, one integer per nucleus,
# and the table has one row per nucleus.

# %%
import tifffile

with tifffile.TiffFile(written["labels"]) as tif:
    saved = tif.asarray()
    print(f"{written['labels'].name}: {saved.dtype}, {saved.shape}, "
          f"ImageJ file: {tif.is_imagej}, {saved.max()} nuclei")
objects_table = pd.read_csv(written["objects"])
print(objects_table.head().to_string(index=False))
assert saved.dtype == np.uint16 and len(objects_table) == len(np.unique(saved)) - 1

# %% [markdown]
# **Open them in Fiji**: File > Open the `_labels.tif` (Image > Lookup Tables >
# glasbey shows each nucleus in its own colour), Analyze > Set Scale shows the
# pixel size when it was given, and File > Import > Results reads the CSV.
# **In napari**: drag the image and then the `_labels.tif` onto the window and
# choose it as a Labels layer (or `viewer.add_labels(tifffile.imread(path))`).
#
# On Colab, the cell below zips the results for download (Files pane, or
# `files.download`); on Drive they are already saved.

# %%
import shutil

archive = shutil.make_archive(str(output_dir / "results"), "zip", results_dir)
print(f"results zipped: {archive}")
if course.runtime.is_colab:
    from google.colab import files

    files.download(archive)

# %% [markdown]
# # Summary
#
# - Check a folder before anything else: `helpers.check_folder` lists every
#   problem with its file and its fix, and `helpers.load_folder` reads TIFF, PNG
#   and JPEG of any bit depth and size, masks as 0/1, 0/255 or labels.
# - One normalisation, made once (`helpers.Normalization`), in training,
#   validation, prediction and the saved model.
# - Touching nuclei need a third class, a boundary ring, and a seeded watershed
#   to give each nucleus its ring back.
# - Nuclei are scored as objects, matched at IoU ≥ τ: F1 and AP at 0.5, the
#   Bowl's mean AP over 0.5 to 0.95, and pixel IoU beside them, each with its
#   interval over test images; the threshold comes from validation images.
# - Results go back as 16-bit label TIFFs, probability maps and CSV tables that
#   Fiji and napari open, and the model is saved with its settings (and, with
#   `bioimageio.core`, as a BioImage Model Zoo package that passes its own test).
#
# ### Exercises
#
# 1. Set `BOUNDARY_WIDTH = 1` and rerun from section 3. Does the three-class
#    network still keep touching nuclei apart?
# 2. Point `IMAGE_DIR` and `MASK_DIR` at your own folders. What does the table
#    of section 1 say about them, and what did `load_folder` convert?
# 3. In `labels_from_probabilities`, try `min_size=20`: which of the errors in
#    the worst images does it remove?


# %% [markdown]
# The key figures of this run, gathered in one place (`make run` prints them
# at the end, too).

# %%
summary = {
    "mode": course.mode,
    "data": "synthetic stand-in" if SYNTHETIC else ("DSB 2018" if DEMONSTRATION
                                                      else "your folder"),
    "training, both networks (s)": round(train_seconds),
    "test F1 at IoU 0.5, 3 classes": summary_scores["f1@0.5"],
    "test mean AP 0.5-0.95, 3 classes": summary_scores["mean_ap"],
    "test pixel IoU, 3 classes": summary_scores["pixel_iou"],
}
pd.Series(summary, name="this run").to_frame()
