"""The account-linking attack, scripted end to end: Bob, a caller of the server, asks for a connect
link and sends it to a victim who is signed in to LiveChat (an owner). Opening it must not connect
the victim's LiveChat to Bob: the victim sees whose identity they are about to connect, nothing is
stored without their confirmation (a forged or cross-site POST cannot give it), cancelling or
letting the link expire revokes the fresh LiveChat token, and with LIVECHAT_MCP_EMAIL_CLAIM a
LiveChat agent whose e-mail is not the caller's is refused outright."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_livechat.connect.identity import Principal
from mcp_livechat.connect.routes import COOKIE
from mcp_livechat.http_app import create_app
from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.server import create_server
from tests.connect.flow_kit import (
    AUDIENCE,
    ISSUER,
    Browser,
    assert_guarded,
    connect_through,
    jwks_app,
    oauth_settings,
    sandbox_on_port,
    served,
    token,
)

BOB_KEY = "bob-key-0123456789abcdef"
BOB = Principal("acme", "bob")
VICTIM = constants.AGENT_EMAIL  # the sandbox browser's LiveChat session: the account's owner


@asynccontextmanager
async def server(tmp: Path, **overrides: Any) -> AsyncIterator[tuple[Sandbox, str, Any]]:
    async with sandbox_on_port() as (sb, base, port, _):
        settings = oauth_settings(base, tmp, **overrides)
        built = create_server(settings, public_url=f"http://127.0.0.1:{port}")
        app = create_app(built, settings, transport="http", host="127.0.0.1")
        async with served(app, port) as mcp_base:
            yield sb, mcp_base, built.runtime


def as_caller(url: str, bearer: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {bearer}"}, timeout=30)
    return Client(streamable_http_client(url, http_client=http))


async def bobs_link(base: str, bearer: str = BOB_KEY) -> str:
    async with as_caller(f"{base}/mcp", bearer) as bob:
        out = await bob.call_tool("connect_livechat", {})
    return str((out.structured_content or {})["connect_url"])


async def bob_acts(base: str, bearer: str = BOB_KEY) -> Any:
    async with as_caller(f"{base}/mcp", bearer) as bob:
        return await bob.call_tool("get_my_profile", {})


def api_keys(tmp: Path) -> dict[str, str]:
    keys = tmp / "keys"
    keys.write_text(f"{hashlib.sha256(BOB_KEY.encode()).hexdigest()} acme bob\n")
    return {"mcp_auth": "api-key", "mcp_api_keys_file": str(keys)}


def live_tokens(sb: Sandbox, email: str) -> int:
    now = sb.clock.now()
    return sum(
        1
        for t in sb.state.tokens.access.values()
        if t.agent_id == email and sb.state.tokens.valid_access(t.token, now)
    )


async def test_the_victim_sees_whose_identity_and_nothing_is_stored_until_they_confirm(
    tmp_path: Path,
) -> None:
    async with server(tmp_path, **api_keys(tmp_path)) as (sb, base, runtime):
        victim = Browser()
        page = await victim.open(await bobs_link(base))  # the victim opens what Bob sent
        host = base.removeprefix("http://")
        assert page.status_code == 200
        assert (
            f"Connect LiveChat account {VICTIM} ({constants.ACCOUNT_ID}) to bob at acme on {host}?"
            in page.text
        )
        assert "If someone sent you this link, cancel" in page.text
        assert_guarded(page)  # and it cannot be framed to trick a click
        assert sb.stats.counter("token_issued") == 1  # LiveChat answered...
        assert await runtime.store.get(BOB) is None  # ...but nothing is Bob's yet
        assert (await bob_acts(base)).is_error

        cancelled = await victim.submit(page, "cancel")
        assert cancelled.status_code == 400 and "nothing was stored" in cancelled.text
        assert await runtime.store.get(BOB) is None
        assert (
            sb.stats.counter("token_revoked") == 1 and live_tokens(sb, VICTIM) == 0
        )  # the fresh token is dead
        result = await bob_acts(base)
        assert result.is_error and "/connect/" in result.content[0].text  # Bob is still not connected
        assert victim.cookie(COOKIE) is None  # the sign-in is spent in the victim's browser


async def test_a_forged_confirmation_stores_nothing(tmp_path: Path) -> None:
    async with server(tmp_path, **api_keys(tmp_path)) as (sb, base, runtime):
        victim = Browser()
        page = await victim.open(await bobs_link(base))
        state = page.text.split("name=state value='", 1)[1].split("'", 1)[0]
        cookie = victim.cookie(COOKIE)
        assert cookie is not None and cookie.httponly and cookie.samesite == "lax"
        assert cookie.path == "/integration-callback" and victim.script_cookies(base) == {}

        # Mallory's page auto-submits the form into the victim's browser: cross-site, so the
        # SameSite=Lax cookie stays home, and she cannot know the form token anyway.
        evil = "http://localhost:9/win-a-prize"
        for data in (
            {"state": state, "csrf": "guessed", "action": "confirm"},
            {"state": state, "action": "confirm"},
        ):
            forged = await victim.post(f"{base}/integration-callback", data, initiator=evil)
            assert forged.status_code == 400 and "Nothing was stored" in forged.text
        # Same site, the right cookie, but not the page's token (e.g. a second tab of Mallory's
        # on this server's origin): refused, and the genuine page still works.
        wrong = await victim.post(
            f"{base}/integration-callback",
            {"state": state, "csrf": "guessed", "action": "confirm"},
            initiator=str(page.url),
        )
        assert wrong.status_code == 400
        # Bob planting the victim's state in his own browser does not give him the page's token.
        bob = Browser()
        bob.set_cookie(base, COOKIE, state, path="/integration-callback")
        stolen = await bob.post(
            f"{base}/integration-callback", {"state": state, "csrf": "x", "action": "confirm"}, initiator=base
        )
        assert stolen.status_code == 400
        assert await runtime.store.get(BOB) is None and live_tokens(sb, VICTIM) == 1
        # A GET of the callback never confirms: reloading it shows the same question again.
        again = await victim.open(f"{base}/integration-callback?code=x&state={state}")
        assert again.status_code == 200 and "Connect LiveChat?" in again.text
        assert await runtime.store.get(BOB) is None and sb.stats.counter("token_issued") == 1

        done = await victim.submit(page, "cancel")
        assert "Cancelled" in done.text and live_tokens(sb, VICTIM) == 0


async def test_a_cross_site_post_is_refused_even_by_a_browser_without_samesite(tmp_path: Path) -> None:
    async with server(tmp_path, **api_keys(tmp_path)) as (sb, base, runtime):
        old = Browser(samesite=False)  # sends the cookie cross-site: only the Origin check is left
        page = await old.open(await bobs_link(base))
        fields = dict(re.findall(r"name=(state|csrf) value='([^']+)'", page.text))
        forged = await old.post(
            f"{base}/integration-callback", {**fields, "action": "confirm"}, initiator="http://localhost:9/x"
        )
        assert (
            forged.status_code == 400 and await runtime.store.get(BOB) is None
        )  # even with a leaked form token
        # the forging page under no-referrer: its POST says `Origin: null`, and the browser says
        # cross-site in Sec-Fetch-Site, which a page cannot set
        hidden = await old.post(
            f"{base}/integration-callback",
            {**fields, "action": "confirm"},
            initiator="http://localhost:9/x",
            referrer_policy="no-referrer",
        )
        assert hidden.request.headers["origin"] == "null"
        assert hidden.status_code == 400 and await runtime.store.get(BOB) is None
        # our own page under no-referrer (as served before) is `null` too, but same-origin: accepted
        done = await old.post(
            f"{base}/integration-callback",
            {**fields, "action": "cancel"},
            initiator=str(page.url),
            referrer_policy="no-referrer",
        )
        assert done.request.headers["origin"] == "null"
        assert "Cancelled" in done.text and live_tokens(sb, VICTIM) == 0


async def test_an_unconfirmed_grant_is_revoked_when_its_link_expires(tmp_path: Path) -> None:
    async with server(tmp_path, **api_keys(tmp_path)) as (sb, base, runtime):
        victim = Browser()
        page = await victim.open(await bobs_link(base))
        assert "Connect LiveChat?" in page.text and live_tokens(sb, VICTIM) == 1
        connections = runtime.oauth_connections
        assert await connections.revoke_abandoned() == 0  # not yet: the link still lives
        connections._clock = lambda: time.time() + 601  # the victim walked away; the link expired
        late = await victim.submit(page, "confirm")
        assert late.status_code == 400 and "expired" in late.text
        assert await runtime.store.get(BOB) is None and live_tokens(sb, VICTIM) == 0

        other = Browser()
        opened = await other.open(await bobs_link(base))  # another link opened, never answered
        assert "Connect LiveChat?" in opened.text, opened.text
        assert live_tokens(sb, VICTIM) == 1
        connections._clock = lambda: time.time() + 601 + 601  # its link too
        assert await connections.revoke_abandoned() == 1
        assert live_tokens(sb, VICTIM) == 0 and await runtime.store.get(BOB) is None


async def test_the_person_who_asked_connects_after_confirming(tmp_path: Path) -> None:
    async with server(tmp_path, **api_keys(tmp_path)) as (_, base, runtime):
        browser = Browser()
        done = await connect_through(browser, await bobs_link(base))
        assert done.status_code == 200 and f"LiveChat is connected as {VICTIM}" in done.text
        assert_guarded(done)
        grants = await runtime.store.list_grants("acme")
        assert [(g.user, g.agent_email, g.account_id) for g in grants] == [
            ("bob", VICTIM, constants.ACCOUNT_ID)
        ]
        me = await bob_acts(base)
        assert not me.is_error and (me.structured_content or {})["agent_id"] == VICTIM


async def test_with_the_email_claim_a_foreign_livechat_agent_is_refused_and_revoked(tmp_path: Path) -> None:
    async with served(jwks_app()) as idp:
        jwt_mode = {
            "mcp_auth": "jwt", "mcp_jwks_url": f"{idp}/jwks", "mcp_issuer": ISSUER, "mcp_audience": AUDIENCE,
            "mcp_tenant_claim": "org", "mcp_email_claim": "email",
        }  # fmt: skip
        async with server(tmp_path, **jwt_mode) as (sb, base, runtime):
            bob_jwt = token(sub="bob", email="bob@acme.example")
            victim = Browser()
            refused = await victim.open(await bobs_link(base, bob_jwt))  # signed in to LiveChat as smith
            assert refused.status_code == 400 and "made for someone else" in refused.text
            assert VICTIM in refused.text and "bob@acme.example" not in refused.text  # Bob's e-mail stays his
            assert "Connect LiveChat?" not in refused.text
            assert sb.stats.counter("token_issued") == 1 and live_tokens(sb, VICTIM) == 0  # revoked at once
            assert await runtime.store.get(Principal("acme", "bob")) is None
            assert (await bob_acts(base, bob_jwt)).is_error

            # A caller without the e-mail claim cannot complete a link either.
            anonymous = token(sub="eve")
            page = await Browser().open(await bobs_link(base, anonymous))
            assert (
                page.status_code == 400 and "carries no e-mail" in page.text and live_tokens(sb, VICTIM) == 0
            )

            # Nor can a caller whose identity provider says the e-mail is not verified (OpenID
            # Connect's email_verified: false), even when it names the LiveChat agent.
            unproven = token(sub="mallory", email="smith@example.com", email_verified=False)
            page = await Browser().open(await bobs_link(base, unproven))
            assert (
                page.status_code == 400 and "carries no e-mail" in page.text and live_tokens(sb, VICTIM) == 0
            )

            # The owner of the LiveChat account, asking for themselves, connects (after confirming).
            smith_jwt = token(sub="smith", email="Smith@Example.com")  # e-mails compare case-insensitively
            done = await connect_through(Browser(), await bobs_link(base, smith_jwt))
            assert "LiveChat is connected" in done.text
            assert await runtime.store.get(Principal("acme", "smith")) is not None
            me = await bob_acts(base, smith_jwt)
            assert not me.is_error and (me.structured_content or {})["agent_id"] == VICTIM


async def test_links_opened_again_and_again_in_a_victims_browser_hold_one_token_at_a_time(
    tmp_path: Path,
) -> None:
    """Bob's own links, opened in the victim's LiveChat-signed-in browser (a page of his navigating
    a popup), each reach the confirmation page, so each exchanges a code for a token of the
    victim's agent. Unconfirmed, they are held until their link expires; 25 of them would push the
    victim's real grant out of LiveChat's 25-token limit. Only the newest is held: each new one
    revokes Bob's earlier one, and the victim keeps working."""
    keys = tmp_path / "keys"
    victim_key = "victim-key-0123456789abcdef"
    keys.write_text(
        f"{hashlib.sha256(BOB_KEY.encode()).hexdigest()} acme bob\n"
        f"{hashlib.sha256(victim_key.encode()).hexdigest()} acme victim\n"
    )
    async with server(tmp_path, mcp_auth="api-key", mcp_api_keys_file=str(keys)) as (sb, base, runtime):
        browser = Browser()
        done = await connect_through(browser, await bobs_link(base, victim_key))
        assert "LiveChat is connected" in done.text
        for _ in range(26):
            page = await browser.open(await bobs_link(base))
            assert "Connect LiveChat?" in page.text  # nobody clicks
            assert live_tokens(sb, VICTIM) == 2  # the victim's grant and Bob's newest hold
        assert sb.stats.counter("token_issued") == 27
        assert not (await bob_acts(base, victim_key)).is_error  # the victim's grant still works
        assert await runtime.store.get(BOB) is None
