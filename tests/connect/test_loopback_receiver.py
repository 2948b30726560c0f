"""The desktop loopback receiver over real HTTP: requests that do not answer the sign-in in
progress (no state, a state nobody issued, an oversized one, a wrong path, a wrong method, an
`error` for another state) are refused with a 404 or 405 and change nothing; the person's real
sign-in through LiveChat's consent page (the sandbox on a real port) still completes afterwards,
and a replay of its answer is refused."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from mcp_livechat.connect.identity import LOCAL
from mcp_livechat.server import Runtime
from tests.connect.flow_kit import Browser, oauth_settings, sandbox_on_port

NOT_THE_ANSWER = "This does not answer the sign-in in progress; it was ignored."


async def test_stray_requests_are_ignored_and_the_real_sign_in_still_completes(tmp_path: Path) -> None:
    async with sandbox_on_port() as (sb, base, _, login_port):
        receiver = f"http://127.0.0.1:{login_port}"
        settings = oauth_settings(base, tmp_path, redirect_uri=f"{receiver}/callback")
        async with Runtime(settings, background=False) as rt:  # real HTTP to the sandbox's port
            store = rt.store
            assert store is not None
            link = await rt.oauth_connections.connect_url(LOCAL)  # starts the receiver
            (state,) = parse_qs(urlsplit(link).query)["state"]
            waiting = asyncio.create_task(rt.wait_for_sign_in())
            browser = Browser()
            strays = [
                ("GET", "/callback", 404),  # no pending state at all
                ("GET", "/callback?code=forged-code", 404),
                ("GET", "/callback?state=nobody-issued-this&code=forged-code", 404),
                ("GET", "/callback?state=nobody-issued-this&error=access_denied", 404),  # not ours to abandon
                ("GET", f"/callback?state={'s' * 500}&code=forged-code", 404),  # oversized: never looked up
                ("GET", f"/callback?state={state[:-1]}&code=forged-code", 404),  # almost the real one
                ("GET", f"/elsewhere?state={state}&code=forged-code", 404),  # the real state, a wrong path
                ("GET", f"/callback/more?state={state}&code=forged-code", 404),
                ("GET", "/favicon.ico", 404),
                ("POST", f"/callback?state={state}&code=forged-code", 405),  # the answer is a GET
            ]
            for method, path, status in strays:
                if method == "POST":
                    response = await browser.post(f"{receiver}{path}", {}, initiator=receiver)
                else:
                    response = await browser.step(f"{receiver}{path}")
                assert response.status_code == status, (method, path, response.status_code)
                if method == "GET" and path.partition("?")[0] == "/callback":
                    assert NOT_THE_ANSWER in response.text, path  # the receiver's own refusal
                await asyncio.sleep(0)
                assert not waiting.done(), path  # the sign-in keeps waiting
            assert await store.peek_pending(state) is not None  # the real link is still live
            assert sb.stats.requests["token"] == 0  # no stray reached LiveChat's token endpoint
            assert await store.get(LOCAL) is None

            page = await browser.open(link)  # LiveChat's consent page -> this receiver
            outcome = await asyncio.wait_for(waiting, 30)
            assert page.status_code == 200 and "LiveChat is connected" in page.text
            assert outcome.ok and outcome.title == "LiveChat is connected"
            stored = await store.get(LOCAL)
            assert stored is not None and sb.stats.counter("token_issued") == 1

            replay = await browser.step(f"{receiver}/callback?state={state}&code=replayed-code")
            assert replay.status_code == 404 and NOT_THE_ANSWER in replay.text  # the state was used up
            assert await store.get(LOCAL) == stored and sb.stats.counter("token_issued") == 1
