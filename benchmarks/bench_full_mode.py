"""Benchmark 5: the notebooks' full-mode main models, trained to the end on a GPU.

Full mode is what a learner gets on a Colab GPU. This script trains the main
model of each notebook with the notebook's full-mode settings and measures it
on the test split (images 27-29) as the notebook does:

- notebook 01 (section 5): ``RECIPES["notebook_01"]``;
- notebook 02 (section 1): ``RECIPES["notebook_02"]``;
- notebook 02 (section 8): ``PAPER_METHODS``, plain BCE against BCE with the
  paper's border weights and against elastic deformation, each threshold
  chosen on validation.

Their filters, crops, batches and steps are the notebooks' own full-mode budget,
``helpers.BUDGETS["full"]``.

Each main model is also measured with test-time augmentation (the mean over
the 8 flips and quarter turns).

Both keep the best checkpoint by validation loss, as the notebooks do. It also
times one training step in float32 and in ``mixed_float16`` (the same model,
the same batch), the question the notebooks leave to a GPU: on a CPU mixed
precision only adds casts, so the course keeps float32 there.

It trains on Keras 3 on any backend (``KERAS_BACKEND``), so that it runs wherever
Keras runs on a GPU; the backend is recorded with the figures, and timings on another
backend or GPU are not those of a Colab T4 with TensorFlow. TensorFlow must be
installed all the same: keras-unet 0.1.2, which builds the course U-Net
(`helpers.course_unet`), imports it and takes its layers from ``tf.keras``, which in
TensorFlow 2.16 and later is Keras 3 itself, on the backend ``KERAS_BACKEND`` names.
(The H200 record in ``benchmarks/records/`` was made on a JAX machine without
TensorFlow, through a stand-in ``tensorflow`` module that this script no longer plants.)

Usage, from the repository root::

    python -m benchmarks.bench_full_mode              # both notebooks, full budget
    python -m benchmarks.bench_full_mode --scale 0.01 # 1% of the steps: a rehearsal

Writes ``benchmarks/results/full_mode.json`` (or ``--output``).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import helpers  # noqa: E402  (after the environment settings above)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SEED = 42

_NB01 = helpers.BUDGETS["full"]["01_introduction"]
_NB02 = helpers.BUDGETS["full"]["02_further_topics"]
#: Notebook 02 fits its main model in 8 epochs of main_steps // 8 (section 1), and each of
#: section 8's methods in 4 epochs of paper_steps // 4: the notebook's code, not a budget.
MAIN_EPOCHS, PAPER_EPOCHS = 8, 4
#: The notebooks' full-mode settings: helpers.BUDGETS["full"], as their code cells use it.
RECIPES = {
    "notebook_01": dict(filters=_NB01["filters"], patch=_NB01["patch"], batch=_NB01["batch"],
                        epochs=_NB01["epochs"], steps_per_epoch=_NB01["steps_per_epoch"],
                        loss="soft_jaccard_loss", predict="whole image"),
    "notebook_02": dict(filters=_NB02["filters"], patch=_NB02["patch"], batch=_NB02["batch"],
                        epochs=MAIN_EPOCHS, steps_per_epoch=_NB02["main_steps"] // MAIN_EPOCHS,
                        loss="bce_jaccard_loss", predict="overlap-tile 128/32"),
}
#: Notebook 02, section 8, full mode: the main model's network, three ways, the same budget.
PAPER_METHODS = dict(filters=_NB02["filters"], patch=_NB02["patch"], batch=_NB02["batch"],
                     epochs=PAPER_EPOCHS, steps_per_epoch=_NB02["paper_steps"] // PAPER_EPOCHS,
                     loss="binary_crossentropy", bn_momentum=0.9,
                     arms={"BCE": {}, "BCE + border weights": {"weights": True},
                           "BCE + elastic (sigma 10)": {"elastic": 10.0}})

NO_TENSORFLOW = (
    "bench_full_mode needs TensorFlow installed: keras-unet 0.1.2, which builds the course "
    "U-Net, imports it. Fix: `pip install tensorflow` (or `tensorflow-cpu`: keras-unet only "
    "takes its layers from tf.keras, which is Keras 3 itself, so training still runs on the "
    "backend KERAS_BACKEND names, e.g. jax)."
)


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def require_tensorflow() -> None:
    """Stop with `NO_TENSORFLOW` when TensorFlow, which keras-unet imports, is missing."""
    try:
        import tensorflow  # noqa: F401
    except ImportError as error:
        raise SystemExit(NO_TENSORFLOW) from error


def build_unet(filters: int):
    """The course U-Net (`helpers.course_unet`), its input declared as the notebooks do."""
    require_tensorflow()
    return helpers.course_unet(filters)


def _gpu_names() -> list[str]:
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return [d.device_kind for d in jax.devices() if d.platform == "gpu"]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    if backend == "tensorflow":
        import tensorflow as tf

        return [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
                for gpu in tf.config.list_physical_devices("GPU")]
    return []


def _save(folder: Path | None, name: str, **arrays) -> None:
    import numpy as np

    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(folder / f"{name}.npz",
                            **{key: value.astype(np.float16) for key, value in arrays.items()})


def train_and_measure(name: str, recipe: dict, data: dict, *, scale: float,
                      filters: int | None, save: Path | None = None) -> dict:
    import keras


    keras.utils.set_random_seed(SEED)
    epochs = max(1, round(recipe["epochs"] * scale))
    steps = max(1, round(recipe["steps_per_epoch"] * scale))
    model = build_unet(filters or recipe["filters"])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss=getattr(helpers, recipe["loss"]))
    batches = helpers.augmented_batches(data["x_train"], data["y_train"],
                                        patch_size=recipe["patch"], batch_size=recipe["batch"],
                                        seed=SEED)
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = Path(folder) / f"{name}.keras"
        start = time.perf_counter()
        history = model.fit(batches, steps_per_epoch=steps, epochs=epochs,
                            validation_data=(data["x_val"], data["y_val"]),
                            validation_batch_size=1, verbose=2, shuffle=False,
                            callbacks=[keras.callbacks.ModelCheckpoint(
                                checkpoint, monitor="val_loss", save_best_only=True)])
        train_seconds = time.perf_counter() - start
        model = keras.models.load_model(checkpoint, custom_objects=helpers.custom_objects())
    if recipe["predict"] == "whole image":
        def predict(images):
            return model.predict(images, batch_size=1, verbose=0)
    else:
        def predict(images):
            return helpers.predict_tiled(model, images, tile_size=128, overlap=32)
    start = time.perf_counter()
    probabilities = predict(data["x_test"])
    predict_seconds = time.perf_counter() - start
    scores = helpers.evaluate(data["y_test"], probabilities)
    flipped = helpers.predict_with_flips(predict, data["x_test"])
    _save(save, name, test=probabilities, test_flip_mean=flipped, val=predict(data["x_val"]),
          val_flip_mean=helpers.predict_with_flips(predict, data["x_val"]))
    val_losses = history.history["val_loss"]
    return {
        **recipe,
        "filters_run": filters or recipe["filters"],
        "epochs_run": epochs,
        "steps_per_epoch_run": steps,
        "train_seconds": round(train_seconds, 1),
        "steps_per_second": round(epochs * steps / train_seconds, 2),
        "predict_seconds": round(predict_seconds, 2),
        "best_epoch": int(min(range(len(val_losses)), key=val_losses.__getitem__)) + 1,
        "test": {key: round(float(value), 4) for key, value in scores.items()},
        "test_flip_mean": {key: round(float(value), 4)
                           for key, value in helpers.evaluate(data["y_test"], flipped).items()},
    }


def paper_methods(data: dict, *, scale: float, filters: int | None,
                  save: Path | None = None) -> dict:
    """Notebook 02, section 8: BCE, + border weights, + elastic; thresholds on validation."""
    import keras


    recipe = PAPER_METHODS
    epochs = max(1, round(recipe["epochs"] * scale))
    steps = max(1, round(recipe["steps_per_epoch"] * scale))
    weights = helpers.border_weight_map(data["y_train"])
    results = {}
    for arm, options in recipe["arms"].items():
        keras.utils.set_random_seed(SEED)
        net = build_unet(filters or recipe["filters"])
        helpers.set_batch_norm_momentum(net, recipe["bn_momentum"])
        net.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=recipe["loss"])
        batch_options = {"weights": weights} if options.get("weights") else dict(options)
        batches = helpers.augmented_batches(data["x_train"], data["y_train"],
                                            patch_size=recipe["patch"],
                                            batch_size=recipe["batch"], seed=SEED,
                                            **batch_options)
        start = time.perf_counter()
        net.fit(batches, steps_per_epoch=steps, epochs=epochs, shuffle=False, verbose=2)
        train_seconds = time.perf_counter() - start
        val = net.predict(data["x_val"], batch_size=1, verbose=0)
        test = net.predict(data["x_test"], batch_size=1, verbose=0)
        sweep = helpers.threshold_sweep(data["y_val"], val)
        cut = float(sweep.loc[sweep["v_rand"].idxmax(), "threshold"])  # as notebook 02, section 8
        _save(save, "paper_" + arm.split()[-1].strip("()").replace(" ", "_"), val=val, test=test)
        results[arm] = {
            "train_seconds": round(train_seconds, 1),
            "threshold_from_validation": cut,
            "test": {key: round(float(value), 4) for key, value in
                     helpers.evaluate(data["y_test"], test, threshold=cut).items()},
            "membrane_at_half": round(float((test < 0.5).mean()), 4),
        }
        print(arm, json.dumps(results[arm]), flush=True)
    return {**{k: v for k, v in recipe.items() if k != "arms"}, "epochs_run": epochs,
            "steps_per_epoch_run": steps, "arms": results}


def step_times(data: dict, *, filters: int, patch: int = _NB01["patch"],
               batch: int = _NB01["batch"], repeats: int = 20) -> dict:
    """Median milliseconds per training step in float32 and in mixed_float16."""
    import keras
    import numpy as np


    x, y = next(helpers.augmented_batches(data["x_train"], data["y_train"], patch_size=patch,
                                          batch_size=batch, seed=SEED))
    results = {}
    for policy in ("float32", "mixed_float16"):
        keras.mixed_precision.set_global_policy(policy)
        try:
            keras.utils.set_random_seed(SEED)
            model = build_unet(filters)
            model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                          loss=helpers.bce_jaccard_loss)
            for _ in range(3):  # compiles, then warms up
                model.train_on_batch(x, y)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                model.train_on_batch(x, y)  # returns the loss as a number: the step is done
                times.append(time.perf_counter() - start)
            results[policy] = round(float(np.median(times)) * 1000, 2)
        finally:
            keras.mixed_precision.set_global_policy("float32")
    results["ratio_mixed_to_float32"] = round(results["mixed_float16"] / results["float32"], 3)
    results["settings"] = dict(filters=filters, patch=patch, batch=batch, repeats=repeats)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of each recipe's epochs and steps (1 = full mode)")
    parser.add_argument("--only", choices=[*sorted(RECIPES), "paper_methods", "step"],
                        action="append", help="run only this part (repeatable)")
    parser.add_argument("--save-probabilities", type=Path, default=None,
                        help="folder for each model's validation and test probabilities (.npz)")
    parser.add_argument("--filters", type=int, default=None,
                        help="override the recipes' filters (for a rehearsal on a CPU)")
    parser.add_argument("--repeats", type=int, default=20, help="timed steps per precision")
    parser.add_argument("--output", type=Path, default=RESULTS / "full_mode.json")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error(f"--scale must be in (0, 1], got {args.scale}")
    require_tensorflow()

    import keras


    data_set = helpers.load_isbi2012(verbose=False)
    parts = helpers.split_dataset(data_set.images, data_set.masks)
    data = {f"{axis}_{short}": parts[split][index]
            for short, split in (("train", "train"), ("val", "validation"), ("test", "test"))
            for index, axis in enumerate("xy")}
    all_interior = helpers.pixel_error(data["y_test"], data["y_test"] * 0 + 1)
    backend = keras.backend.backend()
    results = {
        "machine": {
            "gpus": _gpu_names(), "python": platform.python_version(),
            "keras": keras.__version__, "backend": backend,
            "backend_version": _version(backend),
            "keras_unet": _version("keras-unet"), "numpy": _version("numpy"),
        },
        "scale": args.scale,
        "all_interior_pixel_error": round(float(all_interior), 4),
        "recipes": {},
    }
    print(json.dumps(results["machine"]), flush=True)

    def write():  # after every part, so that a run cut short keeps what it measured
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=2) + "\n")

    parts_to_run = args.only or ["step", *sorted(RECIPES), "paper_methods"]
    if "step" in parts_to_run:
        results["step_ms"] = step_times(data, filters=args.filters or _NB01["filters"],
                                      repeats=args.repeats)
        print("step ms:", json.dumps(results["step_ms"]), flush=True)
        write()
    for name in (part for part in parts_to_run if part in RECIPES):
        results["recipes"][name] = train_and_measure(name, RECIPES[name], data,
                                                     scale=args.scale, filters=args.filters,
                                                     save=args.save_probabilities)
        print(name, json.dumps(results["recipes"][name]), flush=True)
        write()
    if "paper_methods" in parts_to_run:
        results["paper_methods"] = paper_methods(data, scale=args.scale, filters=args.filters,
                                                 save=args.save_probabilities)
        write()
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
