# CloudEvents Conductor. `make run` starts the whole hub locally; `make test` runs every test.
SHELL        := /bin/bash
MODULE       := github.com/cloudevents-conductor/conductor
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS      := -X $(MODULE)/pkg/version.Version=$(VERSION)
BIN          := $(CURDIR)/bin
COMMANDS     := grpc-gateway work-service db-service consumer-controller
GO_TEST_FLAGS ?= -race -count=1 -timeout 25m

# ---- test tools: real kube-apiserver/etcd/kubectl/helm built from the Go module proxy ----
# Binaries are cached outside the checkout, keyed by the tools modules' go.mod+go.sum, so a fresh clone
# (CI) reuses them; a second run is a no-op.
KUBE_VERSION ?= v1.37.2
KUBE_MINOR   := $(word 2,$(subst ., ,$(KUBE_VERSION)))
HELM_VERSION ?= v3.19.5
TOOLS_CACHE  ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/cloudevents-conductor-test-tools
hash = $(shell cat $(1)/go.mod $(1)/go.sum | sha256sum | cut -c1-16)
KUBE_DIR := $(TOOLS_CACHE)/kube-$(KUBE_VERSION)-$(call hash,test/tools/kube)
ETCD_DIR := $(TOOLS_CACHE)/etcd-$(call hash,test/tools/etcd)
HELM_DIR := $(TOOLS_CACHE)/helm-$(HELM_VERSION)-$(call hash,test/tools/helm)
KUBEBUILDER_ASSETS ?= $(BIN)/k8s
export KUBEBUILDER_ASSETS
export KUBEBUILDER_CONTROLPLANE_START_TIMEOUT ?= 90s

KUBE_LDFLAGS := -s -w \
  -X k8s.io/component-base/version.gitVersion=$(KUBE_VERSION) \
  -X k8s.io/component-base/version.gitMajor=1 \
  -X k8s.io/component-base/version.gitMinor=$(KUBE_MINOR) \
  -X k8s.io/component-base/version.gitTreeState=clean \
  -X k8s.io/client-go/pkg/version.gitVersion=$(KUBE_VERSION) \
  -X k8s.io/client-go/pkg/version.gitMajor=1 \
  -X k8s.io/client-go/pkg/version.gitMinor=$(KUBE_MINOR)
HELM_K8S_MINOR ?= 34
HELM_LDFLAGS := -s -w -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
  -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$(HELM_K8S_MINOR) \
  -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$(HELM_K8S_MINOR)

.PHONY: all build test test-tools run e2e bench generate lint fmt clean help

all: build

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build the four binaries into bin/
	@mkdir -p $(BIN)
	go build -ldflags '$(LDFLAGS)' -o $(BIN)/ $(addprefix ./cmd/,$(COMMANDS))

test: test-tools ## run every test with the race detector (real NATS, PostgreSQL, kube-apiserver)
	go test $(GO_TEST_FLAGS) ./...

test-tools: $(KUBE_DIR)/.done $(ETCD_DIR)/.done $(HELM_DIR)/.done ## build kube-apiserver, etcd, kubectl, helm (cached)
	@mkdir -p $(BIN)/k8s
	@ln -sfn $(KUBE_DIR)/kube-apiserver $(KUBE_DIR)/kubectl $(ETCD_DIR)/etcd $(BIN)/k8s/
	@ln -sfn $(KUBE_DIR)/kubectl $(HELM_DIR)/helm $(BIN)/

# No prerequisites on purpose: the directory name already encodes go.mod/go.sum content.
$(KUBE_DIR)/.done:
	rm -rf $(KUBE_DIR).tmp
	cd test/tools/kube && go build -trimpath -ldflags '$(KUBE_LDFLAGS)' -o $(KUBE_DIR).tmp/ \
	  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
	touch $(KUBE_DIR).tmp/.done && rm -rf $(KUBE_DIR) && mv $(KUBE_DIR).tmp $(KUBE_DIR)

$(ETCD_DIR)/.done:
	rm -rf $(ETCD_DIR).tmp
	cd test/tools/etcd && go build -trimpath -ldflags '-s -w' -o $(ETCD_DIR).tmp/etcd go.etcd.io/etcd/server/v3
	touch $(ETCD_DIR).tmp/.done && rm -rf $(ETCD_DIR) && mv $(ETCD_DIR).tmp $(ETCD_DIR)

$(HELM_DIR)/.done:
	rm -rf $(HELM_DIR).tmp
	cd test/tools/helm && go build -trimpath -ldflags '$(HELM_LDFLAGS)' -o $(HELM_DIR).tmp/helm helm.sh/helm/v3/cmd/helm
	touch $(HELM_DIR).tmp/.done && rm -rf $(HELM_DIR) && mv $(HELM_DIR).tmp $(HELM_DIR)

generate: ## regenerate protobuf stubs, deepcopy and CRDs
	go generate ./pkg/...

lint: ## gofmt check and go vet
	@out=$$(gofmt -l cmd pkg test); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...

fmt:
	gofmt -w cmd pkg test

bench: ## run the Go benchmarks
	go test -run '^$$' -bench . -benchmem ./pkg/...

run: build test-tools ## start the whole hub stack locally (real processes); Ctrl-C stops it
	go build -o $(BIN)/localstack ./test/localstack
	$(BIN)/localstack --bin $(BIN) $(if $(MAESTRO_BIN),--maestro-bin $(MAESTRO_BIN))

e2e: build test-tools ## run the end-to-end suite against a local stack of real processes
	go test -count=1 -timeout 20m ./test/e2e/...

clean:
	rm -rf $(BIN)
