"""Helpers for end-to-end connection tests over real loopback ports: serve an ASGI app in-process,
a browser (an HTTP client that follows redirects and keeps cookies), OAuth settings for a sandbox."""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import uvicorn

from mcp_livechat.cli import free_port
from mcp_livechat.config import Settings, load_settings
from mcp_livechat.sandbox import Sandbox, constants

KEY_1 = base64.b64encode(b"k" * 32).decode()
KEY_2 = base64.b64encode(b"K" * 32).decode()


@asynccontextmanager
async def served(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 (a free port unless given); yields the base URL."""
    port = port or free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(400):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@asynccontextmanager
async def sandbox_on_port(sandbox_kwargs: dict[str, Any] | None = None, *, callback_port: int | None = None,
                          login_port: int | None = None) -> AsyncIterator[tuple[Sandbox, str, int, int]]:  # fmt: skip
    """A sandbox on a real port whose app whitelists our callback (HTTP) and a loopback (login) URI."""
    callback_port = callback_port or free_port()
    login_port = login_port or free_port()
    uris = (
        f"http://127.0.0.1:{callback_port}/integration-callback",
        f"http://127.0.0.1:{login_port}/callback",
    )
    sb = Sandbox(redirect_uris=uris, redirect_limit=None, **(sandbox_kwargs or {}))
    async with served(sb.app) as base:
        yield sb, base, callback_port, login_port


def oauth_settings(base: str, tmp: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "client_id": constants.CLIENT_ID,
        "client_secret": constants.CLIENT_SECRET,
        "api_url": base,
        "accounts_url": f"{base}/accounts",
        "token_store": f"sqlite:///{tmp / 'tokens.db'}",
        "encryption_key": KEY_1,
        **overrides,
    }
    return load_settings(**values)


def oauth_env(base: str, tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVECHAT_")}
    env.update(
        LIVECHAT_CLIENT_ID=constants.CLIENT_ID,
        LIVECHAT_CLIENT_SECRET=constants.CLIENT_SECRET,
        LIVECHAT_API_URL=base,
        LIVECHAT_ACCOUNTS_URL=f"{base}/accounts",
        LIVECHAT_TOKEN_STORE=f"sqlite:///{tmp / 'tokens.db'}",
        LIVECHAT_ENCRYPTION_KEY=KEY_1,
    )
    env.update(extra)
    return env


class Browser:
    """Follows redirects and keeps cookies, like a person's browser."""

    def __init__(self) -> None:
        self.http = httpx2.AsyncClient(follow_redirects=True, timeout=10.0)

    async def open(self, url: str) -> httpx2.Response:
        return await self.http.get(url)

    async def step(self, url: str) -> httpx2.Response:
        """One request, no redirect followed (to look at or tamper with a Location)."""
        return await self.http.get(url, follow_redirects=False)

    async def aclose(self) -> None:
        await self.http.aclose()
