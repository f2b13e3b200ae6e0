#!/usr/bin/env bash
# bench-l2.sh measures, in one run against one Redis, what redis-benchmark gets from GET
# with 50 clients and what cachecore's L2-hit path gets with 50 parallel callers (the
# default, Pipeline auto; always through go-redis's autopipeliner; never), and one caller's
# L2 hit against a plain go-redis GET, and prints the ratios, p99s and allocations. The
# Redis is a fresh redis-server on a free 127.0.0.1 port, stopped at the end.
#
# One caller's L2 hit and GET are also read in alternating blocks (BenchmarkL2HitVsGET),
# which sets them side by side on the same machine: the ratio printed last.
#
# redis-benchmark runs just before and just after the parallel benchmarks, and the ratio
# is taken against the mean of its two rates and the p99 against the lower of its two
# p99s, so that a machine whose load changes during the run moves both sides alike.
#
#   scripts/bench-l2.sh [REQUESTS]      (default 200000 redis-benchmark requests)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
n=${1:-200000}

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >/dev/null &
rpid=$!
trap 'kill $rpid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done

# Same value size as the Go benchmark stores (an envelope of a small customer object).
# redis-benchmark's CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",
# "p95_latency_ms","p99_latency_ms","max_latency_ms".
redisbench() {
	local rb
	rb=$(redis-benchmark -h 127.0.0.1 -p "$port" -t get -c 50 -n "$n" -d 120 --csv | tail -n1 | tr -d '"')
	echo "$(echo "$rb" | cut -d, -f2) $(echo "$rb" | cut -d, -f7)"
}

. "${CACHEBENCH_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/cachebench}/provision.env" 2>/dev/null || true
gobench() {
	CACHEBENCH_BENCH_REDIS_URL="redis://127.0.0.1:$port" go test -run '^$' -benchmem \
		-bench "$1" -benchtime "${2}x" ./cachecore
}

read -r rb1_rps rb1_p99 < <(redisbench)
par=$(gobench 'BenchmarkCacheGet/(L2(-autopipeline|-direct)?|redis-GET)/parallel50$' "$n")
read -r rb2_rps rb2_p99 < <(redisbench)
ser=$(gobench 'BenchmarkCacheGet/(L2(-autopipeline|-direct)?|redis-GET)/serial$' $((n / 4)))
vs=$(gobench 'BenchmarkL2HitVsGET$' $((n / 4)))
echo "redis-benchmark -t get -c 50 -n $n: $rb1_rps requests/s, p99 $rb1_p99 ms (before); $rb2_rps requests/s, p99 $rb2_p99 ms (after)"
rb_rps=$(awk -v a="$rb1_rps" -v b="$rb2_rps" 'BEGIN { print (a + b) / 2 }')
rb_p99=$(awk -v a="$rb1_p99" -v b="$rb2_p99" 'BEGIN { print (a < b ? a : b) }')
out=$(printf '%s\n%s\n%s\n' "$par" "$ser" "$vs")
echo "$out" | grep -E '^Benchmark'
# Parallel: gets/s against redis-benchmark's, and p99 beside its p99. Serial: each against
# a plain go-redis GET.
echo "$out" | awk -v rb="$rb_rps" -v rbp99="$rb_p99" '
/^BenchmarkL2HitVsGET/ {
	for (i = 4; i < NF; i++) { if ($(i+1) == "get-ns/read") vget=$i; if ($(i+1) == "l2hit-ns/read") vhit=$i }
	next
}
/^BenchmarkCacheGet\// {
	name=$1; sub(/-[0-9]+$/, "", name); ns=$3
	for (i = 4; i < NF; i++) { if ($(i+1) == "p99-us") p99=$i; if ($(i+1) == "allocs/op") allocs=$i }
	if (name ~ /parallel50$/) {
		printf "%-45s %9.0f gets/s = %5.1f%% of redis-benchmark (%.0f); p99 %.2f ms (redis-benchmark %.2f ms); %s allocs\n", name, 1e9/ns, 100*(1e9/ns)/rb, rb, p99/1e3, rbp99, allocs
	} else {
		serial[name]=ns; salloc[name]=allocs
	}
}
END {
	ref = serial["BenchmarkCacheGet/redis-GET/serial"]
	for (k in serial) if (k != "BenchmarkCacheGet/redis-GET/serial")
		printf "%-45s %9.0f ns/get = %5.1f%% of a plain go-redis GET'"'"'s time (%.0f ns); %s allocs\n", k, serial[k], 100*serial[k]/ref, ref, salloc[k]
	if (vget > 0)
		printf "%-45s %9.0f ns/hit = %5.1f%% of a plain go-redis GET'"'"'s time (%.0f ns), alternating blocks\n", "BenchmarkL2HitVsGET", vhit, 100*vhit/vget, vget
}'
