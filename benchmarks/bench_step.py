"""Benchmark 4: training step time, CPU and GPU, mixed precision on and off.

``model.train_on_batch`` on one fixed batch of 8 augmented 128 x 128 crops of
the training images (the input pipeline is left out: benchmark 2 measures it),
median milliseconds per step after a few warm-up steps (the first one traces
the graph; it is reported on its own).

original   the workshop introduction's model and training (``_common.INTRO``):
           custom_unet(64 filters, no batch norm, dropout 0.2), binary
           cross-entropy, Adam 1e-4. (Its further topics used the same model.)
ours       the course U-Net of notebook 01 (16 filters, batch norm, spatial dropout
           0.1), helpers.soft_jaccard_loss, Adam 1e-3.
ours_full  (--full only) the same at notebook 01's full-mode settings: 32
           filters, 256 x 256 crops.

Every model runs on the CPU; when TensorFlow sees a GPU, also on the GPU in
float32 and in mixed precision (``mixed_float16``; Keras then scales the loss
by itself). Mixed precision is skipped on the CPU: it pays off only on GPUs
with float16 tensor cores, and a CPU computes float16 slower than float32.
Ratios: ours / original on the same device and precision; mixed / float32 for
the same model on the GPU.

    python -m benchmarks.bench_step --steps 5
"""

from __future__ import annotations

import statistics
import time

import helpers
from benchmarks import _common as C

TITLE = "Benchmark 4: training step time"
NAME = "step"
QUICK = {"warmup": 3, "steps": 10}
FULL = {"warmup": 5, "steps": 30}
MIXED_SKIPPED_ON_CPU = ("skipped on the CPU: mixed precision pays off only on GPUs with "
                        "float16 tensor cores; a CPU computes float16 slower than float32")


def configs(full: bool) -> dict:
    found = {
        "original": {"build": C.build_original, "loss": C.INTRO["loss"],
                     "lr": C.INTRO["learning_rate"],
                     "patch": C.TILE, "filters": 64, "batch_norm": False},
        # The workshop's tile (C.TILE, 128 = notebook 01's quick crop) for both, so that
        # the two step on the same batch.
        "ours": {"build": lambda: C.build_ours(C.QUICK_NB01["filters"]),
                 "loss": helpers.soft_jaccard_loss, "lr": 1e-3, "patch": C.TILE,
                 "filters": C.QUICK_NB01["filters"], "batch_norm": True},
    }
    if full:
        found["ours_full"] = {"build": lambda: C.build_ours(C.FULL_NB01["filters"]),
                              "loss": helpers.soft_jaccard_loss, "lr": 1e-3,
                              "patch": C.FULL_NB01["patch"],
                              "filters": C.FULL_NB01["filters"], "batch_norm": True}
    return found


def step_time(config: dict, batch, device: str, policy: str, settings: dict, seed: int):
    """Build and compile under `policy` on `device`; time train_on_batch."""
    lib = C.import_tf()
    keras = lib.keras
    keras.backend.clear_session()
    keras.mixed_precision.set_global_policy(policy)
    try:
        keras.utils.set_random_seed(seed)
        with lib.tf.device(device):
            model = config["build"]()
            model.compile(optimizer=keras.optimizers.Adam(config["lr"]), loss=config["loss"])
            x, y = batch
            start = time.perf_counter()
            model.train_on_batch(x, y)  # traces the graph
            first = time.perf_counter() - start
            for _ in range(settings["warmup"] - 1):
                model.train_on_batch(x, y)
            times = []
            for _ in range(settings["steps"]):
                start = time.perf_counter()
                model.train_on_batch(x, y)  # returns the loss as a number: waits for the GPU
                times.append(time.perf_counter() - start)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    ms = 1000 * statistics.median(times)
    return {
        "ms_per_step": ms,
        "samples_per_s": len(x) / (ms / 1000),
        "first_step_s": round(first, 2),
        "ms_all": [round(1000 * t, 1) for t in times],
    }


def add_options(p):
    p.add_argument("--steps", type=int, default=None,
                   help="timed steps per case (default 10 quick, 30 full)")
    p.add_argument("--warmup", type=int, default=None,
                   help="untimed steps first, the first of which traces the graph "
                        "(default 3 quick, 5 full)")


def measure(run):
    data, args, settings = run.data, run.args, run.settings
    lib = C.import_tf()

    cases = [("CPU", "/CPU:0", "float32")]
    if lib.gpus:
        cases += [("GPU", "/GPU:0", "float32"), ("GPU", "/GPU:0", "mixed_float16")]
    print(f"batch {C.BATCH}; median of {settings['steps']} steps after {settings['warmup']} "
          "warm-up steps; cases: " + ", ".join(f"{device} {policy}" for device, _, policy in cases))
    if not lib.gpus:
        print("no GPU found: CPU rows only")

    results = []
    for name, config in configs(args.full).items():
        batch = next(helpers.augmented_batches(data.x_train, data.y_train,
                                               patch_size=config["patch"], batch_size=C.BATCH,
                                               seed=args.seed))
        for device, device_name, policy in cases:
            print(f"  {name} on {device}, {policy} ...", end=" ", flush=True)
            record = step_time(config, batch, device_name, policy, settings, args.seed)
            record.update(model=name, device=device, precision=policy, patch=config["patch"],
                          filters=config["filters"], batch_norm=config["batch_norm"])
            results.append(record)
            print(f"{record['ms_per_step']:.0f} ms/step", flush=True)

    def find(model, device, precision):
        return next((r for r in results if (r["model"], r["device"], r["precision"])
                     == (model, device, precision)), None)

    for r in results:
        original = find("original", r["device"], r["precision"])
        r["ratio_to_original"] = (C.ratio(r["ms_per_step"], original["ms_per_step"])
                                  if r["patch"] == C.TILE else None)
        fp32 = find(r["model"], r["device"], "float32")
        r["ratio_mixed_to_float32"] = (C.ratio(r["ms_per_step"], fp32["ms_per_step"])
                                       if r["precision"] != "float32" else None)

    print("\nratio: ms/step / the original's on the same device and precision "
          "(lower is faster); mixed / float32 for the same model")
    C.print_table(
        [[r["model"], f"{r['filters']} f, {r['patch']}px", r["device"], r["precision"],
          f"{r['ms_per_step']:.0f}", f"{r['samples_per_s']:.1f}", f"{r['first_step_s']:.1f}",
          C.fmt_ratio(r["ratio_to_original"]), C.fmt_ratio(r["ratio_mixed_to_float32"])]
         for r in results],
        ["model", "size", "device", "precision", "ms/step", "samples/s", "first step s",
         "vs original", "mixed/fp32"])
    if not lib.gpus:
        print("mixed precision: " + MIXED_SKIPPED_ON_CPU)

    return {
        "settings": {**settings, "batch": C.BATCH, "seed": args.seed,
                     "mixed_precision_cpu": MIXED_SKIPPED_ON_CPU},
        "cases": results,
    }, results


main = C.main_of(__name__)  # options, settings, data, then measure() and the results file


if __name__ == "__main__":
    main()
