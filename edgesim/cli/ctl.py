"""``edgesim ctl``: the command-line client of ``edgesim serve``'s control API.

Listed in :data:`edgesim.cli.COMMANDS`. ``--url`` and ``--token`` default
to ``EDGESIM_URL`` (``http://127.0.0.1:8053``) and ``EDGESIM_TOKEN``. Exit status: 0 when
the call succeeded, 1 when the API refused it (its message is printed), 2 when it cannot be
reached.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

import click

from edgesim.cli.common import fail as error_exit

DEFAULT_URL = "http://127.0.0.1:8053"


class Api:
    def __init__(self, url: str, token: str | None, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                msg = json.loads(exc.read()).get("error", exc.reason)
            except ValueError:
                msg = exc.reason
            error_exit(f"{exc.code}: {msg}", status=1)
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            error_exit(f"cannot reach {self.url}: {reason}")


def _api(ctx: click.Context) -> Api:
    obj: Api = ctx.obj
    return obj


def _print(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, default=str))


@click.group()
@click.option("--url", envvar="EDGESIM_URL", default=DEFAULT_URL, show_default=True)
@click.option("--token", envvar="EDGESIM_TOKEN", default=None, help="bearer token")
@click.pass_context
def ctl(ctx: click.Context, url: str, token: str | None) -> None:
    """Control a running `edgesim serve` (fail, recover, weights, health, invalidate)."""
    from edgesim.live.control import url_problem

    if (problem := url_problem(url)) is not None:
        error_exit(f"--url {url!r}: {problem} (expected e.g. {DEFAULT_URL})")
    ctx.obj = Api(url, token)


@ctl.command("state")
@click.pass_context
def state(ctx: click.Context) -> None:
    """Print health checks, targets, weights, failed nodes and recent events."""
    _print(_api(ctx).call("GET", "/v1/state"))


@ctl.command("fail")
@click.argument("target")
@click.pass_context
def fail(ctx: click.Context, target: str) -> None:
    """Fail TARGET now: region:…, pop:…, lz:…, wlz:…, outpost:…, endpoint:…, link:a-b."""
    _api(ctx).call("POST", "/v1/fail", {"target": target})
    click.echo(f"failed {target}")


@ctl.command("recover")
@click.argument("target")
@click.pass_context
def recover(ctx: click.Context, target: str) -> None:
    """Recover TARGET now."""
    _api(ctx).call("POST", "/v1/recover", {"target": target})
    click.echo(f"recovered {target}")


@ctl.command("weight")
@click.argument("record")
@click.argument("set_id", metavar="SET")
@click.argument("weight", type=click.IntRange(0, 255))
@click.pass_context
def weight(ctx: click.Context, record: str, set_id: str, weight: int) -> None:
    """Set the weight of a weighted RECORD's SET (0-255)."""
    _api(ctx).call("POST", "/v1/weight", {"record": record, "set": set_id, "weight": weight})
    click.echo(f"{record} {set_id}: weight {weight}")


@ctl.command("health")
@click.argument("check")
@click.argument("healthy", type=click.Choice(["true", "false", "auto"]))
@click.pass_context
def health(ctx: click.Context, check: str, healthy: str) -> None:
    """Force health CHECK healthy or unhealthy, or back to the checkers (auto)."""
    _api(ctx).call("POST", "/v1/health", {"check": check, "healthy": healthy})
    click.echo(f"health check {check}: {healthy}")


@ctl.command("invalidate")
@click.argument("distribution")
@click.argument("paths", nargs=-1, required=True)
@click.pass_context
def invalidate(ctx: click.Context, distribution: str, paths: tuple[str, ...]) -> None:
    """Invalidate PATHS (/img/*, /index.html) in DISTRIBUTION's live caches."""
    out = _api(ctx).call(
        "POST", "/v1/invalidate", {"distribution": distribution, "paths": list(paths)}
    )
    click.echo(f"invalidated {len(paths)} path(s): {out.get('removed', 0)} object(s) removed")


@ctl.command("event")
@click.argument("event_json")
@click.pass_context
def event(ctx: click.Context, event_json: str) -> None:
    """Apply any timeline event now, as JSON without 'at' ('{"fail": "pop:NRT57"}')."""
    try:
        body = json.loads(event_json)
    except ValueError:
        raise click.BadParameter("not JSON", param_hint="EVENT_JSON") from None
    _api(ctx).call("POST", "/v1/events", body)
    click.echo("applied")


@ctl.command("run-command")
@click.argument("document")
@click.option(
    "--targets", "targets", required=True, help="endpoint:…, region:…, tag:K=V (comma-separated)"
)
@click.option("--max-concurrency", default=None, help="a number (10) or a percentage (10%)")
@click.option("--max-errors", default=None, help="a number (0) or a percentage (10%)")
@click.option("--parameter", "-p", "params", multiple=True, help="NAME=VALUE (repeatable)")
@click.pass_context
def run_command(
    ctx: click.Context,
    document: str,
    targets: str,
    max_concurrency: str | None,
    max_errors: str | None,
    params: tuple[str, ...],
) -> None:
    """Run Systems Manager DOCUMENT (ssm.documents) on the targets' instances now."""
    body: dict[str, Any] = {
        "document": document,
        "targets": [t.strip() for t in targets.split(",") if t.strip()],
    }
    if max_concurrency is not None:
        body["max_concurrency"] = max_concurrency
    if max_errors is not None:
        body["max_errors"] = max_errors
    if params:
        bad = [p for p in params if "=" not in p]
        if bad:
            raise click.BadParameter(f"'{bad[0]}' is not NAME=VALUE", param_hint="--parameter")
        body["parameters"] = dict(p.split("=", 1) for p in params)
    _api(ctx).call("POST", "/v1/events", {"send_command": body})
    click.echo(f"sent {document} to {', '.join(body['targets'])}")


@ctl.command("watch")
@click.option("--count", type=int, default=0, help="stop after this many events (0: never)")
@click.pass_context
def watch(ctx: click.Context, count: int) -> None:
    """Print the live stream (metrics, changes, events, routing decisions) until Ctrl-C."""
    api = _api(ctx)
    req = urllib.request.Request(api.url + "/v1/metrics/stream")
    seen = 0
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            kind = "message"
            for raw in resp:
                line = raw.decode("utf-8").rstrip("\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    click.echo(_summary(kind, json.loads(line[6:])))
                    seen += 1
                    if count and seen >= count:
                        return
    except KeyboardInterrupt:
        return
    except (urllib.error.URLError, OSError) as exc:
        error_exit(f"cannot reach {api.url}: {exc}")


def _summary(kind: str, data: Any) -> str:
    if kind == "metrics" and isinstance(data, dict):
        t = data.get("totals", {})
        worst = sorted(
            ((g, v.get("p95_ms") or 0.0) for g, v in data.get("groups", {}).items()),
            key=lambda x: -x[1],
        )[:3]
        w = ", ".join(f"{g} {p:.0f} ms" for g, p in worst)
        return (
            f"metrics: {t.get('dns', 0)} DNS, {t.get('http', 0)} HTTP, "
            f"{t.get('errors', 0)} 5xx; worst p95 {w or '-'}"
        )
    return f"{kind}: {json.dumps(data, default=str)}"


if __name__ == "__main__":  # python -m edgesim.cli.ctl …
    ctl(prog_name="python -m edgesim.cli.ctl")
