# agent-smith — make help lists the targets.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
IMG ?= holgerleichsenring/agent-smith:$(VERSION)
GOLANGCI_LINT_VERSION ?= v2.15.0
LDFLAGS := -s -w -X github.com/agent-smith/agent-smith/internal/version.Version=$(VERSION)
# Race detection doubles the cost of the envtest packages on 2 cores; on by default.
TEST_FLAGS ?= -race -count=1 -timeout=30m
FUZZ_TIME ?= 10s

BIN := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)

.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} \
		/^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2 } \
		/^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: build
build: ## Build the static agent-smith binary into bin/.
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/agent-smith .

.PHONY: run
run: build ## Start the orchestrator locally: examples/local/agentsmith.yml, local sandboxes, embedded Redis, :8080.
	@mkdir -p tmp/runs
	@secret="$${GITHUB_WEBHOOK_SECRET:-$$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}"; \
	[ -n "$$GITHUB_WEBHOOK_SECRET" ] || echo "GITHUB_WEBHOOK_SECRET is not set; this run's webhook secret is $$secret"; \
	GITHUB_WEBHOOK_SECRET="$$secret" AGENTSMITH_RUNS_DIR="$${AGENTSMITH_RUNS_DIR:-$(CURDIR)/tmp/runs}" \
		$(BIN)/agent-smith serve --config examples/local/agentsmith.yml --log-format console $(RUN_ARGS)

.PHONY: demo
demo: build ## Offline demo: a failing repository, a ticket, and the pipeline turning it into a pull request (tmp/demo).
	go run ./hack/demo

.PHONY: fmt
fmt: ## Format the code.
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: $(BIN)/golangci-lint ## Run golangci-lint.
	$(BIN)/golangci-lint run ./...

##@ Image

.PHONY: docker-build
docker-build: ## Build the image IMG (orchestrator and sandbox agent carrier).
	docker build --build-arg VERSION=$(VERSION) -t $(IMG) .

.PHONY: docker-push
docker-push: ## Push the image IMG.
	docker push $(IMG)

##@ Testing

.PHONY: test-deps
test-deps: ## Install redis-server, git and ripgrep from Debian packages when missing.
	@hack/test-deps.sh

.PHONY: envtest
envtest: ## Build kube-apiserver, etcd and kube-controller-manager for envtest (cached per version).
	@mkdir -p $(BIN)
	@dir=$$(hack/envtest-assets.sh) && ln -sfn "$$dir" $(BIN)/envtest && echo "KUBEBUILDER_ASSETS=$$dir"

.PHONY: test-short
test-short: ## Run the tests that need no redis-server, envtest or agent build (-short skips those).
	go test -short ./...

.PHONY: test
test: test-deps envtest ## Prepare everything, then run all tests and a short fuzz pass.
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting (make fmt)"; exit 1; }
	go vet ./...
	KUBEBUILDER_ASSETS=$(BIN)/envtest go test $(TEST_FLAGS) ./...
	go test -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZ_TIME) -fuzzminimizetime=2s ./config
	@for pkg in github gitlab azuredevops jira; do \
		echo "fuzz ./trackers/$$pkg"; \
		go test -run='^$$' -fuzz='^FuzzParseWebhook$$' -fuzztime=$(FUZZ_TIME) -fuzzminimizetime=2s ./trackers/$$pkg || exit 1; \
	done

.PHONY: bench
bench: test-deps envtest ## Run the benchmarks and print their figures.
	KUBEBUILDER_ASSETS=$(BIN)/envtest go test -run='^$$' -bench=. -count=1 ./...

$(BIN)/golangci-lint:
	GOBIN=$(BIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
