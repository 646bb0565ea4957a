"""Route 53: hosted zones and routing policies, answered through the engine's resolvers.

This module holds the scenario-side model: zones, records with the simple, weighted, latency
and failover policies, alias records to the scenario's targets (``cloudfront:…``,
``endpoint:…``) with Evaluate Target Health. Latency routing picks the record whose region has
the lowest latency from where the query comes from (the ECS subnet's metro, else the
resolver); unhealthy records are skipped for the next best (route53.md).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from edgesim.errors import InputError, Problem
from edgesim.services.base import Service, Target
from edgesim.sim.context import SimContext
from edgesim.topology.model import LinkClass
from edgesim.units import Duration

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


class RecordSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    name: str = Field(description="relative to the zone ('www'), '@' for the apex, or absolute")
    type: Literal["A", "AAAA", "CNAME"] = "A"
    alias: str = Field(description="target such as cloudfront:site or endpoint:api-use1")
    policy: Literal["simple", "weighted", "latency", "failover"] = "simple"
    set: str | None = Field(default=None, description="set identifier (non-simple policies)")
    region: str | None = Field(default=None, description="latency policy: the record's region")
    weight: int | None = Field(default=None, ge=0, le=255)
    failover: Literal["primary", "secondary"] | None = None
    evaluate_target_health: bool = True
    ttl: Duration | None = Field(default=None, description="alias records take the target's")

    @model_validator(mode="after")
    def _policy_fields(self) -> RecordSpec:
        need = {"weighted": "weight", "latency": "region", "failover": "failover"}.get(self.policy)
        if need is not None and getattr(self, need) is None:
            raise ValueError(f"a {self.policy} record needs '{need}'")
        if self.policy != "simple" and self.set is None:
            raise ValueError(f"a {self.policy} record needs a set identifier ('set')")
        return self


class ZoneSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    records: list[RecordSpec] = Field(default_factory=list)


class Route53Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    zones: list[ZoneSpec] = Field(min_length=1)


class Record:
    def __init__(self, spec: RecordSpec, fqdn: str, target: Target, region_node: int) -> None:
        self.spec = spec
        self.fqdn = fqdn
        self.target = target
        self.region_node = region_node


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
                fqdn = _fqdn(rec.name, zone.name)
                self.records[fqdn].append(Record(rec, fqdn, target, region_node))
        for fqdn, recs in self.records.items():
            policies = {r.spec.policy for r in recs}
            if len(policies) > 1:
                problems.append(
                    Problem(
                        f"records for {fqdn} mix routing policies ({', '.join(sorted(policies))})",
                        path="route53.zones",
                        expected="one routing policy per name and type",
                    )
                )
        if problems:
            raise InputError(problems, file=ctx.file)

    def answers(self, host: str) -> bool:
        return host in self.records

    def host_ttl_ns(self, host: str) -> int:
        recs = self.records[host]
        ttls = [r.spec.ttl if r.spec.ttl is not None else r.target.ttl_ns for r in recs]
        return int(min(ttls))

    def _healthy(self, rec: Record) -> bool:
        return not rec.spec.evaluate_target_health or rec.target.is_up(self.ctx)

    def resolve(self, host: str, where: I32, t_ns: int) -> tuple[list[Target | None], I64, int]:
        recs = self.records[host]
        targets: list[Target | None] = [r.target for r in recs]
        n = len(where)
        healthy = np.array([self._healthy(r) for r in recs])
        policy = recs[0].spec.policy
        choice = np.zeros(n, dtype=np.int64)
        if policy == "simple":
            choice[:] = 0
        elif policy == "weighted":
            w = np.array(
                [self.weights.get((host, r.spec.set or ""), r.spec.weight or 0) for r in recs],
                dtype=np.float64,
            )
            if not (w > 0).any():
                w = np.ones(len(recs))  # all weights 0: equal probability (route53.md)
            use = healthy & (w > 0)
            if not use.any():  # no healthy record with weight: the healthy zero-weight ones
                use = healthy & (w == 0)
                w = np.where(use, 1.0, w)
            if not use.any():
                use = w > 0  # nothing healthy: fail open, as if all were healthy
            p = np.where(use, w, 0.0)
            choice = np.searchsorted(np.cumsum(p / p.sum()), self.rng.random(n), side="right")
            choice = np.minimum(choice, len(recs) - 1)
        elif policy == "latency":
            one_way = self.ctx.one_way_ms(LinkClass.INTERNET)
            cols = np.array([r.region_node for r in recs], dtype=np.int64)
            d = one_way[np.ix_(np.asarray(where, dtype=np.int64), cols)]
            if healthy.any():
                d = np.where(healthy[None, :], d, np.inf)
            choice = d.argmin(axis=1)
        elif policy == "failover":
            primary = [i for i, r in enumerate(recs) if r.spec.failover == "primary"]
            secondary = [i for i, r in enumerate(recs) if r.spec.failover == "secondary"]
            pick = primary[0] if primary else secondary[0]
            if primary and not healthy[primary[0]] and secondary and healthy[secondary[0]]:
                pick = secondary[0]
            choice[:] = pick
        return targets, choice, self.host_ttl_ns(host)

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
        return {
            "records": {
                h: [r.spec.set or "simple" for r in rs] for h, rs in sorted(self.records.items())
            }
        }


SERVICES = (Route53,)
