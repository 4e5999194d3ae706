# zrun's developer entry points. `make demo` runs zrun's main job on the
# example stack; `make test` runs every test. Both install what is missing.

GO       ?= go
BIN      := bin
ZRUN     := $(BIN)/zrun
GOFLAGS  ?=
export CGO_ENABLED ?= 0

.PHONY: all build test test-short fuzz bench demo proto proto-check vet fmt-check tools clean

all: build

build: $(ZRUN) $(BIN)/zrun-compose $(BIN)/zrun-rclone

$(ZRUN): $(shell find . -name '*.go' -not -path './bin/*' 2>/dev/null) go.mod go.sum sdk/go.mod sdk/go.sum
	$(GO) build -o $(ZRUN) ./cmd/zrun

# The builtin rclone plugin, which zrun starts from beside itself: rclone's
# libraries would cost every zrun process 30 ms of start-up.
$(BIN)/zrun-rclone: $(shell find . -name '*.go' -not -path './bin/*' 2>/dev/null) go.mod go.sum sdk/go.mod sdk/go.sum
	$(GO) build -o $(BIN)/zrun-rclone ./cmd/zrun-rclone

# zrun with the compose importer, which `zrun import compose` runs: zrun
# itself leaves compose-go out (15 ms of package init at every start).
$(BIN)/zrun-compose: $(shell find . -name '*.go' -not -path './bin/*' 2>/dev/null) go.mod go.sum sdk/go.mod sdk/go.sum
	$(GO) build -tags compose -o $(BIN)/zrun-compose ./cmd/zrun

## test: every test of both modules (the engine's and sdk/), with the race
## detector, plus a short fuzz run.
test: tools vet
	ZRUN_TEST_POSTGRES="$${ZRUN_TEST_POSTGRES:-$$(timeout 600 bash testdata/postgres.sh)}" \
		ZRUN_TEST_DOCKER="$${ZRUN_TEST_DOCKER:-$$(timeout 600 bash testdata/docker.sh)}" \
		ZRUN_TEST_DOCKER_SERVER="$${ZRUN_TEST_DOCKER_SERVER:-$$(timeout 600 bash testdata/docker.sh server)}" \
		CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 20m ./... ./testdata/plugins/...
	@# The compose importer's end-to-end tests, in zrun-compose (-tags compose).
	CGO_ENABLED=1 $(GO) test -race -tags compose -count=1 -timeout 10m -run '^TestImport' ./cmd/zrun
	CGO_ENABLED=1 $(GO) -C sdk test -race -count=1 -timeout 10m ./...
	@# The bounds on memory at full size (2 GiB through the wire and through
	@# SFTP): the race detector's run above moves less, slowed down too much.
	$(GO) test -count=1 -timeout 10m -run '^TestTwoGiBStreamsInBoundedHeap$$' ./engine/targets
	$(GO) -C sdk test -count=1 -timeout 10m -run '^TestRemoteFileMemoryBounded$$' ./rpc
	$(GO) test -count=1 -timeout 10m -run '^TestMemoryBounded$$' ./plugins/archive
	$(MAKE) fuzz FUZZTIME=30000x

test-short:
	$(GO) test -count=1 ./... ./testdata/plugins/...
	$(GO) -C sdk test -count=1 ./...

## vet: go vet on both modules. `./...` stops at sdk/go.mod, so sdk/ is its own run.
vet:
	$(GO) vet ./... ./testdata/plugins/...
	$(GO) vet -tags compose ./cmd/zrun
	$(GO) -C sdk vet ./...

FUZZTIME ?= 200000x
## fuzz: every fuzz target (the parsers of untrusted input) for FUZZTIME each.
# Counted in executions, not seconds: go1.26's fuzzer can fail a target with
# "context deadline exceeded" when a time budget ends mid-execution on a
# busy machine (golang/go#75804, fixed in go1.27).
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzLoadFile$$' -fuzztime $(FUZZTIME) ./dsl
	$(GO) test -run '^$$' -fuzz '^FuzzLoadNested$$' -fuzztime $(FUZZTIME) ./dsl
	$(GO) test -run '^$$' -fuzz '^FuzzLoadParamsFile$$' -fuzztime $(FUZZTIME) ./dsl
	$(GO) test -run '^$$' -fuzz '^FuzzParseLock$$' -fuzztime $(FUZZTIME) ./plugins
	$(GO) test -run '^$$' -fuzz '^FuzzParseParam$$' -fuzztime $(FUZZTIME) ./engine
	$(GO) test -run '^$$' -fuzz '^FuzzMaskStream$$' -fuzztime $(FUZZTIME) ./engine
	$(GO) test -run '^$$' -fuzz '^FuzzValidatePartial$$' -fuzztime $(FUZZTIME) ./engine
	$(GO) test -run '^$$' -fuzz '^FuzzPidFilter$$' -fuzztime $(FUZZTIME) ./engine/targets
	$(GO) test -run '^$$' -fuzz '^FuzzUnpack$$' -fuzztime $(FUZZTIME) ./plugins/archive
	$(GO) test -run '^$$' -fuzz '^FuzzQuote$$' -fuzztime $(FUZZTIME) ./plugins/nginx
	$(GO) test -run '^$$' -fuzz '^FuzzParseState$$' -fuzztime $(FUZZTIME) ./plugins/ufw
	$(GO) -C sdk test -run '^$$' -fuzz '^FuzzUnmarshalSchema$$' -fuzztime $(FUZZTIME) ./rpc
	$(GO) -C sdk test -run '^$$' -fuzz '^FuzzUnmarshalDynamic$$' -fuzztime $(FUZZTIME) ./rpc

## bench: the benchmarks of README's performance section, side by side with their baselines.
bench: build
	bash bench/run.sh

## demo: the health-check workflow against local stand-ins of the guide's five services.
demo: build
	bash testdata/demo/run.sh $(ZRUN)

## proto: regenerate the plugin protocol's Go code.
proto: tools-proto
	cd sdk/proto/zrunplugin/v1 && PATH="$$($(GO) env GOPATH)/bin:$$PATH" $(GO) generate ./...

## proto-check: fail if the generated code is not what the .proto produces.
proto-check: proto
	git diff --exit-code -- sdk/proto

tools:
	@command -v $(GO) >/dev/null || { echo "Go is missing: install Go 1.26 from your package manager"; exit 1; }
	@command -v gcc >/dev/null || { echo "installing gcc (for go test -race)"; apt-get install -y -qq gcc >/dev/null; }
	@test -x /usr/sbin/sshd || { echo "installing openssh-server (the ssh tests start their own sshd on loopback)"; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends openssh-server openssh-client >/dev/null; }
	@command -v zstd >/dev/null && command -v age >/dev/null || { echo "installing zstd and age (the archive plugin's compatibility tests)"; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends zstd age >/dev/null; }
	@test -x /usr/sbin/nginx && test -x /usr/sbin/ufw || { echo "installing nginx and ufw (the nginx tests run it on loopback, the ufw tests inside network namespaces)"; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx-light ufw iptables >/dev/null; }

tools-proto:
	@command -v protoc >/dev/null || { apt-get update -qq && apt-get install -y -qq protobuf-compiler; }
	@test -x "$$($(GO) env GOPATH)/bin/protoc-gen-go" || $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	@test -x "$$($(GO) env GOPATH)/bin/protoc-gen-go-grpc" || $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2

clean:
	rm -rf $(BIN)
