# hcplb: `make demo` and `make test` each run `make setup` first (idempotent).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := frr frr-pythontools bind9 bind9-dnsutils iproute2 iptables nftables openssh-server openssh-client curl shellcheck procps python3-firewall strace
# COMMAND:package, installed only when COMMAND is missing. Debian 12's kubernetes-client (kubectl
# 1.20, `kubectl kustomize` enough for our cluster/) conflicts with a kubectl some machines have.
APT_COMMANDS := kubectl:kubernetes-client git:git
STAMP := $(VENV)/.hcplb-installed

.PHONY: setup system-packages venv test test-fast lint demo bench clean upstream-refresh

setup: system-packages venv

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	for c in $(APT_COMMANDS); do command -v $${c%%:*} >/dev/null 2>&1 || missing="$$missing $${c#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" -ne 0 ]; then echo "run as root (or with sudo) to install:$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,plot]'
	touch $(STAMP)

test: setup
	$(BIN)/pytest -q

test-fast: venv
	$(BIN)/pytest -q -m "not lab"

lint: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

demo: setup
	$(BIN)/hcplb demo

bench: setup
	$(BIN)/python benchmarks/render_scale.py

# Copy the upstream files of tests/upstream/ and src/hcplb/data/crds/ anew from checkouts:
# make upstream-refresh UPSTREAM="metallb/metallb=../metallb openshift/hypershift=../hypershift"
upstream-refresh: venv
	@test -n "$(UPSTREAM)" || { echo 'usage: make upstream-refresh UPSTREAM="owner/name=CHECKOUT ..."' >&2; exit 2; }
	$(BIN)/python -m tests.upstream_sources refresh $(UPSTREAM)

clean:
	rm -rf $(VENV) build *.egg-info
