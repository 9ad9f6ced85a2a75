# Thin wrappers; every target is also a plain go command.
.PHONY: dev test race ci fuzz build bench

dev:
	go run ./cmd/dynkv dev

test:
	go test ./...

race:
	go test -race ./...

ci:
	bash .ci/run

build:
	CGO_ENABLED=0 go build -trimpath -o bin/dynkv ./cmd/dynkv

# dynkv (3 serve processes) against Redis through the same load generator.
bench:
	bash scripts/bench.sh
