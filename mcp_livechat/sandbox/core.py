"""``Sandbox``: the public face of the emulator."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable, Sequence

import httpx2
import uvicorn

from . import constants
from .app import SandboxApp, build_app
from .clock import Clock
from .faults import ConnectionDropped, FaultInjector
from .minting import mint_token
from .runtime import Emulator
from .state import EmulatorState
from .stats import Stats


class SandboxTransport(httpx2.AsyncBaseTransport):
    """In-process transport to the sandbox app that behaves like a network:

    - a ``drop`` fault surfaces as ``httpx2.RemoteProtocolError``, as a real dropped
      connection would;
    - the request's read timeout is enforced (``httpx2.ReadTimeout``), so ``latency`` faults
      can time a client out. As on a real server, the request goes on being processed after
      the client gave up.
    """

    def __init__(self, app: SandboxApp) -> None:
        self._inner = httpx2.ASGITransport(app=app)
        self._abandoned: set[asyncio.Task[httpx2.Response]] = set()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        timeouts = request.extensions.get("timeout") or {}
        read_timeout = timeouts.get("read") if isinstance(timeouts, dict) else None
        task = asyncio.ensure_future(self._inner.handle_async_request(request))
        try:
            if read_timeout is None:
                return await task
            return await asyncio.wait_for(asyncio.shield(task), float(read_timeout))
        except ConnectionDropped:
            raise httpx2.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None
        except TimeoutError:
            self._abandoned.add(task)
            task.add_done_callback(self._forget)
            raise httpx2.ReadTimeout("timed out", request=request) from None

    def _forget(self, task: asyncio.Task[httpx2.Response]) -> None:
        self._abandoned.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a dropped or failed abandoned request is not an error here

    async def aclose(self) -> None:
        await self._inner.aclose()


class Sandbox:
    """An in-memory LiveChat: accounts server, Agent Chat Web API and Configuration API v3.6.

    Same ``seed`` → identical data. ``redirect_uris`` replaces the confidential app's whitelist
    (constants.DEFAULT_REDIRECT_URIS); codes live ``code_lifetime`` seconds; at most
    ``redirect_limit[0]`` authorizations per client and account in ``redirect_limit[1]``
    seconds (None disables the limit); refresh tokens expire ``refresh_lifetime`` seconds after
    they are issued (None, the default: never; see also ``expire_refresh_tokens``).
    ``silent_agents_count=True`` takes the other reading of LiveChat's undocumented agent limit:
    silent agents count too, so a chat holds one agent whatever its visibility (``membership``).
    ``readd_refused=True`` takes the other reading of adding a user already in the chat: a
    ``validation`` refusal instead of a change of visibility (``chat_users``).
    ``refusal_status`` answers every Web API refusal (an error type in ``errors.REFUSALS``: not the
    credential, the rate, the region or a fault on LiveChat's side) with that HTTP status instead
    of ``errors.STATUS``'s reading: LiveChat documents no statuses, so a client must decide from
    the error's type.
    """

    def __init__(
        self,
        *,
        seed: int = 7,
        redirect_uris: Sequence[str] | None = None,
        code_lifetime: int = 120,
        redirect_limit: tuple[int, float] | None = (3, 30),
        refresh_lifetime: int | None = None,
        silent_agents_count: bool = False,
        refusal_status: int | None = None,
        readd_refused: bool = False,
    ) -> None:
        uris = tuple(redirect_uris) if redirect_uris is not None else constants.DEFAULT_REDIRECT_URIS
        self._rt = Emulator(
            seed=seed,
            redirect_uris=uris,
            code_lifetime=code_lifetime,
            redirect_limit=redirect_limit,
            refresh_lifetime=refresh_lifetime,
            silent_agents_count=silent_agents_count,
            refusal_status=refusal_status,
            readd_refused=readd_refused,
        )
        self.app: SandboxApp = build_app(self._rt)

    @property
    def seed(self) -> int:
        return self._rt.seed

    @property
    def state(self) -> EmulatorState:
        return self._rt.state

    @property
    def clock(self) -> Clock:
        return self._rt.clock

    @property
    def stats(self) -> Stats:
        return self._rt.stats

    @property
    def faults(self) -> FaultInjector:
        return self._rt.faults

    def transport(self) -> SandboxTransport:
        return SandboxTransport(self.app)

    def mint_token(
        self,
        email: str,
        *,
        scopes: Iterable[str] | str | None = None,
        expires_in: int = constants.ACCESS_TOKEN_LIFETIME,
        client_id: str = constants.CLIENT_ID,
    ) -> dict[str, object]:
        return mint_token(self._rt, email, scopes=scopes, expires_in=expires_in, client_id=client_id)

    def expire_refresh_tokens(self, email: str | None = None) -> int:
        """Same as ``POST /sandbox/expire_refresh``: the live refresh tokens (of ``email``, or all)
        expire now, so refreshing with them answers ``invalid_grant``. Returns how many."""
        return self._rt.state.tokens.expire_refresh(self._rt.clock.now(), email)

    def set_browser_account(self, email: str | None) -> None:
        if email is not None and email not in self._rt.state.agents:
            raise ValueError(f"unknown agent {email!r}")
        self._rt.browser_account = email

    def set_consent(self, granted: bool) -> None:
        self._rt.consent = bool(granted)

    def reset(self, seed: int | None = None) -> None:
        """Same as ``POST /sandbox/reset``: re-seed, forget tokens, faults and stats."""
        self._rt.reset(seed)

    def describe(self, base_url: str) -> dict[str, str]:
        base = base_url.rstrip("/")
        return {
            "api_url": base,
            "accounts_url": base + "/accounts",
            "client_id": constants.CLIENT_ID,
            "client_secret": constants.CLIENT_SECRET,
            "redirect_uri": self._rt.clients[constants.CLIENT_ID].redirect_uris[0],
            "account_id": constants.ACCOUNT_ID,
            "pat": constants.PAT,
        }


async def serve(sb: Sandbox, host: str, port: int, *, sock: socket.socket | None = None) -> None:
    """Serve ``sb.app`` with uvicorn (h11, no access log: query strings can carry tokens), on
    ``sock`` when given (already bound and listening), else on host:port.

    Cancelling the task shuts the server down gracefully.
    """
    config = uvicorn.Config(
        sb.app,
        host=host,
        port=port,
        http="h11",
        lifespan="off",
        access_log=False,
        date_header=False,  # the app dates its answers with the sandbox clock
        log_config=None,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve(sockets=[sock] if sock is not None else None))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.should_exit = True
        await task
        raise
