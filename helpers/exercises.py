"""The exercises' self-check: one verdict rule for every exercise of the course.

Each exercise in notebooks 01 and 02 ends with a check that computes the expected
answer itself (from Keras, from the helpers, from the data) and compares the
learner's answer with it here.
"""

from __future__ import annotations

import numpy as np

__all__ = ["VERDICTS", "check_answer"]

#: What `check_answer` can say.
VERDICTS = ("correct", "not yet", "not attempted")


def check_answer(name: str, answer, expected, *, rtol: float = 0.0, atol: float = 1e-6,
                 quiet: bool = False) -> str:
    """Print and return the verdict on one answer: "correct", "not yet" or "not attempted".

    Parameters
    ----------
    name : str
        What is checked, printed before the verdict ("Exercise 1", "gradient 1000").
    answer : object
        The learner's answer; ``None`` (the exercises' starting value) is "not attempted".
    expected : str, list of str, number or array_like
        The independently computed answer. A string is compared with ``str(answer)``,
        ignoring case and surrounding spaces; a list of strings with the answer's items,
        in order; anything else as numbers of the same shape, within
        ``atol + rtol * |expected|``.
    rtol, atol : float, keyword-only
        The relative and absolute tolerances (``numpy.allclose``'s).
    quiet : bool, keyword-only
        Return the verdict without printing it.

    Returns
    -------
    str
        One of `VERDICTS`.

    Examples
    --------
    >>> check_answer("Exercise 1", [[1.0, 2.0]], [[1.0, 2.0000001]])
    Exercise 1: correct
    'correct'
    >>> check_answer("optimiser", " Adam", "adam", quiet=True)
    'correct'
    >>> check_answer("tiles", 48, 49, quiet=True), check_answer("tiles", None, 49, quiet=True)
    ('not yet', 'not attempted')
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}.")
    if answer is None:
        verdict = "not attempted"
    elif isinstance(expected, str):
        verdict = "correct" if str(answer).strip().lower() == expected.strip().lower() \
            else "not yet"
    elif isinstance(expected, (list, tuple)) and expected \
            and all(isinstance(item, str) for item in expected):
        # An order of names (file names, say): the same names in the same order.
        try:
            verdict = "correct" if [str(item) for item in answer] == list(expected) \
                else "not yet"
        except TypeError:  # not a sequence
            verdict = "not yet"
    else:
        try:
            given = np.asarray(answer, dtype="float64")
            wanted = np.asarray(expected, dtype="float64")
        except (TypeError, ValueError):  # a string or a list of strings for a number
            verdict = "not yet"
        else:
            same = given.shape == wanted.shape and np.allclose(given, wanted, rtol=rtol,
                                                                 atol=atol)
            verdict = "correct" if same else "not yet"
    if not quiet:
        print(f"{name}: {verdict}")
    return verdict
