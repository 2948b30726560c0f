"""Real `mcp-livechat` processes: stdio, Streamable HTTP (both eras) and legacy SSE, the sandbox
command served to curl, the demo, and configuration errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client

from mcp_livechat.cli import free_port
from mcp_livechat.sandbox import constants
from tests.helpers import interrupt, wait_until_up

PY = sys.executable


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVECHAT_")}
    return {**env, **extra}


@contextmanager
def running(
    *args: str, ready_url: str | None = None, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [PY, "-m", "mcp_livechat", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or _env(),
    )
    try:
        if ready_url:
            stderr = proc.stderr
            wait_until_up(ready_url, proc, ready=lambda status: status < 500, within=20,
                          log=lambda: stderr.read() if stderr else "")  # fmt: skip
        yield proc
    finally:
        interrupt(proc)


async def _session(client: Client) -> dict[str, Any]:
    names = {t.name for t in (await client.list_tools()).tools}
    from mcp_livechat.tools.catalogue import ALL_TOOLS
    from mcp_livechat.tools.spec import DEFAULT_TOOLSETS

    assert names == {s.name for s in ALL_TOOLS if s.toolset in DEFAULT_TOOLSETS}
    chats = await client.call_tool("list_chats", {"limit": 2})
    assert not chats.is_error and len(chats.structured_content["chats"]) == 2  # type: ignore[index]
    me = await client.call_tool("get_my_profile", {})
    assert not me.is_error
    return dict(me.structured_content or {})


async def test_stdio_subprocess() -> None:
    params = StdioServerParameters(command=PY, args=["-m", "mcp_livechat", "serve", "--sandbox"], env=_env())
    async with Client(params) as client:
        assert client.server_info.name == "mcp-livechat"  # type: ignore[union-attr]
        me = await _session(client)
    assert me["agent_id"] == constants.AGENT_EMAIL


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_streamable_http_subprocess(mode: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(
        "serve", "--transport", "http", "--port", str(port), "--sandbox", ready_url=f"{base}/healthz"
    ):
        health = httpx2.get(f"{base}/healthz").json()
        assert health["status"] == "ok"
        async with Client(f"{base}/mcp", mode=mode) as client:  # type: ignore[arg-type]
            me = await _session(client)
        assert me["agent_id"] == constants.AGENT_EMAIL
        # DNS-rebinding protection: a foreign Host header is refused
        rebound = httpx2.post(f"{base}/mcp", headers={"Host": "evil.example"}, json={})
        assert rebound.status_code == 421


async def test_sse_subprocess() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(
        "serve", "--transport", "sse", "--port", str(port), "--sandbox", ready_url=f"{base}/healthz"
    ):
        async with Client(sse_client(f"{base}/sse")) as client:
            me = await _session(client)
    assert me["agent_id"] == constants.AGENT_EMAIL


def test_sandbox_command_serves_curl() -> None:
    proc = subprocess.Popen(
        [PY, "-m", "mcp_livechat", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert set(info) == {
            "api_url",
            "accounts_url",
            "client_id",
            "client_secret",
            "redirect_uri",
            "account_id",
            "pat",
        }
        assert info["pat"] == constants.PAT and info["account_id"] == constants.ACCOUNT_ID
        url = f"{info['api_url']}/v3.6/agent/action/list_chats"
        for _ in range(100):
            out = subprocess.run(
                ["curl", "-s", "-u", f"{info['account_id']}:{info['pat']}",
                 "-H", "Content-Type: application/json", "-d", '{"limit": 2}', url],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if out.stdout:
                break
            time.sleep(0.05)
        body = json.loads(out.stdout)
        assert len(body["chats_summary"]) == 2 and body["next_page_id"]
        denied = subprocess.run(["curl", "-s", "-d", "{}", url], capture_output=True, text=True, check=False)
        assert json.loads(denied.stdout)["error"]["type"] == "authentication"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("selection", [{}, {"LIVECHAT_READ_ONLY": "true", "LIVECHAT_TOOLSETS": "customers"}])
def test_demo_prints_a_real_session(selection: dict[str, str]) -> None:
    """Whatever tool selection the environment sets for `serve`, the scripted session runs."""
    out = subprocess.run(
        [PY, "-m", "mcp_livechat", "demo"], capture_output=True, text=True, timeout=60, env=_env() | selection
    )
    assert out.returncode == 0, out.stderr
    for step in ("list_chats", "get_chat", "get_customer", "update_agent_profile", "get_my_profile"):
        assert f"> {step}(" in out.stdout
    assert "Support Hero (demo)" in out.stdout and '"lines"' in out.stdout


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LIVECHAT_PAT": "x"}, "LIVECHAT_ACCOUNT_ID"),
        ({"LIVECHAT_API_URL": "ftp://nope"}, "LIVECHAT_API_URL"),
        ({"LIVECHAT_TOOLS": "list_chatz"}, "LIVECHAT_TOOLS"),
        # a URL where a Host header value goes would match no request: every one refused (421)
        ({"LIVECHAT_ALLOWED_HOSTS": "https://mcp.example.com/"}, "LIVECHAT_ALLOWED_HOSTS"),
        ({"LIVECHAT_ALLOWED_ORIGINS": "app.example.com"}, "LIVECHAT_ALLOWED_ORIGINS"),
    ],
)
def test_bad_configuration_stops_with_one_clear_line(env: dict[str, str], expected: str) -> None:
    out = subprocess.run(
        [PY, "-m", "mcp_livechat", "serve"], capture_output=True, text=True, timeout=30, env=_env(**env)
    )
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0]


def test_http_without_caller_auth_refuses_a_public_bind() -> None:
    out = subprocess.run(
        [PY, "-m", "mcp_livechat", "serve", "--transport", "http", "--host", "0.0.0.0", "--sandbox"],  # noqa: S104
        capture_output=True, text=True, timeout=30, env=_env(),
    )  # fmt: skip
    assert out.returncode == 2 and "LIVECHAT_MCP_AUTH" in out.stderr


async def test_a_client_may_ask_for_debug_logs_below_the_servers_level(tmp_path: Any) -> None:
    """`logging/setLevel debug` reaches below LIVECHAT_LOG_LEVEL (WARNING by default) for that
    client's own requests, while stderr keeps the operator's level."""
    import warnings

    from mcp.client.stdio import stdio_client

    got: list[Any] = []

    async def on_log(params: Any) -> None:
        got.append(params)

    params = StdioServerParameters(command=PY, args=["-m", "mcp_livechat", "serve", "--sandbox"], env=_env())
    with (tmp_path / "stderr.txt").open("w+") as errlog:
        async with Client(
            stdio_client(params, errlog=errlog), mode="legacy", logging_callback=on_log
        ) as client:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                await client.set_logging_level("debug")
            await client.call_tool("get_chat", {"chat_id": "NOSUCHCHAT"})
        errlog.seek(0)
        stderr = errlog.read()
    levels = {g.level for g in got}
    assert "debug" in levels and "info" in levels, got
    assert all(g.logger.startswith(("mcp_livechat.tools", "mcp_livechat.livechat")) for g in got), got
    assert " DEBUG " not in stderr and " INFO " not in stderr, stderr


def test_allowed_origins_take_any_scheme_but_no_path() -> None:
    from mcp_livechat.config import load_settings
    from mcp_livechat.errors import ConfigurationError

    ok = load_settings(
        allowed_origins="https://app.example.com/,chrome-extension://abcdefgh,vscode-webview://x"
    )
    assert ok.allowed_origins == [
        "https://app.example.com",
        "chrome-extension://abcdefgh",
        "vscode-webview://x",
    ]
    for bad in ("app.example.com", "https://app.example.com/path", "1http://x", "https://"):
        with pytest.raises(ConfigurationError, match="LIVECHAT_ALLOWED_ORIGINS"):
            load_settings(allowed_origins=bad)
