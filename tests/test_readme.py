"""The README stays true: every client snippet under "Use it from your client" parses as its client
parses it and the stdio command it names starts the server (the SDK's real stdio client), and every
message quoted under "Troubleshooting" is what the server, its sign-in pages or the doctor say in
that case, produced here against the sandbox."""

from __future__ import annotations

import base64
import html
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from pydantic import SecretStr

from mcp_livechat.cli import free_port
from mcp_livechat.config import Settings
from mcp_livechat.connect.crypto import Sealer
from mcp_livechat.connect.identity import LOCAL
from mcp_livechat.connect.sqlite_store import SqliteTokenStore
from mcp_livechat.doctor import run_doctor
from mcp_livechat.doctor.report import as_text
from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.server import Runtime, create_server
from mcp_livechat.tools.catalogue import ALL_TOOLS
from mcp_livechat.tools.spec import DEFAULT_TOOLSETS
from tests.conftest import SANDBOX_URL, sandbox_settings
from tests.connect.flow_kit import KEY_1, Browser, oauth_settings, sandbox_on_port, stored_token
from tests.helpers import sandbox_process
from tests.other_readings import Forward, OtherReading
from tests.readme_kit import PLACEHOLDER, README, Launch, client_launches, pattern, troubleshooting_cases

LAUNCHES = client_launches()
LOCAL_COMMAND = Path(sys.executable).with_name("mcp-livechat")


def test_the_snippets_configure_every_client_the_same_way() -> None:
    assert [launch.client for launch in LAUNCHES] == ["Claude Desktop / Cursor", "Claude Code", "VS Code"]
    for launch in LAUNCHES:
        assert (launch.command, launch.args) == ("uvx", ["mcp-livechat", "serve"]), launch
        assert set(launch.env) == {"LIVECHAT_PAT", "LIVECHAT_ACCOUNT_ID"}, launch


@pytest.fixture(scope="module")
def livechat_url() -> Iterator[str]:
    with sandbox_process() as url:
        yield url


@pytest.mark.parametrize("launch", LAUNCHES, ids=[launch.client for launch in LAUNCHES])
async def test_the_command_each_snippet_names_serves_over_stdio(launch: Launch, livechat_url: str) -> None:
    """Each snippet as its client would spawn it, with the user's values where the placeholders
    are (`<your token>`, VS Code's `${input:...}` prompt) and the LiveChat URLs pointed at a
    sandbox on a real port. `uvx mcp-livechat` runs the published package; here the same console
    script comes from this checkout's virtualenv."""
    assert launch.command == "uvx" and launch.args[0] == "mcp-livechat"
    filled = {"LIVECHAT_PAT": constants.PAT, "LIVECHAT_ACCOUNT_ID": constants.ACCOUNT_ID}
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVECHAT_")}
    for key, value in launch.env.items():
        assert PLACEHOLDER.fullmatch(value) or re.fullmatch(r"\$\{input:[^}]+\}", value), (key, value)
        env[key] = filled[key]
    env.update(LIVECHAT_API_URL=livechat_url, LIVECHAT_ACCOUNTS_URL=f"{livechat_url}/accounts")
    params = StdioServerParameters(command=str(LOCAL_COMMAND), args=launch.args[1:], env=env)
    async with Client(params) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        me = await client.call_tool("get_my_profile", {})
    assert tools == {s.name for s in ALL_TOOLS if s.toolset in DEFAULT_TOOLSETS}
    assert not me.is_error and (me.structured_content or {})["agent_id"] == constants.AGENT_EMAIL


# ------------------------------------------------------------------------- troubleshooting


async def _tool_text(settings: Settings, sandbox: Sandbox, tool: str, args: dict[str, Any], **kw: Any) -> str:
    server, _ = create_server(settings, transport=sandbox.transport(), **kw)
    async with Client(server) as client:
        result = await client.call_tool(tool, args)
    assert result.is_error
    return str(result.content[0].text)  # type: ignore[union-attr]


async def _signed_in_as(minted: dict[str, Any], tmp: Path, sandbox: Sandbox, tool: str, args: dict[str, Any]) -> str:  # fmt: skip
    """A tool call by a person whose stored sign-in is `minted` (desktop OAuth mode)."""
    store = SqliteTokenStore(tmp / "tokens.db", Sealer([base64.b64decode(KEY_1)]))
    await store.put(LOCAL, stored_token(minted, expires_at=time.time() + 3600, lifetime=3600))
    settings = oauth_settings(SANDBOX_URL, tmp, redirect_uri=f"http://127.0.0.1:{free_port()}/callback")
    try:
        return await _tool_text(settings, sandbox, tool, args, store=store)
    finally:
        await store.close()


async def refused_pat(sandbox: Sandbox, tmp: Path) -> list[str]:
    settings = sandbox_settings().model_copy(update={"pat": SecretStr("Bearer " + constants.PAT)})
    report = await run_doctor(settings, transport=sandbox.transport())
    assert report.exit_code == 1
    return [as_text(report), await _tool_text(settings, sandbox, "list_chats", {})]


async def other_region(sandbox: Sandbox, tmp: Path) -> list[str]:
    settings = sandbox_settings().model_copy(
        update={"pat": SecretStr(constants.FRA_PAT), "account_id": constants.FRA_ACCOUNT_ID}
    )
    report = await run_doctor(settings, transport=sandbox.transport())
    assert report.exit_code == 0
    return [as_text(report)]


async def _sign_in_answers(tmp: Path, code_as_sent: Callable[[str], str], *, reuse: bool) -> str:
    """The desktop sign-in over real ports: LiveChat's consent page (the sandbox) redirects to our
    loopback receiver; then an answer whose code is `code_as_sent(the real code)` arrives for a new
    sign-in (`reuse`) or for this one. Returns that answer's page."""
    async with sandbox_on_port() as (_sb, base, _callback_port, login_port):
        settings = oauth_settings(base, tmp, redirect_uri=f"http://127.0.0.1:{login_port}/callback")
        async with Runtime(settings) as runtime:
            browser = Browser()
            link = await runtime.oauth_connections.connect_url(LOCAL)
            to_callback = (await browser.step(link)).headers["location"]
            query = parse_qs(urlsplit(to_callback).query)
            code, state = query["code"][0], query["state"][0]
            callback = to_callback.split("?", 1)[0]
            if reuse:
                assert "LiveChat is connected" in (await browser.open(to_callback)).text
                again = await runtime.oauth_connections.connect_url(LOCAL)
                state = parse_qs(urlsplit(again).query)["state"][0]
            page = await browser.open(f"{callback}?code={quote(code_as_sent(code), safe='')}&state={state}")
            await browser.aclose()
    assert page.status_code == 400
    return html.unescape(re.sub(r"<[^>]+>", " ", page.text))


async def reused_code(sandbox: Sandbox, tmp: Path) -> list[str]:
    return [await _sign_in_answers(tmp, lambda code: code, reuse=True)]


async def encoded_twice(sandbox: Sandbox, tmp: Path) -> list[str]:
    """A proxy that re-encodes the query: `dal%3A...` reaches us as `dal%253A...`."""
    return [await _sign_in_answers(tmp, lambda code: quote(code, safe=""), reuse=False)]


async def missing_scope(sandbox: Sandbox, tmp: Path) -> list[str]:
    minted = sandbox.mint_token(constants.AGENT_EMAIL, scopes=["groups--all:ro", "accounts--my:ro"])
    return [await _signed_in_as(minted, tmp, sandbox, "list_chats", {})]


async def token_cap(sandbox: Sandbox, tmp: Path) -> list[str]:
    minted = sandbox.mint_token(constants.AGENT_EMAIL)
    for _ in range(constants.TOKEN_CAP):  # 25 more sign-ins with the same app (other devices, servers)
        sandbox.mint_token(constants.AGENT_EMAIL)
    return [await _signed_in_as(minted, tmp, sandbox, "list_groups", {})]


async def changed_shape(sandbox: Sandbox, tmp: Path) -> list[str]:
    """LiveChat (or a proxy) answers list_chats with an array where its object belongs."""

    async def array(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        return httpx2.Response(200, json=[])

    reading = OtherReading(sandbox.transport(), {"/action/list_chats": array})
    server, _ = create_server(sandbox_settings(), transport=reading)
    async with Client(server) as client:
        result = await client.call_tool("list_chats", {})
    assert reading.applied == {"/action/list_chats": 1}
    return [str(result.content[0].text)]  # type: ignore[union-attr]


PRODUCERS: dict[str, Callable[[Sandbox, Path], Awaitable[list[str]]]] = {
    "LiveChat refuses the Personal Access Token": refused_pat,
    "Your account is in the other region": other_region,
    "The sign-in page says the code was already used or expired": reused_code,
    "`%3A` in the code": encoded_twice,
    "A tool says a scope is missing": missing_scope,
    "Signed out after 25 sign-ins elsewhere": token_cap,
    "A tool says LiveChat answered in a shape it does not read": changed_shape,
}


def test_every_troubleshooting_case_is_produced_here() -> None:
    cases = troubleshooting_cases()
    assert [c.label for c in cases] == list(PRODUCERS)
    assert all(c.messages for c in cases), [c.label for c in cases if not c.messages]


@pytest.mark.parametrize("case", troubleshooting_cases(), ids=lambda c: c.label)
async def test_the_quoted_message_is_what_the_server_says(
    case: Any, sandbox: Sandbox, tmp_path: Path
) -> None:
    outputs = await PRODUCERS[case.label](sandbox, tmp_path)
    for quoted in case.messages:
        assert any(pattern(quoted).search(out) for out in outputs), (
            f"README quotes:\n{quoted}\nthe server says:\n" + ("\n---\n".join(outputs))
        )


def test_the_tool_tables_kind_column_is_each_tools_annotations() -> None:
    """The README's `kind` (read / write, destructive, idempotent) is what each tool declares in
    its MCP annotations: a host decides from those whether to ask before calling."""
    from mcp_livechat.tools.catalogue import ALL_TOOLS

    declared = {}
    for spec in ALL_TOOLS:
        kind = "read" if spec.read_only else "write"
        kind += ", destructive" if spec.destructive else ""
        kind += ", idempotent" if spec.idempotent and not spec.read_only else ""
        declared[spec.name] = kind
    rows = re.findall(r"^\| ((?:`[a-z_]+`(?: / )?)+) \| [a-z]+ \| ([^|]+) \|", README.read_text(), re.M)
    seen = set()
    for names_cell, kind_cell in rows:
        names = re.findall(r"`([a-z_]+)`", names_cell)
        if not set(names) <= set(declared):
            continue
        kinds = (
            [k.strip() for k in kind_cell.split(" / ")]
            if " / " in kind_cell
            else [kind_cell.strip()] * len(names)
        )
        assert dict(zip(names, kinds, strict=True)) == {n: declared[n] for n in names}, names
        seen |= set(names)
    assert seen == set(declared)  # every tool has its row
