"""Per-call cost in memory: ours against the SDK's no-op tool and the bare LiveChat call, interleaved.

    .venv/bin/python bench/per_call.py [--rounds 7] [--calls 200] [--storm-runs 9] [--profile-calls 100]

All in one process, on the in-process LiveChat sandbox (`Sandbox().transport()`, no network).
For `list_chats` (limit 25), `get_chat` (a chat id from `list_chats`) and `list_groups`:

- ours: `create_server(...)` through the SDK's in-memory `Client(server)`, in the 2025-11-25 era
  (`mode="legacy"`, initialize handshake, JSON-RPC over memory streams) and the 2026-07-28 era
  (`mode="2026-07-28"`, the SDK's direct dispatch, no framing);
- no-op: a bare `MCPServer` with one tool returning a constant small dict, through the same
  client in the same era: the floor of an MCP round trip;
- direct: our LiveChat client (`LiveChat(...).agent.list_chats` etc., the call the tool makes, with
  the same arguments) on the same sandbox, no MCP.

Each round runs every batch of `calls` calls once (eras, tools and the three routes interleaved);
a batch's wall (perf_counter) and CPU (process_time) per call are its totals over `calls`, and the
figures are medians over rounds. Wall and CPU are nearly equal here (nothing waits: the sandbox
runs in this process, and its time is in every route, the no-op's excepted). Ratios: ours /
(direct + no-op), and the MCP overhead of ours (ours - direct) / the no-op's round trip.

Then: 100 concurrent `list_groups` calls by one person whose OAuth token has expired (wall time,
refreshes at LiveChat) against the same 100 calls with a valid token, interleaved; and a cProfile
of `profile-calls` `list_chats` calls (2025-11-25 era), own time split by where the code lives.
Client and server share this process, so every figure includes the client's work too: the SDK
client checks each result's structuredContent against the tool's outputSchema (jsonschema), which
costs more for our schemas than for the no-op's.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import gc
import json
import os
import pstats
import statistics
import sysconfig
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.server import MCPServer

from mcp_livechat.cli import sandbox_settings
from mcp_livechat.config import load_settings
from mcp_livechat.connect.crypto import Sealer
from mcp_livechat.connect.identity import LOCAL
from mcp_livechat.connect.sqlite_store import SqliteTokenStore
from mcp_livechat.connect.store import StoredToken
from mcp_livechat.livechat import LiveChat, LiveChatHttp, StaticCredentials, basic, default_http_client
from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.server import create_server

BASE = "http://sandbox.invalid"
ROOT = Path(__file__).resolve().parent.parent
ERAS = ("legacy", "2026-07-28")  # the 2025-11-25 handshake, and the sessionless era
TOOLS = ("list_chats", "get_chat", "list_groups")
Call = Callable[[], Awaitable[Any]]


def noop_server() -> MCPServer:
    server = MCPServer("noop", log_level="WARNING")

    @server.tool()
    async def noop() -> dict[str, object]:
        """Return a constant."""
        return {"ok": True, "n": 1}

    return server


async def batch(call: Call, calls: int) -> tuple[float, float]:
    """Wall and CPU seconds per call over `calls` sequential calls."""
    gc.collect()
    cpu, started = time.process_time(), time.perf_counter()
    for _ in range(calls):
        await call()
    return (time.perf_counter() - started) / calls, (time.process_time() - cpu) / calls


def tool_call(client: Client, name: str, args: dict[str, Any]) -> Call:
    async def call() -> None:
        result = await client.call_tool(name, args)
        if result.is_error:
            raise RuntimeError(f"{name} failed: {result.content}")

    return call


async def per_call(rounds: int, calls: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds per call of every `route/era/tool` batch."""
    sb = Sandbox()
    built = create_server(sandbox_settings(load_settings(), BASE), transport=sb.transport())
    http = LiveChatHttp(default_http_client(transport=sb.transport()), BASE, f"{BASE}/accounts")
    lc = LiveChat(http.bind(StaticCredentials(basic(constants.ACCOUNT_ID, constants.PAT))))
    chat_id = (await lc.agent.list_chats(active=True, limit=1)).chats_summary[0].id
    batches: dict[str, Call] = {
        "direct/list_chats": lambda: lc.agent.list_chats(active=True, group_ids=None, limit=25),
        "direct/get_chat": lambda: lc.agent.get_chat(chat_id, None),
        "direct/list_groups": lambda: lc.configuration.list_groups(fields=("routing_status",)),
    }
    args: dict[str, dict[str, Any]] = {
        "list_chats": {"limit": 25},
        "get_chat": {"chat_id": chat_id},
        "list_groups": {},
    }
    samples: dict[str, list[tuple[float, float]]] = {}
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(built.runtime)
        stack.push_async_callback(http.http.aclose)
        for era in ERAS:
            ours = await stack.enter_async_context(Client(built.server, mode=era))
            noop = await stack.enter_async_context(Client(noop_server(), mode=era))
            batches[f"noop/{era}"] = tool_call(noop, "noop", {})
            for name in TOOLS:
                batches[f"ours/{era}/{name}"] = tool_call(ours, name, args[name])
        for call in batches.values():  # warm up every route
            await batch(call, 20)
        for _ in range(rounds):
            for key, call in batches.items():
                samples.setdefault(key, []).append(await batch(call, calls))
    return {
        k: (statistics.median(s[0] for s in v), statistics.median(s[1] for s in v))
        for k, v in samples.items()
    }


async def storm(sb: Sandbox, store: SqliteTokenStore, key: bytes, *, expired: bool) -> tuple[float, int, int]:
    """100 concurrent `list_groups` by one person: wall seconds, calls ok, refreshes at LiveChat."""
    minted = sb.mint_token(constants.AGENT_EMAIL)
    now = time.time()
    token = StoredToken(str(minted["access_token"]), str(minted["refresh_token"]),
                        now - 1 if expired else now + 3600, str(minted["scope"]),
                        obtained_at=now - 28800 if expired else now)  # fmt: skip
    await store.put(LOCAL, token)
    settings = load_settings(
        client_id=constants.CLIENT_ID, client_secret=constants.CLIENT_SECRET, api_url=BASE,
        accounts_url=f"{BASE}/accounts", encryption_key=base64.b64encode(key).decode(), health_interval=0,
    )  # fmt: skip
    built = create_server(settings, store=store, transport=sb.transport())
    before = sb.stats.counter("token_refreshed")
    async with built.runtime, Client(built.server, mode="legacy") as client:
        gc.collect()
        started = time.perf_counter()
        results = await asyncio.gather(*(client.call_tool("list_groups", {}) for _ in range(100)))
        wall = time.perf_counter() - started
    return wall, sum(not r.is_error for r in results), sb.stats.counter("token_refreshed") - before


async def storms(runs: int) -> dict[str, tuple[float, int, int]]:
    sb, key = Sandbox(), os.urandom(32)
    out: dict[str, list[tuple[float, int, int]]] = {"expired": [], "valid": []}
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteTokenStore(Path(tmp) / "tokens.db", Sealer([key]))
        try:
            await storm(sb, store, key, expired=True)  # warm up
            for _ in range(runs):
                for name in out:
                    out[name].append(await storm(sb, store, key, expired=name == "expired"))
        finally:
            await store.close()
    return {
        name: (statistics.median(r[0] for r in rs), min(r[1] for r in rs), max(r[2] for r in rs))
        for name, rs in out.items()
    }


BUCKETS = (  # (name, a part of the file name; for built-ins, of the function's name)
    ("mcp_livechat/sandbox", "/mcp_livechat/sandbox/"),
    ("mcp_livechat (rest)", "/mcp_livechat/"),
    ("site-packages/mcp", "/site-packages/mcp/"),
    ("site-packages/mcp_types", "/site-packages/mcp_types/"),
    ("pydantic", "pydantic"),
    ("jsonschema + referencing", "/site-packages/jsonschema/"),  # the SDK client checks structuredContent
    ("jsonschema + referencing", "/site-packages/referencing/"),
    ("jsonschema + referencing", "<attrs generated methods jsonschema."),
    ("jsonschema + referencing", "<attrs generated methods referencing."),
    ("jsonschema + referencing", "rpds"),
    ("json (stdlib)", "/json/"),
)
PREFIXES = (f"{sysconfig.get_paths()['purelib']}/", f"{sysconfig.get_paths()['stdlib']}/", f"{ROOT}/")


def bucket_of(filename: str, func: str) -> str:
    where = func if filename == "~" else filename
    return next((name for name, part in BUCKETS if part in where), "other")


def short(filename: str) -> str:
    return next((filename.removeprefix(p) for p in PREFIXES if filename.startswith(p)), filename)


async def profile(calls: int) -> tuple[float, dict[str, float], dict[str, list[tuple[float, str]]]]:
    """Total own time, own time per bucket, and the top functions of each bucket."""
    built = create_server(sandbox_settings(load_settings(), BASE), transport=Sandbox().transport())
    profiler = cProfile.Profile()
    async with built.runtime, Client(built.server, mode="legacy") as client:
        call = tool_call(client, "list_chats", {"limit": 25})
        await batch(call, 20)
        gc.collect()
        profiler.enable()
        for _ in range(calls):
            await call()
        profiler.disable()
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    per: dict[str, float] = {}
    top: dict[str, list[tuple[float, str]]] = {}
    for (filename, line, func), (_, _, own, _, _) in stats.items():
        name = bucket_of(filename, func)
        per[name] = per.get(name, 0.0) + own
        where = func if filename == "~" else f"{short(filename)}:{line}({func})"
        top.setdefault(name, []).append((own, where))
    return sum(per.values()), per, {k: sorted(v, reverse=True)[:3] for k, v in top.items()}


def us(seconds: float) -> str:
    return f"{seconds * 1e6:7.0f}"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--storm-runs", type=int, default=9)
    parser.add_argument("--profile-calls", type=int, default=100)
    args = parser.parse_args()
    for name in [k for k in os.environ if k.startswith("LIVECHAT_")]:  # the defaults, whatever the shell has
        del os.environ[name]
    r = await per_call(args.rounds, args.calls)
    print(f"per call, µs (median of {args.rounds} rounds x {args.calls} calls): wall / CPU")
    summary: dict[str, Any] = {}
    for era in ERAS:
        noop = r[f"noop/{era}"]
        print(f"  {era:10} no-op tool          {us(noop[0])} / {us(noop[1])}")
        for tool in TOOLS:
            ours, direct = r[f"ours/{era}/{tool}"], r[f"direct/{tool}"]
            print(f"  {era:10} {tool:11} ours    {us(ours[0])} / {us(ours[1])}   direct {us(direct[0])} / "
                  f"{us(direct[1])}   ours - direct {us(ours[0] - direct[0])} / {us(ours[1] - direct[1])}")  # fmt: skip
            summary.setdefault(era, {})[tool] = {
                "ratio": round(ours[0] / (direct[0] + noop[0]), 3),
                "cpu_ratio": round(ours[1] / (direct[1] + noop[1]), 3),
                "overhead_vs_noop": round((ours[0] - direct[0]) / noop[0], 2),
            }
    s = await storms(args.storm_runs)
    for name, (wall, ok, refreshes) in s.items():
        print(f"100 concurrent list_groups, {name:7} token: {wall * 1e3:5.0f} ms wall (median of "
              f"{args.storm_runs}), {ok} ok, at most {refreshes} refresh(es) at LiveChat")  # fmt: skip
    summary["storm"] = {"wall_ratio": round(s["expired"][0] / s["valid"][0], 3), "refreshes": s["expired"][2]}
    total, per, top = await profile(args.profile_calls)
    print(f"cProfile, {args.profile_calls} list_chats calls (2025-11-25 era), own time "
          f"{total * 1e3:.0f} ms ({total / args.profile_calls * 1e6:.0f} µs/call under the profiler):")  # fmt: skip
    for name, own in sorted(per.items(), key=lambda kv: -kv[1]):
        heads = "; ".join(f"{where} {t * 1e3:.0f} ms" for t, where in top[name])
        print(f"  {name:24} {own / total:6.1%}  {heads}")
    summary["goal"] = "ratio: ours / (direct + no-op), overhead_vs_noop: (ours - direct) / no-op"
    print(json.dumps(summary))


if __name__ == "__main__":
    asyncio.run(main())
