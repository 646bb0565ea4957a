"""``edgesim sign``: CloudFront signed URLs and cookies that the live edges check as AWS does."""

from __future__ import annotations

import time
from pathlib import Path

import click

from edgesim.cli.common import friendly
from edgesim.errors import InputError
from edgesim.units import parse_duration_ns


def _when(text: str, option: str, now: float) -> int:
    """``+1h`` (from now), an epoch time, or an ISO 8601 time."""
    text = text.strip()
    try:
        if text.startswith("+"):
            return int(now + parse_duration_ns(text[1:]) / 1e9)
        if text.isdigit():
            return int(text)
        from datetime import datetime

        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    except ValueError:
        raise InputError.single(
            f"cannot read {text!r} as a time",
            path=option,
            expected="+DURATION (+1h), an epoch time or an ISO 8601 time (2026-12-03T12:00:00Z)",
        ) from None


@click.command("sign")
@click.argument("url")
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="the RSA private key (PEM) of a public key in a trusted key group",
)
@click.option("--key-pair-id", required=True, help="the public key's ID (Key-Pair-Id)")
@click.option("--expires", default="+1h", show_default=True, help="+DURATION, epoch or ISO time")
@click.option("--starts", default=None, help="not valid before (custom policy)")
@click.option("--ip", "ip_cidr", default=None, help="client address or CIDR (custom policy)")
@click.option(
    "--resource",
    default=None,
    help="the policy's resource with * and ? wildcards (custom policy; default: the URL)",
)
@click.option("--cookies", is_flag=True, help="print Set-Cookie headers instead of a URL")
@friendly
def sign(
    url: str,
    key_path: Path,
    key_pair_id: str,
    expires: str,
    starts: str | None,
    ip_cidr: str | None,
    resource: str | None,
    cookies: bool,
) -> None:
    """Sign URL (or make signed cookies) as CloudFront's signers do.

    With only --expires the policy is canned; --starts, --ip or --resource make it custom.
    """
    import ipaddress

    from edgesim.services.cloudfront import signing as cfsign

    now = time.time()
    exp = _when(expires, "--expires", now)
    start = _when(starts, "--starts", now) if starts else None
    if ip_cidr is not None:
        try:
            ipaddress.ip_network(ip_cidr, strict=False)
        except ValueError:
            raise InputError.single(
                f"not an address or CIDR: {ip_cidr!r}", path="--ip", expected="203.0.113.0/24"
            ) from None
    try:
        key = cfsign.load_private_key(key_path.read_bytes())
    except FileNotFoundError:
        raise InputError.single("key file not found", file=str(key_path)) from None
    except (ValueError, TypeError) as exc:
        raise InputError.single(
            f"not an RSA private key: {exc}", file=str(key_path), expected="a PEM RSA key"
        ) from None
    if cookies:
        values = cfsign.signed_cookies(
            resource or url,
            key_pair_id,
            key,
            exp,
            starts_s=start,
            ip_cidr=ip_cidr,
            canned=start is None and ip_cidr is None and resource is None,
        )
        for name, value in values.items():
            click.echo(f"Set-Cookie: {name}={value}; Secure; HttpOnly")
        return
    click.echo(
        cfsign.sign_url(
            url, key_pair_id, key, exp, starts_s=start, ip_cidr=ip_cidr, resource=resource
        )
    )
