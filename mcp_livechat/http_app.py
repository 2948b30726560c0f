"""The HTTP face of the server: Streamable HTTP at `/mcp` or legacy SSE at `/sse` + `/messages/`,
plus `/healthz`, `/metrics` (Prometheus text; `LIVECHAT_METRICS=false` turns it off), and, with an
OAuth app, `/connect/{state}` and `/integration-callback`.

DNS-rebinding protection is always on: loopback binds allow only loopback Host/Origin headers;
any other bind must name its public hosts (`LIVECHAT_ALLOWED_HOSTS` or `LIVECHAT_PUBLIC_URL`).
Stateful sessions are bounded: idle ones close after `LIVECHAT_HTTP_SESSION_IDLE` seconds, at
most `LIVECHAT_HTTP_MAX_SESSIONS` are open, and `LIVECHAT_MAX_SESSIONS_PER_CALLER` per caller
(`http_sessions`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal
from urllib.parse import urlsplit

from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_livechat.config import Settings
from mcp_livechat.connect.routes import SECURITY_HEADERS, connect_routes
from mcp_livechat.errors import ConfigurationError
from mcp_livechat.http_sessions import SessionCap, SseCap
from mcp_livechat.server import LiveChatServer
from mcp_livechat.version import __version__

HttpTransport = Literal["http", "sse"]
logger = logging.getLogger("mcp_livechat")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def transport_security(settings: Settings, host: str) -> TransportSecuritySettings:
    """Allowed Host and Origin headers for this bind address and configuration."""
    hosts = list(settings.allowed_hosts)
    origins = list(settings.allowed_origins)
    if settings.public_url:
        public = urlsplit(settings.public_url)
        hosts.append(public.netloc)
        origins.append(f"{public.scheme}://{public.netloc}")
    if is_loopback(host):
        hosts += ["127.0.0.1:*", "localhost:*", "[::1]:*"]
        origins += ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    elif not hosts:
        raise ConfigurationError(
            f"LIVECHAT_ALLOWED_HOSTS: serving on {host} needs the host names clients use "
            "(e.g. mcp.example.com), or LIVECHAT_PUBLIC_URL; this protects against DNS rebinding"
        )
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def check_bind(settings: Settings, host: str) -> None:
    """Without caller authentication, only this machine may call: refuse anything else."""
    if settings.mcp_auth == "none" and not is_loopback(host):
        raise ConfigurationError(
            f"LIVECHAT_MCP_AUTH: 'none' serves one local user and may only listen on loopback, not {host}; "
            "use jwt or api-key to serve other machines"
        )


def create_app(
    built: LiveChatServer, settings: Settings, *, transport: HttpTransport, host: str
) -> Starlette:
    """The ASGI app: our routes beside the SDK's MCP app, and one lifespan that owns both.

    Build it once per server (the SDK replaces its session manager each time it builds an app).
    """
    check_bind(settings, host)
    security = transport_security(settings, host)
    server, runtime = built

    async def healthz(request: Request) -> JSONResponse:
        report = await runtime.healthy()
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    async def livez(request: Request) -> JSONResponse:
        """Alive: the process serves HTTP. No I/O, so an orchestrator's liveness probe never
        restarts a replica for an outage of the store, which /healthz reports (503)."""
        return JSONResponse({"status": "alive", "version": __version__})

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/livez", livez, methods=["GET"]),
    ]
    metrics = runtime.enable_metrics()
    if metrics is not None:

        async def scrape(request: Request) -> Response:
            body, content_type = metrics.render()
            return Response(body, media_type=content_type)

        routes.append(Route("/metrics", scrape, methods=["GET"]))
    if settings.credential_mode == "oauth":
        secure = (runtime.public_url or "").startswith("https://")
        routes += connect_routes(
            lambda: runtime.oauth_connections, secure=secure, redirect_uri=runtime.redirect_uri
        )

    if transport == "sse":
        mcp_app: ASGIApp = SseCap(
            server.sse_app(host=host, transport_security=security),
            total=settings.http_max_sessions,
            per_caller=settings.max_sessions_per_caller,
            caller_of=runtime.caller_of,
        )
        run_sessions: Any = None
    else:
        # Stateful by default: a 2025-11-25 client declares its capabilities (URL elicitation) once,
        # at initialize. Stateless lets any replica serve any request without session affinity;
        # such clients then get the connect link as text. 2026-07-28 clients work either way.
        mcp_app = server.streamable_http_app(
            host=host,
            transport_security=security,
            stateless_http=settings.http_stateless,
            session_idle_timeout=settings.http_session_idle,
            max_sessions=settings.http_max_sessions,
        )
        run_sessions = server.session_manager.run
        if not settings.http_stateless:
            mcp_app = SessionCap(
                mcp_app,
                limit=settings.max_sessions_per_caller,
                idle_timeout=settings.http_session_idle,
                caller_of=runtime.caller_of,
            )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with runtime:  # the store and the pool outlive every session
            janitor = (
                asyncio.create_task(_revoke_abandoned_forever(runtime))
                if settings.credential_mode == "oauth"
                else None
            )
            try:
                if run_sessions is None:
                    yield
                else:
                    async with run_sessions():
                        yield
            finally:
                if janitor is not None:
                    janitor.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await janitor

    return Starlette(
        routes=[*routes, Mount("/", app=mcp_app)],
        lifespan=lifespan,
        middleware=[Middleware(SecurityHeaders)],
    )


ABANDONED_SWEEP_EVERY = 60.0


async def _revoke_abandoned_forever(runtime: Any) -> None:
    """Revoke, now and then, the LiveChat grants people obtained but never confirmed before their
    link expired (each callback sweeps too; this covers a quiet server)."""
    while True:
        await asyncio.sleep(ABANDONED_SWEEP_EVERY)
        try:
            await runtime.oauth_connections.revoke_abandoned()
        except Exception as exc:  # the store or LiveChat away: try again next round
            logger.warning("could not revoke expired unconfirmed sign-ins: %s", type(exc).__name__)


class SecurityHeaders:
    """Adds `connect.routes.SECURITY_HEADERS` to every HTTP response that does not set them itself
    (`/healthz`, the resource metadata, `/mcp`, errors), so no page we serve can be framed or leak
    its URL in a Referer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self._headers if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)
