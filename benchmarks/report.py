"""The benchmark figures as text: the README's tables and the deck's results slide.

Everything here reads result records (the JSON that the ``bench_*.py`` scripts
write) and nothing else, with the standard library only, so that
``run_all.py``, ``slides/build.py`` and the tests can all use it.

``benchmarks/published.json`` holds the records of the run that last wrote the
README; the README's block and the deck's block between ``<!-- bench:start -->``
and ``<!-- bench:end -->`` are rendered from it, and the tests check that they
still are (so a typed-in number fails them).
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
SEAM_TOLERANCE = 0.005  # "near 0": within this of the whole-image reference
ORIGINALS = ("original_intro", "original_tiles")
OURS = ("ours_nb01", "ours_nb02")

#: Short names for the deck's table (the README shows each record's full label).
DECK_LABELS = {
    "original_intro": "workshop introduction: whole image resized to 128² (nearest), 64 "
                      "filters, no batch norm, BCE, Adam 10⁻⁴, batch 5; predicted at 128², "
                      "nearest-upsampled to 512²",
    "original_tiles": "workshop further topics: non-overlapping 128² tiles, 64 filters, no "
                      "batch norm, `jaccard_distance`, Adam 10⁻³, batch 10",
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


def quality_rows(results: dict) -> list[list[str]]:
    """Rows: recipe, steps done (the workshop's), pixel error, membrane IoU, Rand error, source."""
    q = results.get("quality")
    if not q:
        return []
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
        rows.append(["4", "Mixed precision: skipped, no GPU (on a CPU float16 is slower "
                     "than float32)", "-", "-", "-",
                     "step.json: settings.mixed_precision_cpu (no GPU)"])
    return rows


#: Each speed benchmark's rows of the figures table, in the table's order.
FIGURE_ROWS = {"pipeline": _pipeline_rows, "tiling": _tiling_rows, "step": _step_rows}


def figures(results: dict, sign: str = "x") -> list[list[str]]:
    """Speed and memory rows: benchmark, figure, original, ours, ratio (ours / original), source."""
    return [row for name, rows in FIGURE_ROWS.items() if results.get(name)
            for row in rows(results[name], sign)]


def goals(results: dict) -> list[tuple[str, str, str]]:
    """(goal, verdict, evidence) for each of the goals the benchmarks check."""
    out = []
    q = results.get("quality")
    if q:
        rec = q["recipes"]
        best_original = min(rec[n]["pixel_error"] for n in ORIGINALS)
        ours = rec["ours_nb01"]["pixel_error"]
        nb02 = rec["ours_nb02"]["pixel_error"]
        verdict = "met" if ours < best_original else "NOT met"
        if q["mode"] != "quick":
            verdict += " (measured in full mode)"
        out.append(("Quick-mode pixel error beats both workshop recipes' at the same budget",
                    verdict, f"notebook 01 {ours:.4f}, notebook 02 {nb02:.4f} vs workshop "
                    f"introduction {rec['original_intro']['pixel_error']:.4f}, further topics "
                    f"{rec['original_tiles']['pixel_error']:.4f} after "
                    f"{q['settings']['budget_s']:.0f} s"))
        if q["mode"] == "full" and q["machine"]["gpus"]:
            best = min(ours, nb02)
            out.append(("Full mode on a GPU: pixel error <= 0.06",
                        "met" if best <= 0.06 else "NOT met", f"best of ours {best:.4f}"))
        else:
            out.append(("Full mode on a GPU: pixel error <= 0.06", "not measured",
                        f"this run: {q['mode']} mode, "
                        f"{', '.join(q['machine']['gpus']) or 'no GPU'}"))
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
        out.append(("Seam error near 0", "met" if abs(seam - ref) <= SEAM_TOLERANCE else "NOT met",
                    f"predict_tiled {seam:+.4f}, whole-image reference {ref:+.4f} "
                    f"(tolerance {SEAM_TOLERANCE}), get_patches "
                    f"{t['seams']['get_patches']['seam_error']:+.4f}"))
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
        parts.append(f"{results['quality']['settings']['budget_s']:.0f} s training per recipe")
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


def readme_block(results: dict, when: str) -> str:
    """The README's text between START and END."""
    lines = [
        f"**Machine:** {machine_line(results)}. **Budget:** {budget_line(results)}. "
        f"**Data:** {data_line(results)}, test split 27-29 at 512×512. "
        f"Load average (1 min) at the end of each benchmark: {loads(results)}: other work on "
        "the machine makes the timings noisy.",
        "",
    ]
    q = results.get("quality")
    if q:
        lines += [
            f"**1. Quality after the same training time** ({q['settings']['budget_s']:.0f} s "
            "each, threshold 0.5). Steps: done in that time, and in brackets the number the "
            "workshop trained for. Every recipe trains on images 0-23.",
            "",
            *_markdown_table(["Recipe", "Steps done (workshop's)", "Pixel error",
                              "Membrane IoU", "Rand error", "Source"], quality_rows(results),
                             code_last=True),
            "",
        ]
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
    for goal, verdict, evidence in goals(results):
        lines.append(f"- **{verdict}**: {goal} ({evidence})")
    lines += ["", f"Written by benchmarks/run_all.py on {when} from benchmarks/results/*.json "
              "(kept in benchmarks/published.json)"]
    return "\n".join(lines)


def deck_block(results: dict, when: str) -> str:
    """The deck's results slide body between START and END."""
    q = results["quality"]
    m = q["machine"]
    where = ", ".join(m["gpus"]) or f"{m['cores']} CPU cores"
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
    if q.get("written"):  # when these were measured, which a later render keeps
        when = datetime.datetime.fromisoformat(q["written"]).strftime("%Y-%m-%d %H:%M %Z")
    lines = [
        f"`make bench`, {q['mode']} budget: {q['settings']['budget_s']:.0f} s of training "
        f"each on {where} (load average {loads({'quality': q})}: the more other work, the "
        f"fewer steps), the 3 test images at 512 × 512 ({when})",
        "",
        *_markdown_table(["recipe", "steps", "pixel error", "membrane IoU", "Rand error"],
                         rows),
    ]
    return "\n".join(lines)


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
