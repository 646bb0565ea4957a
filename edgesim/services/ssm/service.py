"""The Systems Manager service: managed fleets, maintenance windows and patching.

Each maintenance window occurrence (its schedule firing, or the ``run_maintenance_window``
timeline action) is an *execution*: its tasks run by priority (lower first, equal priorities
together, the next priority once the previous ones are done), none starting in the last
``cutoff`` of the window. A patch task runs AWS-RunPatchBaseline over the instances its targets
resolve to when it starts, under MaxConcurrency and MaxErrors (:mod:`.rate`). An instance is out
of service from the start of its invocation until its install and reboot are over: the
endpoint's capacity drops by its share (:meth:`EndpointTarget.set_servers_out`) and the queueing
model shows the cost. The report gives, per execution, each task's invocations and statuses,
the fleets' capacity over time and what the users of the patched endpoints saw, per client
group, against the same endpoints outside maintenance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from edgesim.compute.deploy import AlarmRule, Deployment
from edgesim.errors import InputError, Problem
from edgesim.services.base import Service
from edgesim.services.endpoints import EndpointTarget
from edgesim.services.endpoints.model import EcsCompute, LambdaCompute
from edgesim.services.ssm import schedule
from edgesim.services.ssm.config import (
    AppConfigApplication,
    FleetSpec,
    PatchTaskSpec,
    SendCommandSpec,
    SsmConfig,
    StrategySpec,
    WindowSpec,
)
from edgesim.services.ssm.deps import (
    TPS,
    AppConfigShift,
    ParameterReads,
    RegionQuota,
)
from edgesim.services.ssm.documents import (
    FOREIGN,
    DocumentContent,
    Step,
    check_document,
    resolve,
)
from edgesim.services.ssm.rate import (
    CANCELLED,
    FAILED,
    SUCCESS,
    TIMED_OUT,
    Invocation,
    RateControlled,
)
from edgesim.sim.batch import Batch, Outcome
from edgesim.sim.context import SimContext
from edgesim.sim.histogram import bucket_index, counts_len
from edgesim.sim.results import LatencyStats
from edgesim.topology.model import NodeKind
from edgesim.units import format_duration_ns, parse_duration_ns, parse_fraction

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
NS = 1_000_000_000
HOUR_NS = 3600 * NS
TICK_NS = 10 * NS
"""Fleet capacity follows the tasks at chunk boundaries, at least every 10 s."""
DEFAULT_START = datetime(2026, 1, 15, tzinfo=UTC)
PREDEFINED_STRATEGIES = {
    "AppConfig.AllAtOnce": ("LINEAR", 100.0, 0, 10),
    "AppConfig.Linear50PercentEvery30Seconds": ("LINEAR", 50.0, 1, 1),
    "AppConfig.Canary10Percent20Minutes": ("EXPONENTIAL", 10.0, 20, 10),
    "AppConfig.Linear20PercentEvery6Minutes": ("LINEAR", 20.0, 30, 30),
}
"""AppConfig's predefined strategies: growth type, factor (%), duration and bake (minutes)."""
INSTANCE_ACTIONS = ("edgesim:stopService", "edgesim:startService", "aws:sleep")


@dataclass
class Fleet:
    """The instances behind one endpoint."""

    name: str
    target: EndpointTarget
    region: str
    tags: dict[str, str]
    fixed: int | None
    """Instances of an endpoint without a compute model (its ``servers`` spread evenly)."""
    max_size: int
    out: set[int] = field(default_factory=set)
    capacity: list[tuple[int, int, int]] = field(default_factory=list)
    """(ns, instances in service, instances) at every change."""

    def size(self) -> int:
        if self.fixed is not None:
            return self.fixed
        sc = self.target.scaler
        return sc.in_service if sc is not None else 0

    def servers_for(self, instances: int) -> int:
        if self.fixed is not None:
            return round(self.target.spec.servers * instances / self.fixed)
        return instances * self.target.per_unit

    def apply(self, now_ns: int, out: set[int]) -> None:
        size = self.size()
        out = {i for i in out if i < size}
        if out == self.out and self.capacity:
            return
        self.out = out
        self.target.set_servers_out(self.servers_for(len(out)))
        entry = (now_ns, size - len(out), size)
        if not self.capacity or self.capacity[-1][1:] != entry[1:]:
            self.capacity.append(entry)


@dataclass
class TaskRun:
    spec: PatchTaskSpec
    fleets: list[Fleet]
    run: RateControlled | None = None
    where: list[tuple[Fleet, int]] = field(default_factory=list)
    status: str = "Pending"

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.spec.type, "status": self.status}
        rc = self.run
        if rc is None:
            return out
        status, details = rc.status()
        counts = rc.counts()
        out.update(
            {
                "status": status,
                "status_details": details,
                "started_s": rc.start_ns / NS,
                "ended_s": None if rc.done_ns is None else rc.done_ns / NS,
                "targets": len(rc.invocations),
                "max_concurrency": rc.concurrency,
                "max_errors": rc.max_errors,
                "stopped": rc.stopped,
                "patched": counts[SUCCESS],
                "failed": counts[FAILED],
                "timed_out": counts[TIMED_OUT],
                "cancelled": counts[CANCELLED],
                "invocations": [i.as_dict() for i in rc.invocations],
            }
        )
        return out


@dataclass
class Execution:
    """One opening of a maintenance window."""

    window: WindowSpec
    start_ns: int
    tasks: list[TaskRun]
    n_groups: int
    status: str = "IN_PROGRESS"
    finished_ns: int | None = None
    """When every task is over and every instance is back (None: not yet)."""
    level: int = 0
    settled: list[tuple[Fleet, int]] | None = None
    """Once over: the instances it leaves out of service (failed, ``out_of_service``)."""
    requests: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    errors: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    hist: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        self.requests = np.zeros(self.n_groups, dtype=np.int64)
        self.errors = np.zeros(self.n_groups, dtype=np.int64)
        self.hist = np.zeros((self.n_groups, counts_len()), dtype=np.int64)

    @property
    def end_ns(self) -> int:
        return self.start_ns + self.window.duration

    @property
    def cutoff_ns(self) -> int:
        return self.end_ns - self.window.cutoff

    @property
    def fleets(self) -> set[str]:
        return {f.name for t in self.tasks for f in t.fleets}

    def active_at(self, t_ns: I64) -> npt.NDArray[np.bool_]:
        end = self.finished_ns if self.finished_ns is not None else np.iinfo(np.int64).max
        out: npt.NDArray[np.bool_] = (t_ns >= self.start_ns) & (t_ns < end)
        return out


@dataclass
class ConfigDeployment:
    """An AppConfig deployment on one endpoint: its share of instances and its effect."""

    application: str
    environment: str
    profile: str
    strategy: str
    deployment: Deployment
    extra_ms: float
    error_rate: float
    rng: np.random.Generator

    def __call__(
        self, ctx: SimContext, batch: Batch, flow: Any, out: Outcome, served: npt.NDArray[np.bool_]
    ) -> tuple[F64, npt.NDArray[np.bool_]]:
        n = len(flow)
        dep = self.deployment
        extra = np.zeros(n)
        failed = np.zeros(n, dtype=bool)
        if not dep.active:
            if dep.state == "succeeded":
                extra[served] = self.extra_ms
                failed = served & (self.rng.random(n) < self.error_rate)
            return extra, failed
        new = served & (self.rng.random(n) < dep.share_at(flow.start_ns))
        extra[new] = self.extra_ms
        failed = new & (self.rng.random(n) < self.error_rate)
        dep.window(int(new.sum()), int(failed.sum()), extra[new])
        mine = new & (flow.start_ns >= ctx.warmup_ns)
        if mine.any():
            dep.record(batch.group[flow.idx[mine]], failed[mine])
        return extra, failed


@dataclass
class CommandRun:
    """One ``send_command``: a document over its targets under the rate controls."""

    document: str
    sent_ns: int
    steps: list[Step]
    rc: RateControlled
    where: list[tuple[Fleet, int]]
    out: dict[int, list[tuple[int, int | None]]] = field(default_factory=dict)
    """Invocation index → the intervals its instance is out of service ([start, end))."""
    effects: list[tuple[int, int, Fleet, Step]] = field(default_factory=list)
    """(ns, order, fleet, step) of endpoint-wide and other services' steps not yet applied."""
    seq: int = 0
    settled: list[tuple[Fleet, int]] | None = None
    """Once over: the instances it leaves out of service (stopped and never started)."""

    def report(self) -> dict[str, Any]:
        status, details = self.rc.status()
        return {
            "document": self.document,
            "sent_s": self.sent_ns / NS,
            "ended_s": None if self.rc.done_ns is None else self.rc.done_ns / NS,
            "status": status,
            "status_details": details,
            "targets": len(self.rc.invocations),
            "max_concurrency": self.rc.concurrency,
            "max_errors": self.rc.max_errors,
            "stopped": self.rc.stopped,
            "counts": {k: v for k, v in self.rc.counts().items() if v},
            "invocations": [i.as_dict() for i in self.rc.invocations],
        }


class SystemsManager(Service):
    section: ClassVar[str] = "ssm"
    summary: ClassVar[str] = "AWS Systems Manager: maintenance windows patching endpoint fleets"
    config_model: ClassVar[type[BaseModel]] = SsmConfig
    order: ClassVar[int] = 70
    actions: ClassVar[tuple[str, ...]] = (
        "run_maintenance_window",
        "send_command",
        "appconfig_deploy",
    )
    assertion_kinds: ClassVar[dict[str, str]] = {
        "patched": "count",
        "patch_failed": "count",
        "window_availability": "ratio",
        "window_p99": "duration",
        "throttled_reads": "count",
        "config_rollbacks": "count",
    }

    def __init__(self, config: BaseModel, ctx: SimContext) -> None:
        super().__init__(config, ctx)
        assert isinstance(config, SsmConfig)
        self.cfg = config
        problems: list[Problem] = []
        self.fleets: dict[str, Fleet] = {}
        self._fleets(config.fleets, problems)
        for key, t in sorted(ctx.targets.items()):  # EC2-backed compute: managed nodes as is
            c = t.spec.compute if isinstance(t, EndpointTarget) else None
            eligible = c is not None and c.type in ("ec2", "beanstalk", "ecs-ec2")
            if eligible and key[9:] not in self.fleets:
                self._add_fleet(key[9:], None, "ssm", problems)
        self.windows: dict[str, WindowSpec] = {}
        self.task_fleets: dict[tuple[str, str], list[Fleet]] = {}
        for i, w in enumerate(config.maintenance_windows):
            self._window(i, w, problems)
        self.documents: dict[str, DocumentContent] = {}
        for i, d in enumerate(config.documents):
            where = f"ssm.documents[{i}]"
            if d.name in self.documents:
                problems.append(
                    Problem(f"two documents are named '{d.name}'", path=f"{where}.name")
                )
            self.documents[d.name] = d.content
            for sub, msg in check_document(d.content):
                problems.append(Problem(msg, path=f"{where}.content.{sub}"))
        self.commands: list[CommandRun] = []
        self.quotas: dict[str, RegionQuota] = {}
        self.reads: dict[str, list[ParameterReads]] = {}
        self._deploy_seen: dict[str, int] = {}
        self._parameter_reads(config, problems)
        self.apps: dict[str, AppConfigApplication] = {}
        self.strategies: dict[str, StrategySpec] = {}
        self.configs: list[ConfigDeployment] = []
        self._appconfig(config, problems)
        if problems:
            raise InputError(problems, file=ctx.file)
        self.rng = ctx.rng("ssm")
        self.executions: list[Execution] = []
        self.scheduled: list[tuple[int, str]] = []
        n = len(ctx.groups)
        self.base_requests: dict[str, I64] = {}
        self.base_errors: dict[str, I64] = {}
        self.base_hist: dict[str, I64] = {}
        for name in self.fleets:
            self.base_requests[name] = np.zeros(n, dtype=np.int64)
            self.base_errors[name] = np.zeros(n, dtype=np.int64)
            self.base_hist[name] = np.zeros((n, counts_len()), dtype=np.int64)

    # ---- building ----------------------------------------------------------------------
    def _endpoint(self, name: str) -> EndpointTarget | None:
        t = self.ctx.targets.get("endpoint:" + name.removeprefix("endpoint:"))
        return t if isinstance(t, EndpointTarget) else None

    def _region(self, t: EndpointTarget) -> str:
        node = self.ctx.world.nodes[t.site_key]
        if node.kind == NodeKind.REGION:
            return t.site_key.removeprefix("region:")
        return str(getattr(node, "parent", ""))

    def _add_fleet(
        self, name: str, spec: FleetSpec | None, where: str, problems: list[Problem]
    ) -> Fleet | None:
        t = self._endpoint(name)
        if t is None:
            known = sorted(k[9:] for k in self.ctx.targets if k.startswith("endpoint:"))
            problems.append(
                Problem(
                    f"no endpoint named '{name}'",
                    path=where,
                    expected="one of: " + ", ".join(known) if known else "an endpoints: entry",
                )
            )
            return None
        c = t.spec.compute
        if isinstance(c, LambdaCompute) or (isinstance(c, EcsCompute) and c.type == "fargate"):
            problems.append(
                Problem(
                    f"endpoint '{t.spec.name}' runs on {c.type}: AWS manages its hosts, there are "
                    "no instances to patch or run commands on",
                    path=where,
                    expected="an endpoint with servers, or compute ec2, beanstalk or ecs-ec2",
                )
            )
            return None
        instances = spec.instances if spec is not None else None
        if c is None and instances is None:
            problems.append(
                Problem(
                    f"endpoint '{t.spec.name}' has a fixed pool of {t.spec.servers} servers: say "
                    "how many instances they run on",
                    path=where,
                    expected=f"an ssm.fleets entry {{endpoint: {t.spec.name}, instances: N}}",
                )
            )
            return None
        if c is not None and instances is not None:
            problems.append(
                Problem(
                    f"endpoint '{t.spec.name}' has a compute model: its instances are its units",
                    path=where.rsplit(".", 1)[0] + ".instances" if spec is not None else where,
                    expected="no instances: for compute endpoints",
                )
            )
            return None
        if c is not None:
            max_size = c.max if getattr(c, "autoscaling", False) else c.start_units
        else:
            assert instances is not None
            max_size = instances
        fleet = Fleet(
            name=t.spec.name,
            target=t,
            region=self._region(t),
            tags=dict(spec.tags) if spec is not None else {},
            fixed=instances if c is None else None,
            max_size=max_size,
        )
        self.fleets[t.spec.name] = fleet
        return fleet

    def _fleets(self, specs: list[FleetSpec], problems: list[Problem]) -> None:
        for i, spec in enumerate(specs):
            name = spec.endpoint.removeprefix("endpoint:")
            if name in self.fleets:
                problems.append(
                    Problem(
                        f"endpoint '{name}' has two fleets entries",
                        path=f"ssm.fleets[{i}].endpoint",
                        expected="one entry per endpoint",
                    )
                )
                continue
            self._add_fleet(name, spec, f"ssm.fleets[{i}].endpoint", problems)

    def resolve_targets(
        self, targets: list[str], where: str, problems: list[Problem]
    ) -> list[Fleet]:
        """Fleets selected by ``endpoint:NAME``, ``region:ID`` or ``tag:Key=Value``."""
        out: list[Fleet] = []
        for j, text in enumerate(targets):
            path = f"{where}[{j}]"
            kind, sep, value = text.partition(":")
            found: list[Fleet] = []
            if kind == "region":
                found = [f for f in self.fleets.values() if f.region == value]
                if f"region:{value}" not in self.ctx.world.nodes:
                    problems.append(Problem(f"no region '{value}'", path=path))
                    continue
            elif kind == "tag":
                key, eq, val = value.partition("=")
                if not eq:
                    problems.append(
                        Problem(f"cannot read '{text}'", path=path, expected="tag:Key=Value")
                    )
                    continue
                found = [f for f in self.fleets.values() if f.tags.get(key) == val]
            elif kind == "endpoint" or not sep:
                name = value if kind == "endpoint" else text
                fleet = self.fleets.get(name) or self._add_fleet(name, None, path, problems)
                if fleet is None:
                    continue
                found = [fleet]
            else:
                problems.append(
                    Problem(
                        f"cannot read target '{text}'",
                        path=path,
                        expected="endpoint:NAME, region:ID or tag:Key=Value",
                    )
                )
                continue
            if not found:
                problems.append(
                    Problem(
                        f"target '{text}' selects no fleet",
                        path=path,
                        expected="fleets: " + ", ".join(sorted(self.fleets))
                        if self.fleets
                        else "an endpoint with instances",
                    )
                )
            out.extend(f for f in found if f not in out)
        return out

    def _window(self, i: int, w: WindowSpec, problems: list[Problem]) -> None:
        where = f"ssm.maintenance_windows[{i}]"
        if w.name in self.windows:
            problems.append(Problem(f"two windows are named '{w.name}'", path=f"{where}.name"))
            return
        self.windows[w.name] = w
        if not HOUR_NS <= w.duration <= 24 * HOUR_NS:
            problems.append(
                Problem(
                    f"duration {format_duration_ns(w.duration)} is outside Systems Manager's range",
                    path=f"{where}.duration",
                    expected="1h to 24h",
                )
            )
        if w.cutoff > 23 * HOUR_NS:
            problems.append(
                Problem(
                    f"cutoff {format_duration_ns(w.cutoff)} is above Systems Manager's 23h",
                    path=f"{where}.cutoff",
                    expected="0h to 23h",
                )
            )
        if w.cutoff >= w.duration:
            problems.append(
                Problem(
                    f"the window's duration ({format_duration_ns(w.duration)}) is not longer than "
                    f"its cutoff ({format_duration_ns(w.cutoff)}): no task could ever start",
                    path=f"{where}.cutoff",
                    expected=f"a cutoff shorter than {format_duration_ns(w.duration)}",
                )
            )
        if w.schedule is not None:
            try:
                schedule.zone(w.timezone)
                schedule.check(w.schedule, w.timezone)
            except schedule.ScheduleError as exc:
                field_name = "timezone" if "time zone" in str(exc) else "schedule"
                problems.append(Problem(str(exc), path=f"{where}.{field_name}"))
        names: set[str] = set()
        for k, task in enumerate(w.tasks):
            tw = f"{where}.tasks[{k}]"
            if task.name in names:
                problems.append(Problem(f"two tasks are named '{task.name}'", path=f"{tw}.name"))
            names.add(task.name)
            before = len(problems)
            fleets = self.resolve_targets(task.targets, f"{tw}.targets", problems)
            self.task_fleets[(w.name, task.name)] = fleets
            if len(problems) > before or not fleets:
                continue
            total = sum(f.max_size for f in fleets)
            mc = task.max_concurrency
            if not mc.percent and mc.value > total:
                problems.append(
                    Problem(
                        f"max_concurrency {mc.value} is above the {total} instances the task "
                        "targets",
                        path=f"{tw}.max_concurrency",
                        expected=f"1 to {total}, or a percentage",
                    )
                )

    def _parameter_reads(self, config: SsmConfig, problems: list[Problem]) -> None:
        ps = config.parameter_store
        if ps is None:
            return
        defined = {p.name: p for p in ps.parameters}
        tps = ps.settings.tps or TPS[ps.settings.throughput]
        for i, spec in enumerate(ps.reads):
            where = f"ssm.parameter_store.reads[{i}]"
            t = self._endpoint(spec.endpoint)
            if t is None:
                problems.append(
                    Problem(f"no endpoint named '{spec.endpoint}'", path=f"{where}.endpoint")
                )
                continue
            region = (spec.region or self._region(t)).removeprefix("region:")
            if f"region:{region}" not in self.ctx.world.nodes:
                problems.append(Problem(f"no region '{region}'", path=f"{where}.region"))
                continue
            for j, name in enumerate(spec.parameters):
                p = defined.get(name)
                if p is None:
                    problems.append(
                        Problem(
                            f"parameter '{name}' is read by endpoint '{t.spec.name}' but never "
                            "defined",
                            path=f"{where}.parameters[{j}]",
                            expected="a name from ssm.parameter_store.parameters: "
                            + (", ".join(sorted(defined)) or "(none)"),
                        )
                    )
                elif p.regions and region not in p.regions:
                    problems.append(
                        Problem(
                            f"parameter '{name}' is not in {region} (only "
                            + ", ".join(p.regions)
                            + ")",
                            path=f"{where}.parameters[{j}]",
                        )
                    )
            fleet = self.fleets.get(t.spec.name)
            caches = fleet.size() if fleet is not None else 1
            quota = self.quotas.setdefault(region, RegionQuota(tps))
            reader = ParameterReads(
                endpoint=t.spec.name,
                site=t.site,
                region=region,
                region_node=self.ctx.idx(f"region:{region}"),
                parameters=len(spec.parameters),
                ttl_ns=spec.cache_ttl,
                caches=max(caches, 1),
                quota=quota,
                service_time=ps.settings.service_time,
                rng=self.ctx.rng(f"ssm:parameters:{t.spec.name}"),
            )
            self.reads.setdefault(t.spec.name, []).append(reader)
            t.dependencies.append(reader)

    def _appconfig(self, config: SsmConfig, problems: list[Problem]) -> None:
        ac = config.appconfig
        if ac is None:
            return
        for i, app in enumerate(ac.applications):
            self.apps[app.name] = app
            for j, name in enumerate(app.endpoints):
                if self._endpoint(name) is None:
                    problems.append(
                        Problem(
                            f"no endpoint named '{name}'",
                            path=f"ssm.appconfig.applications[{i}].endpoints[{j}]",
                        )
                    )
        for i, st in enumerate(ac.strategies):
            if st.deployment_duration > 24 * HOUR_NS:
                problems.append(
                    Problem(
                        "deployment_duration is above AppConfig's 24h",
                        path=f"ssm.appconfig.strategies[{i}].deployment_duration",
                    )
                )
            self.strategies[st.name] = st

    def _strategy(self, name: str) -> StrategySpec | None:
        st = self.strategies.get(name)
        if st is not None:
            return st
        pre = PREDEFINED_STRATEGIES.get(name)
        if pre is None:
            return None
        kind, g, minutes, bake = pre
        return StrategySpec(
            name=name.replace("AppConfig.", ""),
            growth_type=kind,
            growth_factor=g,
            deployment_duration=f"{minutes}m",
            final_bake_time=f"{bake}m",
        )

    def _check_appconfig(self, payload: Any) -> str | None:
        if not isinstance(payload, dict):
            return "appconfig_deploy takes {application, environment, profile, strategy, effect}"
        allowed = {"application", "environment", "profile", "strategy", "effect", "alarm"}
        extra = sorted(set(payload) - allowed)
        if extra:
            return f"appconfig_deploy takes no '{extra[0]}'; it takes: " + ", ".join(
                sorted(allowed)
            )
        app = self.apps.get(str(payload.get("application")))
        if app is None:
            return f"no AppConfig application '{payload.get('application')}'; expected one of: " + (
                ", ".join(sorted(self.apps)) or "(none: add ssm.appconfig.applications)"
            )
        for key, pool in (("environment", app.environments), ("profile", app.profiles)):
            if payload.get(key) not in pool:
                return f"application '{app.name}' has no {key} '{payload.get(key)}'; expected " + (
                    "one of: " + ", ".join(pool)
                )
        if self._strategy(str(payload.get("strategy"))) is None:
            return (
                f"no deployment strategy '{payload.get('strategy')}'; expected one of: "
                + ", ".join(sorted({*self.strategies, *PREDEFINED_STRATEGIES}))
            )
        try:
            self._effect_of(payload)
            self._alarm_of(payload)
        except (ValueError, TypeError, KeyError) as exc:
            return str(exc)
        return None

    @staticmethod
    def _effect_of(payload: dict[str, Any]) -> tuple[float, float]:
        eff = payload.get("effect") or {}
        if not isinstance(eff, dict) or set(eff) - {"extra_latency", "error_rate"}:
            raise ValueError("effect takes {extra_latency: 20ms, error_rate: 1%}")
        ms = parse_duration_ns(str(eff.get("extra_latency", "0s"))) / 1e6
        return ms, parse_fraction(eff.get("error_rate", 0.0))

    @staticmethod
    def _alarm_of(payload: dict[str, Any]) -> AlarmRule | None:
        from edgesim.services.endpoints.model import DeployAlarmSpec

        alarm = payload.get("alarm")
        if alarm is None:
            return None
        try:
            spec = DeployAlarmSpec.model_validate(alarm)
        except Exception as exc:  # pydantic's ValidationError, as one line
            raise ValueError(
                "alarm takes {metric: error_rate | p99_ms, above, periods, period}"
            ) from exc
        return AlarmRule(spec.metric, spec.above, spec.periods, spec.period)

    def _deploy_config(self, payload: dict[str, Any], at_ns: int) -> None:
        app = self.apps[str(payload["application"])]
        st = self._strategy(str(payload["strategy"]))
        assert st is not None
        ms, rate = self._effect_of(payload)
        for name in app.endpoints:
            t = self._endpoint(name)
            assert t is not None
            dep = Deployment(
                endpoint=t.spec.name,
                from_version=f"{payload['profile']} (current)",
                to_version=f"{payload['profile']} (new)",
                shift=AppConfigShift(
                    st.name, st.growth_type, st.growth_factor, st.deployment_duration
                ),
                start_ns=at_ns,
                n_groups=len(self.ctx.groups),
                rollback=True,
                bake_ns=st.final_bake_time,
                rule=self._alarm_of(payload),
            )
            cd = ConfigDeployment(
                app.name,
                str(payload["environment"]),
                str(payload["profile"]),
                st.name,
                dep,
                ms,
                rate,
                self.ctx.rng(f"ssm:appconfig:{t.spec.name}:{len(self.configs)}"),
            )
            for old in self.configs:  # the new configuration replaces an earlier one
                if old.deployment.endpoint == t.spec.name and old in t.dependencies:
                    t.dependencies.remove(old)
            self.configs.append(cd)
            t.dependencies.append(cd)

    # ---- running -----------------------------------------------------------------------
    def boundaries(self, duration_ns: int) -> list[int]:
        start = self.ctx.start_utc or DEFAULT_START
        self.scheduled = []
        for w in self.cfg.maintenance_windows:
            if w.schedule is not None:
                for off in schedule.occurrences(w.schedule, start, duration_ns, w.timezone):
                    self.scheduled.append((off, w.name))
        self.scheduled.sort()
        active = self.cfg.maintenance_windows or self.cfg.documents or self.reads or self.apps
        if not active:
            return []
        grid = set(range(TICK_NS, duration_ns, TICK_NS))
        grid.update(t for t, _ in self.scheduled if t > 0)
        return sorted(grid)

    def check_event(self, action: str, payload: Any) -> str | None:
        if action == "send_command":
            return self._check_command(payload)
        if action == "appconfig_deploy":
            return self._check_appconfig(payload)
        name = payload.get("window") if isinstance(payload, dict) else payload
        if not isinstance(name, str) or (isinstance(payload, dict) and set(payload) - {"window"}):
            return "run_maintenance_window takes a window name, or {window: NAME}"
        if name not in self.windows:
            return f"no maintenance window named '{name}'; expected one of: " + (
                ", ".join(sorted(self.windows)) or "(none: add ssm.maintenance_windows)"
            )
        return None

    def _check_command(self, payload: Any) -> str | None:
        from pydantic import ValidationError

        try:
            spec = SendCommandSpec.model_validate(payload)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err["loc"])
            return (
                f"{where + ': ' if where else ''}{err['msg']}; send_command takes {{document: NAME,"
                " targets: [endpoint:…, region:…, tag:K=V], parameters: {…}, max_concurrency: "
                "10%, max_errors: 0, timeout: 1h, failure_rate: 0%}"
            )
        doc = self.documents.get(spec.document)
        if doc is None:
            return f"no document named '{spec.document}'; expected one of: " + (
                ", ".join(sorted(self.documents)) or "(none: add ssm.documents)"
            )
        try:
            steps = resolve(doc, spec.parameters)
        except ValueError as exc:
            return str(exc)
        problems: list[Problem] = []
        fleets = self.resolve_targets(spec.targets, "targets", problems)
        if problems:
            return f"{problems[0].path}: {problems[0].message}"
        total = sum(f.max_size for f in fleets)
        mc = spec.max_concurrency
        if "max_concurrency" in spec.model_fields_set and not mc.percent and mc.value > total:
            return f"max_concurrency {mc.value} is above the {total} instances the targets select"
        for step in steps:
            foreign = FOREIGN.get(step.action)
            if foreign is None:
                continue
            svc = next((x for x in self.ctx.services if foreign in x.actions), None)
            if svc is None:
                return (
                    f"step '{step.name}' ({step.action}) needs the service that handles {foreign}"
                )
            msg = svc.check_event(foreign, dict(step.inputs))
            if msg:
                return f"step '{step.name}': {msg}"
        return None

    def on_event(self, action: str, payload: Any, at_ns: int) -> None:
        if action == "send_command":
            self._send(SendCommandSpec.model_validate(payload), at_ns)
        elif action == "appconfig_deploy":
            self._deploy_config(payload, at_ns)
        else:
            name = payload.get("window") if isinstance(payload, dict) else payload
            self._open(self.windows[str(name)], at_ns)
        self.begin(at_ns)

    def _send(self, spec: SendCommandSpec, at_ns: int) -> None:
        steps = resolve(self.documents[spec.document], spec.parameters)
        fleets = self.resolve_targets(spec.targets, "targets", [])
        where = [(f, i) for f in fleets for i in range(f.size())]
        invs = [Invocation(f"{f.name}/i-{i:03d}") for f, i in where]
        index = {id(inv): k for k, inv in enumerate(invs)}
        rng = self.ctx.rng(f"ssm:command:{len(self.commands)}:{at_ns}")
        n = len(invs)
        cmd: CommandRun

        def draw(inv: Invocation, t: int) -> tuple[int, str, int | None]:
            k = index[id(inv)]
            fails = bool(rng.random() < spec.failure_rate)
            if fails:
                return steps[0].duration_ns, FAILED, 0
            limit = t + spec.timeout
            intervals: list[tuple[int, int | None]] = []
            down: int | None = None
            for step in steps:
                if t >= limit:
                    break
                d = step.duration_ns
                if step.action == "edgesim:stopService" and down is None:
                    down = t
                elif step.action == "edgesim:startService" and down is not None:
                    intervals.append((down, t))
                    down = None
                elif step.action == "edgesim:restart":
                    intervals.append((t if down is None else down, t + d))
                    down = None
                elif step.action not in (
                    "edgesim:stopService",
                    "edgesim:startService",
                    "aws:sleep",
                ):
                    cmd.seq += 1
                    cmd.effects.append((t, cmd.seq, where[k][0], step))
                t += d
            if down is not None:
                intervals.append((down, None))
            cmd.out[k] = intervals
            run = sum(s.duration_ns for s in steps)
            if run > spec.timeout:
                return spec.timeout, TIMED_OUT, run
            return run, SUCCESS, run

        rc = RateControlled(
            invocations=invs,
            concurrency=spec.max_concurrency.concurrency(n),
            max_errors=spec.max_errors.of(n),
            start_ns=at_ns,
            draw=draw,
        )
        cmd = CommandRun(spec.document, at_ns, steps, rc, where)
        self.commands.append(cmd)

    def _effect(self, t: int, fleet: Fleet, step: Step) -> None:
        target = fleet.target
        a = step.action
        if a in ("edgesim:failEndpoint", "edgesim:recoverEndpoint"):
            up = a == "edgesim:recoverEndpoint"
            for svc in self.ctx.services:
                if svc.fail(target.key, up, t):
                    break
        elif a == "edgesim:degradeEndpoint":
            target.extra_latency_ms = (
                parse_duration_ns(str(step.inputs.get("extra_latency", "0s"))) / 1e6
            )
            target.extra_error_rate = parse_fraction(step.inputs.get("error_rate", 0.0))
        elif a == "edgesim:restoreEndpoint":
            target.extra_latency_ms = 0.0
            target.extra_error_rate = 0.0
        elif a in FOREIGN:
            action = FOREIGN[a]
            for svc in self.ctx.services:
                if action in svc.actions:
                    svc.on_event(action, dict(step.inputs), t)
        self.ctx.log_event(t, "command_step", target=target.key, step=step.name, action=a)

    def _open(self, w: WindowSpec, at_ns: int) -> None:
        running = [e for e in self.executions if e.window.name == w.name and e.finished_ns is None]
        tasks = [TaskRun(t, self.task_fleets[(w.name, t.name)]) for t in w.tasks]
        ex = Execution(w, at_ns, tasks, len(self.ctx.groups))
        if running:  # AWS: an occurrence while the previous one runs is skipped
            ex.status = "SKIPPED_OVERLAPPING"
            ex.finished_ns = at_ns
            for t in tasks:
                t.status = CANCELLED
            self.ctx.log_event(at_ns, "maintenance_window_skipped", window=w.name)
        else:
            self.ctx.log_event(at_ns, "maintenance_window_open", window=w.name)
        self.executions.append(ex)

    def _start_task(self, ex: Execution, task: TaskRun, t: int) -> None:
        invs: list[Invocation] = []
        task.where = []
        for f in task.fleets:
            for i in range(f.size()):
                invs.append(Invocation(f"{f.name}/i-{i:03d}"))
                task.where.append((f, i))
        n = len(invs)
        spec = task.spec
        rng = self.ctx.rng(f"ssm:{ex.window.name}:{spec.name}:{ex.start_ns}")

        def draw(inv: Invocation, _t: int) -> tuple[int, str, int | None]:
            install = int(spec.install_time.sample(rng, 1)[0])
            reboot = int(spec.reboot_time.sample(rng, 1)[0])
            fails = bool(rng.random() < spec.failure_rate)
            if fails:
                run, outcome = install, FAILED
                back: int | None = install if spec.on_failure == "back_in_service" else None
            else:
                run = install + (reboot if spec.reboot_option == "RebootIfNeeded" else 0)
                outcome, back = SUCCESS, run
            if run > spec.timeout:
                return spec.timeout, TIMED_OUT, back
            return run, outcome, back

        task.run = RateControlled(
            invocations=invs,
            concurrency=spec.max_concurrency.concurrency(n),
            max_errors=spec.max_errors.of(n),
            start_ns=t,
            draw=draw,
            cancel_ns=ex.cutoff_ns if spec.cutoff_behavior == "CANCEL_TASK" else None,
        )
        task.status = "IN_PROGRESS"
        self.ctx.log_event(
            t, "maintenance_task_start", window=ex.window.name, task=spec.name, targets=n
        )

    def _advance(self, ex: Execution, now_ns: int) -> None:
        levels = sorted({t.spec.priority for t in ex.tasks})
        t_start = ex.start_ns
        while ex.level < len(levels):
            group = [t for t in ex.tasks if t.spec.priority == levels[ex.level]]
            for task in group:
                if task.run is None and task.status == "Pending":
                    if t_start >= ex.cutoff_ns:
                        task.status = CANCELLED  # AWS: no task starts after the cutoff
                    elif t_start <= now_ns:
                        self._start_task(ex, task, t_start)
                if task.run is not None:
                    task.run.advance(now_ns)
                    if task.run.done:
                        task.status = task.run.status()[0]
            if any(t.status == "Pending" for t in group):
                return
            if not all(t.run is None or t.run.done for t in group):
                return
            ends = [t.run.done_ns for t in group if t.run is not None and t.run.done_ns]
            t_start = max([t_start, *ends])
            ex.level += 1
        backs = [
            inv.back_ns
            for t in ex.tasks
            if t.run is not None
            for inv in t.run.invocations
            if inv.back_ns is not None and inv.start_ns is not None
        ]
        last = max([t_start, *backs])
        if last > now_ns:
            return
        statuses = {t.status for t in ex.tasks}
        if FAILED in statuses:
            ex.status = "FAILED"
        elif TIMED_OUT in statuses or CANCELLED in statuses:
            ex.status = "TIMED_OUT"
        else:
            ex.status = "SUCCESS"
        ex.finished_ns = last
        self.ctx.log_event(last, "maintenance_window_done", window=ex.window.name, status=ex.status)

    def begin(self, now_ns: int) -> None:
        while self.scheduled and self.scheduled[0][0] <= now_ns:
            at, name = self.scheduled.pop(0)
            self._open(self.windows[name], at)
        for ex in self.executions:
            if ex.status in ("IN_PROGRESS",):
                self._advance(ex, now_ns)
        for cmd in self.commands:
            cmd.rc.advance(now_ns)
            due = sorted((e for e in cmd.effects if e[0] <= now_ns), key=lambda e: (e[0], e[1]))
            if due:
                cmd.effects = [e for e in cmd.effects if e[0] > now_ns]
                for t, _, fleet, step in due:
                    self._effect(t, fleet, step)
        out: dict[str, set[int]] = {name: set() for name in self.fleets}
        for cmd in self.commands:
            if cmd.settled is not None:  # over: only instances left out of service matter
                for f, i in cmd.settled:
                    out[f.name].add(i)
                continue
            for k, intervals in cmd.out.items():
                f, i = cmd.where[k]
                if any(a <= now_ns and (b is None or now_ns < b) for a, b in intervals):
                    out[f.name].add(i)
            ends = [b for iv in cmd.out.values() for _, b in iv if b is not None]
            if cmd.rc.done and all(b <= now_ns for b in ends) and not cmd.effects:
                cmd.settled = [
                    cmd.where[k] for k, iv in cmd.out.items() if any(b is None for _, b in iv)
                ]
        for ex in self.executions:
            if ex.settled is not None:
                for f, i in ex.settled:
                    out[f.name].add(i)
                continue
            stuck: list[tuple[Fleet, int]] = []
            for task in ex.tasks:
                rc = task.run
                if rc is None:
                    continue
                for inv, (f, i) in zip(rc.invocations, task.where, strict=True):
                    if inv.start_ns is None or inv.start_ns > now_ns:
                        continue
                    if inv.back_ns is None or now_ns < inv.back_ns:
                        out[f.name].add(i)
                    if inv.back_ns is None:
                        stuck.append((f, i))
            if ex.finished_ns is not None and ex.finished_ns <= now_ns:
                ex.settled = stuck
        for name, fleet in self.fleets.items():
            back = sorted(fleet.out - out[name])
            if back:  # an instance back from patching or a restart starts with a cold cache
                for reader in self.reads.get(name, ()):
                    reader.cold(back)
            fleet.apply(now_ns, out[name])
        for name, readers in self.reads.items():
            ep = self._endpoint(name)
            n_dep = len(ep.deployments) if ep is not None else 0
            if n_dep != self._deploy_seen.get(name, 0):  # a deployment starts: cold caches
                self._deploy_seen[name] = n_dep
                for reader in readers:
                    reader.cold()
        for cd in self.configs:
            what = cd.deployment.evaluate(now_ns, False)
            if what is not None:
                self.ctx.log_event(
                    now_ns,
                    f"appconfig_{what}",
                    application=cd.application,
                    profile=cd.profile,
                    target=f"endpoint:{cd.deployment.endpoint}",
                )

    def tick(self, now_ns: int) -> None:
        pass

    # ---- what users saw ----------------------------------------------------------------
    def observe(self, batch: Batch, out: Outcome, total_ms: F64) -> None:
        if not self.fleets:
            return
        counted = batch.t_ns >= self.ctx.warmup_ns
        if not counted.any():
            return
        buckets = counts_len()
        for name in self.fleets:
            a = out.hop_ms.get(f"→{name}")
            b = out.hop_ms.get(f"{name} (queue+service)")
            if a is None and b is None:
                continue
            touched = np.zeros(len(batch), dtype=bool)
            for arr in (a, b):
                if arr is not None:
                    touched |= arr > 0
            touched &= counted
            if not touched.any():
                continue
            free = touched.copy()
            for ex in self.executions:
                if ex.status == "SKIPPED_OVERLAPPING" or name not in ex.fleets:
                    continue
                if ex.finished_ns is not None and ex.finished_ns <= int(batch.t_ns[0]):
                    continue
                mine = touched & ex.active_at(batch.t_ns)
                if mine.any():
                    free &= ~mine
                    self._record(
                        ex.requests, ex.errors, ex.hist, batch, out, total_ms, mine, buckets
                    )
            if free.any():
                self._record(
                    self.base_requests[name],
                    self.base_errors[name],
                    self.base_hist[name],
                    batch,
                    out,
                    total_ms,
                    free,
                    buckets,
                )

    @staticmethod
    def _record(
        requests: I64,
        errors: I64,
        hist: I64,
        batch: Batch,
        out: Outcome,
        total_ms: F64,
        mask: npt.NDArray[np.bool_],
        buckets: int,
    ) -> None:
        n = len(requests)
        g = batch.group[mask].astype(np.int64)
        requests += np.bincount(g, minlength=n)[:n]
        bad = ~out.ok[mask]
        if bad.any():
            errors += np.bincount(g[bad], minlength=n)[:n]
        good = ~bad
        if good.any():
            idx = g[good] * buckets + bucket_index(np.round(total_ms[mask][good] * 1000.0))
            hist += np.bincount(idx, minlength=n * buckets)[: n * buckets].reshape(n, buckets)

    # ---- report ------------------------------------------------------------------------
    def _users(self, ex: Execution) -> dict[str, Any]:
        names = self.ctx.group_names()
        base_r = sum(self.base_requests[f] for f in sorted(ex.fleets))
        base_e = sum(self.base_errors[f] for f in sorted(ex.fleets))
        base_h = sum(self.base_hist[f] for f in sorted(ex.fleets))
        assert isinstance(base_r, np.ndarray)
        assert isinstance(base_e, np.ndarray)
        assert isinstance(base_h, np.ndarray)
        groups: dict[str, Any] = {}
        for g in np.argsort(-ex.requests, kind="stable"):
            req = int(ex.requests[g])
            if req == 0:
                continue
            err = int(ex.errors[g])
            stats = LatencyStats.from_counts(ex.hist[g])
            base = LatencyStats.from_counts(base_h[g])
            b_req = int(base_r[g])
            b_rate = int(base_e[g]) / b_req if b_req else 0.0
            groups[names[int(g)]] = {
                "requests": req,
                "errors": err,
                "extra_errors": round(max(err - req * b_rate, 0.0), 3),
                "p50_ms": stats.p50,
                "p99_ms": stats.p99,
                "baseline_p99_ms": base.p99 if base.count else None,
                "extra_p99_ms": round(stats.p99 - base.p99, 3) if base.count else None,
            }
        req = int(ex.requests.sum())
        err = int(ex.errors.sum())
        b_req = int(base_r.sum())
        return {
            "requests": req,
            "errors": err,
            "availability": round(1 - err / req, 6) if req else 1.0,
            "latency_ms": LatencyStats.from_counts(ex.hist.sum(axis=0)).as_dict(),
            "baseline": {
                "requests": b_req,
                "errors": int(base_e.sum()),
                "latency_ms": LatencyStats.from_counts(base_h.sum(axis=0)).as_dict(),
            },
            "groups": groups,
        }

    def _capacity(self, ex: Execution) -> dict[str, Any]:
        out: dict[str, Any] = {}
        end = ex.finished_ns if ex.finished_ns is not None else np.iinfo(np.int64).max
        for name in sorted(ex.fleets):
            f = self.fleets[name]
            before = [c for c in f.capacity if c[0] < ex.start_ns]
            during = [c for c in f.capacity if ex.start_ns <= c[0] <= end]
            rows = ([before[-1]] if before else []) + during
            out[name] = {
                "min_in_service": min((c[1] for c in rows), default=f.size()),
                "series": [
                    {"at_s": c[0] / NS, "in_service": c[1], "instances": c[2]} for c in rows
                ],
            }
        return out

    def report(self) -> dict[str, Any]:
        windows: dict[str, Any] = {}
        for w in self.cfg.maintenance_windows:
            execs = []
            for ex in self.executions:
                if ex.window.name != w.name:
                    continue
                tasks = {t.spec.name: t.report() for t in ex.tasks}
                execs.append(
                    {
                        "started_s": ex.start_ns / NS,
                        "window_end_s": ex.end_ns / NS,
                        "cutoff_s": ex.cutoff_ns / NS,
                        "finished_s": None if ex.finished_ns is None else ex.finished_ns / NS,
                        "status": ex.status,
                        "instances_patched": sum(v.get("patched", 0) for v in tasks.values()),
                        "instances_failed": sum(
                            v.get("failed", 0) + v.get("timed_out", 0) for v in tasks.values()
                        ),
                        "tasks": tasks,
                        "capacity": self._capacity(ex),
                        "users": self._users(ex),
                    }
                )
            windows[w.name] = {
                "schedule": w.schedule,
                "duration_s": w.duration / NS,
                "cutoff_s": w.cutoff / NS,
                "executions": execs,
            }
        out: dict[str, Any] = {"maintenance_windows": windows}
        if self.commands or self.cfg.documents:
            out["commands"] = [c.report() for c in self.commands]
        if self.reads:
            out["parameter_store"] = {
                "regions": {
                    r: {
                        "tps": q.tps,
                        "reads": q.total_reads,
                        "throttled_attempts": q.throttled,
                        "peak_reads_per_s": round(q.peak_rate, 3),
                    }
                    for r, q in sorted(self.quotas.items())
                },
                "endpoints": {
                    name: [r.report() for r in readers]
                    for name, readers in sorted(self.reads.items())
                },
            }
        if self.apps:
            names = self.ctx.group_names()
            out["appconfig"] = {
                "deployments": [
                    {
                        "application": cd.application,
                        "environment": cd.environment,
                        "profile": cd.profile,
                        "strategy": cd.strategy,
                        "endpoint": cd.deployment.endpoint,
                        **cd.deployment.report(names, 0.0),
                    }
                    for cd in self.configs
                ]
            }
        return out

    # ---- assertions --------------------------------------------------------------------
    def _execs(self, window: str) -> list[Execution]:
        if window not in self.windows:
            raise KeyError(f"no maintenance window '{window}'")
        return [e for e in self.executions if e.window.name == window]

    def assertion_metrics(self) -> dict[str, Callable[..., float]]:
        def count(window: str, statuses: tuple[str, ...]) -> float:
            return float(
                sum(
                    inv.status in statuses
                    for e in self._execs(window)
                    for t in e.tasks
                    if t.run is not None
                    for inv in t.run.invocations
                )
            )

        def patched(window: str) -> float:
            """Instances patched successfully, all executions of the window."""
            return count(window, (SUCCESS,))

        def patch_failed(window: str) -> float:
            """Invocations that failed or timed out."""
            return count(window, (FAILED, TIMED_OUT))

        def _pick(window: str, group: str | None) -> list[int]:
            names = self.ctx.group_names()
            return [
                i
                for i, n in enumerate(names)
                if group is None or n == group or n.endswith("/" + group)
            ]

        def window_availability(window: str, group: str | None = None) -> float:
            """Share of the patched endpoints' requests that succeeded during the window."""
            sel = _pick(window, group)
            req = sum(int(e.requests[sel].sum()) for e in self._execs(window))
            err = sum(int(e.errors[sel].sum()) for e in self._execs(window))
            return 1.0 - err / req if req else 1.0

        def window_p99(window: str, group: str | None = None) -> float:
            """p99 (seconds) of those requests' latency during the window."""
            sel = _pick(window, group)
            hist = np.zeros(counts_len(), dtype=np.int64)
            for e in self._execs(window):
                hist += e.hist[sel].sum(axis=0)
            if hist.sum() == 0:
                return 0.0
            return LatencyStats.from_counts(hist).p99 / 1000.0

        def throttled_reads(endpoint: str) -> float:
            """Parameter Store reads of the endpoint throttled at least once."""
            if endpoint not in self.reads:
                raise KeyError(f"endpoint '{endpoint}' reads no parameters")
            return float(sum(r.throttled for r in self.reads[endpoint]))

        def config_rollbacks(application: str) -> float:
            """AppConfig deployments of the application rolled back (per endpoint)."""
            if application not in self.apps:
                raise KeyError(f"no AppConfig application '{application}'")
            return float(
                sum(
                    cd.deployment.state == "rolled_back"
                    for cd in self.configs
                    if cd.application == application
                )
            )

        return {
            "throttled_reads": throttled_reads,
            "config_rollbacks": config_rollbacks,
            "patched": patched,
            "patch_failed": patch_failed,
            "window_availability": window_availability,
            "window_p99": window_p99,
        }
