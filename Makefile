# averos-auth build targets. Go 1.26 or later is the only requirement.

BINARY  := bin/averos-auth
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# The embedded engine needs only FerretDB's SQLite backend.
TAGS    := ferretdb_no_postgresql

.PHONY: build run test bench lint clean

build:
	CGO_ENABLED=0 go build -trimpath -tags $(TAGS) -ldflags '$(LDFLAGS)' -o $(BINARY) ./cmd/averos-auth

# Run the server on the embedded engine with its data in ./data.
run: build
	./$(BINARY) serve --log.format console

test:
	go test -count=1 -timeout 15m ./...

bench:
	go test -run '^$$' -bench . -benchmem -timeout 30m ./...

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	go vet ./...

clean:
	rm -rf bin
