"""A cap on the open Streamable HTTP sessions of each caller (`LIVECHAT_MAX_SESSIONS_PER_CALLER`), so
one caller cannot take the whole process-wide session budget (`LIVECHAT_HTTP_MAX_SESSIONS`).

An ASGI middleware in front of the SDK's Streamable HTTP app, speaking only HTTP: it learns a
session's owner when the SDK answers a request that opened one (the `mcp-session-id` response
header; the owner from the request's bearer token, verified as the SDK verifies it), counts the
calls in flight per session (POSTs: a client's open GET stream is only its listening channel, so
it does not make a session busy) and when each was last used, and forgets a session that is
deleted, unknown to the SDK (a 404 from the MCP endpoint to the session's own caller: any other
path, or another caller, gets a 404 while the session lives on) or idle past the SDK's idle
timeout with no stream open (the SDK has reaped it). A new session counts from the moment its
id is answered, before its opening request ends.

When a caller at the cap opens another session, the caller's session idle longest is closed
first, the way its client would close it (a `DELETE` with its session id, on the caller's
behalf); if every one is busy, the new session is refused with 429. The DELETE
carries the new request's own credential (the same caller), so no credential is kept here.

Only requests that can open a session are looked at before they are served: a POST without a
session id in the 2025 handshake era. 2026-07-28 requests carry their protocol version and are
sessionless, and in stateless mode nothing is capped here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_livechat.connect.identity import Principal

__all__ = ["SessionCap", "SseCap"]

logger = logging.getLogger("mcp_livechat.http")

SESSION_HEADER = "mcp-session-id"
VERSION_HEADER = "mcp-protocol-version"


@dataclass(slots=True)
class _Session:
    owner: Principal
    in_flight: int = 0  # calls (POST, DELETE) being served
    streams: int = 0  # open GET streams
    last_used: float = 0.0


class SessionCap:
    """At most `limit` open sessions per principal; the one idle longest goes first."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        idle_timeout: float,
        caller_of: Callable[[str | None], Awaitable[Principal | None]],
        clock: Callable[[], float] = time.monotonic,
        path: str = "/mcp",
    ) -> None:
        self.app = app
        self.path = path
        self.limit = limit
        self.idle_timeout = idle_timeout
        self._caller_of = caller_of
        self._clock = clock
        self._sessions: dict[str, _Session] = {}
        self._opening: dict[Principal, int] = {}  # admitted, not yet answered
        self._admission = asyncio.Lock()

    def open_sessions(self, principal: Principal) -> int:
        return sum(1 for s in self._sessions.values() if s.owner == principal)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        session_id = headers.get(SESSION_HEADER)
        if session_id is not None:
            await self._in_session(session_id, scope, receive, send)
        elif scope["method"] == "POST" and _handshake_era(headers.get(VERSION_HEADER)):
            await self._opening_request(headers, scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _in_session(self, session_id: str, scope: Scope, receive: Receive, send: Send) -> None:
        session = self._sessions.get(session_id)
        if session is None:
            await self.app(scope, receive, send)
            return
        stream = scope["method"] == "GET"
        if stream:
            session.streams += 1
        else:
            session.in_flight += 1
        status, open_ = 0, True

        def done() -> None:
            """The call is over when its answer has been sent (the SDK may return a little later)."""
            nonlocal open_
            if open_:
                open_ = False
                if stream:
                    session.streams -= 1
                else:
                    session.in_flight -= 1
                    session.last_used = self._clock()

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                done()

        try:
            await self.app(scope, receive, watch)
        finally:
            done()
            if scope["method"] == "DELETE" and 200 <= status < 300 and scope["path"] == self.path:
                self._sessions.pop(session_id, None)  # the SDK ends a session for its own caller only
            elif status == 404 and scope["path"] == self.path:
                await self._forget_if_gone(session_id, session, scope)

    async def _forget_if_gone(self, session_id: str, session: _Session, scope: Scope) -> None:
        """The SDK answers 404 for a session it no longer has, and also to a caller who does not
        own it: only the owner's 404 means it is gone."""
        caller = await self._caller_of(Headers(scope=scope).get("authorization"))
        if caller == session.owner and self._sessions.get(session_id) is session:
            del self._sessions[session_id]

    async def _opening_request(self, headers: Headers, scope: Scope, receive: Receive, send: Send) -> None:
        owner = await self._caller_of(headers.get("authorization"))
        if owner is None:  # not a valid caller: the SDK answers 401 itself
            await self.app(scope, receive, send)
            return
        if not await self._admit(owner, scope):
            await _refuse(self.limit, send)
            return
        reserved, answered = True, False
        opened: _Session | None = None

        def settle() -> None:
            """The opening call is over once its answer is sent (the SDK may return later)."""
            nonlocal answered
            if opened is not None and not answered:
                answered = True
                opened.in_flight -= 1
                opened.last_used = self._clock()

        def release() -> None:
            nonlocal reserved
            if reserved:
                reserved = False
                self._opening[owner] -= 1
                if not self._opening[owner]:
                    del self._opening[owner]

        async def watch(message: Message) -> None:
            nonlocal opened
            if message["type"] == "http.response.start":
                created = Headers(raw=message.get("headers", [])).get(SESSION_HEADER)
                if int(message["status"]) < 400 and created is not None:
                    # counted from now (the client may use it before this response has ended), and
                    # busy until its opening request ends, so that it is never closed as idle then
                    opened = _Session(owner, in_flight=1, last_used=self._clock())
                    self._sessions[created] = opened
                release()
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                settle()

        try:
            await self.app(scope, receive, watch)
        finally:
            release()
            settle()

    async def _admit(self, owner: Principal, scope: Scope) -> bool:
        """Reserve a slot for `owner`, closing their session idle longest when they are at the cap."""
        async with self._admission:
            self._forget_reaped()
            while self.open_sessions(owner) + self._opening.get(owner, 0) >= self.limit:
                idle = [(s.last_used, sid) for sid, s in self._sessions.items() if s.owner == owner]
                idle = [item for item in idle if self._sessions[item[1]].in_flight == 0]
                if not idle:
                    logger.warning("refused a new MCP session: the caller has %d busy sessions", self.limit)
                    return False
                await self._close(min(idle)[1], scope)
            self._opening[owner] = self._opening.get(owner, 0) + 1
            return True

    def _forget_reaped(self) -> None:
        """Sessions idle past the SDK's timeout are gone there: forget them here too."""
        cutoff = self._clock() - self.idle_timeout
        for sid, s in list(self._sessions.items()):
            if s.in_flight == 0 and s.streams == 0 and s.last_used < cutoff:
                del self._sessions[sid]

    async def _close(self, session_id: str, scope: Scope) -> None:
        """End a session as its client would: DELETE with its id, and the credential of `scope`'s
        request (the same caller)."""
        session = self._sessions.pop(session_id)
        keep = {b"host", b"origin", b"authorization"}
        headers = [(k, v) for k, v in scope["headers"] if k in keep]
        headers.append((SESSION_HEADER.encode(), session_id.encode()))
        delete = {**scope, "method": "DELETE", "headers": headers, "query_string": b""}

        async def nothing() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def discard(message: Message) -> None:
            return None

        await self.app(delete, nothing, discard)
        logger.info("closed the idle MCP session of %s idle longest, to admit a new one", session.owner)


class SseCap:
    """The legacy HTTP+SSE transport's bounds: a session there is one open `GET` stream (it ends
    when the stream does), so at most `total` streams are open per process and `per_caller` per
    caller; one more is refused (503 past the process's bound, 429 past the caller's), nothing is
    closed to make room, since every open stream is a client listening. The SDK's SSE transport
    has no bounds of its own."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        total: int,
        per_caller: int,
        caller_of: Callable[[str | None], Awaitable[Principal | None]],
        path: str = "/sse",
    ) -> None:
        self.app = app
        self.total, self.per_caller, self.path = total, per_caller, path
        self._caller_of = caller_of
        self._open: dict[Principal, int] = {}

    def open_streams(self) -> int:
        return sum(self._open.values())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        owner = await self._caller_of(Headers(scope=scope).get("authorization"))
        if owner is None:  # not a valid caller: the SDK answers 401 itself
            await self.app(scope, receive, send)
            return
        if self.open_streams() >= self.total:
            logger.warning("refused an SSE session: %d open (LIVECHAT_HTTP_MAX_SESSIONS)", self.total)
            await _refuse_json(503, f"Too many open sessions ({self.total}, LIVECHAT_HTTP_MAX_SESSIONS); "
                               "retry later", send)  # fmt: skip
            return
        if self._open.get(owner, 0) >= self.per_caller:
            await _refuse_json(429, f"Too many open sessions for this caller ({self.per_caller}, "
                               "LIVECHAT_MAX_SESSIONS_PER_CALLER); close one and retry", send)  # fmt: skip
            return
        self._open[owner] = self._open.get(owner, 0) + 1
        try:
            await self.app(scope, receive, send)
        finally:
            self._open[owner] -= 1
            if not self._open[owner]:
                del self._open[owner]


def _handshake_era(version: str | None) -> bool:
    """A request of the 2025 handshake era (sessions), or an `initialize` that names no version yet."""
    return version is None or version.startswith(("2024-", "2025-"))


async def _refuse(limit: int, send: Send) -> None:
    message = (
        f"Too many open sessions for this caller ({limit}, LIVECHAT_MAX_SESSIONS_PER_CALLER), all busy; "
    )
    await _refuse_json(429, message + "close one and retry", send)


async def _refuse_json(status: int, message: str, send: Send) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32000, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
