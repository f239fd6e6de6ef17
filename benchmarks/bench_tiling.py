"""Benchmark 3: tiled inference, time, peak memory and seam error.

Methods, all with 128 x 128 tiles:

get_patches          the original: keras-unet get_patches(size=128, stride=128),
                     model.predict(batch_size=16), reconstruct_from_patches:
                     non-overlapping tiles, no blending. keras-unet's get_patches
                     uses the image height for both axes (it assumes square
                     images), so all test images here are square.
predict_tiled        helpers.predict_tiled(tile_size=128, overlap=32, batch_size=16),
                     the course's setting: overlapping tiles, blended.
predict_tiled_16     the same with overlap=16: fewer tiles, a shorter cross-fade.

Tile counts explain most of the ratio: with overlap 32, predict_tiled predicts
25 tiles for a 512 image (get_patches: 16) and 441 for a 2048 image (256); with
overlap 16, 25 and 361. The script counts and prints them.

Time: median seconds per image over a few runs after a warm-up (the methods
take turns, so that other load on the machine hits them alike), on one
512 x 512 test image and a 2048 x 2048 image made of mirrored copies of it, with
an untrained but seeded 16-filter course U-Net (timing does not depend on the
weights). Ratio: method / get_patches (goal for predict_tiled: <= 1.5x).

Peak memory, two ways: ``rss`` is the peak resident memory of the process
above its level at the call's start, sampled every 2 ms during the timed runs
(the largest over the runs); ``numpy`` is tracemalloc's peak of the Python and
NumPy allocations during the warm-up run (TensorFlow's own buffers are not
seen by tracemalloc).

Seam error, on the 3 test images at 512 with their masks, using a trained
model (--model, default benchmarks/results/ours_nb02.keras from
bench_quality.py, when present; else the course U-Net trained here briefly):
pixel error within 8 px of an internal border of the 128-pixel grid (rows or
columns 120-135, 248-263, 376-391) minus pixel error everywhere else. The same
128-grid bands are used for every method, so the figures compare like for
like; a whole-image ``model.predict`` (no tiles at all) is the reference for
what these bands score without any seam.

    python -m benchmarks.bench_tiling --repeats 2
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from pathlib import Path

import numpy as np

import helpers
from benchmarks import _common as C

TITLE = "Benchmark 3: tiled inference"
NAME = "tiling"
BAND = 8  # px on each side of an internal tile border
OVERLAP = 32
QUICK = {"repeats": 3, "fallback_train_s": 60.0, "sides": [512, 2048]}
FULL = {"repeats": 7, "fallback_train_s": 300.0, "sides": [512, 2048]}


def methods():
    return {
        # The original workshop's way: non-overlapping tiles, predicted, pasted back.
        "get_patches": lambda model, image: helpers.predict_non_overlapping(
            model, image, tile_size=C.TILE, batch_size=16),
        "predict_tiled": lambda model, image: helpers.predict_tiled(
            model, image, tile_size=C.TILE, overlap=OVERLAP, batch_size=16),
        "predict_tiled_16": lambda model, image: helpers.predict_tiled(
            model, image, tile_size=C.TILE, overlap=16, batch_size=16),
    }


def tile_counts(side: int) -> dict:
    """Tiles each method predicts for a side x side image, counted by a stand-in model."""
    class Counter:
        def __init__(self):
            self.tiles = 0

        def predict(self, tiles, **kwargs):
            self.tiles += len(tiles)
            return tiles

        predict_on_batch = predict

    counted = {}
    for name, method in methods().items():
        counter = Counter()
        method(counter, np.zeros((side, side, 1), dtype=np.float32))
        counted[name] = counter.tiles
    return counted


def time_methods(methods_, model, image, repeats: int) -> dict:
    """Per method: a warm-up under tracemalloc, then `repeats` timed runs under an RSS sampler.

    The timed runs take turns (method A, B, C, A, B, C, ...), so that other load
    on the machine hits every method alike.
    """
    numpy_peak = {}
    for name, method in methods_.items():
        tracemalloc.start()
        method(model, image)
        numpy_peak[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    times = {name: [] for name in methods_}
    cpu = {name: [] for name in methods_}
    rss = {name: [] for name in methods_}
    for _ in range(repeats):
        for name, method in methods_.items():
            with C.PeakRSS() as memory:
                start, cpu_start = time.perf_counter(), time.process_time()
                method(model, image)
                times[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - cpu_start)
            rss[name].append(memory.delta_mib)
    return {
        name: {
            "seconds": statistics.median(times[name]),
            "seconds_all": [round(t, 4) for t in times[name]],
            "cpu_seconds": statistics.median(cpu[name]),
            "rss_peak_mib": max(rss[name]),
            "numpy_peak_mib": numpy_peak[name] / 2**20,
        }
        for name in methods_
    }


def seam_figures(masks, probabilities) -> dict:
    band = helpers.tile_border_band(masks.shape[1:3], tile_size=C.TILE, width=BAND)
    wrong = (masks[..., 0] >= 0.5) != (probabilities[..., 0] >= 0.5)
    near = float(wrong[:, band].mean())
    elsewhere = float(wrong[:, ~band].mean())
    return {"pixel_error": float(wrong.mean()), "error_near_borders": near,
            "error_elsewhere": elsewhere, "seam_error": near - elsewhere}


def trained_model(data, seed: int, fallback_s: float, path):
    """The model bench_quality saved at `path`, or the course U-Net trained here."""
    lib = C.import_tf()
    if path.is_file():
        model = lib.keras.models.load_model(path, custom_objects=helpers.custom_objects(),
                                            compile=False)
        written = time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
        return model, f"{C.display_path(path)} (bench_quality.py, {written})"
    print(f"no {path.name} from bench_quality.py: training the course U-Net for "
          f"{fallback_s:.0f} s (BCE + Jaccard, 128 crops) ...", flush=True)
    lib.keras.utils.set_random_seed(seed)
    model = C.build_ours(C.QUICK_NB01["filters"])
    model.compile(optimizer=lib.keras.optimizers.Adam(1e-3), loss=helpers.bce_jaccard_loss)
    batches = helpers.augmented_batches(data.x_train, data.y_train, patch_size=C.TILE,
                                        batch_size=C.BATCH, seed=seed)
    record = C.train_for(model, batches, fallback_s)
    return model, f"trained here: {record['steps']} steps in {record['train_seconds']:.0f} s"


def add_options(p):
    p.add_argument("--repeats", type=int, default=None,
                   help="timed runs per method and size (default 3 quick, 7 full)")
    p.add_argument("--model", type=Path, default=C.RESULTS / "ours_nb02.keras",
                   help="trained model for the seam error (default: the one bench_quality.py "
                        "saved in benchmarks/results/)")
    p.add_argument("--train-seconds", dest="fallback_train_s", type=float, default=None,
                   help="training budget when no saved model exists (default 60 quick, "
                        "300 full)")
    p.add_argument("--sides", type=int, nargs="+", default=None,
                   help="image sides to time, multiples of the test images' 512 "
                        "(default 512 2048)")


def measure(run):
    data, args, settings = run.data, run.args, run.settings
    lib = C.import_tf()

    # Timing: untrained, seeded course U-Net (16 filters).
    lib.keras.utils.set_random_seed(args.seed)
    timing_model = C.build_ours(C.QUICK_NB01["filters"])
    side0 = data.x_test.shape[1]  # 512; the larger images are mirrored copies of one
    images = {str(side): C.mirror_tile(data.x_test[0], side // side0)
              for side in settings["sides"]}
    timing = {}
    print(f"timing on {' and '.join(f'{side}x{side}' for side in images)}, "
          f"{settings['repeats']} runs each after a warm-up ...", flush=True)
    for side, image in images.items():
        records = time_methods(methods(), timing_model, image, settings["repeats"])
        for name, record in records.items():
            record["tiles"] = tile_counts(image.shape[0])[name]
            timing.setdefault(name, {})[side] = record
            print(f"  {name} {side}: {record['seconds']:.3f} s", flush=True)
    for by_side in timing.values():
        for side, record in by_side.items():
            reference = timing["get_patches"][side]
            record["ratio"] = C.ratio(record["seconds"], reference["seconds"])
            record["ratio_cpu"] = C.ratio(record["cpu_seconds"], reference["cpu_seconds"])

    # Seams: trained model, 3 test images.
    lib.keras.backend.clear_session()
    model, model_source = trained_model(data, args.seed, settings["fallback_train_s"],
                                        args.model)
    print(f"seam error with {model_source}")
    seams = {name: seam_figures(data.y_test, methods()[name](model, data.x_test))
             for name in ("get_patches", "predict_tiled")}
    seams["whole_image"] = seam_figures(
        data.y_test, model.predict(data.x_test, batch_size=1, verbose=0))

    print("\nseconds per image (median wall time, and process CPU time: all threads, less "
          "disturbed by other load)\nand peak memory; ratio: time / get_patches' time")
    rows = []
    for name, by_side in timing.items():
        for side, r in by_side.items():
            rows.append([name, f"{side}x{side}", r["tiles"], f"{r['seconds']:.3f}",
                         C.fmt_ratio(r["ratio"]), f"{r['cpu_seconds']:.2f}",
                         C.fmt_ratio(r["ratio_cpu"]), f"{r['rss_peak_mib']:.0f}",
                         f"{r['numpy_peak_mib']:.0f}"])
    C.print_table(rows, ["method", "image", "tiles", "s/image", "ratio", "CPU s", "ratio",
                         "RSS peak MiB", "NumPy peak MiB"])
    print(f"\nseam error (pixel error within {BAND} px of the 128-grid's internal borders "
          "minus elsewhere), 3 test images at 512:")
    C.print_table(
        [[name, f"{s['pixel_error']:.4f}", f"{s['error_near_borders']:.4f}",
          f"{s['error_elsewhere']:.4f}", f"{s['seam_error']:+.4f}"] for name, s in seams.items()],
        ["method", "pixel err", "near borders", "elsewhere", "seam error"])
    worst = max(timing["predict_tiled"][side]["ratio"] for side in images)
    print(f"goal (predict_tiled <= 1.5x get_patches' time): "
          f"{'met' if worst <= 1.5 else 'NOT met'} (worst {C.fmt_ratio(worst)})")
    seam = seams["predict_tiled"]["seam_error"]
    reference = seams["whole_image"]["seam_error"]
    near_zero = abs(seam - reference) <= 0.005
    print(f"goal (predict_tiled seam error near 0): {'met' if near_zero else 'NOT met'} "
          f"({seam:+.4f}; whole-image reference {reference:+.4f}; "
          f"get_patches {seams['get_patches']['seam_error']:+.4f})")

    return {
        "settings": {"tile": C.TILE, "overlap": OVERLAP, "band_px": BAND,
                     "repeats": settings["repeats"], "timing_model": "custom_unet 16 filters, "
                     "batch norm, untrained (seeded)", "seam_model": model_source,
                     "seam_images": "test split, 3 x 512x512",
                     "memory": "rss: sampled process RSS peak above the call's start, max over "
                               "timed runs; numpy: tracemalloc peak during the warm-up run"},
        "timing": timing,
        "seams": seams,
    }, (timing, seams)


main = C.main_of(__name__)  # options, settings, data, then measure() and the results file


if __name__ == "__main__":
    main()
