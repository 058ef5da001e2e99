# Everything installs from the project's own files into .venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: app test test-all wheel-check validate validate-external bench fuzz clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## the explorer on built-in defaults
app: $(STAMP)
	$(PY) -m streamlit run app.py --server.headless true --browser.gatherUsageStats false

## the default test suite (what CI runs)
test: $(STAMP)
	$(PY) -m pytest -n 2 -m "not slow"

## build the wheel, install it with no extras in a fresh venv and use it from an empty folder (what CI runs after test)
wheel-check: $(STAMP)
	bash .ci/wheel_check.sh $(PY)

## everything, slow tests included
test-all: $(STAMP)
	$(PY) -m pytest -n 2

## score predictions against the published rows in validation/data/ (leave-one-source-out headline) and rewrite validation/REPORT.md
validate: $(STAMP)
	$(PY) -m validation.harness --write validation/REPORT.md

## score the calibrated simulator on published rows never used in any fit (validation/external_measurements.csv): validation/EXTERNAL.md
validate-external: $(STAMP)
	$(PY) -m validation.external --write validation/EXTERNAL.md

## speed of the simulator itself, printed as tables
bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

## long property-based fuzzing of the loaders (opt-in): 10,000 examples per property; tools/fuzz_atheris.py for coverage-guided
fuzz: $(STAMP)
	$(PY) -m pytest -m slow tests/property -p no:randomly --hypothesis-profile=fuzz --hypothesis-show-statistics

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build dist
