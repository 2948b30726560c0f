"""Toolset `agents`: profiles, settings, routing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp_livechat.sandbox import constants
from tests.helpers import call, fail


async def test_get_my_profile_resolves_me_from_the_credential(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        me = await call(client, "get_my_profile", {})
    assert me["agent_id"] == constants.AGENT_EMAIL and me["account_id"] == constants.ACCOUNT_ID
    assert me["organization_id"] == constants.ORGANIZATION_ID
    agent = me["agent"]
    assert agent["role"] == "owner" and agent["groups"] and "routing_status" in agent


async def test_list_and_get_agents(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        everyone = await call(client, "list_agents", {"include_suspended": True})
        active = await call(client, "list_agents", {})
        assert everyone["count"] > active["count"] >= 5
        assert constants.SUSPENDED_AGENT_EMAIL not in {a["id"] for a in active["agents"]}
        in_group = await call(client, "list_agents", {"group_id": 1})
        assert constants.NORMAL_AGENT_EMAIL in {a["id"] for a in in_group["agents"]}
        one = await call(client, "get_agent", {"agent_id": constants.NORMAL_AGENT_EMAIL})
        assert one["role"] == "normal" and "work_scheduler" in one
        assert "not_found" in await fail(client, "get_agent", {"agent_id": "nobody@example.com"})


async def test_update_my_profile_and_read_back(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        out = await call(
            client,
            "update_agent_profile",
            {
                "job_title": "Night shift lead",
                "max_chats_count": 7,
                "login_status": "not_accepting_chats",  # underscores are accepted too
                "notifications": ["incoming_chat", "new_visitor"],
                "email_subscriptions": ["daily_summary"],
                "work_scheduler": {
                    "timezone": "Europe/Warsaw",
                    "schedule": [{"day": "monday", "start": "22:00", "end": "23:59"}],
                },
                "name": "Agent Smith-Jones",
            },
        )
        assert out["changed"] == ["job_title", "max_chats_count", "login_status", "notifications",
                                  "email_subscriptions", "work_scheduler", "name"]  # fmt: skip
        me = await call(client, "get_my_profile", {})
        agent = me["agent"]
        assert agent["job_title"] == "Night shift lead" and agent["max_chats_count"] == 7
        assert agent["login_status"] == "not accepting chats"
        assert set(agent["notifications"]) == {"incoming_chat", "new_visitor"}
        assert agent["work_scheduler"]["schedule"][0]["start"] == "22:00"
        assert me["name"] == "Agent Smith-Jones" and agent["name"] == "Agent Smith-Jones"


async def test_update_agent_profile_rejections(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        too_many = await fail(client, "update_agent_profile", {"max_chats_count": 50})
        assert "max_chats_count" in too_many and "20" in too_many
        bad = await fail(client, "update_agent_profile", {"notifications": ["carrier_pigeon"]})
        assert "carrier_pigeon" in bad and "incoming_chat" in bad
        other = await fail(
            client, "update_agent_profile", {"agent_id": constants.NORMAL_AGENT_EMAIL, "name": "X"}
        )
        assert "name" in other and "yourself" in other
        assert "nothing to change" in await fail(client, "update_agent_profile", {})
        # an admin may change another agent's settings
        done = await call(
            client, "update_agent_profile", {"agent_id": constants.NORMAL_AGENT_EMAIL, "max_chats_count": 3}
        )
        assert done["agent"]["id"] == constants.NORMAL_AGENT_EMAIL and done["agent"]["max_chats_count"] == 3


async def test_routing_status(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        out = await call(client, "set_routing_status", {"status": "not_accepting_chats"})
        assert out == {"agent_id": constants.AGENT_EMAIL, "status": "not_accepting_chats"}
        statuses = await call(client, "list_routing_statuses", {})
        assert {s["agent_id"]: s["status"] for s in statuses["statuses"]}[
            constants.AGENT_EMAIL
        ] == "not_accepting_chats"
        assert statuses["count"] == len(statuses["statuses"])
        group = await call(client, "list_routing_statuses", {"group_id": 1})
        assert 0 < group["count"] <= statuses["count"]
        assert "status" in await fail(client, "set_routing_status", {"status": "sleeping"})


async def test_a_refusal_to_act_on_another_agent_names_only_the_scopes_that_cover_others(
    connect: Callable[..., Any],
) -> None:
    """A normal agent holds agents--my:rw, which covers only their own profile: a refusal to change
    someone else names agents--all:rw alone; a refusal for oneself would name both."""
    normal = (constants.NORMAL_AGENT_ACCOUNT_ID, constants.NORMAL_AGENT_PAT)
    async with connect(as_agent=normal) as client:
        profile = await fail(
            client, "update_agent_profile", {"agent_id": constants.AGENT_EMAIL, "job_title": "x"}
        )
        routing = await fail(
            client, "set_routing_status", {"agent_id": constants.AGENT_EMAIL, "status": "not_accepting_chats"}
        )
        mine = await call(client, "update_agent_profile", {"job_title": "Support"})
    for text in (profile, routing):
        assert "agents--all:rw" in text.split("one of these scopes is required:")[1], text
        assert "agents--my:rw" not in text.split("one of these scopes is required:")[1], text
    assert mine["agent"]["job_title"] == "Support"


async def test_list_agents_and_login_status_say_what_the_status_is(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    login = tools["update_agent_profile"].input_schema["properties"]["login_status"]
    assert "set_routing_status" in login["description"] and "after" in login["description"]
    assert "list_routing_statuses" in (tools["list_agents"].description or "")
