"""Every benchmark runs end to end, on a budget of seconds, on synthetic data.

The figures are meaningless at this budget; what is checked is that each script
still runs, writes its results file in the shape the README's writer reads, and
that the writer renders the README's and the deck's blocks from those files.
Nothing is written into the repository: results go to a temporary folder. The data
are the synthetic look-alike, at 256 x 256 so that the whole run takes seconds.
"""

from __future__ import annotations

import datetime
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO_ROOT / "benchmarks"

#: Each benchmark's options for a run of a few seconds.
SMOKE = {
    "quality": ["--budget", "0.5"],
    "pipeline": ["--seconds", "0.2"],
    "tiling": ["--repeats", "1", "--sides", "256"],
    "step": ["--steps", "1", "--warmup", "1"],
}
SIDE = 256  # the synthetic images' side: half ISBI's, for speed


@pytest.fixture
def bench(monkeypatch, tmp_path):
    """The benchmark scripts, importable as their own `import _common` expects."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    for name in ("_common", "report", *(f"bench_{name}" for name in SMOKE)):
        monkeypatch.delitem(sys.modules, name, raising=False)
    import importlib

    import _common

    import helpers

    # The data as load_split gives them when ISBI 2012 cannot be had, smaller: 30
    # synthetic images of 256 x 256, split the course's way, made once.
    images, masks = helpers.synthetic_membranes(30, size=SIDE, seed=0)
    parts = helpers.split_dataset(images, masks)
    data = SimpleNamespace(source="synthetic", x_train=parts["train"][0],
                           y_train=parts["train"][1], x_test=parts["test"][0],
                           y_test=parts["test"][1])
    monkeypatch.setattr(_common, "load_split", lambda: data)
    return {name: importlib.import_module(f"bench_{name}") for name in SMOKE}


@pytest.mark.slow
def test_every_benchmark_runs_on_synthetic_data_and_the_readme_writer_renders_them(
        bench, tmp_path):
    import report

    start = time.perf_counter()
    results = {}
    for name in report.BENCHMARKS:  # quality first: tiling uses the model it saves
        path = tmp_path / f"{name}.json"
        options = [*SMOKE[name], "--json", str(path)]
        if name == "tiling":
            options += ["--model", str(tmp_path / "ours_nb02.keras")]
        bench[name].main(options)
        results[name] = json.loads(path.read_text())
        assert results[name]["data"] == "synthetic"
        assert results[name]["benchmark"] == name
    assert (tmp_path / "ours_nb02.keras").is_file()
    assert "bench_quality.py" in results["tiling"]["settings"]["seam_model"]
    assert set(results["quality"]["recipes"]) == {*report.ORIGINALS, *report.OURS}

    block = report.readme_block(results, "smoke run")
    assert "Written by benchmarks/run_all.py on smoke run" in block
    for name in report.BENCHMARKS:
        assert f"{name}.json" in block, f"the README block shows nothing from {name}.json"
    # The deck dates its table by when the quality figures were measured.
    measured = datetime.datetime.fromisoformat(results["quality"]["written"])
    assert f"({measured:%Y-%m-%d %H:%M %Z})" in report.deck_block(results, "smoke run")
    assert time.perf_counter() - start < 60, "the smoke run must stay under a minute"


@pytest.mark.slow
def test_once_off_benchmarks_run_and_their_records_render(monkeypatch, tmp_path):
    """bench_quick_mode and bench_full_mode at a few steps, then records.render on them."""
    import importlib

    import helpers

    try:
        helpers.find_isbi2012(download=False, verbose=False)
    except Exception as error:  # noqa: BLE001 - whatever keeps the real data away
        pytest.skip(f"needs ISBI 2012 on disk: {error}")
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    for name in ("_common", "bench_quick_mode", "bench_full_mode", "records"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    quick = importlib.import_module("bench_quick_mode")
    full = importlib.import_module("bench_full_mode")
    records = importlib.import_module("records")

    quick.main(["--seeds", "3", "--scale", "0.02", "--json", str(tmp_path / "quick_mode.json")])
    full.main(["--only", "step", "--only", "notebook_01", "--scale", "0.001", "--filters", "4",
               "--repeats", "1", "--output", str(tmp_path / "full_mode_gpu.json")])
    record = json.loads((tmp_path / "full_mode_gpu.json").read_text())
    record.update(command="python benchmarks/bench_full_mode.py", recorded="smoke run")
    (tmp_path / "full_mode_gpu.json").write_text(json.dumps(record))
    quick_record = json.loads((tmp_path / "quick_mode.json").read_text())
    assert [run["seed"] for run in quick_record["recipes"]["after"]["runs"]] == [3]
    assert quick_record["recipes"]["after"]["summary"]["pixel_error"]["std"] is None

    block = records.render(tmp_path)
    assert "| before | 8 × 50 |" in block and "| after |" in block and "Scaled to 0.02" in block
    assert "notebook 01: 4 filters" in block and "mixed_float16" in block
