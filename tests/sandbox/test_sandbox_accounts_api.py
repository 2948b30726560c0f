"""Global Accounts ``/v2/accounts/{id|me}`` and the Web API's auth, region and scope rules."""

from __future__ import annotations

import httpx2
import pytest

from mcp_livechat.sandbox import Sandbox, constants
from tests.sandbox.sandbox_testkit import FRA_PAT, NORMAL_PAT, SMITH_PAT, basic, bearer, call, error, ok

ACCOUNT_KEYS = {
    "account_id",
    "name",
    "email",
    "email_verified",
    "default_product",
    "default_organization_id",
    "avatar_url",
    "created_at",
    "updated_at",
    "properties",
}


async def test_accounts_me(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    token = sb.mint_token(constants.AGENT_EMAIL, scopes=["accounts--my:ro"])
    me = await client.get("/accounts/v2/accounts/me", headers=bearer(str(token["access_token"])))
    assert me.status_code == 200
    body = me.json()
    assert set(body) == ACCOUNT_KEYS
    assert body["email"] == constants.AGENT_EMAIL
    assert body["account_id"] == constants.ACCOUNT_ID
    assert body["default_organization_id"] == constants.ORGANIZATION_ID
    assert body["avatar_url"] is None
    with_roles = await client.get("/accounts/v2/accounts/me", headers=SMITH_PAT)
    roles = {(r["product"], r["role"]) for r in with_roles.json()["roles"]}
    assert ("LiveChat", "owner") in roles
    by_id = await client.get(f"/accounts/v2/accounts/{constants.ACCOUNT_ID}", headers=SMITH_PAT)
    assert by_id.json()["email"] == constants.AGENT_EMAIL
    colleague = await client.get(
        f"/accounts/v2/accounts/{constants.NORMAL_AGENT_ACCOUNT_ID}", headers=SMITH_PAT
    )
    assert colleague.json()["email"] == constants.NORMAL_AGENT_EMAIL
    foreign = await client.get(f"/accounts/v2/accounts/{constants.FRA_ACCOUNT_ID}", headers=SMITH_PAT)
    assert (foreign.status_code, foreign.json()["error"]) == (404, "resource_not_found")
    invalid = await client.get("/accounts/v2/accounts/not-a-uuid", headers=SMITH_PAT)
    assert (invalid.status_code, invalid.json()["invalid_fields"]) == (422, {"account_id": "invalid uuid"})


async def test_accounts_me_auth_errors(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    no_scope = sb.mint_token(constants.AGENT_EMAIL, scopes=["chats--all:ro"])
    denied = await client.get("/accounts/v2/accounts/me", headers=bearer(str(no_scope["access_token"])))
    assert denied.status_code == 403
    assert denied.json()["error"] == "access_denied"
    assert denied.json()["sub_error"] == "insufficient_scope"
    anonymous: dict[str, str] = {}
    for headers in (anonymous, bearer("dal:bogus"), basic(constants.ACCOUNT_ID, "wrong")):
        response = await client.get("/accounts/v2/accounts/me", headers=headers)
        assert (response.status_code, response.json()["error"]) == (401, "unauthorized")
    read_only = sb.mint_token(constants.AGENT_EMAIL, scopes="accounts--my:ro")
    patch = await client.patch(
        "/accounts/v2/accounts/me", json={"name": "X"}, headers=bearer(str(read_only["access_token"]))
    )
    assert (patch.status_code, patch.json()["sub_error"]) == (403, "insufficient_scope")
    normal = await client.patch(
        f"/accounts/v2/accounts/{constants.ACCOUNT_ID}", json={"name": "X"}, headers=NORMAL_PAT
    )
    assert normal.status_code == 403


async def test_patch_name_propagates(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    token = sb.mint_token(constants.AGENT_EMAIL, scopes=["accounts--all:rw"])  # the spec's scope
    too_long = await client.patch(
        "/accounts/v2/accounts/me", json={"name": "x" * 192}, headers=bearer(str(token["access_token"]))
    )
    assert too_long.status_code == 422
    assert too_long.json()["error"] == "invalid_request"
    assert too_long.json()["invalid_fields"] == {"name": "value too long"}
    response = await client.patch(
        "/accounts/v2/accounts/me",
        json={"name": "Agent J. Smith"},
        headers=bearer(str(token["access_token"])),
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Agent J. Smith"
    agent = await ok(client, "get_agent", {"id": constants.AGENT_EMAIL}, api="configuration")
    assert agent["name"] == "Agent J. Smith"
    listed = await ok(client, "list_agents", {}, api="configuration")
    assert next(a for a in listed if a["id"] == constants.AGENT_EMAIL)["name"] == "Agent J. Smith"
    chat_id = next(c.id for c in sb.state.chats.values() if c.user(constants.AGENT_EMAIL))
    chat = await ok(client, "get_chat", {"chat_id": chat_id})
    assert next(u for u in chat["users"] if u["id"] == constants.AGENT_EMAIL)["name"] == "Agent J. Smith"


async def test_pat_and_bearer_auth(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    assert (await call(client, "list_chats", headers=SMITH_PAT)).status_code == 200
    token = sb.mint_token(constants.AGENT_EMAIL)
    assert (
        await call(client, "list_chats", headers=bearer(str(token["access_token"]), "dal"))
    ).status_code == 200
    bad = [
        {},
        {"Authorization": f"Bearer {constants.PAT}"},  # a PAT sent as Bearer
        {"Authorization": f"Basic {constants.PAT}"},  # not base64(account_id:pat)
        basic(constants.AGENT_EMAIL, constants.PAT),  # the email is not the username
        {"Authorization": "Token abc"},
    ]
    for headers in bad:
        status, err = await error(client, "list_chats", headers=headers)
        assert (status, err) == (401, {"type": "authentication", "message": "Invalid access token"})


async def test_region_routing(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    fra_token = sb.mint_token(constants.FRA_AGENT_EMAIL)
    assert str(fra_token["access_token"]).startswith("fra:")
    for headers in (
        bearer(str(fra_token["access_token"])),
        {k: v for k, v in FRA_PAT.items() if k != "X-Region"},
    ):
        status, err = await error(client, "list_chats", headers=headers)
        assert (status, err["type"], err["message"], err["data"]) == (
            421,
            "misdirected_request",
            "Wrong region",
            {"region": "fra"},
        )
    assert (
        await call(client, "list_chats", headers=bearer(str(fra_token["access_token"]), "fra"))
    ).status_code == 200
    status, err = await error(client, "list_chats", headers={**SMITH_PAT, "X-Region": "fra"})
    assert (status, err["data"]) == (421, {"region": "dal"})
    assert (await call(client, "list_chats", headers={**SMITH_PAT, "X-Region": "dal"})).status_code == 200


async def test_accounts_are_isolated(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    fra = await ok(client, "list_chats", {"limit": 100}, headers=FRA_PAT)
    dal_chat = next(c for c in sb.state.chats.values() if c.org_id == constants.ORGANIZATION_ID)
    fra_chat = next(c for c in sb.state.chats.values() if c.org_id == constants.FRA_ORGANIZATION_ID)
    assert fra["found_chats"] >= 40
    assert dal_chat.id not in {c["id"] for c in fra["chats_summary"]}
    assert (await error(client, "get_chat", {"chat_id": dal_chat.id}, headers=FRA_PAT))[0] == 404
    assert (await error(client, "get_chat", {"chat_id": fra_chat.id}))[0] == 404
    status, _ = await error(client, "get_customer", {"id": fra_chat.customer_id})
    assert status == 404
    fra_agents = await ok(client, "list_agents", {}, api="configuration", headers=FRA_PAT)
    assert constants.AGENT_EMAIL not in {a["id"] for a in fra_agents}
    status, _ = await error(client, "get_agent", {"id": constants.FRA_AGENT_EMAIL}, api="configuration")
    assert status == 404
    archives = await ok(client, "list_archives", {"filters": {"query": "a"}, "limit": 100}, headers=FRA_PAT)
    assert {c["id"] for c in archives["chats"]} <= {
        c.id for c in sb.state.org_chats(constants.FRA_ORGANIZATION_ID)
    }


@pytest.mark.parametrize(
    ("method", "api", "body", "scope"),
    [
        ("list_chats", "agent", {}, "chats--all:ro or chats--access:ro"),
        ("get_customer", "agent", {"id": "x"}, "customers:ro"),
        ("update_customer", "agent", {"id": "x", "name": "A"}, "customers:rw"),
        ("list_routing_statuses", "agent", {}, "agents--all:ro"),
        ("list_agents", "configuration", {}, "agents--all:ro"),
        ("get_agent", "configuration", {"id": constants.AGENT_EMAIL}, "agents--my:ro"),
        ("list_groups", "configuration", {}, "groups--all:ro"),
        ("list_tags", "configuration", {}, "tags--all:ro or tags--groups:ro"),
    ],
)
async def test_missing_scope_is_authorization(
    sb: Sandbox, client: httpx2.AsyncClient, method: str, api: str, body: dict[str, object], scope: str
) -> None:
    token = sb.mint_token(constants.AGENT_EMAIL, scopes=["accounts--my:ro"])
    status, err = await error(client, method, body, api=api, headers=bearer(str(token["access_token"])))
    assert (status, err["type"], err["message"]) == (403, "authorization", f"Requires scope: {scope}")


async def test_scope_inclusion(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    rw = bearer(
        str(sb.mint_token(constants.AGENT_EMAIL, scopes=["chats--all:rw", "agents--all:rw"])["access_token"])
    )
    assert (await call(client, "list_chats", headers=rw)).status_code == 200  # rw includes ro
    assert (
        await call(client, "get_agent", {"id": constants.AGENT_EMAIL}, api="configuration", headers=rw)
    ).status_code == 200  # --all includes --my
    my_only = bearer(str(sb.mint_token(constants.AGENT_EMAIL, scopes=["chats--my:ro"])["access_token"]))
    assert (await error(client, "list_chats", headers=my_only))[0] == 403


async def test_access_scope_limits_visible_chats(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    normal = sb.state.agents[constants.NORMAL_AGENT_EMAIL]
    access = sb.mint_token(constants.NORMAL_AGENT_EMAIL, scopes=["chats--access:ro", "chats--access:rw"])
    headers = bearer(str(access["access_token"]))
    listed = await ok(client, "list_chats", {"limit": 100}, headers=headers)
    total = listed["found_chats"]
    visible = [
        c
        for c in sb.state.org_chats(constants.ORGANIZATION_ID)
        if set(c.group_ids) & set(normal.groups) or c.user(normal.id)
    ]
    assert total == len(visible)
    assert total < len(sb.state.org_chats(constants.ORGANIZATION_ID))
    hidden = next(c for c in sb.state.org_chats(constants.ORGANIZATION_ID) if c not in visible)
    status, err = await error(client, "get_chat", {"chat_id": hidden.id}, headers=headers)
    assert (status, err["type"]) == (404, "not_found")
    # A normal agent cannot hold chats--all:* (role "administrator" in the docs' scope list).
    assert (await call(client, "get_chat", {"chat_id": hidden.id}, headers=NORMAL_PAT)).status_code == 404
    assert (await call(client, "get_chat", {"chat_id": hidden.id}, headers=SMITH_PAT)).status_code == 200
    archives = await ok(client, "list_archives", {"limit": 100}, headers=headers)
    assert {c["id"] for c in archives["chats"]} <= {c.id for c in visible}


async def test_envelope_errors(client: httpx2.AsyncClient) -> None:
    status, err = await error(client, "no_such_method")
    assert (status, err["type"]) == (404, "not_found")
    status, err = await error(client, "list_chats", version="v3.1")
    # The documented message (src/constants/index.js: "Cannot call unsupported API versions.")
    assert (status, err) == (
        400,
        {"type": "unsupported_version", "message": "Cannot call unsupported API versions."},
    )
    bad_json = await client.post("/v3.6/agent/action/list_chats", content=b"{nope", headers=SMITH_PAT)
    assert (bad_json.status_code, bad_json.json()["error"]["type"]) == (400, "validation")
    array = await client.post("/v3.6/agent/action/list_chats", json=[1], headers=SMITH_PAT)
    assert array.json()["error"]["type"] == "validation"
    empty = await client.post("/v3.6/agent/action/list_chats", headers=SMITH_PAT)
    assert empty.status_code == 200
    status, err = await error(client, "get_chat", {})
    assert err == {"type": "validation", "message": "`chat_id` is required"}
