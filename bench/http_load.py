"""Serving cost over Streamable HTTP: ours against a bare `MCPServer` proxy tool, interleaved.

    .venv/bin/python bench/http_load.py [--sessions 50] [--calls 20] [--rounds 3]

A LiveChat sandbox runs in its own process on a loopback port. Two servers run as subprocesses
pointed at it with the same PAT: ours (`mcp-livechat serve --transport http`) and a reference,
a bare `MCPServer` whose one tool `list_chats` makes the same LiveChat call (httpx2, Basic PAT,
`limit` 25) and returns LiveChat's JSON as is. For each, `sessions` SDK clients (Streamable
HTTP, 2025-11-25 handshake) each make `calls` `list_chats` calls concurrently; we measure
calls per second, the server process's CPU per call (user + system, from /proc), and errors.
A third line measures the same LiveChat calls made directly (no MCP) as the floor. Rounds
alternate ours / reference so both see the same machine load.

Goals (issue 13): server CPU per call at most 1.3x the reference's, throughput at least 0.9x.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx2
from benchkit import spawn, wait_http
from mcp import Client

from mcp_livechat.cli import free_port
from mcp_livechat.sandbox import constants
from mcp_livechat.tools import schemas

REFERENCE = """
import base64, json, sys
import httpx2
from mcp.server import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from mcp.types import CallToolResult, TextContent

API = sys.argv[2]
AUTH = "Basic " + base64.b64encode(f"{sys.argv[3]}:{sys.argv[4]}".encode()).decode()
FLOOR = sys.argv[5] == "floor"
SCHEMA = json.loads(open(sys.argv[6]).read()) if len(sys.argv) > 6 else None
http = httpx2.AsyncClient(timeout=20)


def lean(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def chat(c: dict) -> dict:
    # the fields of mcp-livechat's list_chats result, taken from LiveChat's JSON with dict lookups
    users = c.get("users", [])
    names = {u["id"]: u.get("name") for u in users}
    customer = next((u for u in users if u.get("type") == "customer"), {"id": ""})
    thread = c.get("last_thread_summary") or {}
    message = ((c.get("last_event_per_type") or {}).get("message") or {}).get("event") or {}
    author = message.get("author_id")
    queue = thread.get("queue")
    return lean({
        "id": c["id"], "thread_id": thread.get("id"), "active": bool(thread.get("active")),
        "customer": lean({"id": customer["id"], "name": customer.get("name"), "email": customer.get("email")}),
        "agents": [f"{u.get('name')} <{u.get('email')}>" for u in users if u.get("type") == "agent"],
        "last_message": lean({"author": names.get(author), "at": message.get("created_at"),
                              "role": "customer" if author == customer["id"] else "agent",
                              "text": (message.get("text") or "")[:200]}) if message else None,
        "tags": thread.get("tags", []), "group_ids": (thread.get("access") or {}).get("group_ids", []),
        "queue": lean({"position": queue.get("position"), "wait_seconds": queue.get("wait_time"),
                       "queued_at": queue.get("queued_at")}) if queue else None,
    })


async def list_chats(limit: int = 25) -> dict[str, object]:
    \"\"\"List chats: the same LiveChat call; the same fields as mcp-livechat's result (or, as the
    floor, only the count).\"\"\"
    response = await http.post(f"{API}/v3.6/agent/action/list_chats", json={"limit": limit},
                               headers={"Authorization": AUTH})
    response.raise_for_status()
    data = response.json()
    if FLOOR:
        return {"chats": len(data["chats_summary"])}
    return lean({"chats": [chat(c) for c in data["chats_summary"]], "found": data.get("found_chats"),
                 "next_page_id": data.get("next_page_id")})


if SCHEMA is None:
    server = MCPServer("reference", log_level="WARNING")
    server.tool()(list_chats)
else:  # mcp-livechat's own output schema (public constructors), so clients validate the same way
    async def typed(limit: int = 25) -> CallToolResult:
        data = await list_chats(limit)
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)

    plain = Tool.from_function(list_chats)
    tool = Tool(fn=typed, name="list_chats", description=plain.description, parameters=plain.parameters,
                fn_metadata=FuncMetadata(arg_model=plain.fn_metadata.arg_model, output_schema=SCHEMA),
                is_async=True)
    server = MCPServer("reference", log_level="WARNING", tools=[tool])
server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(url: str, sessions: int, calls: int) -> tuple[int, int]:
    errors = 0

    async def one_session() -> None:
        nonlocal errors
        async with Client(url, mode="legacy") as client:
            for _ in range(calls):
                result = await client.call_tool("list_chats", {"limit": 25})
                errors += bool(result.is_error)

    await asyncio.gather(*(one_session() for _ in range(sessions)))
    return sessions * calls, errors


async def measure(
    pid: int, url: str, sessions: int, calls: int, sandbox: int
) -> tuple[float, float, int, float, float]:
    """Calls per second, then CPU ms per call of the server, errors, CPU ms per call of the clients
    (this process) and of the sandbox: all three share the machine's cores."""
    cpu, client, lc, started = (
        cpu_seconds(pid),
        time.process_time(),
        cpu_seconds(sandbox),
        time.perf_counter(),
    )
    done, errors = await load(url, sessions, calls)
    wall = time.perf_counter() - started
    per_call = 1e3 / done
    return (done / wall, (cpu_seconds(pid) - cpu) * per_call, errors, (time.process_time() - client) * per_call,
            (cpu_seconds(sandbox) - lc) * per_call)  # fmt: skip


async def direct(api: str, sessions: int, calls: int) -> float:
    auth = "Basic " + base64.b64encode(f"{constants.ACCOUNT_ID}:{constants.PAT}".encode()).decode()
    async with httpx2.AsyncClient(timeout=20) as http:

        async def one() -> None:
            for _ in range(calls):
                r = await http.post(f"{api}/v3.6/agent/action/list_chats", json={"limit": 25},
                                    headers={"Authorization": auth})  # fmt: skip
                r.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(sessions)))
        return sessions * calls / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVECHAT_")}
    sandbox_port, ours_port, ref_port, floor_port, typed_port = (free_port() for _ in range(5))
    api = f"http://127.0.0.1:{sandbox_port}"
    procs = [spawn([sys.executable, "-m", "mcp_livechat", "sandbox", "--port", str(sandbox_port)], env)]
    ours_env = env | {
        "LIVECHAT_PAT": constants.PAT, "LIVECHAT_ACCOUNT_ID": constants.ACCOUNT_ID,
        "LIVECHAT_API_URL": api, "LIVECHAT_ACCOUNTS_URL": f"{api}/accounts",
        # every session here is one caller (PAT mode, no API key): lift the per-caller cap of 20
        "LIVECHAT_MAX_SESSIONS_PER_CALLER": str(max(20, args.sessions)),
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "reference.py"
        script.write_text(REFERENCE)
        schema = Path(tmp) / "list_chats.schema.json"
        schema.write_text(json.dumps(json.loads(schemas.FILE.read_text())["tools"]["list_chats"]["output"]))
        procs.append(spawn([sys.executable, "-m", "mcp_livechat", "serve", "--transport", "http",
                            "--port", str(ours_port)], ours_env))  # fmt: skip
        procs.append(spawn([sys.executable, str(script), str(ref_port), api, constants.ACCOUNT_ID,
                            constants.PAT, "same"], env))  # fmt: skip
        procs.append(spawn([sys.executable, str(script), str(floor_port), api, constants.ACCOUNT_ID,
                            constants.PAT, "floor"], env))  # fmt: skip
        procs.append(spawn([sys.executable, str(script), str(typed_port), api, constants.ACCOUNT_ID,
                            constants.PAT, "same", str(schema)], env))  # fmt: skip
        try:
            for port in (sandbox_port, ours_port, ref_port, floor_port, typed_port):
                await wait_http(f"http://127.0.0.1:{port}/")
            servers: dict[str, tuple[int, str]] = {
                "ours": (procs[1].pid, f"http://127.0.0.1:{ours_port}/mcp"),
                "reference": (procs[2].pid, f"http://127.0.0.1:{ref_port}/mcp"),
                "floor": (procs[3].pid, f"http://127.0.0.1:{floor_port}/mcp"),
                "ref+schema": (procs[4].pid, f"http://127.0.0.1:{typed_port}/mcp"),
            }
            for pid, url in servers.values():  # warm up both
                await measure(pid, url, 2, 5, procs[0].pid)
            results: dict[str, list[tuple[float, float, int, float, float]]] = {name: [] for name in servers}
            floor = []
            for _ in range(args.rounds):
                for name, (pid, url) in servers.items():
                    results[name].append(await measure(pid, url, args.sessions, args.calls, procs[0].pid))
                floor.append(await direct(api, args.sessions, args.calls))
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(10)
    summary = {}
    for name, runs in results.items():
        summary[name] = (
            statistics.median(r[0] for r in runs),
            statistics.median(r[1] for r in runs),
            sum(r[2] for r in runs),
            statistics.median(r[3] for r in runs),
            statistics.median(r[4] for r in runs),
        )
        print(f"{name:10} {summary[name][0]:7.1f} calls/s, server CPU {summary[name][1]:.2f} ms/call, "
              f"{summary[name][2]} errors; CPU ms/call of the clients {summary[name][3]:.2f}, of LiveChat "
              f"{summary[name][4]:.2f} ({args.rounds} rounds of {args.sessions} sessions x {args.calls} calls)")  # fmt: skip
    print(f"{'direct':10} {statistics.median(floor):7.1f} calls/s (the same LiveChat calls without MCP)")
    ours, ref, typed = summary["ours"], summary["reference"], summary["ref+schema"]
    print(json.dumps({"throughput_ratio": round(ours[0] / ref[0], 3), "cpu_ratio": round(ours[1] / ref[1], 3),
                      "vs_ref+schema": {"throughput_ratio": round(ours[0] / typed[0], 3),
                                        "cpu_ratio": round(ours[1] / typed[1], 3)},
                      "goals": {"throughput_ratio": ">= 0.9", "cpu_ratio": "<= 1.3"}}))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
