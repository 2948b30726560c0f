"""The browser side of connecting LiveChat.

HTTP servers: `GET /connect/{state}` binds this browser to the pending sign-in (an HttpOnly,
SameSite=Lax cookie holding the state) and redirects to LiveChat's consent page;
`GET /integration-callback` accepts the result only in the browser that started it, for a state
that exists, is unexpired and unused; it exchanges the code (PKCE verifier included), stores the
token for the person who asked, and answers with a plain page. Every failure stores nothing.

Desktop (`login`, stdio): a one-shot loopback receiver on the redirect URI's port does the same
without the cookie (one local person).
"""

from __future__ import annotations

import asyncio
import hmac
import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from mcp_livechat.connect.connections import PENDING_TTL, OAuthConnections
from mcp_livechat.connect.oauth import OAuthFailure
from mcp_livechat.errors import LiveChatError

logger = logging.getLogger("mcp_livechat.connect")

COOKIE = "mcp_livechat_connect"
CALLBACK_PATH = "/integration-callback"


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    """A plain, escaped result page (no scripts, no external resources, not cached)."""
    t, b = html.escape(title), html.escape(body)
    text = (
        f"<!doctype html><html><head><meta charset=utf-8><title>{t}</title></head>"
        "<body style='font-family:sans-serif;max-width:40em;margin:4em auto'>"
        f"<h1>{t}</h1><p>{b}</p></body></html>"
    )
    headers = {
        "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    }
    return HTMLResponse(text, status_code=status, headers=headers)


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
        response.headers["Cache-Control"] = "no-store"
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
    """A one-shot HTTP listener on the loopback redirect URI (desktop `login`, stdio servers)."""

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
        self._server: asyncio.Server | None = None
        self.done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._handle, self.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def wait(self) -> Outcome:
        """The first answer LiveChat sent back (wrap in `asyncio.timeout` to bound it)."""
        return await asyncio.shield(self.done)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            parts = urlsplit(target)
            if method != "GET" or parts.path != self.path:
                await _reply(writer, page("Not found", "Nothing here.", 404))
                return
            params = {k: v[0] for k, v in parse_qs(parts.query).items()}
            outcome = await finish(self.connections, params)
            await _reply(writer, outcome.response())
            if not self.done.done():
                self.done.set_result(outcome)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            await _reply(writer, page("Bad request", "Could not read the request.", 400))
        finally:
            writer.close()


async def _reply(writer: asyncio.StreamWriter, response: Response) -> None:
    reason = {200: "OK", 302: "Found", 400: "Bad Request", 404: "Not Found"}.get(response.status_code, "OK")
    lines = [f"HTTP/1.1 {response.status_code} {reason}"]
    lines += [f"{k}: {v}" for k, v in response.headers.items() if k.lower() != "content-length"]
    body = bytes(response.body)
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    writer.write("\r\n".join(lines).encode("latin-1") + body)
    await writer.drain()
