# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NODE := node_modules/.bin/node
PYTEST_ARGS ?=

.PHONY: demo test test-brownie fuzz bench compile hardhat-compile toolchain clean setup slither

setup: $(VENV)/.installed node_modules/.installed

# Quiet installs: pip and npm print only errors (no root, version-check or deprecation chatter).
PIP_QUIET := PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_WARN_SCRIPT_LOCATION=1
PATH_HINT := @echo "rwa is installed as $(VENV)/bin/rwa: call it by that path, or 'source $(VENV)/bin/activate' to put it on PATH"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP_QUIET) $(PY) -m pip install --quiet --upgrade pip
	$(PIP_QUIET) $(PY) -m pip install --quiet -e ".[dev]"
	touch $@
	$(PATH_HINT)

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

toolchain: setup
	$(VENV)/bin/rwa toolchain

compile: setup
	$(VENV)/bin/rwa compile

demo: setup
	$(PY) scripts/demo.py
	$(PATH_HINT)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

fuzz: setup
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -k "property or stateful or fuzz" $(PYTEST_ARGS)

bench: setup
	$(PY) bench/compile.py

hardhat-compile: setup
	CI=true HARDHAT_DISABLE_TELEMETRY=true $(NODE) node_modules/hardhat/dist/src/cli.js build --quiet --no-tests

clean:
	rm -rf artifacts cache hh-artifacts hh-cache .rwa

# The same suite in a second environment with the brownie extra (web3 7.16, eth-account 0.13.7).
BROWNIE_VENV := .venv-brownie
$(BROWNIE_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BROWNIE_VENV)
	$(PIP_QUIET) $(BROWNIE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PIP_QUIET) $(BROWNIE_VENV)/bin/python -m pip install --quiet -e ".[dev,brownie]"
	touch $@

BROWNIE_TESTS ?= tests/foundation tests/sdk tests/settlement/test_stablecoin.py tests/test_brownie.py
test-brownie: $(BROWNIE_VENV)/.installed node_modules/.installed
	PATH=$(CURDIR)/$(BROWNIE_VENV)/bin:$$PATH $(BROWNIE_VENV)/bin/python -m pytest -p no:cacheprovider $(PYTEST_ARGS) $(BROWNIE_TESTS)

# Static analysis of the Hardhat build; fails on any High/Medium finding in contracts/ not in the triage file.
SLITHER_VENV := .venv-slither
$(SLITHER_VENV)/.installed:
	$(PYTHON) -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SLITHER_VENV)/bin/python -m pip install --quiet slither-analyzer==0.11.6
	touch $@

slither: hardhat-compile $(SLITHER_VENV)/.installed
	@mkdir -p .rwa && rm -f .rwa/slither.json
	-$(SLITHER_VENV)/bin/slither . --hardhat-artifacts-directory hh-artifacts --hardhat-ignore-compile \
		--filter-paths "node_modules|contracts/mocks" --json .rwa/slither.json > .rwa/slither.log 2>&1
	$(PY) .ci/slither_gate.py .rwa/slither.json .ci/slither-triage.txt
