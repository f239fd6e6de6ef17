"""helpers.BUDGETS and helpers.course_unet: the one home of the training budgets and the U-Net."""

from __future__ import annotations

import numpy as np
import pytest

import helpers
from helpers.budgets import NOTEBOOKS


def test_budgets_every_mode_has_every_notebook_with_positive_integers():
    assert set(helpers.BUDGETS) == {"quick", "full"}
    for mode, by_notebook in helpers.BUDGETS.items():
        assert set(by_notebook) == set(NOTEBOOKS), mode
        for notebook, budget in by_notebook.items():
            assert all(isinstance(value, int) and value > 0 for value in budget.values()), \
                (mode, notebook)
            # custom_unet with 4 levels needs sides that are multiples of 16
            assert budget["patch"] % 16 == 0, (mode, notebook)


def test_budgets_full_mode_trains_longer_with_the_same_settings():
    for notebook in NOTEBOOKS:
        quick, full = (helpers.BUDGETS[mode][notebook] for mode in ("quick", "full"))
        assert quick.keys() == full.keys()
        assert full["filters"] > quick["filters"] and full["patch"] > quick["patch"]


def test_budgets_are_read_only():
    with pytest.raises(TypeError):
        helpers.BUDGETS["quick"]["01_introduction"]["epochs"] = 1


@pytest.mark.slow
def test_course_unet_takes_arrays_without_a_warning(recwarn):
    net = helpers.course_unet(4, num_layers=2, name="tiny")
    out = net(np.zeros((1, 32, 48, 1), "float32"))  # not square: any multiple of 4
    assert tuple(out.shape) == (1, 32, 48, 1) and net.name == "tiny"
    assert not [w for w in recwarn if "structure" in str(w.message)], [str(w.message)
                                                                        for w in recwarn]


@pytest.mark.slow
def test_course_unet_changes_and_momentum_reach_the_model():
    import keras

    net = helpers.course_unet(4, num_layers=2, num_classes=3, output_activation="softmax",
                              bn_momentum=0.9)
    assert net.outputs[0].shape[-1] == 3
    norms = [layer for layer in net.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and all(layer.momentum == 0.9 for layer in norms)


def test_course_unet_unknown_option_is_refused_before_building():
    with pytest.raises(TypeError, match="unknown custom_unet option"):
        helpers.course_unet(4, num_layer=2)


@pytest.mark.parametrize("filters", [0, 2.5, True, "16"])
def test_course_unet_filters_not_a_positive_integer_is_refused(filters):
    with pytest.raises(ValueError, match="filters must be a positive integer"):
        helpers.course_unet(filters)


def _steps(budget: dict) -> dict:
    if "main_steps" in budget:  # notebook 02: the main model, each comparison, section 8
        return {"main": budget["main_steps"], "paper": budget["paper_steps"],
                "compare": budget["compare_epochs"] * budget["compare_steps"]}
    return {"main": budget["epochs"] * budget["steps_per_epoch"]}


def test_budgets_full_mode_trains_15_to_35_times_the_steps():
    # The README's settings table and notebook 02's budget cell say "15 to 33 times".
    ratios = [_steps(helpers.BUDGETS["full"][name])[part] / steps
              for name in NOTEBOOKS
              for part, steps in _steps(helpers.BUDGETS["quick"][name]).items()]
    assert 15 <= min(ratios) and max(ratios) <= 35, ratios


def test_budgets_the_decks_training_slide_shows_notebook_01s():
    import re
    from pathlib import Path

    deck = (Path(__file__).resolve().parents[1] / "slides" / "deck.md").read_text("utf-8")
    shown = re.search(r"steps_per_epoch=(\d+), epochs=(\d+),\s+# full mode: (\d+), (\d+)", deck)
    assert shown, "the deck's training slide no longer shows the budget"
    quick, full = (helpers.BUDGETS[mode]["01_introduction"] for mode in ("quick", "full"))
    assert [int(n) for n in shown.groups()] == [quick["steps_per_epoch"], quick["epochs"],
                                                full["steps_per_epoch"], full["epochs"]]
