"""The course's benchmarks, a package run from the repository root.

    python -m benchmarks.run_all            # every benchmark (`make bench`)
    python -m benchmarks.bench_quality      # one of them
    python -m benchmarks.records            # the README's block of once-off records

``_common`` is the scripts' shared plumbing and the workshop's recipes; ``report``
renders the README's tables and the deck's results slide (``slides.build`` imports it).
"""
