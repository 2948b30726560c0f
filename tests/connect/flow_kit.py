"""Helpers for end-to-end connection tests over real loopback ports: serve an ASGI app in-process,
a browser (an HTTP client that follows redirects and keeps cookies), OAuth settings for a sandbox."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import uvicorn

from mcp_livechat.cli import free_port
from mcp_livechat.config import Settings, load_settings
from mcp_livechat.connect.store import StoredToken
from mcp_livechat.sandbox import Sandbox, constants
from tests.conftest import harvest

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
    try:
        async with served(sb.app) as base:
            yield sb, base, callback_port, login_port
    finally:
        harvest(sb)  # its tokens and codes join the suite-wide log audit


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


class _QuietTransport(httpx2.AsyncBaseTransport):
    """Plain HTTP/1.1 over asyncio streams, logging nothing: the simulated browser is not part of the
    system under test, and httpcore's DEBUG traces of its redirects (which carry authorization codes)
    would otherwise pollute the suite-wide secret audit."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        reader, writer = await asyncio.open_connection(url.host, url.port or 80)
        try:
            target = url.raw_path.decode("ascii")
            head = [
                f"{request.method} {target} HTTP/1.1",
                f"Host: {url.netloc.decode('ascii')}",
                "Connection: close",
            ]
            head += [
                f"{k}: {v}" for k, v in request.headers.items() if k.lower() not in ("host", "connection")
            ]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + await request.aread())
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
        header_blob, _, body = raw.partition(b"\r\n\r\n")
        status_line, *lines = header_blob.decode("latin-1").split("\r\n")
        headers = [tuple(line.split(": ", 1)) for line in lines if ": " in line]
        if any(k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in headers):
            body = _unchunk(body)
            headers = [(k, v) for k, v in headers if k.lower() != "transfer-encoding"]
        return httpx2.Response(int(status_line.split(" ")[1]), headers=headers, content=body)


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


class _BrowserRequests(logging.Filter):
    """Drops httpx2's INFO line for the simulated browser's own requests, which only ever go to
    browser-facing pages (never called by the server's clients, so nothing audited is hidden)."""

    PAGES = re.compile(
        r"https?://[^/\s]+(/connect/|/integration-callback|/callback\?|/accounts/\?|/accounts/ooops)"
    )

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.PAGES.search(record.getMessage())


_BROWSER_FILTER = _BrowserRequests()
logging.getLogger("httpx2").addFilter(_BROWSER_FILTER)


class Browser:
    """Follows redirects and keeps cookies, like a person's browser."""

    def __init__(self) -> None:
        self.http = httpx2.AsyncClient(follow_redirects=True, timeout=10.0, transport=_QuietTransport())

    async def open(self, url: str) -> httpx2.Response:
        return await self.http.get(url)

    async def step(self, url: str) -> httpx2.Response:
        """One request, no redirect followed (to look at or tamper with a Location)."""
        return await self.http.get(url, follow_redirects=False)

    async def aclose(self) -> None:
        await self.http.aclose()


def stored_token(minted: dict[str, Any], *, expires_at: float, lifetime: float = 28800) -> StoredToken:
    """A sandbox-minted token as the store holds it, expiring at `expires_at` by our clock."""
    return StoredToken(
        access_token=str(minted["access_token"]),
        refresh_token=str(minted["refresh_token"]),
        expires_at=expires_at,
        scope=str(minted["scope"]),
        account_id=str(minted["account_id"]),
        organization_id=str(minted["organization_id"]),
        client_id=constants.CLIENT_ID,
        obtained_at=expires_at - lifetime,
    )


@asynccontextmanager
async def serving(settings: Settings, transport: Any = None) -> AsyncIterator[tuple[str, Any]]:
    """Our HTTP app for `settings` on a free port (LiveChat through `transport` if given); yields
    (base URL, runtime)."""
    from mcp_livechat.http_app import create_app
    from mcp_livechat.server import create_server

    port = free_port()
    built = create_server(settings, transport=transport, public_url=f"http://127.0.0.1:{port}")
    app = create_app(built, settings, transport="http", host="127.0.0.1")
    async with served(app, port) as base:
        yield base, built.runtime
