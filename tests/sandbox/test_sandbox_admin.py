"""Supervisor/admin methods (tags, bans) and the scopes that carry them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx2
import pytest

from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.sandbox.clock import parse_rfc3339
from tests.sandbox.sandbox_testkit import NORMAL_PAT, assert_shape, bearer, error, ok

SMITH = constants.AGENT_EMAIL
# The list_customer_bans response sample (Configuration API v3.6,
# https://github.com/livechat/livechat-public-docs/blob/master/payloads/management/v3.6/configuration-api/responses/bans/listCustomerBans.json).
BANS_SAMPLE = [
    {
        "ip": "192.168.8.1",
        "agent_id": "smith@example.com",
        "created_at": "2025-08-07T06:51:43.000000Z",
        "expires_at": "2025-08-14T06:51:43.000000Z",
    },
    {
        "ip": "10.42.42.1",
        "customer_id": "18405023-fdd0-4d67-b641-299e3823888c",
        "agent_id": "smith@example.com",
        "thread_id": "T00M0307QQ",
        "created_at": "2025-08-07T06:55:10.000000Z",
        "expires_at": "2025-08-14T06:55:10.000000Z",
    },
]
BAN_KEYS = ("ip", "customer_id", "agent_id", "thread_id", "created_at", "expires_at")


async def config(client: httpx2.AsyncClient, method: str, body: Any = None, **kwargs: Any) -> Any:
    return await ok(client, method, body, api="configuration", **kwargs)


async def config_error(
    client: httpx2.AsyncClient, method: str, body: Any = None, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    return await error(client, method, body, api="configuration", **kwargs)


def token(sb: Sandbox, email: str, *scopes: str) -> dict[str, str]:
    return bearer(str(sb.mint_token(email, scopes=list(scopes))["access_token"]))


def test_the_owner_pat_holds_every_app_scope_and_the_normal_pat_no_admin_one(sb: Sandbox) -> None:
    owner = sb.state.agents[SMITH].pat_scopes
    assert set(owner) == set(constants.APP_SCOPES)
    for scope in ("tags--all:rw", "tags--groups:rw", "customers.ban:rw", "banlist_read", "banlist_write"):
        assert scope in owner
    normal = sb.state.agents[constants.NORMAL_AGENT_EMAIL].pat_scopes
    assert not set(normal) & constants.ADMIN_ONLY_SCOPES
    # role "administrator" in the docs' scope list:
    assert {"chats--all:ro", "chats--all:rw", "agents--all:rw", "tags--all:rw", "accounts--all:rw"} <= (
        constants.ADMIN_ONLY_SCOPES
    )
    assert {"customers.ban:rw", "chats--access:rw", "tags--groups:ro"} <= set(normal)  # role "normal"


async def test_tag_lifecycle(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    assert await config(client, "create_tag", {"name": "escalation", "group_ids": [0, 3]}) == {}
    listed = {t["name"]: t for t in await config(client, "list_tags")}
    assert listed["escalation"]["group_ids"] == [0, 3]
    assert listed["escalation"]["author_id"] == SMITH
    status, err = await config_error(client, "create_tag", {"name": "Escalation"})  # case ignored
    assert (status, err["type"]) == (409, "already_exists")
    assert await config(client, "update_tag", {"name": "escalation", "group_ids": [1]}) == {}
    assert {t["name"]: t for t in await config(client, "list_tags")}["escalation"]["group_ids"] == [1]
    status, err = await config_error(client, "update_tag", {"name": "Escalation", "group_ids": [0]})
    assert (status, err["type"]) == (404, "not_found")  # update matches the case
    chat = next(c for c in sb.state.org_chats(constants.ORGANIZATION_ID) if c.group_ids == [1])
    tag = {"chat_id": chat.id, "thread_id": chat.last_thread.id, "tag": "escalation"}
    assert await ok(client, "tag_thread", tag) == {}
    status, err = await config_error(client, "delete_tag", {"name": "ESCALATION"})
    assert (status, err["type"]) == (404, "not_found")  # delete matches the case
    assert await config(client, "delete_tag", {"name": "escalation"}) == {}
    assert "escalation" not in {t["name"] for t in await config(client, "list_tags")}
    got = await ok(client, "get_chat", {"chat_id": chat.id, "thread_id": chat.last_thread.id})
    assert "escalation" in got["thread"]["tags"]  # threads keep the name [UNVERIFIED]
    assert (await error(client, "tag_thread", tag))[1]["type"] == "validation"  # but it is gone


async def test_tag_requests_and_scopes(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    assert await config(client, "create_tag", {"name": "no groups yet"}) == {}  # group_ids can be empty
    assert {t["name"]: t for t in await config(client, "list_tags")}["no groups yet"]["group_ids"] == []
    assert (await config_error(client, "create_tag", {}))[1]["message"] == "`name` is required"
    status, err = await config_error(client, "create_tag", {"name": "x", "group_ids": [99]})
    assert (status, err["type"]) == (404, "group_not_found")
    mine = token(sb, constants.NORMAL_AGENT_EMAIL, "tags--groups:rw")  # garcia: groups 0 and 1
    assert await config(client, "create_tag", {"name": "sales-lead", "group_ids": [1]}, headers=mine) == {}
    status, err = await config_error(client, "create_tag", {"name": "tech", "group_ids": [3]}, headers=mine)
    assert (status, err["type"]) == (403, "authorization")
    status, err = await config_error(client, "delete_tag", {"name": "bug"}, headers=mine)  # group 3 only
    assert (status, err["type"]) == (403, "authorization")
    read_only = token(sb, SMITH, "tags--all:ro")
    for method in ("create_tag", "update_tag", "delete_tag"):
        status, err = await config_error(client, method, {"name": "sales"}, headers=read_only)
        assert (status, err) == (
            403,
            {"type": "authorization", "message": "Requires scope: tags--all:rw or tags--groups:rw"},
        ), method


async def test_bans(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    seeded = await config(client, "list_customer_bans", {})
    assert isinstance(seeded, list) and len(seeded) == 2  # the expired seeded ban is not listed
    for entry in seeded:
        assert_shape(entry, BANS_SAMPLE[0])
        assert [k for k in BAN_KEYS if k in entry] == list(entry)  # the sample's key order
        assert parse_rfc3339(entry["expires_at"]) > sb.clock.now()
    customer = next(
        c for c in sb.state.customers.values() if c.org_id == constants.ORGANIZATION_ID and c.visit
    )
    assert await ok(client, "ban_customer", {"id": customer.id, "ban": {"days": 3}}) == {}
    entry = next(b for b in await config(client, "list_customer_bans") if b.get("customer_id") == customer.id)
    assert_shape(entry, BANS_SAMPLE[1])
    assert (entry["agent_id"], entry["ip"]) == (SMITH, customer.visit["ip"])
    assert entry["thread_id"] in sb.state.thread_chat
    span = parse_rfc3339(entry["expires_at"]) - parse_rfc3339(entry["created_at"])
    assert span == timedelta(days=3)
    assert await config(client, "unban_customer", {"customer_id": customer.id}) == {}
    assert customer.id not in {b.get("customer_id") for b in await config(client, "list_customer_bans")}
    assert (await config_error(client, "unban_customer", {"customer_id": customer.id}))[0] == 404
    ip_only = next(b for b in seeded if "customer_id" not in b)
    assert await config(client, "unban_customer", {"ip": ip_only["ip"]}) == {}
    assert len(await config(client, "list_customer_bans")) == 1
    for body in ({}, {"ip": "192.0.2.1", "customer_id": customer.id}):
        status, err = await config_error(client, "unban_customer", body)
        assert (status, err["message"]) == (400, "Exactly one of `ip` and `customer_id` is required")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"ban": {"days": 1}}, 400),
        ({"id": "ID"}, 400),
        ({"id": "ID", "ban": {}}, 400),
        ({"id": "ID", "ban": {"days": 0}}, 400),
        ({"id": "ID", "ban": {"days": "3"}}, 400),
        ({"id": "00000000-0000-4000-8000-000000000000", "ban": {"days": 1}}, 404),
    ],
)
async def test_ban_customer_validation(
    sb: Sandbox, client: httpx2.AsyncClient, body: dict[str, Any], status: int
) -> None:
    customer_id = next(c.id for c in sb.state.customers.values() if c.org_id == constants.ORGANIZATION_ID)
    if body.get("id") == "ID":
        body = body | {"id": customer_id}
    assert (await error(client, "ban_customer", body))[0] == status


async def test_ban_scopes(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    customer_id = next(c.id for c in sb.state.customers.values() if c.org_id == constants.ORGANIZATION_ID)
    ban = {"id": customer_id, "ban": {"days": 1}}
    assert await ok(client, "ban_customer", ban, headers=NORMAL_PAT) == {}  # customers.ban:rw is "normal"
    status, err = await config_error(client, "list_customer_bans", headers=NORMAL_PAT)
    assert (status, err["message"]) == (403, "Requires scope: banlist_read")
    status, err = await config_error(
        client, "unban_customer", {"customer_id": customer_id}, headers=NORMAL_PAT
    )
    assert (status, err["message"]) == (403, "Requires scope: banlist_write")
    status, err = await error(client, "ban_customer", ban, headers=token(sb, SMITH, "customers:rw"))
    assert (status, err["message"]) == (403, "Requires scope: customers.ban:rw")
