# rnnbook: two commands on a fresh machine.
#   make book   set up .venv from the pinned requirements.txt and build the HTML book
#   make test   set up the same way and run every check (what CI runs, via .ci/run)
# Also: make outputs (re-execute every chapter into its .ipynb), make reader, make sync, make bench,
# make bench-sweep, make clean.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.rnnbook-installed
# One kernel environment for writing outputs and for checking them (nbval).
export PYTHONHASHSEED := 0
# One BLAS/OpenMP thread: the chapters' matrices are small, so threads only add overhead (and
# spin-waiting threads slowed a chapter 10x on a busy 2-core machine); one thread also makes
# float results independent of the number of cores.
export OMP_NUM_THREADS := 1
export MPLBACKEND := module://matplotlib_inline.backend_inline
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export JUPYTER_PLATFORM_DIRS := 1
# The kernel that runs the chapters is the virtual environment's python.
export PATH := $(abspath $(BIN)):$(PATH)

CHAPTERS_MD := $(sort $(wildcard chapters/[0-9][0-9]_*.md))
# Chapters to re-execute with `make outputs` (default: all); e.g. make outputs NB=chapters/01_rnn.md
NB ?= $(CHAPTERS_MD)

.PHONY: help setup book test quick sync outputs reader bench bench-sweep clean

help:
	@sed -n '1,6p' Makefile

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), f"rnnbook needs Python 3.11+, found {sys.version.split()[0]} (set PYTHON=...)"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23.2"
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

setup: $(STAMP)

book: setup
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book: $(abspath _build/html/index.html)"

# Every check, in one go: the book builds without a warning, mypy passes on the package, then one
# pytest session runs the package tests (tests/, including the chapter-pair checks) and every
# chapter cell under nbval.
test: setup
	$(BIN)/jupyter-book build . -W -n --keep-going --quiet
	$(BIN)/python -m mypy rnnbook
	$(BIN)/python -m pytest -m "" --nbval --nbval-current-env --nbval-sanitize-with nbval-sanitize.cfg \
		-p no:cacheprovider tests chapters

# The package tests alone (no notebooks, no book): seconds.
quick: setup
	$(BIN)/python -m pytest -m "not slow" -q tests

# Update each .ipynb's inputs from its .md (keeping outputs).
sync: setup
	$(BIN)/jupytext --sync $(CHAPTERS_MD)

# Cells' execution timestamps would change the .ipynb on every run: drop them.
export STRIP_TIMING := import nbformat, sys; nb = nbformat.read(sys.argv[1], 4); [c.metadata.pop("execution", None) for c in nb.cells]; nbformat.write(nb, sys.argv[1])

# Re-execute chapters so their .ipynb carry fresh outputs, made by a kernel exactly as nbval runs them.
outputs: setup
	@for md in $(NB); do \
		nb=$${md%.md}.ipynb; echo "== $$nb"; \
		$(BIN)/jupytext --sync $$md >/dev/null && \
		$(BIN)/jupyter execute --inplace --timeout=600 --kernel_name=python3 $$nb || exit 1; \
		$(BIN)/python -c "$$STRIP_TIMING" $$nb || exit 1; \
		$(BIN)/jupytext --sync $$md >/dev/null || exit 1; \
	done
	@$(MAKE) --no-print-directory reader

# reader/chapters/*.ipynb: each chapter's notebook with its MyST translated for Jupyter and Colab
# (numbered equations, citations, admonitions); what the Colab buttons open. tests/test_reader.py
# checks they are up to date.
reader: setup
	$(BIN)/python tools/reader.py

# On the best available device; e.g. make bench BENCH_ARGS="--device cpu --T 50 --B 32 --H 128"
BENCH_ARGS ?=
bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b $(BENCH_ARGS) || exit 1; done

# Forward+backward time against T, as a ratio to torch.nn: it must stay flat as T grows (issue 9).
# A few minutes on a CPU; e.g. make bench-sweep SWEEP_ARGS="--device cuda --sweep-T 25,100,1000"
SWEEP_ARGS ?= --device cpu --sweep-T 25,50,100,200,400,1000 --repeats 5
bench-sweep: setup
	$(BIN)/python benchmarks/bench_layers.py $(SWEEP_ARGS)

clean:
	rm -rf _build .pytest_cache
