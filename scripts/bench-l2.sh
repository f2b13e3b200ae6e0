#!/usr/bin/env bash
# bench-l2.sh measures, in one run against one Redis, what redis-benchmark gets from GET
# with 50 clients and what cachecore's L2-hit path gets with 50 parallel callers (plain
# go-redis and go-redis AutoPipeline), and prints the ratios. The Redis is a fresh
# redis-server on a free 127.0.0.1 port, stopped at the end.
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
rb=$(redis-benchmark -h 127.0.0.1 -p "$port" -t get -c 50 -n "$n" -d 120 -q --csv | tail -n1)
rb_rps=$(echo "$rb" | awk -F'","' '{print $2}' | tr -d '"')
echo "redis-benchmark -t get -c 50 -n $n: $rb_rps requests/s"

. "${CACHEBENCH_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/cachebench}/provision.env" 2>/dev/null || true
out=$(CACHEBENCH_BENCH_REDIS_URL="redis://127.0.0.1:$port" go test -run '^$' \
	-bench 'BenchmarkCacheGet/L2(-autopipeline)?/parallel50$' -benchtime "${n}x" ./cachecore)
echo "$out" | grep -E '^Benchmark'
echo "$out" | awk -v rb="$rb_rps" '/^BenchmarkCacheGet\/L2/ {
	ns=$3; rps=1e9/ns; printf "%-45s %10.0f gets/s = %5.1f%% of redis-benchmark\n", $1, rps, 100*rps/rb }'
