"""Benchmark 6: notebook 01's quick mode, before and after, over three seeds.

Notebook 01's training run (section 5) and its evaluation (section 6), as the
notebook does them: ``helpers.course_unet`` with notebook 01's quick-mode filters (16),
soft Jaccard loss, Adam 1e-3, ``helpers.augmented_batches`` (random 128 crops,
flips and quarter turns, batch 8), validation on images 24-26 after every
epoch, the best epoch by validation loss kept, the whole 512 x 512 test images
(27-29) predicted, threshold 0.5. Each seed changes the initial weights, the
crops and the dropout masks together.

``RECIPES["before"]`` is 8 epochs of 50 steps and ``RECIPES["after"]`` 16 epochs of
50, the two quick modes that issue 14 compared, both written out as records. Issue 14
moved quick mode to *after*; issue 22 moved it back to *before*, so that notebook 01
fits its time budget on a slower 2-core machine (*after* was 0.005 lower in test pixel
error, 0.001 with the mean of 8 flips). Quick mode as notebook 01 sets it now is
``helpers.BUDGETS["quick"]["01_introduction"]``, which ``--only now`` runs. The figures are
the mean, the standard deviation and the range of the test pixel error and
Rand error over the seeds, and each run's training time. Each model is also
measured with test-time augmentation (``helpers.predict_with_flips``: the mean prediction over
the 8 flips and quarter turns), a candidate the notebook keeps only if it helps,
and with that mean thresholded where it gives the lowest pixel error on the
validation images (never chosen on test).

``CANDIDATES`` are changes to *after* that were measured and not kept (run
them with ``--only``): the optimiser's exponential moving average of the
weights (``Adam(use_ema=True)``, the average validated and kept), the same
with BCE + Jaccard as the loss, and 4 times the steps.

    python -m benchmarks.bench_quick_mode                # before and after, seeds 0 1 2
    python -m benchmarks.bench_quick_mode --only after --seeds 0
    python -m benchmarks.bench_quick_mode --only after --only ema
"""

from __future__ import annotations

import time

import numpy as np

import helpers
from benchmarks import _common as C

TITLE = "Benchmark 6: notebook 01 quick mode, before and after, over seeds"
NAME = "quick_mode"
QUICK = {"seeds": (0, 1, 2)}
FULL = QUICK  # a CPU benchmark: quick mode is what it measures

_NB01 = helpers.BUDGETS["quick"]["01_introduction"]
#: Notebook 01's quick-mode settings (section 5), before and after issue 14 (records);
#: "now" is its budget today (issue 22 went back to "before").
RECIPES = {
    "before": dict(epochs=8, steps_per_epoch=50, patch=128, batch=8),
    "after": dict(epochs=16, steps_per_epoch=50, patch=128, batch=8),
}
#: Changes to "after", measured for issue 14 and not kept (see the module docstring).
CANDIDATES = {
    "ema": dict(RECIPES["after"], ema=0.99),
    "bce_jaccard+ema": dict(RECIPES["after"], loss="bce_jaccard_loss", ema=0.99),
    "4x steps": dict(RECIPES["after"], epochs=64),
}
NOW = {"now": dict(epochs=_NB01["epochs"], steps_per_epoch=_NB01["steps_per_epoch"],
                  patch=_NB01["patch"], batch=_NB01["batch"])}
ALL_RECIPES = RECIPES | CANDIDATES | NOW
#: Thresholds tried on the validation images for the lowest pixel error.
THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.05), 2)


def run_once(recipe: dict, split: dict, seed: int, *, scale: float = 1.0) -> dict:
    import keras

    helpers.setup(mode="quick", seed=42 + seed, verbose=False)
    x_train, y_train = split["train"]
    keras.utils.set_random_seed(4 + 100 * seed)  # notebook 01: 4, its initial weights
    model = helpers.course_unet(_NB01["filters"])
    ema = recipe.get("ema", 0.0)
    model.compile(optimizer=keras.optimizers.Adam(
                      learning_rate=1e-3,
                      **({"use_ema": True, "ema_momentum": ema} if ema else {})),
                  loss=getattr(helpers, recipe.get("loss", "soft_jaccard_loss")))
    batches = helpers.augmented_batches(x_train, y_train, patch_size=recipe["patch"],
                                        batch_size=recipe["batch"], seed=5 + 100 * seed)

    class KeepBest(keras.callbacks.Callback):  # the notebook's checkpoint, in memory
        best, weights, epoch = np.inf, None, 0

        def on_epoch_end(self, epoch, logs=None):
            if logs["val_loss"] < self.best:
                self.best, self.epoch = logs["val_loss"], epoch
                self.weights = self.model.get_weights()

    keep = KeepBest()
    keras.utils.set_random_seed(5 + 100 * seed)  # notebook 01: 5, its dropout masks
    start = time.perf_counter()
    model.fit(batches, steps_per_epoch=max(1, round(recipe["steps_per_epoch"] * scale)),
              epochs=max(1, round(recipe["epochs"] * scale)),
              validation_data=split["validation"], validation_batch_size=1,
              # With EMA, validate (and keep) the averaged weights, not the raw ones.
              callbacks=([keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if ema else [])
              + [keep], shuffle=False, verbose=0)
    train_seconds = time.perf_counter() - start
    model.set_weights(keep.weights)
    x_test, y_test = split["test"]
    probabilities = model.predict(x_test, batch_size=1, verbose=0)
    flipped = helpers.predict_with_flips(model, x_test, batch_size=1)
    x_val, y_val = split["validation"]
    flipped_val = helpers.predict_with_flips(model, x_val, batch_size=1)
    sweep = helpers.threshold_sweep(y_val, flipped_val, thresholds=THRESHOLDS, rand=False)
    threshold = float(sweep.loc[sweep["pixel_error"].idxmin(), "threshold"])
    return {"seed": seed, "best_epoch": keep.epoch + 1, "train_seconds": round(train_seconds, 1),
            "val_threshold": threshold,
            "pixel_error_flip_mean_val_threshold": round(float(
                helpers.pixel_error(y_test, flipped, threshold=threshold)), 4),
            **{key: round(float(value), 4) for key, value in
               C.seg_measures(y_test, probabilities).items()},
            **{f"{key}_flip_mean": round(float(value), 4) for key, value in
               C.seg_measures(y_test, flipped).items()}}


def add_options(p):
    p.add_argument("--seeds", type=int, nargs="+", default=None)
    p.add_argument("--only", choices=sorted(ALL_RECIPES), action="append")
    p.add_argument("--scale", type=float, default=1.0,
                   help="fraction of each recipe's epochs and steps (1: as the notebook)")


def measure(run):
    data = helpers.load_isbi2012_or_synthetic(verbose=False)
    split = helpers.split_dataset(data.images, data.masks)
    results = {}
    for name in run.args.only or list(RECIPES):
        runs = []
        for seed in run.settings["seeds"]:
            runs.append(run_once(ALL_RECIPES[name], split, seed, scale=run.args.scale))
            print(f"{name}, seed {seed}: {runs[-1]}", flush=True)
        summary = {}
        for measure_name in ("pixel_error", "rand_error", "pixel_error_flip_mean",
                             "rand_error_flip_mean", "pixel_error_flip_mean_val_threshold",
                             "val_threshold", "train_seconds"):
            values = np.array([r[measure_name] for r in runs], dtype=float)
            summary[measure_name] = {"mean": round(float(values.mean()), 4),
                                     "std": round(float(values.std(ddof=1)), 4)
                                     if len(values) > 1 else None,
                                     "min": float(values.min()), "max": float(values.max())}
        results[name] = {"recipe": ALL_RECIPES[name], "runs": runs, "summary": summary}
        for measure_name, figures in summary.items():
            print(f"{name}: {measure_name} {figures}", flush=True)
    return {"settings": {**run.settings, "scale": run.args.scale}, "recipes": results}, results


main = C.main_of(__name__)

if __name__ == "__main__":
    main()
