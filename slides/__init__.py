"""The workshop deck, a package run from the repository root.

    python -m slides.build           # `make slides`: figures, then HTML and PDF with Marp

``figures`` draws the deck's figures (from `helpers`, and the workshop's recipe and
resize from ``benchmarks._common``); ``build`` renders the results slide with
``benchmarks.report``, the code that writes the README's tables.
"""
