"""stdio cold start against a bare `MCPServer` with one tool, interleaved in one run.

    .venv/bin/python bench/cold_start.py [--runs 21]

Each run spawns the server, sends `initialize`, `notifications/initialized` and `tools/list`
over its stdin, waits for both answers, closes stdin and waits for the exit; the time is spawn to
exit (wall), spawn to the `tools/list` answer, and the child's CPU (user + system). Ours is `python -m mcp_livechat serve` with a
PAT configured (no network is touched: nothing calls LiveChat), the reference a script with one
`echo` tool on the same interpreter. Both use bytecode caches, as an installed package does
(this script compiles ours first, also when PYTHONDONTWRITEBYTECODE is set).

Goal (issue 13): ours at most 1.15x the reference (median of interleaved runs).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mcp_livechat

BARE = '''
from mcp.server import MCPServer

server = MCPServer("bare", log_level="WARNING")


@server.tool()
async def echo(text: str) -> str:
    """Echo the text."""
    return text


server.run("stdio")
'''
MESSAGES = [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}},
]  # fmt: skip


def one_run(command: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=env)  # fmt: skip
    assert proc.stdin and proc.stdout
    proc.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in MESSAGES))
    proc.stdin.flush()
    answers = 0
    while answers < 2:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{command} ended before answering")
        answers += b'"id"' in line
    answered = time.perf_counter() - started
    proc.stdin.close()
    proc.wait(10)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, answered, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    compileall.compile_dir(Path(mcp_livechat.__file__).parent, quiet=1)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LIVECHAT_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    ours_env = env | {"LIVECHAT_PAT": "bench", "LIVECHAT_ACCOUNT_ID": "b7eff798-f8df-4364-8059-649c35c9ed0c"}
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE)
        commands = {"ours": ([sys.executable, "-m", "mcp_livechat", "serve"], ours_env),
                    "bare": ([sys.executable, str(bare)], env)}  # fmt: skip
        for command, run_env in commands.values():  # warm the OS caches
            one_run(command, run_env)
        samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, (command, run_env) in commands.items():
                samples[name].append(one_run(command, run_env))
    wall = {name: statistics.median(s[0] for s in runs) for name, runs in samples.items()}
    answered = {name: statistics.median(s[1] for s in runs) for name, runs in samples.items()}
    cpu = {name: statistics.median(s[2] for s in runs) for name, runs in samples.items()}
    for name in commands:
        print(
            f"{name:5} wall {wall[name] * 1e3:6.0f} ms (tools/list answered at {answered[name] * 1e3:4.0f} ms), "
            f"CPU {cpu[name] * 1e3:6.0f} ms (median of {args.runs})"
        )
    print(json.dumps({"wall_ratio": round(wall["ours"] / wall["bare"], 3), "cpu_ratio": round(cpu["ours"] / cpu["bare"], 3),
                      "answered_ratio": round(answered["ours"] / answered["bare"], 3), "goal": "<= 1.15"}))  # fmt: skip


if __name__ == "__main__":
    main()
