"""Prometheus metrics of one server process, served at `/metrics` (Prometheus text format).

`Metrics` owns its own registry (so two servers in one process, e.g. in tests, never share
counters) with the process, platform and GC collectors beside ours. `prometheus_client` is imported
when a `Metrics` is built, never at module import: a stdio server, which has no `/metrics`, does
not load it. Labels are bounded: tool names, LiveChat API and action names, outcomes, LiveChat's
error types and grant states; never a person, a tenant or an id.

The layers below never import this module's dependency: the LiveChat client reports each request
to an observer (`LiveChatHttp.observer`), the connection layer reports refresh outcomes and grant
counts to callbacks; the composition root plugs these methods in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

__all__ = ["Metrics"]

_LABEL: Final = re.compile(r"[A-Za-z0-9_./ -]{1,60}")
_TOOL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)


def _label(value: str | None, fallback: str = "other") -> str:
    """A label value from a bounded vocabulary; anything unexpected collapses to `fallback`."""
    return value if value is not None and _LABEL.fullmatch(value) else fallback


class Metrics:
    """The counters, histogram and gauge of the README's metrics table."""

    def __init__(self) -> None:
        from prometheus_client import (
            CollectorRegistry,
            Counter,
            Gauge,
            Histogram,
            gc_collector,
            platform_collector,
            process_collector,
        )

        self.registry = CollectorRegistry(auto_describe=True)
        process_collector.ProcessCollector(registry=self.registry)
        platform_collector.PlatformCollector(registry=self.registry)
        gc_collector.GCCollector(registry=self.registry)
        r = self.registry
        self._tool_calls = Counter(
            "mcp_livechat_tool_calls", "MCP tool calls by outcome.", ["tool", "outcome"], registry=r
        )
        self._tool_seconds = Histogram(
            "mcp_livechat_tool_call_seconds",
            "Duration of MCP tool calls.",
            ["tool"],
            buckets=_TOOL_BUCKETS,
            registry=r,
        )
        self._requests = Counter(
            "mcp_livechat_livechat_requests",
            "HTTP requests to LiveChat (each attempt), by API, method and outcome.",
            ["api", "method", "outcome"],
            registry=r,
        )
        self._errors = Counter(
            "mcp_livechat_livechat_errors", "LiveChat error answers by LiveChat's error type.", ["type"],
            registry=r,
        )  # fmt: skip
        self._refreshes = Counter(
            "mcp_livechat_token_refreshes", "OAuth token refreshes by outcome.", ["outcome"], registry=r
        )
        self._connections = Gauge(
            "mcp_livechat_connections",
            "Stored LiveChat grants by state, as of the last health sweep.",
            ["state"],
            registry=r,
        )

    def tool_call(self, tool: str, outcome: str, seconds: float) -> None:
        name = _label(tool)
        self._tool_calls.labels(name, _label(outcome)).inc()
        self._tool_seconds.labels(name).observe(seconds)

    def livechat_request(self, api: str, method: str, outcome: str, error_type: str | None) -> None:
        """One HTTP attempt to LiveChat (the `LiveChatHttp.observer` signature)."""
        self._requests.labels(_label(api), _label(method), _label(outcome)).inc()
        if error_type is not None:
            self._errors.labels(_label(error_type)).inc()

    def token_refresh(self, outcome: str) -> None:
        self._refreshes.labels(_label(outcome)).inc()

    def connections(self, counts: Mapping[str, int]) -> None:
        for state, count in counts.items():
            self._connections.labels(_label(state)).set(count)

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition of everything in the registry, and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
