# The book "Hyperparameter Optimization": environment, library, HTML, tests.
# Every target creates the environment first when it is missing.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
REQUIREMENTS := static/requirements-pytorch.txt
# Ray (Ray Tune) is an optional extra of the library; the book's section on
# scaling out needs it. The files of the other tabs pin it themselves.
RAY_REQUIREMENTS := static/requirements-ray.txt
READY := $(VENV)/.ready
# The tensorflow and mxnet tabs each run in an environment of their own,
# .venv-<tab>, pinned in static/requirements-<tab>.txt (MXNet 1.9.1 cannot
# share numpy with PyTorch's stack). TAB=pytorch|tensorflow|mxnet limits
# `make html` to one tab; the default builds the book with all three.
TAB ?= all
OTHER_TABS := tensorflow mxnet
TAB_READY = $(if $(filter all,$(TAB)),$(OTHER_TABS:%=.venv-%/.ready),$(if $(filter pytorch,$(TAB)),,.venv-$(TAB)/.ready))
# MathJax for the HTML book: pinned in static/mathjax/package-lock.json,
# fetched from the npm registry, staged here for Sphinx (see config.ini).
MATHJAX := $(VENV)/mathjax/static/mathjax/tex-mml-chtml.js
export D2L_MATHJAX_STATIC := $(abspath $(VENV))/mathjax/static
# The tools of the environment (d2lbook, sphinx-build, pandoc, python for
# Syne Tune's trial processes) come first on PATH.
export PATH := $(BIN):$(PATH)

.DEFAULT_GOAL := help
.PHONY: help setup setup-tensorflow setup-mxnet lib check-lib mathjax html notebooks pdf solutions test bench clean freeze

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk -F ':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

setup: $(READY) ## Create the virtual environment .venv with the pinned packages

$(READY): $(REQUIREMENTS) $(RAY_REQUIREMENTS) pyproject.toml
	@echo "==> Creating the environment in $(VENV) (a few minutes the first time)"
	$(PYTHON) -m venv $(VENV)
	@# setuptools>=81 has no pkg_resources, which d2lbook's notedown imports.
	$(BIN)/pip install --quiet pip==25.3 setuptools==80.10.2
	$(BIN)/pip install --progress-bar off -r $(REQUIREMENTS) -r $(RAY_REQUIREMENTS)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@# d2lbook calls `pandoc`; pypandoc-binary ships one inside the package.
	@# (Not pypandoc.get_pandoc_path(): once this link exists it returns the
	@# link itself, and a rerun would make the link point to itself.)
	ln -sf "$$($(BIN)/python -c 'import os, pypandoc; print(os.path.join(os.path.dirname(pypandoc.__file__), "files", "pandoc"))')" $(BIN)/pandoc
	touch $@

setup-tensorflow: .venv-tensorflow/.ready ## Create .venv-tensorflow for the TensorFlow tab
setup-mxnet: .venv-mxnet/.ready ## Create .venv-mxnet for the MXNet tab

.venv-%/.ready: static/requirements-%.txt pyproject.toml
	@echo "==> Creating the environment of the $* tab in .venv-$*"
	$(PYTHON) -m venv .venv-$*
	.venv-$*/bin/pip install --quiet pip==25.3 setuptools==80.10.2
	.venv-$*/bin/pip install --progress-bar off -r static/requirements-$*.txt
	.venv-$*/bin/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

lib: $(READY) ## Write the generated modules d2l/hpo.py, d2l/*_hpo.py from the chapter's #@save cells
	$(BIN)/python tools/build_library.py

# The builds never rewrite the library: they stop if it is out of date.
check-lib: $(READY) ## Stop with a message if the generated library is out of date with the chapter
	@$(BIN)/python tools/build_library.py --check >/dev/null

mathjax: $(MATHJAX) ## Install the pinned MathJax from the npm registry (for make html)

$(MATHJAX): static/mathjax/package.json static/mathjax/package-lock.json tools/install_mathjax.sh tools/install_pinned_npm_package.sh
	@echo "==> Installing the pinned MathJax from the npm registry into $(VENV)/mathjax"
	bash tools/install_mathjax.sh $(VENV)/mathjax

html: check-lib $(MATHJAX) $(TAB_READY) ## Evaluate the notebooks of every tab (cached), build _build/html with its notebooks to download (TAB=pytorch: one tab)
	@echo "==> Evaluating the changed notebooks ($(TAB) tabs), one at a time"
	$(BIN)/python tools/evaluate_notebooks.py --tab $(TAB)
	@echo "==> Building the HTML book ($(TAB) tabs)"
	$(BIN)/d2lbook build html --tab $(TAB)
	@echo "==> Writing the notebooks to download and linking them from the pages"
	$(BIN)/python tools/build_notebooks.py --tab $(TAB) --html _build/html
	@echo "==> Making the book load nothing from outside it"
	$(BIN)/python tools/offline_html.py _build/html
	@echo "==> The book is in _build/html/index.html"

notebooks: check-lib $(TAB_READY) ## Write the notebooks to download to _build/colab*, _build/sagemaker* and zips to _build/notebooks (TAB=pytorch: one tab)
	@echo "==> Evaluating the changed notebooks ($(TAB) tabs), one at a time"
	$(BIN)/python tools/evaluate_notebooks.py --tab $(TAB)
	@echo "==> Writing a Jupyter/Colab and a SageMaker notebook per section and tab"
	@# Install cells from static/notebook-requirements.txt, with the book's
	@# d2l wheel inside (config.ini [colab] d2l); see tools/build_notebooks.py.
	$(BIN)/python tools/build_notebooks.py --tab $(TAB)

pdf: check-lib ## Build _build/pdf/d2l-hpo.pdf from the evaluated PyTorch notebooks (needs XeLaTeX: README, "The PDF")
	@$(BIN)/python tools/build_pdf.py --check
	@echo "==> Evaluating the changed notebooks (pytorch tab), one at a time"
	$(BIN)/python tools/evaluate_notebooks.py --tab pytorch
	@echo "==> Building the PDF (reStructuredText in _build/rst, LaTeX in _build/pdf)"
	$(BIN)/python tools/build_pdf.py
	@echo "==> The PDF is _build/pdf/d2l-hpo.pdf"

solutions: check-lib $(MATHJAX) ## Build the instructors' book of worked solutions: _build/solutions/html and _build/solutions/notebooks
	@echo "==> Evaluating the changed solutions (pytorch), one at a time"
	$(BIN)/python tools/evaluate_notebooks.py --book solutions --timeout 600
	@echo "==> Building the instructors' book"
	cd solutions && $(BIN)/d2lbook build html
	$(BIN)/python tools/offline_html.py _build/solutions/html --config solutions/config.ini
	@echo "==> Copying its notebooks (they run inside this repository)"
	rm -rf _build/solutions/notebooks
	cp -r _build/solutions/eval _build/solutions/notebooks
	@echo "==> The instructors' book is in _build/solutions/html/index.html"

# reveal.js for the lecture slides: pinned in static/revealjs/package-lock.json
# (reveal.js 4.6.0), fetched from the npm registry.
REVEALJS := $(VENV)/revealjs/.installed

$(REVEALJS): static/revealjs/package.json static/revealjs/package-lock.json tools/install_revealjs.sh tools/install_pinned_npm_package.sh
	@echo "==> Installing the pinned reveal.js from the npm registry into $(VENV)/revealjs"
	bash tools/install_revealjs.sh $(VENV)/revealjs

slides: check-lib $(MATHJAX) $(REVEALJS) ## Build the lecture slides, one reveal.js deck per section, in _build/slides (from the evaluated PyTorch notebooks)
	@echo "==> Evaluating the changed notebooks (pytorch tab), one at a time"
	$(BIN)/python tools/evaluate_notebooks.py --tab pytorch
	@echo "==> Building the slides from the slide marks of the sources"
	$(BIN)/python tools/build_slides.py
	@echo "==> The decks are _build/slides/<section>.html"

test: $(READY) $(OTHER_TABS:%=.venv-%/.ready) ## Run the test suite (library, schedulers, every notebook of every tab, the HTML build, PDF, slides, solutions)
	@# Each framework's own tests run in its environment; then the rest.
	.venv-tensorflow/bin/python -m pytest -v -p no:cacheprovider tests/test_tensorflow.py
	.venv-mxnet/bin/python -m pytest -v -p no:cacheprovider tests/test_mxnet.py
	$(BIN)/python -m pytest -v

bench: check-lib ## Benchmarks -> bench/REPORT.md: methods on recorded curves, live Syne Tune runs (BOOK=1: also time make html)
	$(BIN)/python bench/run.py --venv $(VENV) $(if $(BOOK),--book) $(BENCH_ARGS)

freeze: $(READY) ## Rewrite static/requirements-pytorch.txt from .venv (Ray's packages stay in their own file)
	@{ head -3 $(REQUIREMENTS); $(BIN)/pip freeze | grep -v -E '^(-e |d2l-hpo|#)' | \
	  grep -v -i -E "^($$(grep -o -E '^[A-Za-z0-9_.-]+' $(RAY_REQUIREMENTS) | paste -sd'|'))=="; } > $(REQUIREMENTS).new
	mv $(REQUIREMENTS).new $(REQUIREMENTS)

clean: ## Remove build outputs (keeps the environment; rm -rf .venv for that)
	rm -rf _build .pytest_cache
