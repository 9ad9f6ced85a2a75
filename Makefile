# Thin wrappers; every target is also a plain go command.
.PHONY: dev test race ci fuzz build bench image chaos docker-single

dev:
	go run ./cmd/dynkv dev

test:
	go test ./...

race:
	go test -race ./...

ci:
	bash .ci/run

# The build's identity, as `dynkv version`, GET /version and
# dynkv_build_info report it (internal/buildinfo).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
BUILDINFO = github.com/dynkv/dynkv/internal/buildinfo
LDFLAGS = -X $(BUILDINFO).version=$(VERSION) -X $(BUILDINFO).commit=$(COMMIT)

build:
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o bin/dynkv ./cmd/dynkv

# dynkv (3 serve processes) against Olric (3 members, built from
# scripts/peers) and Redis through the same load generator, ROUNDS (3) times.
bench:
	bash scripts/bench.sh

# Container images FROM scratch around static binaries (deploy/Dockerfile):
# dynkv:latest and dynkv-shoppingcart:latest. Then:
#   docker-compose -f deploy/docker-compose.yml up -d
IMAGE ?= dynkv:latest
SHOP_IMAGE ?= dynkv-shoppingcart:latest
image:
	mkdir -p bin/image/data
	CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags '-s -w $(LDFLAGS)' -o bin/image/dynkv ./cmd/dynkv
	CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags '-s -w' -o bin/image/shoppingcart ./examples/shoppingcart
	docker build -q -f deploy/Dockerfile --target dynkv -t $(IMAGE) bin/image
	docker build -q -f deploy/Dockerfile --target shoppingcart -t $(SHOP_IMAGE) bin/image

# The chaos suite: a 5-node Compose cluster under a verifying load while
# nodes are cut off, killed, restarted, wiped, added and removed.
chaos: image
	DYNKV_IMAGE=$(IMAGE) go test -tags chaos -count=1 -v -timeout 25m -skip '^TestSingleNodeImage$$' ./chaos/

# The image alone, as `docker run -p 127.0.0.1:8080:8080 dynkv:latest`
# runs it: a single node answers a PUT and a GET on the published port.
docker-single: image
	DYNKV_IMAGE=$(IMAGE) go test -tags chaos -count=1 -v -timeout 5m -run '^TestSingleNodeImage$$' ./chaos/
