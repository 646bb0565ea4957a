"""Recursive resolvers with caches, on the engine's clock (vectorised, no I/O).

Every user asks one resolver: their ISP's (in their metro, no ECS), a public anycast resolver
that sends the EDNS Client Subnet (the nearest ``public-ecs`` site; answers are computed for
the user's metro) or one that does not (the nearest ``public-no-ecs`` site; answers are
computed for the resolver's own location and shared by everyone using that site — the classic
source of mis-routing). A resolver caches each answer for its TTL; a query that finds it
expired goes on to the authoritative servers (anycast at the nearest edge location). New
connections look the name up unless the OS/browser stub cache still has it.

Steady state: a run starts as if the resolvers had been running for a long time. When a
resolver first sees a name, it already holds an answer whose remaining lifetime is uniform over
the TTL (the age of a cached record in a long-running cache population, sampled per resolver
from a seeded hash), so entries expire at spread-out moments instead of all together one TTL
after the start, and a failover moves users gradually over about one TTL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edgesim.services.base import Target
from edgesim.sim.batch import Batch
from edgesim.sim.context import SimContext
from edgesim.topology.model import LinkClass, Resolver

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]

Resolve = Callable[[I32, int], tuple[list[Target | None], I64, int]]
"""(where nodes, t_ns) -> (candidate targets, answer index per query, ttl_ns)."""


@dataclass
class Entry:
    expiry_ns: int
    target: int  # index into DnsStage.targets, -1 = no answer
    entry_node: int
    made_ns: int


@dataclass
class HostCache:
    """Every resolver's cached answer for one name, as arrays indexed by resolver key."""

    present: npt.NDArray[np.bool_]
    expiry_ns: I64
    target: I64
    """Index into DnsStage.targets, -1 = no answer."""
    entry_node: I32
    made_ns: I64

    @classmethod
    def empty(cls, n: int) -> HostCache:
        return cls(
            np.zeros(n, dtype=bool),
            np.zeros(n, dtype=np.int64),
            np.full(n, -1, dtype=np.int64),
            np.full(n, -1, dtype=np.int32),
            np.zeros(n, dtype=np.int64),
        )

    def get(self, key: int) -> Entry | None:
        """One resolver's entry (for inspection and tests)."""
        if not self.present[key]:
            return None
        return Entry(
            int(self.expiry_ns[key]),
            int(self.target[key]),
            int(self.entry_node[key]),
            int(self.made_ns[key]),
        )


@dataclass
class DnsStats:
    queries: int = 0
    resolver_misses: int = 0
    stub_hits: int = 0
    bad_answers: int = 0
    """Requests sent, by their resolver's answer, to a target that was down."""
    episodes: list[list[int]] = field(default_factory=list)
    """[first, last] ns of each stretch of such requests (a gap longer than the TTL starts a
    new one)."""

    def note_bad(self, first_ns: int, last_ns: int, ttl_ns: int) -> None:
        if self.episodes and first_ns - self.episodes[-1][1] <= ttl_ns:
            self.episodes[-1][1] = max(self.episodes[-1][1], last_ns)
        else:
            self.episodes.append([first_ns, last_ns])

    @property
    def failover_s(self) -> float:
        """Time to fail over: the longest stretch during which users were still sent to a
        target that was down (0 if never). With health-based answers it is bounded by the
        TTL (cached answers) plus the time DNS takes to notice."""
        return max(((b - a) / 1e9 for a, b in self.episodes), default=0.0)


@dataclass
class DnsStage:
    """Resolver caches for every host, and the cost of each lookup."""

    ctx: SimContext
    stub_hit_ratio: float
    isp_resolver_rtt_ms: float
    group_nodes: I32
    overstay_share: float = 0.0
    """Share of users whose software keeps answers past their TTL (old Java, some apps)."""
    overstay_ns: int = 0
    """How long past the TTL they keep them."""
    negative_ttl_ns: int = 900_000_000_000
    """How long a resolver keeps a "no answer" (the SOA minimum: Route 53's 900 s)."""
    steady_state: bool = True
    """Start every resolver with the name already cached, its remaining TTL uniform over the
    TTL (a long-running resolver population); ``False``: caches start empty (cold start)."""
    targets: list[Target] = field(default_factory=list)
    _target_pos: dict[str, int] = field(default_factory=dict)
    caches: dict[str, HostCache] = field(default_factory=dict)
    """Per name: every resolver's cached answer. Resolver keys: ``g`` (group ``g``'s ISP
    resolver), ``ng + g`` (its public ECS resolver, answers per metro), ``2 ng + node`` (a
    public resolver without ECS at ``node``)."""
    stats: dict[str, DnsStats] = field(default_factory=dict)

    def __post_init__(self) -> None:
        world = self.ctx.world
        ng = len(self.group_nodes)
        self.n_groups = ng
        sites: dict[str, list[int]] = {"public-ecs": [], "public-no-ecs": []}
        for k, n in world.nodes.items():
            if isinstance(n, Resolver) and n.resolver_kind in sites:
                sites[n.resolver_kind].append(self.ctx.idx(k))
        one_way = self.ctx.one_way_ms(LinkClass.INTERNET)
        self.public_site = np.zeros((2, ng), dtype=np.int32)
        self.public_rtt_ms = np.zeros((2, ng))
        for r, kind in enumerate(("public-ecs", "public-no-ecs")):
            cand = np.array(sites[kind] or [], dtype=np.int64)
            if len(cand) == 0:  # no public resolver of this kind: users fall back to their ISP's
                self.public_site[r] = self.group_nodes
                self.public_rtt_ms[r] = self.isp_resolver_rtt_ms
                continue
            d = one_way[np.ix_(self.group_nodes.astype(np.int64), cand)]
            best = d.argmin(axis=1)
            self.public_site[r] = cand[best]
            self.public_rtt_ms[r] = 2 * d[np.arange(ng), best]
        pops = [self.ctx.idx(p.key) for p in world.edge_locations if p.tier == "edge"]
        self._pops = np.array(pops, dtype=np.int64)
        self._auth_version = -1
        self._auth: F64 = np.zeros(0)
        self._down_version = -1
        self._down: npt.NDArray[np.bool_] = np.zeros(0, dtype=bool)

    def target_index(self, t: Target) -> int:
        pos = self._target_pos.get(t.key)
        if pos is None:
            pos = len(self.targets)
            self.targets.append(t)
            self._target_pos[t.key] = pos
        return pos

    def _auth_rtt_ms(self, nodes: I64) -> F64:
        """Resolver to the nearest authoritative (anycast) edge location and back (per node,
        kept per world state)."""
        if len(self._pops) == 0:
            return np.zeros(len(nodes))
        version = self.ctx.world.version
        if self._auth_version != version:
            self._auth = np.full(len(self.ctx.node_keys), np.nan)
            self._auth_version = version
        got = self._auth[nodes]
        todo = np.isnan(got)
        if todo.any():
            fresh = np.unique(nodes[todo])
            one_way = self.ctx.one_way_ms(LinkClass.INTERNET)
            self._auth[fresh] = 2 * one_way[np.ix_(fresh, self._pops)].min(axis=1)
            got = self._auth[nodes]
        out: F64 = got
        return out

    def _down_nodes(self) -> npt.NDArray[np.bool_]:
        """Whether each node is down (kept per world state)."""
        version = self.ctx.world.version
        if self._down_version != version:
            down = self.ctx.world.down_nodes
            self._down = np.array([k in down for k in self.ctx.node_keys], dtype=bool)
            self._down_version = version
        return self._down

    def _phase(self, host: str, key: int) -> float:
        """A uniform number in [0, 1) for one resolver and name, from the run's seed: the same
        whatever the chunking or the order in which resolvers first appear."""
        digest = hashlib.blake2b(
            f"{self.ctx.seed}/dns-phase/{host}/{key}".encode(), digest_size=8
        ).digest()
        return int.from_bytes(digest, "little") / 2.0**64

    def _cache(self, host: str) -> HostCache:
        hc = self.caches.get(host)
        if hc is None:
            hc = self.caches[host] = HostCache.empty(2 * self.n_groups + len(self.ctx.node_keys))
        return hc

    def _prefill(
        self,
        host: str,
        keys: I64,
        where: I32,
        t_ns: int,
        resolve: Resolve,
        ttl_ns: int,
    ) -> None:
        """Steady state: resolvers seen for the first time (``keys``, asking from ``where``)
        already hold an answer (the one in effect now), with a remaining lifetime uniform over
        the TTL (or over the negative TTL for a "no answer"). Nobody paid for these lookups
        inside the run."""
        w = np.asarray(where, dtype=np.int32)
        cands, choice, _ = resolve(w, t_ns)
        n = len(keys)
        tgt = np.full(n, -1, dtype=np.int64)
        ent = np.full(n, -1, dtype=np.int32)
        valid = (choice >= 0) & (choice < len(cands))
        answered = np.zeros(n, dtype=bool)
        # Targets are numbered in the order the keys first name them.
        firsts = np.unique(choice[valid], return_index=True)
        for _, ci in sorted(zip(firsts[1].tolist(), firsts[0].tolist(), strict=True)):
            cand = cands[ci]
            if cand is None:
                continue
            sel = choice == ci
            answered |= sel
            tgt[sel] = self.target_index(cand)
            ent[sel] = cand.entry(self.ctx, w[sel])
        life = np.where(answered, ttl_ns, self.negative_ttl_ns).astype(np.int64)
        phase = np.array([self._phase(host, int(k)) for k in keys.tolist()], dtype=np.float64)
        left = (phase * life).astype(np.int64)
        hc = self._cache(host)
        hc.present[keys] = True
        hc.expiry_ns[keys] = t_ns + left
        hc.target[keys] = tgt
        hc.entry_node[keys] = ent
        hc.made_ns[keys] = t_ns + left - life

    def lookup(
        self, host: str, batch: Batch, idx: I64, resolve: Resolve, ttl_ns: int
    ) -> tuple[I64, I32, F64, F64]:
        """Answers for requests ``idx`` (time-ordered) to ``host``.

        Returns per request: target index (-1: no answer), entry node, the ms spent between
        user and resolver, and the ms spent between resolver and authoritative servers.
        """
        n = len(idx)
        if n == 0:
            z = np.zeros(0)
            return z.astype(np.int64), z.astype(np.int32), z, z
        ttl_ns = max(int(ttl_ns), 1)  # a TTL of 0: resolvers cache nothing, every lookup asks
        stats = self.stats.setdefault(host, DnsStats())
        hc = self._cache(host)
        ng = self.n_groups
        g = batch.group[idx].astype(np.int64)
        kind = batch.resolver[idx].astype(np.int64)  # 0 isp, 1 public-ecs, 2 public-no-ecs
        site = np.where(
            kind == 0, self.group_nodes[g], self.public_site[np.maximum(kind - 1, 0), g]
        )
        key = np.where(kind == 0, g, np.where(kind == 1, ng + g, 2 * ng + site))
        where = np.where(kind == 2, site, self.group_nodes[g]).astype(np.int32)
        t = batch.t_ns[idx]
        querying = batch.new_conn[idx] & (batch.u_dns[idx] >= self.stub_hit_ratio)

        target = np.full(n, -1, dtype=np.int64)
        entry = np.full(n, -1, dtype=np.int32)
        miss = np.zeros(n, dtype=bool)
        order = np.argsort(key, kind="stable")
        sk = key[order]
        bounds = np.flatnonzero(np.diff(sk)) + 1
        starts = np.concatenate(([0], bounds))
        ends = np.concatenate((bounds, [n]))
        seg = np.repeat(np.arange(len(starts)), ends - starts)
        uk = sk[starts]
        has_old = hc.present[uk]
        ts = t[order]
        if self.steady_state and not has_old.all():
            new = np.flatnonzero(~has_old)
            first_where = where[order[starts[new]]]
            self._prefill(host, uk[new], first_where, int(t.min()), resolve, ttl_ns)
            has_old = hc.present[uk]
        # Users who overstay TTLs keep their old answer instead of asking (unless their resolver
        # has nothing at all): they are left out of the walk below.
        overstay = np.zeros(n, dtype=bool)
        if self.overstay_share > 0:
            overstay = (batch.u_dns[idx] * 1000.0) % 1.0 < self.overstay_share
        ts_walk = np.where(overstay[order] & has_old[seg], -2, ts)
        # Misses, all keys at once: a request that finds its resolver's answer expired asks
        # again (a reused connection or a stub cache does not outlive the TTL either); the
        # answer it gets is good for one TTL, so each round finds the next miss of every key.
        threshold = np.where(has_old, hc.expiry_ns[uk], -1)
        index = np.arange(n)
        miss_sorted = np.zeros(n, dtype=bool)
        while True:
            due = np.where(ts_walk >= threshold[seg], index, n)
            first = np.minimum.reduceat(due, starts)
            found = first < ends
            if not found.any():
                break
            miss_sorted[first[found]] = True
            threshold = np.where(
                found, ts[np.minimum(first, n - 1)] + ttl_ns, np.iinfo(np.int64).max
            )
        miss_pos = order[miss_sorted].tolist()
        if miss_pos:
            mp = np.array(sorted(miss_pos), dtype=np.int64)
            miss[mp] = True
            cands, choice, _ = resolve(where[mp], int(t[mp[0]]))
            m_target = np.full(len(mp), -1, dtype=np.int64)
            m_entry = np.full(len(mp), -1, dtype=np.int32)
            for ci, cand in enumerate(cands):
                if cand is None:
                    continue
                sel = choice == ci
                if sel.any():
                    m_target[sel] = self.target_index(cand)
                    m_entry[sel] = cand.entry(self.ctx, where[mp][sel])
            target[mp] = m_target
            entry[mp] = m_entry
        # Everyone else takes the answer in effect for their key at their time: the latest
        # miss of the same key at or before them (vectorised over the key-sorted order), or
        # the entry cached before this chunk.
        sorted_miss = miss[order]
        pos = np.where(sorted_miss, np.arange(n), -1)
        seg_start = np.repeat(starts, ends - starts)
        last = np.maximum.accumulate(np.maximum(pos, seg_start - 1))
        have = last >= seg_start
        src_rows = order[np.where(have, last, 0)]
        rows_have = order[have]
        target[rows_have] = target[src_rows[have]]
        entry[rows_have] = entry[src_rows[have]]
        old_target = np.where(has_old, hc.target[uk], -1)
        old_entry = np.where(has_old, hc.entry_node[uk], -1).astype(np.int32)
        have_res, last_res = have.copy(), last.copy()  # the resolvers' own view, for the cache
        if overstay.any():
            # They use the answer their resolver had `overstay` earlier: the latest miss of
            # their key at or before t - overstay in this chunk, else the one from before it.
            big = np.int64(1) << 45  # > any run's length in ns
            miss_rows = np.flatnonzero(sorted_miss)
            comb_miss = seg[miss_rows].astype(np.int64) * big + ts[miss_rows]
            ov = np.flatnonzero(overstay[order])
            q = seg[ov].astype(np.int64) * big + (ts[ov] - self.overstay_ns)
            k = np.searchsorted(comb_miss, q, side="right") - 1
            if len(miss_rows):
                hit_row = miss_rows[np.maximum(k, 0)]
                same = (k >= 0) & (seg[hit_row] == seg[ov])
            else:
                hit_row = np.zeros(len(ov), dtype=np.int64)
                same = np.zeros(len(ov), dtype=bool)
            # no answer that old in this chunk: the one from before it; a resolver that had
            # nothing before this chunk: the answer it got in it (as for everyone else)
            use_old = ~same & has_old[seg[ov]]
            keep = ~same & ~use_old
            last[ov] = np.where(same, hit_row, np.where(keep, last_res[ov], seg_start[ov] - 1))
            have[ov] = same | (keep & have_res[ov])
            rows_ov = order[ov]
            src = order[hit_row]
            target[rows_ov] = np.where(
                same, target[src], np.where(use_old, old_target[seg[ov]], target[rows_ov])
            )
            entry[rows_ov] = np.where(
                same, entry[src], np.where(use_old, old_entry[seg[ov]], entry[rows_ov])
            )
        lacking = ~have
        target[order[lacking]] = old_target[seg[lacking]]
        entry[order[lacking]] = old_entry[seg[lacking]]
        upd = np.flatnonzero(have_res[ends - 1])
        if len(upd):
            last_rows = order[last_res[ends[upd] - 1]]
            keys = uk[upd]
            hc.present[keys] = True
            hc.expiry_ns[keys] = t[last_rows] + np.where(
                target[last_rows] >= 0, ttl_ns, self.negative_ttl_ns
            )
            hc.target[keys] = target[last_rows]
            hc.entry_node[keys] = entry[last_rows]
            hc.made_ns[keys] = t[last_rows]
        # Answers pointing at a target, or an entry node (an edge location), that is down
        # right now: users sent to a dead address while DNS fails over.
        bad = np.zeros(n, dtype=bool)
        for ti in np.unique(target[target >= 0]):
            if not self.targets[int(ti)].is_up(self.ctx):
                bad |= target == ti
        if self.ctx.world.down_nodes:
            bad |= (entry >= 0) & self._down_nodes()[np.maximum(entry, 0)]
        bad_t = t[bad & (t >= self.ctx.warmup_ns)]
        if len(bad_t):
            stats.bad_answers += len(bad_t)
            stats.note_bad(int(bad_t.min()), int(bad_t.max()), ttl_ns)
        # Costs.
        access_rtt = self.ctx.access_rtt_ms()[batch.access[idx].astype(np.int64)]
        to_resolver = np.where(
            kind == 0, self.isp_resolver_rtt_ms, self.public_rtt_ms[np.maximum(kind - 1, 0), g]
        )
        user_ms = np.where(querying | miss, access_rtt + to_resolver, 0.0)
        auth_ms = np.zeros(n)
        if miss.any():
            auth_ms[miss] = self._auth_rtt_ms(site[miss].astype(np.int64))
        counted = t >= self.ctx.warmup_ns
        stats.stub_hits += int((batch.new_conn[idx] & ~querying & ~miss & counted).sum())
        stats.queries += int(((querying | miss) & counted).sum())
        stats.resolver_misses += int((miss & counted).sum())
        return target, entry, user_ms, auth_ms
