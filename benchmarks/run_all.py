"""Run every benchmark against the original workshop recipe, print the figures, fill the README.

``make bench`` runs this with the quick budget (fits 2 CPU cores, about 11
minutes); ``make bench BENCH_ARGS=--full`` with the real budget, for a GPU.

Each ``bench_*.py`` runs in its own process (a fresh TensorFlow each time),
prints its own figures and writes ``benchmarks/results/<name>.json``. This
script then reads those files (and nothing else), prints every figure with its
ratio against the original recipe, checks the goals, writes
``benchmarks/results/summary.json``, and rewrites the README's block between
``<!-- bench:start -->`` and ``<!-- bench:end -->``. The README is rewritten
only when every benchmark ran in this invocation and succeeded (or with
``--from-results``, which re-renders it from the result files already there).

    python benchmarks/run_all.py                      # quick, updates the README
    python benchmarks/run_all.py --full               # GPU budget
    python benchmarks/run_all.py --budget 60          # 60 s training per recipe
    python benchmarks/run_all.py --only pipeline step --no-update-readme
    python benchmarks/run_all.py --from-results       # no measuring: summary + README
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

import _common as C

BENCHMARKS = ("quality", "pipeline", "tiling", "step")  # tiling uses quality's saved model
README = C.ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
SEAM_TOLERANCE = 0.005  # "near 0": within this of the whole-image reference


def run_benchmarks(names, args) -> dict[str, int]:
    """Run each bench script in its own process; return exit codes."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    codes = {}
    for name in names:
        command = [sys.executable, str(C.ROOT / "benchmarks" / f"bench_{name}.py")]
        if args.full:
            command.append("--full")
        if name == "quality":
            if args.budget is not None:
                command += ["--budget", str(args.budget)]
            if args.tile_variant:
                command.append("--tile-variant")
        start = time.perf_counter()
        codes[name] = subprocess.run(command, cwd=C.ROOT, env=env, check=False).returncode
        status = "ok" if codes[name] == 0 else f"FAILED (exit {codes[name]})"
        print(f"--- bench_{name}.py: {status}, {time.perf_counter() - start:.0f} s", flush=True)
    return codes


def load_results(names, since: float | None) -> dict[str, dict]:
    """The result files, skipping any written before `since` (a stale file)."""
    found = {}
    for name in names:
        path = C.RESULTS / f"{name}.json"
        if not path.is_file():
            continue
        if since is not None and path.stat().st_mtime < since:
            print(f"ignoring {path.name}: written before this run")
            continue
        found[name] = json.loads(path.read_text())
    return found


# --------------------------------------------------------------------------- figures


def _num(value, spec=".3f"):
    return "n/a" if value is None else format(value, spec)


def _ratio(value, sign="x"):
    return "n/a" if value is None else f"{value:.2f}{sign}"


def _with_cpu(wall, cpu, sign):
    """A wall-time ratio, with the process-CPU-time ratio beside it when measured."""
    text = _ratio(wall, sign)
    return text if cpu is None else f"{text} (CPU time {_ratio(cpu, sign)})"


def figures(results: dict, sign: str = "x") -> list[list[str]]:
    """Rows: benchmark, figure, original recipe, ours, ratio (ours / original), source."""
    rows = []
    q = results.get("quality")
    if q:
        rec, budget = q["recipes"], q["settings"]["budget_s"]
        orig = rec["original"]
        src = "quality.json"

        def triple(r):
            return (f"{r['pixel_error']:.3f} / {r['iou_membrane']:.3f} / "
                    f"{r['rand_error']:.3f}")

        def triple_ratio(r):
            return " / ".join("n/a (original 0)" if orig[k] == 0 else _ratio(r["ratios"][k], sign)
                              for k in ("pixel_error", "iou_membrane", "rand_error"))

        for name, what in (("ours_nb01", "notebook 01 (128 crops, whole-image predict)"),
                           ("ours_nb02", "notebook 02 (full res., overlap-tile predict)")):
            if name in rec:
                rows.append(["1", f"Test pixel error / membrane IoU / Rand error after "
                             f"{budget:.0f} s training: {what}", triple(orig), triple(rec[name]),
                             triple_ratio(rec[name]), f"{src}: recipes.{name}"])
        if "original_tiles" in rec:
            r = rec["original_tiles"]
            rows.append(["1", "The same, original tile variant (non-overlapping 128 tiles, "
                         "Adam 1e-3); ratio to the downscale recipe", triple(r), "-",
                         triple_ratio(r), f"{src}: recipes.original_tiles"])
        steps = [rec[n]["steps"] for n in ("ours_nb01", "ours_nb02") if n in rec]
        rows.append(["1", f"Training steps done in {budget:.0f} s (notebook 01 / 02)",
                     str(orig["steps"]), " / ".join(map(str, steps)),
                     " / ".join(_ratio(rec[n]["ratios"]["steps"], sign)
                                for n in ("ours_nb01", "ours_nb02") if n in rec),
                     f"{src}: recipes.*.steps"])
    p = results.get("pipeline")
    if p:
        m = p["methods"]
        rows.append(["2", "Augmented 128x128 samples per second (get_augmented vs "
                     "augmented_batches)", f"{m['get_augmented']['samples_per_s']:.0f}",
                     f"{m['ours']['samples_per_s']:.0f}",
                     _with_cpu(m["ours"]["ratio"], m["ours"].get("ratio_cpu"), sign),
                     "pipeline.json: methods"])
        rows.append(["2", "Mask pixels neither 0 nor 1",
                     f"{m['get_augmented']['mask_not_binary_fraction']:.1%}",
                     f"{m['ours']['mask_not_binary_fraction']:.1%}", "-",
                     "pipeline.json: methods.*.mask_not_binary_fraction"])
    t = results.get("tiling")
    if t:
        tm = t["timing"]
        for side in ("512", "2048"):
            a, b = tm["get_patches"][side], tm["predict_tiled"][side]
            rows.append(["3", f"Seconds per {side}x{side} image, 128 tiles (get_patches "
                         f"{a['tiles']} tiles vs predict_tiled {b['tiles']})",
                         _num(a["seconds"]), _num(b["seconds"]),
                         _with_cpu(b["ratio"], b.get("ratio_cpu"), sign),
                         f"tiling.json: timing.*.{side}"])
        if "predict_tiled_16" in tm:
            c = tm["predict_tiled_16"]
            rows.append(["3", "Same with overlap 16 "
                         f"({c['512']['tiles']} / {c['2048']['tiles']} tiles), "
                         "seconds per 512 / 2048 image",
                         f"{_num(tm['get_patches']['512']['seconds'])} / "
                         f"{_num(tm['get_patches']['2048']['seconds'])}",
                         f"{_num(c['512']['seconds'])} / {_num(c['2048']['seconds'])}",
                         f"{_ratio(c['512']['ratio'], sign)} / {_ratio(c['2048']['ratio'], sign)}",
                         "tiling.json: timing.predict_tiled_16"])
        for key, what in (("rss_peak_mib", "Peak RSS above start"),
                          ("numpy_peak_mib", "Peak NumPy memory (tracemalloc)")):
            a, b = tm["get_patches"]["2048"][key], tm["predict_tiled"]["2048"][key]
            rows.append(["3", f"{what}, 2048x2048 image, MiB", f"{a:.0f}", f"{b:.0f}",
                         _ratio(C.ratio(b, a), sign), f"tiling.json: timing.*.2048.{key}"])
        s = t["seams"]
        rows.append(["3", "Seam error: pixel error within 8 px of 128-grid borders minus "
                     f"elsewhere (whole-image predict: {s['whole_image']['seam_error']:+.4f})",
                     f"{s['get_patches']['seam_error']:+.4f}",
                     f"{s['predict_tiled']['seam_error']:+.4f}", "-", "tiling.json: seams"])
    st = results.get("step")
    if st:
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


def goals(results: dict) -> list[tuple[str, str, str]]:
    """(goal, verdict, evidence) for each of the issue's goals."""
    out = []
    q = results.get("quality")
    if q:
        rec = q["recipes"]
        orig = rec["original"]["pixel_error"]
        ours = rec["ours_nb01"]["pixel_error"]
        nb02 = rec["ours_nb02"]["pixel_error"]
        verdict = "met" if ours < orig else "NOT met"
        if q["mode"] != "quick":
            verdict += " (measured in full mode)"
        out.append(("Quick-mode pixel error beats the original recipe's at the same budget",
                    verdict, f"notebook 01 {ours:.4f}, notebook 02 {nb02:.4f} vs original "
                    f"{orig:.4f} after {q['settings']['budget_s']:.0f} s"))
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
    t = results.get("tiling")
    if t:
        ratios = {side: t["timing"]["predict_tiled"][side]["ratio"] for side in ("512", "2048")}
        out.append(("Overlap-tile inference <= 1.5x non-overlapping tiles",
                    "met" if max(ratios.values()) <= 1.5 else "NOT met",
                    f"{ratios['512']:.2f}x at 512, {ratios['2048']:.2f}x at 2048"))
        seam = t["seams"]["predict_tiled"]["seam_error"]
        ref = t["seams"]["whole_image"]["seam_error"]
        out.append(("Seam error near 0", "met" if abs(seam - ref) <= SEAM_TOLERANCE else "NOT met",
                    f"predict_tiled {seam:+.4f}, whole-image reference {ref:+.4f} "
                    f"(tolerance {SEAM_TOLERANCE}), get_patches "
                    f"{t['seams']['get_patches']['seam_error']:+.4f}"))
    return out


# --------------------------------------------------------------------------- output


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
    return f"{min(values):.1f}-{max(values):.1f}" if values else "unknown"


def print_summary(results: dict) -> None:
    print("\n" + "=" * 79)
    print("SUMMARY (from benchmarks/results/*.json)")
    print(f"machine: {machine_line(results)}")
    print(f"budget: {budget_line(results)}; data: "
          f"{', '.join(sorted({r['data'] for r in results.values()}))}; "
          f"1-min load average at the end of each benchmark: {loads(results)}")
    rows = figures(results)
    C.print_table([[r[0], r[1], r[2], r[3], r[4]] for r in rows],
                  ["#", "figure", "original", "ours", "ratio ours/orig"])
    print("\ngoals:")
    for goal, verdict, evidence in goals(results):
        print(f"  [{verdict}] {goal}: {evidence}")


def readme_block(results: dict, when: str) -> str:
    rows = figures(results, sign="×")
    lines = [
        f"**Machine:** {machine_line(results)}. "
        f"**Budget:** {budget_line(results)}. **Data:** "
        f"{', '.join(sorted({r['data'] for r in results.values()}))}, test split 27-29. "
        f"Load average (1 min) at the end of each benchmark: {loads(results)}.",
        "",
        "| # | Figure | Original recipe | Ours | Ratio ours / original | Source |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        cells = [c.replace("|", "\\|") for c in r]
        cells[5] = f"`{cells[5]}`"
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Goals:", ""]
    for goal, verdict, evidence in goals(results):
        lines.append(f"- **{verdict}**: {goal} ({evidence})")
    lines += ["", f"Written by benchmarks/run_all.py on {when} from benchmarks/results/*.json"]
    return "\n".join(lines)


def update_readme(block: str) -> None:
    text = README.read_text()
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise SystemExit(f"README.md must hold {START} and then {END} exactly once each.")
    head, rest = text.split(START)
    _, tail = rest.split(END)
    README.write_text(f"{head}{START}\n{block}\n{END}{tail}")
    print(f"README.md: benchmark table rewritten between {START} and {END}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--full", action="store_true", help="the real budget, for a GPU")
    p.add_argument("--budget", type=float, default=None,
                   help="training seconds per recipe in bench_quality (default 120 quick, "
                        "900 full)")
    p.add_argument("--tile-variant", action="store_true",
                   help="also train the original tile recipe in quick mode (on with --full)")
    p.add_argument("--only", nargs="+", choices=BENCHMARKS, default=None,
                   help="run only these benchmarks (the README is then left alone)")
    p.add_argument("--from-results", action="store_true",
                   help="measure nothing: summarise the result files already there")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--update-readme", dest="update_readme", action="store_true",
                       default=True, help="rewrite the README's table (the default)")
    group.add_argument("--no-update-readme", dest="update_readme", action="store_false")
    args = p.parse_args(argv)

    names = args.only or list(BENCHMARKS)
    started = time.time()
    codes = {} if args.from_results else run_benchmarks(names, args)
    results = load_results(BENCHMARKS if args.from_results or not args.only else names,
                           None if args.from_results else started - 1)
    if not results:
        print("no results to summarise")
        return 1
    print_summary(results)
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    summary = {"written": when, "machine": machine_line(results), "budget": budget_line(results),
               "figures": figures(results), "goals": goals(results), "exit_codes": codes,
               "total_seconds": round(time.time() - started)}
    C.RESULTS.mkdir(parents=True, exist_ok=True)
    (C.RESULTS / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    failed = [name for name, code in codes.items() if code != 0]
    complete = set(results) == set(BENCHMARKS) and not failed
    if args.update_readme and complete and (args.only is None or args.from_results):
        update_readme(readme_block(results, when))
    elif args.update_readme:
        print("README.md left alone: it is rewritten only from a complete, successful run "
              "of every benchmark (or with --from-results when all result files exist).")
    print(f"total: {time.time() - started:.0f} s")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
