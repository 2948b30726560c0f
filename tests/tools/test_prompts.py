"""Prompts and resource templates."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from mcp import MCPError

from mcp_livechat.sandbox import Sandbox, constants
from tests.helpers import call
from tests.other_readings import Forward, OtherReading, web_error


async def test_prompts_embed_the_chat(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        listed = {p.name: p for p in (await client.list_prompts()).prompts}
        assert set(listed) == {"summarize_chat", "draft_reply", "triage_queue", "weekly_report"}
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


def _text(prompt: Any) -> str:
    return str(prompt.messages[0].content.text)


async def test_weekly_report_embeds_the_last_seven_days(connect: Callable[..., Any]) -> None:
    async with connect(toolsets="all") as client:
        listed = {p.name: p for p in (await client.list_prompts()).prompts}
        arguments = listed["weekly_report"].arguments or []
        assert [(a.name, a.required) for a in arguments] == [("timezone", False)]
        text = _text(await client.get_prompt("weekly_report", {}))
        # the seven whole days before today, today by LiveChat's clock (the sandbox's, days
        # before this machine's): the same numbers the tools give for those days
        days = json.loads(text.split("volume (JSON): ", 1)[1].split("\n", 1)[0])["buckets"]
        week = {"date_from": days[0][0], "date_to": days[-1][0]}
        volume = await call(client, "chat_report", {"metric": "total_chats", **week})
        agents = await call(client, "agent_report", week)
    today = constants.BASE_DATE.date()
    assert [d[0] for d in days] == [(today - timedelta(days=n)).isoformat() for n in range(7, 0, -1)]
    assert days == volume["buckets"]
    sections = dict(line.split(" (JSON): ", 1) for line in text.splitlines() if " (JSON): " in line)
    assert set(sections) == {"volume", "first_response", "ratings", "top_tags", "agents"}
    # every section names the same days, and none is LiveChat's default range (today, partial)
    spans = {(json.loads(b)["from"], json.loads(b)["to"]) for b in sections.values()}
    assert spans == {(f"{days[0][0]}T00:00:00+00:00", f"{days[-1][0]}T23:59:59.999999+00:00")}
    assert "default range" not in text
    assert json.loads(sections["agents"])["agents"] == agents["agents"]
    assert len(json.loads(sections["top_tags"])["tags"]) <= 10
    assert "weekly LiveChat report" in text and "not enabled" not in text
    assert len(text) < 6000


async def test_weekly_report_counts_the_days_of_the_time_zone_asked_for(connect: Callable[..., Any]) -> None:
    """A lead in Los Angeles reads their own days: the chats of their evening are not the next
    UTC day's."""
    async with connect(toolsets="reports") as client:
        text = _text(await client.get_prompt("weekly_report", {"timezone": "america/los_angeles"}))
        utc = _text(await client.get_prompt("weekly_report", {}))
        blank = _text(await client.get_prompt("weekly_report", {"timezone": " "}))  # a form's empty field
        sections = dict(line.split(" (JSON): ", 1) for line in text.splitlines() if " (JSON): " in line)
        days = json.loads(sections["volume"])["buckets"]
        week = {"date_from": days[0][0], "date_to": days[-1][0], "timezone": "America/Los_Angeles"}
        volume = await call(client, "chat_report", {"metric": "total_chats", **week})
        with pytest.raises(MCPError) as err:
            await client.get_prompt("weekly_report", {"timezone": "Mars/Olympus"})
    assert {json.loads(body)["timezone"] for body in sections.values()} == {"America/Los_Angeles"}
    assert days == volume["buckets"] and len(days) == 7 and blank == utc
    assert text.split("volume (JSON): ", 1)[1] != utc.split("volume (JSON): ", 1)[1]
    assert (
        err.value.error.code == -32602 and "timezone" in str(err.value) and "Mars/Olympus" in str(err.value)
    )


async def test_weekly_report_says_how_to_enable_reports_and_what_scope_is_missing(
    connect: Callable[..., Any],
) -> None:
    async with connect() as client:  # the default toolsets: no reports tools
        text = _text(await client.get_prompt("weekly_report", {}))
    assert "volume (JSON)" in text and "--toolsets chats,customers,agents,account,reports" in text
    normal = (constants.NORMAL_AGENT_ACCOUNT_ID, constants.NORMAL_AGENT_PAT)
    async with connect(toolsets="reports", as_agent=normal) as client:
        text = _text(await client.get_prompt("weekly_report", {}))
    # the report tools would be refused for the same scope: the prompt does not send the model there
    assert "Could not read LiveChat's reports" in text and "reports_read" in text
    assert "no report tool can" in text and "date_from" not in text and "not enabled" not in text


async def test_weekly_report_falls_back_to_the_tools_when_a_report_fails(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    async def refuse(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        return web_error(400, "validation", "Report temporarily unavailable")

    failing = OtherReading(sandbox.transport(), {"/reports/chats/ratings": refuse})
    async with connect(toolsets="reports", transport=failing) as client:
        text = _text(await client.get_prompt("weekly_report", {}))
        zoned = _text(await client.get_prompt("weekly_report", {"timezone": "Asia/Tokyo"}))
    assert "Could not read LiveChat's reports" in text and "Report temporarily unavailable" in text
    assert "chat_report" in text and "agent_report" in text and "date_from" in text
    assert "timezone='UTC'" in text and "timezone='Asia/Tokyo'" in zoned
    assert failing.applied == {"/reports/chats/ratings": 2}


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
