"""Protocol errors as the specification says, and malformed input answered and survived: unknown
prompts, missing prompt arguments and unknown or hidden tools are `-32602` in both protocol eras;
garbage, truncated JSON, batches, `jsonrpc: "1.0"`, null or object ids, lone surrogates and deep
nesting get `-32700` / `-32600` over a real stdio process and an error over HTTP, the server keeps
serving, and nothing of it reaches the log as an ERROR or a traceback."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import MCPError
from mcp.types import jsonrpc_message_adapter

from mcp_livechat.http_app import create_app
from mcp_livechat.sandbox import Sandbox
from mcp_livechat.server import create_server
from mcp_livechat.stdio_app import rejection
from tests.conftest import sandbox_settings
from tests.connect.flow_kit import served

PY = sys.executable
INIT = {
    "jsonrpc": "2.0", "id": "init", "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
}  # fmt: skip
# (line, expected code, expected id): what a careless or hostile client may send
MALFORMED: list[tuple[str, int, Any]] = [
    ("garbage", -32700, None),
    ('{"jsonrpc": "2.0", "id": 5, "method": "ping"', -32700, None),  # truncated
    ('[{"jsonrpc": "2.0", "id": 6, "method": "ping"}]', -32600, None),  # a batch
    ('{"jsonrpc": "1.0", "id": 7, "method": "ping"}', -32600, 7),
    ('{"jsonrpc": "2.0", "id": null, "method": "ping"}', -32600, None),
    ('{"jsonrpc": "2.0", "id": {"x": 1}, "method": "ping"}', -32600, None),
    ('{"jsonrpc": "2.0", "id": true, "method": "ping"}', -32600, None),
    (
        '{"jsonrpc": "2.0", "id": 8, "method": "ping", "params": {"s": "\\ud800"}}',
        -32600,
        8,
    ),  # lone surrogate
    ("[" * 100_000 + "]" * 100_000, -32700, None),  # deep nesting
    ("[" * 300 + "]" * 300, -32600, None),
    ("42", -32600, None),
    ('"just a string"', -32600, None),
]


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


# ----------------------------------------------------------------------------- -32602, both eras


async def test_unknown_prompts_missing_arguments_and_unknown_tools_are_invalid_params(
    connect: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    async with connect(read_only=True) as client:
        failures = []
        for call in (
            lambda: client.get_prompt("no_such_prompt", {}),
            lambda: client.get_prompt("summarize_chat", {}),
            lambda: client.get_prompt("triage_queue", {"group": "1"}),  # it takes no arguments
            lambda: client.get_prompt("weekly_report", {"timezone": "UTC", "days": "14"}),
            lambda: client.call_tool("no_such_tool", {}),
            lambda: client.call_tool("close_chat", {"chat_id": "PJ0MRSHTDG"}),  # hidden: read-only
        ):
            with pytest.raises(MCPError) as err:
                await call()
            failures.append(err.value)
        still = await client.get_prompt("triage_queue", {})  # and the server keeps serving
        listed = {p.name: p.description for p in (await client.list_prompts()).prompts}
    assert [f.code for f in failures] == [-32602] * 6
    assert "Invalid prompt name" in failures[0].message and "summarize_chat" in failures[0].message
    assert "chat_id" in failures[1].message
    assert "Unknown argument(s) for prompt triage_queue: group; it takes no arguments" in failures[2].message
    assert "weekly_report: days; it takes timezone" in failures[3].message
    assert "Unknown tool" in failures[4].message
    assert "read-only" in failures[5].message
    assert still.messages
    assert all(d and "\n" not in d and "  " not in d for d in listed.values()), listed
    assert errors_logged(caplog) == []


# ----------------------------------------------------------------------------- the stdio guard


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("utf-8", "replace")),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                              lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["jsonrpc", "id", "method", "params", "result", "error"]), inner, max_size=5),
                              max_leaves=12).map(json.dumps)))  # fmt: skip
def test_every_line_is_either_passed_on_or_answered_with_an_error(line: str) -> None:
    answer = rejection(line)
    if answer is None:
        message = jsonrpc_message_adapter.validate_json(line, by_name=False)  # the SDK will take it
        raw = json.loads(line)
        assert not ("method" in raw and "id" in raw) or type(raw["id"]) in (str, int)
        assert message is not None
        return
    error = json.loads(answer)
    assert answer.endswith(b"\n") and answer.count(b"\n") == 1
    assert error["jsonrpc"] == "2.0" and error["error"]["code"] in (-32700, -32600)
    assert error["id"] is None or type(error["id"]) in (str, int)
    assert len(answer) < 400  # never echoes the input


async def _read_answers(proc: asyncio.subprocess.Process, count: int) -> dict[Any, dict[str, Any]]:
    assert proc.stdout is not None
    answers: dict[Any, dict[str, Any]] = {}
    nulls = 0
    while len(answers) < count:
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        assert line, "the server closed stdout"
        message = json.loads(line)
        if message.get("id") is None:
            nulls += 1
            answers[f"null-{nulls}"] = message
        else:
            answers[message["id"]] = message
    return answers


async def test_malformed_stdio_input_is_answered_and_survived() -> None:
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("LIVECHAT_")}
    proc = await asyncio.create_subprocess_exec(
        PY, "-m", "mcp_livechat", "serve", "--sandbox", env={**env, "LIVECHAT_LOG_LEVEL": "INFO"},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        limit=2**20,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stderr is not None
    try:
        proc.stdin.write((json.dumps(INIT) + "\n").encode())
        proc.stdin.write(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
        await proc.stdin.drain()
        assert (await _read_answers(proc, 1))["init"]["result"]["serverInfo"]["name"] == "mcp-livechat"
        for line, _, _ in MALFORMED:
            proc.stdin.write(line.encode("utf-8", "surrogatepass") + b"\n")
        proc.stdin.write(b"\xed\xa0\x80 not utf-8\n")  # a raw lone surrogate: invalid UTF-8
        big = (
            b'{"jsonrpc": "2.0", "id": 99, "method": "ping", "params": {"x": "'
            + b"a" * (5 * 2**20)
            + b'"}}\n'
        )
        proc.stdin.write(big)  # over the 4 MiB line limit, its id first
        proc.stdin.write(
            b'{"jsonrpc": "2.0", "method": "ping", "params": {"id": 1, "x": "' + b"a" * (5 * 2**20) + b'"}, "id": "last"}\n'
        )  # fmt: skip
        proc.stdin.write(b'{"jsonrpc": "2.0", "method": "ping", "params": {"x": "' + b"a" * (5 * 2**20) + b'", "id": 1}}\n')  # fmt: skip
        calls = [
            {"jsonrpc": "2.0", "id": "tool", "method": "tools/call", "params": {"name": "no_such_tool", "arguments": {}}},
            {"jsonrpc": "2.0", "id": "prompt", "method": "prompts/get", "params": {"name": "summarize_chat", "arguments": {}}},
            {"jsonrpc": "2.0", "id": "ping", "method": "ping"},
        ]  # fmt: skip
        for call in calls:
            proc.stdin.write((json.dumps(call) + "\n").encode())
        await proc.stdin.drain()
        answers = await _read_answers(proc, len(MALFORMED) + 4 + len(calls))
        by_id = {k: v for k, v in answers.items() if not str(k).startswith("null-")}
        nulls = [v for k, v in answers.items() if str(k).startswith("null-")]
        assert by_id[7]["error"]["code"] == -32600 and by_id[8]["error"]["code"] == -32600
        # an oversized line is answered with its id where one end shows it (not a nested "id")
        assert by_id[99]["error"]["code"] == by_id["last"]["error"]["code"] == -32600
        assert "over 4194304 bytes" in by_id[99]["error"]["message"]
        expected_nulls = sorted([code for _, code, ident in MALFORMED if ident is None] + [-32700, -32600])
        assert sorted(n["error"]["code"] for n in nulls) == expected_nulls
        assert by_id["tool"]["error"]["code"] == -32602 and by_id["prompt"]["error"]["code"] == -32602
        assert by_id["ping"]["result"] == {}  # it kept serving
        # and a real tool call still works after all that
        proc.stdin.write(
            b'{"jsonrpc": "2.0", "id": "chats", "method": "tools/call", "params": {"name": "list_chats", "arguments": {"limit": 1}}}\n'
        )
        await proc.stdin.drain()
        chats = (await _read_answers(proc, 1))["chats"]
        assert not chats["result"].get("isError")
        assert len(chats["result"]["structuredContent"]["chats"]) == 1
        proc.stdin.close()
        await asyncio.wait_for(proc.wait(), 20)
        stderr = (await proc.stderr.read()).decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    assert "Traceback" not in stderr and " ERROR " not in stderr, stderr[-2000:]
    assert "answered a malformed stdio line" in stderr  # logged at INFO, not as an error


# ----------------------------------------------------------------------------- HTTP


async def test_malformed_http_input_is_answered_and_survived(caplog: pytest.LogCaptureFixture) -> None:
    sandbox = Sandbox()
    settings_ = sandbox_settings()
    built = create_server(settings_, transport=sandbox.transport())
    app = create_app(built, settings_, transport="http", host="127.0.0.1")
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    modern = {**headers, "MCP-Protocol-Version": "2026-07-28"}
    async with served(app) as base, httpx2.AsyncClient(timeout=20) as web:
        for line, _, _ in MALFORMED:
            for kind in (headers, modern):
                answer = await web.post(
                    f"{base}/mcp", content=line.encode("utf-8", "surrogatepass"), headers=kind
                )
                assert answer.status_code in (200, 400), (line[:40], answer.status_code)
                body = answer.json()
                assert body["jsonrpc"] == "2.0" and body["error"]["code"] in (-32700, -32600, -32602)
        init = await web.post(f"{base}/mcp", json=INIT, headers=headers)
        assert init.status_code == 200  # the server kept serving
        ping = await web.get(f"{base}/healthz")
        assert ping.json()["status"] == "ok"
    assert [m for m in errors_logged(caplog) if "Traceback" in m or "raised" in m] == []


def test_an_oversized_lines_id_is_read_from_either_end_and_nothing_in_it_breaks_the_reader() -> None:
    from mcp_livechat.stdio_app import oversized_id

    bulk = b"a" * 1000
    assert oversized_id(b'{"jsonrpc": "2.0", "id": 7, "params": {"x": "' + bulk, bulk + b'"}}') == 7
    assert oversized_id(b'{"params": {"id": 1, "x": "' + bulk, bulk + b'"}, "id": "z"}\n') == "z"
    assert oversized_id(b'{"params": {"x": "' + bulk, bulk + b'", "id": 1}}') is None  # nested only
    # a key JSON cannot decode (an escape it does not have) is skipped, not fatal
    assert oversized_id(b'{"a\\q": 1, "id": 3, "params": "' + bulk, bulk + b'"}') == 3
    assert oversized_id(b'{"\x01": 1, "id": true, "p": "' + bulk, bulk + b'"}') is None
    assert oversized_id(b'{"id": 1.5, "p": "' + bulk, b"") is None  # not a JSON-RPC id
