"""Helpers shared by the tests (imported, never collected)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2


async def call(client: Any, name: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, args)
    text = result.content[0].text if result.content else ""
    assert not result.is_error, f"{name} failed: {text}"
    data = result.structured_content
    assert data is not None
    # the text is the same data as compact JSON: no whitespace between tokens, no nulls
    assert text == json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    assert ":null" not in text
    return data


async def unknown_tool(client: Any, name: str, args: dict[str, Any]) -> str:
    """A tool the server does not offer: a JSON-RPC -32602 error (its message, with the reason)."""
    import pytest
    from mcp import MCPError

    with pytest.raises(MCPError) as caught:
        await client.call_tool(name, args)
    assert caught.value.error.code == -32602, caught.value.error
    return str(caught.value.error.message)


async def fail(client: Any, name: str, args: dict[str, Any]) -> str:
    result = await client.call_tool(name, args)
    assert result.is_error, f"{name} should have failed"
    return str(result.content[0].text)


async def raw_report(sandbox: Any, sent: Any) -> bytes:
    """LiveChat's raw answer to a recorded request (a `Sent`), replayed against `sandbox` as is."""
    import httpx2

    async with httpx2.AsyncClient(transport=sandbox.transport(), base_url="http://sandbox.test") as http:
        response = await http.request(
            sent.method, sent.path, json=sent.body, headers={"Authorization": sent.headers["authorization"]}
        )
    assert response.status_code == 200, response.text
    return response.content


@contextmanager
def sandbox_process() -> Iterator[str]:
    """`mcp-livechat sandbox --port 0` as a real process (a LiveChat stand-in on a real port, for
    servers started as processes); yields its API base URL once it answers."""
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("mcp-livechat")), "sandbox", "--port", "0"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = str(json.loads(proc.stdout.readline())["api_url"])
        for _ in range(200):  # it prints its URLs just before it listens
            try:
                httpx2.get(url, timeout=0.5)
                break
            except httpx2.TransportError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def wait_until_up(
    url: str,
    proc: subprocess.Popen[str],
    *,
    ready: Callable[[int], bool],
    within: float,
    log: Callable[[], str],
) -> None:
    """Poll `url` until its status passes `ready`; fail with `log()` if `proc` exits or `within`
    seconds pass first."""
    deadline = time.monotonic() + within
    while True:
        try:
            if ready(httpx2.get(url, timeout=0.5).status_code):
                return
        except httpx2.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"server did not start: {log()}")
        time.sleep(0.05)


def interrupt(proc: subprocess.Popen[Any]) -> None:
    """Stop a server as a person would (SIGINT, Ctrl-C), killing it if it has not exited in 10 s."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
