"""Benchmark 1: quality per unit of time.

Every recipe trains for the same wall-clock budget (the clock starts with
``fit`` and is checked after every batch), from the same seed, on the course's
training split (ISBI 2012 images 0-23), without validation or checkpoints. The
model at the end of the budget is measured on the test split (images 27-29) at
512 x 512: pixel error, membrane IoU and Rand error, each with its ratio to the
original recipe's.

Recipes:

original         the original workshop: images and masks downscaled to 128 x 128
                 (masks not binarised again), keras-unet get_augmented with the
                 workshop's arguments, custom_unet(filters=64, no batch norm,
                 keras-unet defaults otherwise), keras-unet jaccard_distance,
                 Adam 1e-4; predicts at 128 and upsamples the probabilities to 512
                 (bilinear), threshold 0.5.
original_tiles   its tile variant (--full, or --tile-variant): non-overlapping 128
                 tiles (get_patches) of the 512 images, same augmentation, model
                 and loss, Adam 1e-3; reconstruct_from_patches at test time.
ours_nb01        notebook 01: custom_unet(16 filters, batch norm, spatial dropout
                 0.1), soft Jaccard loss, Adam 1e-3, helpers.augmented_batches
                 (random 128 crops of the 512 images, exact flips and turns);
                 predicts whole 512 images (fully convolutional).
ours_nb02        notebook 02: the same with BCE + Jaccard loss, predicted with
                 helpers.predict_tiled (128 tiles, overlap 32). Its trained model
                 is saved to benchmarks/results/ours_nb02.keras (beside --json)
                 for bench_tiling.

Quick (default): 120 s per recipe. --full: 900 s per recipe, and ours at its
full-mode settings (32 filters, 256 crops), as notebook 01 uses on a GPU; the
original recipe stays as it was (that is the recipe).

    python benchmarks/bench_quality.py --budget 60
"""

from __future__ import annotations

import time

import _common as C
import numpy as np

NAME = "quality"
QUICK = {"budget_s": 120.0, "ours_filters": 16, "ours_patch": 128}
FULL = {"budget_s": 900.0, "ours_filters": 32, "ours_patch": 256}
MODEL_FILE = "ours_nb02.keras"

LABELS = {
    "original": "original: 128 downscale, get_augmented, jaccard_distance, 64 f, Adam 1e-4",
    "original_tiles": "original tiles: 128 tiles, get_augmented, jaccard_distance, Adam 1e-3",
    "ours_nb01": "ours, notebook 01: crops, soft Jaccard, whole-image predict",
    "ours_nb02": "ours, notebook 02: crops, BCE+Jaccard, overlap-tile predict",
}


def run_original(data, budget_s, seed):
    from skimage.transform import resize

    lib = C.import_tf()
    lib.keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    x_small, y_small = C.downscale_like_original(data.x_train, data.y_train)
    x_test_small, _ = C.downscale_like_original(data.x_test, data.y_test)
    prep = time.perf_counter() - start
    model = C.build_original()
    model.compile(optimizer=lib.keras.optimizers.Adam(1e-4), loss=lib.jaccard_distance)
    record = C.train_for(model, C.workshop_batches(x_small, y_small), budget_s)
    start = time.perf_counter()
    small = model.predict(x_test_small, batch_size=1, verbose=0)
    probabilities = resize(small, data.y_test.shape, order=1)  # back to 512, bilinear
    record["predict_seconds"] = round(time.perf_counter() - start, 2)
    record["prep_seconds"] = round(prep, 2)
    record["settings"] = "128x128 downscale, 64 filters, no batch norm, Adam 1e-4, batch 8"
    return record, probabilities


def run_original_tiles(data, budget_s, seed):
    lib = C.import_tf()
    lib.keras.utils.set_random_seed(seed)
    x_tiles = lib.get_patches(data.x_train, size=C.TILE, stride=C.TILE)
    y_tiles = lib.get_patches(data.y_train, size=C.TILE, stride=C.TILE)
    model = C.build_original()
    model.compile(optimizer=lib.keras.optimizers.Adam(1e-3), loss=lib.jaccard_distance)
    record = C.train_for(model, C.workshop_batches(x_tiles, y_tiles), budget_s)
    start = time.perf_counter()
    test_tiles = lib.get_patches(data.x_test, size=C.TILE, stride=C.TILE)
    predicted = model.predict(test_tiles, batch_size=16, verbose=0)
    probabilities = lib.reconstruct_from_patches(
        predicted, org_img_size=data.y_test.shape[1:3], size=C.TILE, stride=C.TILE)
    record["predict_seconds"] = round(time.perf_counter() - start, 2)
    record["settings"] = "non-overlapping 128 tiles, 64 filters, no batch norm, Adam 1e-3, batch 8"
    return record, probabilities


def run_ours(data, budget_s, seed, *, loss, tiled, filters, patch):
    import helpers

    lib = C.import_tf()
    lib.keras.utils.set_random_seed(seed)
    model = C.build_ours(filters)
    model.compile(optimizer=lib.keras.optimizers.Adam(learning_rate=1e-3), loss=loss)
    batches = helpers.augmented_batches(data.x_train, data.y_train, patch_size=patch,
                                        batch_size=C.BATCH, seed=seed)
    record = C.train_for(model, batches, budget_s)
    start = time.perf_counter()
    if tiled:
        probabilities = helpers.predict_tiled(model, data.x_test, tile_size=C.TILE, overlap=32,
                                              batch_size=16)
    else:
        probabilities = model.predict(data.x_test, batch_size=1, verbose=0)
    record["predict_seconds"] = round(time.perf_counter() - start, 2)
    record["settings"] = (f"{filters} filters, batch norm, {patch} crops, Adam 1e-3, batch 8, "
                          + ("predict_tiled(128, overlap 32)" if tiled else "whole-image predict"))
    return record, probabilities, model


def main(argv=None):
    p = C.parser(__doc__.split("\n")[0])
    p.add_argument("--budget", type=float, default=None,
                   help="training seconds per recipe (default: 120 quick, 900 full)")
    p.add_argument("--tile-variant", action="store_true",
                   help="also train the original tile recipe (always on with --full)")
    args = p.parse_args(argv)
    settings = dict(FULL if args.full else QUICK)
    if args.budget is not None:
        settings["budget_s"] = args.budget
    mode = "full" if args.full else "quick"
    data = C.load_split()
    machine = C.header("Benchmark 1: test-split quality after the same training time", mode,
                       data.source)
    budget = settings["budget_s"]
    print(f"budget: {budget:.0f} s of training per recipe, batch {C.BATCH}, seed {args.seed}; "
          "measured on the test split (3 images, 512x512)")

    import helpers

    recipes = ["original"] + (["original_tiles"] if args.full or args.tile_variant else [])
    recipes += ["ours_nb01", "ours_nb02"]
    results = {}
    for name in recipes:
        C.import_tf().keras.backend.clear_session()
        print(f"training {name} for {budget:.0f} s ...", flush=True)
        if name == "original":
            record, probabilities = run_original(data, budget, args.seed)
        elif name == "original_tiles":
            record, probabilities = run_original_tiles(data, budget, args.seed)
        else:
            tiled = name == "ours_nb02"
            loss = helpers.bce_jaccard_loss if tiled else helpers.soft_jaccard_loss
            record, probabilities, model = run_ours(
                data, budget, args.seed, loss=loss, tiled=tiled,
                filters=settings["ours_filters"], patch=settings["ours_patch"])
            if tiled:  # beside the results file, for bench_tiling's seam error
                model_path = (args.json.parent if args.json else C.RESULTS) / MODEL_FILE
                model_path.parent.mkdir(parents=True, exist_ok=True)
                model.save(model_path)
                record["saved_model"] = C.display_path(model_path)
        record.update(C.seg_measures(data.y_test, probabilities))
        record["label"] = LABELS[name]
        results[name] = record
        print(f"  {record['steps']} steps in {record['train_seconds']:.0f} s; "
              f"pixel error {record['pixel_error']:.4f}, membrane IoU "
              f"{record['iou_membrane']:.4f}, Rand error {record['rand_error']:.4f}", flush=True)

    reference = results["original"]
    for record in results.values():
        record["ratios"] = {
            key: C.ratio(record[key], reference[key])
            for key in ("pixel_error", "iou_membrane", "rand_error", "steps")
        }
    all_interior = helpers.pixel_error(data.y_test, np.ones_like(data.y_test))

    print(f"\nAfter {budget:.0f} s of training each (ratios: recipe / original recipe; "
          "lower is better for the errors, higher for IoU):")
    rows = []
    for name, r in results.items():
        q = r["ratios"]
        rows.append([name, r["steps"], f"{r['pixel_error']:.4f}", C.fmt_ratio(q["pixel_error"]),
                     f"{r['iou_membrane']:.4f}", C.fmt_ratio(q["iou_membrane"]),
                     f"{r['rand_error']:.4f}", C.fmt_ratio(q["rand_error"])])
    C.print_table(rows, ["recipe", "steps", "pixel err", "ratio", "IoU memb", "ratio",
                         "Rand err", "ratio"])
    print(f"reference: the all-interior guess has pixel error {all_interior:.4f}")
    goal = results["ours_nb01"]["pixel_error"] < reference["pixel_error"]
    print(f"goal (ours, notebook 01, beats the original's pixel error at the same budget): "
          f"{'met' if goal else 'NOT met'}")
    if args.full:
        best = min(results["ours_nb01"]["pixel_error"], results["ours_nb02"]["pixel_error"])
        verdict = "met" if best <= 0.06 else "NOT met"
        if not machine["gpus"]:
            verdict += " (but no GPU: the goal is for a GPU)"
        print(f"goal (full mode on a GPU: pixel error <= 0.06): {verdict} "
              f"(best of ours: {best:.4f})")

    C.write_results(NAME, {
        "mode": mode,
        "data": data.source,
        "machine": machine,
        "settings": {**settings, "batch": C.BATCH, "seed": args.seed,
                     "test_images": list(helpers.SPLIT["test"]), "threshold": 0.5},
        "all_interior_pixel_error": all_interior,
        "recipes": results,
    }, args.json)
    return results


if __name__ == "__main__":
    main()
