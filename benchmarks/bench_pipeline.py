"""Benchmark 2: input pipeline, augmented samples per second.

Same sample size (128 x 128) and batch size (8, as in training) for both:

get_augmented            the original: keras-unet get_augmented (Keras
                         ImageDataGenerator) with the workshop introduction's
                         arguments (``_common.INTRO_AUGMENT``, shear 30), fed the
                         24 training images resized to 128 x 128 the workshop's
                         way (nearest, so the masks going in are binary).
get_augmented+binarize   the same, with helpers.binarize_masks on each mask batch
                         (notebook 01's fix for its non-binary masks).
ours                     helpers.augmented_batches: random 128 crops of the 512
                         images, exact flips and quarter turns, intensity jitter.
ours+elastic             the same with the U-Net paper's elastic deformation
                         (``elastic=10``: 3x3 grid, sigma 10 px).

The batch is 8 for both (the workshop's introduction used 5, its further topics
10), so that the two sides are compared at the same batch. The methods take
turns in 4 rounds (so that other load on the machine hits them alike), each for about a quarter of
``--seconds`` a round. Only the time spent inside ``next()`` counts (wall time for the headline
figure; process CPU time too, which other load on the machine disturbs less);
checking the masks is done outside the clock. Also reported: the fraction of
mask pixels that are neither 0 nor 1 (and of those between 0.05 and 0.95); the
masks fed to get_augmented are binary, so every such pixel comes from its
interpolation (turning, shearing, zooming, shifting).

    python -m benchmarks.bench_pipeline --seconds 3
"""

from __future__ import annotations

import time

import numpy as np

import helpers
from benchmarks import _common as C

TITLE = "Benchmark 2: augmented samples per second"
NAME = "pipeline"
QUICK = {"seconds": 4.0}  # generator seconds per method
FULL = {"seconds": 10.0}
ROUNDS = 4


class Meter:
    """Samples, generator time and mask values seen from one batch generator."""

    def __init__(self, batches):
        self.batches = batches
        next(batches)  # warm-up: the first batch sets things up
        self.samples = self.count = 0
        self.not_binary = self.mixed = self.mask_pixels = 0
        self.spent = self.cpu = 0.0
        self.shape = None

    def run(self, seconds: float, min_batches: int = 2) -> None:
        """Pull batches for about `seconds` of generator time."""
        spent, count = 0.0, 0
        while spent < seconds or count < min_batches:
            start, cpu_start = time.perf_counter(), time.process_time()
            x, y = next(self.batches)
            spent += time.perf_counter() - start
            self.cpu += time.process_time() - cpu_start
            count += 1
            self.samples += len(x)
            self.not_binary += int(np.count_nonzero((y > 0) & (y < 1)))
            self.mixed += int(np.count_nonzero((y > 0.05) & (y < 0.95)))
            self.mask_pixels += y.size
            self.shape = list(x.shape[1:])
        self.spent += spent
        self.count += count

    def result(self) -> dict:
        return {
            "samples_per_s": self.samples / self.spent,
            "samples_per_cpu_s": self.samples / self.cpu,
            "samples": self.samples,
            "batches": self.count,
            "seconds": round(self.spent, 3),
            "sample_shape": self.shape,
            "mask_not_binary_fraction": self.not_binary / self.mask_pixels,
            "mask_mixed_fraction": self.mixed / self.mask_pixels,
        }


def add_options(p):
    p.add_argument("--seconds", type=float, default=None,
                   help=f"generator seconds per method (default {QUICK['seconds']:.0f} quick, "
                        f"{FULL['seconds']:.0f} full)")


def measure(run):
    data, args, seconds = run.data, run.args, run.settings["seconds"]
    x_small = C.resize_nearest(data.x_train, C.INTRO["size"])
    y_small = C.resize_nearest(data.y_train, C.INTRO["size"])
    input_not_binary = float(np.mean((y_small > 0) & (y_small < 1)))

    def binarized(batches):
        for x, y in batches:
            yield x, helpers.binarize_masks(y)

    methods = {
        "get_augmented": lambda: C.workshop_batches(x_small, y_small, C.BATCH, C.INTRO_AUGMENT),
        "get_augmented+binarize": lambda: binarized(
            C.workshop_batches(x_small, y_small, C.BATCH, C.INTRO_AUGMENT)),
        "ours": lambda: helpers.augmented_batches(data.x_train, data.y_train,
                                                  patch_size=C.TILE, batch_size=C.BATCH,
                                                  seed=args.seed),
        "ours+elastic": lambda: helpers.augmented_batches(
            data.x_train, data.y_train, patch_size=C.TILE, batch_size=C.BATCH, seed=args.seed,
            elastic=10.0),
    }
    print(f"batches of {C.BATCH} samples of {C.TILE}x{C.TILE}, about {seconds:.0f} s each")
    # Rounds interleave the methods, so that a load spike from other work on the
    # machine hits all of them alike.
    meters = {name: Meter(make()) for name, make in methods.items()}
    for _ in range(ROUNDS):
        for meter in meters.values():
            meter.run(seconds / ROUNDS)
    results = {name: meter.result() for name, meter in meters.items()}
    for name, record in results.items():
        print(f"  {name}: {record['samples_per_s']:.0f} samples/s", flush=True)
    reference = results["get_augmented"]
    for record in results.values():
        record["ratio"] = C.ratio(record["samples_per_s"], reference["samples_per_s"])
        record["ratio_cpu"] = C.ratio(record["samples_per_cpu_s"],
                                      reference["samples_per_cpu_s"])

    print("\nratio: samples per second / get_augmented's (higher is better); 'per CPU s' "
          "counts process CPU time instead of wall time (less sensitive to other load)")
    C.print_table(
        [[name, f"{r['samples_per_s']:.0f}", C.fmt_ratio(r["ratio"]),
          f"{r['samples_per_cpu_s']:.0f}", C.fmt_ratio(r["ratio_cpu"]),
          f"{r['mask_not_binary_fraction']:.2%}", f"{r['mask_mixed_fraction']:.2%}"]
         for name, r in results.items()],
        ["method", "samples/s", "ratio", "per CPU s", "ratio", "mask pixels not 0/1",
         "in (0.05, 0.95)"])
    print(f"the 128x128 masks fed to get_augmented are {input_not_binary:.2%} not 0/1 "
          "before augmenting (nearest resize)")
    for name in ("ours", "ours+elastic"):
        goal = results[name]["ratio"] >= 3
        print(f"goal ({name} >= 3x get_augmented's samples/s): {'met' if goal else 'NOT met'} "
              f"({C.fmt_ratio(results[name]['ratio'])})")

    return {
        "settings": {"batch": C.BATCH, "sample_side": C.TILE, "seconds_per_method": seconds,
                     "rounds": ROUNDS,
                     "seed": args.seed, "get_augmented_args": C.INTRO_AUGMENT},
        "input_masks_not_binary_fraction": input_not_binary,
        "methods": results,
    }, results


main = C.main_of(__name__)  # options, settings, data, then measure() and the results file


if __name__ == "__main__":
    main()
