"""What the logs say of a tool call: one line a call, every record of the call carrying its
context (our reference, the tool, the JSON-RPC id, the gateway's request id and trace id), the
reference an internal error quotes, and both formats (`text`, `json`) on a real process."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel

from mcp_livechat import logs
from mcp_livechat.cli import free_port
from mcp_livechat.sandbox import Sandbox
from mcp_livechat.server import create_server
from mcp_livechat.tools.adapter import sdk_tool
from mcp_livechat.tools.context import ToolContext
from mcp_livechat.tools.spec import tool
from tests.conftest import sandbox_settings
from tests.helpers import interrupt
from tests.test_serve import running

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@contextmanager
def call_records(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """The records of this package at INFO, with the context our stderr handler gives them."""
    context = logs.ContextFilter()
    caplog.handler.addFilter(context)
    caplog.set_level(logging.INFO, logger="mcp_livechat")
    try:
        yield caplog.records
    finally:
        caplog.handler.removeFilter(context)


@contextmanager
def configured(level: str, fmt: logs.LogFormat) -> Iterator[None]:
    """`logs.configure` for the block; the loggers it sets are as they were afterwards."""
    root, client = logging.getLogger(), logging.getLogger("httpx2")
    saved = root.handlers[:], root.level, client.level
    try:
        logs.configure(level, fmt)
        yield
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        client.setLevel(saved[2])


async def test_every_call_logs_one_line_and_its_records_share_its_reference(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    server, _ = create_server(sandbox_settings(), transport=sandbox.transport())
    with call_records(caplog) as records:
        async with Client(server) as client:
            assert (await client.call_tool("get_chat", {"chat_id": "NOSUCHCHAT"})).is_error
            assert not (await client.call_tool("list_chats", {"limit": 1})).is_error
    lines = [r for r in records if r.getMessage().startswith("tool ")]
    assert [(r.tool, r.outcome) for r in lines] == [("get_chat", "refused"), ("list_chats", "ok")]  # type: ignore[attr-defined]
    refused, ok = lines
    assert re.fullmatch(r"tool get_chat refused \(NotFound\) in \d+ ms", refused.getMessage())
    assert isinstance(refused.duration_ms, float) and refused.duration_ms >= 0  # type: ignore[attr-defined]
    assert re.fullmatch(r"[0-9a-f]{12}", refused.call_id) and refused.call_id != ok.call_id  # type: ignore[attr-defined]
    assert refused.rpc_id != ok.rpc_id  # type: ignore[attr-defined]
    upstream = next(r for r in records if r.name == "mcp_livechat.livechat" and "->" in r.getMessage())
    assert upstream.getMessage() == "livechat get_chat -> 404 not_found"
    assert (upstream.call_id, upstream.tool) == (refused.call_id, "get_chat")  # type: ignore[attr-defined]
    assert not any(hasattr(r, "http_request_id") for r in (refused, ok, upstream))  # in memory: no headers


async def test_concurrent_calls_keep_their_own_context(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """A slow call and a quick one overlap: each LiveChat record names the call it was made for."""
    server, _ = create_server(sandbox_settings(), transport=sandbox.transport())
    sandbox.faults.add("latency", methods=["get_chat"], latency_ms=150)
    with call_records(caplog) as records:
        caplog.set_level(logging.DEBUG, logger="mcp_livechat.livechat")
        async with Client(server) as client, anyio.create_task_group() as tg:
            tg.start_soon(client.call_tool, "get_chat", {"chat_id": "NOSUCHCHAT"})
            await anyio.sleep(0.03)
            tg.start_soon(client.call_tool, "list_chats", {"limit": 1})
    upstream = [r for r in records if r.name == "mcp_livechat.livechat" and " in " in r.getMessage()]
    order = [r.getMessage().split()[1] for r in upstream]
    assert order == ["list_chats", "get_chat"], order  # they did overlap: the later call ended first
    assert all(r.tool == r.getMessage().split()[1] for r in upstream)  # type: ignore[attr-defined]
    lines = {r.tool: r.call_id for r in records if r.getMessage().startswith("tool ")}  # type: ignore[attr-defined]
    assert {r.tool: r.call_id for r in upstream} == lines  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", ["legacy", "auto"], ids=["2025-11-25", "2026-07-28"])
async def test_a_call_the_client_cancels_is_cancelled_not_internal(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    """A client that gives up on a slow call: the line and the metrics say `cancelled` (an alert
    on `internal` must not fire for it), and the session keeps serving."""
    built = create_server(sandbox_settings(), transport=sandbox.transport())
    metrics = built.runtime.enable_metrics()  # as an HTTP server does (a stdio one counts nothing)
    sandbox.faults.add("latency", methods=["get_chat"], latency_ms=5000)
    with call_records(caplog) as records:
        async with Client(built.server, mode=mode) as client:  # type: ignore[arg-type]
            with anyio.move_on_after(0.3):
                await client.call_tool("get_chat", {"chat_id": "NOSUCHCHAT"})
            await anyio.sleep(0.2)
            assert not (await client.call_tool("list_chats", {"limit": 1})).is_error
    lines = [r.getMessage() for r in records if r.getMessage().startswith("tool ")]
    assert re.fullmatch(r"tool get_chat cancelled in \d+ ms", lines[0]) and lines[1].startswith(
        "tool list_chats ok"
    )
    assert metrics is not None
    text = metrics.render()[0].decode()
    assert 'mcp_livechat_tool_calls_total{outcome="cancelled",tool="get_chat"} 1.0' in text
    assert 'outcome="internal"' not in text


class _Nothing(BaseModel):
    pass


@tool(toolset="account", title="Explode", read_only=True, destructive=False, idempotent=True,
      open_world=False, needs_livechat=False)  # fmt: skip
async def explode(tc: ToolContext) -> _Nothing:
    """A tool with a bug (this test's own): it fails in a way no error class foresaw."""
    raise KeyError("a bug")


async def test_an_internal_error_quotes_the_reference_its_traceback_is_logged_under(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """The model reads the reference, not the traceback; the operator finds the traceback by it."""
    built = create_server(sandbox_settings(), transport=sandbox.transport())

    @asynccontextmanager
    async def lifespan(server: MCPServer[Any]) -> AsyncIterator[Any]:
        async with built.runtime:
            yield built.runtime.services()

    server: MCPServer[Any] = MCPServer("t", lifespan=lifespan, tools=[sdk_tool(explode)])
    with call_records(caplog) as records:
        async with Client(server) as client:
            result = await client.call_tool("explode", {})
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and "a bug" not in text and "KeyError" not in text
    reference = re.search(r"under reference ([0-9a-f]{12})\b", text)
    assert reference, text
    failure = next(r for r in records if r.levelno == logging.ERROR)
    assert failure.call_id == reference.group(1) and failure.exc_info  # type: ignore[attr-defined]
    assert failure.exc_info[0] is KeyError  # type: ignore[index]
    line = next(r for r in records if r.getMessage().startswith("tool explode internal"))
    assert re.fullmatch(r"tool explode internal \(KeyError\) in \d+ ms", line.getMessage())
    assert line.call_id == failure.call_id  # type: ignore[attr-defined]


def test_the_text_format_appends_the_context_and_cleans_what_callers_send(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with configured("INFO", "text"):
        log = logging.getLogger("mcp_livechat.tools")
        log.info("outside")
        with logs.call_context(
            call_id="abc123", tool="list_chats", rpc_id=logs.clean_field("7\n x"), trace_id=None
        ):
            log.info("inside")
            with logs.call_context(http_request_id="gw-1"):
                log.warning("nested")
        log.info("after")
    out = capsys.readouterr().err.splitlines()
    assert [line.split(" ", 2)[2] for line in out] == [
        "INFO mcp_livechat.tools: outside",
        "INFO mcp_livechat.tools [call_id=abc123 tool=list_chats rpc_id=7__x]: inside",
        "WARNING mcp_livechat.tools [call_id=abc123 tool=list_chats rpc_id=7__x http_request_id=gw-1]: nested",
        "INFO mcp_livechat.tools: after",
    ]


def test_json_lines_stay_json_whatever_the_message_and_keep_the_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Redaction runs on each value before serialising: a quote after a `code=` (uvicorn quotes a
    path, not its query) cannot break the line, and the traceback's secrets are masked too."""
    with configured("INFO", "json"):
        log = logging.getLogger(
            "tests.access"
        )  # as uvicorn's access log words it (other tests tune uvicorn's)
        log.info('%s - "GET %s HTTP/1.1" %d', "10.0.0.1:5000", '/mcp?code=dal:abcdefghijkl"&x=1', 400)
        try:
            raise RuntimeError("refused: Authorization: Bearer fra:abcdefghijklmnop")
        except RuntimeError:
            with logs.call_context(call_id="c0ffee", tool="list_chats"):
                logging.getLogger("mcp_livechat.tools").exception("tool list_chats failed unexpectedly")
    access, failure = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert access["message"] == '10.0.0.1:5000 - "GET /mcp?code=<redacted>"&x=1 HTTP/1.1" 400'
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", access["time"])
    assert (failure["level"], failure["call_id"], failure["tool"]) == ("ERROR", "c0ffee", "list_chats")
    assert "RuntimeError" in failure["exc_info"] and "Traceback" in failure["exc_info"]
    assert "abcdefghijklmnop" not in failure["exc_info"] and "Bearer <redacted>" in failure["exc_info"]


async def test_at_debug_each_livechat_request_is_one_json_event_of_its_call(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--log-level DEBUG --log-format json`: each request the call made is one object with the
    call's context and the request's own fields, which a log pipeline can sum by action."""
    server, _ = create_server(sandbox_settings(), transport=sandbox.transport())
    sandbox.faults.add("server_error", count=1, methods=["list_chats"])
    with configured("DEBUG", "json"):
        async with Client(server) as client:
            assert not (await client.call_tool("list_chats", {"limit": 1})).is_error
    entries = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    events = [e for e in entries if "attempt" in e]
    assert [
        (e["livechat_api"], e["livechat_action"], e["attempt"], e["livechat_status"]) for e in events
    ] == [
        ("agent", "list_chats", 1, 500),
        ("agent", "list_chats", 2, 200),
    ]
    call = next(e for e in entries if e["message"].startswith("tool list_chats ok"))
    assert all(e["call_id"] == call["call_id"] and e["level"] == "DEBUG" for e in events)
    assert all(isinstance(e["duration_ms"], int) for e in events)


async def test_json_logs_over_http_carry_the_gateways_request_id_and_trace() -> None:
    """A real `serve --transport http --log-format json`: every stderr line is one JSON object;
    the call's line names the gateway's `X-Request-ID` and the `traceparent`'s trace id; a
    request id with characters that could forge fields is cleaned; tokens stay out."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(
        "serve", "--transport", "http", "--port", str(port), "--sandbox",
        "--log-format", "json", "--log-level", "INFO", ready_url=f"{base}/healthz",
    ) as proc:  # fmt: skip
        headers = {
            "X-Request-ID": 'gw-42" "level":"CRITICAL',
            "traceparent": f"00-{TRACE}-00f067aa0ba902b7-01",
        }
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client,
        ):
            assert not (await client.call_tool("list_chats", {"limit": 1})).is_error
            assert (await client.call_tool("get_chat", {"chat_id": "NOSUCHCHAT"})).is_error
        interrupt(proc)
        stderr = proc.stderr.read() if proc.stderr else ""
    entries = [json.loads(line) for line in stderr.splitlines() if line.strip()]  # each line is JSON
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    calls = [e for e in entries if e["message"].startswith("tool ")]
    assert [(e["tool"], e["outcome"]) for e in calls] == [("list_chats", "ok"), ("get_chat", "refused")]
    for e in calls:
        assert e["http_request_id"] == "gw-42___level_:_CRITICAL" and e["trace_id"] == TRACE
        assert e["level"] == "INFO" and isinstance(e["duration_ms"], float)
    upstream = next(e for e in entries if e["logger"] == "mcp_livechat.livechat")
    assert upstream["call_id"] == calls[1]["call_id"] and upstream["livechat_error"] == "not_found"
    assert any(e["logger"] == "uvicorn.access" for e in entries)  # the access log, as JSON too
    assert not [e for e in entries if e["logger"].startswith("httpx")]  # one line a call, not one a request
    assert "color_message" not in stderr
