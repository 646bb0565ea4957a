"""CloudFront signed URLs and signed cookies: sign and verify, I/O-free.

What CloudFront does (AWS: "Create a signed URL using a canned policy", "Create a signed URL
using a custom policy", "Set signed cookies using a canned policy", "… custom policy",
"Specify signers that can create signed URLs and signed cookies"):

* A **policy** is a JSON statement ``{"Statement":[{"Resource":…,"Condition":{…}}]}`` without
  white space. ``DateLessThan`` (an epoch time) is required; a **custom** policy may add
  ``DateGreaterThan`` (not valid before) and ``IpAddress`` (``AWS:SourceIp``, a CIDR) and its
  ``Resource`` may use ``*`` and ``?`` wildcards. A **canned** policy has only the expiry and its
  resource is the URL itself, so it is not sent: the edge rebuilds it from the request.
* The **signature** is RSA (PKCS #1 v1.5) over SHA-1 of the policy's bytes, by the private key
  of a key pair whose public key is in one of the distribution's **trusted key groups**; the
  ID of that public key travels as ``Key-Pair-Id``.
* Binary values travel in CloudFront's URL-safe base64: ``+`` → ``-``, ``=`` → ``_``,
  ``/`` → ``~``.
* A signed URL carries ``Expires`` (canned) or ``Policy`` (custom), ``Signature`` and
  ``Key-Pair-Id`` as query parameters, after the URL's own; signed cookies carry the same as
  ``CloudFront-Expires`` / ``CloudFront-Policy``, ``CloudFront-Signature`` and
  ``CloudFront-Key-Pair-Id``. When a request has both, the URL's parameters are used.

A request to a behaviour that requires signing gets **403** when anything fails: a missing
parameter, a key ID that no trusted key group holds, a signature that does not verify, a
policy that does not parse, a resource that does not match, an expired or not-yet-valid
policy, or a client outside the policy's IP range. The messages below are edgesim's: AWS
documents the 403 but not each message's wording.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import ipaddress
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SIGNING_PARAMS = ("Expires", "Policy", "Signature", "Key-Pair-Id")
COOKIE_PREFIX = "CloudFront-"


def b64encode(data: bytes) -> str:
    """CloudFront's URL-safe base64."""
    return (
        base64.b64encode(data).decode("ascii").replace("+", "-").replace("=", "_").replace("/", "~")
    )


def b64decode(text: str) -> bytes:
    std = text.replace("-", "+").replace("_", "=").replace("~", "/")
    return base64.b64decode(std, validate=True)


def build_policy(
    resource: str,
    expires_s: int,
    *,
    starts_s: int | None = None,
    ip_cidr: str | None = None,
) -> str:
    """A policy statement in CloudFront's compact form (the order AWS documents for canned
    policies; custom conditions in the order AWS's SDKs write them)."""
    condition: dict[str, object] = {"DateLessThan": {"AWS:EpochTime": int(expires_s)}}
    if ip_cidr:
        if "/" not in ip_cidr:
            ip_cidr += "/32"
        condition["IpAddress"] = {"AWS:SourceIp": ip_cidr}
    if starts_s is not None:
        condition["DateGreaterThan"] = {"AWS:EpochTime": int(starts_s)}
    return json.dumps(
        {"Statement": [{"Resource": resource, "Condition": condition}]}, separators=(",", ":")
    )


def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("CloudFront signs with RSA keys")
    return key


def load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("CloudFront public keys are RSA keys")
    return key


def _sign(policy: bytes, key: rsa.RSAPrivateKey) -> bytes:
    return key.sign(policy, padding.PKCS1v15(), hashes.SHA1())


def sign_url(
    url: str,
    key_pair_id: str,
    private_key: rsa.RSAPrivateKey,
    expires_s: int,
    *,
    starts_s: int | None = None,
    ip_cidr: str | None = None,
    resource: str | None = None,
) -> str:
    """A signed URL: canned when only an expiry is given, custom otherwise."""
    custom = starts_s is not None or ip_cidr is not None or resource is not None
    policy = build_policy(resource or url, expires_s, starts_s=starts_s, ip_cidr=ip_cidr)
    sig = b64encode(_sign(policy.encode(), private_key))
    first = f"Policy={b64encode(policy.encode())}" if custom else f"Expires={int(expires_s)}"
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}{first}&Signature={sig}&Key-Pair-Id={key_pair_id}"


def signed_cookies(
    resource: str,
    key_pair_id: str,
    private_key: rsa.RSAPrivateKey,
    expires_s: int,
    *,
    starts_s: int | None = None,
    ip_cidr: str | None = None,
    canned: bool = False,
) -> dict[str, str]:
    """The ``Set-Cookie`` values (name → value) for signed cookies."""
    policy = build_policy(resource, expires_s, starts_s=starts_s, ip_cidr=ip_cidr)
    out = {
        "CloudFront-Signature": b64encode(_sign(policy.encode(), private_key)),
        "CloudFront-Key-Pair-Id": key_pair_id,
    }
    if canned and starts_s is None and ip_cidr is None:
        out["CloudFront-Expires"] = str(int(expires_s))
    else:
        out["CloudFront-Policy"] = b64encode(policy.encode())
    return out


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""
    via: str = ""
    """``url`` or ``cookie``: where the credentials came from."""

    @property
    def status(self) -> int:
        return 200 if self.ok else 403


def _strip_signing(url: str) -> str:
    """The URL without CloudFront's signing parameters (what a canned policy signed)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    kept = [
        seg for seg in parts.query.split("&") if seg and seg.split("=", 1)[0] not in SIGNING_PARAMS
    ]
    return urlunsplit(parts._replace(query="&".join(kept)))


def _resource_matches(pattern: str, url: str) -> bool:
    """A custom policy's resource: ``*`` any run of characters, ``?`` one character."""
    return fnmatch.fnmatchcase(url, pattern.replace("[", "[[]"))


def verify(
    url: str,
    trusted: dict[str, rsa.RSAPublicKey],
    now_s: float,
    client_ip: str,
    cookies: dict[str, str] | None = None,
) -> Verdict:
    """Whether a request for ``url`` (scheme, host, path and query as the viewer sent them)
    passes CloudFront's signed-URL/cookie check; ``trusted`` maps the public key IDs of the
    behaviour's trusted key groups to their keys."""
    params = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    via = "url"
    get = params.get
    if "Signature" not in params and "Key-Pair-Id" not in params:
        c = cookies or {}
        params = {k[len(COOKIE_PREFIX) :]: v for k, v in c.items() if k.startswith(COOKIE_PREFIX)}
        get = params.get
        via = "cookie"
    key_id, sig_text = get("Key-Pair-Id"), get("Signature")
    if not key_id:
        return Verdict(False, "Missing Key-Pair-Id query parameter or cookie value", via)
    if not sig_text:
        return Verdict(False, "Missing Signature query parameter or cookie value", via)
    key = trusted.get(key_id)
    if key is None:
        return Verdict(False, f"Key-Pair-Id {key_id} is not in a trusted key group", via)
    base = _strip_signing(url)
    if get("Policy"):
        try:
            policy_bytes = b64decode(str(get("Policy")))
            doc = json.loads(policy_bytes)
            stmt = doc["Statement"][0]
            resource = str(stmt.get("Resource", "*"))
            cond = stmt["Condition"]
            expires = float(cond["DateLessThan"]["AWS:EpochTime"])
            starts = cond.get("DateGreaterThan", {}).get("AWS:EpochTime")
            cidr = cond.get("IpAddress", {}).get("AWS:SourceIp")
        except (binascii.Error, ValueError, KeyError, IndexError, TypeError, AttributeError):
            return Verdict(False, "Malformed Policy", via)
    elif get("Expires"):
        try:
            expires = float(str(get("Expires")))
        except ValueError:
            return Verdict(False, "Malformed Expires", via)
        resource, starts, cidr = base, None, None
        policy_bytes = build_policy(base, int(expires)).encode()
    else:
        return Verdict(False, "Missing Expires or Policy query parameter or cookie value", via)
    try:
        key.verify(b64decode(str(sig_text)), policy_bytes, padding.PKCS1v15(), hashes.SHA1())
    except (InvalidSignature, binascii.Error, ValueError):
        return Verdict(False, "Invalid signature", via)
    if not _resource_matches(resource, base):
        return Verdict(False, "The policy's resource does not match the request", via)
    if now_s >= expires:
        return Verdict(False, "Access denied: the policy has expired", via)
    if starts is not None and now_s < float(starts):
        return Verdict(False, "Access denied: the policy is not valid yet", via)
    if cidr is not None:
        try:
            inside = ipaddress.ip_address(client_ip) in ipaddress.ip_network(str(cidr), False)
        except ValueError:
            return Verdict(False, "Malformed Policy", via)
        if not inside:
            return Verdict(False, "Access denied: the client is outside the policy's IP range", via)
    return Verdict(True, "", via)
