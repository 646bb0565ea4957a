#!/usr/bin/env bash
# Benchmark: queries per second of `edgesim dns serve` with dnsperf (Debian's dnsperf), for a
# latency-routed record asked with ECS and for a simple record, on loopback; and, in the same
# run, dnsmasq answering a static record as the reference (if dnsmasq is installed).
# Usage: bash bench/bench_dns.sh [seconds]   (numbers go to bench/README.md by hand)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
PORT=5391
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
.venv/bin/python - "$work" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, ".")
from tests.live.test_dnsserver import SCENARIO
Path(sys.argv[1], "scenario.yaml").write_text(SCENARIO)
PY
printf 'api.example.com A\n' > "$work/latency.txt"
printf 'www.example.com A\n' > "$work/simple.txt"
.venv/bin/edgesim dns serve "$work/scenario.yaml" --listen 127.0.0.1:$PORT > "$work/serve.log" 2>&1 &
for _ in $(seq 1 100); do dig +short +time=1 +tries=1 @127.0.0.1 -p $PORT www.example.com >/dev/null 2>&1 && break; done
echo "== edgesim, latency record with ECS (taskset: server on core 0)"
taskset -pc 0 "$(pgrep -f "dns serve $work" | head -1)" >/dev/null || true
dnsperf -s 127.0.0.1 -p $PORT -d "$work/latency.txt" -l "$SECS" -c 4 -Q 500000 -E 8:000118007f0100 2>&1 | grep -E "Queries per second|Queries lost|Average Latency"
echo "== edgesim, alias record (simple)"
dnsperf -s 127.0.0.1 -p $PORT -d "$work/simple.txt" -l "$SECS" -c 4 -Q 500000 2>&1 | grep -E "Queries per second|Queries lost"
if command -v dnsmasq >/dev/null; then
  echo "== dnsmasq, static record"
  dnsmasq --no-daemon --port=5392 --listen-address=127.0.0.1 --bind-interfaces --no-resolv \
    --address=/www.example.com/127.0.0.5 --conf-file=/dev/null >/dev/null 2>&1 &
  for _ in $(seq 1 100); do dig +short +time=1 +tries=1 @127.0.0.1 -p 5392 www.example.com >/dev/null 2>&1 && break; done
  dnsperf -s 127.0.0.1 -p 5392 -d "$work/simple.txt" -l "$SECS" -c 4 -Q 500000 2>&1 | grep -E "Queries per second"
fi
