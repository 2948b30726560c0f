"""The Starlette app: accounts server, APIs and control endpoints on one port."""

from __future__ import annotations

import email.utils
from collections.abc import Awaitable, Callable
from datetime import UTC

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from . import accounts, control, oauth
from .clock import Clock
from .dispatch import api_endpoint
from .reports import reports_endpoint
from .runtime import Emulator
from .wire import RAW_SEND_KEY, with_faults

Endpoint = Callable[[Request], Awaitable[Response]]


class SandboxApp(Starlette):
    """Starlette, plus the server's raw ``send`` kept in the scope so that a ``drop`` fault can
    reach the connection's transport (see wire.drop_connection), and a ``Date`` header from the
    sandbox's clock on every answer, as an origin server with a clock sends one (RFC 9110 §6.6.1)."""

    clock: Clock | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[RAW_SEND_KEY] = send
            if self.clock is not None:
                send = _dated(send, self.clock)
        await super().__call__(scope, receive, send)


def _dated(send: Send, clock: Clock) -> Send:
    async def send_with_date(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
            stamp = email.utils.format_datetime(clock.now().astimezone(UTC), usegmt=True)
            message = {**message, "headers": [*headers, (b"date", stamp.encode("latin-1"))]}
        await send(message)

    return send_with_date


def build_app(rt: Emulator) -> SandboxApp:
    async def authorize(request: Request) -> Response:
        return oauth.authorize(rt, request)

    async def ooops(request: Request) -> Response:
        return oauth.ooops_page(request)

    async def token(request: Request) -> Response:
        if request.method == "DELETE":

            async def do_revoke() -> Response:
                return accounts.revoke(rt, request)

            return await with_faults(rt, request, "revoke", "oauth", do_revoke)

        async def do_token() -> Response:
            return await oauth.token_endpoint(rt, request)

        return await with_faults(rt, request, "token", "oauth", do_token)

    async def info(request: Request) -> Response:
        async def do_info() -> Response:
            return accounts.info(rt, request)

        return await with_faults(rt, request, "info", "oauth", do_info)

    async def account(request: Request) -> Response:
        async def do_account() -> Response:
            return await accounts.account(rt, request)

        return await with_faults(rt, request, "accounts_me", "oauth", do_account)

    async def api(request: Request) -> Response:
        return await api_endpoint(rt, request)

    async def reports(request: Request) -> Response:
        return await reports_endpoint(rt, request)

    routes = [
        Route("/accounts", authorize, methods=["GET"]),
        Route("/accounts/", authorize, methods=["GET"]),
        Route("/accounts/ooops", ooops, methods=["GET"]),
        Route("/accounts/v2/token", token, methods=["POST", "DELETE"]),
        Route("/accounts/v2/info", info, methods=["GET"]),
        Route("/accounts/v2/accounts/{account_id}", account, methods=["GET", "PATCH"]),
        Route("/{version}/{api}/action/{method}", api, methods=["POST"]),
        Route("/{version}/reports/{resource}/{action}", reports, methods=["GET", "POST"]),
    ]
    for name, (handler, methods) in control.ENDPOINTS.items():
        routes.append(Route(f"/sandbox/{name}", _control(rt, handler), methods=methods))
    app = SandboxApp(routes=routes)
    app.clock = rt.clock
    return app


def _control(rt: Emulator, handler: Callable[[Emulator, Request], Awaitable[Response]]) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        return await control.guarded(handler, rt, request)

    return endpoint
