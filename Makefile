GO ?= go
PROTOC ?= protoc
GOBIN := $(shell $(GO) env GOPATH)/bin
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.5.1
STATICCHECK_VERSION := v0.8.2

.PHONY: build run test bench bench-queries proto lint compat fuzz-sql clean

build:
	$(GO) build -o bin/shardsql ./cmd/shardsql
	$(GO) build -o bin/sqllogic ./cmd/sqllogic

run: build
	./bin/shardsql demo $(ARGS)

test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 12m ./...
	$(GO) test -count=1 -race -timeout 10m ./internal/... ./exec/... ./shard/... ./shardmeta/... ./txn/...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./internal/keys/ ./shard/ ./sqltests/

# bench-queries: issue 5's distributed-query benchmark, ShardSQL (3 shard
# servers, on disk) against PostgreSQL 15 on 1M rows (BENCHMARKS.md).
# SHARDSQL_BENCH_ROWS, _REPS, _OFF_REPS, _POINTS, _OUT tune it.
bench-queries:
	SHARDSQL_BENCH_QUERIES=1 $(GO) test -count=1 -timeout 100m -run '^TestQueryBench$$' -v ./sqltests/

proto:
	GOBIN=$(GOBIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(GOBIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	PATH=$(GOBIN):$$PATH $(PROTOC) -I api --go_out=api --go_opt=paths=source_relative \
		--go-grpc_out=api --go-grpc_opt=paths=source_relative api/*.proto

lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'))"
	$(GO) vet ./...
	GOBIN=$(GOBIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(GOBIN)/staticcheck ./...

# compat runs the sqllogictest corpus against PostgreSQL 15 and ShardSQL.
compat: build
	scripts/compat.sh

# fuzz-sql runs the randomized differential test against PostgreSQL 15 at
# length (FUZZ_QUERIES queries; SHARDSQL_FUZZ_SEED and
# SHARDSQL_FUZZ_FEATURES pass through from the environment).
FUZZ_QUERIES ?= 20000
fuzz-sql:
	SHARDSQL_FUZZ_QUERIES=$(FUZZ_QUERIES) $(GO) test -count=1 -timeout 3h -run '^TestDifferential$$' -v ./sqltests/

clean:
	rm -rf bin
