"""Prompts and resource templates."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from mcp import MCPError

from mcp_livechat.sandbox import Sandbox, constants
from tests.helpers import call


async def test_prompts_embed_the_chat(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        listed = {p.name: p for p in (await client.list_prompts()).prompts}
        assert set(listed) == {"summarize_chat", "draft_reply", "triage_queue"}
        assert [a.name for a in listed["summarize_chat"].arguments or []] == ["chat_id"]
        chat = (await call(client, "list_chats", {"status": "active", "limit": 1}))["chats"][0]
        summary = await client.get_prompt("summarize_chat", {"chat_id": chat["id"]})
        text = summary.messages[0].content.text  # type: ignore[union-attr]
        assert "Summarize" in text and chat["id"] in text and "(customer)" in text
        draft = await client.get_prompt("draft_reply", {"chat_id": chat["id"]})
        assert "send_message" in draft.messages[0].content.text  # type: ignore[union-attr]
        triage = await client.get_prompt("triage_queue", {})
        body = triage.messages[0].content.text  # type: ignore[union-attr]
        waiting = (await call(client, "list_waiting_chats", {}))["chats"]
        assert "Triage" in body and waiting[0]["chat_id"] in body and "wait_seconds" in body


async def test_prompt_for_a_missing_chat_falls_back_to_instructions(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        out = await client.get_prompt("summarize_chat", {"chat_id": "NOSUCHCHAT"})
    text = out.messages[0].content.text  # type: ignore[union-attr]
    assert "Could not read the chat" in text and "get_chat" in text


async def test_resources(connect: Callable[..., Any], sandbox: Sandbox) -> None:
    customer = next(
        c for c in sandbox.state.customers.values() if c.organization_id == constants.ORGANIZATION_ID
    )
    async with connect() as client:
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        assert templates == {"livechat://chats/{chat_id}", "livechat://customers/{customer_id}"}
        chat = (await call(client, "list_chats", {"limit": 1}))["chats"][0]
        read = await client.read_resource(f"livechat://chats/{chat['id']}")
        transcript = json.loads(read.contents[0].text)  # type: ignore[union-attr]
        assert transcript["chat_id"] == chat["id"] and transcript["lines"]
        profile = json.loads(
            (await client.read_resource(f"livechat://customers/{customer.id}")).contents[0].text
        )  # type: ignore[union-attr]
        assert profile["id"] == customer.id
        with pytest.raises(MCPError) as err:
            await client.read_resource("livechat://chats/NOSUCHCHAT")
        assert "not found" in str(err.value).lower()
