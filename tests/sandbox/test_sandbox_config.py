"""Configuration API: agents, groups, tags."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from mcp_livechat.sandbox import Sandbox, constants
from tests.sandbox.sandbox_testkit import NORMAL_PAT, bearer, error, ok

PROFILE_UPDATE = {
    "id": constants.AGENT_EMAIL,
    "job_title": "Support Hero",
    "max_chats_count": 5,
    "login_status": "not accepting chats",
    "groups": [{"id": 0, "priority": "normal"}, {"id": 2, "priority": "first"}],
    "notifications": ["new_visitor", "incoming_chat", "visitor_is_typing"],
    "email_subscriptions": ["weekly_summary"],
    "work_scheduler": {
        "timezone": "Europe/Warsaw",
        "schedule": [{"day": "monday", "enabled": True, "start": "08:00", "end": "16:00"}],
    },
}


async def config(client: httpx2.AsyncClient, method: str, body: Any = None, **kwargs: Any) -> Any:
    return await ok(client, method, body, api="configuration", **kwargs)


async def config_error(
    client: httpx2.AsyncClient, method: str, body: Any = None, **kw: Any
) -> tuple[int, dict[str, Any]]:
    return await error(client, method, body, api="configuration", **kw)


async def test_get_agent_fields_and_permissions(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    plain = await config(client, "get_agent", {"id": "jones@example.com"})
    assert set(plain) == {"id", "account_id", "name", "avatar", "role", "login_status"}
    full = await config(
        client, "get_agent", {"id": constants.AGENT_EMAIL, "fields": list(constants.AGENT_FIELDS)}
    )
    assert set(full) >= {
        "work_scheduler",
        "groups",
        "email_subscriptions",
        "notifications",
        "job_title",
        "max_chats_count",
        "suspended",
        "awaiting_approval",
    }
    assert full["groups"][0] == {"id": 0, "priority": "first"}
    suspended = await config(
        client, "get_agent", {"id": constants.SUSPENDED_AGENT_EMAIL, "fields": ["suspended"]}
    )
    assert suspended["suspended"] is True
    status, err = await config_error(client, "get_agent", {"id": constants.AGENT_EMAIL, "fields": ["salary"]})
    assert (status, err["type"]) == (400, "validation")
    assert (await config_error(client, "get_agent", {"id": "ghost@example.com"}))[0] == 404
    my = bearer(str(sb.mint_token(constants.AGENT_EMAIL, scopes=["agents--my:ro"])["access_token"]))
    assert (await config(client, "get_agent", {"id": constants.AGENT_EMAIL}, headers=my))["role"] == "owner"
    status, err = await config_error(client, "get_agent", {"id": "jones@example.com"}, headers=my)
    assert (status, err["message"]) == (403, "Requires scope: agents--all:ro")


async def test_list_agents_filters(client: httpx2.AsyncClient) -> None:
    everyone = await config(client, "list_agents")
    roles = {a["role"] for a in everyone}
    assert roles == {"owner", "viceowner", "administrator", "normal"}
    suspended = await config(client, "list_agents", {"filters": {"suspended": True}})
    assert [a["id"] for a in suspended] == [constants.SUSPENDED_AGENT_EMAIL]
    sales = await config(client, "list_agents", {"filters": {"group_ids": [1]}, "fields": ["groups"]})
    assert constants.NORMAL_AGENT_EMAIL in {a["id"] for a in sales}
    assert all(any(g["id"] == 1 for g in a["groups"]) for a in sales)


async def test_update_agent_is_visible_immediately(client: httpx2.AsyncClient) -> None:
    assert await config(client, "update_agent", PROFILE_UPDATE) == {}
    fields = [
        "job_title",
        "max_chats_count",
        "groups",
        "notifications",
        "email_subscriptions",
        "work_scheduler",
    ]
    got = await config(client, "get_agent", {"id": constants.AGENT_EMAIL, "fields": fields})
    for key in fields:
        assert got[key] == PROFILE_UPDATE[key], key
    assert got["login_status"] == "not accepting chats"
    listed = await config(client, "list_agents", {"fields": ["job_title"]})
    assert next(a for a in listed if a["id"] == constants.AGENT_EMAIL)["job_title"] == "Support Hero"
    statuses = await ok(client, "list_routing_statuses")  # login_status is the status at login only
    assert {"agent_id": constants.AGENT_EMAIL, "status": "accepting_chats"} in statuses
    for value in (0, 20):
        assert (
            await config(client, "update_agent", {"id": constants.AGENT_EMAIL, "max_chats_count": value})
            == {}
        )


@pytest.mark.parametrize(
    ("patch", "status", "kind", "needle"),
    [
        ({"name": "New Name"}, 400, "validation", "`name` is not supported in v3.6"),
        ({"avatar": "https://x/y.png"}, 400, "validation", "`avatar`"),
        ({"max_chats_count": 21}, 400, "validation", "`max_chats_count`"),
        ({"max_chats_count": -1}, 400, "validation", "`max_chats_count`"),
        ({"max_chats_count": "5"}, 400, "validation", "`max_chats_count`"),
        ({"login_status": "accepting_chats"}, 400, "validation", "`login_status`"),
        ({"groups": [{"id": 77, "priority": "first"}]}, 404, "group_not_found", "77"),
        ({"groups": [{"id": 1, "priority": "top"}]}, 400, "validation", "`groups.priority`"),
        ({"notifications": ["new_visitor", "fireworks"]}, 400, "validation", "`notifications`"),
        ({"email_subscriptions": ["monthly_summary"]}, 400, "validation", "`email_subscriptions`"),
        ({"work_scheduler": {"timezone": "Mars/Olympus", "schedule": []}}, 400, "validation", "timezone"),
        (
            {
                "work_scheduler": {
                    "timezone": "UTC",
                    "schedule": [{"day": "funday", "enabled": True, "start": "08:00", "end": "09:00"}],
                }
            },
            400,
            "validation",
            "day",
        ),
        (
            {
                "work_scheduler": {
                    "timezone": "UTC",
                    "schedule": [{"day": "monday", "enabled": True, "start": "8:00", "end": "09:00"}],
                }
            },
            400,
            "validation",
            "HH:MM",
        ),
        ({"role": "owner"}, 400, "validation", "`role`"),
    ],
)
async def test_update_agent_validation(
    sb: Sandbox, client: httpx2.AsyncClient, patch: dict[str, Any], status: int, kind: str, needle: str
) -> None:
    target = "jones@example.com" if "role" in patch else constants.AGENT_EMAIL
    before = sb.state.agents[target].max_chats_count
    got, err = await config_error(client, "update_agent", {"id": target} | patch)
    assert (got, err["type"]) == (status, kind)
    assert needle in err["message"]
    assert sb.state.agents[target].max_chats_count == before


async def test_update_agent_permissions(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    assert (
        await config(
            client,
            "update_agent",
            {"id": constants.NORMAL_AGENT_EMAIL, "job_title": "Closer"},
            headers=NORMAL_PAT,
        )
        == {}
    )
    status, err = await config_error(
        client, "update_agent", {"id": "jones@example.com", "job_title": "x"}, headers=NORMAL_PAT
    )
    assert (status, err) == (403, {"type": "authorization", "message": "Requires scope: agents--all:rw"})
    status, err = await config_error(
        client,
        "update_agent",
        {"id": constants.NORMAL_AGENT_EMAIL, "role": "administrator"},
        headers=NORMAL_PAT,
    )
    assert (status, err["message"]) == (403, "Requires scope: accounts.roles.lc--all:rw")
    assert await config(client, "update_agent", {"id": "jones@example.com", "role": "administrator"}) == {}
    assert sb.state.agents["jones@example.com"].role == "administrator"
    status, err = await config_error(client, "update_agent", {"id": constants.AGENT_EMAIL, "role": "normal"})
    assert err["type"] == "validation"  # the owner's role cannot change
    assert (await config_error(client, "update_agent", {"id": "ghost@example.com", "job_title": "x"}))[
        0
    ] == 404
    assert (await config_error(client, "update_agent", {"job_title": "x"}))[1][
        "message"
    ] == "`id` is required"


async def test_groups(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    plain = await config(client, "list_groups")
    assert all(set(g) == {"id", "name", "language_code"} for g in plain)
    assert len(plain) >= 4
    full = await config(client, "list_groups", {"fields": ["agent_priorities", "routing_status"]})
    general = full[0]
    assert general["agent_priorities"][constants.AGENT_EMAIL] == "first"
    assert general["routing_status"] == "accepting_chats"
    assert next(g for g in full if g["id"] == 5)["routing_status"] == "offline"
    status, err = await config_error(client, "get_group", {"id": 99})
    assert (status, err["type"]) == (404, "group_not_found")
    assert (await config_error(client, "get_group", {"id": "1"}))[1]["type"] == "validation"
    my_groups = bearer(
        str(sb.mint_token(constants.NORMAL_AGENT_EMAIL, scopes=["groups--my:ro"])["access_token"])
    )
    assert (await config(client, "get_group", {"id": 1}, headers=my_groups))["name"] == "Sales"
    status, err = await config_error(client, "get_group", {"id": 2}, headers=my_groups)
    assert (status, err["message"]) == (403, "Requires scope: groups--all:ro")


async def test_tags(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    everything = await config(client, "list_tags")
    assert len(everything) >= 8
    billing = await config(client, "list_tags", {"filters": {"group_ids": [2]}})
    assert {t["name"] for t in billing} >= {"billing", "refund"}
    assert all(2 in t["group_ids"] for t in billing)
    groups_only = bearer(
        str(sb.mint_token(constants.NORMAL_AGENT_EMAIL, scopes=["tags--groups:ro"])["access_token"])
    )
    mine = await config(client, "list_tags", headers=groups_only)
    assert "refund" not in {t["name"] for t in mine}
    assert "sales" in {t["name"] for t in mine}
