"""Connecting LiveChat over HTTP, end to end, on real loopback ports: an MCP client asks, the server
offers the link as its client can take it, a browser follows it through LiveChat's consent page
(the sandbox) to `/integration-callback`, and tool calls then act as that person. Then every way a
sign-in can be forged or go wrong, each storing nothing."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitRequestURLParams, ElicitResult

from mcp_livechat.cli import free_port
from mcp_livechat.connect.identity import Principal
from mcp_livechat.connect.routes import COOKIE
from mcp_livechat.http_app import create_app
from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.server import create_server
from tests.connect.flow_kit import (
    Browser,
    assert_guarded,
    connect_through,
    oauth_settings,
    sandbox_on_port,
    served,
)


@asynccontextmanager
async def stack(tmp: Path, **overrides: Any) -> AsyncIterator[tuple[Sandbox, str, Any]]:
    """Sandbox + our HTTP server (OAuth mode) on two ports; yields (sandbox, server base, runtime)."""
    async with sandbox_on_port() as (sb, base, port, _):
        settings = oauth_settings(base, tmp, **overrides)
        public = f"http://127.0.0.1:{port}"
        built = create_server(settings, public_url=public)
        app = create_app(built, settings, transport="http", host="127.0.0.1")
        async with served(app, port) as mcp_base:
            yield sb, mcp_base, built.runtime


def keyed_client(url: str, key: str, **kw: Any) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30)
    return Client(streamable_http_client(url, http_client=http), **kw)


async def test_http_flow_in_both_eras(tmp_path: Path, era: str) -> None:
    browser = Browser()
    links: list[str] = []

    async def person_opens_the_link(context: Any, params: Any) -> ElicitResult:
        assert isinstance(params, ElicitRequestURLParams)
        links.append(params.url)
        page = await connect_through(browser, params.url)
        assert page.status_code == 200 and "LiveChat is connected" in page.text
        return ElicitResult(action="accept")

    async with (
        stack(tmp_path) as (sb, base, _runtime),
        Client(f"{base}/mcp", mode=era, elicitation_callback=person_opens_the_link) as client,  # type: ignore[arg-type]
    ):
        if era == "legacy":  # 2025-11-25: URL elicitation as the -32042 error; the client retries itself
            with pytest.raises(MCPError) as err:
                await client.call_tool("list_chats", {"limit": 3})
            assert err.value.code == -32042
            elicitation = err.value.data["elicitations"][0]  # type: ignore[index]
            assert elicitation["mode"] == "url" and elicitation["elicitationId"]
            await person_opens_the_link(None, ElicitRequestURLParams(message="", url=elicitation["url"]))
        result = await client.call_tool("list_chats", {"limit": 3})  # 2026-07-28: input_required + retry
        assert not result.is_error, result.content
        assert len(result.structured_content["chats"]) == 3  # type: ignore[index]
        assert links and links[0].startswith(f"{base}/connect/")
        status = (await client.call_tool("get_connection_status", {})).structured_content or {}
        me = (await client.call_tool("get_my_profile", {})).structured_content or {}
    assert status["connected"] is True and status["mode"] == "oauth"
    assert status["email"] == constants.AGENT_EMAIL and status["account_id"] == constants.ACCOUNT_ID
    assert "chats--all:rw" in status["scopes"] and status["expires_at"].endswith("Z")
    assert me["agent_id"] == constants.AGENT_EMAIL
    assert sb.stats.counter("token_issued") == 1  # one grant for the person, not one per session or call
    await browser.aclose()


async def test_a_client_without_url_elicitation_gets_the_link_as_text(tmp_path: Path, era: str) -> None:
    async with stack(tmp_path) as (_, base, _r), Client(f"{base}/mcp", mode=era) as client:  # type: ignore[arg-type]
        result = await client.call_tool("list_chats", {})
        link = await client.call_tool("connect_livechat", {})
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert f"{base}/connect/" in text and "retry" in text
    assert (link.structured_content or {})["connect_url"].startswith(f"{base}/connect/")


async def _link(client: Client) -> str:
    out = await client.call_tool("connect_livechat", {})
    return str((out.structured_content or {})["connect_url"])


async def test_the_sign_in_page_is_plain_and_escaped(tmp_path: Path) -> None:
    browser = Browser()
    async with stack(tmp_path) as (_, base, _r), Client(f"{base}/mcp") as client:
        page = await browser.open(await _link(client))
        bogus = await browser.open(f"{base}/connect/<script>alert(1)</script>")
    assert (
        page.headers["content-type"].startswith("text/html") and "no-store" in page.headers["cache-control"]
    )
    assert "<script" not in page.text and "default-src 'none'" in page.headers["content-security-policy"]
    assert bogus.status_code == 404 and "<script>" not in bogus.text
    await browser.aclose()


async def test_forged_replayed_and_foreign_states_store_nothing(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    alice, bob = "alice-key-0123456789", "bob-key-0123456789"
    keys.write_text(
        f"{hashlib.sha256(alice.encode()).hexdigest()} acme alice\n{hashlib.sha256(bob.encode()).hexdigest()} acme bob\n"
    )
    async with stack(tmp_path, mcp_auth="api-key", mcp_api_keys_file=str(keys)) as (sb, base, runtime):
        store = runtime.store
        async with keyed_client(f"{base}/mcp", alice) as a, keyed_client(f"{base}/mcp", bob) as b:
            alice_link, bob_link = await _link(a), await _link(b)
        alice_state = alice_link.rsplit("/", 1)[1]

        # Bob's browser starts Bob's sign-in, then an answer carrying Alice's state arrives in it.
        browser = Browser()
        consent = (await browser.step(bob_link)).headers["location"]
        to_callback = (await browser.step(consent)).headers["location"]
        assert "code=dal%3A" in to_callback  # LiveChat percent-encodes the region colon...
        query = parse_qs(urlsplit(to_callback).query)
        code = query["code"][0]  # ...and it is decoded exactly once before the exchange
        foreign = await browser.open(f"{base}/integration-callback?code={code}&state={alice_state}")
        assert foreign.status_code == 400 and "Nothing was stored" in foreign.text
        forged = await browser.open(f"{base}/integration-callback?code={code}&state=forged-state")
        assert forged.status_code == 400
        assert await store.get(Principal("acme", "alice")) is None
        assert await store.get(Principal("acme", "bob")) is None
        assert await store.peek_pending(alice_state) is not None  # Alice's sign-in is untouched

        # The genuine answer asks Bob to confirm, and then connects Bob; replaying it is refused.
        ask = await browser.open(to_callback)
        assert "Connect LiveChat account smith@example.com" in ask.text and "to bob at acme" in ask.text
        assert await store.get(Principal("acme", "bob")) is None  # nothing before the confirmation
        ok = await browser.submit(ask, "confirm")
        assert ok.status_code == 200 and "LiveChat is connected" in ok.text
        bob_token = await store.get(Principal("acme", "bob"))
        assert bob_token is not None
        browser.set_cookie(base, COOKIE, query["state"][0], path="/integration-callback")
        replay = await browser.open(to_callback)
        assert replay.status_code == 400 and "Nothing was stored" in replay.text
        # an unknown state spends nothing: a second copy of an answer being held keeps the cookie
        # the first one's confirmation page needs
        assert browser.cookie(COOKIE) is not None
        browser.set_cookie(base, COOKIE, query["state"][0], path="/integration-callback")
        again = await browser.submit(ask, "confirm")  # the old confirmation page, posted twice
        assert again.status_code == 400 and "already used" in again.text
        assert await store.get(Principal("acme", "bob")) == bob_token
        assert sb.stats.counter("token_issued") == 1
        await browser.aclose()


async def test_reused_code_denied_consent_and_wrong_redirect_store_nothing(tmp_path: Path) -> None:
    async with stack(tmp_path) as (sb, base, runtime), Client(f"{base}/mcp") as client:
        store, me = runtime.store, Principal("local", "local")

        # A code that was already exchanged (first sign-in) fails the second exchange.
        browser = Browser()
        to_callback = (
            await browser.step((await browser.step(await _link(client))).headers["location"])
        ).headers["location"]
        confirmed = await browser.submit(await browser.open(to_callback), "confirm")
        assert confirmed.status_code == 200
        first = await store.get(me)
        code = parse_qs(urlsplit(to_callback).query)["code"][0]
        again = Browser()  # a second sign-in of the same person (still connected), started directly
        consent = (await again.step(await runtime.connections.connect_url(me))).headers["location"]
        new_state = parse_qs(urlsplit(consent).query)["state"][0]
        reused = await again.open(f"{base}/integration-callback?code={code}&state={new_state}")
        assert reused.status_code == 400 and "already used or expired" in reused.text
        assert await store.get(me) == first  # unchanged

        # The person says no at LiveChat: the state is spent, nothing is stored.
        assert (await client.call_tool("disconnect_livechat", {})).structured_content["connected"] is False  # type: ignore[index]
        assert sb.stats.counter("token_revoked") == 1
        sb.set_consent(False)
        denied_browser = Browser()
        denied = await denied_browser.open(await _link(client))
        assert denied.status_code == 400 and "access_denied" in denied.text
        assert await store.get(me) is None
        sb.set_consent(True)
        for b in (browser, again, denied_browser):
            await b.aclose()

    # A redirect URI LiveChat's app does not whitelist never gets a code at all.
    async with (
        stack(tmp_path, redirect_uri="http://127.0.0.1:9/elsewhere") as (sb, base, runtime),
        Client(f"{base}/mcp") as client,
    ):
        lost = Browser()
        page = await lost.open(await _link(client))
        assert urlsplit(str(page.url)).path == "/accounts/ooops"
        assert "invalid_redirect_uri" in str(page.url)
        assert await runtime.store.get(Principal("local", "local")) is None
        await lost.aclose()


async def test_a_missing_verifier_is_refused(tmp_path: Path) -> None:
    from mcp_livechat.connect.oauth import OAuthFailure

    async with stack(tmp_path) as (_, base, runtime), Client(f"{base}/mcp") as client:
        browser = Browser()
        consent = (await browser.step(await _link(client))).headers["location"]
        to_callback = (await browser.step(consent)).headers["location"]
        query = parse_qs(urlsplit(to_callback).query)
        pending = await runtime.store.take_pending(query["state"][0])
        with pytest.raises(OAuthFailure) as err:
            await runtime.connections.oauth.exchange(
                code=query["code"][0], verifier=None, redirect_uri=pending.redirect_uri
            )
        assert err.value.reason == "invalid_request"
        assert await runtime.store.get(Principal("local", "local")) is None
        await browser.aclose()


async def test_healthz_reports_the_store(tmp_path: Path) -> None:
    async with stack(tmp_path) as (_, base, runtime), httpx2.AsyncClient() as web:
        ok = await web.get(f"{base}/healthz")
        assert ok.status_code == 200 and ok.json()["store"] == "ok"
        await runtime.store.close()  # the store goes away under a running server
        down = await web.get(f"{base}/healthz")
    assert down.status_code == 503 and down.json() == {
        **down.json(),
        "status": "degraded",
        "store": "unreachable",
    }


async def test_every_page_forbids_framing_and_referrers(tmp_path: Path) -> None:
    browser = Browser()
    async with stack(tmp_path) as (_, base, _r), Client(f"{base}/mcp") as client, httpx2.AsyncClient() as web:
        link = await _link(client)
        responses = [
            await browser.step(link),  # the redirect to LiveChat
            await browser.step(f"{base}/connect/unknown-state"),
            await browser.step(f"{base}/integration-callback?code=x&state=y"),
            await web.get(f"{base}/healthz"),
            await web.post(f"{base}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}),
        ]
    assert [r.status_code for r in responses[:4]] == [302, 404, 400, 200]
    for response in responses:
        assert_guarded(response)
    assert "no-store" in responses[0].headers["cache-control"]
    await browser.aclose()


def _prefix_stripping_gateway(app: Any, prefix: str) -> Any:
    """What a gateway that serves us at `<host><prefix>/...` does: strips the prefix on the way in."""

    async def gateway(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(prefix + "/"):
            path = scope["path"][len(prefix) :]
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await app(scope, receive, send)

    return gateway


async def test_a_public_url_under_a_path_prefix_connects(tmp_path: Path) -> None:
    """Behind a gateway at `http://host:port/lc`, the browser sees the callback at
    `/lc/integration-callback`: the sign-in cookie must be for that path, or the browser never
    sends it back and every answer looks foreign."""
    port = free_port()
    public = f"http://127.0.0.1:{port}/lc"
    sb = Sandbox(redirect_uris=(f"{public}/integration-callback",), redirect_limit=None)
    browser = Browser()
    async with served(sb.app) as lc_base:
        settings = oauth_settings(lc_base, tmp_path, public_url=public)
        built = create_server(settings, public_url=public)
        app = create_app(built, settings, transport="http", host="127.0.0.1")
        async with (
            served(_prefix_stripping_gateway(app, "/lc"), port) as base,
            Client(f"{base}/lc/mcp") as client,
        ):
            link = (await client.call_tool("connect_livechat", {})).structured_content["connect_url"]  # type: ignore[index]
            assert link.startswith(f"{public}/connect/")
            cookie_path = (await browser.step(link)).headers.get("set-cookie", "")
            page = await connect_through(browser, link)
            result = await client.call_tool("list_chats", {"limit": 1})
    assert page.status_code == 200 and "LiveChat is connected" in page.text, page.text[-300:]
    assert "path=/lc/integration-callback;" in cookie_path.lower(), cookie_path
    assert not result.is_error and sb.stats.counter("token_issued") == 1


async def test_a_link_whose_row_cannot_be_read_gets_a_page_not_a_server_error(tmp_path: Path) -> None:
    """A pending row that does not open (sealed under a key since removed, or damaged): the link
    answers with a plain 503 page, not a 500 and a traceback."""
    import sqlite3

    async with stack(tmp_path) as (_, base, _runtime), Client(f"{base}/mcp") as client:
        link = await _link(client)
        with sqlite3.connect(tmp_path / "tokens.db") as db:
            db.execute("UPDATE pending SET sealed = ?", (b"not a sealed row",))
        page = await Browser().open(link)
    assert page.status_code == 503 and "Try the link again" in page.text
    assert_guarded(page)
