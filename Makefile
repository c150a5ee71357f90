# Ambit build and test entry points. Every target installs what it needs and is quick to
# re-run: stamps record what is already done.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

NPM_STAMP := node_modules/.ambit-installed
GEN_STAMP := api/gen/.stamp
PROTOS := $(shell find api/proto -name '*.proto' 2>/dev/null)
# Debian packages the suites need on a fresh machine.
APT_PACKAGES := openssl gcc libc6-dev make iproute2 iptables containernetworking-plugins tcpdump util-linux
# Local tools are called directly, not through npx, so that output stays free of npm chatter.
BIN := node_modules/.bin

.PHONY: setup native build gen lint format test test-unit test-integration demo clean k6 perf perf-l7

setup: $(NPM_STAMP) .tools/apt.stamp

.tools/apt.stamp:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "setup: installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	@mkdir -p .tools && touch $@

$(NPM_STAMP): package.json package-lock.json
	@echo "setup: installing npm packages"
	@# `npm install`, not `npm ci`: the registry mirror here omits other platforms' optional
	@# packages (buf's binaries) from the lock file, which `npm ci` refuses.
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

gen: $(GEN_STAMP)

$(GEN_STAMP): $(NPM_STAMP) $(PROTOS) buf.gen.yaml buf.yaml
	@echo "gen: generating TypeScript from api/proto"
	rm -rf api/gen
	$(BIN)/buf generate
	@touch $@

# The core/net addon (N-API, C), compiled by node-gyp against the headers of the Node that
# runs it (<prefix>/include/node; /usr for Debian's nodejs). With --nodedir nothing is
# downloaded. The addon file is the stamp: it is rebuilt only when its sources change.
NODE_DIR ?= $(shell node -p "require('path').resolve(process.execPath, '../..')")
NATIVE_ADDON := core/net/native/build/Release/ambit_net.node

native: $(NATIVE_ADDON)

$(NATIVE_ADDON): $(NPM_STAMP) core/net/native/ambit_net.c core/net/native/binding.gyp
	@echo "native: building core/net addon"
	@test -f $(NODE_DIR)/include/node/node_api.h || \
	  { echo "native: no Node headers in $(NODE_DIR)/include/node; set NODE_DIR to Node's prefix"; exit 1; }
	@# stdout is make's directory chatter; compiler warnings and errors arrive on stderr.
	cd core/net/native && ../../../$(BIN)/node-gyp rebuild --nodedir=$(NODE_DIR) --loglevel=error >/dev/null

build: setup gen native
	$(BIN)/tsc -p .

lint: setup gen native
	$(BIN)/eslint --max-warnings 0 .
	$(BIN)/prettier --check --log-level warn .

format: setup
	$(BIN)/prettier --write --log-level warn .
	$(BIN)/eslint --fix .

# Unit tests live beside the code; suites live under test/. Both run from compiled output.
test: build lint
	@rm -f dist/test-results.tap
	$(BIN)/tap --reporter=tap --jobs=2 $$(find dist -name '*.test.js' -not -path 'dist/node_modules/*' | sort) \
	  | tee dist/test-results.tap; status=$${PIPESTATUS[0]}; \
	  node scripts/test-summary.mjs dist/test-results.tap; exit $$status

# k6 makes the load for perf/ (built from source with Go, as its project publishes it). The
# stamp names the version, so changing K6_VERSION rebuilds it; `make test` never needs it.
K6_VERSION := v1.4.2
K6_STAMP := .tools/k6-$(K6_VERSION).stamp

k6: $(K6_STAMP)

$(K6_STAMP):
	@echo "tools: building k6 (first time only, ~2 min)"
	@mkdir -p .tools/bin
	GOBIN=$(CURDIR)/.tools/bin go install go.k6.io/k6@$(K6_VERSION)
	@touch $@

# The benchmarks, each on its own 2-node local mesh with k6: L4 (perf/l4.ts: req/s, latency
# and bulk streams, direct vs ztunnel) and L7 (perf/l7.ts: req/s and latency, direct vs
# ztunnel vs waypoint). One after the other, never in parallel (make -j): they share the CPUs.
perf: build k6
	node dist/perf/l4.js
	node dist/perf/l7.js

perf-l7: build k6
	node dist/perf/l7.js

# Istio's Bookinfo on a local mesh, walked through traffic and security scenarios
# (samples/demo/); the mesh stays up until Ctrl-C. `make demo ARGS=--exit` tears down after.
demo: build
	node dist/samples/demo/main.js $(ARGS)

clean:
	rm -rf dist api/gen .tools core/net/native/build
