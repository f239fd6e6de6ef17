"""Every benchmark runs end to end, on a budget of seconds, on synthetic data.

The figures are meaningless at this budget; what is checked is that each script
still runs, writes its results file in the shape the README's writer reads, and
that the writer renders the README's and the deck's blocks from those files.
Nothing is written into the repository: results go to a temporary folder. The data
are the synthetic look-alike, at 256 x 256, bench_quality runs 2 of its folds,
ZeroCostDL4Mic's U-Net is built with 4 filters instead of its 64, and Keras compiles
without XLA (``jit_compile=False``; the benchmarks use Keras's default), so that
the run stays small: each model is still built, trained for at least one step,
saved or predicted with, and scored.
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO_ROOT / "benchmarks"

#: Each benchmark's options for a run of a few seconds.
SMOKE = {
    "quality": ["--budget", "0.5", "--folds", "2"],
    "pipeline": ["--seconds", "0.2"],
    "tiling": ["--repeats", "1", "--sides", "256"],
    "step": ["--steps", "1", "--warmup", "1"],
}
SIDE = 256  # the synthetic images' side: half ISBI's, for speed


@pytest.fixture
def bench(monkeypatch, tmp_path):
    """The benchmark scripts, imported afresh from the benchmarks package."""
    for name in ("_common", "report", *(f"bench_{name}" for name in SMOKE)):
        monkeypatch.delitem(sys.modules, f"benchmarks.{name}", raising=False)
    import importlib

    _common = importlib.import_module("benchmarks._common")

    import helpers

    # The data as load_split gives them when ISBI 2012 cannot be had, smaller: 30
    # synthetic images of 256 x 256, split the course's way, made once.
    images, masks = helpers.synthetic_membranes(30, size=SIDE, seed=0)
    parts = helpers.split_dataset(images, masks)
    data = SimpleNamespace(source="synthetic", images=images, masks=masks,
                           x_train=parts["train"][0], y_train=parts["train"][1],
                           x_test=parts["test"][0], y_test=parts["test"][1])
    monkeypatch.setattr(_common, "load_split", lambda: data)
    monkeypatch.setitem(_common.ZEROCOST, "filters", 4)  # its 64 take minutes per step here
    # XLA's compilation of each of the many models costs more than all else here.
    keras = _common.import_tf().keras
    compile_ = keras.Model.compile

    def compile_without_xla(self, *args, **kwargs):
        kwargs.setdefault("jit_compile", False)
        return compile_(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "compile", compile_without_xla)
    return {name: importlib.import_module(f"benchmarks.bench_{name}") for name in SMOKE}


@pytest.mark.slow
def test_every_benchmark_runs_on_synthetic_data_and_the_readme_writer_renders_them(
        bench, tmp_path):
    from benchmarks import report

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
    quality = results["quality"]
    assert set(quality["recipes"]) == {*report.ORIGINALS, *report.PEERS, *report.OURS}
    assert [fold["fold"] for fold in quality["folds"]] == [0, 9]
    assert quality["folds"][1]["recipes"]["ours_nb02"]["saved_model"].endswith("ours_nb02.keras")
    for record in quality["recipes"].values():
        assert record["summary"]["v_rand"]["n"] == 2
        assert record["summary"]["v_rand"]["low"] <= record["summary"]["v_rand"]["high"]
    # Each of ours against the three other recipes and against each other, per measure.
    assert len(quality["pairs"]) == 7 * len(report.MEASURES)
    own = quality["recipes"]["zerocostdl4mic"]["own_threshold"]
    assert 0 <= own["threshold"]["mean"] <= 1
    assert quality["timing"]["folds"] == 10

    block = report.readme_block(results, "smoke run")
    assert "Written by benchmarks/run_all.py on smoke run" in block
    for name in report.BENCHMARKS:
        assert f"{name}.json" in block, f"the README block shows nothing from {name}.json"
    assert "**Paired differences in V_rand (thinned)**" in block and "**Estimates**" in block
    verdicts = [goal for goal in report.goals(results) if "V_rand" in goal[0]]
    assert len(verdicts) == 3 and verdicts[2][1] == "not measured"  # (c) needs a GPU
    # The deck dates its table by when the quality figures were measured.
    measured = datetime.datetime.fromisoformat(quality["written"])
    deck = report.deck_block(results, "smoke run")
    assert f"({measured:%Y-%m-%d %H:%M %Z})" in deck and "cross-validated: 2 folds" in deck


@pytest.mark.slow
def test_once_off_benchmarks_run_and_their_records_render(monkeypatch, tmp_path):
    """bench_quick_mode and bench_full_mode at a few steps, then records.render on them."""
    import importlib

    import helpers

    try:
        helpers.find_isbi2012(download=False, verbose=False)
    except Exception as error:  # noqa: BLE001 - whatever keeps the real data away
        pytest.skip(f"needs ISBI 2012 on disk: {error}")
    for name in ("_common", "bench_quick_mode", "bench_full_mode", "records"):
        monkeypatch.delitem(sys.modules, f"benchmarks.{name}", raising=False)
    quick = importlib.import_module("benchmarks.bench_quick_mode")
    full = importlib.import_module("benchmarks.bench_full_mode")
    records = importlib.import_module("benchmarks.records")

    quick.main(["--seeds", "3", "--scale", "0.02", "--json", str(tmp_path / "quick_mode.json")])
    full.main(["--only", "step", "--only", "notebook_01", "--scale", "0.001", "--filters", "4",
               "--repeats", "1", "--output", str(tmp_path / "full_mode_gpu.json")])
    record = json.loads((tmp_path / "full_mode_gpu.json").read_text())
    record.update(command="python -m benchmarks.bench_full_mode", recorded="smoke run")
    (tmp_path / "full_mode_gpu.json").write_text(json.dumps(record))
    quick_record = json.loads((tmp_path / "quick_mode.json").read_text())
    assert [run["seed"] for run in quick_record["recipes"]["after"]["runs"]] == [3]
    assert quick_record["recipes"]["after"]["summary"]["pixel_error"]["std"] is None

    block = records.render(tmp_path)
    assert "| before | 8 × 50 |" in block and "| after |" in block and "Scaled to 0.02" in block
    assert "notebook 01: 4 filters" in block and "mixed_float16" in block


@pytest.mark.slow
def test_zerocost_unet_has_the_notebooks_layers(monkeypatch):
    """ZeroCostDL4Mic's unet() at its defaults: the parameter count its layers give.

    Counted by hand from the notebook's layers (64, 128, 256 filters; a 2x2 convolution
    after each up-sampling; a 3x3 convolution to 2 channels, a 1x1 to 1): 1,862,789.
    """
    import importlib

    monkeypatch.delitem(sys.modules, "benchmarks._common", raising=False)
    _common = importlib.import_module("benchmarks._common")

    model = _common.build_zerocost((512, 512, 1))
    assert model.count_params() == 1_862_789
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("MaxPooling2D") == 2 and kinds.count("UpSampling2D") == 2
    assert "Dropout" not in kinds and "BatchNormalization" not in kinds
    convolutions = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    linear = [layer.filters for layer in convolutions
              if layer.activation.__name__ == "linear"]
    assert linear == [64, 64, 64, 2]  # the top level of the way up, as the notebook has it
    assert convolutions[-1].activation.__name__ == "sigmoid"
    deeper = _common.build_zerocost((64, 64, 1), filters=4, pooling_steps=4)
    assert [type(layer).__name__ for layer in deeper.layers].count("Dropout") == 2
