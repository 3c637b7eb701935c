# tether — see README.md. Every target runs on a fresh machine with Go 1.26.
GO       ?= go
FUZZTIME ?= 30s
PKGS     := ./...

.PHONY: test fuzz lint run cover bench conformance interop

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
