"""The network as the doctor sees it: every HTTP exchange timed, with the region header it carried.

Wraps the transport the runtime would use; it reads nothing of a request but its URL and its
`X-Region` header, and keeps nothing of a response but its status.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx2


@dataclass(frozen=True)
class Exchange:
    url: str
    region: str | None
    status: int | None  # None: no answer (connection failed, timed out, dropped)
    ms: float


class Probe(httpx2.AsyncBaseTransport):
    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[Exchange] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = str(request.url).split("?", 1)[0]
        region = request.headers.get("x-region")
        started = time.perf_counter()
        try:
            response = await self.inner.handle_async_request(request)
        except BaseException:
            self.exchanges.append(Exchange(url, region, None, _ms(started)))
            raise
        self.exchanges.append(Exchange(url, region, response.status_code, _ms(started)))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

    def mark(self) -> int:
        return len(self.exchanges)

    def since(self, mark: int) -> list[Exchange]:
        return self.exchanges[mark:]

    def answered(self, *prefixes: str) -> list[Exchange]:
        """Successful exchanges whose URL starts with one of `prefixes`, in order."""
        return [
            e
            for e in self.exchanges
            if e.url.startswith(prefixes) and e.status is not None and e.status < 300
        ]


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1e3
