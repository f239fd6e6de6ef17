# The course's two commands, each setting up .venv by itself:
#   make run    execute the three notebooks headless, write build/*.ipynb and build/*.html
#   make test   lint, notebook checks, pytest for helpers, nbval for every notebook
#   make lab    JupyterLab on notebooks/, from the same .venv
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOKS := notebooks/01_introduction.ipynb notebooks/02_further_topics.ipynb \
	notebooks/03_your_own_data.ipynb
# pytest on two workers (pytest-xdist). A notebook alone keeps about one and a half of two
# cores busy (notebook 02: 11.0 min of CPU time, 10.1 of it user, in 7.5 min on a 2-core
# AMD EPYC, 2026-12-06), so a notebook and the unit tests, or two notebooks, side by side
# finish sooner than one after the other. --dist loadfile keeps each notebook whole on one
# worker (nbval runs its cells in one kernel, in order); --no-loadscope-reorder keeps this
# order: each worker starts with one file, the longest notebook (02) on one and notebook 01
# on the other, and a worker gets the next file (the unit tests, file by file, then
# notebook 03) once 2 or fewer of its tests are left.
PYTEST_WORKERS ?= 2
PARALLEL := -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder
IN_ORDER := notebooks/02_further_topics.ipynb notebooks/01_introduction.ipynb tests \
	notebooks/03_your_own_data.ipynb

.PHONY: run test test-fast test-colab-versions colab-bundle lab lint check-notebooks \
	check-constraints sync-notebooks badges slides bench clean

# A fresh .venv whenever the requirements change (or there is none yet).
# pip prints each package and, in a terminal, a progress bar for each download.
$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	@echo "Setting up $(VENV): pip downloads about 0.8 GB (TensorFlow alone is 0.57 GB) and"
	@echo "installs about 3.2 GB, a few minutes on a fast connection. Once only: later commands reuse"
	@echo "$(VENV) until requirements.txt, requirements-dev.txt or constraints.txt change."
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --progress-bar on --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -r requirements.txt -r requirements-dev.txt \
		-c constraints.txt -e .
	@$(BIN)/python -c "import sys; from importlib.metadata import version as v; \
		print('Environment ready: Python', sys.version.split()[0], '| TensorFlow', \
		v('tensorflow'), '| Keras', v('keras'))"
	touch $@

run: $(STAMP)
	$(BIN)/python tools/run_notebooks.py --output-dir build $(wildcard $(NOTEBOOKS))

# nbval's cell timeout guards against a hung kernel; it is not a budget (benchmarks time
# things). A busy machine has made one training cell several times slower than usual.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python tools/check_notebooks.py
	UNET_COURSE_MODE=quick $(BIN)/python -m pytest $(IN_ORDER) $(PARALLEL) \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=1800 -p no:cacheprovider \
		--durations=8

# The contributors' loop: lint, notebook checks and the unit tests of helpers, without
# what takes minutes (the notebooks, the slide build, fresh venvs, trainings and kernels:
# tests marked slow). `make test` runs everything.
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python tools/check_notebooks.py
	UNET_COURSE_MODE=quick $(BIN)/python -m pytest tests -m "not slow and not network" \
		--ignore=tests/test_slides.py --ignore=tests/test_benchmarks_smoke.py \
		--ignore=tests/test_colab_install.py --ignore=tests/test_packaging.py \
		-p no:cacheprovider -q

# Work in the notebooks interactively; the kernel is this .venv's Python. Jupyter refuses
# to run as root (containers, CI) unless told: then it is told.
lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) \
		$(LAB_ARGS)

# CI: the pins in constraints.txt install on Python 3.11, 3.12 and 3.13 (asks the index).
check-constraints: $(STAMP)
	$(BIN)/python tools/check_constraints.py

# Google Colab's own versions (checked 2026-11), on Colab's Python (3.13 since 2026-08):
# a second venv in which pytest runs for the course package (not the slide deck) and
# nbval runs the notebooks in quick mode under a stand-in google.colab
# (tests/colab_stand_in). COLAB_PYTHON names that Python (a command or a path). Colab has
# ipykernel 6.17.1, and so does this venv: it installs beside nbval 0.11 (which asks for
# no particular version). The developer tools are listed here, not from
# requirements-dev.txt, whose ipykernel floor is newer than Colab's.
COLAB_PYTHON ?= python3.13
COLAB_VENV := .venv-colab
COLAB_PINS := tensorflow==2.20.0 keras==3.13.2 numpy==2.1.3 pandas==2.2.3 \
	scikit-image==0.25.2 setuptools==75.2.0 ipykernel==6.17.1
COLAB_DEV  := pytest pytest-timeout 'pytest-xdist>=3.8' nbval nbconvert jupytext
$(COLAB_VENV)/.installed: Makefile requirements.txt pyproject.toml
	@$(COLAB_PYTHON) -c "import sys; sys.exit(sys.version_info[:2] != (3, 13))" 2>/dev/null || { \
		echo "make test-colab-versions needs Python 3.13, Colab's, as COLAB_PYTHON (now" \
			"'$(COLAB_PYTHON)', which is missing or another version). Install it (pyenv:" \
			"'pyenv install 3.13'; Debian and Ubuntu: the python3.13 and python3.13-venv" \
			"packages; or python.org), then run 'make test-colab-versions" \
			"COLAB_PYTHON=/path/to/python3.13'."; exit 1; }
	rm -rf $(COLAB_VENV)
	$(COLAB_PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(COLAB_VENV)/bin/python -m pip install --quiet $(COLAB_PINS) keras-unet==0.1.2 \
		matplotlib scikit-learn scipy pooch $(COLAB_DEV)
	# Editable, as in .venv, so that tests run from the checkout import the same package.
	# (tests/test_colab_install.py installs the bundle's wheel as Colab does, in a fresh venv.)
	$(COLAB_VENV)/bin/python -m pip install --quiet --no-deps -e .
	$(COLAB_VENV)/bin/python -m pip check
	$(COLAB_VENV)/bin/python tests/colab_stand_in/check_pins.py $(COLAB_PINS)
	touch $@

# Left out there: what runs only on the instructor's machine, from .venv: the deck, the
# benchmarks, the `make run` runner, and building the wheel (its build needs
# setuptools >= 77, which pip fetches in isolation: tools/colab_bundle.py, tested here by
# tests/test_colab_install.py).
test-colab-versions: $(COLAB_VENV)/.installed
	UNET_COURSE_MODE=quick $(COLAB_VENV)/bin/python tests/colab_stand_in/run.py \
		$(COLAB_VENV)/bin/pytest $(IN_ORDER) $(PARALLEL) --ignore=tests/test_slides.py \
		--ignore=tests/test_run_notebooks.py --ignore=tests/test_packaging.py \
		--ignore=tests/test_benchmarks.py --ignore=tests/test_benchmarks_smoke.py \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=1800 -p no:cacheprovider \
		--durations=8

lint: $(STAMP)
	$(BIN)/ruff check .

check-notebooks: $(STAMP)
	$(BIN)/python tools/check_notebooks.py

# After editing a notebook's .py (or .ipynb): rewrite its partner, clean.
sync-notebooks: $(STAMP)
	$(BIN)/python tools/check_notebooks.py --fix

# The workshop deck: slides/build/deck.html (offline) and deck.pdf. slides/ and
# benchmarks/ are packages, run from the repository root (the deck imports benchmarks.report).
slides: $(STAMP)
	$(BIN)/python -m slides.build

# Benchmarks against the two original workshop recipes and ZeroCostDL4Mic's U-Net 2D
# (quality by cross-validation); BENCH_ARGS=--full for a GPU budget.
# Rewrites the README's table and the deck's results slide (benchmarks/published.json).
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all $(BENCH_ARGS)

# dist/unet-course/: the three notebooks, a wheel of the course package and a README, for an
# instructor to copy to MyDrive/unet-course (see slides/INSTRUCTOR.md).
colab-bundle: $(STAMP)
	$(BIN)/python tools/colab_bundle.py --output dist/unet-course

badges: $(STAMP)
	$(BIN)/python tools/badges.py --fix

clean:
	rm -rf build outputs notebooks/outputs .pytest_cache
