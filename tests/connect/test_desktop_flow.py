"""Desktop sign-in over real processes: `mcp-livechat login` (loopback listener, a browser following
LiveChat's consent page), `status`, a stdio server using the stored sign-in in both protocol eras,
`logout`; and a stdio server that offers the sign-in itself when a tool needs it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.types import ElicitRequestURLParams, ElicitResult

from mcp_livechat.sandbox import constants
from tests.connect.flow_kit import Browser, oauth_env, sandbox_on_port


async def run(*args: str, env: dict[str, str], timeout: float = 60) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mcp_livechat", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_login_status_stdio_logout(tmp_path: Path) -> None:
    async with sandbox_on_port() as (sb, base, _, login_port):
        env = oauth_env(
            base,
            tmp_path,
            LIVECHAT_REDIRECT_URI=f"http://127.0.0.1:{login_port}/callback",
            LIVECHAT_LOG_LEVEL="DEBUG",
        )
        stderr: list[str] = []
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mcp_livechat", "login", "--no-browser", "--timeout", "30", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stderr is not None
        line = ""
        while not line.startswith("Sign in to LiveChat: "):  # DEBUG log lines come first
            line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
            assert line, "login exited without printing the link"
            stderr.append(line)
        url = line.split(": ", 1)[1].strip()
        assert url.startswith(f"{base}/accounts/?") and "code_challenge_method=S256" in url
        browser = Browser()
        page = await browser.open(url)  # consent (the sandbox) -> the loopback listener of `login`
        await browser.aclose()
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        stderr.append(err.decode())
        assert proc.returncode == 0, err.decode()
        assert "LiveChat is connected" in page.text and "LiveChat is connected" in out.decode()

        code, out_s, err_s = await run("status", env=env)
        stderr.append(err_s)
        assert code == 0 and "connected: True" in out_s and f"email: {constants.AGENT_EMAIL}" in out_s
        assert "mode: oauth" in out_s and "scopes: " in out_s

        for mode in ("auto", "legacy"):
            params = StdioServerParameters(
                command=sys.executable, args=["-m", "mcp_livechat", "serve"], env=env
            )
            async with Client(params, mode=mode) as client:  # type: ignore[arg-type]
                me = await client.call_tool("get_my_profile", {})
                assert not me.is_error and (me.structured_content or {})["agent_id"] == constants.AGENT_EMAIL
        assert sb.stats.counter("token_issued") == 1  # every session reused the one stored grant

        code, out_l, err_l = await run("logout", env=env)
        assert code == 0 and "revoked at LiveChat and deleted here" in out_l, err_l
        assert sb.stats.counter("token_revoked") == 1
        code, out_s, _ = await run("status", env=env)
        assert "connected: False" in out_s
        stderr.append(err_l)
        tokens = sb.state.tokens
        secrets = {*tokens.access, *tokens.refresh, *tokens.codes, constants.CLIENT_SECRET}
        assert len(secrets) >= 3 and "DEBUG" in "".join(stderr)  # the processes did log, at DEBUG
        assert not [s for s in secrets if any(s in e or s.replace(":", "%3A") in e for e in stderr)]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_stdio_server_offers_the_sign_in_itself(tmp_path: Path, mode: str) -> None:
    async with sandbox_on_port() as (_, base, _, login_port):
        env = oauth_env(base, tmp_path, LIVECHAT_REDIRECT_URI=f"http://127.0.0.1:{login_port}/callback")
        browser = Browser()
        opened: list[str] = []

        async def person_signs_in(context: Any, params: Any) -> ElicitResult:
            assert isinstance(params, ElicitRequestURLParams)
            opened.append(params.url)
            page = await browser.open(params.url)  # LiveChat's page -> the server's loopback listener
            assert "LiveChat is connected" in page.text
            return ElicitResult(action="accept")

        params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_livechat", "serve"], env=env)
        async with Client(params, mode=mode, elicitation_callback=person_signs_in) as client:  # type: ignore[arg-type]
            if mode == "legacy":
                with pytest.raises(MCPError) as err:
                    await client.call_tool("list_groups", {})
                await person_signs_in(
                    None, ElicitRequestURLParams(message="", url=err.value.data["elicitations"][0]["url"])
                )  # type: ignore[index]
            result = await client.call_tool("list_groups", {})
        await browser.aclose()
        assert not result.is_error, result.content
        assert opened and opened[0].startswith(f"{base}/accounts/?")
