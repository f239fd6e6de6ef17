"""Shared plumbing for the benchmark scripts in this folder.

Each ``bench_*.py`` script imports this module first (``from benchmarks import
_common as C``; the scripts run from the repository root as ``python -m
benchmarks.bench_<name>``): it keeps TensorFlow quiet,
loads the data through `helpers`, holds the other recipes' settings (the workshop's
two and ZeroCostDL4Mic's, each cited) and builds their models, times training
against a wall-clock budget, scores segmentations as the ISBI 2012 challenge does,
samples peak memory, describes the machine, and writes results as JSON into
``benchmarks/results/`` (git-ignored).

TensorFlow, Keras and keras-unet are imported lazily (`import_tf`), so that
``run_all.py`` can read results and write the README without them, and the deck's
figures (``slides/figures.py``) can import the workshop's recipe and resize from here.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import helpers

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported anywhere
os.environ.setdefault("MPLBACKEND", "Agg")  # keras-unet imports pyplot; no display needed

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SEED = 42
TILE = 128  # sample and tile side of both workshop recipes (intro cell 8, further topics cell 15)
BATCH = 8  # batch of the speed benchmarks (pipeline, step), the same for both sides
#: The notebooks' training budgets (``helpers.BUDGETS[mode][notebook]``): the course's
#: recipes here take their filters, crops and batch from these, as the notebooks do.
QUICK_NB01 = helpers.BUDGETS["quick"]["01_introduction"]
FULL_NB01 = helpers.BUDGETS["full"]["01_introduction"]

# The original workshop's two recipes, read from its notebooks
# (doktor-nick/adv-ML-image-segmentation-with-UNET). "intro cell N" is cell N of
# Unet_in_Keras_introduction.ipynb, "further cell N" of Unet_in_Keras_further_topics.ipynb,
# N counted from 0 over all cells, markdown included.

#: get_augmented's arguments in the introduction (intro cell 25), as notebook 01 shows them.
INTRO_AUGMENT = dict(helpers.WORKSHOP_AUGMENT_ARGS)
#: The same in the further topics, where only the shear differs (further cell 19).
TILES_AUGMENT = {**INTRO_AUGMENT, "shear_range": 20}

#: The introduction's recipe.
INTRO = {
    "size": 128,  # whole images resized to 128 x 128, nearest (intro cell 18)
    "filters": 64,  # custom_unet(..., filters=64, use_batch_norm=False, dropout=0.2) (intro cell 8)
    "dropout": 0.2,
    "batch": 5,  # get_augmented(..., batch_size=5) (intro cell 25)
    "augment": INTRO_AUGMENT,
    "learning_rate": 1e-4,  # Adam(learning_rate=1e-4) (intro cell 30)
    "loss": "binary_crossentropy",  # (intro cell 30)
    "steps": 20 * 100,  # epochs=20, steps_per_epoch=100 (intro cell 32)
}
#: The further topics' tile recipe.
TILES = {
    "size": 128,  # get_patches(size=128, stride=128): non-overlapping tiles (further cell 15)
    "filters": 64,  # the introduction's model on a 128 tile (further cell 24)
    "dropout": 0.2,
    "batch": 10,  # get_augmented(tiles, batch_size=10, ...) (further cell 19)
    "augment": TILES_AUGMENT,
    "learning_rate": 1e-3,  # Adam() with its default rate (further cell 28)
    "loss": "jaccard_distance",  # keras-unet's (further cell 28)
    "steps": 12 * 100,  # epochs=12, steps_per_epoch=100 (further cell 29)
}

# ZeroCostDL4Mic's U-Net 2D, the Colab notebook a bio-image analyst would most likely
# pick instead of this course, at its defaults (Use_Default_Advanced_Parameters and
# Use_Data_augmentation on). Each fact is cited from the notebook itself:
# HenriquesLab/ZeroCostDL4Mic at commit
# 481a3f3e2e1692dc27aa22f4ef3986f455ed3245, Colab_notebooks/U-Net_2D_ZeroCostDL4Mic.ipynb
# (version 2.2.1). "zc cell N" is its cell N, counted from 0 over all cells, markdown
# included: cell 8 defines its functions, 18 sets the advanced parameters, 20 the
# augmentation, 25 the model, class weights and callbacks, 27 fits, 33 is its quality
# control (QC), 35 its export and 38 its prediction. Where the reference file and the
# notebook differ, the notebook is followed and the comment says so.

#: Its augmentation: ImageDataGenerator arguments (zc cell 20, the default branch).
ZEROCOST_AUGMENT = {
    "width_shift_range": 0.1,  # horizontal_shift = 10 (%)
    # vertical_shift = 20 (%) in the notebook's default branch; the reference file says
    # "shifts 10% each way", which is the value of its slider, not of the default.
    "height_shift_range": 0.2,
    "rotation_range": 180,  # degrees
    "zoom_range": 0.1,  # zoom_range = 10 (%)
    "shear_range": 0.1,  # shear_range = 10 (%) / 100: Keras reads it in degrees
    "horizontal_flip": True,
    "vertical_flip": True,
    "fill_mode": "reflect",
}
#: Its recipe.
ZEROCOST = {
    "max_patch": 512,  # estimatePatchSize(max 512): largest power of 2 <= the smallest image
    "min_fraction": 0.02,  # a patch is kept if >= 2% of its mask is foreground (zc cells 8, 18)
    "filters": 64,  # its unet(): 64 filters at the top, doubling per level (zc cell 8)
    "pooling_steps": 2,  # pooling_steps = 2 with the default advanced parameters (zc cell 18)
    "dropout": 0.5,  # Dropout(0.5) only from the third pooling step on: none at 2 (zc cell 8)
    "batch": 4,  # batch_size = 4 (zc cell 18)
    "learning_rate": 3e-4,  # initial_learning_rate = 0.0003 (zc cell 18)
    "loss": "weighted binary cross-entropy, balanced class weights",  # (zc cells 8, 25)
    "validation_fraction": 0.1,  # percentage_validation = 10 (zc cell 18): validation_split
    "epochs": 100,  # number_of_epochs = 100 (zc cell 18); here the time budget ends it
    "plateau": {"monitor": "val_loss", "factor": 0.1, "patience": 10, "min_lr": 0},  # zc 25
    "percentiles": (1, 99.8),  # normalizePercentile (zc cell 8)
    "augment": ZEROCOST_AUGMENT,
}


# --------------------------------------------------------------------------- TensorFlow


_TF = None


def import_tf() -> SimpleNamespace:
    """Import TensorFlow, Keras and keras-unet quietly; turn on GPU memory growth.

    Returns a namespace with ``tf``, ``keras``, keras-unet's ``custom_unet``,
    ``get_augmented``, ``get_patches``, ``reconstruct_from_patches``,
    ``jaccard_distance``, Keras's ``ImageDataGenerator``, and ``gpus`` (device names,
    empty on a CPU).
    """
    global _TF
    if _TF is not None:
        return _TF
    helpers.start_tensorflow()  # quietly, with GPU memory growth, keras-unet's banner held
    import keras
    import tensorflow as tf
    from keras_unet.losses import jaccard_distance
    from keras_unet.models import custom_unet
    from keras_unet.utils import get_augmented, get_patches, reconstruct_from_patches

    # Keras 3 has no keras.preprocessing.image.ImageDataGenerator; TensorFlow's Keras
    # namespace still has it (as keras-unet's get_augmented and ZeroCostDL4Mic import it).
    from tensorflow.keras.preprocessing.image import ImageDataGenerator

    runtime = helpers.detect_runtime()
    names = list(runtime.devices) if runtime.accelerator == "GPU" else []
    _TF = SimpleNamespace(
        tf=tf,
        keras=keras,
        custom_unet=custom_unet,
        get_augmented=get_augmented,
        get_patches=get_patches,
        reconstruct_from_patches=reconstruct_from_patches,
        jaccard_distance=jaccard_distance,
        ImageDataGenerator=ImageDataGenerator,
        gpus=names,
    )
    return _TF


# --------------------------------------------------------------------------- machine


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def machine_info() -> dict:
    """The machine and software versions, as every result file records them."""
    tf = import_tf()
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "cores": cores,
        "memory_gib": _memory_gib(),
        "gpus": tf.gpus,
        "python": platform.python_version(),
        "tensorflow": tf.tf.__version__,
        "keras": tf.keras.__version__,
        "keras_unet": importlib.metadata.version("keras-unet"),
        "numpy": importlib.metadata.version("numpy"),
        "platform": platform.platform(),
    }


def load_average() -> list[float] | None:
    """1, 5 and 15-minute load averages: a busy machine makes timings noisy."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


# --------------------------------------------------------------------------- data


def load_split() -> SimpleNamespace:
    """ISBI 2012 through `helpers`, split the course's way (train 0-23, test 27-29).

    Also ``images`` and ``masks``: all 30 labelled images, for bench_quality's
    cross-validation. Falls back to the synthetic look-alike as the notebooks do
    (`helpers.load_isbi2012_or_synthetic`, for the errors it documents); the results
    then say ``data: synthetic``.
    """
    data = helpers.load_isbi2012_or_synthetic(verbose=False)
    source = "synthetic" if data.synthetic else "ISBI 2012"
    if data.synthetic:
        print("WARNING: synthetic data: these figures are NOT comparable with ISBI 2012's.")
    parts = helpers.split_dataset(data.images, data.masks)
    return SimpleNamespace(
        source=source,
        images=data.images, masks=data.masks,
        x_train=parts["train"][0], y_train=parts["train"][1],
        x_test=parts["test"][0], y_test=parts["test"][1],
    )


def resize_nearest(images, size: int):
    """Each image resized to size x size the workshop's way (intro cell 18).

    The workshop opened each PNG with PIL, called ``resize((size, size),
    resample=0)`` (nearest neighbour) and divided by 255, so its masks stayed
    exactly 0 or 1. This does the same to images already in [0, 1].
    """
    import numpy as np
    from PIL import Image

    out = []
    for image in images:
        pixels = np.round(np.asarray(image)[..., 0] * 255).astype("uint8")
        small = Image.fromarray(pixels).resize((size, size), resample=Image.NEAREST)
        out.append(np.asarray(small, dtype="float32") / 255)
    return np.stack(out)[..., np.newaxis]


def upsample_nearest(images, size: int):
    """Nearest-neighbour upsampling to size x size: the inverse of the workshop's resize.

    The workshop predicted at 128 only (intro cells 40, 44); to measure its model
    on the course's 512 x 512 test images, each predicted pixel is repeated over
    the block of pixels it stands for.
    """
    import numpy as np

    factor = size // images.shape[1]
    if factor * images.shape[1] != size:
        raise ValueError(f"size must be a multiple of {images.shape[1]}; got {size}")
    return np.repeat(np.repeat(images, factor, axis=1), factor, axis=2)


def workshop_batches(x, y, batch_size: int, augment: dict):
    """keras-unet's get_augmented with a workshop recipe's arguments, as a real generator.

    Keras 3's ``fit`` rejects the ``zip`` that get_augmented returns, so the
    original recipe needs this thin wrapper to run at all today.
    """
    get_augmented = import_tf().get_augmented
    yield from get_augmented(x, y, batch_size=batch_size, data_gen_args=augment)


def mirror_tile(image, times: int = 4):
    """A (times*H, times*W) image from one (H, W, C) image by mirrored copies (no seams)."""
    import numpy as np

    pair = np.concatenate([image, image[:, ::-1]], axis=1)
    block = np.concatenate([pair, pair[::-1]], axis=0)
    reps = (times + 1) // 2
    big = np.tile(block, (reps, reps, 1))
    return np.ascontiguousarray(big[: times * image.shape[0], : times * image.shape[1]])


# --------------------------------------------------------------------------- models


def build_ours(filters: int = QUICK_NB01["filters"]):
    """The course's U-Net, exactly as notebook 01 builds it (`helpers.course_unet`)."""
    import_tf()  # quietly: TensorFlow's start-up and keras-unet's banner held back
    return helpers.course_unet(filters)


def build_original(input_shape=(TILE, TILE, 1)):
    """The workshop's U-Net (intro cell 8; further cell 24 with a 128 tile).

    ``custom_unet(input_shape, use_batch_norm=False, num_classes=1, filters=64,
    dropout=0.2, output_activation='sigmoid')``, keras-unet's defaults otherwise:
    `helpers.course_unet` with those changes (the course's other settings, 4 levels
    and spatial dropout, are keras-unet's defaults), whose input is declared as
    arrays are passed, so that Keras 3 does not warn at every ``predict``.
    """
    import_tf()
    return helpers.course_unet(
        INTRO["filters"],
        input_shape=input_shape,
        use_batch_norm=False,
        num_classes=1,
        dropout=INTRO["dropout"],
        output_activation="sigmoid",
    )


def train_for(model, batches, seconds: float, *, steps_per_epoch: int | None = None,
              epochs: int = 1, validation_data=None, validation_steps: int | None = None,
              callbacks=()) -> dict:
    """``model.fit`` on endless `batches` until `seconds` of wall-clock time have passed.

    The clock starts when ``fit`` starts (graph tracing counts, as it does for a
    learner), and is checked after every batch. Returns steps done and times.

    By default one endless epoch, with no validation. With `steps_per_epoch`,
    `epochs`, `validation_data` and `callbacks`, a recipe's own schedule: epochs of
    that length, each validated at its end (time the budget counts), which the
    callbacks see, until `epochs` are done or the budget ends. Keras validates the
    epoch that the budget cuts short too, after the budget; ``fit_seconds`` includes it.
    """
    keras = import_tf().keras

    class TimeBudget(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.steps = 0
            self.start = None
            self.elapsed = 0.0

        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            self.elapsed = time.perf_counter() - self.start
            if self.elapsed >= seconds:
                self.model.stop_training = True

    budget = TimeBudget()
    start = time.perf_counter()
    history = model.fit(batches, steps_per_epoch=steps_per_epoch or 10**9, epochs=epochs,
                        verbose=0, callbacks=[budget, *callbacks], shuffle=False,
                        validation_data=validation_data, validation_steps=validation_steps)
    record = {
        "steps": budget.steps,
        "train_seconds": round(budget.elapsed, 2),
        "fit_seconds": round(time.perf_counter() - start, 2),
    }
    if validation_data is not None:
        record["epochs"] = len(history.history.get("loss", []))
        record["val_loss"] = [round(float(v), 5) for v in history.history.get("val_loss", [])]
    return record


def best_by_validation():
    """A callback that keeps the weights of the epoch with the lowest ``val_loss``.

    ``ModelCheckpoint(monitor='val_loss', save_best_only=True)``, held in memory:
    ``restore()`` puts those weights back (a no-op when no epoch was validated) and
    returns the best epoch, counted from 1, or None.
    """
    keras = import_tf().keras

    class BestByValidation(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best, self.epoch, self.weights = float("inf"), None, None

        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get("val_loss")
            if value is not None and value < self.best:
                self.best, self.epoch, self.weights = value, epoch + 1, self.model.get_weights()

        def restore(self):
            if self.weights is not None:
                self.model.set_weights(self.weights)
            return self.epoch

    return BestByValidation()


# --------------------------------------------------------------------------- ZeroCostDL4Mic


def _min_max(x):
    """normalizeMinMax (zc cell 8): (x - min) / (max - min + 1e-10), float32."""
    import numpy as np

    x = np.asarray(x, dtype=np.float32)
    return (x - x.min()) / (x.max() - x.min() + 1e-10)


def percentile_normalise(x, low: float = ZEROCOST["percentiles"][0],
                         high: float = ZEROCOST["percentiles"][1]):
    """normalizePercentile (zc cell 8, after csbdeep): percentiles 1 and 99.8 to 0 and 1.

    Over the whole image, not clipped, float32. The scale of the input does not matter,
    so images in [0, 1] give what the notebook's 8-bit files give.
    """
    import numpy as np

    x = np.asarray(x, dtype=np.float32)
    lo, hi = np.percentile(x, low), np.percentile(x, high)
    return ((x - lo) / (hi - lo + 1e-20)).astype(np.float32)


def zerocost_patch_size(images, largest: int = ZEROCOST["max_patch"]) -> tuple[int, int]:
    """estimatePatchSize (zc cell 8): per axis, the largest power of 2 that fits the
    smallest training image, capped at 512. On ISBI 2012 (512 x 512): whole images."""
    rows = min(image.shape[0] for image in images)
    cols = min(image.shape[1] for image in images)
    return tuple(min(largest, 1 << (int(side).bit_length() - 1)) for side in (rows, cols))


def zerocost_patches(images, masks, patch, min_fraction: float = ZEROCOST["min_fraction"]):
    """create_patches (zc cell 8): the training patches, cut once before training.

    Non-overlapping windows of `patch` (``view_as_windows`` with a step of the patch
    size; a remainder is dropped), kept when at least `min_fraction` of the mask is
    foreground (the notebook's test: the value at rank round(n (1 - min_fraction))
    of the sorted mask is above 0). Each kept image patch is min-max normalised and
    made 8-bit (``img_as_ubyte``), each mask 0 or 255, as the notebook saves them;
    returned as float32 (N, h, w, 1), as Keras reads such files back.
    """
    import numpy as np
    from skimage.util import img_as_ubyte, view_as_windows

    kept_x, kept_y = [], []
    for image, mask in zip(images, masks, strict=True):
        windows_x = view_as_windows(np.asarray(image)[..., 0], patch, step=patch)
        windows_y = view_as_windows(np.asarray(mask)[..., 0], patch, step=patch)
        for x, y in zip(windows_x.reshape(-1, *patch), windows_y.reshape(-1, *patch),
                        strict=True):
            ranked = np.sort(y, axis=None)
            if ranked[int(round(ranked.size * (1 - min_fraction)))] > 0:
                kept_x.append(img_as_ubyte(_min_max(x)))
                kept_y.append(np.where(img_as_ubyte(_min_max(y)) > 0, 255, 0))
    if not kept_x:
        raise ValueError("zerocost_patches: no patch has enough foreground to be kept.")
    as_float = [np.stack(kept).astype(np.float32)[..., np.newaxis] for kept in (kept_x, kept_y)]
    return as_float[0], as_float[1]


def zerocost_class_weights(masks):
    """getClassWeights (zc cells 8, 25): n / (2 x class count) over all training masks.

    Computed on the training images' masks (its Training_target folder), before the
    validation split: "balanced" weights, [background (membrane), foreground (interior)].
    """
    import numpy as np

    foreground = sum(float(_min_max(mask).sum()) for mask in masks)
    pixels = sum(int(np.asarray(mask)[..., 0].size) for mask in masks)
    counts = np.array([pixels - foreground, foreground])
    return counts.sum() / (2 * counts)


def zerocost_loss(class_weights):
    """Its weighted binary cross-entropy (zc cell 8): per-pixel BCE times the weight of
    the pixel's true class, y w1 + (1 - y) w0, averaged."""
    ops = import_tf().keras.ops
    background, foreground = (float(w) for w in class_weights)

    def weighted_binary_crossentropy(y_true, y_pred):
        weight = y_true * foreground + (1.0 - y_true) * background
        return ops.mean(weight * ops.binary_crossentropy(y_true, y_pred))

    return weighted_binary_crossentropy


def build_zerocost(input_shape, *, filters: int = ZEROCOST["filters"],
                   pooling_steps: int = ZEROCOST["pooling_steps"],
                   dropout: float = ZEROCOST["dropout"]):
    """ZeroCostDL4Mic's own ``unet()`` (zc cell 8), written here from its description.

    Per level two 3x3 convolutions, ``padding='same'``, ``he_normal``, ReLU; `filters`
    at the top, doubling per level, `pooling_steps` 2x2 max-poolings down; no batch
    norm; ``Dropout(dropout)`` on the output of levels 3 and 4 only (none at its
    default of 2 steps). Up: 2x2 up-sampling, then a 2x2 convolution, concatenated
    after the level's skip connection, then two 3x3 convolutions. At the top level
    these three convolutions, and a 3x3 convolution to 2 channels after them, have no
    activation (the notebook has them commented out; the reference file does not say
    so); then a 1x1 convolution with a sigmoid. The input has the patch's fixed size.
    """
    keras = import_tf().keras
    layers = keras.layers

    def conv(x, width, size=3, relu=True, initializer="he_normal"):
        return layers.Conv2D(width, size, padding="same", kernel_initializer=initializer,
                             activation="relu" if relu else None)(x)

    inputs = keras.Input(input_shape)
    levels, x = [], inputs
    for level in range(pooling_steps + 1):
        if level:
            x = layers.MaxPooling2D(2)(x)
        x = conv(conv(x, filters * 2**level), filters * 2**level)
        if level >= 3:
            x = layers.Dropout(dropout)(x)
        levels.append(x)
    for level in range(pooling_steps - 1, -1, -1):
        relu = level > 0
        up = conv(layers.UpSampling2D(2)(x), filters * 2**level, size=2, relu=relu)
        x = layers.Concatenate(axis=3)([levels[level], up])
        x = conv(conv(x, filters * 2**level, relu=relu), filters * 2**level, relu=relu)
    x = conv(x, 2, relu=False)
    outputs = layers.Conv2D(1, 1, activation="sigmoid")(x)
    return keras.Model(inputs, outputs, name="zerocostdl4mic_unet")


def zerocost_generators(x, y, *, seed: int, batch: int = ZEROCOST["batch"],
                        augment=ZEROCOST_AUGMENT,
                        validation_fraction: float = ZEROCOST["validation_fraction"]):
    """prepareGenerators and buildDoubleGenerator (zc cell 8): (training, validation).

    Two ImageDataGenerators with its augmentation and ``validation_split``, one for
    the images (then `percentile_normalise`, as its ``preprocessing_function``) and
    one for the masks (then min-max normalised), drawn with the same seed, so that
    each pair gets the same transform. The masks are transformed with the images'
    interpolation (order 1), so their edges come out between 0 and 1, and stay so.
    Keras's ``validation_split`` keeps the first ``int(fraction x n)`` patches for
    validation, augmented as the training ones. (The reference file names only the
    min-max, 8-bit normalisation at training; the notebook's generator percentile-
    normalises each augmented image after it, as here.)
    """
    generator = import_tf().ImageDataGenerator
    images = generator(**augment, validation_split=validation_fraction,
                       preprocessing_function=percentile_normalise)
    masks = generator(**augment, validation_split=validation_fraction,
                      preprocessing_function=_min_max)

    def pairs(subset):
        flows = (images.flow(x, batch_size=batch, seed=seed, subset=subset),
                 masks.flow(y, batch_size=batch, seed=seed, subset=subset))
        yield from zip(*flows, strict=True)  # both endless

    return pairs("training"), pairs("validation")


def zerocost_predict(model, images):
    """predict_as_tiles (zc cell 8): percentile-normalised, non-overlapping patches.

    Each image is percentile-normalised whole, from its own values (training made each
    patch 8-bit by min-max first, then percentile-normalised it after augmentation),
    zero-padded up to the model's input size if smaller, cut into
    tiles of that size (the last row and column of tiles moved back to end at the
    border), each predicted alone, and pasted back without blending.
    """
    import math

    import numpy as np

    rows, cols = model.input_shape[1:3]
    out = []
    for image in images:
        raw = percentile_normalise(np.asarray(image)[..., 0])
        padded = np.zeros((max(raw.shape[0], rows), max(raw.shape[1], cols)), np.float32)
        padded[: raw.shape[0], : raw.shape[1]] = raw
        prediction = np.zeros(padded.shape)
        for i in range(math.ceil(padded.shape[0] / rows)):
            for j in range(math.ceil(padded.shape[1] / cols)):
                top, left = min(rows * i, padded.shape[0] - rows), min(cols * j,
                                                                        padded.shape[1] - cols)
                tile = padded[top:top + rows, left:left + cols][np.newaxis, ..., np.newaxis]
                predicted = model.predict(tile, batch_size=1, verbose=0)
                prediction[top:top + rows, left:left + cols] = predicted[0, ..., 0]
        out.append(prediction[: raw.shape[0], : raw.shape[1]])
    return np.stack(out)[..., np.newaxis]


def zerocost_threshold(masks, probabilities) -> dict:
    """Its threshold rule (zc cells 33, 35), on the images it is given (its QC images).

    Each prediction is made 8-bit (``img_as_ubyte``); for thresholds t = 0..255 the
    IoU of ``prediction > t`` with the true foreground (interior) is computed, each
    image's best t kept (the first at the maximum), and the mean over images divided
    by 255 is the threshold its export applies to the probabilities.
    """
    import numpy as np
    from skimage.util import img_as_ubyte

    best = []
    for truth, probability in zip(masks, probabilities, strict=True):
        values = img_as_ubyte(np.clip(np.asarray(probability)[..., 0], 0, 1)).ravel()
        inside = np.asarray(truth)[..., 0].ravel() > 0
        above_true = np.cumsum(np.bincount(values[inside], minlength=256)[::-1])[::-1]
        above_all = np.cumsum(np.bincount(values, minlength=256)[::-1])[::-1]
        # Pixels above t: the counts from t + 1 up; t = 255 keeps none.
        hits = np.append(above_true[1:], 0).astype(np.float64)
        called = np.append(above_all[1:], 0).astype(np.float64)
        union = inside.sum() + called - hits
        iou = np.divide(hits, union, out=np.zeros(256), where=union > 0)
        best.append(int(np.argmax(iou)))
    mean = sum(best) / len(best)
    return {"per_image_8bit": best, "mean_8bit": mean, "threshold": mean / 255}


# --------------------------------------------------------------------------- measuring


def _rss_bytes() -> int:
    try:
        import psutil

        return psutil.Process().memory_info().rss
    except ImportError:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Peak resident memory of this process during a block, above its start.

    A thread samples the RSS every `interval` seconds (psutil, or /proc/self/statm
    without it); ``delta_mib`` is the peak minus the RSS when the block began.
    """

    def __init__(self, interval: float = 0.002):
        self.interval = interval
        self.baseline = self.peak = 0
        self._stop = threading.Event()
        self._thread = None

    def _sample(self):
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, _rss_bytes())

    def __enter__(self):
        self.baseline = self.peak = _rss_bytes()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())
        return False

    @property
    def delta_mib(self) -> float:
        return (self.peak - self.baseline) / 2**20


def ratio(value, reference):
    """value / reference, or None when either is missing or the reference is 0."""
    if value is None or reference in (None, 0):
        return None
    return value / reference


def fmt_ratio(value) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def seg_measures(masks, probabilities) -> dict:
    """Pixel error, membrane IoU and Rand error at threshold 0.5, through `helpers`
    (bench_quick_mode's measures; bench_quality's are `challenge_measures`)."""
    return {
        "pixel_error": helpers.pixel_error(masks, probabilities),
        "iou_membrane": helpers.iou_per_class(masks, probabilities)["membrane"],
        "rand_error": helpers.rand_error(masks, probabilities),
    }


#: The challenge's measures that `challenge_measures` takes at its best threshold, with
#: the column of ``helpers.isbi_scores`` each comes from, and whether higher is better.
CHALLENGE_MEASURES = {
    "v_rand": ("v_rand", True),
    "v_info": ("v_info", True),
    "isbi_pixel_error": ("pixel_error", False),
    "isbi_rand_error": ("rand_error", False),
}


def challenge_measures(masks, probabilities) -> dict:
    """The ISBI 2012 challenge's four measures, as `helpers` computes them, and two plain ones.

    ``v_rand`` and ``v_info`` (thinned; higher is better), ``isbi_pixel_error`` and
    ``isbi_rand_error`` (1 - a best F-score; lower is better): each at the best of the
    challenge's thresholds 0, 0.1, ..., 1 on these very images, as the challenge
    reports them (``<name>_threshold`` says which; the first that reaches the best,
    as `helpers.v_rand` and the others pick it), all from one `helpers.isbi_scores`
    table. ``pixel_error`` (the fraction of wrong pixels) and ``iou_membrane`` at 0.5.
    """
    table = helpers.isbi_scores(masks, probabilities)
    out = {}
    for name, (column, higher) in CHALLENGE_MEASURES.items():
        row = table[column].idxmax() if higher else table[column].idxmin()
        out[name] = float(table.loc[row, column])
        out[f"{name}_threshold"] = round(float(table.loc[row, "threshold"]), 1)
    out["pixel_error"] = helpers.pixel_error(masks, probabilities)
    out["iou_membrane"] = helpers.iou_per_class(masks, probabilities)["membrane"]
    return out


def t_interval(values, confidence: float = 0.95) -> dict:
    """Mean and `confidence` t-interval of `values` (one per fold), df = n - 1 (scipy.stats).

    Returns ``mean``, ``low``, ``high``, ``sd`` (ddof 1), ``n`` and the ``values``;
    ``low``, ``high`` and ``sd`` are None for a single value, which has no interval.
    """
    import math
    import statistics

    from scipy import stats

    values = [float(v) for v in values]
    mean = statistics.fmean(values)
    record = {"mean": mean, "low": None, "high": None, "sd": None, "n": len(values),
              "values": values}
    if len(values) > 1:
        sd = statistics.stdev(values)
        half = float(stats.t.ppf((1 + confidence) / 2, len(values) - 1)) * sd / math.sqrt(
            len(values))
        record.update(low=mean - half, high=mean + half, sd=sd)
    return record


# --------------------------------------------------------------------------- CLI and output


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--full", action="store_true",
                   help="the real budget, for a GPU (default: quick, for 2 CPU cores)")
    p.add_argument("--json", type=Path, default=None,
                   help="where to write the results (default: benchmarks/results/<name>.json)")
    p.add_argument("--seed", type=int, default=SEED)
    return p


def run_benchmark(argv, script) -> object:
    """The skeleton of every ``bench_*.py`` main(): options, settings, data, header, results.

    `script` is the benchmark's module, which defines ``NAME``, ``TITLE``, its
    settings ``QUICK`` and ``FULL`` (``--full`` picks the second), ``add_options(p)``
    and ``measure(run)``. An option whose ``dest`` is a settings key overrides that
    setting when given. `measure` gets a namespace with ``args``, ``settings``,
    ``mode``, ``data`` and ``machine``, and returns ``(payload, value)``: `payload`
    goes into the results file beside the mode, the data source and the machine, and
    `value` is returned.
    """
    name, title, doc, quick, full = (script.NAME, script.TITLE, script.__doc__, script.QUICK,
                                     script.FULL)
    add_options, measure = script.add_options, script.measure
    p = parser(doc.split("\n")[0])
    add_options(p)
    args = p.parse_args(argv)
    settings = dict(full if args.full else quick)
    settings.update({key: value for key, value in vars(args).items()
                     if key in settings and value is not None})
    mode = "full" if args.full else "quick"
    data = load_split()
    machine = header(title, mode, data.source)
    run = SimpleNamespace(args=args, settings=settings, mode=mode, data=data, machine=machine)
    payload, value = measure(run)
    write_results(name, {"mode": mode, "data": data.source, "machine": machine, **payload},
                  args.json)
    return value


def main_of(module_name: str):
    """A benchmark's ``main(argv=None)``: `run_benchmark` on the module of that name."""
    def main(argv=None):
        return run_benchmark(argv, sys.modules[module_name])

    return main


def header(title: str, mode: str, data: str | None = None) -> dict:
    """Print the benchmark's title and machine; return the machine info."""
    machine = machine_info()
    gpus = ", ".join(machine["gpus"]) or "no GPU"
    print(f"\n=== {title} ===")
    print(f"machine: {machine['cpu']}, {machine['cores']} cores, {gpus}; "
          f"TensorFlow {machine['tensorflow']}, Keras {machine['keras']}")
    print(f"mode: {mode}" + (f"; data: {data}" if data else "")
          + f"; load average at start: {load_average()}")
    return machine


def write_results(name: str, payload: dict, path: Path | None = None) -> Path:
    """Write `payload` (plus name, time and load average) as JSON; return the path."""
    path = path or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": name,
        "script": f"benchmarks/bench_{name}.py",
        "written": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "load_average_at_end": load_average(),
        **payload,
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"results: {display_path(path)}")
    return path


def display_path(path: Path) -> str:
    """`path` relative to the repository when inside it."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def print_table(rows, headings) -> None:
    """Print rows of strings as an aligned plain-text table."""
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headings)]
    line = "  ".join(h.ljust(w) for h, w in zip(headings, widths, strict=True))
    print(line)
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
