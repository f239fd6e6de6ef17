"""Shared plumbing for the benchmark scripts in this folder.

Each ``bench_*.py`` script imports this module first: it keeps TensorFlow quiet,
loads the data through `helpers`, builds the two recipes' models, times training
against a wall-clock budget, samples peak memory, describes the machine, and
writes results as JSON into ``benchmarks/results/`` (git-ignored).

TensorFlow, Keras and keras-unet are imported lazily (`import_tf`), so that
``run_all.py`` can read results and write the README without them.
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
import warnings
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

# The original workshop's two recipes, read from its notebooks
# (doktor-nick/adv-ML-image-segmentation-with-UNET). "intro cell N" is a code cell of
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


# --------------------------------------------------------------------------- TensorFlow


_TF = None


def import_tf() -> SimpleNamespace:
    """Import TensorFlow, Keras and keras-unet quietly; turn on GPU memory growth.

    Returns a namespace with ``tf``, ``keras``, keras-unet's ``custom_unet``,
    ``get_augmented``, ``get_patches``, ``reconstruct_from_patches``,
    ``jaccard_distance``, and ``gpus`` (device names, empty on a CPU).
    """
    global _TF
    if _TF is not None:
        return _TF
    # keras-unet builds Model(inputs=[x]); calling it on a bare array (as
    # model.predict does here) makes Keras 3 warn about the structure. Harmless.
    warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")
    helpers.start_tensorflow()  # quietly, with GPU memory growth, keras-unet's banner held
    import keras
    import tensorflow as tf
    from keras_unet.losses import jaccard_distance
    from keras_unet.models import custom_unet
    from keras_unet.utils import get_augmented, get_patches, reconstruct_from_patches

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

    Falls back to the synthetic look-alike as the notebooks do
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


def build_ours(filters: int = 16):
    """The course's U-Net, exactly as notebook 01 builds it (`helpers.COURSE_UNET`)."""
    return import_tf().custom_unet(filters=filters, **helpers.COURSE_UNET)


def build_original(input_shape=(TILE, TILE, 1)):
    """The workshop's U-Net (intro cell 8; further cell 24 with a 128 tile).

    ``custom_unet(input_shape, use_batch_norm=False, num_classes=1, filters=64,
    dropout=0.2, output_activation='sigmoid')``, keras-unet's defaults otherwise.
    """
    return import_tf().custom_unet(
        input_shape=input_shape,
        use_batch_norm=False,
        num_classes=1,
        filters=INTRO["filters"],
        dropout=INTRO["dropout"],
        output_activation="sigmoid",
    )


def train_for(model, batches, seconds: float) -> dict:
    """``model.fit`` on endless `batches` until `seconds` of wall-clock time have passed.

    The clock starts when ``fit`` starts (graph tracing counts, as it does for a
    learner), and is checked after every batch. Returns steps done and times.
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
    model.fit(batches, steps_per_epoch=10**9, epochs=1, verbose=0, callbacks=[budget],
              shuffle=False)
    return {
        "steps": budget.steps,
        "train_seconds": round(budget.elapsed, 2),
        "fit_seconds": round(time.perf_counter() - start, 2),
    }


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


def flip_mean(predict, images):
    """Test-time augmentation: the mean of ``predict`` over the 8 flips and quarter turns.

    Each view is predicted, turned back, and the 8 are averaged. `predict` maps a
    batch (N, H, W, C) to probabilities of the same height and width.
    """
    import numpy as np

    total = 0
    for turns in range(4):
        for flip in (False, True):
            view = np.rot90(images, turns, axes=(1, 2))
            view = view[:, :, ::-1] if flip else view
            out = np.asarray(predict(np.ascontiguousarray(view)))
            out = out[:, :, ::-1] if flip else out
            total = total + np.rot90(out, -turns, axes=(1, 2))
    return total / 8


def seg_measures(masks, probabilities) -> dict:
    """Pixel error, membrane IoU and Rand error at threshold 0.5, through `helpers`."""
    return {
        "pixel_error": helpers.pixel_error(masks, probabilities),
        "iou_membrane": helpers.iou_per_class(masks, probabilities)["membrane"],
        "rand_error": helpers.rand_error(masks, probabilities),
    }


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
