"""The CLI package (edgesim/cli/): lazy subcommands, the shared helpers."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from edgesim.cli import COMMANDS, main
from edgesim.cli.common import host_port, parse_host_port, token


def test_version_imports_no_command_module() -> None:
    code = (
        "import sys\n"
        "from edgesim.cli import main\n"
        "try:\n"
        "    main(['--version'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted(m for m in sys.modules if m.startswith('edgesim.') and m not in "
        "('edgesim.cli',))\n"
        "print(heavy)\n"
        "print('numpy' in sys.modules, 'rich' in sys.modules, 'aiohttp' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[-2] == "[]"
    assert out[-1] == "False False False"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_listed_command_loads(name: str) -> None:
    ctx = click.Context(main, info_name="edgesim")
    cmd = main.get_command(ctx, name)
    assert isinstance(cmd, click.Command)
    assert name in main.list_commands(ctx)


def test_unknown_command_is_a_usage_error() -> None:
    ctx = click.Context(main, info_name="edgesim")
    assert main.get_command(ctx, "nope") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:53", ("127.0.0.1", 53)), ("[::1]:8081", ("::1", 8081)), ("h:0", ("h", 0))],
)
def test_host_port_parses(text: str, expected: tuple[str, int]) -> None:
    assert parse_host_port(text) == expected


@pytest.mark.parametrize("text", ["127.0.0.1", ":53", "h:65536", "h:x", ""])
def test_host_port_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_host_port(text)
    with pytest.raises(click.BadParameter):
        host_port(text, "--listen")


def test_token_prefers_explicit_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGESIM_TOKEN", "from-env")
    assert token("given") == ("given", False)
    assert token() == ("from-env", False)
    monkeypatch.delenv("EDGESIM_TOKEN")
    made, generated = token()
    assert generated
    assert len(made) >= 16
    assert token()[0] != made
