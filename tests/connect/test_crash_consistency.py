"""Crash consistency of the token store: a real server process is SIGKILLed at random moments while
it refreshes expired tokens for several people and completes connect callbacks, 30+ times. After
every kill the SQLite file passes `PRAGMA integrity_check` and the store opens; at the end every
person who was connected, and every newcomer whose confirmation page said "connected", has a
working grant without reconnecting."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import random
import signal
import sqlite3
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_livechat.connect.crypto import Sealer
from mcp_livechat.connect.identity import Principal
from mcp_livechat.connect.sqlite_store import SqliteTokenStore
from mcp_livechat.connect.store import StoredToken
from mcp_livechat.sandbox import Sandbox, constants
from tests.connect.flow_kit import KEY_1, Browser, oauth_env, sandbox_on_port

RUNS = 30
REFRESHERS = {"ann": "smith@example.com", "bo": "garcia@example.com", "cy": "miller@example.com",
              "di": "fischer@globex.example"}  # fmt: skip
NEWCOMER_AGENTS = ["jones@example.com", "brown@example.com", "lee@example.com", "schmidt@globex.example"]


def key_of(user: str) -> str:
    return f"key-{user}-0123456789abcdef"


def sealer() -> Sealer:
    return Sealer([base64.b64decode(KEY_1)])


def minted(sb: Sandbox, email: str) -> StoredToken:
    token = sb.mint_token(email)
    now = time.time()
    return StoredToken(
        access_token=str(token["access_token"]), refresh_token=str(token["refresh_token"]), expires_at=now - 60,
        scope=str(token["scope"]), account_id=str(token["account_id"]), client_id=constants.CLIENT_ID,
        obtained_at=now - 28860,
    )  # fmt: skip


async def expire_everyone(db: Path) -> None:
    """While the server is down: every refresher's access token is past its expiry in the store."""
    store = SqliteTokenStore(db, sealer())
    try:
        for user in REFRESHERS:
            token = await store.get(Principal("crash", user))
            assert token is not None, f"{user} lost the grant"
            await store.put(Principal("crash", user), replace(token, expires_at=time.time() - 60))
    finally:
        await store.close()


def check_integrity(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


async def start(env: dict[str, str], base: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mcp_livechat", "serve", "--transport", "http", "--port", base.rsplit(":", 1)[1],
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    async with httpx2.AsyncClient(timeout=0.5) as web:
        for _ in range(400):
            with contextlib.suppress(httpx2.HTTPError):
                if (await web.get(f"{base}/healthz")).status_code == 200:
                    return proc
            if proc.returncode is not None:
                raise AssertionError(f"the server exited with {proc.returncode}")
            await asyncio.sleep(0.02)
    raise AssertionError("the server did not start")


async def call(base: str, user: str, tool: str, args: dict[str, Any] | None = None) -> Any:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key_of(user)}"}, timeout=10)
    async with Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client:
        return await client.call_tool(tool, args or {})


async def newcomer_connects(sb: Sandbox, base: str, user: str, agent: str, confirmed: dict[str, str]) -> None:
    out = await call(base, user, "connect_livechat")
    link = str((out.structured_content or {})["connect_url"])
    sb.set_browser_account(agent)
    browser = Browser()
    page = await browser.open(link)
    assert "Connect LiveChat?" in page.text
    done = await browser.submit(page, "confirm")
    if "LiveChat is connected" in done.text:
        confirmed[user] = agent


@pytest.mark.slow
async def test_sigkill_during_refreshes_and_callbacks_loses_no_grant(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("CRASH_SEED", "12345")))
    newcomers = [f"new{i}" for i in range(RUNS)]
    keys = tmp_path / "keys"
    keys.write_text("".join(f"{hashlib.sha256(key_of(u).encode()).hexdigest()} crash {u}\n"
                            for u in [*REFRESHERS, *newcomers]))  # fmt: skip
    async with sandbox_on_port() as (sb, lc_base, port, _):
        base = f"http://127.0.0.1:{port}"
        env = oauth_env(lc_base, tmp_path, LIVECHAT_PUBLIC_URL=base, LIVECHAT_MCP_AUTH="api-key",
                        LIVECHAT_MCP_API_KEYS_FILE=str(keys))  # fmt: skip
        db = tmp_path / "tokens.db"
        store = SqliteTokenStore(db, sealer())
        for user, email in REFRESHERS.items():
            await store.put(Principal("crash", user), minted(sb, email))
        await store.close()
        confirmed: dict[str, str] = {}
        kills = 0
        for run in range(RUNS):
            await expire_everyone(db)
            proc = await start(env, base)
            work = [asyncio.create_task(call(base, u, "get_my_profile")) for u in REFRESHERS]
            agent = NEWCOMER_AGENTS[run % len(NEWCOMER_AGENTS)]
            work.append(asyncio.create_task(newcomer_connects(sb, base, newcomers[run], agent, confirmed)))
            await asyncio.sleep(rng.uniform(0.05, 1.0))  # somewhere in the refreshes or the callback
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            kills += 1
            await asyncio.gather(*work, return_exceptions=True)  # the killed server's calls fail: fine
            check_integrity(db)
            reopened = SqliteTokenStore(db, sealer())  # schema and key checks pass after every kill
            await reopened.close()

        proc = await start(env, base)  # and now, without a kill: everyone works without reconnecting
        try:
            people = {**REFRESHERS, **confirmed}
            results = await asyncio.gather(*(call(base, u, "get_my_profile") for u in people))
        finally:
            proc.send_signal(signal.SIGTERM)
            await proc.wait()
    assert kills >= 30
    assert 0 < len(confirmed) < RUNS  # some callbacks were cut short, some completed
    for (user, email), result in zip(people.items(), results, strict=True):
        assert not result.is_error, (user, result.content)
        assert (result.structured_content or {})["agent_id"] == email
    assert sb.stats.counter("token_refreshed") >= len(REFRESHERS)
