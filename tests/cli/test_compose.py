"""docker-compose.yml: valid against the Compose Specification (vendored schema), and every
service's command is a real edgesim command line that starts (run here directly, on free
loopback ports, then stopped with SIGTERM: no Docker engine runs on CI machines)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest
import yaml

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = ROOT / "tests" / "data" / "compose-spec.json"
LAUNCH = "import sys; from edgesim.cli import main; main(sys.argv[1:], prog_name='edgesim')"
PORT_OPTIONS = {"--dns-port", "--edge-port"}
ADDR_OPTIONS = {"--control", "--listen", "--http-proxy"}


def _compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return doc


def _cli() -> click.Group:
    from edgesim.cli import main

    return main


def test_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(_compose()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    # the schema accepts any service; check what our stack needs on top of it
    services = _compose()["services"]
    assert {"dns", "edges", "dashboard"} <= set(services)
    assert (ROOT / "Dockerfile").is_file()
    for name, svc in services.items():
        assert svc["build"] == ".", name
        assert svc.get("ports"), f"{name} publishes nothing: nothing can reach it"
        assert svc.get("healthcheck", {}).get("test"), f"{name} has no health check"
        for p in svc.get("ports", []):
            assert str(p).startswith("127.0.0.1:"), f"{name} publishes {p} beyond loopback"


def _published(svc: dict[str, Any]) -> set[int]:
    """Container-side TCP ports a service publishes (ranges expanded)."""
    out: set[int] = set()
    for p in svc.get("ports", []):
        spec = str(p).split("#")[0].strip()
        if spec.endswith("/udp"):
            continue
        container = spec.removesuffix("/tcp").rsplit(":", 1)[1]
        lo, _, hi = container.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def _option(command: list[str], name: str, default: str) -> str:
    return command[command.index(name) + 1] if name in command else default


@pytest.mark.parametrize("service", ["edges", "dashboard"])
def test_every_port_serve_binds_is_published(service: str) -> None:
    """The PoPs (planned and standby) and endpoints take consecutive ports in containers:
    the compose file publishes exactly what the stack's port plan says."""
    from edgesim.live.cloudfront import public_ports
    from edgesim.live.stack import Stack, StackConfig

    command = _compose()["services"][service]["command"]
    assert "0.0.0.0" in command
    edge_port = int(_option(command, "--edge-port", "8080"))
    stack = Stack.load(StackConfig(scenario=ROOT / command[2], edge_port=edge_port))
    plan = public_ports(stack)
    published = _published(_compose()["services"][service])
    control = int(_option(command, "--control", "127.0.0.1:8053").rsplit(":", 1)[1])
    assert control in published
    wanted = set(plan["edges"]) | set(plan["endpoints"])
    if service == "edges":
        assert wanted <= published, sorted(wanted - published)[:5]
        assert published - wanted == {control}, sorted(published - wanted - {control})[:5]


def test_the_schema_rejects_a_broken_compose_file() -> None:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    bad = {"services": {"x": {"image": "a", "ports": [{"target": "eighty"}], "bogus": 1}}}
    assert list(validator.iter_errors(bad))


def _parse(args: list[str]) -> click.Command:
    """Parse a command line with the real CLI; returns the leaf command (UsageError if bad)."""
    cmd: click.Command = _cli()
    ctx = click.Context(cmd, info_name="edgesim")
    rest = list(args)
    while isinstance(cmd, click.Group):
        assert rest, "a group without a subcommand"
        sub = cmd.get_command(ctx, rest[0])
        assert sub is not None, f"no command {rest[0]!r}"
        cmd, rest = sub, rest[1:]
    cmd.make_context(cmd.name or "", rest)  # raises click.UsageError for bad options
    return cmd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _localise(args: list[str]) -> tuple[list[str], list[int]]:
    """The same command line on loopback with free ports; returns it and the TCP ports."""
    out: list[str] = []
    ports: list[int] = []
    it = iter(args)
    for a in it:
        out.append(a)
        if a == "--listen-host":
            next(it)
            out.append("127.0.0.1")
        elif a in PORT_OPTIONS:
            next(it)
            out.append(str(_free_port()))
        elif a in ADDR_OPTIONS:
            next(it)
            port = _free_port()
            ports.append(port)
            out.append(f"127.0.0.1:{port}")
    return out, ports


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
@pytest.mark.parametrize("service", sorted(_compose()["services"]))
def test_each_service_command_is_a_real_edgesim_command_that_starts(service: str) -> None:
    command = _compose()["services"][service]["command"]
    assert command[0] == "edgesim"
    _parse(command[1:])
    args, ports = _localise(command[1:])
    assert ports, "every service listens on an address option"
    env = {**os.environ, "EDGESIM_TOKEN": "compose-test"}
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60  # a hang guard, not a speed check
        while not all(_listening(p) for p in ports):
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the service did not start listening"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
