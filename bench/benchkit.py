"""What several bench scripts share (imported by name: `bench/` is on `sys.path` when a script in it runs)."""

from __future__ import annotations

import asyncio
import json
import subprocess

import httpx2


def compact(obj: object) -> int:
    """Bytes of `obj` as the wire carries it: compact JSON, UTF-8."""
    return len(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode())


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A quiet subprocess (a server under measurement)."""
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def wait_http(url: str) -> None:
    """Until `url` answers anything over HTTP (15 s at most)."""
    async with httpx2.AsyncClient() as http:
        for _ in range(300):
            try:
                await http.get(url)
                return
            except httpx2.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")
