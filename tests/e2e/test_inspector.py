"""The MCP Inspector's CLI (`@modelcontextprotocol/inspector --cli`, pinned in package.json) against
our server on the sandbox, as a user would run it: stdio, Streamable HTTP in both protocol eras
(2025-11-25 `legacy`, 2026-07-28 `modern`) and legacy SSE; its JSON output is checked."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from mcp_livechat.tools.catalogue import ALL_TOOLS
from mcp_livechat.tools.spec import DEFAULT_TOOLSETS
from tests.e2e.toolchain import Toolchain, run

INSPECTOR = "@modelcontextprotocol/inspector"
SERVER_INFO = "io.modelcontextprotocol/serverInfo"  # 2026-07-28 tool results carry it in `_meta`
DEFAULT_TOOLS = {s.name for s in ALL_TOOLS if s.toolset in DEFAULT_TOOLSETS}
PROMPTS = {"summarize_chat", "draft_reply", "triage_queue", "weekly_report"}
TEMPLATES = {"livechat://chats/{chat_id}", "livechat://customers/{customer_id}"}
TRANSPORTS = ["stdio", "http-2025-11-25", "http-2026-07-28", "sse"]
METHODS: dict[str, list[str]] = {
    "tools/list": [],
    "tools/call": ["--tool-name", "list_chats", "--tool-args-json", '{"limit": 2}'],
    "prompts/list": [],
    "resources/templates/list": [],
}


def _target(transport: str, http_server: str, sse_server: str) -> list[str]:
    if transport == "stdio":
        return [str(Path(sys.executable).with_name("mcp-livechat")), "serve", "--sandbox"]
    if transport == "sse":
        return ["--transport", "sse", f"{sse_server}/sse"]
    era = "legacy" if transport.endswith("2025-11-25") else "modern"
    return ["--transport", "http", "--protocol-era", era, f"{http_server}/mcp"]


def _check(method: str, result: dict[str, Any]) -> None:
    if method == "tools/list":
        tools = result["tools"]
        assert {t["name"] for t in tools} == DEFAULT_TOOLS
        for t in tools:
            assert t["title"] and t["description"] and t["inputSchema"]["type"] == "object", t["name"]
            assert set(t["annotations"]) >= {
                "readOnlyHint",
                "destructiveHint",
                "idempotentHint",
                "openWorldHint",
            }
    elif method == "tools/call":
        assert not result.get("isError"), result
        chats = result["structuredContent"]["chats"]
        assert len(chats) == 2 and all(c["id"] and c["customer"]["id"] for c in chats)
        assert json.loads(result["content"][0]["text"]) == result["structuredContent"]
    elif method == "prompts/list":
        assert {p["name"] for p in result["prompts"]} == PROMPTS
        summarize = next(p for p in result["prompts"] if p["name"] == "summarize_chat")
        assert summarize["arguments"] == [
            {"name": "chat_id", "description": summarize["arguments"][0]["description"], "required": True}
        ]
    else:
        assert {t["uriTemplate"] for t in result["resourceTemplates"]} == TEMPLATES
        assert {t["mimeType"] for t in result["resourceTemplates"]} == {"application/json"}


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_inspector_cli(
    transport: str, method: str, toolchain: Toolchain, tool_home: Path, http_server: str, sse_server: str
) -> None:
    cmd = toolchain.command(
        INSPECTOR, "--cli", "--format", "json", "--quiet", "--method", method, *METHODS[method],
        *_target(transport, http_server, sse_server),
    )  # fmt: skip
    out = run(cmd, env=toolchain.env(tool_home), timeout=120)
    assert out.returncode == 0, f"{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
    answer = json.loads(out.stdout)
    assert set(answer) == {"result"}, answer
    result = answer["result"]
    _check(method, result)
    if method == "tools/call":  # the era really negotiated: only 2026-07-28 results name the server
        modern = transport == "http-2026-07-28"
        assert (SERVER_INFO in result.get("_meta", {})) == modern, result.get("_meta")
        if modern:
            assert result["_meta"][SERVER_INFO]["name"] == "mcp-livechat"
