"""helpers.check_answer: the one verdict rule of every exercise in notebooks 01 and 02."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import VERDICTS, check_answer


def test_check_answer_none_is_not_attempted(capsys):
    assert check_answer("Exercise 1", None, [[1.0]]) == "not attempted"
    assert capsys.readouterr().out == "Exercise 1: not attempted\n"


def test_check_answer_array_within_atol_is_correct():
    assert check_answer("x", [[0.5, 1.0]], np.array([[0.5, 1.0 + 1e-7]]), quiet=True) == "correct"


def test_check_answer_array_beyond_atol_is_not_yet():
    assert check_answer("x", [[0.5, 1.0]], [[0.5, 1.01]], quiet=True) == "not yet"


def test_check_answer_shape_must_match_even_when_it_broadcasts():
    # [1, 1] against [[1, 1], [1, 1]] broadcasts, but it is not the 2x2 answer asked for.
    assert check_answer("x", [1.0, 1.0], np.ones((2, 2)), quiet=True) == "not yet"


def test_check_answer_rtol_with_atol_zero_is_relative_only():
    assert check_answer("g", 1.005e-6, 1e-6, rtol=0.01, atol=0, quiet=True) == "correct"
    assert check_answer("g", 2e-6, 1e-6, rtol=0.01, atol=0, quiet=True) == "not yet"
    assert check_answer("g", 2e-6, 1e-6, rtol=0.01, quiet=True) == "correct"  # atol 1e-6


def test_check_answer_string_ignores_case_and_spaces():
    assert check_answer("optimiser", "  ADAM ", "adam", quiet=True) == "correct"
    assert check_answer("optimiser", "sgd", "adam", quiet=True) == "not yet"


def test_check_answer_list_of_names_needs_the_same_order():
    names = ["slice_0.png", "slice_1.png", "slice_10.png"]
    assert check_answer("order", tuple(names), names, quiet=True) == "correct"
    assert check_answer("order", sorted(names, reverse=True), names, quiet=True) == "not yet"
    assert check_answer("order", 3, names, quiet=True) == "not yet"  # not a sequence


def test_check_answer_text_for_a_number_is_not_yet():
    assert check_answer("tiles", "forty-nine", 49, quiet=True) == "not yet"


def test_check_answer_verdicts_are_the_three_named():
    answers = [None, 48, 49]
    assert {check_answer("t", answer, 49, quiet=True) for answer in answers} == set(VERDICTS)


def test_check_answer_name_not_a_string_is_refused():
    with pytest.raises(TypeError, match="name must be a string"):
        check_answer(1, 2, 2)
