"""The browser side of connecting LiveChat.

HTTP servers: `GET /connect/{state}` binds this browser to the pending sign-in (an HttpOnly,
SameSite=Lax cookie holding the state) and redirects to LiveChat's consent page;
`GET /integration-callback` accepts the result only in the browser that started it, for a state
that exists, is unexpired and unused; it exchanges the code (PKCE verifier included), stores the
token for the person who asked, and answers with a plain page. Every failure stores nothing.

Desktop (`login`, stdio): a one-shot loopback receiver on the redirect URI's port does the same
without the cookie (one local person), for an answer that carries a pending state only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from mcp_livechat.connect.connections import PENDING_TTL, OAuthConnections
from mcp_livechat.connect.oauth import OAuthFailure
from mcp_livechat.errors import LiveChatError

logger = logging.getLogger("mcp_livechat.connect")

COOKIE = "mcp_livechat_connect"
CALLBACK_PATH = "/integration-callback"


# Every page and redirect we serve: never framed (clickjacking of the confirmation button), never
# leaking its URL (it carries a state) in a Referer, never cached, never sniffed into another type.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def page(title: str, body: str, status: int = 200, *, extra_html: str = "") -> HTMLResponse:
    """A plain, escaped result page (no scripts, no external resources, not cached, not framed).
    `extra_html` is markup the caller built from escaped parts (a form)."""
    t, b = html.escape(title), html.escape(body)
    text = (
        f"<!doctype html><html><head><meta charset=utf-8><title>{t}</title></head>"
        "<body style='font-family:sans-serif;max-width:40em;margin:4em auto'>"
        f"<h1>{t}</h1><p>{b}</p>{extra_html}</body></html>"
    )
    return HTMLResponse(text, status_code=status, headers=SECURITY_HEADERS)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    title: str
    body: str

    def response(self) -> HTMLResponse:
        return page(self.title, self.body, 200 if self.ok else 400)


async def finish(connections: OAuthConnections, params: dict[str, str]) -> Outcome:
    """The common end of both receivers, after the browser binding was checked."""
    state = params.get("state", "")
    if params.get("error"):
        await connections.abandon(state)
        reason = params.get("error", "")
        return Outcome(
            False, "LiveChat was not connected", f"LiveChat answered {reason!r}. Nothing was stored."
        )
    code = params.get("code", "")
    if not code:
        return Outcome(False, "LiveChat was not connected", "The answer from LiveChat carried no code.")
    try:
        _, token = await connections.complete(state, code)
    except OAuthFailure as exc:
        logger.info("connect callback refused: %s", exc.reason)
        hint = " Start again from your assistant (connect_livechat) to get a new link."
        if exc.reason == "unauthorized_client":
            hint = " The sign-in code was already used or expired." + hint
        return Outcome(False, "LiveChat was not connected", f"{exc}{hint} Nothing was stored.")
    except LiveChatError as exc:
        return Outcome(False, "LiveChat was not connected", f"{exc} Nothing was stored.")
    who = f" (account {token.account_id})" if token.account_id else ""
    return Outcome(
        True, "LiveChat is connected", f"LiveChat is connected{who}. You can close this tab and go back."
    )


def connect_routes(connections: Callable[[], OAuthConnections], *, secure: bool) -> list[Route]:
    """`/connect/{state}` and `/integration-callback` for an HTTP server."""

    async def start(request: Request) -> Response:
        state = request.path_params["state"]
        service = connections()
        pending = await service.store.peek_pending(state) if len(state) <= 200 else None
        if pending is None:
            return page(
                "This link does not work",
                "It expired (links last 10 minutes), was already used, or was never issued. "
                "Ask your assistant to connect LiveChat again for a fresh link.",
                404,
            )
        response = RedirectResponse(service.consent_url(pending), status_code=302)
        response.set_cookie(
            COOKIE,
            state,
            max_age=int(PENDING_TTL),
            path=CALLBACK_PATH,
            httponly=True,
            samesite="lax",
            secure=secure,
        )
        response.headers.update(SECURITY_HEADERS)
        return response

    async def callback(request: Request) -> Response:
        params = {k: v for k, v in request.query_params.items()}  # decoded exactly once, here
        state = params.get("state", "")
        bound = request.cookies.get(COOKIE, "")
        if not state or not bound or not hmac.compare_digest(bound.encode(), state.encode()):
            outcome = Outcome(
                False,
                "LiveChat was not connected",
                "This answer does not belong to a sign-in started in this browser "
                "(the link was opened elsewhere, or the answer was forged). Nothing was stored.",
            )
            return outcome.response()  # the binding stays: the genuine answer may still come
        response = (await finish(connections(), params)).response()
        response.delete_cookie(COOKIE, path=CALLBACK_PATH)  # this sign-in is spent, either way
        return response

    return [
        Route("/connect/{state}", start, methods=["GET"]),
        Route(CALLBACK_PATH, callback, methods=["GET"]),
    ]


class LoopbackReceiver:
    """A one-shot listener on the loopback redirect URI (desktop `login`, stdio servers): a
    one-route Starlette app under uvicorn, the stack the HTTP server ships with.

    Only an answer that carries the state of a pending sign-in ends it; anything else (a stray
    request, a forged or stale state) gets a plain 404 and the sign-in keeps waiting.
    """

    def __init__(self, redirect_uri: str, connections: OAuthConnections) -> None:
        parts = urlsplit(redirect_uri)
        if (
            parts.scheme != "http"
            or parts.hostname not in ("127.0.0.1", "localhost", "::1")
            or not parts.port
        ):
            raise LiveChatError(
                "LIVECHAT_REDIRECT_URI must be a loopback URL with a port for desktop sign-in, "
                "e.g. http://127.0.0.1:8765/callback"
            )
        self.host, self.port, self.path = parts.hostname, parts.port, parts.path or "/"
        self.connections = connections
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()

    @property
    def listening(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def finished(self) -> bool:
        return self.done.done()

    async def start(self) -> None:
        """Listen (idempotent); `OSError` if the port is taken."""
        if self.listening:
            return
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(8)
        except OSError:
            sock.close()
            raise
        app = Starlette(routes=[Route(self.path, self._answer, methods=["GET"])])
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="off", log_level="warning", http="h11"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        await asyncio.sleep(0)  # the socket already listens: connections queue until serve() accepts

    async def close(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await self._task
        self._server = self._task = None

    async def wait(self) -> Outcome:
        """The first real answer LiveChat sent back (wrap in `asyncio.timeout` to bound it)."""
        return await asyncio.shield(self.done)

    async def _answer(self, request: Request) -> Response:
        params = {k: v for k, v in request.query_params.items()}  # decoded exactly once, here
        state = params.get("state", "")
        pending = await self.connections.store.peek_pending(state) if 0 < len(state) <= 200 else None
        if pending is None:
            return page(
                "Not a sign-in answer",
                "This does not answer the sign-in in progress; it was ignored.",
                404,
            )
        outcome = await finish(self.connections, params)
        if not self.done.done():
            self.done.set_result(outcome)
        return outcome.response()
