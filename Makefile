# hcplb: `make demo` and `make test` each run `make setup` first (idempotent).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := frr frr-pythontools bind9 bind9-dnsutils iproute2 iptables nftables openssh-server openssh-client curl shellcheck procps python3-firewall graphviz chromium prometheus strace systemd-container debootstrap stress-ng
# COMMAND:package, installed only when COMMAND is missing. Debian 12's kubernetes-client (kubectl
# 1.20, `kubectl kustomize` enough for our cluster/) conflicts with a kubectl some machines have.
APT_COMMANDS := kubectl:kubernetes-client git:git npm:npm
STAMP := $(VENV)/.hcplb-installed
# Mermaid's browser bundle, for the test that draws the runbook's Mermaid block in Chromium
MERMAID_VERSION := 12.3.0
MERMAID_JS := $(VENV)/share/hcplb/mermaid-$(MERMAID_VERSION).min.js

.PHONY: setup system-packages venv router-image test test-fast lint demo bench clean upstream-refresh

setup: system-packages venv $(MERMAID_JS)

system-packages:
	@installed=" $$(dpkg-query -W -f '$${db:Status-Abbrev} $${Package}\n' $(APT_PACKAGES) 2>/dev/null | awk '$$1 == "ii" {printf "%s ", $$2}')"; \
	missing=""; for p in $(APT_PACKAGES); do case "$$installed" in *" $$p "*) ;; *) missing="$$missing $$p";; esac; done; \
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

$(MERMAID_JS): | venv
	@command -v npm >/dev/null || { echo "npm is needed to fetch mermaid (apt-get install npm)" >&2; exit 1; }
	mkdir -p $(dir $@)
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent mermaid@$(MERMAID_VERSION) >/dev/null \
	  && tar xzf mermaid-$(MERMAID_VERSION).tgz package/dist/mermaid.min.js \
	  && mv package/dist/mermaid.min.js $(abspath $@) && cd / && rm -rf $$tmp

# The booted lab router's root filesystem (Debian 12 + FRR, firewalld, sshd; ~4 min the first
# time, cached under /var/lib/hcplb/images afterwards): the `--router-host systemd` lab tests.
router-image: setup
	$(BIN)/hcplb lab image build

test: setup router-image
	$(BIN)/pytest -q

test-fast: venv
	$(BIN)/pytest -q -m "not lab"

lint: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -q tests/test_layers.py   # the import-layer contract (docs/architecture.md)

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
