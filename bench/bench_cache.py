"""Benchmark: replay a Zipf trace through each cache policy (edgesim.cache).

Usage: python bench/bench_cache.py [--requests 5000000] [--objects 1000000] [--alpha 0.9]
                                   [--capacities 0.01,0.1]
                                   [--policies lru,lru-compact,lru-compact-py,sieve,s3-fifo]
                                   [--repeat 1]

The trace: ``--requests`` requests drawn from a Zipf(``--alpha``) popularity over ``--objects``
objects (object 0 the most popular), one request every 100 µs, object sizes lognormal with
median 40 KB and sigma 1.2, TTL 1 h (so no object expires during the replay). Each cache
capacity is a fraction of the catalogue's total bytes.

Each (policy, capacity) case runs in a fresh subprocess pinned to one core where the OS
allows, so its peak RSS is its own: the trace arrays (~160 MB for 5 M requests) plus the
cache. Printed per case: replay throughput (requests/s through ``Cache.process``, best of
``--repeat``), hit ratio, byte hit ratio, objects cached at the end, RSS before the replay and
peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CASE = r"""
import json, os, resource, sys, time
import numpy as np
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
from edgesim.cache import make_cache
from edgesim.cache.compact import CompactLRUCache

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

policy, frac, n_req, n_obj, alpha, repeat = (
    sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]),
    int(sys.argv[6]),
)
rng = np.random.default_rng(20240601)
w = np.arange(1, n_obj + 1, dtype=np.float64) ** -alpha
cdf = np.cumsum(w)
cdf /= cdf[-1]
keys = np.searchsorted(cdf, rng.random(n_req), side="right").astype(np.int64)
z = rng.standard_normal(n_obj)
cat_sizes = np.maximum(1, np.rint(40_000 * np.exp(1.2 * z))).astype(np.int64)
sizes = cat_sizes[keys]
now = np.arange(n_req, dtype=np.int64) * 100_000
ttl = 3600 * 10**9
cap = int(cat_sizes.sum() * frac)
del w, cdf
rss_before = rss_mb()
best = float("inf")
for _ in range(repeat):
    if policy == "lru-compact":
        cache = CompactLRUCache(cap, backend="c")
    elif policy == "lru-compact-py":
        cache = CompactLRUCache(cap, backend="python")
    else:
        cache = make_cache(policy, cap)
    t0 = time.perf_counter()
    cache.process(keys, sizes, now, ttl)
    best = min(best, time.perf_counter() - t0)
st = cache.stats
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({
    "policy": policy, "capacity": frac, "capacity_bytes": cap, "ops_per_s": n_req / best,
    "hit_ratio": st.hit_ratio, "byte_hit_ratio": st.byte_hit_ratio, "objects": len(cache),
    "rss_before_mb": rss_before, "peak_rss_mb": peak,
}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=5_000_000)
    ap.add_argument("--objects", type=int, default=1_000_000)
    ap.add_argument("--alpha", type=float, default=0.9)
    ap.add_argument("--capacities", default="0.01,0.1", help="fractions of catalogue bytes")
    ap.add_argument(
        "--policies",
        default="lru,lru-compact,sieve,s3-fifo",
        help="lru-compact is the C-backed LRU the scenario engine uses; lru-compact-py is the "
        "same cache with its pure-Python replay loop (the fallback without a C compiler)",
    )
    ap.add_argument("--repeat", type=int, default=1, help="replays per case (best kept)")
    args = ap.parse_args()
    print(
        f"Zipf({args.alpha}) trace: {args.requests:,} requests over {args.objects:,} objects, "
        "lognormal sizes (median 40 KB, sigma 1.2)"
    )
    header = (
        f"{'policy':<8} {'capacity':>8} {'Mops/s':>7} {'hit ratio':>9} {'byte HR':>8} "
        f"{'objects':>8} {'RSS0 MB':>8} {'peak MB':>8}"
    )
    print(header)
    print("-" * len(header))
    for frac in args.capacities.split(","):
        for policy in args.policies.split(","):
            proc = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    CASE,
                    policy,
                    frac,
                    str(args.requests),
                    str(args.objects),
                    str(args.alpha),
                    str(args.repeat),
                ],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "PYTHONHASHSEED": "0"},
            )
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            print(
                f"{r['policy']:<8} {float(r['capacity']):>8.0%} {r['ops_per_s'] / 1e6:>7.2f} "
                f"{r['hit_ratio']:>9.4f} {r['byte_hit_ratio']:>8.4f} {r['objects']:>8,} "
                f"{r['rss_before_mb']:>8.0f} {r['peak_rss_mb']:>8.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
