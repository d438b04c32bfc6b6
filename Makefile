# The verbs people type. Everything that needs Python depends on `setup` (a virtualenv in .venv).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CLUSTER := hack/cluster.sh
KUBECONFIG_LOCAL := $(CURDIR)/.cluster/kubeconfig
PYTEST_ARGS ?=

.PHONY: help setup binaries cluster-up cluster-down cluster-status lint fmt test test-unit test-e2e demo crds run-operator bench clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv and install the project with dev extras (fast when nothing changed)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required, found " + sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

binaries: ## build (or reuse from ~/.cache/tradingbot) the control-plane binaries
	hack/build-binaries.sh

cluster-up: binaries ## start a local control plane (etcd, apiserver, controller-manager, scheduler, kwok) in .cluster/
	$(CLUSTER) up

cluster-down: ## stop the demo operator and the local control plane, remove .cluster/
	@[ ! -d .cluster ] || hack/demo.sh down
	$(CLUSTER) down

cluster-status: ## show whether the local control plane is up
	$(CLUSTER) status

lint: setup ## ruff check + format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: setup ## apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test-unit: setup ## unit and integration tests (no cluster)
	$(PY) -m pytest -m 'not e2e' $(PYTEST_ARGS)

test-e2e: setup binaries ## e2e tests against the local control plane (starts one if none is up)
	$(PY) -m pytest -m e2e $(PYTEST_ARGS)

test: setup binaries lint ## everything CI runs: lint, then all tests on a local control plane it starts and stops
	hack/run-tests.sh $(PYTEST_ARGS)

demo: setup cluster-up ## local control plane + operator + a paper-trading bot that reaches Ready
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
