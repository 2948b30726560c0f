"""Startup and call latency, the paths a user feels.

    .venv/bin/python bench/latency.py

(1) stdio: spawn `mcp-livechat serve --sandbox` to the first `tools/list` answer, 5 runs;
(2) in-process `tools/call` round trips through the SDK client (both eras) to the sandbox;
(3) Streamable HTTP round trips to a `serve --transport http --sandbox` subprocess;
(4) 100 concurrent calls by one person whose token has expired: wall time and refreshes.
Wall-clock numbers on whatever machine runs it; compare runs on the same machine only.
"""

from __future__ import annotations

import asyncio
import base64
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2
from mcp import Client, StdioServerParameters

from mcp_livechat.cli import free_port, sandbox_settings
from mcp_livechat.config import load_settings
from mcp_livechat.sandbox import Sandbox
from mcp_livechat.server import create_server

BASE = "http://sandbox.invalid"


def summary(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[int(len(ms) * 0.95) - 1]
    return f"mean {statistics.mean(ms):.2f} ms, p50 {statistics.median(ms):.2f}, p95 {p95:.2f} (n={len(ms)})"


async def stdio_startup() -> None:
    times = []
    for _ in range(5):
        started = time.perf_counter()
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "mcp_livechat", "serve", "--sandbox"]
        )
        async with Client(params) as client:
            await client.list_tools()
            times.append(time.perf_counter() - started)
    print(
        f"stdio spawn -> first tools/list: median {statistics.median(times) * 1000:.0f} ms "
        f"(runs: {', '.join(f'{t * 1000:.0f}' for t in times)})"
    )


async def in_process(mode: str) -> None:
    server, _ = create_server(sandbox_settings(load_settings(), BASE), transport=Sandbox().transport())
    async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
        for _ in range(20):
            await client.call_tool("list_groups", {})
        for tool, args in (("list_groups", {}), ("list_chats", {"limit": 25}), ("get_chat", None)):
            if args is None:
                chat = (await client.call_tool("list_chats", {"limit": 1})).structured_content["chats"][0]  # type: ignore[index]
                args = {"chat_id": chat["id"]}
            samples = []
            for _ in range(200):
                started = time.perf_counter()
                await client.call_tool(tool, args)
                samples.append(time.perf_counter() - started)
            print(f"in-process {mode:6} {tool:11}: {summary(samples)}")


async def over_http() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mcp_livechat",
            "serve",
            "--transport",
            "http",
            "--port",
            str(port),
            "--sandbox",
        ],
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
                break
            except httpx2.TransportError:
                await asyncio.sleep(0.05)
        for mode in ("auto", "legacy"):
            async with Client(f"http://127.0.0.1:{port}/mcp", mode=mode) as client:  # type: ignore[arg-type]
                for _ in range(20):
                    await client.call_tool("list_groups", {})
                samples = []
                for _ in range(300):
                    started = time.perf_counter()
                    await client.call_tool("list_groups", {})
                    samples.append(time.perf_counter() - started)
            print(f"streamable HTTP {mode:6} list_groups: {summary(samples)}")
    finally:
        proc.terminate()
        proc.wait()


async def refresh_storm() -> None:
    from mcp_livechat.connect.crypto import Sealer
    from mcp_livechat.connect.identity import LOCAL
    from mcp_livechat.connect.sqlite_store import SqliteTokenStore
    from mcp_livechat.connect.store import StoredToken
    from mcp_livechat.sandbox import constants

    sb = Sandbox()
    key = b"k" * 32
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteTokenStore(Path(tmp) / "t.db", Sealer([key]))
        minted = sb.mint_token(constants.AGENT_EMAIL)
        now = time.time()
        await store.put(
            LOCAL,
            StoredToken(
                str(minted["access_token"]),
                str(minted["refresh_token"]),
                now - 1,
                str(minted["scope"]),
                obtained_at=now - 28800,
            ),
        )
        settings = load_settings(
            client_id=constants.CLIENT_ID,
            client_secret=constants.CLIENT_SECRET,
            api_url=BASE,
            accounts_url=f"{BASE}/accounts",
            encryption_key=base64.b64encode(key).decode(),
        )
        server, _ = create_server(settings, store=store, transport=sb.transport())
        async with Client(server) as client:
            started = time.perf_counter()
            results = await asyncio.gather(*(client.call_tool("list_groups", {}) for _ in range(100)))
            wall = time.perf_counter() - started
        await store.close()
    ok = sum(not r.is_error for r in results)
    print(
        f"100 concurrent calls, expired token: {wall * 1000:.0f} ms wall, {ok} ok, "
        f"{sb.stats.counter('token_refreshed')} refresh(es) at LiveChat"
    )


async def main() -> None:
    await stdio_startup()
    await in_process("auto")
    await in_process("legacy")
    await over_http()
    await refresh_storm()


if __name__ == "__main__":
    asyncio.run(main())
