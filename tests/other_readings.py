"""The sandbox answering LiveChat's undocumented cases the other way (imported, never collected).

The sandbox marks [UNVERIFIED] what LiveChat's documentation leaves open: the status and type of a
refusal, whether a repeated write is a no-op, how pages are cut. `OtherReading` wraps the sandbox's
transport and, for chosen requests, answers as LiveChat might instead, so a test can show that the
client's answer does not depend on the sandbox's reading. A rule sees the request's JSON body and
a `forward()` that asks the sandbox itself; it returns the answer to give.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2

Forward = Callable[[], Awaitable[httpx2.Response]]
Rule = Callable[[dict[str, Any], Forward], Awaitable[httpx2.Response]]


class OtherReading(httpx2.AsyncBaseTransport):
    """`rules` maps a path suffix (`/action/tag_thread`, `/v2/info`) to a `Rule`."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, rules: dict[str, Rule]) -> None:
        self.inner, self.rules = inner, rules
        self.applied: dict[str, int] = {}

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        raw = await request.aread()
        suffix = next((s for s in self.rules if request.url.path.endswith(s)), None)
        if suffix is None:
            return await self.inner.handle_async_request(request)
        body = json.loads(raw) if raw and raw.lstrip().startswith(b"{") else {}
        self.applied[suffix] = self.applied.get(suffix, 0) + 1
        return await self.rules[suffix](body, lambda: self.inner.handle_async_request(request))


def web_error(status: int, kind: str, message: str) -> httpx2.Response:
    """An Agent Chat / Configuration API error envelope."""
    return httpx2.Response(status, json={"error": {"type": kind, "message": message}})


def accounts_error(status: int, code: str, description: str = "") -> httpx2.Response:
    """An accounts server error (OAuth dialect)."""
    return httpx2.Response(status, json={"error": code, "error_description": description or code})


def refusals_as(make: Callable[[], httpx2.Response], *, status: int = 401) -> Rule:
    """Every answer of the sandbox with `status` replaced by `make()` (e.g. /v2/info refusing a
    revoked token with 422 `invalid_request` instead of 401 `unauthorized`)."""

    async def rule(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        response = await forward()
        return make() if response.status_code == status else response

    return rule
