"""Toolset `account`: groups, tags, the connection (PAT mode here; OAuth in tests/connect)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp_livechat.sandbox import constants
from tests.helpers import call


async def test_groups_and_tags(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        groups = (await call(client, "list_groups", {}))["groups"]
        assert groups[0] == {**groups[0], "id": 0, "name": "General"}
        tags = (await call(client, "list_tags", {}))["tags"]
        assert {"support", "sales", "complaint"} <= {t["name"] for t in tags}
        in_group = (await call(client, "list_tags", {"group_id": groups[-1]["id"]}))["tags"]
        assert all(groups[-1]["id"] in t["group_ids"] for t in in_group)


async def test_connection_tools_in_pat_mode(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        status = await call(client, "get_connection_status", {})
        assert status["connected"] is True and status["mode"] == "pat"
        assert status["account_id"] == constants.ACCOUNT_ID and status["email"] == constants.AGENT_EMAIL
        assert constants.PAT not in str(status)
        connect_out = await call(client, "connect_livechat", {})
        assert connect_out["connected"] is True and "connect_url" not in connect_out
        disconnect = await call(client, "disconnect_livechat", {})
        assert "LIVECHAT_PAT" in disconnect["message"]


async def test_unconfigured_server_explains_what_to_set(era: str) -> None:
    from mcp import Client

    from mcp_livechat.config import load_settings
    from mcp_livechat.server import create_server

    async with Client(create_server(load_settings()).server, mode=era) as client:  # type: ignore[arg-type]
        result = await client.call_tool("list_chats", {})
        status = await call(client, "get_connection_status", {})
    assert result.is_error and "LIVECHAT_PAT" in result.content[0].text
    assert status["connected"] is False and status["mode"] == "none"
