# tether — see README.md. Every target runs on a fresh machine with Go 1.26.
GO       ?= go
FUZZTIME ?= 30s
PKGS     := ./...

.PHONY: test fuzz lint run cover bench bench-quick conformance interop

## test: vet, then every test with the race detector (the CI command)
test:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 $(PKGS)

## fuzz: run every fuzz target for FUZZTIME each (default 30s)
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

## lint: gofmt, vet and staticcheck (fetched from the Go module proxy)
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

## cover: coverage of the protocol core
cover:
	$(GO) test -count=1 -cover ./ws

## run: start the chat example with its browser page
run:
	$(GO) run ./cmd/examples/chat

## conformance: the Autobahn-equivalent suite against tether's server and client (9.x at full size)
conformance:
	$(GO) run ./test/conformance/cmd/conformance

## bench: the comparative benchmark in test/bench (tether, gorilla, coder, gobwas, gws, raw TCP; 3 repetitions, ~12 min); writes BENCHMARKS.md
bench:
	cd test/bench && $(GO) run -mod=mod ./cmd/benchrun -benchmarks ../../BENCHMARKS.md -command "make bench"

## bench-quick: the same, one short repetition (~2 min), for iteration; writes test/bench/results/latest.md only
bench-quick:
	cd test/bench && $(GO) run -mod=mod ./cmd/benchrun -quick -command "make bench-quick"

## interop: tether against Node.js ws, Python websockets and headless Chromium,
## both directions; installs the peers first (apt-get, npm ci)
interop:
	./test/interop/install.sh
	$(GO) run ./test/interop/cmd/interop
