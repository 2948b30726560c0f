"""Bounded Streamable HTTP sessions over a real port: the SDK's idle timeout and process-wide cap
come from LIVECHAT_HTTP_SESSION_IDLE / LIVECHAT_HTTP_MAX_SESSIONS, and each caller may hold at
most LIVECHAT_MAX_SESSIONS_PER_CALLER (the session idle longest goes first; all busy: 429)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import MCPError

from mcp_livechat.sandbox import Sandbox
from tests.conftest import sandbox_settings
from tests.connect.flow_kit import serving
from tests.connect.replica_kit import api_keys, keyed_client

ANNA, BEN = "anna-key-0123456789abcdef", "ben-key-0123456789abcdef"
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def _settings(tmp: Path, **overrides: Any) -> Any:
    keys = api_keys(tmp, [(ANNA, "acme", "anna"), (BEN, "acme", "ben")])
    return sandbox_settings(mcp_auth="api-key", mcp_api_keys_file=str(keys), **overrides)


async def _open(web: httpx2.AsyncClient, base: str, key: str) -> httpx2.Response:
    """The opening request of a 2025-11-25 session, raw (its answer carries the session id)."""
    return await web.post(f"{base}/mcp", json=INIT, headers={**HEADERS, "Authorization": f"Bearer {key}"})


async def _ping(web: httpx2.AsyncClient, base: str, key: str, session: str) -> int:
    body = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    headers = {**HEADERS, "Authorization": f"Bearer {key}", "mcp-session-id": session,
               "mcp-protocol-version": "2025-11-25"}  # fmt: skip
    return (await web.post(f"{base}/mcp", json=body, headers=headers)).status_code


async def test_a_caller_at_the_cap_loses_their_session_idle_longest(sandbox: Sandbox, tmp_path: Path) -> None:
    settings = _settings(tmp_path, max_sessions_per_caller=2)
    async with serving(settings, sandbox.transport()) as (base, _), httpx2.AsyncClient(timeout=10) as web:
        first = (await _open(web, base, ANNA)).headers["mcp-session-id"]
        await asyncio.sleep(0.01)
        second = (await _open(web, base, ANNA)).headers["mcp-session-id"]
        assert await _ping(web, base, ANNA, first) == 200  # now `second` is the one idle longest
        bens = [(await _open(web, base, BEN)).headers["mcp-session-id"] for _ in range(2)]
        third = await _open(web, base, ANNA)
        assert third.status_code == 200
        assert await _ping(web, base, ANNA, second) == 404  # closed to admit the third
        assert await _ping(web, base, ANNA, first) == 200
        assert await _ping(web, base, ANNA, third.headers["mcp-session-id"]) == 200
        assert [await _ping(web, base, BEN, s) for s in bens] == [200, 200]  # another caller: untouched


async def test_all_busy_refuses_a_new_session_and_sdk_clients_keep_working(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, max_sessions_per_caller=1)
    async with serving(settings, sandbox.transport()) as (base, _):
        async with keyed_client(f"{base}/mcp", ANNA, mode="legacy") as client:  # holds a GET stream open
            assert not (await client.call_tool("list_groups", {})).is_error
            async with keyed_client(f"{base}/mcp", ANNA, mode="legacy") as replacing:  # the idle one goes
                assert not (await replacing.call_tool("list_tags", {})).is_error
            with pytest.raises(MCPError, match="Session not found"):  # its client must open a new one
                await client.call_tool("list_groups", {})

        async with httpx2.AsyncClient(timeout=10) as web:
            session = (await _open(web, base, ANNA)).headers["mcp-session-id"]
            sandbox.faults.add("latency", count=1, methods=["list_groups"], latency_ms=1500)
            call = {
                "jsonrpc": "2.0",
                "id": 3,
                "method": "tools/call",
                "params": {"name": "list_groups", "arguments": {}},
            }
            headers = {**HEADERS, "Authorization": f"Bearer {ANNA}", "mcp-session-id": session,
                       "mcp-protocol-version": "2025-11-25"}  # fmt: skip
            asked = sandbox.stats.requests["list_groups"]
            busy = asyncio.create_task(web.post(f"{base}/mcp", json=call, headers=headers))
            for _ in range(500):  # until LiveChat has the call: the only session is busy for 1.5 s
                if sandbox.stats.requests["list_groups"] > asked:
                    break
                await asyncio.sleep(0.01)
            assert sandbox.stats.requests["list_groups"] > asked, "the slow call never reached LiveChat"
            refused = await _open(web, base, ANNA)
            await busy
            admitted = await _open(web, base, ANNA)  # idle again: it is replaced
    assert refused.status_code == 429 and "LIVECHAT_MAX_SESSIONS_PER_CALLER" in refused.text
    assert admitted.status_code == 200


async def test_the_sdk_session_bounds_come_from_the_settings(sandbox: Sandbox, tmp_path: Path) -> None:
    settings = _settings(tmp_path, http_session_idle=1, http_max_sessions=1, max_sessions_per_caller=5)
    async with serving(settings, sandbox.transport()) as (base, _), httpx2.AsyncClient(timeout=10) as web:
        anna = (await _open(web, base, ANNA)).headers["mcp-session-id"]
        full = await _open(web, base, BEN)  # the process-wide cap: one session
        await asyncio.sleep(2.0)  # idle past LIVECHAT_HTTP_SESSION_IDLE: reaped
        gone = await _ping(web, base, ANNA, anna)
        room = await _open(web, base, BEN)
    assert full.status_code == 503 and gone == 404 and room.status_code == 200


@pytest.mark.parametrize("stateless", [True, False])
async def test_a_modern_client_is_not_capped(sandbox: Sandbox, tmp_path: Path, stateless: bool) -> None:
    settings = _settings(tmp_path, max_sessions_per_caller=1, http_stateless=stateless)
    # 2026-07-28: no sessions at all, so nothing to cap
    async with serving(settings, sandbox.transport()) as (base, _), AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(keyed_client(f"{base}/mcp", ANNA)) for _ in range(3)]
        results = [await c.call_tool("list_groups", {}) for c in clients]
    assert not any(r.is_error for r in results)


async def test_an_unknown_caller_is_refused_by_the_sdk_not_counted(sandbox: Sandbox, tmp_path: Path) -> None:
    async with serving(_settings(tmp_path), sandbox.transport()) as (base, _), httpx2.AsyncClient() as web:
        refused = await _open(web, base, "not-a-key-0123456789")
    assert refused.status_code == 401


async def test_a_404_elsewhere_or_to_another_caller_does_not_uncount_a_session(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The SDK answers 404 to a session id on a path it does not serve, and to a caller who does
    not own the session; neither ends the session, so neither may make the cap stop counting it
    (else one caller could hold any number of sessions)."""
    settings = _settings(tmp_path, max_sessions_per_caller=1)
    async with serving(settings, sandbox.transport()) as (base, _), httpx2.AsyncClient(timeout=10) as web:
        first = (await _open(web, base, ANNA)).headers["mcp-session-id"]
        elsewhere = await web.get(f"{base}/nope", headers={"mcp-session-id": first})
        foreign = await _ping(web, base, BEN, first)
        assert elsewhere.status_code == 404 and foreign == 404
        assert await _ping(web, base, ANNA, first) == 200  # it lives on
        second = await _open(web, base, ANNA)
        assert second.status_code == 200, second.text
        assert await _ping(web, base, ANNA, first) == 404  # still counted: closed to admit the second
        assert await _ping(web, base, ANNA, second.headers["mcp-session-id"]) == 200


async def test_the_sse_transport_is_bounded_per_caller_and_per_process(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Legacy HTTP+SSE: a session is an open /sse stream. LIVECHAT_MAX_SESSIONS_PER_CALLER and
    LIVECHAT_HTTP_MAX_SESSIONS bound them there too (the SDK's SSE transport has no bounds)."""
    from mcp_livechat.cli import free_port
    from mcp_livechat.http_app import create_app
    from mcp_livechat.server import create_server
    from tests.connect.flow_kit import served

    settings = _settings(tmp_path, max_sessions_per_caller=1, http_max_sessions=2)
    port = free_port()
    built = create_server(settings, transport=sandbox.transport(), public_url=f"http://127.0.0.1:{port}")
    app = create_app(built, settings, transport="sse", host="127.0.0.1")

    def sse(web: httpx2.AsyncClient, base: str, key: str) -> Any:
        return web.stream(
            "GET", f"{base}/sse", headers={"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
        )

    async with served(app, port) as base, httpx2.AsyncClient(timeout=10) as web, AsyncExitStack() as streams:
        anna = await streams.enter_async_context(sse(web, base, ANNA))
        assert anna.status_code == 200
        async with sse(web, base, ANNA) as again:
            assert (
                again.status_code == 429
                and "LIVECHAT_MAX_SESSIONS_PER_CALLER" in (await again.aread()).decode()
            )
        ben = await streams.enter_async_context(sse(web, base, BEN))
        assert ben.status_code == 200
        async with sse(web, base, BEN) as full:  # two open in the process: its bound
            assert full.status_code == 503 and "LIVECHAT_HTTP_MAX_SESSIONS" in (await full.aread()).decode()
        await streams.aclose()  # both streams end: their sessions with them
        for _ in range(100):  # the server sees the disconnect a moment later
            async with sse(web, base, ANNA) as later:
                if later.status_code == 200:
                    break
            await asyncio.sleep(0.05)
        assert later.status_code == 200


class _HoldOpeningAnswers:
    """A slow network in front of our app: the body of an answer to a request marked
    `x-test-hold` waits until `release` is set (its status and headers, with the session id, go
    out at once). Everything else passes untouched."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.release = asyncio.Event()
        self.holding = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        held = scope["type"] == "http" and any(k == b"x-test-hold" for k, _ in scope["headers"])
        if not held:
            await self.app(scope, receive, send)
            return

        async def slow(message: Any) -> None:
            if message["type"] == "http.response.body":
                self.holding.set()
                await self.release.wait()
            await send(message)

        await self.app(scope, receive, slow)


async def test_a_session_whose_opening_answer_is_still_on_its_way_is_busy(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A client may use its session id as soon as the headers arrive, while the initialize answer
    is still being sent. Until that answer is out the session is busy: a caller at the cap who
    opens another is refused (429), not served by closing the session being opened; once the
    answer is out it is idle and may be replaced."""
    from mcp_livechat.cli import free_port
    from mcp_livechat.http_app import create_app
    from mcp_livechat.server import create_server
    from tests.connect.flow_kit import served

    settings = _settings(tmp_path, max_sessions_per_caller=1)
    port = free_port()
    built = create_server(settings, transport=sandbox.transport(), public_url=f"http://127.0.0.1:{port}")
    gate = _HoldOpeningAnswers(create_app(built, settings, transport="http", host="127.0.0.1"))
    hold = {**HEADERS, "Authorization": f"Bearer {ANNA}", "x-test-hold": "1"}
    async with served(gate, port) as base, httpx2.AsyncClient(timeout=10) as web:
        async with web.stream("POST", f"{base}/mcp", json=INIT, headers=hold) as opening:
            assert opening.status_code == 200
            first = opening.headers["mcp-session-id"]
            await asyncio.wait_for(gate.holding.wait(), 5)  # its answer's body is held
            while_opening = await _open(web, base, ANNA)
            gate.release.set()
            answer = (await opening.aread()).decode()
        assert while_opening.status_code == 429, while_opening.text
        assert '"protocolVersion"' in answer  # the opening answer arrived whole
        assert await _ping(web, base, ANNA, first) == 200  # and its session lives
        replacing = await _open(web, base, ANNA)  # idle now: closed to admit this one
        assert replacing.status_code == 200
        assert await _ping(web, base, ANNA, first) == 404


async def test_sigterm_lets_a_call_in_flight_finish(tmp_path: Path) -> None:
    """A rolling restart: SIGTERM stops the listener, and a call already in flight (a sessionless
    2026-07-28 one, 1.5 s at LiveChat) is answered before the process exits."""
    import os
    import signal

    from mcp import Client

    from mcp_livechat.sandbox import constants
    from tests.connect.flow_kit import sandbox_on_port
    from tests.connect.replica_kit import replicas

    async with sandbox_on_port() as (sb, base, _, _):
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIVECHAT_")}
        env.update(LIVECHAT_API_URL=base, LIVECHAT_ACCOUNTS_URL=f"{base}/accounts",
                   LIVECHAT_ACCOUNT_ID=constants.ACCOUNT_ID, LIVECHAT_PAT=constants.PAT)  # fmt: skip
        async with replicas(tmp_path, [env]) as (server,), Client(f"{server.base}/mcp") as client:
            assert not (await client.call_tool("list_groups", {})).is_error
            sb.faults.add("latency", latency_ms=1500, methods=["list_chats"])
            call = asyncio.create_task(client.call_tool("list_chats", {"limit": 1}))
            await asyncio.sleep(0.5)
            assert server.proc is not None
            server.proc.send_signal(signal.SIGTERM)
            result = await asyncio.wait_for(call, 20)
            code = await asyncio.to_thread(server.proc.wait, 20)
    assert not result.is_error, result.content
    assert code in (0, -signal.SIGTERM), code  # uvicorn re-raises the signal once it has drained
