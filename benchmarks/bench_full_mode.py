"""Benchmark 5: the notebooks' full-mode main models, trained to the end on a GPU.

Full mode is what a learner gets on a Colab GPU. This script trains the main
model of each notebook with the notebook's full-mode settings and measures it
on the test split (images 27-29) as the notebook does:

- notebook 01 (section 5): ``RECIPES["notebook_01"]``;
- notebook 02 (section 1): ``RECIPES["notebook_02"]``;
- notebook 02 (section 8): ``PAPER_METHODS``, plain BCE against BCE with the
  paper's border weights and against elastic deformation, each threshold
  chosen on validation.

Each main model is also measured with test-time augmentation (the mean over
the 8 flips and quarter turns).

Both keep the best checkpoint by validation loss, as the notebooks do. It also
times one training step in float32 and in ``mixed_float16`` (the same model,
the same batch), the question the notebooks leave to a GPU: on a CPU mixed
precision only adds casts, so the course keeps float32 there.

It needs Keras 3 on any backend, not TensorFlow, so that it runs wherever Keras
runs on a GPU; the backend is recorded with the figures, and timings on another
backend or GPU are not those of a Colab T4 with TensorFlow. keras-unet 0.1.2
imports TensorFlow when it is imported; without TensorFlow this script points
that one import at the ``tf.keras`` namespace that Keras 3 itself ships, so
keras-unet builds the same layers.

Usage::

    python benchmarks/bench_full_mode.py              # both notebooks, full budget
    python benchmarks/bench_full_mode.py --scale 0.01 # 1% of the steps: a rehearsal

Writes ``benchmarks/results/full_mode.json`` (or ``--output``).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import os
import platform
import sys
import tempfile
import time
import types
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import _common as C  # noqa: E402  (after the environment settings above)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SEED = 42

#: The notebooks' full-mode settings, as their code cells set them when QUICK is False.
RECIPES = {
    "notebook_01": dict(filters=32, patch=256, batch=8, epochs=60, steps_per_epoch=100,
                        loss="soft_jaccard_loss", predict="whole image"),
    "notebook_02": dict(filters=32, patch=256, batch=8, epochs=8, steps_per_epoch=1000,
                        loss="bce_jaccard_loss", predict="overlap-tile 128/32"),
}
#: Notebook 02, section 8, full mode: the main model's network, three ways, the same budget.
PAPER_METHODS = dict(filters=32, patch=256, batch=8, epochs=4, steps_per_epoch=500,
                     loss="binary_crossentropy", bn_momentum=0.9,
                     arms={"BCE": {}, "BCE + border weights": {"weights": True},
                           "BCE + elastic (sigma 10)": {"elastic": 10.0}})


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def custom_unet_class():
    """keras-unet's ``custom_unet``, importable with or without TensorFlow."""
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        pass
    else:
        from keras_unet.models import custom_unet

        return custom_unet
    # keras-unet imports `tensorflow` and, when it finds it, takes its layers from
    # `tensorflow.keras`; its plain-Keras branch imports names that Keras 3 dropped
    # (`keras.backend.int_shape`). Keras 3 ships the `tf.keras` namespace itself
    # (`keras._tf_keras.keras`, on any backend), so for this one import a stand-in
    # `tensorflow` points there; it is removed again at once.
    import keras._tf_keras.keras as tf_keras

    stand_ins = {"tensorflow": types.ModuleType("tensorflow")}
    stand_ins["tensorflow"].__version__ = "2.99.0"  # keras-unet asks for >= 2.0.0
    stand_ins["tensorflow"].keras = tf_keras
    for name in ("", ".backend", ".layers", ".models", ".preprocessing",
                 ".preprocessing.image"):
        stand_ins[f"tensorflow.keras{name}"] = importlib.import_module(
            f"keras._tf_keras.keras{name}")
    sys.modules.update(stand_ins)
    try:
        from keras_unet.models import custom_unet
    finally:
        for name in stand_ins:
            del sys.modules[name]
    return custom_unet


def build_unet(filters: int):
    """The course U-Net (helpers.COURSE_UNET), its input declared as the notebooks do."""
    import keras

    import helpers

    net = custom_unet_class()(filters=filters, **helpers.COURSE_UNET)
    return keras.Model(net.inputs[0], net.outputs[0], name=net.name)


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

    import helpers

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
    flipped = C.flip_mean(predict, data["x_test"])
    _save(save, name, test=probabilities, test_flip_mean=flipped, val=predict(data["x_val"]),
          val_flip_mean=C.flip_mean(predict, data["x_val"]))
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

    import helpers

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


def step_times(data: dict, *, filters: int, patch: int = 256, batch: int = 8,
               repeats: int = 20) -> dict:
    """Median milliseconds per training step in float32 and in mixed_float16."""
    import keras
    import numpy as np

    import helpers

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

    import keras

    import helpers

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
        results["step_ms"] = step_times(data, filters=args.filters or 32, repeats=args.repeats)
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
