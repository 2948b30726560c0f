"""The browser side of connecting LiveChat.

HTTP servers: `GET /connect/{state}` binds this browser to the pending sign-in (an HttpOnly,
SameSite=Lax cookie holding the state, sent back only to the callback path) and redirects to
LiveChat's consent page; `GET /integration-callback` accepts the result only in the browser that
started it, for a state that exists, is unexpired and unused. It exchanges the code (PKCE verifier
included) and learns whose LiveChat account it is, but stores no grant: it holds the result
sealed in the pending row and shows "Connect LiveChat account <e-mail> (<account>) to <user> at
<tenant> on <server>?" with a POST form (a one-time token bound to the row, hence to the state and
the cookie) and a cancel button. Only that form, posted from the same browser (cookie, same
origin) before the link expires, stores the grant; cancel, a mismatch or expiry revokes the fresh
LiveChat token. A link handed to someone else therefore shows them whose identity they would
connect, and connects nothing unless they confirm.

Desktop (`login`, stdio): a one-shot loopback receiver on the redirect URI's port completes the
sign-in directly, without the cookie or the confirmation (one local person), for an answer that
carries a pending state only.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hmac
import html
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from mcp_livechat.connect.connections import PENDING_TTL, OAuthConnections
from mcp_livechat.connect.oauth import OAuthFailure
from mcp_livechat.connect.store import PendingAuthorization
from mcp_livechat.errors import LiveChatError

logger = logging.getLogger("mcp_livechat.connect")

COOKIE = "mcp_livechat_connect"
CALLBACK_PATH = "/integration-callback"
MAX_FORM_BYTES = 4096
NOT_CONNECTED = "LiveChat was not connected"


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


# The confirmation page's form posts back to us. Under no-referrer a browser sends that POST with
# `Origin: null` (https://fetch.spec.whatwg.org/#append-a-request-origin-header), which no check can
# tell from a forgery; same-origin sends our origin on it and still no Referer to anyone else.
FORM_PAGE_HEADERS = {**SECURITY_HEADERS, "Referrer-Policy": "same-origin"}


def page(
    title: str, body: str, status: int = 200, *, extra_html: str = "", form: bool = False
) -> HTMLResponse:
    """A plain, escaped result page (no scripts, no external resources, not cached, not framed).
    `extra_html` is markup the caller built from escaped parts (a `form` posting back to us)."""
    t, b = html.escape(title), html.escape(body)
    text = (
        f"<!doctype html><html><head><meta charset=utf-8><title>{t}</title></head>"
        "<body style='font-family:sans-serif;max-width:40em;margin:4em auto'>"
        f"<h1>{t}</h1><p>{b}</p>{extra_html}</body></html>"
    )
    return HTMLResponse(text, status_code=status, headers=FORM_PAGE_HEADERS if form else SECURITY_HEADERS)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    title: str
    body: str

    def response(self) -> HTMLResponse:
        return page(self.title, self.body, 200 if self.ok else 400)


async def finish(connections: OAuthConnections, params: dict[str, str]) -> Outcome:
    """The end of the desktop sign-in (one local person): store the grant directly."""
    state = params.get("state", "")
    if params.get("error"):
        await connections.abandon(state)
        return _denied(params)
    code = params.get("code", "")
    if not code:
        return Outcome(False, NOT_CONNECTED, "The answer from LiveChat carried no code.")
    try:
        _, token = await connections.complete(state, code)
    except LiveChatError as exc:
        return _refused(exc)
    return _connected(token.account_id, None)


def _denied(params: dict[str, str]) -> Outcome:
    reason = params.get("error", "")[:100]
    return Outcome(False, NOT_CONNECTED, f"LiveChat answered {reason!r}. Nothing was stored.")


def _refused(exc: LiveChatError) -> Outcome:
    hint = " Start again from your assistant (connect_livechat) to get a new link."
    if isinstance(exc, OAuthFailure):
        logger.info("connect callback refused: %s", exc.reason)
        if exc.reason == "unauthorized_client":
            hint = " The sign-in code was already used or expired." + hint
        elif exc.reason == "wrong_account":
            hint = ""
    text = str(exc)
    return Outcome(
        False, NOT_CONNECTED, text + hint + ("" if "Nothing was stored" in text else " Nothing was stored.")
    )


def _connected(account_id: str | None, email: str | None) -> Outcome:
    who = f" as {email}" if email else ""
    where = f" (account {account_id})" if account_id else ""
    return Outcome(
        True,
        "LiveChat is connected",
        f"LiveChat is connected{who}{where}. You can close this tab and go back.",
    )


def confirmation_page(pending: PendingAuthorization, server: str) -> HTMLResponse:
    """ "Connect LiveChat account <e-mail> (<account>) to <user> at <tenant> on <server>?": both
    sides named, a POST form to confirm and one to cancel (the form token is the held row's)."""
    held = pending.held
    assert held is not None
    agent = held.agent_email or "(e-mail unknown)"
    account = f" ({held.account_id})" if held.account_id else ""
    who = pending.principal
    question = f"Connect LiveChat account {agent}{account} to {who.user} at {who.tenant} on {server}?"
    warning = (
        f"Confirm only if you asked your assistant for this link yourself and you are {who.user}. If "
        "someone sent you this link, cancel: confirming would let them act in LiveChat as you."
    )
    fields = (
        f"<input type=hidden name=state value='{html.escape(pending.state, quote=True)}'>"
        f"<input type=hidden name=csrf value='{html.escape(held.csrf, quote=True)}'>"
    )
    form = (
        f"<p>{html.escape(warning)}</p><form method=post>{fields}"
        "<button type=submit name=action value=confirm>Connect</button> "
        "<button type=submit name=action value=cancel>Cancel</button></form>"
    )
    return page("Connect LiveChat?", question, extra_html=form, form=True)


def connect_routes(
    connections: Callable[[], OAuthConnections], *, secure: bool, redirect_uri: str | None = None
) -> list[Route]:
    """`/connect/{state}` and `/integration-callback` (GET: the answer; POST: the confirmation).

    The sign-in cookie's Path is the redirect URI's path as the browser sees it: behind a gateway
    that serves us under a prefix (`https://gw.example/livechat/integration-callback`, the prefix
    stripped before it reaches us) a cookie for `/integration-callback` would never be sent back.
    The callback is routed at `/integration-callback` and, when it differs, at that path too."""
    seen_path = (urlsplit(redirect_uri).path if redirect_uri else "") or CALLBACK_PATH

    def _spent(response: HTMLResponse) -> HTMLResponse:
        response.delete_cookie(COOKIE, path=seen_path)  # this sign-in is over, either way
        return response

    async def start(request: Request) -> Response:
        state = request.path_params["state"]
        service = connections()
        try:
            pending = await service.store.peek_pending(state) if len(state) <= 200 else None
        except LiveChatError as exc:  # the store away, or a row that does not open
            logger.warning("connect link not opened: %s", type(exc).__name__)
            return page(
                "LiveChat cannot be connected right now",
                "The server could not read this link just now. Try the link again in a minute.",
                503,
            )
        if pending is None or pending.held is not None:
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
            path=seen_path,
            httponly=True,
            samesite="lax",
            secure=secure,
        )
        response.headers.update(SECURITY_HEADERS)
        return response

    def bound(request: Request, state: str) -> bool:
        cookie = request.cookies.get(COOKIE, "")
        return bool(state and cookie and hmac.compare_digest(cookie.encode(), state.encode()))

    foreign = Outcome(
        False,
        NOT_CONNECTED,
        "This answer does not belong to a sign-in started in this browser "
        "(the link was opened elsewhere, or the answer was forged). Nothing was stored.",
    )

    async def callback(request: Request) -> Response:
        params = {k: v for k, v in request.query_params.items()}  # decoded exactly once, here
        state = params.get("state", "")
        if not bound(request, state):
            return foreign.response()  # the binding stays: the genuine answer may still come
        service = connections()
        await _sweep(service)
        if params.get("error"):
            await service.abandon(state)
            return _spent(_denied(params).response())
        if not params.get("code"):
            return Outcome(False, NOT_CONNECTED, "The answer from LiveChat carried no code.").response()
        try:
            pending = await service.hold(state, params["code"])
        except OAuthFailure as exc:
            if exc.reason == "invalid_state":
                # e.g. a second copy of this answer while the first is being held: the page the
                # first one shows keeps its cookie, so it can still be confirmed
                return _refused(exc).response()
            return _spent(_refused(exc).response())
        except LiveChatError as exc:
            return _spent(_refused(exc).response())
        return confirmation_page(pending, _server_name(service, request))

    async def confirm(request: Request) -> Response:
        form = await _form(request)
        state = form.get("state", "")
        service = connections()
        if form is _TOO_BIG or not bound(request, state) or not _same_origin(request, service):
            return foreign.response()
        await _sweep(service)
        try:
            if form.get("action") == "cancel":
                await service.cancel(state, form.get("csrf", ""))
                return _spent(
                    Outcome(False, NOT_CONNECTED, "Cancelled: nothing was stored, and the LiveChat "
                            "sign-in was revoked.").response()
                )  # fmt: skip
            done = await service.confirm(state, form.get("csrf", ""))
        except OAuthFailure as exc:
            if exc.reason == "invalid_confirmation":
                return foreign.response()  # the genuine page can still be confirmed
            return _spent(_refused(exc).response())
        except LiveChatError as exc:
            return _spent(_refused(exc).response())
        assert done.held is not None
        return _spent(_connected(done.held.account_id, done.held.agent_email).response())

    paths = dict.fromkeys((CALLBACK_PATH, seen_path))
    return [
        Route("/connect/{state}", start, methods=["GET"]),
        *(Route(path, callback, methods=["GET"]) for path in paths),
        *(Route(path, confirm, methods=["POST"]) for path in paths),
    ]


_TOO_BIG: dict[str, str] = {}


async def _form(request: Request) -> dict[str, str]:
    """A small urlencoded form, read without a multipart parser (`_TOO_BIG` past the limit)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return _TOO_BIG
    try:
        return dict(parse_qsl(body.decode("ascii"), keep_blank_values=True, max_num_fields=10))
    except (UnicodeDecodeError, ValueError):
        return {}


def _same_origin(request: Request, service: OAuthConnections) -> bool:
    """A browser's form POST carries an Origin; one that is neither this server's public URL nor
    the host it was sent to is a cross-site forgery. `null` (a page under no-referrer, a sandboxed
    frame) is ours only when the browser says so in `Sec-Fetch-Site`, which pages cannot set
    (https://www.w3.org/TR/fetch-metadata/#sec-fetch-site-header)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # no Origin: not a modern browser's cross-site request (the cookie check stands)
    if origin == "null":
        return request.headers.get("sec-fetch-site") == "same-origin"
    parts = urlsplit(origin)
    ours = {request.headers.get("host", "")}
    if service.link_base:
        ours.add(urlsplit(service.link_base).netloc)
    return parts.scheme in ("http", "https") and parts.netloc in ours


def _server_name(service: OAuthConnections, request: Request) -> str:
    return urlsplit(service.link_base).netloc if service.link_base else request.url.netloc


async def _sweep(service: OAuthConnections) -> None:
    """Revoke held grants whose link expired unconfirmed (cheap: one indexed query when none)."""
    try:
        await service.revoke_abandoned()
    except LiveChatError as exc:
        logger.warning("could not revoke expired unconfirmed sign-ins: %s", type(exc).__name__)


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
        # a fresh context: the receiver outlives the tool call that started it, whose log context
        # (call id, tool) must not mark the sign-in's records
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), context=contextvars.Context())
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
