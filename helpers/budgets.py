"""The training budgets of the course: how long each notebook trains, in each mode.

One home for the numbers that the notebooks, the benchmarks and the slides must agree
on. ``helpers.setup()`` chooses the mode (``quick`` on a CPU, ``full`` on a GPU) and
its result's ``budget`` is ``BUDGETS[mode]``; each notebook reads its own entry::

    budget = course.budget["01_introduction"]
    FILTERS, PATCH, BATCH = budget["filters"], budget["patch"], budget["batch"]

Every number here is a training setting, not a result: the benchmarks time and score
what these budgets give.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["BUDGETS", "NOTEBOOKS"]

#: The notebooks that train, by their file names without ``.ipynb``.
NOTEBOOKS = ("01_introduction", "02_further_topics", "03_your_own_data")


def _frozen(budgets: dict) -> MappingProxyType:
    return MappingProxyType({notebook: MappingProxyType(settings)
                             for notebook, settings in budgets.items()})


#: ``BUDGETS[mode][notebook]``: the U-Net's ``filters`` and the crops (``patch`` pixels
#: square, ``batch`` of them per step) each notebook trains on, and for how long.
#: Notebooks 01 and 03 train ``epochs`` x ``steps_per_epoch`` steps; notebook 02 trains
#: its main model ``main_steps`` steps, each comparison (sections 2 to 4, a smaller
#: network: ``compare_*``) ``compare_epochs`` x ``compare_steps`` steps, and each of
#: section 8's three methods ``paper_steps`` steps. Read-only.
BUDGETS = MappingProxyType({
    "quick": _frozen({
        "01_introduction": {"filters": 16, "patch": 128, "batch": 8,
                            "epochs": 8, "steps_per_epoch": 50},
        "02_further_topics": {"filters": 16, "patch": 128, "batch": 8, "main_steps": 240,
                              "compare_filters": 8, "compare_patch": 96,
                              "compare_epochs": 4, "compare_steps": 20,
                              "paper_steps": 64},
        "03_your_own_data": {"filters": 16, "patch": 128, "batch": 8,
                             "epochs": 8, "steps_per_epoch": 30},
    }),
    "full": _frozen({
        "01_introduction": {"filters": 32, "patch": 256, "batch": 8,
                            "epochs": 60, "steps_per_epoch": 100},
        "02_further_topics": {"filters": 32, "patch": 256, "batch": 8, "main_steps": 8000,
                              "compare_filters": 16, "compare_patch": 128,
                              "compare_epochs": 10, "compare_steps": 150,
                              "paper_steps": 2000},
        "03_your_own_data": {"filters": 32, "patch": 256, "batch": 8,
                             "epochs": 40, "steps_per_epoch": 100},
    }),
})
