# agent-smith — make help lists the targets.

# The release is the git tag (v0.2.0), or tag-commits-hash between tags.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# The commit's time dates the image and its files: the same commit gives the same image digest.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
# Where the image is published. To ship your own build, change this line (or pass IMG=…):
# the binaries are stamped with IMG, and sandbox pods inject the agent from it.
IMG ?= ghcr.io/agent-smith/agent-smith:$(VERSION)
PLATFORMS ?= linux/amd64 linux/arm64
# The image's binaries, NAME=PACKAGE: each is built for every platform into
# bin/OS_ARCH/NAME and lands in the image as /NAME. The entrypoint is the first.
IMAGE_BINARIES := agent-smith=. agent-smith-agent=./sandbox/cmd/agent-smith-agent
GOLANGCI_LINT_VERSION ?= v2.15.0
ACTIONLINT_VERSION ?= v1.7.12
VERSION_PKG := github.com/agent-smith/agent-smith/internal/version
LDFLAGS := -s -w -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Image=$(IMG)
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
build: ## Build the static binaries for this machine into bin/: agent-smith and the slim agent its sandboxes inject.
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/agent-smith .
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/agent-smith-agent ./sandbox/cmd/agent-smith-agent

.PHONY: run
run: build ## Start the orchestrator locally: examples/local/agentsmith.yml, local sandboxes, embedded Redis, webhooks on :8080, run API on localhost:8081.
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
lint: $(BIN)/golangci-lint $(BIN)/actionlint ## Run golangci-lint (both Go modules) and actionlint (the GitHub workflows).
	$(BIN)/golangci-lint run ./...
	cd hack/image && $(BIN)/golangci-lint run ./...
	$(BIN)/actionlint

##@ Image

.PHONY: binaries
binaries: ## Build the image's static binaries for every platform into bin/OS_ARCH/.
	@set -e; for platform in $(PLATFORMS); do \
		os=$${platform%/*}; arch=$${platform#*/}; rm -rf $(BIN)/$${os}_$$arch; \
		for bin in $(IMAGE_BINARIES); do \
			echo "go build $${bin#*=} for $$platform"; \
			CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch go build -trimpath -ldflags "$(LDFLAGS)" \
				-o $(BIN)/$${os}_$$arch/$${bin%%=*} $${bin#*=}; \
		done; \
	done

.PHONY: image
image: binaries ## Build the multi-platform OCI image IMG into bin/image (an OCI layout), without Docker.
	cd hack/image && go run . build --bin-dir $(BIN) --out $(BIN)/image --ref $(IMG) \
		--platforms "$$(echo $(PLATFORMS) | tr ' ' ,)" --entrypoint /$(firstword $(subst =, ,$(IMAGE_BINARIES))) \
		--version $(VERSION) --revision $(REVISION) --created $(SOURCE_DATE_EPOCH)

.PHONY: image-push
image-push: image ## Push bin/image to IMG (credentials from docker login); REPO@DIGEST goes to bin/image.digest.
	cd hack/image && go run . push --layout $(BIN)/image --ref $(IMG) --digest-file $(BIN)/image.digest

.PHONY: docker-build
docker-build: ## Build the image IMG with Docker (the same binaries, user, entrypoint and labels).
	docker build --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) --build-arg IMG=$(IMG) \
		--build-arg CREATED=$$(date -u -d @$(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ) -t $(IMG) .

.PHONY: docker-push
docker-push: ## Push the Docker-built image IMG.
	docker push $(IMG)

##@ Testing

.PHONY: test-deps
test-deps: ## Install redis-server, git, ripgrep and chromium from Debian packages when missing.
	@hack/test-deps.sh

.PHONY: envtest
envtest: ## Build kube-apiserver, etcd and kube-controller-manager for envtest (cached per version).
	@mkdir -p $(BIN)
	@dir=$$(hack/envtest-assets.sh) && ln -sfn "$$dir" $(BIN)/envtest && echo "KUBEBUILDER_ASSETS=$$dir"

.PHONY: test-short
test-short: ## Run the tests that need no redis-server, envtest or agent build (-short skips those).
	go test -short ./...

.PHONY: test
test: test-deps envtest image ## Prepare everything, then run all tests (the image's too) and a short fuzz pass.
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting (make fmt)"; exit 1; }
	go vet ./...
	cd hack/image && go vet ./... && AGENTSMITH_IMAGE_LAYOUT=$(BIN)/image go test -count=1 ./...
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

$(BIN)/actionlint:
	GOBIN=$(BIN) go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
