# tether — see README.md. Every target runs on a fresh machine with Go 1.26.
GO       ?= go
FUZZTIME ?= 30s
PKGS     := ./...
# Modules nested in the repository that test and lint cover besides the
# root one: they keep NATS, Prometheus and OpenTelemetry out of the
# library's go.mod. test/bench is a module too, but has its own targets
# (bench, bench-quick).
NESTED   := runtime/hub/natsbroker cmd/examples/natschat metrics/tetherprom metrics/tetherotel cmd/examples/chat test/bench
# in-each runs its argument in the root module, then in each nested one.
in-each   = set -e; for m in . $(NESTED); do echo "($$m) $(1)"; (cd $$m && $(1)); done

.PHONY: test fuzz lint run cover bench bench-quick bench-scale conformance interop tether-load

## test: vet, then every test with the race detector, in the root module
## and the nested ones (the CI command)
test:
	@$(call in-each,$(GO) vet $(PKGS))
	@$(call in-each,$(GO) test -race -count=1 $(PKGS))

## fuzz: run every fuzz target for FUZZTIME each (default 30s)
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

## lint: gofmt, vet and staticcheck (fetched from the Go module proxy)
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	@$(call in-each,$(GO) vet $(PKGS))
	@$(call in-each,$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS))

## cover: coverage of the protocol core
cover:
	$(GO) test -count=1 -cover ./ws

## run: start the chat example with its browser page; Ctrl-C stops it
## gracefully. It is built, then run: go run exits with status 1 whenever
## it is interrupted, whatever the program does. RUN_ARGS passes flags
## (RUN_ARGS=-addr=127.0.0.1:9000); RUN_BIN is where the binary goes.
RUN_BIN ?= bin/chat
run:
	$(GO) -C cmd/examples/chat build -o $(abspath $(RUN_BIN)) .
	$(RUN_BIN) $(RUN_ARGS)

## conformance: the Autobahn-equivalent suite against tether's server and client (9.x at full size)
conformance:
	$(GO) run ./test/conformance/cmd/conformance

## tether-load: build cmd/tether and run tether bench with 10,000
## connections (spread over 127.0.0.1-127.0.0.20) against tether serve
## --echo in another process, whose open files count apart;
## TETHER_LOAD_ARGS adds bench flags (e.g. --rate 1 --no-compression)
TETHER_LOAD_ARGS ?=
tether-load:
	@set -e; dir=$$(mktemp -d); pid=; \
	trap 'if [ -n "$$pid" ]; then kill -INT $$pid 2>/dev/null || true; wait $$pid || true; fi; rm -rf $$dir' EXIT; \
	$(GO) build -o $$dir/tether ./cmd/tether; \
	$$dir/tether serve --echo 127.0.0.1:0 2>$$dir/serve.log & pid=$$!; \
	until grep -q 'listening on' $$dir/serve.log; do kill -0 $$pid; sleep 0.1; done; \
	url=$$(sed -n 's/.*listening on \([^ ]*\) .*/\1/p' $$dir/serve.log); \
	$$dir/tether bench -c 10000 -d 20s --local-addr 127.0.0.1-127.0.0.20 $(TETHER_LOAD_ARGS) $$url

## bench: the comparative benchmark in test/bench (tether, gorilla, coder, gobwas, gws, raw TCP; 3 repetitions; then the scale scenario, 50,000 connections for tether, gorilla and gws; ~16 min); writes BENCHMARKS.md
bench:
	cd test/bench && $(GO) run -mod=mod ./cmd/benchrun -benchmarks ../../BENCHMARKS.md -command "make bench"

## bench-quick: the same, one short repetition (scale at 10,000 connections; ~3 min), for iteration; writes test/bench/results/latest.md only
bench-quick:
	cd test/bench && $(GO) run -mod=mod ./cmd/benchrun -quick -command "make bench-quick"

## bench-scale: only the scale scenario (50,000 connections, 10,000 of them
## active at 1 msg/s, for tether, gorilla and gws; ~4 min); writes
## test/bench/results/latest.md only. SCALE_ARGS passes flags
## (SCALE_ARGS=-scale-conns=5000 for a quick check)
SCALE_ARGS ?=
bench-scale:
	cd test/bench && $(GO) run -mod=mod ./cmd/benchrun -scenarios scale -command "make bench-scale $(SCALE_ARGS)" $(SCALE_ARGS)

## interop: tether against Node.js ws, Python websockets and headless Chromium,
## both directions; installs the peers first (apt-get, npm ci)
interop:
	./test/interop/install.sh
	$(GO) run ./test/interop/cmd/interop

## soak: the load test of issue 16 (test/soak): 10,000 connections × 100
## messages, 8 in flight, compression on, then Shutdown under load;
## fails on a lost, duplicated or reordered message or a 1011.
## SOAK_ARGS passes flags (go run ./test/soak/cmd/soak -help)
soak:
	$(GO) run ./test/soak/cmd/soak $(SOAK_ARGS)

## soak-small: the same at a size CI can afford: 500 connections × 20 messages
soak-small:
	$(GO) run ./test/soak/cmd/soak -conns 500 -messages 20 $(SOAK_ARGS)

.PHONY: soak soak-small
