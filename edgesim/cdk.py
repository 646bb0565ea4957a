"""Build scenarios in Python, in the spirit of the AWS CDK: constructs in code, ``synth()`` to a
scenario file.

::

    from edgesim.cdk import Behavior, Lambda, Scenario

    app = Scenario("shop", world="aws-world", duration="1h")
    api = app.endpoint("api-use1", site="us-east-1", compute=Lambda(memory=1024))
    assets = app.bucket("shop-assets", region="us-east-1")
    site = app.cloudfront(
        "site",
        origins=[assets.origin("assets"), api.origin("api")],
        behaviors=[Behavior("/api/*", "api", cache_policy="CachingDisabled")],
    )
    zone = app.hosted_zone("shop.example.com")
    zone.alias("www", site)
    zone.latency_record("api", [api])            # the Region comes from the endpoint's site
    app.clients("users", metros="top-50", requests_per_second=200)
    app.workload("web", host="www.shop.example.com", objects=10_000)
    app.synth("shop.yaml")                       # validated, then written
    results = app.run()                          # or run it straight away

Every construct returns an object whose ``target`` (``endpoint:api-use1``,
``cloudfront:site`` …) other constructs accept. ``synth`` checks the result with the same
loader as ``edgesim run`` (the schema, and with ``check=True`` every reference on the world),
so a mistake is an :class:`~edgesim.errors.InputError` naming the field. The format itself is
docs/scenario-format.md; this module only builds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgesim.cfn.yamlout import dump_scenario
from edgesim.scenario.loader import load_scenario_text, prepare
from edgesim.sim.report import build_report
from edgesim.sim.results import Results


def _clean(d: Mapping[str, Any]) -> dict[str, Any]:
    """Drop None values (the scenario's defaults apply)."""
    return {k: v for k, v in d.items() if v is not None}


# ---- compute models ------------------------------------------------------------------------


@dataclass(frozen=True)
class Lambda:
    """``compute: {type: lambda}`` (docs/compute.md)."""

    runtime: str = "python3.12"
    memory: int = 128
    concurrency: int | None = None
    provisioned: int | None = None
    timeout: str | None = None
    init: str | None = None

    def spec(self) -> dict[str, Any]:
        return _clean({"type": "lambda", **self.__dict__})


@dataclass(frozen=True)
class Fleet:
    """``compute: {type: ec2 | beanstalk | ecs-ec2 | fargate}``: auto-scaled units."""

    type: str = "fargate"
    min: int | None = None
    max: int | None = None
    desired: int | None = None
    concurrency: int | None = None
    target_utilization: str | None = None
    image_size: str | None = None

    def spec(self) -> dict[str, Any]:
        return _clean(self.__dict__)


# ---- targets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """A CloudFront origin: an endpoint or an S3 bucket."""

    name: str
    endpoint: str | None = None
    bucket: str | None = None
    region: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def spec(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.bucket is not None:
            out["s3"] = {"bucket": self.bucket, "region": self.region}
        else:
            out["endpoint"] = self.endpoint
        return {**out, **self.options}


@dataclass(frozen=True)
class Endpoint:
    name: str
    site: str

    @property
    def target(self) -> str:
        return f"endpoint:{self.name}"

    @property
    def region(self) -> str:
        return self.site.removeprefix("region:")

    def origin(self, name: str | None = None, **options: Any) -> Origin:
        """This endpoint as a CloudFront custom origin (``connection_timeout="5s"`` …)."""
        return Origin(name or self.name, endpoint=self.name, options=options)


@dataclass(frozen=True)
class Bucket:
    name: str
    region: str
    transfer_acceleration: bool = False

    @property
    def target(self) -> str:
        return f"s3:{self.name}"

    @property
    def accelerate_target(self) -> str:
        return f"s3-accelerate:{self.name}"

    def origin(self, name: str | None = None, **options: Any) -> Origin:
        """This bucket as a CloudFront S3 origin."""
        return Origin(name or self.name, bucket=self.name, region=self.region, options=options)


@dataclass(frozen=True)
class Distribution:
    name: str

    @property
    def target(self) -> str:
        return f"cloudfront:{self.name}"


@dataclass(frozen=True)
class Accelerator:
    name: str

    @property
    def target(self) -> str:
        return f"accelerator:{self.name}"


@dataclass(frozen=True)
class HealthCheck:
    name: str


@dataclass(frozen=True)
class Behavior:
    """A cache behaviour: a path pattern, its origin (a name or an :class:`Origin`), and an
    optional cache policy (a managed policy's name or a mapping)."""

    path: str
    origin: str | Origin
    cache_policy: str | Mapping[str, Any] | None = None
    allowed_methods: str | None = None

    def spec(self) -> dict[str, Any]:
        origin = self.origin.name if isinstance(self.origin, Origin) else self.origin
        policy = (
            dict(self.cache_policy)
            if isinstance(self.cache_policy, Mapping)
            else (self.cache_policy)
        )
        return _clean(
            {
                "path": self.path,
                "origin": origin,
                "cache_policy": policy,
                "allowed_methods": self.allowed_methods,
            }
        )


Target = Endpoint | Bucket | Distribution | Accelerator | str


def target_of(t: Target) -> str:
    return t if isinstance(t, str) else t.target


class HostedZone:
    """A Route 53 hosted zone; its methods add record sets."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.records: list[dict[str, Any]] = []

    def record(
        self,
        name: str,
        values: Sequence[str],
        *,
        type: str = "A",
        ttl: str | None = None,
        **policy: Any,
    ) -> HostedZone:
        """A record with values (zone-file syntax), with optional routing-policy fields."""
        self.records.append(
            _clean(
                {
                    "name": name,
                    "type": None if type == "A" else type,
                    "values": list(values),
                    "ttl": ttl,
                    **policy,
                }
            )
        )
        return self

    def alias(
        self,
        name: str,
        target: Target,
        *,
        health_check: HealthCheck | None = None,
        **policy: Any,
    ) -> HostedZone:
        """An alias record to a target (``policy="weighted", set="a", weight=10`` …)."""
        self.records.append(
            _clean(
                {
                    "name": name,
                    "alias": target_of(target),
                    **policy,
                    "health_check": health_check.name if health_check else None,
                }
            )
        )
        return self

    def latency_record(
        self,
        name: str,
        targets: Mapping[str, Target] | Sequence[Endpoint],
        *,
        health_checks: Mapping[str, HealthCheck] | None = None,
    ) -> HostedZone:
        """Latency-routed aliases, one per Region (the set identifier is the Region). A list
        of endpoints takes each endpoint's Region from its site."""
        pairs = (
            list(targets.items())
            if isinstance(targets, Mapping)
            else [(e.region, e) for e in targets]
        )
        for region, target in pairs:
            check = (health_checks or {}).get(region)
            self.alias(
                name, target, policy="latency", set=region, region=region, health_check=check
            )
        return self

    def weighted_record(self, name: str, targets: Mapping[str, tuple[Target, int]]) -> HostedZone:
        """Weighted aliases: set identifier → (target, weight)."""
        for set_id, (target, weight) in targets.items():
            self.alias(name, target, policy="weighted", set=set_id, weight=weight)
        return self

    def failover_record(
        self,
        name: str,
        primary: Target,
        secondary: Target,
        *,
        health_check: HealthCheck | None = None,
    ) -> HostedZone:
        """A primary (with its health check) and a secondary alias."""
        self.alias(
            name,
            primary,
            policy="failover",
            set="primary",
            failover="primary",
            health_check=health_check,
        )
        self.alias(name, secondary, policy="failover", set="secondary", failover="secondary")
        return self

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "records": list(self.records)}


class Scenario:
    """A scenario under construction; ``synth()`` writes it, ``run()`` runs it."""

    def __init__(
        self,
        name: str,
        *,
        world: str = "aws-world",
        duration: str = "1h",
        seed: int = 1,
        start: str | None = None,
        interval: str | None = None,
        warmup: str | None = None,
        description: str | None = None,
    ) -> None:
        self.top: dict[str, Any] = _clean(
            {
                "edgesim": 1,
                "name": name,
                "description": description,
                "world": world,
                "seed": seed,
                "start": start,
                "duration": duration,
                "interval": interval,
                "warmup": warmup,
            }
        )
        self._clients: list[dict[str, Any]] = []
        self._workloads: list[dict[str, Any]] = []
        self._endpoints: list[dict[str, Any]] = []
        self._buckets: list[dict[str, Any]] = []
        self._distributions: list[dict[str, Any]] = []
        self._accelerators: list[dict[str, Any]] = []
        self._zones: list[HostedZone] = []
        self._checks: list[dict[str, Any]] = []
        self._timeline: list[dict[str, Any]] = []
        self._assertions: list[str] = []

    # ---- services -----------------------------------------------------------------------------
    def endpoint(
        self,
        name: str,
        *,
        site: str,
        servers: int | None = None,
        service_time: str | None = None,
        compute: Lambda | Fleet | None = None,
        **extra: Any,
    ) -> Endpoint:
        """A server pool (or compute model) at a site; a bare Region code is ``region:…``."""
        site = site if ":" in site else f"region:{site}"
        self._endpoints.append(
            _clean(
                {
                    "name": name,
                    "site": site,
                    "servers": servers,
                    "service_time": service_time,
                    "compute": compute.spec() if compute is not None else None,
                    **extra,
                }
            )
        )
        return Endpoint(name, site)

    def bucket(self, name: str, *, region: str, transfer_acceleration: bool = False) -> Bucket:
        """An S3 bucket; it joins the ``s3:`` section when it has Transfer Acceleration or a
        workload targets it (``bucket.target``); as a CloudFront origin it needs neither."""
        b = Bucket(name, region, transfer_acceleration)
        if transfer_acceleration:
            self._buckets.append({"name": name, "region": region, "transfer_acceleration": True})
        return b

    def cloudfront(
        self,
        name: str,
        *,
        origins: Sequence[Origin],
        behaviors: Sequence[Behavior] = (),
        default_origin: str | Origin | None = None,
        cache_policy: str | Mapping[str, Any] | None = None,
        price_class: str | None = None,
        origin_shield: str | None = None,
        **extra: Any,
    ) -> Distribution:
        default = default_origin.name if isinstance(default_origin, Origin) else default_origin
        self._distributions.append(
            _clean(
                {
                    "name": name,
                    "price_class": price_class,
                    "origin_shield": origin_shield,
                    "origins": [o.spec() for o in origins],
                    "default_origin": default,
                    "cache_policy": dict(cache_policy)
                    if isinstance(cache_policy, Mapping)
                    else cache_policy,
                    "behaviors": [b.spec() for b in behaviors] or None,
                    **extra,
                }
            )
        )
        return Distribution(name)

    def accelerator(
        self,
        name: str,
        groups: Sequence[Endpoint] | Mapping[str, Sequence[Endpoint]],
        *,
        ports: Sequence[int | str] = (443,),
        client_affinity: str = "NONE",
        health_check: Mapping[str, Any] | None = None,
    ) -> Accelerator:
        """A standard accelerator with one TCP listener; endpoint groups by Region (a list of
        endpoints is grouped by their Regions)."""
        by_region: dict[str, list[Endpoint]] = {}
        if isinstance(groups, Mapping):
            by_region = {r: list(eps) for r, eps in groups.items()}
        else:
            for e in groups:
                by_region.setdefault(e.region, []).append(e)
        endpoint_groups = [
            _clean(
                {
                    "region": region,
                    "health_check": dict(health_check) if health_check else None,
                    "endpoints": [{"endpoint": e.target} for e in eps],
                }
            )
            for region, eps in by_region.items()
        ]
        self._accelerators.append(
            {
                "name": name,
                "listeners": [
                    {
                        "protocol": "TCP",
                        "port_ranges": list(ports),
                        "client_affinity": client_affinity,
                        "endpoint_groups": endpoint_groups,
                    }
                ],
            }
        )
        return Accelerator(name)

    def hosted_zone(self, name: str) -> HostedZone:
        zone = HostedZone(name)
        self._zones.append(zone)
        return zone

    def health_check(
        self,
        name: str,
        target: Endpoint,
        *,
        type: str = "https",
        interval: str | None = None,
        failure_threshold: int | None = None,
    ) -> HealthCheck:
        self._checks.append(
            _clean(
                {
                    "name": name,
                    "type": type,
                    "target": target.target,
                    "interval": interval,
                    "failure_threshold": failure_threshold,
                }
            )
        )
        return HealthCheck(name)

    # ---- users, events, checks ------------------------------------------------------------------
    def clients(
        self,
        name: str,
        *,
        metros: str | Sequence[str],
        requests_per_second: float,
        profile: str | None = None,
        **extra: Any,
    ) -> Scenario:
        self._clients.append(
            _clean(
                {
                    "name": name,
                    "metros": metros if isinstance(metros, str) else list(metros),
                    "requests_per_second": requests_per_second,
                    "profile": profile,
                    **extra,
                }
            )
        )
        return self

    def workload(
        self,
        name: str,
        *,
        host: str,
        target: Target | None = None,
        objects: int | Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> Scenario:
        """A workload; ``objects=10_000`` is a catalogue of that many objects."""
        catalogue = {"count": objects} if isinstance(objects, int) else objects
        self._workloads.append(
            _clean(
                {
                    "name": name,
                    "host": host,
                    "target": target_of(target) if target is not None else None,
                    "objects": dict(catalogue) if catalogue is not None else None,
                    **fields,
                }
            )
        )
        return self

    def at(self, when: str, *, note: str | None = None, **action: Any) -> Scenario:
        """A timeline event: ``app.at("20m", fail="region:us-east-1")``."""
        self._timeline.append(_clean({"at": when, **action, "note": note}))
        return self

    def assertion(self, *texts: str) -> Scenario:
        self._assertions.extend(texts)
        return self

    # ---- output ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.top)
        out["clients"] = list(self._clients)
        out["workloads"] = list(self._workloads)
        if self._endpoints:
            out["endpoints"] = list(self._endpoints)
        if self._buckets:
            out["s3"] = {"buckets": list(self._buckets)}
        if self._distributions:
            out["cloudfront"] = {"distributions": list(self._distributions)}
        if self._accelerators:
            out["accelerators"] = list(self._accelerators)
        if self._zones:
            r53: dict[str, Any] = {"zones": [z.spec() for z in self._zones]}
            if self._checks:
                r53["health_checks"] = list(self._checks)
            out["route53"] = r53
        if self._timeline:
            out["timeline"] = list(self._timeline)
        if self._assertions:
            out["assertions"] = list(self._assertions)
        return out

    def text(self, header: Sequence[str] = ()) -> str:
        return dump_scenario(self.to_dict(), list(header))

    def synth(
        self,
        path: str | Path | None = None,
        *,
        header: Sequence[str] = (),
        check: bool = True,
    ) -> str:
        """The scenario as YAML, validated (schema; with ``check``, every reference on the
        world too), and written to ``path`` if given."""
        text = self.text(header)
        name = str(path) if path is not None else "<synth>"
        scn, index, file = load_scenario_text(text, name)
        if check:
            base = Path(path).resolve().parent if path is not None else None
            prepare(scn, index, file, base_dir=base)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def run(self, *, seed: int | None = None) -> Results:
        """Synthesise in memory and run; the results as from ``run_scenario``."""
        scn, index, file = load_scenario_text(self.text(), f"<{self.top['name']}>")
        run = prepare(scn, index, file, seed=seed)
        run.execute(None)
        results = Results(run)
        results.report = build_report(results)
        return results


__all__ = [
    "Accelerator",
    "Behavior",
    "Bucket",
    "Distribution",
    "Endpoint",
    "Fleet",
    "HealthCheck",
    "HostedZone",
    "Lambda",
    "Origin",
    "Scenario",
    "Target",
]
