"""Idle memory per Streamable HTTP session: ours against a bare `MCPServer`, stepwise; then idle expiry.

    .venv/bin/python bench/session_memory.py [--steps 200,400,800] [--idle 2] [--expiring 400]

A LiveChat sandbox runs in its own process on a loopback port (`mcp-livechat sandbox`). Two servers
run as subprocesses: ours (`mcp-livechat serve --transport http`, PAT mode pointed at the sandbox,
the per-caller and process-wide session caps lifted above the run's sessions) and a reference, a
bare `MCPServer` with one `echo` tool served with `run("streamable-http")` (SDK defaults). Each
session is opened with raw httpx2 POSTs as the SDK client would (`initialize` in the 2025-11-25
era, `notifications/initialized`, one `tools/list`), keeps its `Mcp-Session-Id`, and is then left
idle and open (no DELETE, no GET stream). The servers are filled in turn up to each step's total,
and each one's VmRSS (/proc/<pid>/status) is read before and after: KB per idle session. Then
`pinged` more sessions each, whose last message is a `ping` after the `tools/list`: an idle
session's SDK message router (`mcp/server/streamable_http.py`, `message_router`) keeps the last
message it routed referenced until the next one, so this separates the size of that last answer
(our `tools/list` is `tools_list_bytes` long, the bare one a single tool) from the rest.

Then a second ours with `LIVECHAT_HTTP_SESSION_IDLE=idle` seconds: `expiring` sessions are opened,
we wait past the idle timeout and send each session id a `tools/list`: a 404 means the server has
dropped it. The same number is opened again, to see whether the memory of the first batch is reused.
VmRSS is reported at each point; CPython seldom returns freed memory to the OS, so a flat RSS after
expiry is expected, and a second batch that costs little more is what shows the bound.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx2
from benchkit import spawn, wait_http

from mcp_livechat.cli import free_port
from mcp_livechat.sandbox import constants

BARE = """
import sys
from mcp.server import MCPServer

server = MCPServer("bare", log_level="WARNING")


@server.tool()
async def echo(text: str) -> str:
    \"\"\"Echo the text.\"\"\"
    return text


server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
"""
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}  # fmt: skip
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
PING = {"jsonrpc": "2.0", "id": 3, "method": "ping"}
PARALLEL = 16  # sessions being opened at once


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


async def open_session(http: httpx2.AsyncClient, url: str, *, ping: bool = False) -> str:
    """initialize + initialized + tools/list (+ ping); the session id (the session stays open)."""
    r = await http.post(url, json=INITIALIZE, headers=HEADERS)
    session_id = r.headers.get("mcp-session-id")
    if r.status_code != 200 or not session_id:
        raise RuntimeError(f"initialize answered {r.status_code}")
    headers = HEADERS | {"mcp-session-id": session_id, "mcp-protocol-version": "2025-11-25"}
    r = await http.post(url, json=INITIALIZED, headers=headers)
    if r.status_code != 202:
        raise RuntimeError(f"notifications/initialized answered {r.status_code}")
    r = await http.post(url, json=TOOLS_LIST, headers=headers)
    if r.status_code != 200 or '"tools"' not in r.text:
        raise RuntimeError(f"tools/list answered {r.status_code}")
    if ping and (r := await http.post(url, json=PING, headers=headers)).status_code != 200:
        raise RuntimeError(f"ping answered {r.status_code}")
    return session_id


async def tools_list_bytes(url: str) -> int:
    async with httpx2.AsyncClient(timeout=30) as http:
        r = await http.post(url, json=INITIALIZE, headers=HEADERS)
        headers = HEADERS | {
            "mcp-session-id": r.headers["mcp-session-id"],
            "mcp-protocol-version": "2025-11-25",
        }
        await http.post(url, json=INITIALIZED, headers=headers)
        size = len((await http.post(url, json=TOOLS_LIST, headers=headers)).content)
        await http.delete(url, headers=headers)
        return size


async def open_sessions(http: httpx2.AsyncClient, url: str, count: int, *, ping: bool = False) -> list[str]:
    gate = asyncio.Semaphore(PARALLEL)

    async def one() -> str:
        async with gate:
            return await open_session(http, url, ping=ping)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def statuses(http: httpx2.AsyncClient, url: str, session_ids: list[str]) -> dict[int, int]:
    """How the server answers a `tools/list` in each session: {status: count}."""
    gate = asyncio.Semaphore(PARALLEL)
    out: dict[int, int] = {}

    async def one(session_id: str) -> None:
        headers = HEADERS | {"mcp-session-id": session_id, "mcp-protocol-version": "2025-11-25"}
        async with gate:
            status = (await http.post(url, json=TOOLS_LIST, headers=headers)).status_code
        out[status] = out.get(status, 0) + 1

    await asyncio.gather(*(one(s) for s in session_ids))
    return dict(sorted(out.items()))


async def settled_rss(pid: int) -> int:
    await asyncio.sleep(0.5)
    return rss_kb(pid)


async def stepwise(
    servers: dict[str, tuple[int, str]], steps: list[int], pinged: int
) -> tuple[dict[str, list[tuple[int, int]]], dict[str, float]]:
    """(sessions open, VmRSS KB) per server after the warm-up and after each step; then KB per
    session of `pinged` more sessions whose last message is a `ping`."""
    out: dict[str, list[tuple[int, int]]] = {}
    after_ping: dict[str, float] = {}
    async with httpx2.AsyncClient(timeout=30) as http:
        for name, (pid, url) in servers.items():  # warm up: lazy imports, first allocations
            await open_sessions(http, url, 20)
            out[name] = [(0, await settled_rss(pid))]
        for total in steps:
            for name, (pid, url) in servers.items():
                await open_sessions(http, url, total - out[name][-1][0])
                out[name].append((total, await settled_rss(pid)))
        for name, (pid, url) in servers.items():
            before = rss_kb(pid)
            await open_sessions(http, url, pinged, ping=True)
            after_ping[name] = (await settled_rss(pid) - before) / pinged
    return out, after_ping


async def expiry(pid: int, url: str, count: int, idle: float) -> list[str]:
    lines = []
    async with httpx2.AsyncClient(timeout=30) as http:
        await open_sessions(http, url, 20)
        base = await settled_rss(pid)
        lines.append(f"after warm-up: VmRSS {base / 1024:.1f} MB")
        for batch in (1, 2):
            started = time.perf_counter()
            ids = await open_sessions(http, url, count)
            opened = await settled_rss(pid)
            took = time.perf_counter() - started
            await asyncio.sleep(idle + 1.5)  # past the idle timeout of the last one opened
            expired = await settled_rss(pid)
            answers = await statuses(http, url, ids)
            lines.append(
                f"batch {batch}: {count} opened in {took:.1f} s, VmRSS {opened / 1024:.1f} MB "
                f"(+{(opened - base) / 1024:.1f} MB over the warm-up); past the idle timeout VmRSS "
                f"{expired / 1024:.1f} MB; tools/list in those sessions answered {answers}"
            )
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", default="200,400,800", help="cumulative open sessions per step")
    parser.add_argument(
        "--idle", type=float, default=2.0, help="LIVECHAT_HTTP_SESSION_IDLE of the expiry run"
    )
    parser.add_argument(
        "--pinged", type=int, default=400, help="sessions ending with a ping, after the steps"
    )
    parser.add_argument("--expiring", type=int, default=400, help="sessions per batch in the expiry run")
    args = parser.parse_args()
    steps = sorted(int(s) for s in args.steps.split(","))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVECHAT_")}
    sandbox_port, ours_port, bare_port, expiring_port = (free_port() for _ in range(4))
    api = f"http://127.0.0.1:{sandbox_port}"
    room = str(max(steps[-1] + args.pinged, args.expiring * 2) + 100)
    ours_env = env | {
        "LIVECHAT_PAT": constants.PAT, "LIVECHAT_ACCOUNT_ID": constants.ACCOUNT_ID,
        "LIVECHAT_API_URL": api, "LIVECHAT_ACCOUNTS_URL": f"{api}/accounts",
        # one caller (PAT mode, no API key) holds every session: lift both caps above the run's sessions
        "LIVECHAT_MAX_SESSIONS_PER_CALLER": room, "LIVECHAT_HTTP_MAX_SESSIONS": room,
    }  # fmt: skip
    serve = [sys.executable, "-m", "mcp_livechat", "serve", "--transport", "http", "--port"]
    procs = [spawn([sys.executable, "-m", "mcp_livechat", "sandbox", "--port", str(sandbox_port)], env)]
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bare.py"
        script.write_text(BARE)
        procs.append(spawn([*serve, str(ours_port)], ours_env))
        procs.append(spawn([sys.executable, str(script), str(bare_port)], env))
        procs.append(
            spawn([*serve, str(expiring_port)], ours_env | {"LIVECHAT_HTTP_SESSION_IDLE": str(args.idle)})
        )
        try:
            for port in (sandbox_port, ours_port, bare_port, expiring_port):
                await wait_http(f"http://127.0.0.1:{port}/")
            servers = {
                "ours": (procs[1].pid, f"http://127.0.0.1:{ours_port}/mcp"),
                "bare": (procs[2].pid, f"http://127.0.0.1:{bare_port}/mcp"),
            }
            sizes = {name: await tools_list_bytes(url) for name, (_, url) in servers.items()}
            rss, pinged = await stepwise(servers, steps, args.pinged)
            lines = await expiry(
                procs[3].pid, f"http://127.0.0.1:{expiring_port}/mcp", args.expiring, args.idle
            )
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(10)
    per_session: dict[str, float] = {}
    for name, points in rss.items():
        marks = ", ".join(f"{n}: {kb / 1024:.1f} MB" for n, kb in points)
        steps_kb = [f"{(b[1] - a[1]) / (b[0] - a[0]):.0f}" for a, b in itertools.pairwise(points)]
        per_session[name] = (points[-1][1] - points[0][1]) / points[-1][0]
        print(f"{name:4} VmRSS by idle sessions open ({marks}); KB/session per step {', '.join(steps_kb)}; "
              f"overall {per_session[name]:.1f} KB/session; {args.pinged} more ending with a ping: "
              f"{pinged[name]:.1f} KB/session; tools/list answer {sizes[name]} bytes")  # fmt: skip
    print(f"ours with LIVECHAT_HTTP_SESSION_IDLE={args.idle:g}:")
    for line in lines:
        print(f"  {line}")
    print(json.dumps({"kb_per_session": {k: round(v, 1) for k, v in per_session.items()},
                      "ratio": round(per_session["ours"] / per_session["bare"], 3),
                      "tools_list_bytes": sizes,
                      "last_message_ping": {"kb_per_session": {k: round(v, 1) for k, v in pinged.items()},
                                            "ratio": round(pinged["ours"] / pinged["bare"], 3)}}))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
