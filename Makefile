# The verbs people type. Everything that needs Python depends on `setup` (a virtualenv in .venv).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CLUSTER := hack/cluster.sh
CACHE  ?= $(or $(TRADINGBOT_CACHE),$(HOME)/.cache/tradingbot)
ACTIONLINT = $(CACHE)/actionlint-v$(shell sed -n 's/^ACTIONLINT_VERSION=//p' hack/versions.env)/actionlint
KUBECONFIG_LOCAL := $(CURDIR)/.cluster/kubeconfig
PYTEST_ARGS ?=

.PHONY: help setup binaries node node-deps node-binaries test-host-deps postgres image image-name test-realnode cluster-up cluster-down cluster-status lint fmt test chaos audit test-unit test-e2e demo crds run-operator bench clean

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv and install the project with dev extras (fast when nothing changed)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required, found " + sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

binaries: ## build (or reuse from ~/.cache/tradingbot) the control-plane binaries
	hack/build-binaries.sh

# Only where a real node can run: elsewhere building its parts would be wasted minutes.
REAL_NODE_HERE = [ "$$(uname -s)" = Linux ] && [ "$$(id -u)" = 0 ] && [ "$${TRADINGBOT_REAL_NODE:-auto}" != 0 ]
REAL_NODE_SKIPPED = echo "real node: skipped (needs root on Linux; TRADINGBOT_REAL_NODE=$${TRADINGBOT_REAL_NODE:-auto})"
node: node-deps node-binaries ## install (apt) and build what the real node needs; root Linux only, elsewhere says why and does nothing

node-deps:
	@if $(REAL_NODE_HERE); then hack/install-node-deps.sh; else $(REAL_NODE_SKIPPED); fi

node-binaries:
	@if $(REAL_NODE_HERE); then hack/build-binaries.sh node >/dev/null; else $(REAL_NODE_SKIPPED); fi

# The storage tests start their own PostgreSQL from these binaries; a check of well under a second when present.
postgres: ## install PostgreSQL for the storage tests (apt, as root; elsewhere says why and does nothing)
	@hack/install-postgres.sh

image: node ## build the image from the Dockerfile without Docker (OCI archive in build/image/) and import it into the real node
	hack/image.sh all >/dev/null

cluster-up: binaries node ## start the local cluster in .cluster/: control plane, kwok nodes and, as root on Linux, a real node
	$(CLUSTER) up

cluster-down: ## stop the demo operator and the local control plane, remove .cluster/
	@[ ! -d .cluster ] || hack/demo.sh down
	$(CLUSTER) down

cluster-status: ## show whether the local control plane is up
	$(CLUSTER) status

lint: setup ## ruff check + format check, actionlint on .github/workflows
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@hack/build-binaries.sh actionlint >/dev/null
	$(ACTIONLINT) -shellcheck= -pyflakes= .github/workflows/*.yml

fmt: setup ## apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test-unit: setup postgres ## unit and integration tests (no cluster)
	$(PY) -m pytest -m 'not e2e' $(PYTEST_ARGS)

test-e2e: setup binaries node ## e2e tests against the local cluster (starts one if none is up)
	hack/image.sh build --if-possible >/dev/null
	$(PY) -m pytest -m e2e $(PYTEST_ARGS)

test-realnode: setup ## real-pod e2e tests: on the local real node, or on the cluster TRADINGBOT_E2E_KUBECONFIG names (kind)
	@if [ -z "$$TRADINGBOT_E2E_KUBECONFIG" ]; then $(MAKE) --no-print-directory binaries node && hack/image.sh build --if-possible >/dev/null; fi
	$(PY) -m pytest -m realnode tests/e2e/realnode $(PYTEST_ARGS)

image-name: ## print the image name the chart and the operator default to (what `make image` builds)
	@sed -n 's/^DEFAULT_IMAGE = "\(.*\)"$$/\1/p' operator/tradingbot_operator/api/constants.py

# The builds run in the background while the tests that need nothing built run (hack/run-tests.sh --prepare,
# hack/prepare-tests.sh).
test: setup postgres lint ## everything CI runs: lint, then all tests on a local cluster it starts and stops
	hack/run-tests.sh --prepare $(PYTEST_ARGS)

# The real node's Debian packages, then the image (which needs debootstrap from them).
test-host-deps: node-deps
	hack/image.sh build --if-possible >/dev/null

# The reliability tests run CI-sized in `make test`; --chaos runs their long forms (docs/reliability.md).
chaos: setup binaries ## long forms of the reliability tests: >= 20 operator kills, 2000 fuzzed manifests, a 90 s apiserver outage, 600 s of exchange chaos while the bot trades
	TRADINGBOT_REAL_NODE=$${TRADINGBOT_REAL_NODE:-0} hack/run-tests.sh --chaos tests/e2e/reliability tests/integration/components/bot/test_chaos.py $(PYTEST_ARGS)

# Needs PyPI's JSON API (the advisory data); --strict fails when any package could not be checked. The project
# itself (installed editable, not on PyPI) is left out by auditing the frozen list of everything else.
audit: setup ## pip-audit the virtualenv's packages against PyPI's vulnerability data
	$(VENV)/bin/pip freeze --exclude-editable > $(VENV)/audited-requirements.txt
	$(VENV)/bin/pip-audit --strict --progress-spinner off --no-deps --disable-pip -r $(VENV)/audited-requirements.txt

demo: setup cluster-up ## local cluster + operator + a paper-trading bot that reaches Ready (real pods on a real node)
	hack/image.sh all --if-possible >/dev/null
	hack/demo.sh up

crds: setup ## regenerate crds/ (and the Helm chart's copy) from the API models
	$(PY) -m tradingbot_operator.api.crd > crds/tradingbot.dev_tradingbots.yaml
	cp crds/tradingbot.dev_tradingbots.yaml charts/tradingbot-operator/crds/tradingbot.dev_tradingbots.yaml

run-operator: setup ## run the operator in the foreground against $$KUBECONFIG (default: the local cluster)
	KUBECONFIG=$${KUBECONFIG:-$(KUBECONFIG_LOCAL)} $(VENV)/bin/tradingbot-operator

BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	@touch $@

bench: setup $(BENCH_STAMP) binaries ## run the benchmarks; results go to docs/benchmarks.md
	$(PY) -m bench

clean: cluster-down ## remove the virtualenv and caches (the binary cache in ~/.cache/tradingbot stays)
	rm -rf $(VENV) .pytest_cache .ruff_cache
