"""Benchmark 1: quality per unit of time, by cross-validation over the 30 labelled images.

The ISBI 2012 challenge published labels for its 30 training images only, so
recipes are ranked by cross-validation over them: fold f tests images 3f, 3f + 1
and 3f + 2 and trains on the other 27 (10 folds). ``--full`` runs all 10; the
quick default runs 3 of them (folds 0, 5 and 9), and ``--folds K`` any K, spread
over the stack and always with fold 9, whose test images are the course's test
split 27-29. Every recipe trains in every fold for the same wall-clock budget
(the clock starts with ``fit`` and is checked after every batch), with the same
seed (``--seed`` + the fold's number), on the same 27 images, and is measured on
the same 3 test images at 512 x 512. The 30 images are consecutive sections of one
stack, so a fold's test images have neighbours among its training images (the
course's own split keeps its validation images 24-26 between the two): every
recipe is helped by that alike.

Measures (`_common.challenge_measures`): the ISBI 2012 challenge's V_rand and
V_info (thinned; higher is better), its old pixel and Rand errors (1 - a best
F-score; lower is better), each at the best of its thresholds 0, 0.1, ..., 1 on
the test fold itself, as the challenge reports them: the threshold is picked on
the images that are scored, for every recipe alike, so the figures are a little
flattering; and the plain pixel error (the fraction of wrong pixels) at 0.5.
V_rand (thinned) is the primary measure, by which the leaderboard is sorted.

Each recipe's figure is its mean over the folds with a 95% t-interval over folds
(df = k - 1, scipy.stats). Each of our two recipes is compared with every other
recipe fold by fold: the paired difference (ours - the other) has a mean and a
95% t-interval, and a recipe is called better only where that interval excludes
0; otherwise the two are "not separable" at this number of folds.

Recipes (the workshop's settings are in ``_common.INTRO`` and ``_common.TILES``,
each cited by notebook and cell; ZeroCostDL4Mic's in ``_common.ZEROCOST``, cited
by the cell of its notebook):

original_intro   the workshop's introduction: whole images and masks resized to
                 128 x 128 (nearest, so masks stay binary), get_augmented with
                 batch 5 and shear 30, custom_unet(64 filters, no batch norm,
                 dropout 0.2), binary cross-entropy, Adam 1e-4. It predicts the
                 test images at 128 (resized the same way), and each predicted
                 pixel is repeated over its 4 x 4 block to measure at 512.
original_tiles   the workshop's further topics: non-overlapping 128 tiles of the
                 512 images (get_patches), get_augmented with batch 10 and shear
                 20, the same model, keras-unet's jaccard_distance, Adam 1e-3;
                 reconstruct_from_patches at test time.
zerocostdl4mic   ZeroCostDL4Mic's U-Net 2D at its defaults: patches cut once at
                 its estimated size (whole 512 images here), kept if >= 2%
                 foreground, min-max normalised to 8 bits; ImageDataGenerator
                 augmentation (masks interpolated), images percentile-normalised;
                 its own unet() (64 filters, 2 poolings, no batch norm), weighted
                 BCE with balanced class weights, Adam 3e-4, batch 4; 10% of the
                 patches for validation, ReduceLROnPlateau and the best weights by
                 validation loss; non-overlapping, percentile-normalised prediction.
                 Its own threshold rule (the mean of each test image's best
                 threshold by IoU, picked on those images, as its quality control
                 does) is reported beside the challenge's maximum.
ours_nb01        notebook 01: custom_unet(16 filters, batch norm, spatial dropout
                 0.1), soft Jaccard loss, Adam 1e-3, helpers.augmented_batches
                 (random 128 crops of the 512 images, exact flips and turns,
                 batch 8); predicts whole 512 images (fully convolutional).
ours_nb02        notebook 02: the same with BCE + Jaccard loss, predicted with
                 helpers.predict_tiled (128 tiles, overlap 32). Its model from the
                 fold that tests images 27-29 (fold 9, so it never trained on
                 them) is saved to benchmarks/results/ours_nb02.keras (beside
                 --json), where bench_tiling measures its seams on those images.

Where the benchmark departs from the recipes, and why:

- Data: the workshop split the 30 images at random (intro cell 22: 24 train, 6
  validation; further cell 13: 15 / 8 / 7), and ZeroCostDL4Mic trains on a
  folder. Here every recipe trains on the fold's 27 images (ZeroCostDL4Mic keeps
  10% of them for its validation, as it does), so that all are measured on the
  same unseen images.
- Length: the workshop trained for a number of steps (intro: 20 x 100; further
  topics: 12 x 100, keeping the best by validation loss) and ZeroCostDL4Mic for
  100 epochs. Here every recipe trains for the same time instead, and the steps
  each one managed are reported, beside the number its own schedule has.
- ZeroCostDL4Mic in detail: see ``_common.ZEROCOST`` and the functions after it
  (its validation, plateau schedule and best checkpoint are kept within the
  budget; the checkpoint is held in memory; its generator seed is the fold's seed,
  not its fixed 1, so that every recipe shares the seeds).

Quick (default): folds 0, 5 and 9, 60 s per recipe and fold, and ours at the
notebooks' quick-mode filters, crops and batch (``helpers.BUDGETS["quick"]``: 16
filters, 128 crops, batch 8). --full: all 10 folds, 900 s per recipe and fold, and
ours at the full-mode ones (``helpers.BUDGETS["full"]``: 32 filters, 256 crops), as
notebook 01 uses on a GPU; the other recipes stay as they are. Only the notebooks'
filters, crops and batch are taken from their budgets: their length is replaced by
the time budget, as for every recipe. The script prints what the 10 folds would cost,
estimated from the measured time per fold.

    python -m benchmarks.bench_quality --budget 60 --folds 3
"""

from __future__ import annotations

import math
import time
from types import SimpleNamespace

import numpy as np

import helpers
from benchmarks import _common as C
from benchmarks import report

TITLE = "Benchmark 1: quality after the same training time, by cross-validation"
NAME = "quality"
FOLD_SIZE = 3  # test images per fold: fold f tests 3f, 3f + 1, 3f + 2

def _ours(mode: str) -> dict:
    """Our recipes' filters, crops and batch: notebook 01's budget in `mode` (notebook 02's
    main model has the same: helpers.BUDGETS)."""
    budget = helpers.BUDGETS[mode]["01_introduction"]
    return {"ours_filters": budget["filters"], "ours_patch": budget["patch"],
            "ours_batch": budget["batch"]}


QUICK = {"budget_s": 60.0, "folds": 3, **_ours("quick")}
FULL = {"budget_s": 900.0, "folds": 10, **_ours("full")}
MODEL_FILE = "ours_nb02.keras"
RECIPES = ("original_intro", "original_tiles", "zerocostdl4mic", "ours_nb01", "ours_nb02")
MEASURES = report.MEASURES  # v_rand first: the primary measure

LABELS = {
    "original_intro": "workshop introduction: 128x128 nearest resize, 64 filters, no batch "
                      "norm, BCE, Adam 1e-4, batch 5; predicted at 128, nearest-upsampled "
                      "to 512",
    "original_tiles": "workshop further topics: non-overlapping 128 tiles, 64 filters, no "
                      "batch norm, jaccard_distance, Adam 1e-3, batch 10; "
                      "reconstruct_from_patches",
    # Each setting cited in _common.ZEROCOST (zc cells of U-Net_2D_ZeroCostDL4Mic.ipynb at
    # HenriquesLab/ZeroCostDL4Mic commit 481a3f3e).
    "zerocostdl4mic": "ZeroCostDL4Mic U-Net 2D (v2.2.1 defaults): whole 512x512 images as "
                      "its patches, min-max 8-bit, ImageDataGenerator augmentation (masks "
                      "interpolated), its unet() with 64 filters, 2 poolings, no batch norm, "
                      "weighted BCE, Adam 3e-4, batch 4, 10% validation, best by val_loss; "
                      "percentile-normalised non-overlapping predict",
    # Ours at the quick budget; `labels` names the settings of the run.
    "ours_nb01": "notebook 01: {ours_filters} filters, batch norm, random {ours_patch} crops, "
                 "soft Jaccard, Adam 1e-3, batch {ours_batch}; whole-image predict",
    "ours_nb02": "notebook 02: {ours_filters} filters, batch norm, random {ours_patch} crops, "
                 "BCE + Jaccard, Adam 1e-3, batch {ours_batch}; overlap-tile predict "
                 "(overlap 32)",
}


def labels(settings=QUICK) -> dict:
    """Each recipe's label, ours with the filters, crops and batch of `settings`."""
    return {name: label.format(**settings) if name in report.OURS else label
            for name, label in LABELS.items()}


def fold_numbers(count: int, total: int) -> list[int]:
    """`count` of the `total` folds, spread evenly over the stack, the last always in.

    >>> fold_numbers(3, 10), fold_numbers(2, 10), fold_numbers(1, 10)
    ([0, 5, 9], [0, 9], [9])
    """
    if not 1 <= count <= total:
        raise ValueError(f"--folds must be between 1 and {total}, got {count}.")
    if count == 1:
        return [total - 1]
    return sorted({total - 1 - (i * (total - 1)) // (count - 1) for i in range(count)})


def fold_split(data, fold: int):
    """The fold's data: it tests images 3f..3f+2 and trains on all the others."""
    test = list(range(FOLD_SIZE * fold, FOLD_SIZE * (fold + 1)))
    train = [i for i in range(len(data.images)) if i not in test]
    return test, SimpleNamespace(x_train=data.images[train], y_train=data.masks[train],
                                 x_test=data.images[test], y_test=data.masks[test])


# --------------------------------------------------------------------------- recipes


def run_original_intro(data, budget_s, seed):
    lib = C.import_tf()
    recipe = C.INTRO
    lib.keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    x_small = C.resize_nearest(data.x_train, recipe["size"])
    y_small = C.resize_nearest(data.y_train, recipe["size"])
    prep = time.perf_counter() - start
    model = C.build_original((recipe["size"], recipe["size"], 1))
    model.compile(optimizer=lib.keras.optimizers.Adam(learning_rate=recipe["learning_rate"]),
                  loss=recipe["loss"])
    batches = C.workshop_batches(x_small, y_small, recipe["batch"], recipe["augment"])
    record = C.train_for(model, batches, budget_s)
    start = time.perf_counter()
    # The workshop predicted the test images at 128, one at a time (intro cells 40, 44).
    small = model.predict(C.resize_nearest(data.x_test, recipe["size"]), batch_size=1,
                          verbose=0)
    probabilities = C.upsample_nearest(small, data.y_test.shape[1])
    record["predict_seconds"] = round(time.perf_counter() - start, 2)
    record["prep_seconds"] = round(prep, 2)
    record["settings"] = {k: v for k, v in recipe.items() if k != "augment"}
    return record, probabilities, model


def run_original_tiles(data, budget_s, seed):
    lib = C.import_tf()
    recipe = C.TILES
    size = recipe["size"]
    lib.keras.utils.set_random_seed(seed)
    x_tiles = lib.get_patches(data.x_train, size=size, stride=size)
    y_tiles = lib.get_patches(data.y_train, size=size, stride=size)
    model = C.build_original((size, size, 1))
    model.compile(optimizer=lib.keras.optimizers.Adam(learning_rate=recipe["learning_rate"]),
                  loss=lib.jaccard_distance)
    batches = C.workshop_batches(x_tiles, y_tiles, recipe["batch"], recipe["augment"])
    record = C.train_for(model, batches, budget_s)
    start = time.perf_counter()
    # Every test image cut into 16 tiles, pasted back without averaging (further cell 39).
    probabilities = helpers.predict_non_overlapping(model, data.x_test, tile_size=size,
                                                    batch_size=16)
    record["predict_seconds"] = round(time.perf_counter() - start, 2)
    record["settings"] = {k: v for k, v in recipe.items() if k != "augment"}
    return record, probabilities, model


def run_zerocost(data, budget_s, seed):
    """ZeroCostDL4Mic's U-Net 2D, its sections 3 to 6 in order (see ``_common.ZEROCOST``)."""
    lib = C.import_tf()
    recipe = C.ZEROCOST
    lib.keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    patch = C.zerocost_patch_size(data.x_train)  # zc cell 18: estimatePatchSize
    x, y = C.zerocost_patches(data.x_train, data.y_train, patch)  # zc cell 18: create_patches
    class_weights = C.zerocost_class_weights(data.y_train)  # zc cell 25: getClassWeights
    # zc cell 18: steps per epoch so that an epoch sees the training patches once, and
    # enough validation steps for the validation patches.
    steps_per_epoch = math.ceil((1 - recipe["validation_fraction"]) * len(x) / recipe["batch"])
    validation_steps = max(1, math.ceil(recipe["validation_fraction"] * len(x)
                                        / recipe["batch"]))
    training, validation = C.zerocost_generators(x, y, seed=seed)  # zc cell 25
    prep = time.perf_counter() - start
    model = C.build_zerocost((*patch, 1), filters=recipe["filters"],  # zc cell 25: unet()
                             pooling_steps=recipe["pooling_steps"], dropout=recipe["dropout"])
    model.compile(optimizer=lib.keras.optimizers.Adam(learning_rate=recipe["learning_rate"]),
                  loss=C.zerocost_loss(class_weights))
    best = C.best_by_validation()  # zc cell 25: ModelCheckpoint(save_best_only) on val_loss
    plateau = lib.keras.callbacks.ReduceLROnPlateau(**recipe["plateau"])  # zc cell 25
    # zc cell 27: fit for number_of_epochs with both callbacks; here the budget ends it.
    record = C.train_for(model, training, budget_s, steps_per_epoch=steps_per_epoch,
                         epochs=recipe["epochs"], validation_data=validation,
                         validation_steps=validation_steps, callbacks=[best, plateau])
    record["best_epoch"] = best.restore()  # zc cells 33, 38 load weights_best.hdf5
    start = time.perf_counter()
    probabilities = C.zerocost_predict(model, data.x_test)  # zc cells 33, 38
    record["predict_seconds"] = round(time.perf_counter() - start, 2)
    record["prep_seconds"] = round(prep, 2)
    record["settings"] = {
        "patch": list(patch), "patches_kept": len(x), "class_weights": [
            round(float(w), 4) for w in class_weights],
        "steps_per_epoch": steps_per_epoch, "validation_steps": validation_steps,
        **{k: v for k, v in recipe.items() if k not in ("augment", "plateau", "percentiles")},
        "augment": recipe["augment"],
    }
    record["schedule_steps"] = recipe["epochs"] * steps_per_epoch
    return record, probabilities, model


def run_ours(data, budget_s, seed, *, loss, tiled, filters, patch, batch):
    lib = C.import_tf()
    lib.keras.utils.set_random_seed(seed)
    model = C.build_ours(filters)
    model.compile(optimizer=lib.keras.optimizers.Adam(learning_rate=1e-3), loss=loss)
    batches = helpers.augmented_batches(data.x_train, data.y_train, patch_size=patch,
                                        batch_size=batch, seed=seed)
    record = C.train_for(model, batches, budget_s)
    start = time.perf_counter()
    if tiled:
        probabilities = helpers.predict_tiled(model, data.x_test, tile_size=C.TILE, overlap=32,
                                              batch_size=16)
    else:
        probabilities = model.predict(data.x_test, batch_size=1, verbose=0)
    record["predict_seconds"] = round(time.perf_counter() - start, 2)
    record["settings"] = {"filters": filters, "batch_norm": True, "patch": patch,
                          "batch": batch, "learning_rate": 1e-3,
                          "predict": "predict_tiled(128, overlap 32)" if tiled else "whole image"}
    return record, probabilities, model


def run_recipe(name, data, budget_s, seed, settings):
    """(record, probabilities, model) of one recipe trained on one fold."""
    if name == "original_intro":
        return run_original_intro(data, budget_s, seed)
    if name == "original_tiles":
        return run_original_tiles(data, budget_s, seed)
    if name == "zerocostdl4mic":
        return run_zerocost(data, budget_s, seed)
    tiled = name == "ours_nb02"
    return run_ours(data, budget_s, seed, loss=helpers.bce_jaccard_loss if tiled
                    else helpers.soft_jaccard_loss, tiled=tiled,
                    filters=settings["ours_filters"], patch=settings["ours_patch"],
                    batch=settings["ours_batch"])


# --------------------------------------------------------------------------- figures


def summarise(folds, settings=QUICK) -> dict:
    """Per recipe: steps and seconds per fold, and each measure's mean and t-interval."""
    recipes = {}
    names = labels(settings)
    for name in RECIPES:
        records = [fold["recipes"][name] for fold in folds]
        recipes[name] = {
            "label": names[name],
            "steps": [r["steps"] for r in records],
            "train_seconds": [r["train_seconds"] for r in records],
            "summary": {m: C.t_interval([r[m] for r in records]) for m in MEASURES},
        }
        if name in ("original_intro", "original_tiles"):
            recipes[name]["workshop_steps"] = (C.INTRO if name == "original_intro"
                                               else C.TILES)["steps"]
        if name == "zerocostdl4mic":
            recipes[name]["schedule_steps"] = [r["schedule_steps"] for r in records]
            recipes[name]["own_threshold"] = {
                "threshold": C.t_interval([r["own_threshold"]["threshold"] for r in records]),
                "v_rand": C.t_interval([r["own_threshold"]["v_rand"] for r in records]),
            }
    return recipes


def paired(folds) -> list[dict]:
    """Each of ours against every other recipe, per measure: ours - other, fold by fold."""
    pairs = []
    done = set()
    for ours in report.OURS:
        done.add(ours)
        for other in (n for n in RECIPES if n not in done):  # each pair of ours once
            for measure in MEASURES:
                differences = [f["recipes"][ours][measure] - f["recipes"][other][measure]
                               for f in folds]
                pairs.append({"ours": ours, "other": other, "measure": measure,
                              **C.t_interval(differences)})
    return pairs


def estimate_full(folds, total: int, full_budget_s: float) -> dict:
    """What all `total` folds cost, estimated from the measured seconds per fold."""
    per_fold = [fold["seconds"] for fold in folds]
    mean = sum(per_fold) / len(per_fold)
    # Preparing, predicting, scoring, validating: the time per fold outside training.
    outside = [fold["seconds"] - sum(r["train_seconds"] for r in fold["recipes"].values())
               for fold in folds]
    outside_mean = max(sum(outside) / len(outside), 0)
    return {
        "measured_seconds_per_fold": [round(s) for s in per_fold],
        "outside_training_seconds_per_fold": [round(s) for s in outside],
        "folds": total,
        "at_this_budget_seconds": round(total * mean),
        "at_full_budget_seconds": round(total * (outside_mean + len(RECIPES) * full_budget_s)),
        "full_budget_s": full_budget_s,
        "note": "estimates: the number of folds times the measured mean seconds per fold; "
                "at --full's budget, times the measured mean time outside training plus "
                f"{len(RECIPES)} x {full_budget_s:.0f} s of training",
    }


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 5400 else f"{seconds / 60:.0f} min"


def print_figures(result) -> None:
    recipes, pairs, k = result["recipes"], result["pairs"], len(result["folds"])
    print(f"\nMean over {k} folds (95% t-interval over folds, df = {k - 1}); V_rand, V_info "
          "and the challenge's errors at the best of its thresholds on each test fold:")
    rows = [[name, f"{sum(r['steps']) / k:.0f}",
             *(report.interval_text(r["summary"][m], report.DIGITS[m]) for m in MEASURES)]
            for name, r in recipes.items()]
    guess = result["all_interior"]["summary"]
    rows.insert(0, ["all-interior guess", "-",
                    *(report.interval_text(guess[m], report.DIGITS[m]) for m in MEASURES)])
    C.print_table(rows, ["recipe", "steps", *(report.SHORT[m] for m in MEASURES)])
    own = recipes["zerocostdl4mic"]["own_threshold"]
    print(f"ZeroCostDL4Mic's own threshold rule (picked on each test fold by IoU): threshold "
          f"{report.interval_text(own['threshold'], 2)}, V_rand there "
          f"{report.interval_text(own['v_rand'], 3)}")
    print("\nPaired differences in V_rand (thinned), ours - other, per fold:")
    C.print_table([[p["ours"], p["other"], report.interval_text(p, 3, sign=True),
                    report.verdict(p)] for p in pairs if p["measure"] == "v_rand"],
                  ["ours", "other", "difference (95% interval)", "verdict"])


# --------------------------------------------------------------------------- the run


def add_options(p):
    p.add_argument("--budget", dest="budget_s", type=float, default=None,
                   help="training seconds per recipe and fold (default: 60 quick, 900 full)")
    p.add_argument("--folds", dest="folds", type=int, default=None,
                   help="how many of the 10 folds to run, spread over the stack and always "
                        "with fold 9 (tests 27-29) (default: 3 quick, 10 full)")


def measure(run):
    data, args, settings = run.data, run.args, run.settings
    budget = settings["budget_s"]
    total = len(data.images) // FOLD_SIZE
    folds = fold_numbers(settings["folds"], total)
    print(f"cross-validation: folds {', '.join(map(str, folds))} of {total} (fold f tests "
          f"images {FOLD_SIZE}f..{FOLD_SIZE}f+{FOLD_SIZE - 1}, trains on the other "
          f"{len(data.images) - FOLD_SIZE}); {budget:.0f} s of training per recipe and fold; "
          f"seed {args.seed} + fold")
    print(f"estimate before measuring: at least {_duration(len(folds) * len(RECIPES) * budget)}"
          " of training alone")
    print("V_rand, V_info and the challenge's pixel and Rand errors are taken at the best of "
          "the challenge's thresholds (0, 0.1, ..., 1) on each test fold itself, as the "
          "challenge reports them; pixel error at 0.5.")

    model_path = (args.json.parent if args.json else C.RESULTS) / MODEL_FILE
    records = []
    for fold in folds:
        test, fold_data = fold_split(data, fold)
        seed = args.seed + fold
        print(f"\n--- fold {fold}: test images {test[0]}-{test[-1]}, seed {seed}", flush=True)
        fold_start = time.perf_counter()
        results = {}
        for name in RECIPES:
            C.import_tf().keras.backend.clear_session()
            start = time.perf_counter()
            print(f"training {name} for {budget:.0f} s ...", flush=True)
            record, probabilities, model = run_recipe(name, fold_data, budget, seed, settings)
            record.update(C.challenge_measures(fold_data.y_test, probabilities))
            if name == "zerocostdl4mic":  # its quality control's threshold, on the test fold
                own = C.zerocost_threshold(fold_data.y_test, probabilities)
                own["v_rand"] = helpers.v_rand(fold_data.y_test, probabilities,
                                               threshold=own["threshold"])
                record["own_threshold"] = own
            if name == "ours_nb02" and test == list(helpers.SPLIT["test"]):
                model_path.parent.mkdir(parents=True, exist_ok=True)
                model.save(model_path)  # for bench_tiling's seams: never trained on 27-29
                record["saved_model"] = C.display_path(model_path)
            record["seconds"] = round(time.perf_counter() - start, 1)
            results[name] = record
            print(f"  {record['steps']} steps in {record['train_seconds']:.0f} s; V_rand "
                  f"{record['v_rand']:.4f} (at {record['v_rand_threshold']:.1f}), V_info "
                  f"{record['v_info']:.4f}, challenge pixel error "
                  f"{record['isbi_pixel_error']:.4f}, pixel error at 0.5 "
                  f"{record['pixel_error']:.4f}; {record['seconds']:.0f} s in all", flush=True)
        guess = C.challenge_measures(fold_data.y_test, np.ones_like(fold_data.y_test))
        records.append({"fold": fold, "test_images": test, "seed": seed, "recipes": results,
                        "all_interior": guess,
                        "seconds": round(time.perf_counter() - fold_start, 1)})

    result = {
        "settings": {**settings, "seed": args.seed, "folds": folds, "total_folds": total,
                     "fold_size": FOLD_SIZE, "measures": list(MEASURES), "primary": "v_rand",
                     "confidence": 0.95,
                     "thresholds": "v_rand, v_info, isbi_pixel_error, isbi_rand_error: the "
                                   "best of 0, 0.1, ..., 1 on each test fold (the "
                                   "challenge's maximum); pixel_error, iou_membrane: 0.5"},
        "folds": records,
        "all_interior": {"summary": {m: C.t_interval([f["all_interior"][m] for f in records])
                                     for m in MEASURES}},
        "recipes": summarise(records, settings),
        "pairs": paired(records),
    }
    result["timing"] = estimate_full(records, total, FULL["budget_s"])
    print_figures(result)
    timing = result["timing"]
    print(f"\ntime per fold (all {len(RECIPES)} recipes): "
          f"{', '.join(f'{s} s' for s in timing['measured_seconds_per_fold'])}")
    print(f"ESTIMATE, from the measured time per fold: all {total} folds at this budget "
          f"~{_duration(timing['at_this_budget_seconds'])}; at --full's "
          f"{FULL['budget_s']:.0f} s per recipe ~{_duration(timing['at_full_budget_seconds'])}"
          " (on this machine; a GPU shortens everything but the budget)")
    print("\ngoals:")
    for goal, verdict, evidence in report.quality_goals({**result, "mode": run.mode,
                                                         "machine": run.machine}):
        print(f"  [{verdict}] {goal}: {evidence}")
    return result, result


main = C.main_of(__name__)  # options, settings, data, then measure() and the results file


if __name__ == "__main__":
    main()
