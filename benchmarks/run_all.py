"""Run every benchmark against the original workshop recipe, print the figures, fill the README.

``make bench`` runs this with the quick budget (for 2 CPU cores: five recipes
trained for 60 s each in each of 3 cross-validation folds, then the speed
benchmarks: sized for about 30 minutes on a quiet machine); ``make bench
BENCH_ARGS=--full`` with the real budget, for a GPU (all 10 folds, 900 s per
recipe and fold).

Each ``bench_*.py`` runs in its own process (a fresh TensorFlow each time),
prints its own figures and writes ``benchmarks/results/<name>.json``. This
script then reads those files (and nothing else), prints every figure with its
ratio against the original recipe, checks the goals, writes
``benchmarks/results/summary.json``, keeps the records in
``benchmarks/published.json`` (committed), and rewrites the blocks between
``<!-- bench:start -->`` and ``<!-- bench:end -->`` in the README and in
``slides/deck.md`` (see ``report.py``). That happens only when every benchmark
ran in this invocation and succeeded (or with ``--from-results``, which
re-renders them from the result files already there, or ``--from-published``).

    python -m benchmarks.run_all                      # quick, updates the README
    python -m benchmarks.run_all --full               # GPU budget
    python -m benchmarks.run_all --budget 30 --folds 2  # 30 s per recipe, 2 folds
    python -m benchmarks.run_all --only pipeline step --no-update-readme
    python -m benchmarks.run_all --from-results       # no measuring: summary + README
    python -m benchmarks.run_all --from-published     # README and deck from published.json

Run from the repository root: ``benchmarks`` and ``slides`` are packages there.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

from benchmarks import _common as C
from benchmarks import report

BENCHMARKS = report.BENCHMARKS  # in this order: tiling uses quality's saved model


def run_benchmarks(names, args) -> dict[str, int]:
    """Run each bench script in its own process; return exit codes."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    codes = {}
    for name in names:
        command = [sys.executable, "-m", f"benchmarks.bench_{name}"]  # from C.ROOT
        if args.full:
            command.append("--full")
        if name == "quality" and args.budget is not None:
            command += ["--budget", str(args.budget)]
        if name == "quality" and args.folds is not None:
            command += ["--folds", str(args.folds)]
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


# --------------------------------------------------------------------------- output


def print_summary(results: dict) -> None:
    print("\n" + "=" * 79)
    print("SUMMARY (from benchmarks/results/*.json)")
    print(f"machine: {report.machine_line(results)}")
    print(f"budget: {report.budget_line(results)}; data: {report.data_line(results)}; "
          f"1-min load average at the end of each benchmark: {report.loads(results)}")
    quality = report.quality_rows(results)
    if quality:
        headings = report.quality_headings(results)[:-1]  # without the source
        if report.is_cross_validation(results["quality"]):
            names = ["all-interior guess", *results["quality"]["recipes"]]
            quality = [[name, *row[1:-1]] for name, row in zip(names, quality, strict=True)]
            print("mean over the folds (95% t-interval over folds); V_rand, V_info and the "
                  "challenge's errors at the best of its thresholds on each test fold")
        C.print_table([row[:len(headings)] for row in quality], headings)
        pairs = report.pair_rows(results)
        if pairs:
            print("\npaired differences in V_rand (thinned), ours - other, fold by fold:")
            C.print_table([row[:4] for row in pairs],
                          ["ours", "against", "difference (95% interval)", "verdict"])
        print()
    rows = report.figures(results)
    if rows:
        C.print_table([r[:5] for r in rows],
                      ["#", "figure", "workshop", "ours", "ratio ours/workshop"])
    print("\ngoals:")
    for goal, verdict, evidence in report.goals(results):
        print(f"  [{verdict}] {goal}: {evidence}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--full", action="store_true", help="the real budget, for a GPU")
    p.add_argument("--budget", type=float, default=None,
                   help="training seconds per recipe and fold in bench_quality (default 60 "
                        "quick, 900 full)")
    p.add_argument("--folds", type=int, default=None,
                   help="cross-validation folds in bench_quality, of 10 (default 3 quick, "
                        "10 full)")
    p.add_argument("--only", nargs="+", choices=BENCHMARKS, default=None,
                   help="run only these benchmarks (the README is then left alone)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--from-results", action="store_true",
                        help="measure nothing: summarise the result files already there")
    source.add_argument("--from-published", action="store_true",
                        help="measure nothing: render the README and the deck again from "
                             "benchmarks/published.json")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--update-readme", dest="update_readme", action="store_true",
                       default=True, help="rewrite the README's and the deck's tables "
                                          "(the default)")
    group.add_argument("--no-update-readme", dest="update_readme", action="store_false")
    args = p.parse_args(argv)

    if args.from_published:
        results, when = report.load_published()
        print_summary(results)
        report.publish(results, when)
        print("README.md and slides/deck.md: benchmark blocks rendered from "
              "benchmarks/published.json")
        return 0

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
    summary = {"written": when, "machine": report.machine_line(results),
               "budget": report.budget_line(results), "quality": report.quality_rows(results),
               "quality_pairs": report.pair_rows(results),
               "figures": report.figures(results), "goals": report.goals(results),
               "exit_codes": codes, "total_seconds": round(time.time() - started)}
    C.RESULTS.mkdir(parents=True, exist_ok=True)
    (C.RESULTS / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    failed = [name for name, code in codes.items() if code != 0]
    complete = set(results) == set(BENCHMARKS) and not failed
    if args.update_readme and complete and (args.only is None or args.from_results):
        report.publish(results, when)
        print(f"README.md and slides/deck.md: benchmark blocks rewritten; results kept in "
              f"{C.display_path(report.PUBLISHED)}")
    elif args.update_readme:
        print("README.md left alone: it is rewritten only from a complete, successful run "
              "of every benchmark (or with --from-results when all result files exist).")
    print(f"total: {time.time() - started:.0f} s")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
