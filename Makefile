# Nimbus tasks. Thin wrappers: the work is done by Python entry points that build.ps1 calls too.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install run test bench lint format vendor clean-data

# Re-install only when a requirements file changes.
$(STAMP): requirements/base.txt requirements/dev.txt requirements/constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt -c requirements/constraints.txt
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m nimbus.launcher

test: $(STAMP)
	bash scripts/ensure_chromium.sh
	bash scripts/ensure_test_peers.sh
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m bench $(B)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

vendor:
	npm ci --no-audit --no-fund
	$(PYTHON) scripts/vendor_assets.py

clean-data:
	rm -rf .nimbus
