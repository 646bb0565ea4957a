"""CloudFront signed URLs and cookies, cross-checked with AWS's own SDK (botocore's
CloudFrontSigner): what botocore signs edgesim accepts, and edgesim signs the same bytes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from edgesim.services.cloudfront import signing as cfsign

URL = "https://d111111abcdef8.cloudfront.net/videos/a.mp4?size=large"
NOW = 1_800_000_000


@pytest.fixture(scope="module")
def keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    return (
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


def _botocore(key: rsa.RSAPrivateKey, key_id: str = "K2JCJMDEHXQW5F") -> object:
    from botocore.signers import CloudFrontSigner

    def signer(message: bytes) -> bytes:
        return key.sign(message, padding.PKCS1v15(), hashes.SHA1())

    return CloudFrontSigner(key_id, signer)


def _when(s: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(s, tz=dt.UTC)


def test_canned_url_equals_botocore_and_verifies(keys: tuple[rsa.RSAPrivateKey, ...]) -> None:
    key = keys[0]
    ours = cfsign.sign_url(URL, "K2JCJMDEHXQW5F", key, NOW + 3600)
    theirs = _botocore(key).generate_presigned_url(URL, date_less_than=_when(NOW + 3600))  # type: ignore[attr-defined]
    assert ours == theirs  # RSA PKCS#1 v1.5 is deterministic: same policy, same bytes
    trusted = {"K2JCJMDEHXQW5F": key.public_key()}
    assert cfsign.verify(ours, trusted, NOW, "203.0.113.5").ok
    assert cfsign.verify(ours, trusted, NOW + 3600, "203.0.113.5").reason.endswith("expired")


def test_custom_policy_from_botocore(keys: tuple[rsa.RSAPrivateKey, ...]) -> None:
    key = keys[0]
    bc = _botocore(key)
    policy = bc.build_policy(  # type: ignore[attr-defined]
        "https://d111111abcdef8.cloudfront.net/videos/*",
        _when(NOW + 600),
        date_greater_than=_when(NOW - 60),
        ip_address="203.0.113.0/24",
    )
    url = bc.generate_presigned_url(URL, policy=policy)  # type: ignore[attr-defined]
    assert (
        cfsign.build_policy(
            "https://d111111abcdef8.cloudfront.net/videos/*",
            NOW + 600,
            starts_s=NOW - 60,
            ip_cidr="203.0.113.0/24",
        )
        == policy
    )
    trusted = {"K2JCJMDEHXQW5F": key.public_key()}
    assert cfsign.verify(url, trusted, NOW, "203.0.113.5").ok
    assert "IP range" in cfsign.verify(url, trusted, NOW, "198.51.100.1").reason
    assert "not valid yet" in cfsign.verify(url, trusted, NOW - 61, "203.0.113.5").reason
    assert "expired" in cfsign.verify(url, trusted, NOW + 600, "203.0.113.5").reason
    other = url.replace("/videos/a.mp4", "/images/a.png")
    assert "does not match" in cfsign.verify(other, trusted, NOW, "203.0.113.5").reason


def test_wrong_key_and_tampering(keys: tuple[rsa.RSAPrivateKey, ...]) -> None:
    good, evil = keys
    trusted = {"K1": good.public_key()}
    url = cfsign.sign_url(URL, "K1", evil, NOW + 60)  # signed with a key not in the group
    assert cfsign.verify(url, trusted, NOW, "203.0.113.5").reason == "Invalid signature"
    unknown = cfsign.sign_url(URL, "K9", good, NOW + 60)
    assert "not in a trusted key group" in cfsign.verify(unknown, trusted, NOW, "1.2.3.4").reason
    ok = cfsign.sign_url(URL, "K1", good, NOW + 60)
    longer = ok.replace(f"Expires={NOW + 60}", f"Expires={NOW + 6000}")  # a later expiry
    assert cfsign.verify(longer, trusted, NOW, "1.2.3.4").reason == "Invalid signature"
    moved = ok.replace("size=large", "size=small")  # the canned policy's resource changed
    assert cfsign.verify(moved, trusted, NOW, "1.2.3.4").reason == "Invalid signature"
    custom = cfsign.sign_url(URL, "K1", good, NOW + 60, resource="https://*")
    policy = custom.split("Policy=")[1].split("&")[0]
    forged = cfsign.b64encode(
        cfsign.b64decode(policy).replace(str(NOW + 60).encode(), str(NOW + 9999).encode())
    )
    tampered = custom.replace(policy, forged)
    assert cfsign.verify(tampered, trusted, NOW, "1.2.3.4").reason == "Invalid signature"
    garbage = custom.replace(policy, "!!notbase64")
    assert cfsign.verify(garbage, trusted, NOW, "1.2.3.4").reason == "Malformed Policy"
    bare = "https://d111111abcdef8.cloudfront.net/videos/a.mp4"
    assert cfsign.verify(bare, trusted, NOW, "1.2.3.4").reason.startswith("Missing Key-Pair-Id")


def test_signed_cookies(keys: tuple[rsa.RSAPrivateKey, ...]) -> None:
    key = keys[0]
    trusted = {"K1": key.public_key()}
    resource = "https://d111111abcdef8.cloudfront.net/videos/*"
    cookies = cfsign.signed_cookies(resource, "K1", key, NOW + 60)
    assert set(cookies) == {"CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id"}
    v = cfsign.verify(URL, trusted, NOW, "1.2.3.4", cookies)
    assert (v.ok, v.via) == (True, "cookie")
    canned = cfsign.signed_cookies(URL, "K1", key, NOW + 60, canned=True)
    assert "CloudFront-Expires" in canned
    assert cfsign.verify(URL, trusted, NOW, "1.2.3.4", canned).ok
    wrong = {**cookies, "CloudFront-Key-Pair-Id": "K2"}
    assert not cfsign.verify(URL, trusted, NOW, "1.2.3.4", wrong).ok


def test_pem_keys_load(keys: tuple[rsa.RSAPrivateKey, ...]) -> None:
    key = keys[0]
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    pub = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    load: Callable[[bytes], object] = cfsign.load_private_key
    assert isinstance(load(pem), rsa.RSAPrivateKey)
    assert isinstance(cfsign.load_public_key(pub), rsa.RSAPublicKey)


def test_cli_sign(tmp_path: object, keys: tuple[rsa.RSAPrivateKey, ...]) -> None:
    from pathlib import Path

    from click.testing import CliRunner

    from edgesim.cli import main

    assert isinstance(tmp_path, Path)
    key = keys[0]
    pem = tmp_path / "k.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    trusted = {"K1": key.public_key()}
    args = ["sign", URL, "--key", str(pem), "--key-pair-id", "K1", "--expires", str(NOW + 60)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "Expires=" in res.output
    assert cfsign.verify(res.output.strip(), trusted, NOW, "1.2.3.4").ok
    res = CliRunner().invoke(main, [*args, "--ip", "10.0.0.0/8"])
    url = res.output.strip()
    assert "Policy=" in url
    assert cfsign.verify(url, trusted, NOW, "10.1.2.3").ok
    assert not cfsign.verify(url, trusted, NOW, "11.1.2.3").ok
    res = CliRunner().invoke(main, [*args, "--cookies"])
    assert res.output.count("Set-Cookie: CloudFront-") == 3
    for bad, where in (
        (["--expires", "soon"], "--expires"),
        (["--ip", "nope"], "--ip"),
    ):
        res = CliRunner().invoke(main, [*args, *bad])
        assert res.exit_code == 2
        assert where in res.output
    pem.write_text("not a key")
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2
    assert "not an RSA private key" in res.output
