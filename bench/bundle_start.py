"""How long the MCP Bundle takes to start, as a host launches it: the time from spawning the
manifest's `mcp_config` to the first `tools/list` answer (plus one `list_chats`), against a sandbox
on a real port.

    .venv/bin/python bench/bundle_start.py [runs]

Packs this checkout with the e2e suite's pinned `mcpb` (tests/e2e/toolchain.py installs it), unpacks
it, and measures, `runs` times each (default 3):
  cold     an empty uv cache: uv downloads Python packages from PyPI (the first start on a machine)
  warm     uv's cache holds them, the bundle has no environment yet (a reinstall, another bundle)
  second   the bundle's environment exists (every start after the first)
with the shipped `uv.lock` (`uv run --frozen`) and without it (the lock removed, `--frozen` dropped:
uv resolves versions afresh). uv never downloads Python here (UV_PYTHON_DOWNLOADS=never).
Wall-clock numbers on whatever machine and network run it; compare runs on one machine only.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mcp import Client, StdioServerParameters

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e.toolchain import BIN, as_a_host_would, ensure_toolchain, run  # noqa: E402


async def start(p: StdioServerParameters) -> float:
    began = time.monotonic()
    async with Client(p) as client:
        assert len((await client.list_tools()).tools) > 20
        assert not (await client.call_tool("list_chats", {"limit": 1})).is_error
    return time.monotonic() - began


async def measure(bundle: Path, api: str, runs: int, *, locked: bool) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"cold": [], "warm": [], "second": []}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "uv-cache"
        for _ in range(runs):
            for stage in ("cold", "warm", "second"):
                if stage == "cold":
                    shutil.rmtree(cache, ignore_errors=True)
                if stage != "second":
                    shutil.rmtree(bundle / ".venv", ignore_errors=True)
                    if not locked:
                        (bundle / "uv.lock").unlink(missing_ok=True)
                out[stage].append(await start(as_a_host_would(bundle, api, cache=cache, locked=locked)))
    return out


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    tools = ensure_toolchain()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = tools.env(work)
        packed = work / "mcp-livechat.mcpb"
        run(tools.command("@anthropic-ai/mcpb", "pack", str(REPO), str(packed)), env=env, timeout=120)
        sandbox = subprocess.Popen(
            [str(BIN / "mcp-livechat"), "sandbox", "--port", "0"], stdout=subprocess.PIPE, text=True
        )
        assert sandbox.stdout is not None
        api = json.loads(sandbox.stdout.readline())["api_url"]
        try:
            print(f"bundle {packed.stat().st_size:,} B; {runs} runs each; seconds to the first answer")
            for locked in (True, False):
                bundle = work / ("locked" if locked else "unlocked")
                run(
                    tools.command("@anthropic-ai/mcpb", "unpack", str(packed), str(bundle)),
                    env=env,
                    timeout=120,
                )
                times = asyncio.run(measure(bundle, api, runs, locked=locked))
                label = "uv run --frozen, shipped uv.lock" if locked else "uv run, no lock (resolved afresh)"
                cells = "; ".join(
                    f"{stage} median {statistics.median(t):.2f} ({min(t):.2f}-{max(t):.2f})"
                    for stage, t in times.items()
                )
                print(f"{label}: {cells}")
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=10)


if __name__ == "__main__":
    main()
