#!/usr/bin/env bash
# Benchmark: queries per second of `edgesim dns serve` with dnsperf on loopback, for the five
# queries of issue 16 (one-value A from a zone file; latency record with and without ECS; a
# two-value A record, shuffled; a weighted record; a wildcard asked under 400,000 distinct
# names), each beside dnsmasq (and NSD for the zone-file and wildcard rows) in the same run.
# Single-process rows: every server pinned to core 0, dnsperf to core 1. Then `--workers 2`
# against dnsmasq, nothing pinned.
# Needs: dnsperf, dnsmasq, nsd (apt-get install dnsperf dnsmasq nsd), dig.
# Usage: REPS=3 bash bench/bench_dns.sh [seconds]   (numbers go to bench/README.md by hand)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
EDGE=5391 ZONEP=5393 MASQ=5392 NSDP=5395 WORK=5394
REPS=${REPS:-3}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; rm -rf "$work"; }
trap cleanup EXIT

cat > "$work/scenario.yaml" <<'EOF'
edgesim: 1
name: dns-bench
world: tiny
duration: 1m
clients:
  - metros: [tokyo, london, new-york]
    requests_per_second: 10
workloads:
  - {name: api, host: api.example.com, method: POST, size: 1KB}
endpoints:
  - {name: use1, site: us-east-1}
  - {name: apne1, site: ap-northeast-1}
route53:
  zones:
    - name: example.com
      records:
        - {name: api, policy: latency, set: a, region: us-east-1, alias: endpoint:use1}
        - {name: api, policy: latency, set: b, region: ap-northeast-1, alias: endpoint:apne1}
        - {name: two, values: [192.0.2.1, 192.0.2.2]}
        - {name: w, policy: weighted, set: a, weight: 70, values: [192.0.2.10]}
        - {name: w, policy: weighted, set: b, weight: 30, values: [192.0.2.20]}
        - {name: "*.wild", values: [192.0.2.30]}
EOF
cat > "$work/example.com.zone" <<'EOF'
$ORIGIN example.com.
$TTL 300
@ IN SOA ns1.example.com. hostmaster.example.com. 1 7200 900 1209600 86400
@ IN NS ns1.example.com.
ns1 IN A 192.0.2.53
www IN A 192.0.2.1
two IN A 192.0.2.1
two IN A 192.0.2.2
*.wild IN A 192.0.2.30
EOF
cat > "$work/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@$NSDP
  username: ""
  zonesdir: "$work"
  database: ""
  pidfile: "$work/nsd.pid"
  xfrdfile: "$work/xfrd.state"
  zonelistfile: "$work/zone.list"
  server-count: 1
  verbosity: 0
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: example.com
  zonefile: example.com.zone
EOF
printf 'www.example.com A\n' > "$work/one.txt"
printf 'api.example.com A\n' > "$work/latency.txt"
printf 'two.example.com A\n' > "$work/two.txt"
printf 'w.example.com A\n' > "$work/weighted.txt"
awk 'BEGIN { for (i = 0; i < 400000; i++) printf "n%d.wild.example.com A\n", i }' > "$work/wild.txt"

wait_for() { for _ in $(seq 1 200); do dig +short +time=1 +tries=1 @127.0.0.1 -p "$1" "$2" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "server on $1 did not start"; exit 1; }
start() { "$@" > "$work/log.$RANDOM" 2>&1 & pids+=($!); }
PIN="taskset -c 1"
qps() { # port file [extra dnsperf args]: queries per second (0 if any query was lost)
  local port=$1 file=$2; shift 2
  $PIN dnsperf -s 127.0.0.1 -p "$port" -d "$file" -l "$SECS" -c "$CLIENTS" -Q 500000 "$@" 2>&1 |
    awk '/Queries per second/ { q = int($4) } /Queries lost/ { lost = $3 } END { print (lost + 0 > 0 ? 0 : q) }'
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# row LABEL EDGE-PORT EDGE-FILE MASQ-FILE NSD-FILE [dnsperf args for edgesim]: REPS alternating
# runs of each server, medians and ratios
row() {
  local label=$1 eport=$2 efile=$3 mfile=$4 nfile=$5; shift 5
  local e=() m=() n=()
  for _ in $(seq 1 "$REPS"); do
    e+=("$(qps "$eport" "$efile" "$@")")
    m+=("$(qps $MASQ "$mfile")")
    [ "$nfile" != - ] && n+=("$(qps $NSDP "$nfile")")
  done
  local em mm nm=- rn=-
  em=$(printf '%s\n' "${e[@]}" | median); mm=$(printf '%s\n' "${m[@]}" | median)
  if [ "$nfile" != - ]; then
    nm=$(printf '%s\n' "${n[@]}" | median)
    rn=$(awk -v a="$em" -v b="$nm" 'BEGIN { printf "%.2f×", a / b }')
  fi
  printf '| %s | %s | %s | %s | %s | %s |\n' "$label" "$em" "$mm" \
    "$(awk -v a="$em" -v b="$mm" 'BEGIN { printf "%.2f×", a / b }')" "$nm" "$rn"
}

start taskset -c 0 .venv/bin/edgesim dns serve "$work/scenario.yaml" --listen 127.0.0.1:$EDGE
start taskset -c 0 .venv/bin/edgesim dns serve "$work/example.com.zone" --listen 127.0.0.1:$ZONEP
start taskset -c 0 dnsmasq --no-daemon --port=$MASQ --listen-address=127.0.0.1 --bind-interfaces \
  --no-resolv --address=/example.com/192.0.2.1 --conf-file=/dev/null
start taskset -c 0 nsd -d -c "$work/nsd.conf"
wait_for $EDGE api.example.com; wait_for $ZONEP www.example.com; wait_for $MASQ www.example.com
wait_for $NSDP www.example.com

CLIENTS=4
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); medians of $REPS alternating ${SECS}s runs"
echo "| query (servers on core 0, dnsperf on core 1) | edgesim q/s | dnsmasq q/s | vs dnsmasq | NSD q/s | vs NSD |"
echo "|---|--:|--:|--:|--:|--:|"
row "one-value A from a zone file" $ZONEP "$work/one.txt" "$work/one.txt" "$work/one.txt"
row "latency record, no ECS" $EDGE "$work/latency.txt" "$work/one.txt" -
row "latency record, ECS 127.1.0.0/24" $EDGE "$work/latency.txt" "$work/one.txt" - -E 8:000118007f0100
row "two-value A (shuffled)" $EDGE "$work/two.txt" "$work/one.txt" "$work/two.txt"
row "weighted record" $EDGE "$work/weighted.txt" "$work/one.txt" -
row "wildcard, 400,000 distinct names" $EDGE "$work/wild.txt" "$work/wild.txt" "$work/wild.txt"

# ---- two worker processes (SO_REUSEPORT) against dnsmasq, nothing pinned ----------------------
for p in "${pids[@]}"; do taskset -apc 0-$(( $(nproc) - 1 )) "$p" >/dev/null 2>&1 || true; done
start .venv/bin/edgesim dns serve "$work/scenario.yaml" --listen 127.0.0.1:$WORK --workers 2
wait_for $WORK api.example.com
PIN="" CLIENTS=8
echo
echo "| query (nothing pinned) | edgesim --workers 2 q/s | dnsmasq q/s | vs dnsmasq | NSD q/s | vs NSD |"
echo "|---|--:|--:|--:|--:|--:|"
row "latency record, ECS 127.1.0.0/24" $WORK "$work/latency.txt" "$work/one.txt" - -E 8:000118007f0100
row "weighted record" $WORK "$work/weighted.txt" "$work/one.txt" -
row "wildcard, 400,000 distinct names" $WORK "$work/wild.txt" "$work/wild.txt" -
