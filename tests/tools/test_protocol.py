"""Completions for prompt arguments and resource templates, and the logging capability."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from mcp import Client, MCPError
from mcp.types import PromptReference, ResourceTemplateReference

from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.server import create_server
from tests.conftest import sandbox_settings


def _recent_ids(sb: Sandbox) -> tuple[set[str], set[str]]:
    mine = [c for c in sb.state.chats.values() if c.organization_id == constants.ORGANIZATION_ID]
    return {c.id for c in mine}, {c.customer_id for c in mine}


async def test_prompt_and_template_arguments_complete_from_recent_chats(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    chats, customers = _recent_ids(sandbox)
    async with connect() as client:
        everything = await client.complete(
            PromptReference(name="summarize_chat"), {"name": "chat_id", "value": ""}
        )
        some = next(iter(everything.completion.values))
        narrowed = await client.complete(
            ResourceTemplateReference(uri="livechat://chats/{chat_id}"),
            {"name": "chat_id", "value": some[:3]},
        )
        people = await client.complete(
            ResourceTemplateReference(uri="livechat://customers/{customer_id}"),
            {"name": "customer_id", "value": ""},
        )
        other = await client.complete(PromptReference(name="triage_queue"), {"name": "x", "value": ""})
        zones = await client.complete(
            PromptReference(name="weekly_report"), {"name": "timezone", "value": "europe/w"}
        )
        odd = await client.complete(PromptReference(name="weekly_report"), {"name": "timezone", "value": "f"})
        assert "Factory" not in odd.completion.values  # offered only what the prompt accepts
        refused = []
        for ref in (
            PromptReference(name="no_such_prompt"),
            ResourceTemplateReference(uri="livechat://nope/{x}"),
        ):
            with pytest.raises(MCPError) as err:
                await client.complete(ref, {"name": "x", "value": ""})
            refused.append(err.value)
        from mcp_livechat.tools.protocol import PROMPT_NAMES

        assert {p.name for p in (await client.list_prompts()).prompts} == PROMPT_NAMES  # none left out
    assert [e.code for e in refused] == [-32602, -32602]  # as prompts/get answers an unknown prompt
    assert "no_such_prompt" in refused[0].message and "livechat://nope/{x}" in refused[1].message
    assert "Europe/Warsaw" in zones.completion.values and "Europe/Vienna" not in zones.completion.values
    assert all(z.lower().startswith("europe/w") for z in zones.completion.values)
    values = everything.completion.values
    assert values and len(values) <= 100 and set(values) <= chats
    assert narrowed.completion.values and all(
        v.lower().startswith(some[:3].lower()) for v in narrowed.completion.values
    )
    assert people.completion.values and set(people.completion.values) <= customers
    assert other.completion.values == []
    assert sandbox.stats.requests["list_chats"] == 1  # read once, then from the short-lived cache


@contextmanager
def _logging_server(sandbox: Sandbox) -> Iterator[tuple[Any, list[Any], Callable[[Any], Awaitable[None]]]]:
    """A server logging at INFO, the log messages its clients receive, and the callback to pass them."""
    server, _ = create_server(sandbox_settings(log_level="INFO"), transport=sandbox.transport())
    got: list[Any] = []

    async def on_log(params: Any) -> None:
        got.append(params)

    logging.getLogger("mcp_livechat").setLevel(logging.INFO)
    try:
        yield server, got, on_log
    finally:
        logging.getLogger("mcp_livechat").setLevel(logging.NOTSET)


async def test_logging_capability_and_messages_at_the_set_level(sandbox: Sandbox) -> None:
    with _logging_server(sandbox) as (server, got, on_log):
        async with Client(server, mode="legacy", logging_callback=on_log) as client:
            assert client.server_capabilities.logging is not None
            assert client.server_capabilities.completions is not None
            await client.call_tool("get_chat", {"chat_id": "NOSUCHCHAT"})  # logs at INFO
            assert got == []  # nothing before the client asked for a level
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                await client.set_logging_level("info")
            await client.call_tool("get_chat", {"chat_id": "NOSUCHCHAT"})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                await client.set_logging_level("error")
            await client.call_tool("get_chat", {"chat_id": "NOSUCHCHAT"})
    # at info, for the one call between: LiveChat's refusal, then the call's own line
    assert [(g.level, g.logger, g.data["message"]) for g in got] == [
        ("info", "mcp_livechat.livechat", "livechat get_chat -> 404 not_found"),
        ("info", "mcp_livechat.tools", got[1].data["message"]),
    ]
    assert re.fullmatch(r"tool get_chat refused \(NotFound\) in \d+ ms", got[1].data["message"])


async def test_log_messages_on_2026_connections_follow_the_per_request_opt_in(sandbox: Sandbox) -> None:
    with _logging_server(sandbox) as (server, got, on_log):
        async with Client(server, mode="auto", logging_callback=on_log) as quiet:
            await quiet.call_tool("get_chat", {"chat_id": "NOSUCHCHAT"})
        assert got == []  # no opt-in, nothing sent
        async with Client(server, mode="auto", logging_callback=on_log, log_level="info") as chatty:
            await chatty.call_tool("get_chat", {"chat_id": "NOSUCHCHAT"})
    assert got and all(g.level in ("info", "warning", "error") for g in got)
