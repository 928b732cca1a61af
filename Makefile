# Parley: the two commands a new user runs are `make demo` and `make test`.
# Both install what they need on a fresh Debian machine with Go.

GO        ?= go
DEB_PKGS  := espeak-ng libespeak-ng-dev pocketsphinx-en-us libpocketsphinx-dev libopus-dev libopusfile-dev pkg-config gcc chromium
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
TEST_FLAGS ?= -race -timeout 12m

.PHONY: all deps build demo test vet bench fuzz schema clean help

all: build

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

deps: ## install Debian packages (espeak-ng, PocketSphinx, libopus, chromium) and Go modules when missing
	@missing=""; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo ">> installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@$(GO) mod download

build: deps ## build bin/parley
	$(GO) build -o bin/parley ./cmd/parley

demo: deps ## run a scripted spoken conversation end to end, offline
	$(GO) run ./cmd/parley demo

vet: deps
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) build ./...

test: deps vet ## run the whole test suite with the race detector
	$(GO) test $(TEST_FLAGS) ./...
	@# Latency ratios mean something only without the race detector's slowdown.
	$(GO) test -count=1 -run 'TestHealthyEndpointIsolated' ./runtime/webhooks/dispatch/

bench: deps ## run the Go benchmarks of the hot paths
	$(GO) test -run '^$$' -bench . -benchmem ./media/... ./pipeline/... ./runtime/...

FUZZTIME ?= 10s
fuzz: deps ## run every fuzz target for FUZZTIME each (default 10s)
	@for d in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$d/*_test.go | sed 's/func //'); do \
	    echo "» $$d $$f"; $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$d || exit 1; \
	  done; \
	done

schema: ## regenerate docs/agent-config.schema.json
	$(GO) generate ./agents/...

clean:
	rm -rf bin
