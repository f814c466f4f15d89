# FAS Lab. The two commands of the README:
#   make run   [QUICK=1]  set up .venv, execute every notebook, render HTML, write build/index.html
#   make test             set up .venv, lint (ruff), unit tests, notebook conventions, every notebook QUICK, nbval
# Other targets: setup, ship (replace the shipped model with the one a full notebook 03 run chose: the only step that
# writes models/), strip (strip notebook outputs before committing), clean.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FAS := $(PY) -m fasutils
STAMP := $(VENV)/.installed
QUICK ?= 0
NOTEBOOKS := $(wildcard notebooks/[0-9][0-9]_*.ipynb)
# nbstripout also drops what papermill and JupyterLab write into cell metadata; tags are kept.
NBSTRIPOUT := $(VENV)/bin/nbstripout --extra-keys "metadata.papermill cell.metadata.papermill cell.metadata.execution"
NBVAL := -p no:cacheprovider --nbval-lax --nbval-current-env --nbval-sanitize-with notebooks/nbval_sanitize.cfg
TEST_NOTEBOOKS := build/test-notebooks

.PHONY: run test setup ship strip clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[test]"
	$(PY) -c "import torch, sys; sys.exit(torch.version.cuda is not None)" || \
		{ echo "error: a CUDA build of torch was installed; the pin torch==2.13.0 must take the local CPU wheel"; exit 1; }
	touch $(STAMP)

# The reference files: downloads only what is missing (sha256-verified); no request at all when all are present.
setup: $(STAMP)
	$(FAS) assets fetch < /dev/null

run: setup
	$(FAS) run-notebooks $(if $(filter 1 true yes,$(QUICK)),--quick) --html --index --out build/notebooks < /dev/null

test: setup
	$(VENV)/bin/ruff check fasutils tests scripts
	$(PY) -m pytest < /dev/null
	$(NBSTRIPOUT) --verify $(NOTEBOOKS)
	$(FAS) check-notebooks
	rm -rf $(TEST_NOTEBOOKS)
	$(FAS) run-notebooks --quick --out $(TEST_NOTEBOOKS) < /dev/null
	FAS_QUICK=1 $(PY) -m pytest $(NBVAL) $(TEST_NOTEBOOKS) < /dev/null

ship: setup
	$(FAS) run-notebooks notebooks/03_training.ipynb --out build/notebooks < /dev/null
	$(FAS) ship

strip: setup
	$(NBSTRIPOUT) $(NOTEBOOKS)

clean:
	rm -rf build $(VENV)
