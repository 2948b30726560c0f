"""When a refresh is refused: only LiveChat's word that the grant is gone marks it needs reconnect
(kept, with the reason); a refusal of the app keeps it and says so; a sign-in completed while a
refresh was being refused is not marked dead."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from mcp_livechat.connect.identity import LOCAL
from mcp_livechat.errors import LiveChatError, ReconnectRequired
from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.server import Runtime
from tests.conftest import SANDBOX_URL
from tests.connect.flow_kit import oauth_settings, stored_token
from tests.connect.store_kit import SqliteBackend


def _expired(sandbox: Sandbox) -> tuple[dict[str, Any], Any]:
    minted = sandbox.mint_token(constants.AGENT_EMAIL)
    return minted, stored_token(minted, expires_at=time.time() - 60)


async def test_a_refusal_of_the_app_keeps_the_grant_and_tells_the_person(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    store = await SqliteBackend(tmp_path / "tokens.db").make()
    await store.put(LOCAL, _expired(sandbox)[1])
    settings = oauth_settings(SANDBOX_URL, tmp_path, client_secret="not-the-secret")
    async with Runtime(settings, store=store, transport=sandbox.transport(), background=False) as rt:
        try:
            await rt.oauth_connections.fresh(LOCAL)
        except LiveChatError as exc:
            refused = exc
    assert not isinstance(refused, ReconnectRequired)
    text = str(refused)
    assert "unauthorized_client" in text and "misconfigured" in text and "/accounts/?" in text
    grant = await store.grant(LOCAL)
    assert grant is not None and grant.state == "connected"  # kept: the operator fixes the app
    await store.close()


async def test_a_sign_in_completed_during_a_refused_refresh_is_not_marked_dead(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    store = await SqliteBackend(tmp_path / "tokens.db").make()
    minted, expired = _expired(sandbox)
    await store.put(LOCAL, expired)
    sandbox.state.tokens.revoke(str(minted["refresh_token"]))  # the old grant is gone...
    sandbox.faults.add("latency", count=1, methods=["token"], latency_ms=300)
    reconnected = stored_token(sandbox.mint_token(constants.AGENT_EMAIL), expires_at=time.time() + 28800)
    async with Runtime(oauth_settings(SANDBOX_URL, tmp_path), store=store, transport=sandbox.transport(),
                       background=False) as rt:  # fmt: skip
        refreshing = asyncio.create_task(rt.oauth_connections.fresh(LOCAL))
        await asyncio.sleep(0.1)
        await store.put(LOCAL, reconnected)  # ...and the person connects again meanwhile
        token = await refreshing
    assert token.access_token == reconnected.access_token
    grant = await store.grant(LOCAL)
    assert grant is not None and grant.state == "connected"
    await store.close()


async def test_a_grant_without_a_refresh_token_is_marked_not_deleted(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    from dataclasses import replace

    store = await SqliteBackend(tmp_path / "tokens.db").make()
    await store.put(LOCAL, replace(_expired(sandbox)[1], refresh_token=None))
    async with Runtime(oauth_settings(SANDBOX_URL, tmp_path), store=store, transport=sandbox.transport(),
                       background=False) as rt:  # fmt: skip
        try:
            await rt.oauth_connections.fresh(LOCAL)
        except ReconnectRequired as exc:
            needs = exc
    assert "no refresh token" in str(needs) and needs.connect_url
    grant = await store.grant(LOCAL)
    assert grant is not None and (grant.state, grant.state_reason) == ("needs_reconnect", "no refresh token")
    await store.close()
