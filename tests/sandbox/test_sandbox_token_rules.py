"""The accounts server as documented: the refresh request, its errors, the authorize `scope`, the
normal agent's sign-in to an app that asks admin scopes, PATCH /v2/accounts and DELETE /v2/token."""

from __future__ import annotations

import httpx2
import pytest

from mcp_livechat.sandbox import Sandbox, constants
from tests.sandbox.sandbox_testkit import (
    NORMAL_PAT,
    authorize,
    bearer,
    call,
    exchange,
    get_code,
    login,
    query_of,
)


async def refresh(client: httpx2.AsyncClient, token: str, **params: str) -> httpx2.Response:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": token,
        "client_id": constants.CLIENT_ID,
        "client_secret": constants.CLIENT_SECRET,
    } | params
    return await client.post("/accounts/v2/token", data={k: v for k, v in form.items() if v})


def oauth_error(response: httpx2.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]


def exception_of(response: httpx2.Response) -> str:
    assert response.status_code == 302
    location = response.headers["location"]
    assert "/accounts/ooops?" in location
    return query_of(location)["oauth_exception"]


async def test_a_refresh_request_takes_no_scope(client: httpx2.AsyncClient) -> None:
    token = await login(client)
    for scope in ("chats--all:ro", constants.APP_SCOPES[0] + "," + constants.APP_SCOPES[1]):
        refused = await refresh(client, token["refresh_token"], scope=scope)
        assert oauth_error(refused) == (422, "invalid_request")
        assert refused.json()["invalid_fields"] == {"scope": "is not allowed"}
    as_json = await client.post(
        "/accounts/v2/token",
        json={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": constants.CLIENT_ID,
            "client_secret": constants.CLIENT_SECRET,
            "scope": "chats--all:ro",
        },
    )
    assert oauth_error(as_json) == (422, "invalid_request")
    assert (await refresh(client, token["refresh_token"])).status_code == 200  # the documented form


async def test_refresh_errors_as_the_troubleshooting_page_lists_them(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    token = await login(client)
    wrong_secret = await refresh(client, token["refresh_token"], client_secret="sbx_cs_wrong")
    assert oauth_error(wrong_secret) == (401, "unauthorized_client")  # "invalid client secret"
    assert oauth_error(await refresh(client, "no-such-token")) == (401, "unauthorized_client")  # "not found"
    wrong_client = await refresh(
        client, token["refresh_token"], client_id=constants.PUBLIC_CLIENT_ID, client_secret=""
    )
    assert oauth_error(wrong_client) == (401, "invalid_client")  # "refresh token with wrong client id"
    assert sb.expire_refresh_tokens(constants.AGENT_EMAIL) == 1
    expired = await refresh(client, token["refresh_token"])
    assert oauth_error(expired) == (401, "invalid_grant")  # "refresh token expired"
    assert (await call(client, "list_chats", headers=bearer(token["access_token"]))).status_code == 200
    assert (
        await client.delete("/accounts/v2/token", headers=bearer(token["refresh_token"]))
    ).status_code == 200
    # issued, then revoked: "refresh token is invalid, expired, revoked" (invalid_grant)
    assert oauth_error(await refresh(client, token["refresh_token"])) == (401, "invalid_grant")


async def test_refresh_tokens_expire_by_the_clock_or_the_control_endpoint(client: httpx2.AsyncClient) -> None:
    sb = Sandbox(refresh_lifetime=3600)
    async with httpx2.AsyncClient(transport=sb.transport(), base_url="http://sandbox") as http:
        token = await login(http)
        assert (await refresh(http, token["refresh_token"])).status_code == 200
        sb.clock.advance(3601)
        assert oauth_error(await refresh(http, token["refresh_token"])) == (401, "invalid_grant")
    token = await login(client)
    expired = await client.post("/sandbox/expire_refresh", json={"email": constants.AGENT_EMAIL})
    assert (expired.status_code, expired.json()) == (200, {"expired": 1})
    assert oauth_error(await refresh(client, token["refresh_token"])) == (401, "invalid_grant")
    assert (
        await client.post("/sandbox/expire_refresh", json={"email": "ghost@example.com"})
    ).status_code == 400
    assert (await client.post("/sandbox/expire_refresh", json={})).json() == {"expired": 0}


@pytest.mark.parametrize(
    ("scope", "exception"),
    [
        ("chats--all:ro,customers:ro", None),
        ("chats--all:ro, customers:ro", None),  # blanks around commas are trimmed
        ("chats--all:ro customers:ro", "invalid_scope"),  # one (unknown) scope name
        ("chats--all:ro,unknown--scope:rw", "invalid_scope"),  # "scope not found"
    ],
)
async def test_the_authorize_scope_is_comma_separated(
    client: httpx2.AsyncClient, scope: str, exception: str | None
) -> None:
    response = await authorize(client, scope=scope)
    if exception is None:
        code = query_of(response.headers["location"])["code"]
        assert (await exchange(client, code)).json()["scope"] == "chats--all:ro,customers:ro"
    else:
        assert exception_of(response) == exception


async def test_a_normal_agent_signing_in_to_an_app_asking_admin_scopes(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    """ "an app requires the `administrator` scopes, but instead, an `agent` user was logged in"
    → invalid_scope, not a silently reduced grant."""
    sb.set_browser_account(constants.NORMAL_AGENT_EMAIL)
    assert exception_of(await authorize(client)) == "invalid_scope"  # no scope = all the app's scopes
    assert exception_of(await authorize(client, scope="chats--access:ro,agents--all:rw")) == "invalid_scope"
    implicit = await authorize(client, response_type="token", scope="chats--all:ro")
    assert exception_of(implicit) == "invalid_scope"
    sb.clock.advance(31)  # past the redirect-loop limit (3 authorizations in 30 s)
    code = await get_code(client, scope="chats--access:ro,chats--access:rw,customers.ban:rw")
    assert (await exchange(client, code)).json()[
        "scope"
    ] == "chats--access:ro,chats--access:rw,customers.ban:rw"
    sb.set_browser_account(constants.AGENT_EMAIL)
    code = await get_code(client)  # the owner: every scope of the default app
    granted = (await exchange(client, code)).json()["scope"].split(",")
    assert granted == list(constants.APP_SCOPES)
    assert {"tags--all:rw", "banlist_read", "banlist_write", "customers.ban:rw"} <= set(granted)


async def test_patch_account_needs_accounts_all_rw(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    """The spec's PATCH /accounts/{account_id} lists `accounts--all:rw`, also for `me`."""
    my_rw = bearer(str(sb.mint_token(constants.AGENT_EMAIL, scopes=["accounts--my:rw"])["access_token"]))
    refused = await client.patch("/accounts/v2/accounts/me", json={"name": "X"}, headers=my_rw)
    assert (refused.status_code, refused.json()["sub_error"]) == (403, "insufficient_scope")
    normal = await client.patch("/accounts/v2/accounts/me", json={"name": "X"}, headers=NORMAL_PAT)
    assert normal.status_code == 403  # a normal agent cannot hold accounts--all:rw
    all_rw = bearer(str(sb.mint_token(constants.AGENT_EMAIL, scopes=["accounts--all:rw"])["access_token"]))
    done = await client.patch("/accounts/v2/accounts/me", json={"name": "Agent S."}, headers=all_rw)
    assert (done.status_code, done.json()["name"]) == (200, "Agent S.")


async def test_revoke_answers_no_content_or_404(client: httpx2.AsyncClient) -> None:
    token = await login(client)
    revoked = await client.delete("/accounts/v2/token", headers=bearer(token["access_token"]))
    assert (revoked.status_code, revoked.content) == (200, b"")
    again = await client.delete("/accounts/v2/token", headers=bearer(token["access_token"]))
    assert oauth_error(again) == (404, "resource_not_found")
