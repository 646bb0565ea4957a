"""Read a scenario file, check every reference in it, and prepare a run (exit 2 on errors)."""

from __future__ import annotations

import difflib
import inspect
import ipaddress
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgesim.errors import InputError, Problem
from edgesim.scenario.limits import check_run_size
from edgesim.scenario.schema import ENGINE_ACTIONS, EventSpec, ScenarioBase, scenario_model
from edgesim.services import registry
from edgesim.services.base import Service
from edgesim.sim.assertions import Assertion, AssertionSyntaxError, parse_assertion
from edgesim.sim.batch import RESOLVER_KINDS
from edgesim.sim.context import SimContext
from edgesim.sim.dns import DnsStage
from edgesim.sim.engine import Run, WorkloadRoute, resolve_links
from edgesim.sim.metrics import Metrics
from edgesim.sim.workload import build_catalogues, expand_clients
from edgesim.topology.builder import build_world
from edgesim.topology.loader import load_topology_file
from edgesim.topology.model import NodeKind, World
from edgesim.units import format_duration_ns
from edgesim.yamlio import LineIndex, load_yaml_file, load_yaml_text, validate

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(path: str) -> tuple[str | int, ...]:
    return tuple(int(i) if i else name for name, i in _PATH_PART.findall(path))


def locate(exc: InputError, index: LineIndex, file: str | None) -> InputError:
    """Add line numbers (from the field paths) to problems that have none."""
    out = []
    for p in exc.problems:
        if p.line is None and p.path:
            line, col = index.find(parse_path(p.path))
            p = Problem(p.message, path=p.path, line=line, column=col, expected=p.expected)
        out.append(p)
    return InputError(out, file=file or exc.file)


def load_scenario(path: str | Path) -> tuple[ScenarioBase, LineIndex, str]:
    path = Path(path)
    data, index = load_yaml_file(path)
    scn = validate(scenario_model(), data, index, str(path))
    check_run_size(scn, index, str(path))
    return scn, index, str(path)


def load_scenario_text(text: str, name: str = "<scenario>") -> tuple[ScenarioBase, LineIndex, str]:
    data, index = load_yaml_text(text, name)
    scn = validate(scenario_model(), data, index, name)
    check_run_size(scn, index, name)
    return scn, index, name


def prepare_file(path: str | Path, *, seed: int | None = None) -> Run:
    """Load a scenario file and prepare its run (relative paths start at the file's folder)."""
    scn, index, file = load_scenario(path)
    return prepare(scn, index, file, seed=seed, base_dir=Path(path).resolve().parent)


def _world(scn: ScenarioBase, file: str, index: LineIndex, base_dir: Path | None) -> World:
    name = scn.world
    if base_dir is not None and (name.endswith((".yaml", ".yml")) or "/" in name):
        candidate = base_dir / name
        if candidate.exists():
            name = str(candidate)
    try:
        topo, tpath = load_topology_file(name)
    except InputError as exc:
        if exc.file is None:
            line, _ = index.find(("world",))
            raise InputError(
                [
                    Problem(p.message, path="world", line=line, expected=p.expected)
                    for p in exc.problems
                ],
                file=file,
            ) from None
        raise
    ov = scn.world_overrides
    if ov is not None:
        update: dict[str, Any] = {}
        if ov.client_groups:
            update["client_groups"] = [*topo.client_groups, *ov.client_groups]
        if ov.latency is not None:
            merged = topo.latency.model_dump(exclude_none=True) if topo.latency else {}
            merged.update(ov.latency.model_dump(exclude_none=True))
            update["latency"] = type(ov.latency).model_validate(merged)
        topo = topo.model_copy(update=update)
    return build_world(topo, file=str(tpath))


def prepare(
    scn: ScenarioBase,
    index: LineIndex | None = None,
    file: str = "<scenario>",
    *,
    seed: int | None = None,
    base_dir: Path | None = None,
) -> Run:
    """Build everything a run needs; every bad reference is an :class:`InputError`."""
    index = index or LineIndex()
    check_run_size(scn, index, file)
    try:
        return _prepare(scn, index, file, seed, base_dir)
    except InputError as exc:
        raise locate(exc, index, file) from None


def _prepare(
    scn: ScenarioBase, index: LineIndex, file: str, seed: int | None, base_dir: Path | None
) -> Run:
    world = _world(scn, file, index, base_dir)
    ctx = SimContext(
        world=world,
        seed=scn.seed if seed is None else seed,
        file=file,
        warmup_ns=scn.warmup,
        base_dir=base_dir,
        start_utc=scn.start,
    )
    problems: list[Problem] = []
    if scn.warmup >= scn.duration:
        problems.append(
            Problem(
                "warmup must be shorter than the run",
                path="warmup",
                expected=f"less than {format_duration_ns(scn.duration)}",
            )
        )
    groups = expand_clients(scn, ctx, scn.start)
    ctx.groups = [g.key for g in groups]
    ctx.group_labels = [g.name for g in groups]
    ctx.group_subnets = _group_subnets(scn, groups, problems)
    ctx.workloads = list(scn.workloads)
    for svc_cls in registry():
        cfg = getattr(scn, svc_cls.section, None)
        if cfg is not None:
            _read_input_files(svc_cls, cfg, ctx, problems)
            svc = svc_cls(cfg, ctx)
            ctx.services.append(svc)
            ctx.targets.update(svc.targets())
    routes = _routes(scn, ctx, problems)
    events = check_events(scn.timeline, scn.duration, ctx, problems)
    flash = []
    names = [g.name for g in groups]
    for i, ev in enumerate(events):
        fc = ev.flash_crowd
        if fc is None:
            continue
        which = np.ones(len(groups), dtype=bool)
        if fc.metros is not None:
            unknown = [
                m for m in fc.metros if not any(n == m or n.endswith("/" + m) for n in names)
            ]
            for m in unknown:
                problems.append(
                    Problem(
                        f"no client group '{m}' in this run",
                        path=f"timeline[{i}].flash_crowd.metros",
                        expected=_some(names),
                    )
                )
            which = np.array([any(n == m or n.endswith("/" + m) for m in fc.metros) for n in names])
        flash.append((ev.at, min(ev.at + fc.duration, scn.duration), fc.factor, which))
    assertions = _check_assertions(scn, ctx, groups, problems)
    if problems:
        raise InputError(problems, file=file)
    stage = DnsStage(
        ctx,
        stub_hit_ratio=scn.dns.stub_cache,
        isp_resolver_rtt_ms=2 * world.params.internet_hop_one_way_ms,
        group_nodes=ctx.group_node(),
        overstay_share=scn.dns.overstay_share,
        overstay_ns=scn.dns.overstay,
        negative_ttl_ns=scn.dns.negative_ttl,
        steady_state=scn.dns.start == "steady",
    )
    site_kinds = (NodeKind.REGION, NodeKind.LOCAL_ZONE, NodeKind.WAVELENGTH_ZONE, NodeKind.OUTPOST)
    site_nodes = np.array(
        [i for i, k in enumerate(ctx.node_keys) if world.nodes[k].kind in site_kinds],
        dtype=np.int64,
    )
    pop_nodes = np.array(
        [i for i, k in enumerate(ctx.node_keys) if world.nodes[k].kind == NodeKind.POP],
        dtype=np.int64,
    )
    metrics = Metrics(
        len(groups),
        len(scn.workloads),
        len(ctx.node_keys),
        site_nodes,
        pop_nodes,
        scn.warmup,
        scn.interval,
    )
    return Run(
        scenario=scn,
        ctx=ctx,
        groups=groups,
        catalogues=build_catalogues(scn, ctx),
        routes=routes,
        dns=stage,
        metrics=metrics,
        start=scn.start,
        events=sorted(events, key=lambda e: e.at),
        flash=flash,
        assertions=assertions,
    )


def _some(options: list[str]) -> str:
    shown = ", ".join(options[:10])
    return f"one of: {shown}{', ...' if len(options) > 10 else ''}"


def _group_subnets(scn: ScenarioBase, groups: list[Any], problems: list[Problem]) -> list[str]:
    """Each group's users' subnet: ``dns.client_subnets`` (by group or metro name) or
    10.(i // 256).(i % 256).0/24."""
    from edgesim.services.route53 import group_subnet

    given = dict(scn.dns.client_subnets)
    out: list[str] = []
    used: set[str] = set()
    for i, g in enumerate(groups):
        metro = g.name.rsplit("/", 1)[-1]
        cidr = given.get(g.name, given.get(metro))
        if cidr is None:
            out.append(group_subnet(i))
            continue
        used.add(g.name if g.name in given else metro)
        try:
            out.append(str(ipaddress.ip_network(cidr, strict=False)))
        except ValueError:
            problems.append(
                Problem(
                    f"'{cidr}' is not a subnet",
                    path=f"dns.client_subnets.{g.name}",
                    expected="an IPv4 or IPv6 network such as 203.0.113.0/24",
                )
            )
            out.append(group_subnet(i))
    for name in sorted(set(given) - used):
        problems.append(
            Problem(
                f"no client group '{name}' in this run",
                path=f"dns.client_subnets.{name}",
                expected=_some([g.name for g in groups]),
            )
        )
    return out


def _routes(scn: ScenarioBase, ctx: SimContext, problems: list[Problem]) -> list[WorkloadRoute]:
    routes: list[WorkloadRoute] = []
    names = [w.name for w in scn.workloads]
    for i, w in enumerate(scn.workloads):
        if names.count(w.name) > 1 and names.index(w.name) != i:
            problems.append(
                Problem(
                    f"duplicate workload name '{w.name}'",
                    path=f"workloads[{i}].name",
                    expected="unique names",
                )
            )
        answering: Service | None = next(
            (s for s in ctx.services if s.answers(w.host.lower().rstrip("."))), None
        )
        if w.target is not None:
            target = ctx.targets.get(w.target)
            if target is None:
                problems.append(
                    Problem(
                        f"no target named '{w.target}'",
                        path=f"workloads[{i}].target",
                        expected=_some(sorted(ctx.targets))
                        if ctx.targets
                        else "a target defined by a service section (endpoints:, cloudfront:, …)",
                    )
                )
                continue
            routes.append(WorkloadRoute(w.host, None, target, target.ttl_ns))
        elif answering is not None:
            routes.append(
                WorkloadRoute(
                    w.host.lower().rstrip("."),
                    answering,
                    None,
                    answering.host_ttl_ns(w.host.lower().rstrip(".")),
                )
            )
        else:
            problems.append(
                Problem(
                    f"nothing answers for host '{w.host}'",
                    path=f"workloads[{i}].host",
                    expected="a name in a route53 zone, or a target: such as endpoint:api",
                )
            )
    return routes


def _read_input_files(
    svc_cls: type[Service], cfg: Any, ctx: SimContext, problems: list[Problem]
) -> None:
    """Read the files a service section names (zone files, …) into ``ctx.files``."""
    for where, name, what in svc_cls.input_files(cfg):
        if name in ctx.files:
            continue
        path = (ctx.base_dir / name) if ctx.base_dir is not None else Path(name)
        try:
            ctx.files[name] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(f"cannot import {what} {name}: {exc}", path=where))


def check_events(
    timeline: Sequence[EventSpec], duration_ns: int, ctx: SimContext, problems: list[Problem]
) -> list[EventSpec]:
    """Check timeline entries against the prepared context (targets, links, service actions);
    appends a :class:`Problem` (path ``timeline[i]…``) for each bad one and returns the good
    ones. Used for the scenario's timeline and for live control calls."""
    service_actions = {a: s for s in ctx.services for a in s.actions}
    all_actions = sorted({*ENGINE_ACTIONS, *(a for c in registry() for a in c.actions)})
    out = []
    for i, ev in enumerate(timeline):
        where = f"timeline[{i}]"
        if ev.at > duration_ns:
            problems.append(
                Problem(
                    f"event at {format_duration_ns(ev.at)} is after the end of the run",
                    path=f"{where}.at",
                    expected=f"at most {format_duration_ns(duration_ns)}",
                )
            )
        set_actions = [a for a in ENGINE_ACTIONS if getattr(ev, a) is not None]
        extra = list((ev.model_extra or {}).keys())
        for key in extra:
            if key not in service_actions:
                close = difflib.get_close_matches(key, all_actions, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close and close[0] != key else ""
                svc_hint = ""
                if key in all_actions:
                    svc_hint = " (its service section is not in this scenario)"
                problems.append(
                    Problem(
                        f"unknown event '{key}'{hint}{svc_hint}",
                        path=f"{where}.{key}",
                        expected="one of: " + ", ".join(all_actions),
                    )
                )
        if len(set_actions) + len(extra) != 1:
            problems.append(
                Problem(
                    "an event needs exactly one action"
                    if not set_actions and not extra
                    else f"an event takes one action, found {', '.join(set_actions + extra)}",
                    path=where,
                    expected="one of: " + ", ".join(all_actions),
                )
            )
            continue
        for key in extra:
            svc = service_actions.get(key)
            if svc is not None:
                msg = svc.check_event(key, (ev.model_extra or {})[key])
                if msg:
                    problems.append(Problem(msg, path=f"{where}.{key}"))
        for action in ("fail", "recover"):
            what = getattr(ev, action)
            if what is not None and not _known_failable(ctx, what):
                problems.append(
                    Problem(
                        f"nothing named '{what}' to {action}",
                        path=f"{where}.{action}",
                        expected="region:…, pop:…, lz:…, wlz:…, outpost:…, "
                        "endpoint:…, hub:…, link:a-b or service_link:outpost:…",
                    )
                )
        for spec, action in (
            (ev.degrade.link if ev.degrade else None, "degrade"),
            (ev.restore, "restore"),
        ):
            if spec is None:
                continue
            try:
                resolve_links(ctx.world, spec, ev.degrade.link_class if ev.degrade else None)
            except InputError as exc:
                problems.append(
                    Problem(
                        exc.problems[0].message,
                        path=f"{where}.{action}" + (".link" if ev.degrade else ""),
                        expected="a link between two adjacent nodes, e.g. hub:LON-hub:BUDE",
                    )
                )
        out.append(ev)
    return out


def _known_failable(ctx: SimContext, what: str) -> bool:
    if what.startswith("endpoint:"):
        return any(what in svc.targets() for svc in ctx.services)
    kind = what.split(":", 1)[0] if ":" in what else ""
    if kind == "az":
        zone = what[3:]
        return any(zone in getattr(r, "azs", ()) for r in ctx.world.regions)
    if kind in ("link", "service_link"):
        try:
            resolve_links(ctx.world, what.split(":", 1)[1], None)
        except InputError:
            return False
        return True
    try:
        key = ctx.world.resolve(what)
    except InputError:
        return False
    return ctx.world.nodes[key].kind != NodeKind.CLIENT


def _check_assertions(
    scn: ScenarioBase, ctx: SimContext, groups: list[Any], problems: list[Problem]
) -> list[Assertion]:
    out: list[Assertion] = []
    kinds: dict[str, str] = {}
    for svc in ctx.services:
        kinds.update(getattr(svc, "assertion_kinds", {}))
    for cls in registry():
        kinds.update(getattr(cls, "assertion_kinds", {}))
    group_names = {g.name for g in groups} | {g.name.rsplit("/", 1)[-1] for g in groups}
    segments = {g.segment for g in groups}
    workloads = {w.name for w in scn.workloads}
    for i, text in enumerate(scn.assertions):
        where = f"assertions[{i}]"
        try:
            a = parse_assertion(text, kinds)
        except AssertionSyntaxError as exc:
            problems.append(Problem(str(exc), path=where))
            continue
        for key, pool in (("group", group_names), ("workload", workloads), ("segment", segments)):
            val = a.filters.get(key)
            if val is not None and val not in pool:
                close = difflib.get_close_matches(val, sorted(pool), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                problems.append(
                    Problem(
                        f"no {key} '{val}' in this scenario{hint}",
                        path=where,
                        expected=_some(sorted(pool)),
                    )
                )
        if a.func == "failover_time":
            hosts = {w.host.lower().rstrip(".") for w in scn.workloads}
            rec = a.filters["record"].lower().rstrip(".")
            if rec not in hosts:
                problems.append(
                    Problem(
                        f"no workload uses the name '{a.filters['record']}'",
                        path=where,
                        expected=_some(sorted(hosts)),
                    )
                )
        if a.func in kinds:
            fns = [
                svc.assertion_metrics()[a.func]
                for svc in ctx.services
                if a.func in svc.assertion_metrics()
            ]
            svc_ok = bool(fns)
            if fns:
                params = inspect.signature(fns[0]).parameters
                unknown = sorted(set(a.filters) - set(params))
                needed = sorted(
                    k
                    for k, p in params.items()
                    if p.default is inspect.Parameter.empty and k not in a.filters
                )
                if unknown or needed:
                    what = (
                        f"unknown filter '{unknown[0]}'"
                        if unknown
                        else f"{a.func}() needs {needed[0]}=…"
                    )
                    problems.append(
                        Problem(
                            what,
                            path=where,
                            expected=f"{a.func}(" + ", ".join(f"{k}=…" for k in params) + ")",
                        )
                    )
            if not svc_ok:
                problems.append(
                    Problem(
                        f"{a.func}() needs a service section this scenario does not have",
                        path=where,
                    )
                )
        out.append(a)
    return out


__all__ = ["RESOLVER_KINDS", "load_scenario", "prepare"]
