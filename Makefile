# The course's two commands, each setting up .venv by itself:
#   make run    execute both notebooks headless, write build/*.ipynb and build/*.html
#   make test   lint, notebook checks, pytest for helpers, nbval for every notebook
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOKS := notebooks/01_introduction.ipynb notebooks/02_further_topics.ipynb

.PHONY: run test test-colab-versions colab-bundle lint check-notebooks sync-notebooks badges \
	slides bench clean

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

# Google Colab's own versions (checked 2026-11), on the local Python: a second venv in
# which pytest runs for the course package (not the slide deck) and nbval runs both
# notebooks in quick mode under a stand-in google.colab (tests/colab_stand_in). Colab runs
# Python 3.13; here it is whatever $(PYTHON) is. Colab has ipykernel 6.17.1, and so does
# this venv: it installs beside nbval 0.11 (which asks for no particular version). The
# developer tools are listed here, not from requirements-dev.txt, whose ipykernel floor
# is newer than Colab's.
COLAB_VENV := .venv-colab
COLAB_PINS := tensorflow==2.20.0 keras==3.13.2 numpy==2.1.3 pandas==2.2.3 \
	scikit-image==0.25.2 setuptools==75.2.0 ipykernel==6.17.1
COLAB_DEV  := pytest pytest-timeout nbval nbconvert jupytext
$(COLAB_VENV)/.installed: Makefile requirements.txt pyproject.toml
	rm -rf $(COLAB_VENV)
	$(PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(COLAB_VENV)/bin/python -m pip install --quiet $(COLAB_PINS) keras-unet==0.1.2 \
		matplotlib scikit-learn scipy pooch $(COLAB_DEV)
	# Editable, as in .venv, so that tests run from the checkout import the same package.
	# (tests/test_colab_install.py installs the bundle's wheel as Colab does, in a fresh venv.)
	$(COLAB_VENV)/bin/python -m pip install --quiet --no-deps -e .
	$(COLAB_VENV)/bin/python -m pip check
	$(COLAB_VENV)/bin/python tests/colab_stand_in/check_pins.py $(COLAB_PINS)
	touch $@

test-colab-versions: $(COLAB_VENV)/.installed
	UNET_COURSE_MODE=quick $(COLAB_VENV)/bin/python tests/colab_stand_in/run.py \
		$(COLAB_VENV)/bin/pytest tests $(NOTEBOOKS) --ignore=tests/test_slides.py \
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

# Benchmarks against the original workshop recipe; BENCH_ARGS=--full for a GPU budget.
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

# dist/unet-course/: both notebooks, a wheel of the course package and a README, for an
# instructor to copy to MyDrive/unet-course (see slides/INSTRUCTOR.md).
colab-bundle: $(STAMP)
	$(BIN)/python tools/colab_bundle.py --output dist/unet-course

badges: $(STAMP)
	$(BIN)/python tools/badges.py --fix

clean:
	rm -rf build outputs notebooks/outputs .pytest_cache
