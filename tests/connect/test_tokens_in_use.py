"""Stored tokens in use: refresh once for many waiting calls, a dead grant becomes a reconnect link,
people never see each other's data, a row copied to someone else does not open, key rotation."""

from __future__ import annotations

import asyncio
import base64
import sqlite3
import time
from pathlib import Path
from typing import Any

from mcp import Client

from mcp_livechat.connect.crypto import Sealer, key_id
from mcp_livechat.connect.identity import LOCAL, Principal
from mcp_livechat.connect.sqlite_store import SqliteTokenStore
from mcp_livechat.connect.store import StoredToken
from mcp_livechat.livechat import LiveChat, LiveChatHttp, StaticCredentials, bearer, default_http_client
from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.server import create_server
from tests.conftest import SANDBOX_URL
from tests.connect.flow_kit import KEY_1, KEY_2, oauth_settings


def _stored(minted: dict[str, Any], *, expires_in: float) -> StoredToken:
    now = time.time()
    return StoredToken(
        access_token=str(minted["access_token"]),
        refresh_token=str(minted["refresh_token"]),
        expires_at=now + expires_in,
        scope=str(minted["scope"]),
        account_id=str(minted["account_id"]),
        organization_id=str(minted["organization_id"]),
        client_id=constants.CLIENT_ID,
        obtained_at=now - 28800,
    )


def _store(tmp: Path, *keys: str) -> SqliteTokenStore:
    return SqliteTokenStore(tmp / "tokens.db", Sealer([base64.b64decode(k) for k in keys or (KEY_1,)]))


def _server(sandbox: Sandbox, tmp: Path, store: SqliteTokenStore, **overrides: Any) -> Any:
    settings = oauth_settings(SANDBOX_URL, tmp, **overrides)
    return create_server(settings, store=store, transport=sandbox.transport()).server


async def test_one_refresh_for_a_hundred_waiting_calls(sandbox: Sandbox, tmp_path: Path, era: str) -> None:
    store = _store(tmp_path)
    expired = _stored(sandbox.mint_token(constants.AGENT_EMAIL), expires_in=-60)
    await store.put(LOCAL, expired)
    async with Client(_server(sandbox, tmp_path, store), mode=era) as client:  # type: ignore[arg-type]
        results = await asyncio.gather(*(client.call_tool("list_groups", {}) for _ in range(100)))
    assert all(not r.is_error for r in results), [r.content for r in results if r.is_error][:1]
    assert sandbox.stats.counter("token_refreshed") == 1
    fresh = await store.get(LOCAL)
    assert fresh is not None and fresh.access_token != expired.access_token
    assert fresh.refresh_token == expired.refresh_token  # confidential app: the refresh token stays
    assert fresh.expires_at > time.time() + 28000
    await store.close()


async def test_a_rejected_access_token_is_refreshed_once_and_the_call_retried(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    store = _store(tmp_path)
    minted = sandbox.mint_token(constants.AGENT_EMAIL, expires_in=60)
    await store.put(LOCAL, _stored(minted, expires_in=3600))  # our clock says an hour left...
    sandbox.clock.advance(120)  # ...LiveChat's says it expired (clock skew, early revocation)
    async with Client(_server(sandbox, tmp_path, store)) as client:
        result = await client.call_tool("list_groups", {})
    assert not result.is_error
    assert sandbox.stats.counter("token_refreshed") == 1
    assert sandbox.stats.requests["list_groups"] == 2  # refused once, then retried with the new token
    await store.close()


async def test_a_revoked_refresh_token_yields_a_reconnect_link(
    sandbox: Sandbox, tmp_path: Path, era: str
) -> None:
    store = _store(tmp_path)
    minted = sandbox.mint_token(constants.AGENT_EMAIL)
    await store.put(LOCAL, _stored(minted, expires_in=-60))
    async with default_http_client(transport=sandbox.transport()) as http:
        accounts = LiveChat(LiveChatHttp(http, SANDBOX_URL, f"{SANDBOX_URL}/accounts").bind(
            StaticCredentials(bearer(str(minted["access_token"]))))).accounts  # fmt: skip
        assert await accounts.revoke_token(str(minted["refresh_token"]))
    async with Client(_server(sandbox, tmp_path, store), mode=era) as client:  # type: ignore[arg-type]
        first = await client.call_tool("list_chats", {})
        second = await client.call_tool("list_chats", {})
        status = (await client.call_tool("get_connection_status", {})).structured_content or {}
    links = []
    for result in (first, second):
        text = result.content[0].text  # type: ignore[union-attr]
        assert result.is_error and "accounts/?" in text and "state=" in text  # LiveChat's consent page
        assert "no longer accepts" in text and "refresh refused (invalid_grant)" in text
        links.append(text.split("Open ", 1)[1].split(" ", 1)[0])
    assert links[0] == links[1]  # the live link is handed out again: no new pending row per call
    assert sandbox.stats.counter("token_refreshed") == 0  # refused once; the second call asked nobody
    (grant,) = await store.list_grants()  # the dead grant is kept, marked, with the reason
    assert (grant.state, grant.state_reason) == ("needs_reconnect", "refresh refused (invalid_grant)")
    assert await store.get(LOCAL) is not None
    assert status["connected"] is False and "refresh refused (invalid_grant)" in status["message"]
    assert status["connect_url"] == links[0]
    await store.close()


async def test_two_people_on_two_accounts_never_see_each_other(sandbox: Sandbox, tmp_path: Path) -> None:
    from mcp_livechat.server import Runtime
    from mcp_livechat.tools.context import ToolContext

    store = _store(tmp_path)
    anna, bob = Principal("t1", "anna"), Principal("t2", "bob")
    await store.put(anna, _stored(sandbox.mint_token(constants.AGENT_EMAIL), expires_in=3600))
    await store.put(bob, _stored(sandbox.mint_token(constants.FRA_AGENT_EMAIL), expires_in=3600))
    dal = {c.id for c in sandbox.state.chats.values() if c.organization_id == constants.ORGANIZATION_ID}
    fra = {c.id for c in sandbox.state.chats.values() if c.organization_id == constants.FRA_ORGANIZATION_ID}

    async with Runtime(
        oauth_settings(SANDBOX_URL, tmp_path), store=store, transport=sandbox.transport()
    ) as rt:
        services = rt.services()

        async def as_person(who: Principal) -> tuple[set[str], str]:
            lc = ToolContext(
                who, LiveChat(services.http.bind(await rt.connections.credentials(who))), services
            )
            chats: set[str] = set()
            for _ in range(5):
                page = await lc.livechat.agent.list_chats(limit=20)
                chats |= {c.id for c in page.chats_summary}
            return chats, await lc.my_agent_id()

        results = await asyncio.gather(*(as_person(p) for p in [anna, bob] * 10))
    for (chats, me), who in zip(results, [anna, bob] * 10, strict=True):
        if who == anna:
            assert chats and chats <= dal and me == constants.AGENT_EMAIL
        else:
            assert chats and chats <= fra and me == constants.FRA_AGENT_EMAIL
    await store.close()


async def test_a_row_copied_to_someone_else_does_not_open(sandbox: Sandbox, tmp_path: Path) -> None:
    store = _store(tmp_path)
    await store.put(LOCAL, _stored(sandbox.mint_token(constants.AGENT_EMAIL), expires_in=3600))
    await store.put(
        Principal("t2", "eve"), _stored(sandbox.mint_token(constants.FRA_AGENT_EMAIL), expires_in=3600)
    )
    with sqlite3.connect(tmp_path / "tokens.db") as db:  # eve copies local's row over her own
        (blob,) = db.execute("SELECT sealed FROM tokens WHERE tenant='local'").fetchone()
        db.execute("UPDATE tokens SET sealed=? WHERE tenant='t2'", (blob,))
    from mcp_livechat.server import Runtime

    async with Runtime(
        oauth_settings(SANDBOX_URL, tmp_path), store=store, transport=sandbox.transport()
    ) as rt:
        status = await rt.connections.status(Principal("t2", "eve"))
    assert status.connected is False and "cannot be decrypted" in status.message
    assert status.connect_url  # she is told to connect her own account
    eve = await store.grant(Principal("t2", "eve"))  # and the row is kept, marked, for an operator to see
    assert eve is not None and (eve.state, eve.state_reason) == ("needs_reconnect", "cannot be decrypted")
    await store.close()


async def test_the_store_file_holds_no_token_and_rotation_keeps_rows_readable(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    minted = sandbox.mint_token(constants.AGENT_EMAIL)
    old = _store(tmp_path, KEY_1)
    await old.put(LOCAL, _stored(minted, expires_in=-60))
    await old.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("tokens.db*"))
    assert (
        str(minted["access_token"]).encode() not in raw and str(minted["refresh_token"]).encode() not in raw
    )

    rotated = _store(tmp_path, KEY_2, KEY_1)  # new key first: it seals; the old one still opens
    async with Client(_server(sandbox, tmp_path, rotated, encryption_key=f"{KEY_2},{KEY_1}")) as client:
        assert not (await client.call_tool("list_groups", {})).is_error  # old row read, token refreshed
    with sqlite3.connect(tmp_path / "tokens.db") as db:
        (blob,) = db.execute("SELECT sealed FROM tokens").fetchone()
    new_key_id = Sealer([base64.b64decode(KEY_2)]).primary_key_id
    assert key_id(blob) == new_key_id  # the refreshed row is sealed with the new key
    await rotated.close()
