"""The shared-store deployment: how long a health sweep takes for N grants, how fast `/healthz` and a
tool call answer with the store down, and what `/metrics` costs.

    .venv/bin/python bench/shared_store.py [postgresql://postgres@127.0.0.1:5432/test]

LiveChat is the in-process sandbox (about 1 ms per token-info call), so the sweep numbers are this
server's own cost; against LiveChat, add its latency per check divided by the concurrency (4).
"""

from __future__ import annotations

import asyncio
import base64
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx2

from mcp_livechat.cli import free_port
from mcp_livechat.config import load_settings
from mcp_livechat.connect.crypto import Sealer
from mcp_livechat.connect.health import HealthMonitor
from mcp_livechat.connect.identity import Principal
from mcp_livechat.connect.postgres_store import PostgresTokenStore
from mcp_livechat.connect.sqlite_store import SqliteTokenStore
from mcp_livechat.connect.store import StoredToken
from mcp_livechat.connect.store_base import BaseTokenStore
from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.server import Runtime

KEY = b"k" * 32
PG = sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/test"


def settings(base: str, store: str) -> Any:
    return load_settings(
        client_id=constants.CLIENT_ID, client_secret=constants.CLIENT_SECRET, api_url=base,
        accounts_url=f"{base}/accounts", token_store=store, encryption_key=base64.b64encode(KEY).decode(),
    )  # fmt: skip


async def seed(store: BaseTokenStore, sb: Sandbox, n: int) -> None:
    tokens = []
    for email in sorted(sb.state.agents):
        minted = sb.mint_token(email)
        tokens.append(StoredToken(str(minted["access_token"]), str(minted["refresh_token"]),
                                  time.time() + 28800, str(minted["scope"]), str(minted["account_id"]),
                                  obtained_at=time.time()))  # fmt: skip
    for i in range(n):  # LiveChat's 25-token cap per agent: people share a few real tokens here
        await store.put(Principal("bench", f"p{i:05}"), tokens[i % len(tokens)])


async def sweep(kind: str, n: int) -> str:
    sb = Sandbox()
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "sqlite":
            store: BaseTokenStore = SqliteTokenStore(Path(tmp) / "tokens.db", Sealer([KEY]))
        else:
            store = PostgresTokenStore(PG, Sealer([KEY]), schema=f"bench_{uuid.uuid4().hex[:12]}")
        await seed(store, sb, n)
        async with Runtime(settings("http://sandbox.invalid", "sqlite:///x.db"), store=store,
                           transport=sb.transport(), background=False) as rt:  # fmt: skip
            monitor = HealthMonitor(rt.oauth_connections, interval=900, max_checks=n)
            started = time.perf_counter()
            report = await monitor.sweep()
            full = time.perf_counter() - started
            started = time.perf_counter()
            await monitor.sweep()  # everything checked just now: nothing to ask LiveChat
            idle = time.perf_counter() - started
            later_on = HealthMonitor(  # one interval later: token info only, the e-mails are known
                rt.oauth_connections, interval=900, max_checks=n, clock=lambda: time.time() + 900
            )
            started = time.perf_counter()
            steady = await later_on.sweep()
            later = time.perf_counter() - started
        if isinstance(store, PostgresTokenStore):
            import psycopg

            async with await psycopg.AsyncConnection.connect(PG, autocommit=True) as conn:
                await conn.execute(f"DROP SCHEMA {store.schema} CASCADE")
        await store.close()
    assert report is not None and report.outcomes["ok"] == n, report.outcomes
    assert steady is not None and steady.outcomes["ok"] == n, steady.outcomes
    return (
        f"first {full * 1e3:,.0f} ms ({full / n * 1e3:.2f} ms per grant, with its agent e-mail),"
        f" next interval {later * 1e3:,.0f} ms ({later / n * 1e3:.2f} ms per grant),"
        f" right after one {idle * 1e3:,.0f} ms"
    )


async def silent_server() -> tuple[asyncio.Server, int]:
    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3600)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def outage(kind: str) -> str:
    import uvicorn

    from mcp_livechat.http_app import create_app
    from mcp_livechat.server import create_server

    silent, port = await silent_server() if kind == "silent" else (None, unused_port())
    s = settings("http://sandbox.invalid", f"postgresql://postgres@127.0.0.1:{port}/test")
    mcp_port = free_port()
    built = create_server(s, transport=Sandbox().transport(), public_url=f"http://127.0.0.1:{mcp_port}")
    app = create_app(built, s, transport="http", host="127.0.0.1")
    server = uvicorn.Server(uvicorn.Config(app, port=mcp_port, log_config=None, access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    health, calls = [], []
    from mcp import Client

    async with httpx2.AsyncClient(timeout=10) as web, Client(f"http://127.0.0.1:{mcp_port}/mcp") as client:
        for _ in range(5):
            started = time.perf_counter()
            assert (await web.get(f"http://127.0.0.1:{mcp_port}/healthz")).status_code == 503
            health.append(time.perf_counter() - started)
            started = time.perf_counter()
            assert (await client.call_tool("list_groups", {})).is_error
            calls.append(time.perf_counter() - started)
    server.should_exit = True
    await task
    if silent is not None:
        silent.close()
    return (
        f"/healthz median {statistics.median(health) * 1e3:,.0f} ms (max {max(health) * 1e3:,.0f});"
        f" tool call median {statistics.median(calls) * 1e3:,.0f} ms (max {max(calls) * 1e3:,.0f})"
    )


async def scrape() -> str:
    from mcp_livechat.metrics import Metrics

    m = Metrics()
    for tool in ("list_chats", "get_chat", "send_message"):
        for outcome in ("ok", "error"):
            m.tool_call(tool, outcome, 0.01)
    started = time.perf_counter()
    for _ in range(200):
        body, _ = m.render()
    per = (time.perf_counter() - started) / 200
    return f"{len(body):,} B rendered in {per * 1e3:.2f} ms"


async def main() -> None:
    for kind in ("sqlite", "postgres"):
        for n in (100, 1000):
            print(f"sweep, {kind}, {n} grants: {await sweep(kind, n)}")
    for kind in ("refused", "silent"):
        print(f"store down ({kind}): {await outage(kind)}")
    print(f"/metrics: {await scrape()}")


if __name__ == "__main__":
    asyncio.run(main())
