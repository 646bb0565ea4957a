#!/usr/bin/env bash
# Benchmark: requests/s for one cached 10 KB object (Cache-Control: max-age=3600) from
#   1. the edgesim origin directly (python -m edgesim.cli.origin, one process),
#   2. nginx with ONE worker as a proxy_cache in front of it (bench/nginx-proxy-cache.conf),
#   3. the live edgesim edge (`edgesim edge serve scenarios/live-edge.yaml --no-delay`, one
#      process, forwarding to the same origin), or the server at EDGE_URL if set (the URL of
#      the same object through it); EDGE=0 skips it,
# with wrk (-t1 -c50 by default) on loopback, and the ratio edge/nginx. With two or more CPUs
# the servers run on CPU 0 and wrk on CPU 1. Installs Debian's nginx and wrk if missing.
# Usage: [EDGE_URL=http://127.0.0.1:8080/bench/object.bin] [EDGE=0] [CONNS=50] [THREADS=1]
#        bash bench/bench_edge.sh [seconds]          (numbers go to bench/README.md by hand)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
CONNS=${CONNS:-50}
THREADS=${THREADS:-1}
ORIGIN_PORT=${ORIGIN_PORT:-18181}
NGINX_PORT=${NGINX_PORT:-18180}
EDGE_PORT=${EDGE_PORT:-18190}
OBJECT=/bench/object.bin
PY=${PY:-.venv/bin/python}

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
[ -x "$(command -v nginx || echo /usr/sbin/nginx)" ] || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

if [ "$(nproc)" -ge 2 ]; then SERVER_CPU=(taskset -c 0); CLIENT_CPU=(taskset -c 1); MASK=01
else SERVER_CPU=(); CLIENT_CPU=(); MASK=auto; fi

wait_http() {  # url
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "no answer from $1" >&2; return 1
}
rps() { awk '/^Requests\/sec:/ {print $2}'; }
bench() {  # label url
  local out
  out=$("${CLIENT_CPU[@]}" wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency "$2")
  printf '%-34s %10s req/s   latency p50 %-8s p99 %s\n' "$1" "$(rps <<<"$out")" \
    "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")"
  grep -E "Non-2xx|Socket errors" <<<"$out" || true
  rps <<<"$out" > "$work/last.rps"
}

"${SERVER_CPU[@]}" "$PY" -m edgesim.cli.origin --listen "127.0.0.1:$ORIGIN_PORT" \
  --body-size 10KB --header 'Cache-Control: max-age=3600' > "$work/origin.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$ORIGIN_PORT/healthz"

sed -e "s|@WORK@|$work|g" -e "s|@ORIGIN@|127.0.0.1:$ORIGIN_PORT|g" \
    -e "s|@LISTEN@|127.0.0.1:$NGINX_PORT|g" -e "s|@USER@|$(id -un)|g" -e "s|@CPU_MASK@|$MASK|g" \
    bench/nginx-proxy-cache.conf > "$work/nginx.conf"
"$NGINX" -t -q -c "$work/nginx.conf" -p "$work" 2>&1 | grep -v 'the "user" directive' || true
"$NGINX" -c "$work/nginx.conf" -p "$work" 2>"$work/nginx.stderr" &
pids+=($!)
wait_http "http://127.0.0.1:$NGINX_PORT/healthz"

# Warm the cache and check that nginx hits and serves the origin's bytes.
origin_sum=$(curl -fsS "http://127.0.0.1:$ORIGIN_PORT$OBJECT" | sha256sum)
curl -fsS -o /dev/null "http://127.0.0.1:$NGINX_PORT$OBJECT"
status=$(curl -fsS -D - -o "$work/body" "http://127.0.0.1:$NGINX_PORT$OBJECT" | tr -d '\r' \
  | awk -F': ' 'tolower($1)=="x-cache-status" {print $2}')
[ "$status" = HIT ] || { echo "nginx did not cache the object (X-Cache-Status: $status)" >&2; exit 1; }
[ "$(sha256sum < "$work/body")" = "$origin_sum" ] || { echo "nginx body differs" >&2; exit 1; }

echo "== $(nproc) CPUs, wrk -t$THREADS -c$CONNS -d${SECS}s, 10 KB object, $(date -u +%Y-%m-%d)"
bench "edgesim origin (direct, 1 process)" "http://127.0.0.1:$ORIGIN_PORT$OBJECT"
curl -fsS -X DELETE "http://127.0.0.1:$ORIGIN_PORT/_edgesim/stats"
bench "nginx proxy_cache (1 worker)" "http://127.0.0.1:$NGINX_PORT$OBJECT"
nginx_rps=$(cat "$work/last.rps")
reached=$(curl -fsS "http://127.0.0.1:$ORIGIN_PORT/_edgesim/stats" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["total"])')
echo "  requests that reached the origin during the nginx run: $reached"

if [ -z "${EDGE_URL:-}" ] && [ "${EDGE:-1}" != 0 ]; then
  # PoP 0 of scenarios/live-edge.yaml on EDGE_PORT; its default behaviour goes to "primary".
  "${SERVER_CPU[@]}" "$PY" -m edgesim.cli.edge serve scenarios/live-edge.yaml --no-delay \
    --base-port "$EDGE_PORT" --origin "primary=http://127.0.0.1:$ORIGIN_PORT" \
    --origin "backup=http://127.0.0.1:$ORIGIN_PORT" > "$work/edge.log" 2>&1 &
  pids+=($!)
  EDGE_URL="http://127.0.0.1:$EDGE_PORT$OBJECT"
fi
if [ -n "${EDGE_URL:-}" ]; then
  wait_http "$EDGE_URL"
  curl -fsS -o /dev/null "$EDGE_URL"
  curl -fsS -D - -o /dev/null "$EDGE_URL" | tr -d '\r' | grep -iE '^(x-cache|x-amz-cf-pop):' || true
  bench "edgesim edge ($EDGE_URL)" "$EDGE_URL"
  edge_rps=$(cat "$work/last.rps")
  awk -v e="$edge_rps" -v n="$nginx_rps" 'BEGIN {printf "edge/nginx: %.3f\n", e / n}'
else
  echo "(EDGE=0: the live edge was skipped)"
fi
