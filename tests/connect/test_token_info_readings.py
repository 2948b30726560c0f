"""How `GET /v2/info` refuses a revoked or expired token is not documented (the Global Accounts
API spec lists only 422 and 500 for it; the sandbox answers 401 `unauthorized`, [UNVERIFIED]).
The health sweep and the verdict on an `unauthorized_client` refresh decide from whether LiveChat
accepts the token at all, so the same grant ends the same way under every reading, and only
LiveChat being unwell (5xx, rate limit) or an answer without LiveChat's error body (a proxy's
page) keeps a grant as it was."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx2
import pytest

from mcp_livechat.connect.connections import OAuthConnections
from mcp_livechat.connect.health import HealthMonitor
from mcp_livechat.connect.identity import LOCAL, Principal
from mcp_livechat.errors import LiveChatError, ReconnectRequired
from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.server import Runtime
from tests.conftest import SANDBOX_URL
from tests.connect.flow_kit import oauth_settings, stored_token
from tests.connect.store_kit import SqliteBackend
from tests.other_readings import Forward, OtherReading, accounts_error, refusals_as

REVOKED, FINE = Principal("acme", "revoked"), Principal("acme", "fine")

READINGS: dict[str, Callable[[], httpx2.Response] | None] = {
    "401 unauthorized (the sandbox's)": None,
    "422 invalid_request": lambda: accounts_error(422, "invalid_request", "The token is invalid."),
    "404 resource_not_found": lambda: accounts_error(404, "resource_not_found"),
    "400 bad_request": lambda: accounts_error(400, "bad_request"),
    "403 access_denied": lambda: accounts_error(403, "access_denied"),
}


def _transport(sandbox: Sandbox, reading: Callable[[], httpx2.Response] | None) -> httpx2.AsyncBaseTransport:
    if reading is None:
        return sandbox.transport()
    return OtherReading(sandbox.transport(), {"/v2/info": refusals_as(reading)})


@pytest.mark.parametrize("reading", list(READINGS))
async def test_the_sweep_finds_a_revoked_grant_whatever_info_answers(
    sandbox: Sandbox, tmp_path: Path, reading: str
) -> None:
    store = await SqliteBackend(tmp_path / "tokens.db").make()
    revoked = sandbox.mint_token(constants.AGENT_EMAIL)
    fine = sandbox.mint_token(constants.NORMAL_AGENT_EMAIL)
    await store.put(REVOKED, stored_token(revoked, expires_at=time.time() + 28800))
    await store.put(FINE, stored_token(fine, expires_at=time.time() + 28800))
    sandbox.state.tokens.revoke(str(revoked["access_token"]))  # the person revoked the app
    settings = oauth_settings(SANDBOX_URL, tmp_path)
    transport = _transport(sandbox, READINGS[reading])
    async with Runtime(settings, store=store, transport=transport, background=False) as rt:
        report = await HealthMonitor(rt.oauth_connections, interval=60).sweep()
    assert report is not None and dict(report.outcomes) == {"dead": 1, "ok": 1}
    grants = {g.user: g for g in await store.list_grants()}
    assert (grants["revoked"].state, grants["revoked"].state_reason) == (
        "needs_reconnect",
        "refresh refused (invalid_grant)",  # LiveChat's documented word on the refresh decides
    )
    assert (grants["fine"].state, grants["fine"].last_outcome) == ("connected", "ok")
    await store.close()


async def test_an_unwell_info_endpoint_keeps_the_grant_as_it_was(sandbox: Sandbox, tmp_path: Path) -> None:
    store = await SqliteBackend(tmp_path / "tokens.db").make()
    await store.put(
        FINE, stored_token(sandbox.mint_token(constants.AGENT_EMAIL), expires_at=time.time() + 28800)
    )
    sandbox.faults.add("server_error", count=10, methods=["info"])
    async with Runtime(
        oauth_settings(SANDBOX_URL, tmp_path), store=store, transport=sandbox.transport(), background=False
    ) as rt:
        report = await HealthMonitor(rt.oauth_connections, interval=60).sweep()
    assert report is not None and dict(report.outcomes) == {"error": 1}
    grant = (await store.list_grants())[0]
    assert (grant.state, grant.last_error_type) == ("connected", "server_error")
    assert sandbox.stats.counter("token_refreshed") == 0  # a 5xx says nothing about the token
    await store.close()


async def _refresh_refused_as_not_found(
    sandbox: Sandbox, tmp_path: Path, transport: httpx2.AsyncBaseTransport, *, access_alive: bool
) -> LiveChatError:
    """A stored grant whose refresh token LiveChat no longer knows (`unauthorized_client`, "refresh
    token not found"), refreshed after its access token was refused; the server's app has not
    proven itself since start."""
    store = await SqliteBackend(tmp_path / "tokens.db").make()
    minted = sandbox.mint_token(constants.AGENT_EMAIL)
    token = replace(
        stored_token(minted, expires_at=time.time() + 28800), refresh_token="never-issued-by-livechat"
    )
    await store.put(LOCAL, token)
    if not access_alive:
        sandbox.state.tokens.revoke(str(minted["access_token"]))
    async with Runtime(
        oauth_settings(SANDBOX_URL, tmp_path), store=store, transport=transport, background=False
    ) as rt:
        connections: OAuthConnections = rt.oauth_connections
        assert not connections._app.proven
        with pytest.raises(LiveChatError) as caught:
            await connections.fresh(LOCAL, rejected=token.access_token)
    grant = await store.grant(LOCAL)
    assert grant is not None
    caught.value.add_note(f"grant state: {grant.state}")
    await store.close()
    return caught.value


@pytest.mark.parametrize("reading", list(READINGS))
async def test_unauthorized_client_with_a_refused_unexpired_token_is_a_dead_grant_whatever_info_answers(
    sandbox: Sandbox, tmp_path: Path, reading: str
) -> None:
    refused = await _refresh_refused_as_not_found(
        sandbox, tmp_path, _transport(sandbox, READINGS[reading]), access_alive=False
    )
    assert isinstance(refused, ReconnectRequired), str(refused)
    assert "unauthorized_client" in str(refused) and "reconnect" in str(refused)
    assert refused.__notes__ == ["grant state: needs_reconnect"]


async def test_unauthorized_client_with_an_accepted_token_blames_the_app(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    refused = await _refresh_refused_as_not_found(sandbox, tmp_path, sandbox.transport(), access_alive=True)
    assert not isinstance(refused, ReconnectRequired)
    assert "misconfigured" in str(refused) and "your sign-in is kept" in str(refused)
    assert refused.__notes__ == ["grant state: connected"]


# A bare status without LiveChat's error body is not LiveChat judging the token: a proxy's or a
# firewall's page in front of it, say. It proves nothing, so no grant is lost over it.


def _behind_a_proxy(sandbox: Sandbox, status: int) -> OtherReading:
    async def page(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        return httpx2.Response(
            status, text="<html><h1>Access denied</h1></html>", headers={"content-type": "text/html"}
        )

    return OtherReading(sandbox.transport(), {"/v2/info": page})


@pytest.mark.parametrize("status", [401, 403, 407])
@pytest.mark.parametrize("access_alive", [True, False])
async def test_a_proxy_page_at_info_keeps_the_grant_when_the_refresh_is_unauthorized_client(
    sandbox: Sandbox, tmp_path: Path, status: int, access_alive: bool
) -> None:
    transport = _behind_a_proxy(sandbox, status)
    refused = await _refresh_refused_as_not_found(sandbox, tmp_path, transport, access_alive=access_alive)
    assert transport.applied == {"/v2/info": 1}
    assert not isinstance(refused, ReconnectRequired), str(refused)
    assert refused.__notes__ == ["grant state: connected"]


async def test_the_sweep_keeps_a_grant_when_info_answers_a_proxy_page(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    store = await SqliteBackend(tmp_path / "tokens.db").make()
    await store.put(
        FINE, stored_token(sandbox.mint_token(constants.AGENT_EMAIL), expires_at=time.time() + 28800)
    )
    transport = _behind_a_proxy(sandbox, 403)
    async with Runtime(
        oauth_settings(SANDBOX_URL, tmp_path), store=store, transport=transport, background=False
    ) as rt:
        report = await HealthMonitor(rt.oauth_connections, interval=60).sweep()
    assert report is not None and dict(report.outcomes) == {"error": 1}
    assert (await store.list_grants())[0].state == "connected"
    assert sandbox.stats.counter("token_refreshed") == 0
    await store.close()
