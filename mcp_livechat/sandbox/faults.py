"""Fault injection: queued faults that hit the next matching requests.

Kinds:
- ``rate_limit``: 429 ``too_many_requests`` (accounts endpoints: ``temporarily_unavailable``);
  ``Retry-After`` only when ``retry_after`` is given. The request is not processed.
- ``server_error``: 500 ``internal`` (``status=503`` → ``service_unavailable``; other 5xx keep
  type ``internal``). Not processed.
- ``latency``: sleeps ``latency_ms`` and then answers normally.
- ``drop``: the connection is closed without a response. ``after_processing=True`` (default)
  processes the request first (the write happens, the answer is lost); False drops it unread.
- ``malformed``: 200 ``application/json`` with a truncated, non-JSON body. With
  ``after_processing=True`` the request is processed and its real body is cut in half; False
  answers ``{"chats_summary": [`` without processing.
- ``html``: 502 (or ``status``) with an HTML proxy error page. Not processed.

``methods=None`` matches every Agent Chat / Configuration API method; otherwise a list of
names: API method names, or the accounts endpoints ``token``, ``info``, ``revoke``,
``accounts_me``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

KINDS = ("rate_limit", "server_error", "latency", "drop", "malformed", "html")
ACCOUNTS_ENDPOINTS = frozenset({"token", "info", "revoke", "accounts_me"})
PROXY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
TRUNCATED_BODY = b'{"chats_summary": ['


class ConnectionDropped(Exception):
    """Raised by the app when a ``drop`` fault must close the connection without a response."""


@dataclass
class Fault:
    kind: str
    remaining: int
    methods: frozenset[str] | None
    status: int | None
    retry_after: float | None
    latency_ms: int
    after_processing: bool

    @property
    def processes_request(self) -> bool:
        """Whether the request is handled before the fault shapes the answer."""
        if self.kind == "latency":
            return True
        if self.kind in ("drop", "malformed"):
            return self.after_processing
        return False

    def matches(self, name: str) -> bool:
        if self.methods is None:
            return name not in ACCOUNTS_ENDPOINTS and name != "authorize"
        return name in self.methods

    def describe(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "remaining": self.remaining,
            "methods": sorted(self.methods) if self.methods is not None else None,
            "status": self.status,
            "retry_after": self.retry_after,
            "latency_ms": self.latency_ms,
            "after_processing": self.after_processing,
        }


class FaultInjector:
    def __init__(self) -> None:
        self._queue: list[Fault] = []

    def add(
        self,
        kind: str,
        *,
        count: int = 1,
        methods: Iterable[str] | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        latency_ms: int = 0,
        after_processing: bool = True,
    ) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError("count must be a positive integer")
        if isinstance(methods, str):
            methods = [methods]
        if status is not None and (isinstance(status, bool) or not 100 <= int(status) <= 599):
            raise ValueError("status must be an HTTP status code")
        if isinstance(latency_ms, bool) or not isinstance(latency_ms, int) or latency_ms < 0:
            raise ValueError("latency_ms must be a non-negative integer")
        if retry_after is not None and (isinstance(retry_after, bool) or float(retry_after) < 0):
            raise ValueError("retry_after must be a non-negative number")
        fault = Fault(
            kind=kind,
            remaining=count,
            methods=frozenset(methods) if methods is not None else None,
            status=int(status) if status is not None else None,
            retry_after=float(retry_after) if retry_after is not None else None,
            latency_ms=latency_ms,
            after_processing=bool(after_processing),
        )
        self._queue.append(fault)
        return fault

    def clear(self) -> None:
        self._queue.clear()

    @property
    def pending(self) -> list[Fault]:
        return list(self._queue)

    def take(self, name: str) -> Fault | None:
        """Consume one use of the first queued fault matching request ``name``."""
        for fault in self._queue:
            if fault.matches(name):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._queue.remove(fault)
                return fault
        return None


def truncate_body(body: bytes) -> bytes:
    """Cut a JSON body so that it no longer parses."""
    cut = body[: max(1, len(body) // 2)]
    try:
        json.loads(cut)
    except ValueError:
        return cut
    return TRUNCATED_BODY


def retry_after_header(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)
