# The documented entry points. `make test` is what CI runs.
.PHONY: test provision build bench

test:
	bash scripts/test.sh

provision:
	bash scripts/provision.sh

build:
	go build -o bin/cachebench ./cmd/cachebench

bench:
	go test -run '^$$' -bench . -benchmem ./...
