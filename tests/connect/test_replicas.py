"""Many replicas, one truth: real `serve --transport http` processes on one PostgreSQL schema, a
sandbox on a real port as LiveChat, API-key callers through the SDK's HTTP client.

- a person connects through replica 1's link, the callback lands on replica 2, calls on replica
  3 work; after LiveChat lets every access token expire, 200 concurrent calls over four replicas
  cause exactly one refresh;
- with a one-second health interval, a grant revoked at LiveChat shows as needs reconnect in
  `connections --json` with nobody calling (marked, at the latest, by the first sweep that starts
  half an interval after the revocation), a grant near expiry is refreshed by the sweep before its
  person's next call, and the two replicas' sweeps never overlap.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import re
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

from mcp_livechat.cli import free_port
from mcp_livechat.connect.crypto import Sealer
from mcp_livechat.connect.identity import Principal
from mcp_livechat.connect.postgres_store import PostgresTokenStore
from mcp_livechat.livechat import LiveChat, LiveChatHttp, StaticCredentials, bearer, default_http_client
from mcp_livechat.sandbox import Sandbox, constants
from tests.connect.flow_kit import KEY_1, Browser, connect_through, sandbox_on_port, stored_token
from tests.connect.replica_kit import (
    api_keys,
    assert_no_secret_in,
    connections_json,
    keyed_client,
    pg_store_url,
    replicas,
    server_env,
)
from tests.connect.store_kit import PG_URL

ANNA_KEY, BEN_KEY = "anna-key-0123456789abcdef", "ben-key-0123456789abcdef"
ANNA, BEN = Principal("acme", "anna"), Principal("acme", "ben")


async def test_four_replicas_share_one_sign_in_and_refresh_it_once(tmp_path: Path, pg_schema: str) -> None:
    ports = [free_port() for _ in range(4)]
    keys = api_keys(tmp_path, [(ANNA_KEY, "acme", "anna")])
    async with sandbox_on_port(callback_port=ports[1]) as (sb, base, _, _):
        envs = [
            server_env(
                base,
                pg_store_url(pg_schema),
                LIVECHAT_MCP_AUTH="api-key",
                LIVECHAT_MCP_API_KEYS_FILE=str(keys),
                LIVECHAT_PUBLIC_URL=f"http://127.0.0.1:{port}",
                LIVECHAT_REDIRECT_URI=f"http://127.0.0.1:{ports[1]}/integration-callback",
                LIVECHAT_HEALTH_INTERVAL="0",
            )
            for port in ports
        ]
        async with replicas(tmp_path, envs, ports) as group:
            async with keyed_client(f"{group[0].base}/mcp", ANNA_KEY) as one:
                link = (await one.call_tool("connect_livechat", {})).structured_content["connect_url"]
            assert link.startswith(f"{group[0].base}/connect/")
            browser = Browser()
            # replica 1 -> LiveChat's consent -> replica 2's callback -> confirmed on replica 2
            page = await connect_through(browser, link)
            await browser.aclose()
            assert page.status_code == 200 and "LiveChat is connected" in page.text, page.text
            assert str(page.url).startswith(f"{group[1].base}/integration-callback")

            async with keyed_client(f"{group[2].base}/mcp", ANNA_KEY) as three:
                chats = await three.call_tool("list_chats", {"limit": 2})
                me = await three.call_tool("get_connection_status", {})
            assert not chats.is_error and len(chats.structured_content["chats"]) == 2
            assert me.structured_content["email"] == constants.AGENT_EMAIL

            sb.clock.advance(constants.ACCESS_TOKEN_LIFETIME + 60)  # LiveChat: every access token expired
            started = time.monotonic()
            async with AsyncExitStack() as stack:
                clients = [
                    await stack.enter_async_context(keyed_client(f"{r.base}/mcp", ANNA_KEY)) for r in group
                ]
                results = await asyncio.gather(
                    *(clients[i % 4].call_tool("list_groups", {}) for i in range(200))
                )
            elapsed = time.monotonic() - started
        logs = [r.stderr() for r in group]
    failed = [r.content for r in results if r.is_error]
    assert not failed, failed[:2]
    assert sb.stats.counter("token_issued") == 1  # one grant: one person, one sign-in
    assert sb.stats.counter("token_refreshed") == 1, sb.stats.counter("token_refreshed")
    assert elapsed < 30
    assert_no_secret_in(logs, sb)


async def _revoke(sb: Sandbox, base: str, access_token: str) -> None:
    async with default_http_client() as http:
        accounts = LiveChat(
            LiveChatHttp(http, base, f"{base}/accounts").bind(StaticCredentials(bearer(access_token)))
        ).accounts
        assert await accounts.revoke_token(access_token)  # takes its refresh token with it


_SWEEP = re.compile(r"health sweep from (\d+\.\d+) to (\d+\.\d+)")


async def test_the_sweep_finds_revoked_grants_and_renews_expiring_ones_unasked(
    tmp_path: Path, pg_schema: str
) -> None:
    interval = 1.0
    keys = api_keys(tmp_path, [(ANNA_KEY, "acme", "anna"), (BEN_KEY, "acme", "ben")])
    async with sandbox_on_port() as (sb, base, _, _):
        seed = PostgresTokenStore(PG_URL, Sealer([base64.b64decode(KEY_1)]), schema=pg_schema)
        anna_minted = sb.mint_token(constants.AGENT_EMAIL)
        await seed.put(ANNA, stored_token(anna_minted, expires_at=time.time() + 28800))
        ben_minted = sb.mint_token(constants.NORMAL_AGENT_EMAIL, expires_in=60)
        await seed.put(BEN, stored_token(ben_minted, expires_at=time.time() + 3))  # due before the next sweep
        for i, email in enumerate(sorted(sb.state.agents) * 2):  # more grants: a sweep takes a while
            filler = stored_token(sb.mint_token(email), expires_at=time.time() + 28800)
            await seed.put(Principal("filler", f"p{i:02}"), filler)
        sb.faults.add("latency", count=10_000, methods=["info"], latency_ms=40)
        env = server_env(
            base,
            pg_store_url(pg_schema),
            LIVECHAT_MCP_AUTH="api-key",
            LIVECHAT_MCP_API_KEYS_FILE=str(keys),
            LIVECHAT_HEALTH_INTERVAL=str(int(interval)),
            LIVECHAT_LOG_LEVEL="INFO",
        )
        async with replicas(tmp_path, [env, env]) as group:
            deadline = time.monotonic() + 10
            while (await seed.grant(BEN)).expires_at < time.time() + 3600:  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "the sweep did not renew the expiring grant"
                await asyncio.sleep(0.1)
            assert sb.stats.counter("token_refreshed") == 1
            async with keyed_client(f"{group[0].base}/mcp", BEN_KEY) as ben:
                assert not (await ben.call_tool("list_groups", {})).is_error
            assert sb.stats.counter("token_refreshed") == 1  # Ben's call found a fresh token: no wait

            revoked_at = time.time()
            await _revoke(sb, base, str(anna_minted["access_token"]))
            revoked_by = time.time()
            while True:
                view = connections_json(env)
                rows = {(r["tenant"], r["user"]): r for r in view["connections"]}
                if rows["acme", "anna"]["state"] == "needs_reconnect":
                    break
                assert time.time() - revoked_at < 10, "the revoked grant was never found"
                await asyncio.sleep(0.2)
            # A few more sweeps, to look for overlaps: at least 1.5 s and three sweeps in all,
            # however slow the machine (a sweep of these grants takes over a second by itself).
            settled = time.monotonic() + 1.5
            while time.monotonic() < settled or sum(len(_SWEEP.findall(r.stderr())) for r in group) < 3:
                assert time.monotonic() < settled + 30, "the replicas stopped sweeping"
                await asyncio.sleep(0.2)
        logs = [r.stderr() for r in group]
        marked = await seed.grant(ANNA)  # state_at to the microsecond (`state_since` shows whole seconds)
        await seed.close()
    anna = rows["acme", "anna"]
    assert marked is not None
    assert anna["state_since"] == datetime.fromtimestamp(marked.state_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert anna["reason"] == "refresh refused (invalid_grant)" and anna["last_outcome"] == "dead"
    assert anna["agent_email"] == constants.AGENT_EMAIL  # learned by a sweep, never by a call
    assert rows["acme", "ben"]["state"] == "connected" and rows["acme", "ben"]["last_outcome"] == "ok"
    assert view["counts"]["needs_reconnect"] == 1 and view["counts"]["connected"] == len(rows) - 1
    sweeps = sorted((float(a), float(b)) for text in logs for a, b in _SWEEP.findall(text))
    assert len(sweeps) >= 3
    for (_, end), (start, _) in itertools.pairwise(sweeps):
        assert end <= start, f"two sweeps overlapped: {sweeps}"
    # A sweep checks a grant not checked in the last half interval, so the first sweep that starts
    # half an interval after the revocation marks it at the latest (an earlier one may already have);
    # the log shows milliseconds.
    first_bound = next(end for start, end in sweeps if start >= revoked_by + interval / 2 + 0.001)
    assert revoked_at < marked.state_at <= first_bound, (revoked_at, marked.state_at, sweeps)
    assert_no_secret_in(logs, sb)
