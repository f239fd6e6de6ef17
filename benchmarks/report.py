"""The benchmark figures as text: the README's tables and the deck's results slide.

Everything here reads result records (the JSON that the ``bench_*.py`` scripts
write) and nothing else, with the standard library only, so that
``run_all.py``, ``slides/build.py`` and the tests can all use it.

``benchmarks/published.json`` holds the records of the run that last wrote the
README; the README's block and the deck's block between ``<!-- bench:start -->``
and ``<!-- bench:end -->`` are rendered from it, and the tests check that they
still are (so a typed-in number fails them).

bench_quality's record is a cross-validation (``folds``, per-recipe ``summary`` of
means and 95% intervals over folds, paired ``pairs``): see `quality_rows`,
`pair_rows`, `verdict` (a recipe is better only where the paired interval excludes
0) and `quality_goals`. A quality record published before the cross-validation (one
split, pixel error, membrane IoU and scikit-image's adapted Rand error) is still
rendered, its Rand error labelled as such, with the goals in V_rand "not measured".
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "benchmarks" / "published.json"
README = ROOT / "README.md"
DECK = ROOT / "slides" / "deck.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
BENCHMARKS = ("quality", "pipeline", "tiling", "step")
SEAM_TOLERANCE = 0.005  # no seam: within this of the whole-image reference
ORIGINALS = ("original_intro", "original_tiles")
PEERS = ("zerocostdl4mic",)
OURS = ("ours_nb01", "ours_nb02")

#: bench_quality's measures, the primary one first, and whether higher is better.
MEASURES = ("v_rand", "v_info", "isbi_pixel_error", "isbi_rand_error", "pixel_error")
HIGHER_IS_BETTER = {"v_rand": True, "v_info": True, "isbi_pixel_error": False,
                    "isbi_rand_error": False, "pixel_error": False}
#: Column headings: the README's, and the shorter ones of printed tables.
MEASURE_NAMES = {"v_rand": "V_rand (thinned)", "v_info": "V_info (thinned)",
                 "isbi_pixel_error": "Pixel error, challenge's",
                 "isbi_rand_error": "Rand error, challenge's",
                 "pixel_error": "Pixel error at 0.5"}
SHORT = {"v_rand": "V_rand", "v_info": "V_info", "isbi_pixel_error": "px err (chall.)",
         "isbi_rand_error": "Rand err (chall.)", "pixel_error": "px err at 0.5"}
DIGITS = {name: 3 for name in MEASURES}
#: The recipes as the verdicts name them.
RECIPE_NAMES = {"original_intro": "workshop introduction",
                "original_tiles": "workshop further topics",
                "zerocostdl4mic": "ZeroCostDL4Mic", "ours_nb01": "notebook 01",
                "ours_nb02": "notebook 02"}
#: The goals, in bench_quality's units (mean over the folds).
QUICK_V_RAND_GOAL = 0.95
FULL_V_RAND_GOAL = 0.97
FULL_PIXEL_ERROR_GOAL = 0.05  # the challenge's pixel error (isbi_pixel_error)
#: What the published quality figures of before the cross-validation called "Rand error".
OLD_RAND = "Rand error (scikit-image's adapted Rand, the course's measure before 2026-12)"

#: Short names for the deck's table (the README shows each record's full label).
DECK_LABELS = {
    "original_intro": "workshop introduction: whole image resized to 128² (nearest), 64 "
                      "filters, no batch norm, BCE, Adam 10⁻⁴, batch 5; predicted at 128², "
                      "nearest-upsampled to 512²",
    "original_tiles": "workshop further topics: non-overlapping 128² tiles, 64 filters, no "
                      "batch norm, `jaccard_distance`, Adam 10⁻³, batch 10",
    "zerocostdl4mic": "ZeroCostDL4Mic U-Net 2D: whole 512² images, 64 filters, 2 poolings, "
                      "no batch norm, weighted BCE, Adam 3·10⁻⁴, batch 4; percentile-"
                      "normalised, non-overlapping predict",
    "ours_nb01": "notebook 01: 16 filters, batch norm, random 128² crops, soft Jaccard, "
                 "Adam 10⁻³, batch 8; whole-image predict",
    "ours_nb02": "notebook 02: the same with BCE + Jaccard; overlap-tile predict",
}


# --------------------------------------------------------------------------- small formats


def _num(value, spec=".3f"):
    return "n/a" if value is None else format(value, spec)


def _ratio(value, sign="x"):
    return "n/a" if value is None else f"{value:.2f}{sign}"


def _divide(value, reference):
    if value is None or reference in (None, 0):
        return None
    return value / reference


def _with_cpu(wall, cpu, sign):
    """A wall-time ratio, with the process-CPU-time ratio beside it when measured."""
    text = _ratio(wall, sign)
    return text if cpu is None else f"{text} (CPU time {_ratio(cpu, sign)})"


# --------------------------------------------------------------------------- figures


def is_cross_validation(quality: dict) -> bool:
    """Whether a quality record is bench_quality's cross-validation (else: the single split
    of the records published before it, with the course's earlier measures)."""
    return "folds" in quality


def interval_text(stats: dict, digits: int = 3, sign: bool = False) -> str:
    """"mean (low to high)" of a `t_interval` record; a single fold has no interval."""
    spec = f"+.{digits}f" if sign else f".{digits}f"
    mean = format(stats["mean"], spec)
    if stats.get("low") is None:
        return f"{mean} (one fold: no interval)"
    return f"{mean} ({format(stats['low'], spec)} to {format(stats['high'], spec)})"


def verdict(pair: dict) -> str:
    """"X better" only where the paired difference's interval excludes 0, else "not separable"."""
    if pair.get("low") is None:
        return "not separable (one fold)"
    higher = HIGHER_IS_BETTER[pair["measure"]]
    if pair["low"] > 0:
        better = pair["ours"] if higher else pair["other"]
    elif pair["high"] < 0:
        better = pair["other"] if higher else pair["ours"]
    else:
        return "not separable"
    return f"{RECIPE_NAMES.get(better, better)} better"


def _folds_text(q: dict) -> str:
    folds = q["settings"]["folds"]
    listed = ", ".join(map(str, folds[:-1])) + (f" and {folds[-1]}" if len(folds) > 1
                                                else str(folds[-1]))
    return (f"fold{'s' if len(folds) > 1 else ''} {listed} of {q['settings']['total_folds']}")


def _steps_text(record: dict) -> str:
    steps = record["steps"]
    text = f"{sum(steps) / len(steps):.0f}"
    own = record.get("workshop_steps") or record.get("schedule_steps")
    if isinstance(own, list):
        own = sum(own) / len(own)
    return f"{text} ({own:.0f})" if own else text


def _legacy_quality_rows(q: dict) -> list[list[str]]:
    guess = q["all_interior"]
    rows = [["all-interior guess (no training)", "-", f"{guess['pixel_error']:.3f}",
             f"{guess['iou_membrane']:.3f}", f"{guess['rand_error']:.3f}",
             "quality.json: all_interior"]]
    for name, record in q["recipes"].items():
        steps = str(record["steps"])
        if record.get("workshop_steps"):
            steps += f" ({record['workshop_steps']})"
        rows.append([record["label"], steps, f"{record['pixel_error']:.3f}",
                     f"{record['iou_membrane']:.3f}", f"{record['rand_error']:.3f}",
                     f"quality.json: recipes.{name}"])
    return rows


def quality_rows(results: dict) -> list[list[str]]:
    """Rows: recipe, steps per fold (its own schedule's), training s, each measure, source.

    Each measure is its mean over the folds with the 95% interval. Records from before
    the cross-validation give their own columns: pixel error, membrane IoU, Rand error.
    """
    q = results.get("quality")
    if not q:
        return []
    if not is_cross_validation(q):
        return _legacy_quality_rows(q)
    guess = q["all_interior"]["summary"]
    rows = [["all-interior guess (no training)", "-", "-",
             *(interval_text(guess[m], DIGITS[m]) for m in MEASURES),
             "quality.json: all_interior"]]
    for name, record in q["recipes"].items():
        seconds = record["train_seconds"]
        rows.append([record["label"], _steps_text(record), f"{sum(seconds) / len(seconds):.0f}",
                     *(interval_text(record["summary"][m], DIGITS[m]) for m in MEASURES),
                     f"quality.json: recipes.{name}"])
    return rows


def quality_headings(results: dict) -> list[str]:
    """The headings of `quality_rows`, source last."""
    if not is_cross_validation(results["quality"]):
        return ["Recipe", "Steps done (workshop's)", "Pixel error", "Membrane IoU", OLD_RAND,
                "Source"]
    return ["Recipe", "Steps per fold (its own schedule's)", "Training s per fold",
            *(MEASURE_NAMES[m] + (" ↑" if HIGHER_IS_BETTER[m] else " ↓") for m in MEASURES),
            "Source"]


def pair_rows(results: dict, measure: str = "v_rand") -> list[list[str]]:
    """Rows: ours, the other recipe, the paired difference (95% interval), verdict, source."""
    q = results.get("quality")
    if not q or not is_cross_validation(q):
        return []
    return [[RECIPE_NAMES[p["ours"]], RECIPE_NAMES.get(p["other"], p["other"]),
             interval_text(p, DIGITS[measure], sign=True), verdict(p), "quality.json: pairs"]
            for p in q["pairs"] if p["measure"] == measure]


def _pipeline_rows(p: dict, sign: str) -> list[list[str]]:
    """Benchmark 2's rows, from pipeline.json."""
    rows = []
    m = p["methods"]
    rows.append(["2", "Augmented 128x128 samples per second, batch 8 (get_augmented with "
                 "the introduction's arguments vs augmented_batches)",
                 f"{m['get_augmented']['samples_per_s']:.0f}",
                 f"{m['ours']['samples_per_s']:.0f}",
                 _with_cpu(m["ours"]["ratio"], m["ours"].get("ratio_cpu"), sign),
                 "pipeline.json: methods"])
    elastic = m.get("ours+elastic")
    if elastic:  # results from before elastic deformation lack it
        rows.append(["2", "Same, with the U-Net paper's elastic deformation "
                     "(augmented_batches(elastic=10))",
                     f"{m['get_augmented']['samples_per_s']:.0f}",
                     f"{elastic['samples_per_s']:.0f}",
                     _with_cpu(elastic["ratio"], elastic.get("ratio_cpu"), sign),
                     "pipeline.json: methods.ours+elastic"])
    rows.append(["2", "Mask pixels neither 0 nor 1 after augmenting binary masks",
                 f"{m['get_augmented']['mask_not_binary_fraction']:.1%}",
                 f"{m['ours']['mask_not_binary_fraction']:.1%}", "-",
                 "pipeline.json: methods.*.mask_not_binary_fraction"])
    return rows


def _tiling_rows(t: dict, sign: str) -> list[list[str]]:
    """Benchmark 3's rows, from tiling.json."""
    rows = []
    tm = t["timing"]
    sides = sorted(tm["get_patches"], key=int)  # "512" and "2048" (fewer in a smoke run)
    small, large = sides[0], sides[-1]
    for side in sides:
        a, b = tm["get_patches"][side], tm["predict_tiled"][side]
        rows.append(["3", f"Seconds per {side}x{side} image, 128 tiles (get_patches "
                     f"{a['tiles']} tiles vs predict_tiled {b['tiles']})",
                     _num(a["seconds"]), _num(b["seconds"]),
                     _with_cpu(b["ratio"], b.get("ratio_cpu"), sign),
                     f"tiling.json: timing.*.{side}"])
    if "predict_tiled_16" in tm:
        c = tm["predict_tiled_16"]
        rows.append(["3", "Same with overlap 16 "
                     f"({c[small]['tiles']} / {c[large]['tiles']} tiles), "
                     f"seconds per {small} / {large} image",
                     f"{_num(tm['get_patches'][small]['seconds'])} / "
                     f"{_num(tm['get_patches'][large]['seconds'])}",
                     f"{_num(c[small]['seconds'])} / {_num(c[large]['seconds'])}",
                     f"{_ratio(c[small]['ratio'], sign)} / {_ratio(c[large]['ratio'], sign)}",
                     "tiling.json: timing.predict_tiled_16"])
    for key, what in (("rss_peak_mib", "Peak RSS above start"),
                      ("numpy_peak_mib", "Peak NumPy memory (tracemalloc)")):
        a, b = tm["get_patches"][large][key], tm["predict_tiled"][large][key]
        rows.append(["3", f"{what}, {large}x{large} image, MiB", f"{a:.0f}", f"{b:.0f}",
                     _ratio(_divide(b, a), sign), f"tiling.json: timing.*.{large}.{key}"])
    s = t["seams"]
    rows.append(["3", "Seam error: pixel error within 8 px of 128-grid borders minus "
                 f"elsewhere (whole-image predict: {s['whole_image']['seam_error']:+.4f})",
                 f"{s['get_patches']['seam_error']:+.4f}",
                 f"{s['predict_tiled']['seam_error']:+.4f}", "-", "tiling.json: seams"])
    return rows


def _step_rows(st: dict, sign: str) -> list[list[str]]:
    """Benchmark 4's rows, from step.json."""
    rows = []
    cases = st["cases"]
    for device, precision in sorted({(c["device"], c["precision"]) for c in cases}):
        def pick(model, device=device, precision=precision):
            return next((c for c in cases if (c["model"], c["device"], c["precision"])
                         == (model, device, precision)), None)

        a, b = pick("original"), pick("ours")
        note = ""
        if b and b["ratio_mixed_to_float32"] is not None:
            note = f"; mixed / float32: ours {_ratio(b['ratio_mixed_to_float32'], sign)}"
            if a and a["ratio_mixed_to_float32"] is not None:
                note += f", original {_ratio(a['ratio_mixed_to_float32'], sign)}"
        rows.append(["4", f"Training step, ms, {device} {precision}, batch 8 of 128x128 "
                     f"(64 vs 16 filters){note}", _num(a and a["ms_per_step"], ".0f"),
                     _num(b and b["ms_per_step"], ".0f"),
                     _ratio(b and b["ratio_to_original"], sign),
                     f"step.json: cases ({device}, {precision})"])
        full = pick("ours_full")
        if full:
            rows.append(["4", f"Training step, ms, {device} {precision}, ours at full "
                         "settings (32 filters, batch 8 of 256x256)", "-",
                         _num(full["ms_per_step"], ".0f"), "-",
                         f"step.json: cases (ours_full, {device}, {precision})"])
    if not any(c["device"] == "GPU" for c in cases):
        rows.append(["4", "Mixed precision: skipped, no GPU (TensorFlow's mixed-precision "
                     "guide names NVIDIA GPUs as what runs float16 faster)", "-", "-", "-",
                     "step.json: settings.mixed_precision_cpu (no GPU)"])
    return rows


#: Each speed benchmark's rows of the figures table, in the table's order.
FIGURE_ROWS = {"pipeline": _pipeline_rows, "tiling": _tiling_rows, "step": _step_rows}


def figures(results: dict, sign: str = "x") -> list[list[str]]:
    """Speed and memory rows: benchmark, figure, original, ours, ratio (ours / original), source."""
    return [row for name, rows in FIGURE_ROWS.items() if results.get(name)
            for row in rows(results[name], sign)]


def _pair(q: dict, ours: str, other: str, measure: str = "v_rand") -> dict | None:
    return next((p for p in q["pairs"] if (p["ours"], p["other"], p["measure"])
                 == (ours, other, measure)), None)


def quality_goals(q: dict) -> list[tuple[str, str, str]]:
    """(goal, verdict, evidence) for bench_quality's three goals, in its units."""
    beat = ("On 2 CPU cores at the same training budget, notebook 01's and notebook 02's "
            "recipes beat the workshop's two and ZeroCostDL4Mic's on V_rand (thinned): the "
            "95% interval of each paired difference excludes 0 in our favour")
    quick = (f"Quick mode: V_rand (thinned) >= {QUICK_V_RAND_GOAL}, mean over the folds, for "
             "notebook 01's and notebook 02's recipes")
    full = (f"Full mode on a GPU: V_rand (thinned) >= {FULL_V_RAND_GOAL} and the challenge's "
            f"pixel error <= {FULL_PIXEL_ERROR_GOAL}, mean over the folds, for notebook 01's and "
            "notebook 02's recipes")
    if not is_cross_validation(q):
        why = (f"the published quality figures, of {q.get('written', '')[:10]}, predate the "
               "cross-validation and V_rand; `make bench` measures them")
        return [(goal, "not measured", why) for goal in (beat, quick, full)]
    gpus = ", ".join(q["machine"]["gpus"])
    where = f"{q['mode']} mode, {gpus or 'no GPU'}, {q['machine']['cores']} cores"
    k = len(q["folds"])
    out = []
    pairs = [_pair(q, ours, other) for ours in OURS for other in (*ORIGINALS, *PEERS)]
    pairs = [p for p in pairs if p]
    won = [p for p in pairs if verdict(p) == f"{RECIPE_NAMES[p['ours']]} better"]
    met = "met" if pairs and len(won) == len(pairs) else "NOT met"
    if q["mode"] != "quick" or gpus:
        met += f" (measured in {where})"
    out.append((beat, met, f"V_rand, ours - the other, over {k} folds: " + "; ".join(
        f"{RECIPE_NAMES[p['ours']]} - {RECIPE_NAMES[p['other']]} "
        f"{interval_text(p, 3, sign=True)}" for p in pairs)))

    def means(measures):
        return "; ".join(
            f"{RECIPE_NAMES[name]} " + ", ".join(
                f"{MEASURE_NAMES[m]} {interval_text(q['recipes'][name]['summary'][m], 3)}"
                for m in measures) for name in OURS)

    v_rand = [q["recipes"][name]["summary"]["v_rand"]["mean"] for name in OURS]
    if q["mode"] == "quick":
        out.append((quick, "met" if min(v_rand) >= QUICK_V_RAND_GOAL else "NOT met",
                    f"{means(['v_rand'])}, over {k} folds"))
    else:
        out.append((quick, "not measured", f"this run: {where}"))
    if q["mode"] == "full" and gpus:
        pixel = [q["recipes"][name]["summary"]["isbi_pixel_error"]["mean"] for name in OURS]
        reached = min(v_rand) >= FULL_V_RAND_GOAL and max(pixel) <= FULL_PIXEL_ERROR_GOAL
        out.append((full, "met" if reached else "NOT met",
                    f"{means(['v_rand', 'isbi_pixel_error'])}, over {k} folds"))
    else:
        out.append((full, "not measured", f"this run: {where}; its figures: "
                                          f"{means(['v_rand', 'isbi_pixel_error'])}"))
    return out


def goals(results: dict) -> list[tuple[str, str, str]]:
    """(goal, verdict, evidence) for each of the goals the benchmarks check."""
    out = []
    q = results.get("quality")
    if q:
        out += quality_goals(q)
    p = results.get("pipeline")
    if p:
        r = p["methods"]["ours"]["ratio"]
        out.append(("Input pipeline >= 3x get_augmented's samples/s",
                    "met" if r >= 3 else "NOT met", f"{r:.2f}x"))
        elastic = p["methods"].get("ours+elastic")
        if elastic:
            r = elastic["ratio"]
            out.append(("The same with elastic deformation (elastic=10)",
                        "met" if r >= 3 else "NOT met", f"{r:.2f}x"))
    t = results.get("tiling")
    if t:
        timed = t["timing"]["predict_tiled"]
        ratios = {side: timed[side]["ratio"] for side in sorted(timed, key=int)}
        out.append(("Overlap-tile inference <= 1.5x non-overlapping tiles",
                    "met" if max(ratios.values()) <= 1.5 else "NOT met",
                    ", ".join(f"{ratio:.2f}x at {side}" for side, ratio in ratios.items())))
        seam = t["seams"]["predict_tiled"]["seam_error"]
        ref = t["seams"]["whole_image"]["seam_error"]
        seamed = t["seams"]["get_patches"]["seam_error"]
        # The measure must see get_patches's seams, or "no seam" could mean "no measure".
        if seamed - ref <= SEAM_TOLERANCE:
            verdict_ = "NOT shown (the measure saw no seam in get_patches either)"
        else:
            verdict_ = "met" if abs(seam - ref) <= SEAM_TOLERANCE else "NOT met"
        out.append(("Seam error of predict_tiled within the tolerance of the whole-image "
                    "reference, where get_patches's exceeds it", verdict_,
                    f"predict_tiled {seam:+.4f}, whole-image reference {ref:+.4f} "
                    f"(tolerance {SEAM_TOLERANCE}), get_patches {seamed:+.4f}"))
    return out


# --------------------------------------------------------------------------- lines


def machine_line(results: dict) -> str:
    machines = [r["machine"] for r in results.values()]
    m = machines[0]
    gpus = ", ".join(m["gpus"]) or "no GPU"
    line = (f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {gpus}; Python "
            f"{m['python']}, TensorFlow {m['tensorflow']}, Keras {m['keras']}, keras-unet "
            f"{m['keras_unet']}")
    if any(x != m for x in machines[1:]):
        line += " (WARNING: the result files come from different machines)"
    return line


def budget_line(results: dict) -> str:
    modes = sorted({r["mode"] for r in results.values()})
    parts = []
    if "quality" in results:
        q = results["quality"]
        if is_cross_validation(q):
            parts.append(f"{q['settings']['budget_s']:.0f} s training per recipe and fold, "
                         f"{len(q['folds'])} of {q['settings']['total_folds']} folds")
        else:
            parts.append(f"{q['settings']['budget_s']:.0f} s training per recipe")
    if "pipeline" in results:
        parts.append(f"{results['pipeline']['settings']['seconds_per_method']:.0f} s "
                     "per input pipeline")
    if "tiling" in results:
        parts.append(f"median of {results['tiling']['settings']['repeats']} runs per tiling case")
    if "step" in results:
        parts.append(f"median of {results['step']['settings']['steps']} training steps")
    return f"{'/'.join(modes)} ({'; '.join(parts)})"


def loads(results: dict) -> str:
    values = [r.get("load_average_at_end") for r in results.values()]
    values = [v[0] for v in values if v]
    if not values:
        return "unknown"
    low, high = f"{min(values):.1f}", f"{max(values):.1f}"
    return low if low == high else f"{low}-{high}"


def data_line(results: dict) -> str:
    return ", ".join(sorted({r["data"] for r in results.values()}))


def _markdown_table(headings, rows, code_last=False) -> list[str]:
    lines = ["| " + " | ".join(headings) + " |", "| " + " | ".join("---" for _ in headings) + " |"]
    for row in rows:
        cells = [c.replace("|", "\\|") for c in row]
        if code_last:
            cells[-1] = f"`{cells[-1]}`"
        lines.append("| " + " | ".join(cells) + " |")
    return lines


# --------------------------------------------------------------------------- blocks


def _legacy_readme_quality(results: dict) -> list[str]:
    q = results["quality"]
    return [
        f"**1. Quality after the same training time** ({q['settings']['budget_s']:.0f} s "
        "each, threshold 0.5). Steps: done in that time, and in brackets the number the "
        "workshop trained for. Every recipe trains on images 0-23. These figures were "
        "measured before `make bench` cross-validated its recipes and measured V_rand; its "
        "quality goals below, in V_rand, wait for its next run.",
        "",
        *_markdown_table(quality_headings(results), quality_rows(results), code_last=True),
        "",
    ]


def _readme_quality(results: dict) -> list[str]:
    q = results["quality"]
    k = len(q["folds"])
    own = q["recipes"].get("zerocostdl4mic", {}).get("own_threshold")
    timing = q["timing"]
    lines = [
        f"**1. Quality by cross-validation** ({q['mode']} mode: {_folds_text(q)}; fold f "
        f"tests images {q['settings']['fold_size']}f to {q['settings']['fold_size']}f + "
        f"{q['settings']['fold_size'] - 1} at 512×512 and trains on the other "
        f"{q['settings']['total_folds'] * q['settings']['fold_size'] - q['settings']['fold_size']}"
        f"; {q['settings']['budget_s']:.0f} s of training per recipe and fold, with the seed "
        f"{q['settings']['seed']} + the fold's number for every recipe). V_rand and V_info "
        "(thinned; 1 is perfect) and the challenge's pixel and Rand errors (1 - a best "
        "F-score; 0 is perfect) are the ISBI 2012 challenge's, each at the best of its "
        "thresholds 0, 0.1, ..., 1, which picks the threshold on the test fold itself, as "
        "the challenge does, for every recipe alike; pixel error at 0.5 is the fraction of "
        f"wrong pixels. Each figure: the mean over the {k} folds and, in brackets, its 95% "
        f"t-interval over folds (df = {k - 1}). Steps: the mean per fold, and in brackets "
        "the number of the recipe's own schedule (the workshop's steps, ZeroCostDL4Mic's 100 "
        "epochs).",
        "",
        *_markdown_table(quality_headings(results), quality_rows(results), code_last=True),
        "",
    ]
    if own:
        lines += [
            "ZeroCostDL4Mic's own threshold rule (its quality control: the mean of each "
            "image's best threshold by IoU, picked on the test images themselves): threshold "
            f"{interval_text(own['threshold'], 2)}, V_rand (thinned) there "
            f"{interval_text(own['v_rand'], 3)} (`quality.json: "
            "recipes.zerocostdl4mic.own_threshold`).",
            "",
        ]
    lines += [
        "**Paired differences in V_rand (thinned)**, fold by fold, ours minus the other "
        "recipe: the mean and its 95% t-interval; a recipe is called better only where the "
        "interval excludes 0.",
        "",
        *_markdown_table(["Ours", "Against", "Difference in V_rand (95% interval)", "Verdict",
                          "Source"], pair_rows(results), code_last=True),
        "",
        f"Time per fold (all {len(q['recipes'])} recipes): "
        f"{', '.join(f'{s} s' for s in timing['measured_seconds_per_fold'])}. **Estimates** "
        f"from these: all {timing['folds']} folds at this budget about "
        f"{_duration(timing['at_this_budget_seconds'])}; at `--full`'s "
        f"{timing['full_budget_s']:.0f} s per recipe about "
        f"{_duration(timing['at_full_budget_seconds'])} on this machine (`quality.json: "
        "timing`).",
        "",
    ]
    return lines


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 5400 else f"{seconds / 60:.0f} min"


def readme_block(results: dict, when: str) -> str:
    """The README's text between START and END."""
    q = results.get("quality")
    split = ("cross-validation over the 30 labelled images" if q and is_cross_validation(q)
             else "test split 27-29 at 512×512")
    lines = [
        f"**Machine:** {machine_line(results)}. **Budget:** {budget_line(results)}. "
        f"**Data:** {data_line(results)}, {split}. "
        f"Load average (1 min) at the end of each benchmark: {loads(results)}: other work on "
        "the machine makes the timings noisy.",
        "",
    ]
    if q:
        lines += _readme_quality(results) if is_cross_validation(q) else \
            _legacy_readme_quality(results)
    rows = figures(results, sign="×")
    if rows:
        lines += [
            "**2-4. Speed and memory**, against the workshop's way of doing the same thing:",
            "",
            *_markdown_table(["#", "Figure", "Workshop", "Ours", "Ratio ours / workshop",
                              "Source"], rows, code_last=True),
            "",
        ]
    lines += ["Goals:", ""]
    for goal, verdict_, evidence in goals(results):
        lines.append(f"- **{verdict_}**: {goal} ({evidence})")
    lines += ["", f"Written by benchmarks/run_all.py on {when} from benchmarks/results/*.json "
              "(kept in benchmarks/published.json)"]
    return "\n".join(lines)


def _legacy_deck_rows(q: dict) -> tuple[list[str], list[list[str]]]:
    guess = q["all_interior"]
    rows = [["all-interior guess", "-", f"{guess['pixel_error']:.3f}",
             f"{guess['iou_membrane']:.2f}", f"{guess['rand_error']:.2f}"]]
    best = min(q["recipes"], key=lambda n: q["recipes"][n]["pixel_error"])
    for name, record in q["recipes"].items():
        cells = [f"{record['pixel_error']:.3f}", f"{record['iou_membrane']:.2f}",
                 f"{record['rand_error']:.2f}"]
        if name == best:
            cells[0] = f"**{cells[0]}**"
        rows.append([DECK_LABELS.get(name, record["label"]), str(record["steps"]), *cells])
    return ["recipe", "steps", "pixel error", "membrane IoU",
            "Rand error (scikit-image's, before 2026-12)"], rows


def _deck_rows(q: dict) -> tuple[list[str], list[list[str]]]:
    shown = ("v_rand", "isbi_pixel_error", "pixel_error")
    guess = q["all_interior"]["summary"]
    rows = [["all-interior guess", "-", *(interval_text(guess[m], DIGITS[m]) for m in shown)]]
    best = max(q["recipes"], key=lambda n: q["recipes"][n]["summary"]["v_rand"]["mean"])
    for name, record in q["recipes"].items():
        cells = [interval_text(record["summary"][m], DIGITS[m]) for m in shown]
        if name == best:
            cells[0] = f"**{cells[0]}**"
        steps = record["steps"]
        rows.append([DECK_LABELS.get(name, record["label"]), f"{sum(steps) / len(steps):.0f}",
                     *cells])
    return ["recipe", "steps per fold", "V_rand (thinned) ↑", "pixel error, challenge's ↓",
            "pixel error at 0.5 ↓"], rows


def deck_block(results: dict, when: str) -> str:
    """The deck's results slide body between START and END."""
    q = results["quality"]
    m = q["machine"]
    where = ", ".join(m["gpus"]) or f"{m['cores']} CPU cores"
    if q.get("written"):  # when these were measured, which a later render keeps
        when = datetime.datetime.fromisoformat(q["written"]).strftime("%Y-%m-%d %H:%M %Z")
    load = f"load average {loads({'quality': q})}: the more other work, the fewer steps"
    if not is_cross_validation(q):
        headings, rows = _legacy_deck_rows(q)
        return "\n".join([
            f"`make bench`, {q['mode']} budget: {q['settings']['budget_s']:.0f} s of training "
            f"each on {where} ({load}), the 3 test images at 512 × 512 ({when})",
            "",
            *_markdown_table(headings, rows),
        ])
    headings, rows = _deck_rows(q)
    k = len(q["folds"])
    tally = []
    for ours in OURS:
        pairs = [p for other in (*ORIGINALS, *PEERS) if (p := _pair(q, ours, other))]
        won = [p for p in pairs if verdict(p) == f"{RECIPE_NAMES[ours]} better"]
        tally.append(f"{RECIPE_NAMES[ours]} better than {len(won)} of {len(pairs)}")
    return "\n".join([
        f"`make bench`, {q['mode']} budget: {q['settings']['budget_s']:.0f} s of training per "
        f"recipe on {where} ({load}), cross-validated: {k} folds of 3 test images at "
        f"512 × 512 ({when})",
        "",
        *_markdown_table(headings, rows),
        "",
        f"Mean over the folds (95% interval); V_rand and the challenge's pixel error at its "
        f"best threshold per test fold. Paired V_rand, interval excluding 0: "
        f"{'; '.join(tally)} other recipes",
    ])


def replace_block(text: str, block: str, name: str = "text") -> str:
    """`text` with the part between START and END replaced by `block`."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"{name} must hold {START} and then {END} exactly once each.")
    head, rest = text.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n{block}\n{END}{tail}"


def current_block(text: str) -> str:
    """The part of `text` between START and END, without the newlines next to them."""
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n")


def load_published(path: Path = PUBLISHED) -> tuple[dict, str]:
    """(results, when) of the run that last wrote the README and the deck."""
    record = json.loads(Path(path).read_text())
    return record["results"], record["written"]


def publish(results: dict, when: str, path: Path = PUBLISHED) -> None:
    """Keep `results` in `path`, and rewrite the README's and the deck's blocks from them."""
    Path(path).write_text(json.dumps({"written": when, "results": results}, indent=1) + "\n")
    README.write_text(replace_block(README.read_text(), readme_block(results, when), "README.md"))
    DECK.write_text(replace_block(DECK.read_text(encoding="utf-8"), deck_block(results, when),
                                  "slides/deck.md"), encoding="utf-8")
