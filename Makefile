# The course's two commands, each setting up .venv by itself:
#   make run    execute both notebooks headless, write build/*.ipynb and build/*.html
#   make test   lint, notebook checks, pytest for helpers, nbval for every notebook
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOKS := notebooks/01_introduction.ipynb notebooks/02_further_topics.ipynb

.PHONY: run test lint check-notebooks sync-notebooks badges slides bench clean

# A fresh .venv whenever the requirements change (or there is none yet).
$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt \
		-c constraints.txt -e .
	@$(BIN)/python -c "import sys, tensorflow, keras; print('Environment ready: Python', \
		sys.version.split()[0], '| TensorFlow', tensorflow.__version__, '| Keras', keras.__version__)"
	touch $@

run: $(STAMP)
	$(BIN)/python tools/run_notebooks.py --output-dir build $(wildcard $(NOTEBOOKS))

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python tools/check_notebooks.py
	UNET_COURSE_MODE=quick $(BIN)/python -m pytest tests $(wildcard $(NOTEBOOKS)) \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=900 -p no:cacheprovider \
		--durations=8

lint: $(STAMP)
	$(BIN)/ruff check .

check-notebooks: $(STAMP)
	$(BIN)/python tools/check_notebooks.py

# After editing a notebook's .py (or .ipynb): rewrite its partner, clean.
sync-notebooks: $(STAMP)
	$(BIN)/python tools/check_notebooks.py --fix

# The workshop deck: slides/build/deck.html (offline) and deck.pdf.
slides: $(STAMP)
	$(BIN)/python slides/build.py

# Benchmarks against the two original workshop recipes; BENCH_ARGS=--full for a GPU budget.
# Rewrites the README's table and the deck's results slide (benchmarks/published.json).
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

badges: $(STAMP)
	$(BIN)/python tools/badges.py --fix

clean:
	rm -rf build outputs notebooks/outputs .pytest_cache
