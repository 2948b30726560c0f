"""The sandbox over a real loopback port: a ``drop`` fault aborts the TCP connection."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import httpx2
import pytest

from mcp_livechat.sandbox import Sandbox, constants, serve
from tests.sandbox.sandbox_testkit import SMITH_PAT, active_chat_of


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_drop_over_a_real_port(sb: Sandbox) -> None:
    port = free_port()
    server = asyncio.create_task(serve(sb, "127.0.0.1", port))
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx2.AsyncClient(base_url=base, timeout=5) as client:
            for _ in range(200):
                try:
                    health = await client.get("/sandbox/health")
                    break
                except httpx2.ConnectError:
                    await asyncio.sleep(0.02)
            assert health.json()["status"] == "ok"
            assert sb.describe(base)["accounts_url"] == base + "/accounts"
            chat_id = active_chat_of(sb)
            body = {"chat_id": chat_id, "event": {"type": "message", "text": "lost answer"}}
            sb.faults.add("drop", methods=["send_event"])
            with pytest.raises((httpx2.RemoteProtocolError, httpx2.ReadError)):
                await client.post("/v3.6/agent/action/send_event", json=body, headers=SMITH_PAT)
            assert sb.stats.counter("events_sent") == 1
            assert sb.state.chats[chat_id].last_thread.events[-1]["text"] == "lost answer"
            again = await client.post("/v3.6/agent/action/send_event", json=body, headers=SMITH_PAT)
            assert again.status_code == 200
            me = await client.get("/accounts/v2/accounts/me", headers=SMITH_PAT)
            assert me.json()["email"] == constants.AGENT_EMAIL
    finally:
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server
