# Two entry points: `make demo` and `make test`. Each bootstraps .venv on its own;
# the stamp file is keyed on pyproject.toml, so a current venv costs nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test venv lint bench clean screenshots

# Each step says what it does first: on a fresh machine the install takes minutes,
# and pip's own progress bar shows it is moving.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || { echo "segscope: creating the virtual environment in $(VENV) ..."; $(PYTHON) -m venv $(VENV); }
	@echo "segscope: upgrading pip in $(VENV) ..."
	@$(BIN)/python -m pip install --progress-bar on --upgrade pip
	@echo "segscope: installing segscope and its dependencies (a few minutes on a fresh machine) ..."
	@$(BIN)/python -m pip install --progress-bar on -e '.[test]'
	@touch $(STAMP)
	@echo "segscope: environment ready."

venv: $(STAMP)

demo: $(STAMP)
	@echo "segscope: opening the demo workspace (created from sample_data on first run) ..."
	$(BIN)/segscope

# In parallel, one worker per core (pytest-xdist; measured on two cores: issue 16).
# PYTEST_WORKERS=0 runs it serially.
PYTEST_WORKERS ?= auto
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check core storage tui sample_data tests bench

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

# The demo's playbook as HTML and, with a headless Chromium installed, as PNG
# (docs/screenshots/; the README shows playbook-charts.png). Without one it says so.
screenshots: $(STAMP)
	$(BIN)/python -m docs.screenshots.render

clean:
	rm -rf $(VENV) .pytest_cache
