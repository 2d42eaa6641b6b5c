# fedplane Makefile. `make help` lists the targets.

# Pinned tool versions. etcd's is pinned in hack/tools/go.mod.
KUBE_VERSION ?= v1.37.2
KWOK_VERSION ?= v0.8.0
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
HELM_VERSION ?= v3.22.0
export KUBE_VERSION KWOK_VERSION CONTROLLER_TOOLS_VERSION GOLANGCI_LINT_VERSION HELM_VERSION

# Built tools are cached by version outside the clone and linked into bin/.
TOOLS_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/fedplane/tools
export TOOLS_CACHE

BIN := $(CURDIR)/bin
LAB_DIR ?= $(CURDIR)/.lab
# Member clusters of the lab, besides the host.
CLUSTERS ?= local cce
KUBECONFIG_LAB := $(LAB_DIR)/kubeconfig
# The cluster that `make install` installs into.
INSTALL_KUBECONFIG ?= $(KUBECONFIG_LAB)
INSTALL_CONTEXT ?= host
# Extra flags for go test, for example TEST_FLAGS='-run TestX -v'.
TEST_FLAGS ?=
TEST_TIMEOUT ?= 30m

# Parameters of `make bench`: the member objects' kind (ConfigMap or Deployment), the number
# of federated objects, the number of members, and more flags (go run ./bench -h).
BENCH_KIND ?= ConfigMap
BENCH_N ?= 1000
BENCH_M ?= 2
BENCH_FLAGS ?=
# KubeFed's source tree whose e2e suite `make compat` runs, and more flags (go run ./hack/lab compat -h).
KUBEFED_E2E_SRC ?= ../shared/kubefed-e2e/src
COMPAT_FLAGS ?=
# Extra flags for `make bench-go`, for example BENCH_GO_FLAGS='-count 6' for benchstat.
BENCH_GO_FLAGS ?=

# The version and commit stamped into the binaries (internal/version); a binary built without
# them says "dev" and "unknown".
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
VERSION_PKG := github.com/fedplane/fedplane/internal/version
LDFLAGS := -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Commit=$(COMMIT)

comma := ,
space := $(subst ,, )

GO ?= go
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

LAB_TOOLS := etcd kube-apiserver kube-controller-manager kube-scheduler kwok kwok-stages

##@ General

.PHONY: help
help: ## Show the targets and what they do.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target> [VAR=value]\n"} \
		/^[a-zA-Z0-9_-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } \
		/^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: generate
generate: bin/controller-gen ## Generate deepcopy code for the API types.
	$(BIN)/controller-gen object paths=./api/...

.PHONY: manifests
manifests: bin/controller-gen bin/helm ## Generate the CRDs (API kinds and the default federated types), the chart's copies of them and config/default.
	$(BIN)/controller-gen crd:crdVersions=v1 paths=./api/core/... paths=./api/scheduling/... output:crd:dir=config/crd/bases
	$(BIN)/controller-gen crd:crdVersions=v1 paths=./api/types/... output:crd:dir=config/crd/federated-base
	$(GO) run ./hack/gen-federated-types --openapi-dir config/openapi --crd-dir config/crd/federated --ftc-dir config/federatedtypeconfigs
	$(MAKE) --no-print-directory chart-manifests

# The chart carries copies of the CRDs and of the default FederatedTypeConfigs; config/default is
# the chart rendered with its default values, for kustomize.
CHART_DIR := charts/fedplane

.PHONY: chart-manifests
chart-manifests: bin/helm ## Copy the CRDs and FederatedTypeConfigs into the chart, and render config/default from it.
	rm -rf $(CHART_DIR)/crds $(CHART_DIR)/files/federatedtypeconfigs
	mkdir -p $(CHART_DIR)/crds $(CHART_DIR)/files/federatedtypeconfigs
	cp config/crd/bases/*.yaml config/crd/federated/*.yaml $(CHART_DIR)/crds/
	cp config/federatedtypeconfigs/*.yaml $(CHART_DIR)/files/federatedtypeconfigs/
	$(GO) run ./hack/gen-default --helm $(BIN)/helm --chart $(CHART_DIR) --out config/default --crd-dir config/crd

.PHONY: openapi-snapshot
openapi-snapshot: ## Take the OpenAPI snapshot (config/openapi) anew from the lab host, then regenerate.
	$(GO) run ./hack/gen-federated-types --refresh-from $(KUBECONFIG_LAB) --context host

.PHONY: fmt
fmt: ## Format the Go code.
	$(GO) fmt ./...
	cd hack/tools && $(GO) fmt ./...

.PHONY: vet
vet: ## Run go vet.
	$(GO) vet ./...

.PHONY: lint
lint: bin/golangci-lint ## Run golangci-lint with the project's rules (.golangci.yml).
	$(BIN)/golangci-lint run ./...

.PHONY: verify
verify: ## Fail when generated code or manifests are stale, code is unformatted, or vet fails.
	hack/verify.sh

.PHONY: build
build: ## Build fed-controller and fedctl into bin/, stamped with VERSION and COMMIT.
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

##@ Image

# The platforms of fed-controller's image; the tarball holds the first.
PLATFORMS ?= linux/amd64 linux/arm64
# Where make image-push pushes: $(REGISTRY)/fed-controller:$(IMAGE_TAG).
REGISTRY ?=
IMAGE_TAG ?= $(VERSION)
IMAGE_BINARIES := $(BIN)/image-binaries

.PHONY: image-binaries
image-binaries: ## Build static, stamped fed-controller binaries for PLATFORMS into bin/image-binaries/OS_ARCH/.
	@for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; echo "fed-controller $$os/$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" \
			-o $(IMAGE_BINARIES)/$${os}_$${arch}/fed-controller ./cmd/fed-controller; \
	done

.PHONY: image
image: image-binaries ## Build fed-controller's OCI image without Docker: bin/image/ (OCI layout, PLATFORMS) and bin/fed-controller-image.tar.
	$(GO) run ./hack/image build --binaries $(IMAGE_BINARIES) --platforms "$(subst $(space),$(comma),$(strip $(PLATFORMS)))" \
		--version $(VERSION) --revision $(COMMIT) --layout $(BIN)/image --tarball $(BIN)/fed-controller-image.tar

.PHONY: image-push
image-push: image ## Push the image to REGISTRY/fed-controller:IMAGE_TAG (VERSION by default), with the credentials of ~/.docker/config.json.
	@if [ -z "$(REGISTRY)" ]; then echo "make image-push: set REGISTRY, for example REGISTRY=registry.example.com/fedplane"; exit 1; fi
	$(GO) run ./hack/image push --layout $(BIN)/image --image $(REGISTRY)/fed-controller:$(IMAGE_TAG)

##@ Tests

.PHONY: test
test: lab-tools bin/helm bin/controller-gen ## Run make verify, the unit tests (with helm lint and the chart's golden files), the integration tests against lab API servers, then KubeFed's e2e suite (make compat).
	hack/verify.sh
	FEDPLANE_LAB_BIN=$(BIN) FEDPLANE_LAB_REQUIRED=1 $(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(TEST_FLAGS) ./...
	cd hack/kustomize-check && $(GO) test -count=1 ./...
	$(MAKE) --no-print-directory test-chart-identity
	@if [ -n "$(TEST_FLAGS)" ]; then echo "make test: TEST_FLAGS narrows the Go tests; make compat is not run"; \
	elif [ -d "$(KUBEFED_E2E_SRC)" ]; then $(MAKE) --no-print-directory compat; \
	else echo "make test: $(KUBEFED_E2E_SRC) is missing: KubeFed's e2e suite (make compat) is not run"; fi

# The suites that run a second time under the chart's ServiceAccount and RBAC.
CHART_IDENTITY_SUITES ?= ./e2e/propagation ./e2e/rsp

.PHONY: test-chart-identity
test-chart-identity: lab-tools bin/helm ## Run the propagation and RSP suites with fed-controller under the chart's ServiceAccount and RBAC.
	FEDPLANE_E2E_CONTROLLER_IDENTITY=chart FEDPLANE_LAB_BIN=$(BIN) FEDPLANE_LAB_REQUIRED=1 $(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(TEST_FLAGS) $(CHART_IDENTITY_SUITES)

.PHONY: e2e
e2e: lab-tools bin/helm ## Run only the suites under e2e/ against lab clusters.
	FEDPLANE_LAB_BIN=$(BIN) FEDPLANE_LAB_REQUIRED=1 $(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(TEST_FLAGS) ./e2e/...

.PHONY: bench
bench: lab-tools build ## Measure propagation on a lab against the API servers' own limit (BENCH_KIND, BENCH_N, BENCH_M, BENCH_FLAGS); see docs/performance.md.
	$(GO) run ./bench -bin $(BIN) -kind $(BENCH_KIND) -n $(BENCH_N) -m $(BENCH_M) -results bench/results $(BENCH_FLAGS)

.PHONY: bench-isolation
bench-isolation: lab-tools ## Measure how long changes take to reach a healthy member while another is stopped or hung (docs/fed-controller.md#isolation).
	FEDPLANE_LAB_BIN=$(BIN) FEDPLANE_LAB_REQUIRED=1 FEDPLANE_BENCH_ISOLATION=1 $(GO) test -count=1 -timeout 15m -v -run '^TestIsolationBenchmark$$' ./e2e/safety/

.PHONY: compat
compat: lab-tools build ## Run KubeFed's own e2e suite (../shared/kubefed-e2e) against fed-controller on a new lab; COMPAT_FLAGS='-focus REGEX' runs some.
	$(GO) run ./hack/lab compat --src $(KUBEFED_E2E_SRC) --dir $(CURDIR)/.lab-compat --bin $(BIN) --cache $(TOOLS_CACHE)/../kubefed-e2e $(COMPAT_FLAGS)

.PHONY: bench-go
bench-go: ## Run the Go benchmarks of the pure decision packages (planner, render, placement).
	$(GO) test -run '^$$' -bench . -benchmem $(BENCH_GO_FLAGS) ./pkg/...

.PHONY: ci
ci: ## Run what CI runs (.ci/run: make test).
	bash .ci/run

##@ Lab

.PHONY: lab-tools
lab-tools: $(addprefix bin/,$(LAB_TOOLS)) ## Build the lab's binaries (cached by version).

.PHONY: lab
lab: lab-tools ## Start a host and member clusters (CLUSTERS="local cce") on loopback, state in .lab/.
	$(GO) run ./hack/lab up --dir $(LAB_DIR) --bin $(BIN) --clusters "$(CLUSTERS)"

.PHONY: lab-down
lab-down: ## Stop every lab process and remove .lab/.
	$(GO) run ./hack/lab down --dir $(LAB_DIR)

.PHONY: install
install: ## Install the CRDs and the default FederatedTypeConfigs into the host cluster.
	$(GO) run ./hack/lab install --kubeconfig $(INSTALL_KUBECONFIG) --context $(INSTALL_CONTEXT)

.PHONY: demo
demo: build lab install ## Build fedplane, start the lab, run fed-controller, join local and cce, apply the walkthrough and show each member.
	$(GO) run ./hack/lab demo --dir $(LAB_DIR) --bin $(BIN) --kubeconfig $(KUBECONFIG_LAB) --clusters "$(CLUSTERS)" --fixtures ../shared/fixtures

.PHONY: demo-down
demo-down: lab-down ## Stop fed-controller and the lab started by make demo.

##@ Tools

.PHONY: tools
tools: lab-tools bin/controller-gen bin/golangci-lint bin/helm ## Build every pinned tool into the cache and link it into bin/.

.PHONY: $(addprefix bin/,$(LAB_TOOLS) controller-gen golangci-lint helm)
$(addprefix bin/,$(LAB_TOOLS) controller-gen golangci-lint helm):
	@hack/ensure-tool.sh $(@F)
