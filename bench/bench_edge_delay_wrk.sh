#!/usr/bin/env bash
# Delay accuracy of the live edge with a C client: wrk, 1,000 concurrent keep-alive
# connections, each sending its next request a random 0.5-1.5 x THINK ms after the previous
# answer (wrk's Lua delay()), against `edgesim edge serve --rtt 80ms`, then the same request rate with
# --no-delay (think time + 80 ms).
# The added delay at each percentile = latency with the emulated RTT − latency without it.
# Usage: bash bench/bench_edge_delay_wrk.sh [connections=1000] [think_ms=120] [seconds=10]
# (think 0 = closed loop at the maximum rate, 12,500 req/s for 1,000 connections at 80 ms).
set -euo pipefail
cd "$(dirname "$0")/.."
CONN=${1:-1000}
THINK=${2:-120}
SECS=${3:-10}
PORT=18591
work=$(mktemp -d)
cleanup() { [ -n "${EDGE:-}" ] && kill "$EDGE" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
run() {  # $1: extra edge options, $2: think time (ms)
  # think times drawn uniformly in [0.5, 1.5] x THINK: with a fixed think time the 1,000
  # connections would stay in lock-step (all sending at once every THINK + 80 ms)
  printf 'function delay() return math.random(%d, %d) end\n' "$(($2 / 2))" "$(($2 * 3 / 2))" \
    > "$work/pace.lua"
  .venv/bin/python -m edgesim.cli.edge serve scenarios/live-edge.yaml $1 \
    --base-port $PORT > "$work/edge.log" 2>&1 &
  EDGE=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/static/app.js" && break; sleep 0.2; done
  taskset -pc 0 "$EDGE" >/dev/null || true
  taskset -c 1 wrk -t1 -c"$CONN" -d"${SECS}s" --latency -s "$work/pace.lua" \
    "http://127.0.0.1:$PORT/static/app.js" > "$work/out.txt"
  kill "$EDGE"; wait "$EDGE" 2>/dev/null || true; EDGE=
  grep -E "Requests/sec" "$work/out.txt"
  awk '/Latency Distribution/{f=1;next} f&&NF==2{print}' "$work/out.txt" | head -4
}
to_ms() { awk '{v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print $1, v}'; }
echo "== with --rtt 80ms ($CONN connections, think ${THINK} ms)"
run "--rtt 80ms" "$THINK" | tee "$work/with.txt"
echo "== with --no-delay (same request rate: think $((THINK + 80)) ms)"
run "--no-delay" "$((THINK + 80))" | tee "$work/without.txt"
echo "== added delay (with − without), configured 80 ms"
paste <(grep % "$work/with.txt" | to_ms) <(grep % "$work/without.txt" | to_ms) |
  awk '{printf "  %-4s %7.2f ms  (error %+.2f ms)\n", $1, $2-$4, $2-$4-80}'
