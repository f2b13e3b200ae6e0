#!/usr/bin/env bash
# test.sh runs cachebench's whole test suite the way CI does: provision the services
# (scripts/provision.sh), then formatting, vet, module tidiness, and every test with the race
# detector, with integration tests required (a service that cannot start fails the run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

t0=$(date +%s)
bash scripts/provision.sh
t1=$(date +%s)
# shellcheck disable=SC1091
. "${CACHEBENCH_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/cachebench}/provision.env"

# Services are reached on loopback only; no reaper container (none can be pulled here).
export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
export TESTCONTAINERS_RYUK_DISABLED=true
export CACHEBENCH_REQUIRE_SERVICES=1
# Tests keep what a person should look at afterwards (report screenshots) here.
export CACHEBENCH_ARTIFACTS="${CACHEBENCH_ARTIFACTS:-$PWD/artifacts}"
mkdir -p "$CACHEBENCH_ARTIFACTS"

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi
echo "== go vet"
go vet ./...
echo "== go mod tidy"
go mod tidy -diff
echo "== go test -race"
log=$(mktemp)
status=0
# The timing tests run one test binary at a time (-p 1): the harness and fleet tests measure
# timing against queueing models, and two binaries sharing 2 cores starve each other's load
# generators (a parallel run once left a fleet test's generator 30% late).
#
# The simulations checked against closed-form models (virtual time over simulated hours, a
# one-caller trace replay against an exact LRU, the same-seed replays) are single-threaded
# and CPU-bound: the race detector makes them 5 to 10
# times slower (two minutes of the suite) and finds nothing their concurrent
# neighbours do not. They run once, in the pass without -race below.
norace='^(TestVirtualL3MatchesTTLModel|TestVirtualFleetAndCost|TestVirtualAgreesWithReal|TestVirtualWebhooksReachEveryL1|TestVirtualStripeFaults|TestVirtualWarming|TestVirtualMeanConcurrencyMeasuredPart|TestVirtualRedisFaults|TestVirtualTraceReplayMatchesExactModels|TestVirtualSameSeedSameCounts|TestTraceReplayMatchesExactLRU|TestSameSeedSameSequence)$'
# -p 1 also builds one package at a time: compile every package and test variant first on
# both cores, so the serial run below finds them compiled and a new machine, with nothing in
# Go's build cache, compiles on two cores rather than one. go list -export compiles without
# linking: go test links each test binary anew (links are not cached), so linking them here
# too cost 20 s of wall time for nothing.
go list -race -test -deps -export ./... >/dev/null 2>&1 || true
# Only the packages whose tests judge timing need the cores to themselves: bench (rates and
# latencies against queueing models), cachecore (time-outs that must cut a slow tier within
# a bound, the origin limiter's pace), and netsim and stripeoverlay (delays and rates they
# inject). They run one at a time, as above. The rest assert counts, files and exit codes,
# and spend much of their time waiting for containers, JVMs and child processes to start,
# so two of them at a time fill the cores the other leaves idle (measured: 247 s rather than
# 377 s for these packages on a busy 2-core machine).
timed='^github.com/cachebench/cachebench/(bench|cachecore|mocks/netsim|mocks/stripeoverlay)$'
mapfile -t serial < <(go list ./... | grep -E "$timed")
mapfile -t paired < <(go list ./... | grep -vE "$timed")
go test -race -count=1 -p 1 -timeout 30m -v -skip "$norace" "${serial[@]}" 2>&1 | tee "$log" || status=$?
echo "== go test -race, two packages at a time"
# go test prints each package's output whole, in order, so the log reads as with -p 1.
go test -race -count=1 -p 2 -timeout 30m -v -skip "$norace" "${paired[@]}" 2>&1 | tee -a "$log" || status=$?
# The rate tests again without the race detector, at their full rates (4000 Stripe calls a
# second embedded, 20,000 L2 reads a second in Docker; about 40 s): the detector's
# instrumentation would make them measure itself. With them, the simulations above.
echo "== rate tests and simulations without -race"
go test -count=1 -timeout 10m -v -run "Sustains|${norace#^}" ./bench/ 2>&1 | tee -a "$log" || status=$?
t2=$(date +%s)
# Every test terminates the containers it starts; name any left behind, and remove them.
if docker info >/dev/null 2>&1; then
	left=$(docker ps -aq --filter label=org.cachebench.managed=true | wc -l)
	if [ "$left" -gt 0 ]; then
		echo "warning: $left cachebench container(s) left running after the tests:"
		docker ps -a --filter label=org.cachebench.managed=true --format '  {{.ID}} {{.Image}} {{.Status}}'
		docker rm -f $(docker ps -aq --filter label=org.cachebench.managed=true) >/dev/null
	fi
fi
echo "== provisioning $((t1 - t0))s, checks and tests $((t2 - t1))s"
# One summary line over every test and subtest.
count() { grep -cE "^[[:space:]]*--- $1" "$log" || true; }
echo "tests: $(count PASS) passed, $(count FAIL) failed, $(count SKIP) skipped"
# The failures again, each with the lines its test logged, so the end of the log says what broke.
if [ "$(count FAIL)" -gt 0 ]; then
	echo "failed:"
	awk '/^=== RUN/ { n = 0; next }
	     /_test\.go:[0-9]+: / { if (n < 8) buf[n++] = $0; next }
	     /^[[:space:]]*--- FAIL/ { print "  " $0; for (i = 0; i < n; i++) print "      " buf[i]; n = 0 }' "$log"
fi
rm -f "$log"
exit "$status"
