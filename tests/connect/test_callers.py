"""Who is calling over HTTP: bearer JWTs verified against a JWKS served on a real port, and API keys.
Refusals are 401 with `WWW-Authenticate` pointing at the RFC 9728 resource metadata."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from jwt.algorithms import RSAAlgorithm
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcp_livechat.connect.identity import ApiKeys, JwtVerifier, Principal
from mcp_livechat.errors import ConfigurationError
from mcp_livechat.http_app import create_app
from mcp_livechat.server import create_server
from tests.connect.flow_kit import (
    AUDIENCE,
    ISSUER,
    KEY,
    OTHER_KEY,
    jwks_app,
    jwks_body,
    oauth_settings,
    sandbox_on_port,
    served,
    token,
)


async def _link(url: str, bearer: str) -> str:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {bearer}"}, timeout=30)
    async with Client(streamable_http_client(url, http_client=http)) as client:
        out = await client.call_tool("connect_livechat", {})
    return str((out.structured_content or {})["connect_url"])


async def test_jwt_callers_are_identified_and_bad_ones_refused(tmp_path: Path) -> None:
    async with served(jwks_app()) as idp, sandbox_on_port() as (_, base, port, _l):
        settings = oauth_settings(
            base, tmp_path, mcp_auth="jwt", mcp_jwks_url=f"{idp}/jwks", mcp_issuer=ISSUER,
            mcp_audience=AUDIENCE, mcp_tenant_claim="org",
        )  # fmt: skip
        built = create_server(settings, public_url=f"http://127.0.0.1:{port}")
        app = create_app(built, settings, transport="http", host="127.0.0.1")
        async with served(app, port) as mcp, httpx2.AsyncClient(timeout=10) as web:
            store = built.runtime.store
            link = await _link(f"{mcp}/mcp", token())
            pending = await store.peek_pending(link.rsplit("/", 1)[1])
            assert pending.principal == Principal("acme", "ann")
            other = await store.peek_pending(
                (await _link(f"{mcp}/mcp", token(sub="bo", org="globex"))).rsplit("/", 1)[1]
            )
            assert other.principal == Principal("globex", "bo")

            metadata = (await web.get(f"{mcp}/.well-known/oauth-protected-resource/mcp")).json()
            assert metadata["resource"] == f"{mcp}/mcp" and metadata["authorization_servers"] == [ISSUER]
            for bad in (
                token(OTHER_KEY),  # signed by someone else
                token(aud="another-service"),
                token(exp=int(time.time()) - 3600),
                token(iss="https://evil.example"),
                token(sub=None),
                "not-a-jwt",
                jwt.encode(
                    {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60},
                    "s" * 32,
                    "HS256",
                ),
            ):
                refused = await web.post(
                    f"{mcp}/mcp",
                    headers={
                        "Authorization": f"Bearer {bad}",
                        "Accept": "application/json, text/event-stream",
                    },
                    json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                )
                assert refused.status_code == 401
                challenge = refused.headers["www-authenticate"]
                assert (
                    challenge.startswith("Bearer")
                    and f'resource_metadata="{mcp}/.well-known/oauth-protected-resource/mcp"' in challenge
                )
            nothing = await web.post(f"{mcp}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
            assert nothing.status_code == 401


async def test_jwt_without_a_tenant_claim_uses_the_issuer() -> None:
    async with served(jwks_app()) as idp:
        verifier = JwtVerifier(jwks_url=f"{idp}/jwks", issuer=ISSUER, audience=AUDIENCE)
        caller = await verifier.verify(token())
    assert caller is not None and caller.principal == Principal(ISSUER, "ann")
    assert caller.expires_at and caller.expires_at > time.time()


async def test_unknown_key_ids_refetch_the_jwks_at_most_so_often() -> None:
    fetches = 0

    async def keys(request: Any) -> JSONResponse:
        nonlocal fetches
        fetches += 1
        return JSONResponse(jwks_body())

    async with served(Starlette(routes=[Route("/jwks", keys)])) as idp:
        verifier = JwtVerifier(jwks_url=f"{idp}/jwks", issuer=ISSUER, audience=AUDIENCE, refetch_after=3600)
        assert await verifier.verify(token()) is not None
        strangers = [
            jwt.encode({"sub": "x"}, OTHER_KEY, algorithm="RS256", headers={"kid": f"k{i}"})
            for i in range(20)
        ]
        assert all([await verifier.verify(t) is None for t in strangers])
    assert fetches == 1  # unknown kids do not turn the verifier into a JWKS hammer


def _forged_header(header: dict[str, Any]) -> str:
    """A token whose header says what an attacker likes, with a signature of nothing."""
    import base64
    import json

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60}
    return f"{part(header)}.{part(claims)}.{'A' * 86}"


async def test_a_forged_header_is_a_refusal_not_a_server_error(tmp_path: Path) -> None:
    """An EC algorithm named over the RSA key's kid made the library fail with a TypeError: a 500
    and an ERROR traceback for anyone without a credential. It is a 401 like any bad token, and so
    is an RSA algorithm the key does not declare (the JWKS says RS256)."""
    async with served(jwks_app()) as idp, sandbox_on_port() as (_, base, port, _l):
        verifier = JwtVerifier(jwks_url=f"{idp}/jwks", issuer=ISSUER, audience=AUDIENCE)
        forged = [
            _forged_header({"alg": "ES256", "kid": "k1", "typ": "JWT"}),
            _forged_header({"alg": "EdDSA", "kid": "k1"}),
            jwt.encode(
                {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60},
                KEY,
                algorithm="PS256",
                headers={"kid": "k1"},
            ),
        ]
        assert [await verifier.verify(t) for t in forged] == [None, None, None]
        assert await verifier.verify(token()) is not None
        settings = oauth_settings(base, tmp_path, mcp_auth="jwt", mcp_jwks_url=f"{idp}/jwks",
                                  mcp_issuer=ISSUER, mcp_audience=AUDIENCE)  # fmt: skip
        built = create_server(settings, public_url=f"http://127.0.0.1:{port}")
        app = create_app(built, settings, transport="http", host="127.0.0.1")
        async with served(app, port) as mcp, httpx2.AsyncClient(timeout=10) as web:
            answers = [
                (
                    await web.post(
                        f"{mcp}/mcp",
                        headers={
                            "Authorization": f"Bearer {t}",
                            "Accept": "application/json, text/event-stream",
                        },
                        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                    )
                ).status_code
                for t in forged
            ]
    assert answers == [401, 401, 401]


async def test_a_key_the_identity_provider_removed_stops_being_trusted() -> None:
    """The JWKS is cached for max_age: once the provider drops a key, tokens it signed are refused
    after that long even while tokens of its other keys keep arriving."""
    rsa_jwk = json.loads(RSAAlgorithm.to_jwk(OTHER_KEY.public_key()))
    published = {"keys": [*jwks_body()["keys"], {**rsa_jwk, "kid": "k2", "alg": "RS256", "use": "sig"}]}
    now = [1000.0]

    async def keys(request: Any) -> JSONResponse:
        return JSONResponse(published)

    def signed(key: Any, kid: str) -> str:
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 600}
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    async with served(Starlette(routes=[Route("/jwks", keys)])) as idp:
        verifier = JwtVerifier(
            jwks_url=f"{idp}/jwks", issuer=ISSUER, audience=AUDIENCE, max_age=300, clock=lambda: now[0]
        )
        assert await verifier.verify(signed(KEY, "k1")) is not None
        published["keys"] = [k for k in published["keys"] if k["kid"] != "k1"]  # k1 revoked
        now[0] += 100
        assert await verifier.verify(signed(OTHER_KEY, "k2")) is not None
        assert await verifier.verify(signed(KEY, "k1")) is not None  # within max_age: still cached
        now[0] += 250
        assert await verifier.verify(signed(OTHER_KEY, "k2")) is not None
        assert await verifier.verify(signed(KEY, "k1")) is None  # refetched: gone


async def test_api_key_callers(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"# gateway keys\n{hashlib.sha256(b'ann-secret-key').hexdigest()} acme ann\n\n")
    async with sandbox_on_port() as (_, base, port, _l):
        settings = oauth_settings(base, tmp_path, mcp_auth="api-key", mcp_api_keys_file=str(keys))
        built = create_server(settings, public_url=f"http://127.0.0.1:{port}")
        app = create_app(built, settings, transport="http", host="127.0.0.1")
        async with served(app, port) as mcp, httpx2.AsyncClient(timeout=10) as web:
            link = await _link(f"{mcp}/mcp", "ann-secret-key")
            pending = await built.runtime.store.peek_pending(link.rsplit("/", 1)[1])
            assert pending.principal == Principal("acme", "ann")
            refused = await web.post(
                f"{mcp}/mcp",
                headers={
                    "Authorization": "Bearer wrong-key",
                    "Accept": "application/json, text/event-stream",
                },
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            )
            assert refused.status_code == 401


def test_api_key_file_problems_name_the_line(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"{'a' * 64} acme ann\nnot a key line\n")
    with pytest.raises(ConfigurationError, match="line 2"):
        ApiKeys(keys)
    with pytest.raises(ConfigurationError, match="LIVECHAT_MCP_API_KEYS_FILE"):
        ApiKeys(tmp_path / "missing")


def test_api_keys_are_reloaded_when_the_file_changes(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"{hashlib.sha256(b'one').hexdigest()} t u1\n")
    clock = [0.0]
    registry = ApiKeys(keys, check_every=5, clock=lambda: clock[0])
    assert registry.verify("one") is not None and registry.verify("two") is None
    keys.write_text(f"{hashlib.sha256(b'two').hexdigest()} t u2\n")
    import os

    os.utime(keys, (time.time() + 10, time.time() + 10))
    clock[0] = 10.0
    caller = registry.verify("two")
    assert caller is not None and caller.principal == Principal("t", "u2")
    assert registry.verify("one") is None


def _line(key: str, tenant: str, user: str) -> str:
    return f"{hashlib.sha256(key.encode()).hexdigest()} {tenant} {user}\n"


def _touch_later(path: Path, seconds: float) -> None:
    import os

    os.utime(path, (time.time() + seconds, time.time() + seconds))


def test_api_keys_fail_closed_when_the_file_goes_away(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keys = tmp_path / "keys"
    keys.write_text(_line("one", "t", "u1") + _line("two", "t", "u2"))
    clock = [0.0]
    registry = ApiKeys(keys, check_every=5, clock=lambda: clock[0])
    assert registry.verify("one") is not None
    keys.unlink()
    with caplog.at_level("WARNING", logger="mcp_livechat.connect"):
        for step in (10.0, 20.0, 30.0):
            clock[0] = step
            assert registry.verify("one") is None and registry.verify("two") is None
    refusals = [r for r in caplog.records if "every API key is refused" in r.getMessage()]
    assert len(refusals) == 1 and "cannot read" in refusals[0].getMessage()  # logged once, with why
    keys.write_text(_line("two", "t", "u2"))
    clock[0] = 40.0
    assert registry.verify("two") is not None and registry.verify("one") is None


def test_api_keys_an_unreadable_file_refuses_every_key(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(_line("one", "t", "u1"))
    clock = [0.0]
    registry = ApiKeys(keys, check_every=5, clock=lambda: clock[0])
    keys.write_bytes(b"\xff\xfe garbled \x00\x81" + _line("one", "t", "u1").encode())
    _touch_later(keys, 10)
    clock[0] = 10.0
    assert registry.verify("one") is None


def test_api_keys_a_malformed_line_is_skipped_and_the_rest_applies(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keys = tmp_path / "keys"
    keys.write_text(_line("one", "t", "u1") + _line("two", "t", "u2"))
    clock = [0.0]
    registry = ApiKeys(keys, check_every=5, clock=lambda: clock[0])
    # "two" is removed, a typo line is added, "three" is new
    keys.write_text(_line("one", "t", "u1") + "this is not a key line\n" + _line("three", "t", "u3"))
    _touch_later(keys, 10)
    clock[0] = 10.0
    with caplog.at_level("WARNING", logger="mcp_livechat.connect"):
        assert registry.verify("two") is None  # the removal applies despite the bad line
    assert registry.verify("one") is not None and registry.verify("three") is not None
    assert any("line 2" in r.getMessage() and "skipped" in r.getMessage() for r in caplog.records)


def test_api_keys_a_hash_listed_for_two_people_is_refused(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(_line("one", "t", "u1") + _line("two", "t", "u2"))
    clock = [0.0]
    registry = ApiKeys(keys, check_every=5, clock=lambda: clock[0])
    keys.write_text(_line("one", "t", "u1") + _line("two", "t", "u2") + _line("two", "t", "mallory"))
    _touch_later(keys, 10)
    clock[0] = 10.0
    assert registry.verify("two") is None and registry.verify("one") is not None


async def test_an_unverified_email_is_no_email_and_only_for_the_email_claim() -> None:
    async with served(jwks_app()) as idp:
        by_email = JwtVerifier(jwks_url=f"{idp}/jwks", issuer=ISSUER, audience=AUDIENCE, email_claim="email")
        by_upn = JwtVerifier(jwks_url=f"{idp}/jwks", issuer=ISSUER, audience=AUDIENCE, email_claim="upn")
        emails = [
            (await by_email.verify(token(email="ann@acme.example", email_verified=v))).email  # type: ignore[union-attr]
            for v in (False, "false", "FALSE", True, None)
        ]
        upn = await by_upn.verify(token(upn="ann@acme.example", email_verified=False))
    assert emails == [None, None, None, "ann@acme.example", "ann@acme.example"]
    assert upn is not None and upn.email == "ann@acme.example"  # email_verified speaks of `email` only


async def test_the_last_keys_stay_while_the_jwks_is_away_but_not_forever() -> None:
    now, up = [1000.0], [True]

    async def keys(request: Any) -> JSONResponse:
        return JSONResponse(jwks_body()) if up[0] else JSONResponse({}, status_code=503)

    async with served(Starlette(routes=[Route("/jwks", keys)])) as idp:
        verifier = JwtVerifier(
            jwks_url=f"{idp}/jwks", issuer=ISSUER, audience=AUDIENCE, max_age=300, max_stale=86400,
            clock=lambda: now[0],
        )  # fmt: skip
        assert await verifier.verify(token()) is not None
        up[0] = False
        now[0] += 3600  # stale, and the JWKS is down: the last keys still serve
        assert await verifier.verify(token()) is not None
        now[0] += 86400  # a day without a successful fetch: no more
        assert await verifier.verify(token()) is None
        up[0] = True
        now[0] += 60  # the next refetch (30 s apart) brings them back
        assert await verifier.verify(token()) is not None
