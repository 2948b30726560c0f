"""Accounts server: authorize, token exchange, refresh, cap, info, revoke."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.sandbox.oauth import redirect_allowed
from tests.sandbox.sandbox_testkit import (
    CALLBACK,
    authorize,
    bearer,
    call,
    exchange,
    get_code,
    login,
    pkce,
    query_of,
)

TOKEN_KEYS = {
    "access_token",
    "account_id",
    "expires_in",
    "organization_id",
    "refresh_token",
    "scope",
    "token_type",
}
UNAUTHORIZED_CLIENT = {
    "error": "unauthorized_client",
    "error_description": "The client is not authorized to request a token using this method.",
}


def _answer(response: httpx2.Response) -> tuple[int, dict[str, object]]:
    """Status and error body, less the documented optional `request_id` (a UUID, checked here)."""
    body = response.json()
    assert uuid.UUID(body.pop("request_id"))
    return response.status_code, body


async def test_code_flow_s256(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    verifier, challenge = pkce()
    response = await authorize(client, code_challenge=challenge, code_challenge_method="S256", state="xyz")
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(CALLBACK + "?code=dal%3A")
    assert query_of(location)["state"] == "xyz"
    code = query_of(location)["code"]
    assert code.startswith("dal:")
    token = await exchange(client, code, code_verifier=verifier)
    assert token.status_code == 200
    assert token.headers["cache-control"] == "no-store"
    body = token.json()
    assert set(body) == TOKEN_KEYS
    assert body["access_token"].startswith("dal:")
    assert ":" not in body["refresh_token"]
    assert body["expires_in"] == 28800
    assert body["token_type"] == "Bearer"
    assert body["account_id"] == constants.ACCOUNT_ID
    assert body["organization_id"] == constants.ORGANIZATION_ID
    assert body["scope"].split(",") == list(constants.APP_SCOPES)
    assert sb.stats.counter("token_issued") == 1
    assert sb.stats.counter(f"token_issued:{constants.AGENT_EMAIL}") == 1
    assert sb.stats.requests["token"] == 1
    listed = await call(client, "list_chats", {}, headers=bearer(body["access_token"]))
    assert listed.status_code == 200


@pytest.mark.parametrize("method", [None, "plain", "s256", "S256"])
async def test_pkce_methods(client: httpx2.AsyncClient, method: str | None) -> None:
    verifier, challenge = pkce(method="plain" if method in (None, "plain") else "S256")
    params = {"code_challenge": challenge} | ({"code_challenge_method": method} if method else {})
    code = await get_code(client, **params)
    bad = await exchange(client, code, code_verifier="w" * 43)
    assert _answer(bad) == (401, UNAUTHORIZED_CLIENT)
    assert (await exchange(client, code, code_verifier=verifier)).status_code == 200


async def test_json_and_query_bodies_and_code_alias(client: httpx2.AsyncClient) -> None:
    form = {
        "grant_type": "code",
        "client_id": constants.CLIENT_ID,
        "client_secret": constants.CLIENT_SECRET,
        "redirect_uri": CALLBACK,
    }
    as_json = await client.post("/accounts/v2/token", json=form | {"code": await get_code(client)})
    assert as_json.status_code == 200, as_json.text
    as_query = await client.post("/accounts/v2/token", params=form | {"code": await get_code(client)})
    assert as_query.status_code == 200, as_query.text


async def test_code_is_single_use_and_expires(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    code = await get_code(client)
    assert (await exchange(client, code)).status_code == 200
    again = await exchange(client, code)
    assert _answer(again) == (401, UNAUTHORIZED_CLIENT)
    late = await get_code(client)
    sb.clock.advance(121)
    expired = await exchange(client, late)
    assert _answer(expired) == (401, UNAUTHORIZED_CLIENT)


async def test_token_endpoint_errors(client: httpx2.AsyncClient) -> None:
    verifier, challenge = pkce()
    code = await get_code(client, code_challenge=challenge, code_challenge_method="S256")
    missing = await client.post("/accounts/v2/token", data={"grant_type": "authorization_code"})
    assert missing.status_code == 422
    assert missing.json()["error"] == "invalid_request"
    assert missing.json()["invalid_fields"] == {
        "code": "is required",
        "client_id": "is required",
        "redirect_uri": "is required",
    }
    no_secret = await exchange(client, code, client_secret=None, code_verifier=verifier)
    assert no_secret.status_code == 422
    assert no_secret.json()["invalid_fields"] == {"client_secret": "is required"}
    no_verifier = await exchange(client, code)
    assert no_verifier.json()["invalid_fields"] == {"code_verifier": "is required"}
    for bad in ({"client_secret": "nope"}, {"redirect_uri": CALLBACK + "/x"}, {"client_id": "f" * 32}):
        response = await exchange(client, code, code_verifier=verifier, **bad)
        assert _answer(response) == (401, UNAUTHORIZED_CLIENT), bad
    grant = await client.post("/accounts/v2/token", data={"grant_type": "password"})
    assert (grant.status_code, grant.json()["error"]) == (403, "unsupported_grant_type")
    assert (await exchange(client, code, code_verifier=verifier)).status_code == 200


async def test_authorize_errors_go_to_ooops(client: httpx2.AsyncClient) -> None:
    cases = [
        ({"client_id": "0" * 32}, "client_id_not_found"),
        ({"redirect_uri": ""}, "redirect_uri_not_set"),
        ({"redirect_uri": "http://127.0.0.1:9999/integration-callback"}, "invalid_redirect_uri"),
    ]
    for params, detail in cases:
        response = await authorize(client, **params)
        assert response.status_code == 302
        location = response.headers["location"]
        assert location.startswith("http://sandbox/accounts/ooops?oauth_exception=")
        assert query_of(location)["exception_details"] == detail
        assert CALLBACK not in location
    wrong_type = await authorize(client, response_type="id_token")
    assert query_of(wrong_type.headers["location"])["oauth_exception"] == "unsupported_response_type"
    short = await authorize(client, code_challenge="abc")
    assert query_of(short.headers["location"])["oauth_exception"] == "invalid_request"
    page = await client.get(
        "/accounts/ooops", params={"oauth_exception": "invalid_request", "exception_details": "<b>x</b>"}
    )
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "&lt;b&gt;" in page.text


@pytest.mark.parametrize(
    ("whitelisted", "requested", "allowed"),
    [
        ("http://livechat.com", "http://livechat.com/archives", True),
        ("http://livechat.com/archives", "http://livechat.com", False),
        ("http://localhost:3000", "http://localhost:4000", False),
        ("https://livechat.com", "http://livechat.com", False),
        ("http://livechat.com/cb/", "http://livechat.com/cb", False),
        ("http://livechat.com/cb/", "http://livechat.com/cb/", True),
        ("http://livechat.com/cb", "http://livechat.com/cb/../admin", False),
        ("http://livechat.com/cb", "http://livechat.com/cb/%2e%2e/admin", False),
        ("http://127.0.0.1:8000/integration-callback", "http://127.0.0.1:8000/integration-callback", True),
        ("http://127.0.0.1:8000/integration-callback", "http://127.0.0.1:8001/integration-callback", False),
        ("http://127.0.0.1", "http://127.0.0.1:53123/callback", False),  # the port must match too
        ("http://127.0.0.1", "http://127.0.0.1/callback", True),
        ("http://localhost:3000", "http://localhost:3000/cb", True),
        ("http://livechat.com", "http://evil.com@livechat.com/", False),
    ],
)
def test_redirect_uri_matching(whitelisted: str, requested: str, allowed: bool) -> None:
    assert redirect_allowed(requested, (whitelisted,)) is allowed


async def test_redirect_limit(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    for _ in range(3):
        assert "code=" in (await authorize(client)).headers["location"]
    blocked = await authorize(client)
    assert query_of(blocked.headers["location"])["exception_details"] == "too_many_redirects"
    sb.clock.advance(31)
    assert "code=" in (await authorize(client)).headers["location"]


async def test_redirect_limit_disabled() -> None:
    sb = Sandbox(redirect_limit=None, redirect_uris=["http://app.test/cb"], code_lifetime=5)
    async with httpx2.AsyncClient(transport=sb.transport(), base_url="http://sandbox") as client:
        for _ in range(6):
            response = await authorize(client, redirect_uri="http://app.test/cb/x")
            assert "code=" in response.headers["location"]
        assert "ooops" in (await authorize(client)).headers["location"]  # the default whitelist is replaced


async def test_consent_denied_and_no_session(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    sb.set_consent(False)
    denied = await authorize(client, state="st8")
    assert query_of(denied.headers["location"]) == {"error": "access_denied", "state": "st8"}
    sb.set_consent(True)
    sb.set_browser_account(None)
    login_page = await authorize(client)
    assert login_page.status_code == 200
    assert "location" not in login_page.headers
    with pytest.raises(ValueError, match="unknown agent"):
        sb.set_browser_account("nobody@example.com")


async def test_implicit_grant(client: httpx2.AsyncClient) -> None:
    response = await authorize(client, response_type="token", state="abc")
    fragment = urlsplit(response.headers["location"]).fragment
    assert fragment.startswith("access_token=dal%3A")
    params = {k: v[0] for k, v in parse_qs(fragment).items()}
    assert params["token_type"] == "Bearer"
    assert params["expires_in"] == "28800"
    assert params["state"] == "abc"
    info = await client.get("/accounts/v2/info", headers=bearer(params["access_token"]))
    assert info.status_code == 200
    assert "refresh_token" not in info.json()


async def test_requested_scopes_and_role_limits(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    code = await get_code(client, scope="chats--all:ro,customers:ro")
    assert (await exchange(client, code)).json()["scope"] == "chats--all:ro,customers:ro"
    unknown = await authorize(client, scope="chats--all:ro,customers:ro,unknown--scope:rw")
    assert query_of(unknown.headers["location"])["oauth_exception"] == "invalid_scope"  # not dropped
    sb.set_browser_account(constants.NORMAL_AGENT_EMAIL)
    everything = await authorize(client)  # no `scope`: all the app's scopes, admin ones included
    assert query_of(everything.headers["location"])["oauth_exception"] == "invalid_scope"
    code = await get_code(client, scope=",".join(constants.NORMAL_SCOPES))
    granted = (await exchange(client, code)).json()["scope"].split(",")
    assert granted == list(constants.NORMAL_SCOPES)
    assert not set(granted) & constants.ADMIN_ONLY_SCOPES
    assert "chats--access:rw" in granted
    bad = await authorize(client, scope="nothing:rw")
    assert query_of(bad.headers["location"])["oauth_exception"] == "invalid_scope"


async def refresh(client: httpx2.AsyncClient, token: str, **params: str) -> httpx2.Response:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": token,
        "client_id": constants.CLIENT_ID,
        "client_secret": constants.CLIENT_SECRET,
    } | params
    return await client.post("/accounts/v2/token", data={k: v for k, v in form.items() if v})


async def test_confidential_refresh_keeps_the_refresh_token(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    first = await login(client)
    response = await refresh(client, first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    assert set(second) == TOKEN_KEYS
    assert second["refresh_token"] == first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert (await refresh(client, first["refresh_token"])).status_code == 200
    assert sb.stats.counter("token_refreshed") == 2
    assert sb.stats.counter(f"token_refreshed:{constants.AGENT_EMAIL}") == 2
    assert sb.stats.snapshot()["token_refreshed_per_key"][constants.AGENT_EMAIL] == 2
    unknown = await refresh(client, "nope")
    assert _answer(unknown) == (401, UNAUTHORIZED_CLIENT)
    other = await refresh(
        client, first["refresh_token"], client_id=constants.PUBLIC_CLIENT_ID, client_secret=""
    )
    assert (other.status_code, other.json()["error"]) == (401, "invalid_client")
    no_secret = await refresh(client, first["refresh_token"], client_secret="")
    assert no_secret.status_code == 422


async def test_public_client_rotates_refresh_tokens(client: httpx2.AsyncClient) -> None:
    verifier, challenge = pkce()
    code = await get_code(
        client,
        client_id=constants.PUBLIC_CLIENT_ID,
        code_challenge=challenge,
        code_challenge_method="S256",
        redirect_uri="http://localhost/cb",
    )
    token = await exchange(
        client,
        code,
        client_id=constants.PUBLIC_CLIENT_ID,
        client_secret=None,
        code_verifier=verifier,
        redirect_uri="http://localhost/cb",
    )
    assert token.status_code == 200, token.text
    old = token.json()["refresh_token"]
    rotated = await refresh(client, old, client_id=constants.PUBLIC_CLIENT_ID, client_secret="")
    assert rotated.status_code == 200
    new = rotated.json()["refresh_token"]
    assert new != old
    reused = await refresh(client, old, client_id=constants.PUBLIC_CLIENT_ID, client_secret="")
    # a used single-use refresh token was issued and is revoked now: invalid_grant
    assert (reused.status_code, reused.json()["error"]) == (401, "invalid_grant")
    assert (
        await refresh(client, new, client_id=constants.PUBLIC_CLIENT_ID, client_secret="")
    ).status_code == 200
    no_pkce = await get_code(client, client_id=constants.PUBLIC_CLIENT_ID)
    plain = await exchange(client, no_pkce, client_id=constants.PUBLIC_CLIENT_ID, client_secret=None)
    assert plain.status_code == 401


async def test_token_cap_revokes_the_oldest(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    first = await login(client)
    tokens = [first["access_token"]]
    for _ in range(25):
        tokens.append((await refresh(client, first["refresh_token"])).json()["access_token"])
    assert (
        await call(client, "list_groups", headers=bearer(tokens[0]), api="configuration")
    ).status_code == 401
    assert (await client.get("/accounts/v2/info", headers=bearer(tokens[0]))).status_code == 401
    assert (
        await call(client, "list_groups", headers=bearer(tokens[1]), api="configuration")
    ).status_code == 200
    minted = [sb.mint_token(constants.AGENT_EMAIL)["refresh_token"] for _ in range(25)]
    assert (
        await refresh(client, first["refresh_token"])
    ).status_code == 401  # the 26th refresh token evicted it
    assert (await refresh(client, str(minted[0]))).status_code == 200
    assert sb.state.tokens.live_counts(constants.CLIENT_ID, constants.AGENT_EMAIL, sb.clock.now()) == (25, 25)


async def test_info(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    token = await login(client)
    sb.clock.advance(100)
    info = await client.get("/accounts/v2/info", params={"code": token["access_token"]})
    body = info.json()
    assert set(body) == {
        "access_token",
        "account_id",
        "client_id",
        "expires_in",
        "organization_id",
        "scope",
        "token_type",
        "refresh_token",
    }
    assert 28690 <= body["expires_in"] <= 28700
    assert body["client_id"] == constants.CLIENT_ID
    assert body["refresh_token"] == token["refresh_token"]
    refresh_as_access = await client.get("/accounts/v2/info", headers=bearer(token["refresh_token"]))
    assert (refresh_as_access.status_code, refresh_as_access.json()["error"]) == (401, "unauthorized")
    assert (await client.get("/accounts/v2/info")).status_code == 422
    sb.clock.advance(28800)
    assert (await client.get("/accounts/v2/info", headers=bearer(token["access_token"]))).status_code == 401
    expired = await call(client, "list_chats", headers=bearer(token["access_token"]))
    assert expired.json() == {"error": {"type": "authentication", "message": "Invalid access token"}}


async def test_revoke(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    token = await login(client)
    response = await client.delete("/accounts/v2/token", headers=bearer(token["access_token"]))
    assert (response.status_code, response.content) == (200, b"")  # "returns no content"
    assert (await call(client, "list_chats", headers=bearer(token["access_token"]))).status_code == 401
    assert (await refresh(client, token["refresh_token"])).status_code == 401  # the pair is revoked
    again = await client.delete("/accounts/v2/token", params={"code": token["access_token"]})
    assert (again.status_code, again.json()["error"]) == (404, "resource_not_found")
    second = sb.mint_token(constants.AGENT_EMAIL)
    assert (
        await client.delete("/accounts/v2/token", params={"code": str(second["refresh_token"])})
    ).status_code == 200
    assert (await call(client, "list_chats", headers=bearer(str(second["access_token"])))).status_code == 401
    assert sb.stats.counter("token_revoked") == 2
