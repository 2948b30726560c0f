"""The token endpoint as LiveChat documents it: no `scope` on refresh, comma-separated scopes at
authorize, an app misconfiguration never costs anyone their grant, logout revokes both tokens."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mcp import Client

from mcp_livechat.connect.crypto import Sealer
from mcp_livechat.connect.identity import LOCAL
from mcp_livechat.connect.sqlite_store import SqliteTokenStore
from mcp_livechat.connect.store import StoredToken
from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.server import Runtime, create_server
from tests.conftest import SANDBOX_URL
from tests.connect.flow_kit import KEY_1, oauth_settings


def _stored(minted: dict[str, Any], *, expires_in: float, access: str | None = None) -> StoredToken:
    now = time.time()
    return StoredToken(
        access_token=access or str(minted["access_token"]),
        refresh_token=str(minted["refresh_token"]),
        expires_at=now + expires_in,
        scope=str(minted["scope"]),
        account_id=str(minted["account_id"]),
        client_id=constants.CLIENT_ID,
        obtained_at=now - 28800,
    )


def _store(tmp: Path) -> SqliteTokenStore:
    return SqliteTokenStore(tmp / "tokens.db", Sealer([base64.b64decode(KEY_1)]))


async def _list_groups(sandbox: Sandbox, tmp: Path, store: SqliteTokenStore, **overrides: Any) -> Any:
    settings = oauth_settings(SANDBOX_URL, tmp, **overrides)
    server, _ = create_server(settings, store=store, transport=sandbox.transport())
    async with Client(server) as client:
        return await client.call_tool("list_groups", {})


async def test_a_refresh_carries_no_scope_even_when_scopes_are_configured(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The sandbox refuses a refresh that carries `scope` (the documented request has none)."""
    store = _store(tmp_path)
    await store.put(LOCAL, _stored(sandbox.mint_token(constants.AGENT_EMAIL), expires_in=-60))
    result = await _list_groups(sandbox, tmp_path, store, scopes="groups--all:ro,chats--all:ro")
    assert not result.is_error, result.content
    assert sandbox.stats.counter("token_refreshed") == 1
    await store.close()


async def test_the_authorize_url_lists_scopes_comma_separated(sandbox: Sandbox, tmp_path: Path) -> None:
    settings = oauth_settings(SANDBOX_URL, tmp_path, scopes="chats--all:ro groups--all:ro")
    async with Runtime(settings, store=_store(tmp_path), transport=sandbox.transport()) as rt:
        rt.oauth_connections.link_base = "http://127.0.0.1:8000"  # an HTTP server's links
        link = await rt.oauth_connections.connect_url(LOCAL)
        pending = await rt.oauth_connections.store.peek_pending(link.rsplit("/", 1)[1])
        assert pending is not None
        consent = rt.oauth_connections.consent_url(pending)
    assert parse_qs(urlsplit(consent).query)["scope"] == ["chats--all:ro,groups--all:ro"]


async def test_a_wrong_client_secret_then_the_right_one_leaves_the_grant_usable(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    store = _store(tmp_path)
    stored = _stored(sandbox.mint_token(constants.AGENT_EMAIL), expires_in=-60)
    await store.put(LOCAL, stored)
    wrong = await _list_groups(sandbox, tmp_path, store, client_secret="sbx_cs_not_the_secret")
    text = wrong.content[0].text  # type: ignore[union-attr]
    assert wrong.is_error and "misconfigured" in text and "your sign-in is kept" in text
    kept = await store.get(LOCAL)
    assert kept is not None and kept.refresh_token == stored.refresh_token  # nothing deleted
    right = await _list_groups(sandbox, tmp_path, store)
    assert not right.is_error, right.content
    assert sandbox.stats.counter("token_refreshed") == 1  # renewed with the right secret, no reconnect
    await store.close()


async def test_a_revoked_grant_becomes_a_reconnect_link(sandbox: Sandbox, tmp_path: Path) -> None:
    store = _store(tmp_path)
    minted = sandbox.mint_token(constants.AGENT_EMAIL)
    await store.put(LOCAL, _stored(minted, expires_in=-60))
    sandbox.state.tokens.revoke(str(minted["refresh_token"]))  # e.g. the person revoked the app
    result = await _list_groups(sandbox, tmp_path, store)
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and "no longer accepts" in text and "state=" in text
    await store.close()


async def test_logout_revokes_the_refresh_token_when_the_access_token_cannot_be_revoked(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    store = _store(tmp_path)
    minted = sandbox.mint_token(constants.AGENT_EMAIL)
    await store.put(LOCAL, _stored(minted, expires_in=3600, access="dal:not-a-token-livechat-knows"))
    async with Runtime(
        oauth_settings(SANDBOX_URL, tmp_path), store=store, transport=sandbox.transport()
    ) as rt:
        status = await rt.connections.disconnect(LOCAL)
    assert "revoked at LiveChat" in status.message
    assert sandbox.state.tokens.valid_refresh(str(minted["refresh_token"])) is None
    assert await store.get(LOCAL) is None
    await store.close()
