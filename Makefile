# The documented entry points. `make test` is what CI runs.
.PHONY: test provision build bench

test:
	bash scripts/test.sh

provision:
	bash scripts/provision.sh

build:
	go build -o bin/cachebench ./cmd/cachebench

# Benchmarks run against the local provider's real services, so provision first.
bench:
	bash scripts/provision.sh
	. "$${CACHEBENCH_HOME:-$${XDG_CACHE_HOME:-$$HOME/.cache}/cachebench}/provision.env" && \
		go test -run '^$$' -bench . -benchmem ./...
