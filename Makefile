# rnnbook: two commands on a fresh machine (`make help` lists every target).
#   make book   set up .venv with what building the site needs (requirements-book.txt: no torch)
#               and build the HTML book; nothing is executed
#   make test   set up the full environment (requirements.txt) and run every check (what CI runs,
#               via .ci/run)
# Each target's `## ` comment is its line in `make help` (tests/test_packaging.py checks that every
# target has one).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# An extra package index for torch, e.g. the CPU-only build (no CUDA libraries, a fraction of the
# download): make test TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
BOOK_STAMP := $(VENV)/.rnnbook-book-installed
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

# The numbered chapters, then the FAQ (a notebook too, executed and checked like a chapter).
CHAPTERS_MD := $(sort $(wildcard chapters/[0-9][0-9]_*.md)) $(wildcard chapters/faq.md)
# Chapters to re-execute with `make outputs` (default: all); e.g. make outputs NB=chapters/01_rnn.md
NB ?= $(CHAPTERS_MD)

.PHONY: help setup browser book test quick sync outputs reader bench bench-sweep clean

help: ## list these targets
	@awk -F ':.*## ' '/^[a-z-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(firstword $(MAKEFILE_LIST))

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), f"rnnbook needs Python 3.11+, found {sys.version.split()[0]} (set PYTHON=...)"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23.2"

# What building the site needs; the full environment below includes it (and stamps it as done).
$(BOOK_STAMP): requirements-book.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-book.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

$(STAMP): requirements.txt requirements-book.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@ $(BOOK_STAMP)

# The browser of the site test (tests/test_site.py): Debian's chromium and its driver, installed when
# missing where that is possible (root with apt-get, as in CI); elsewhere that test is skipped and
# says how to install them. Nothing is downloaded when the test runs.
browser: ## install Debian's chromium and chromium-driver for the site test, where root can (else it is skipped)
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium and chromium-driver for tests/test_site.py"; \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; } || \
		echo "Installing chromium failed (see above): tests/test_site.py will be skipped."; \
	else \
		echo "No chromium here, and no root apt-get to install it: tests/test_site.py will be skipped."; \
		echo "To run it: sudo apt-get install chromium chromium-driver"; \
	fi

setup: $(STAMP) ## create .venv with every pinned dependency (requirements.txt; TORCH_INDEX=... to choose torch's index)

book: $(BOOK_STAMP) ## build the HTML book into _build/html (needs only requirements-book.txt)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book: $(abspath _build/html/index.html)"

# Every check, in one go: the book builds without a warning, mypy passes on the package, then one
# pytest session runs the package tests (tests/, including the chapter-pair checks and the built
# site in headless chromium) and every chapter cell under nbval.
test: setup browser ## every check: the book builds without a warning, mypy, the tests and every chapter cell (nbval)
	$(BIN)/jupyter-book build . -W -n --keep-going --quiet
	$(BIN)/python -m mypy rnnbook
	$(BIN)/python -m pytest -m "" --nbval --nbval-current-env --nbval-sanitize-with nbval-sanitize.cfg \
		-p no:cacheprovider tests chapters

quick: setup ## the package tests alone (no notebooks, no book): seconds
	$(BIN)/python -m pytest -m "not slow" -q tests

sync: setup ## update each chapter's .ipynb inputs from its .md, keeping the outputs
	$(BIN)/jupytext --sync $(CHAPTERS_MD)

# Cells' execution timestamps would change the .ipynb on every run: drop them.
export STRIP_TIMING := import nbformat, sys; nb = nbformat.read(sys.argv[1], 4); [c.metadata.pop("execution", None) for c in nb.cells]; nbformat.write(nb, sys.argv[1])

# Re-execute chapters so their .ipynb carry fresh outputs, made by a kernel exactly as nbval runs them.
outputs: setup ## re-execute the chapters into their .ipynb (NB=chapters/01_rnn.md for one)
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
reader: setup ## regenerate reader/chapters/*.ipynb (MyST translated for Jupyter and Colab) from chapters/*.ipynb
	$(BIN)/python tools/reader.py

# On the best available device; e.g. make bench BENCH_ARGS="--device cpu --T 50 --B 32 --H 128"
BENCH_ARGS ?=
bench: setup ## run the benchmarks in benchmarks/ (BENCH_ARGS=... for their options)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b $(BENCH_ARGS) || exit 1; done

# Forward+backward time against T, as a ratio to torch.nn: it must stay flat as T grows (issue 9).
# A few minutes on a CPU; e.g. make bench-sweep SWEEP_ARGS="--device cuda --sweep-T 25,100,1000"
SWEEP_ARGS ?= --device cpu --sweep-T 25,50,100,200,400,1000 --repeats 5
bench-sweep: setup ## forward+backward time against torch.nn as T grows (SWEEP_ARGS=...)
	$(BIN)/python benchmarks/bench_layers.py $(SWEEP_ARGS)

clean: ## remove the built book, pytest's cache and what `pip wheel .` leaves (build/)
	rm -rf _build .pytest_cache build
