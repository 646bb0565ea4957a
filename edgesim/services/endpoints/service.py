"""Endpoints: the servers behind everything (origins, API back ends), with queueing.

An endpoint sits at a site (a region, Local Zone, Wavelength zone or Outpost), has a pool of
``servers`` and a service-time distribution, and answers requests after the network trip from
whoever calls it, the queueing delay of :mod:`edgesim.sim.queueing` and its service time.
An optional ``compute:`` block replaces the fixed ``servers`` with a compute model of
:mod:`edgesim.compute` (auto-scaled EC2 instances, an Elastic Beanstalk environment, ECS tasks on
EC2 or Fargate, or a Lambda function), and ``versions:`` with the ``deploy`` timeline action
shift traffic between versions CodeDeploy-style (docs/compute.md, docs/deployments.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import (
    BaseModel,
    ValidationError,
)

from edgesim.compute.deploy import (
    AlarmRule,
    DeployConfigError,
    Deployment,
    parse_config,
)
from edgesim.errors import InputError, Problem
from edgesim.services.base import Service, Target
from edgesim.services.endpoints.model import (
    DeployAlarmSpec,
    DeploySpec,
    EcsCompute,
    EndpointsConfig,
    EndpointSpec,
    LambdaCompute,
)
from edgesim.services.endpoints.target import EndpointTarget
from edgesim.sim.context import SimContext
from edgesim.topology.model import NodeKind

F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

SITE_KINDS = (NodeKind.REGION, NodeKind.LOCAL_ZONE, NodeKind.WAVELENGTH_ZONE, NodeKind.OUTPOST)


NS = 1_000_000_000
VERSION_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class Endpoints(Service):
    section: ClassVar[str] = "endpoints"
    summary: ClassVar[str] = "servers behind origins and APIs: site, servers, service time"
    config_model: ClassVar[type[BaseModel]] = EndpointsConfig
    order: ClassVar[int] = 10

    def __init__(self, config: BaseModel, ctx: SimContext) -> None:
        super().__init__(config, ctx)
        assert isinstance(config, EndpointsConfig)
        self.items: dict[str, EndpointTarget] = {}

        problems: list[Problem] = []
        for i, spec in enumerate(config.root):
            bad_az = [a for a in spec.azs if not any(a in r.azs for r in ctx.world.regions)]
            if bad_az:
                problems.append(
                    Problem(
                        f"unknown AZ '{bad_az[0]}'",
                        path=f"endpoints[{i}].azs",
                        expected="AZ ids of the world's regions, e.g. use1-az1",
                    )
                )
            if spec.name in self.items:
                problems.append(
                    Problem(
                        f"duplicate endpoint name '{spec.name}'",
                        path=f"endpoints[{i}].name",
                        expected="unique names",
                    )
                )
                continue
            try:
                site = ctx.world.resolve(spec.site, SITE_KINDS)
            except InputError as exc:
                problems.append(
                    Problem(
                        exc.problems[0].message,
                        path=f"endpoints[{i}].site",
                        expected="a region, Local Zone, Wavelength zone or Outpost",
                    )
                )
                continue
            if ctx.world.nodes[site].kind not in SITE_KINDS:
                problems.append(
                    Problem(
                        f"'{spec.site}' is not a place an endpoint can run",
                        path=f"endpoints[{i}].site",
                        expected="a region, Local Zone, Wavelength zone or Outpost",
                    )
                )
                continue
            rtt = self._check_compute(ctx, spec, site, f"endpoints[{i}].compute", problems)
            if rtt is None:
                continue
            self.items[spec.name] = EndpointTarget(spec, site, ctx, registry_rtt_ms=rtt)
        for i, spec in enumerate(config.root):
            target = self.items.get(spec.name)
            if target is None:
                continue
            for j, name in enumerate(spec.calls):
                callee = self.items.get(name.removeprefix("endpoint:"))
                if callee is None or callee is target:
                    problems.append(
                        Problem(
                            f"no other endpoint named '{name}'",
                            path=f"endpoints[{i}].calls[{j}]",
                            expected="one of: "
                            + ", ".join(sorted(n for n in self.items if n != spec.name)),
                        )
                    )
                    continue
                target.callees.append(callee)
        for i, spec in enumerate(config.root):
            if spec.name in self.items and self._cycle(self.items[spec.name]):
                problems.append(
                    Problem(
                        f"endpoint '{spec.name}' calls itself through its calls",
                        path=f"endpoints[{i}].calls",
                        expected="calls without cycles",
                    )
                )
        if problems:
            raise InputError(problems, file=ctx.file)

    @staticmethod
    def _check_compute(
        ctx: SimContext, spec: EndpointSpec, site: str, where: str, problems: list[Problem]
    ) -> float | None:
        """Site rules of the compute model; the round trip (ms) to an ECS image registry.
        None after a problem."""
        c = spec.compute
        kind = ctx.world.nodes[site].kind
        regional = isinstance(c, LambdaCompute | EcsCompute) and c.type in ("lambda", "fargate")
        if regional and c is not None and kind != NodeKind.REGION:
            problems.append(
                Problem(
                    f"{c.type} runs in Regions only, not at '{spec.site}'",
                    path=f"{where}.type",
                    expected="a region:… site, or ec2 / ecs-ec2 for zones and Outposts",
                )
            )
            return None
        if not isinstance(c, EcsCompute):
            return 0.0
        node = ctx.world.nodes[site]
        home = site if kind == NodeKind.REGION else f"region:{getattr(node, 'parent', '')}"
        reg = home if c.registry is None else f"region:{c.registry.removeprefix('region:')}"
        if reg not in ctx.world.nodes:
            problems.append(
                Problem(
                    f"no region '{c.registry}' for the image registry",
                    path=f"{where}.registry",
                    expected="a region id of the world, e.g. us-east-1",
                )
            )
            return None
        one_way = ctx.site_one_way_ms(np.array([ctx.idx(reg)], dtype=np.int32), ctx.idx(site))
        return float(2.0 * one_way[0]) if np.isfinite(one_way[0]) else 1000.0

    @staticmethod
    def _cycle(start: EndpointTarget) -> bool:
        stack, seen = list(start.callees), set()
        while stack:
            t = stack.pop()
            if t is start:
                return True
            if id(t) not in seen:
                seen.add(id(t))
                stack.extend(t.callees)
        return False

    def targets(self) -> dict[str, Target]:
        return {t.key: t for t in self.items.values()}

    def tick(self, now_ns: int) -> None:
        for t in self.items.values():
            t.end_chunk(self.ctx)
            if t.scaler is not None:
                t.scale(now_ns)

    def boundaries(self, duration_ns: int) -> list[int]:
        """Every 10 s when a compute model or versions are used: scaling periods and alarm
        periods (10 s, 30 s or whole minutes) then start and end on chunk edges."""
        if not any(t.compute is not None or t.spec.versions for t in self.items.values()):
            return []
        return list(range(10 * NS, duration_ns, 10 * NS))

    def begin(self, now_ns: int) -> None:
        for t in self.items.values():
            if t.scaler is not None and t.scaler.advance(now_ns):
                t._apply_capacity()
            dep = t.deployment
            if dep is None or dep.state != "in_progress":
                continue
            unhealthy = False
            if dep.check is not None:
                check = self._r53_checks().get(dep.check)
                unhealthy = check is not None and not bool(getattr(check, "healthy", True))
            what = dep.evaluate(now_ns, unhealthy)
            if what is None:
                continue
            detail = {"version": dep.to_version, "from": dep.from_version}
            self.ctx.log_event(now_ns, f"deploy_{what}", target=t.key, detail=detail)
            if what == "succeeded":
                t.current = dep.to_version
                t.deployment = None
            elif what == "rollback":
                t.deployment = None

    # ---- deployments -------------------------------------------------------------------
    actions: ClassVar[tuple[str, ...]] = ("deploy",)

    def _r53_checks(self) -> dict[str, Any]:
        for svc in self.ctx.services:
            checks = getattr(svc, "checks", None)
            if svc is not self and isinstance(checks, dict):
                return checks
        return {}

    def check_event(self, action: str, payload: Any) -> str | None:
        if action != "deploy":
            return None
        try:
            spec = DeploySpec.model_validate(payload)
        except ValidationError as exc:
            errs = exc.errors()
            # For `alarm`, report the branch the input was written for (a name or a mapping).
            alarm = payload.get("alarm") if isinstance(payload, dict) else None

            def member(x: object) -> bool:  # pydantic's name of a union member in a loc
                return x == "str" or "DeployAlarmSpec" in str(x)

            def other_branch(loc: tuple[int | str, ...]) -> bool:
                if len(loc) < 2 or loc[0] != "alarm" or not member(loc[1]):
                    return False
                return (loc[1] == "str") != isinstance(alarm, str)

            errs = [e for e in errs if not other_branch(e["loc"])] or errs
            err = errs[0]
            loc = [str(x) for x in err["loc"] if not member(x)]
            where = ".".join(loc)
            return (
                f"{where + ': ' if where else ''}{err['msg']}; deploy takes {{endpoint: NAME, "
                "version: NAME, config: Canary10Percent5Minutes, alarm: CHECK | {metric, above, "
                "periods, period}, rollback: true, bake: 0s}"
            )
        target = self.items.get(spec.endpoint.removeprefix("endpoint:"))
        if target is None:
            return f"no endpoint named '{spec.endpoint}'; expected one of: " + ", ".join(
                sorted(self.items)
            )
        if not target.spec.versions:
            return (
                f"endpoint '{target.spec.name}' has no versions to deploy; add "
                f"versions: {{{spec.version}: {{…}}}} to it"
            )
        if spec.version not in target.version_params:
            return f"endpoint '{target.spec.name}' has no version '{spec.version}'; expected " + (
                "one of: " + ", ".join(sorted(target.version_params))
            )
        try:
            parse_config(spec.config)
        except DeployConfigError as exc:
            return str(exc)
        if isinstance(spec.alarm, str) and spec.alarm not in self._r53_checks():
            known = sorted(self._r53_checks())
            return f"no Route 53 health check named '{spec.alarm}'" + (
                f"; expected one of: {', '.join(known)}" if known else " (no route53 section)"
            )
        return None

    def on_event(self, action: str, payload: Any, at_ns: int) -> None:
        if action != "deploy":
            return
        spec = DeploySpec.model_validate(payload)
        t = self.items[spec.endpoint.removeprefix("endpoint:")]
        dep = t.deployment
        if dep is not None and dep.state == "in_progress":
            self.ctx.log_event(
                at_ns, "deploy_refused", target=t.key, note="a deployment is in progress"
            )
            return
        if spec.version == t.current:
            self.ctx.log_event(
                at_ns, "deploy_refused", target=t.key, note=f"{spec.version} is already serving"
            )
            return
        rule = None
        if isinstance(spec.alarm, DeployAlarmSpec):
            rule = AlarmRule(
                spec.alarm.metric, spec.alarm.above, spec.alarm.periods, spec.alarm.period
            )
        t.deployment = Deployment(
            endpoint=t.spec.name,
            from_version=t.current,
            to_version=spec.version,
            shift=parse_config(spec.config),
            start_ns=at_ns,
            n_groups=len(self.ctx.groups),
            rollback=spec.rollback,
            bake_ns=spec.bake,
            rule=rule,
            check=spec.alarm if isinstance(spec.alarm, str) else None,
        )
        t.deployments.append(t.deployment)

    def fail(self, what: str, up: bool, at_ns: int) -> bool:
        if what.startswith("endpoint:") and what[9:] in self.items:
            self.items[what[9:]].up = up
            return True
        if what.startswith("az:"):
            hit = [t.set_az(what[3:], up) for t in self.items.values()]
            return any(hit)
        return False

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        names = self.ctx.group_names()
        for name, t in sorted(self.items.items()):
            entry: dict[str, Any] = {
                "site": t.site_key,
                "requests": t.requests,
                "errors": t.errors,
                "servers": t.spec.servers,
                "backlog": round(t.pool.backlog, 3),
            }
            if t.compute is not None:
                entry["servers"] = t.pool.servers if t.lam is None else t.compute.concurrency
                entry["compute"] = _compute_report(t)
            if t.spec.versions:
                entry["version"] = t.current
                base = t.version_params[t.spec.version].error_rate
                entry["deployments"] = [d.report(names, base) for d in t.deployments]
            out[name] = entry
        return out

    assertion_kinds: ClassVar[dict[str, str]] = {
        "cold_starts": "count",
        "throttles": "count",
        "exposure": "count",
        "rollbacks": "count",
    }

    def _named(self, endpoint: str) -> EndpointTarget:
        t = self.items.get(endpoint.removeprefix("endpoint:"))
        if t is None:
            raise KeyError(f"no endpoint '{endpoint}'")
        return t

    def assertion_metrics(self) -> dict[str, Callable[..., float]]:
        def cold_starts(endpoint: str) -> float:
            lam = self._named(endpoint).lam
            return float(lam.cold_starts) if lam is not None else 0.0

        def throttles(endpoint: str) -> float:
            lam = self._named(endpoint).lam
            return float(lam.throttled) if lam is not None else 0.0

        def exposure(endpoint: str, version: str | None = None, group: str | None = None) -> float:
            t = self._named(endpoint)
            if version is not None and version not in t.version_params:
                raise KeyError(f"endpoint '{t.spec.name}' has no version '{version}'")
            deps = [d for d in t.deployments if version is None or d.to_version == version]
            if group is None:
                return float(sum(d.requests for d in deps))
            names = self.ctx.group_names()
            sel = [i for i, n in enumerate(names) if n == group or n.endswith("/" + group)]
            return float(sum(int(d.group_requests[sel].sum()) for d in deps))

        def rollbacks(endpoint: str) -> float:
            return float(sum(d.state == "rolled_back" for d in self._named(endpoint).deployments))

        return {
            "cold_starts": cold_starts,
            "throttles": throttles,
            "exposure": exposure,
            "rollbacks": rollbacks,
        }


def _compute_report(t: EndpointTarget) -> dict[str, Any]:
    c = t.compute
    assert c is not None
    if t.lam is not None and isinstance(c, LambdaCompute):
        lam = t.lam
        return {
            "type": "lambda",
            "runtime": c.runtime,
            "memory_mb": c.memory,
            "concurrency_limit": c.concurrency,
            "cold_start_ms": round(t.cold_ms, 3),
            "cpu_factor": round(t.lambda_factor, 6),
            "cold_starts": lam.cold_starts,
            "throttled": lam.throttled,
            "timeouts": t.timeouts,
            "peak_concurrency": lam.peak_concurrency,
            "environments_at_end": lam.envs,
        }
    sc = t.scaler
    assert sc is not None
    out: dict[str, Any] = {
        "type": c.type,
        "units_at_start": getattr(c, "start_units", 0),
        "units_at_end": sc.in_service,
        "units_peak": sc.peak,
        "concurrency_per_unit": t.per_unit,
        "scale_delay_s": round(sc.delay_ns / NS, 3),
        "scaling": [
            {
                "at_s": e.at_ns / NS,
                "from": e.desired_from,
                "to": e.desired_to,
                "metric": round(e.metric, 6),
            }
            for e in sc.events
        ],
    }
    if t.task is not None:
        out["task_start"] = t.task.as_dict()
    return out


def _site_azs(ctx: SimContext, site: str) -> tuple[str, ...]:
    try:
        key = ctx.world.resolve(site, SITE_KINDS)
    except InputError:
        return ()
    node = ctx.world.nodes[key]
    region = ctx.world.nodes.get(f"region:{getattr(node, 'parent', '')}", node)
    return tuple(getattr(region, "azs", ()))


SERVICES = (Endpoints,)
