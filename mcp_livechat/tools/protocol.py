"""Protocol features clients use beyond tools: completions and log messages (SDK public API only).

- `completion/complete` for the prompts' `chat_id` and the resource templates' `chat_id` and
  `customer_id`: the caller's recent chats (and those chats' customers), prefix-filtered, at most
  100 values (the MCP limit), read from LiveChat at most every `RECENT_TTL` seconds per person.
- The `logging` capability: `logging/setLevel` (2025-11-25 clients) sets a connection's level,
  also below the operator's `LIVECHAT_LOG_LEVEL` (the forwarded loggers are lowered to the
  lowest level any connection asked for, for the process's life; stderr keeps the operator's
  level); the tools' and the LiveChat client's log records made while
  serving a request reach that client as `notifications/message` on the request's stream,
  redacted like every log line. The token store's and the HTTP layer's records stay in the
  server's log: they are the operator's (hosts, ports, other people). On 2026-07-28 connections
  the client opts in per request (`_meta`), and the SDK applies it.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import time
import warnings
from collections.abc import Callable
from typing import Any

from cachetools import LRUCache, TTLCache
from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    LoggingLevel,
    PromptReference,
    ResourceTemplateReference,
)

from mcp_livechat.connect.identity import Principal
from mcp_livechat.errors import LiveChatError
from mcp_livechat.livechat import LiveChat
from mcp_livechat.logs import redact
from mcp_livechat.tools.context import Services
from mcp_livechat.tools.prompts import PROMPT_NAMES

logger = logging.getLogger("mcp_livechat.tools")

MAX_VALUES = 100  # "Maximum 100 items" per completion response
RECENT_TTL = 30.0
LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
_PY_LEVEL = {"debug": 10, "info": 20, "notice": 25, "warning": 30, "error": 40, "critical": 50,
             "alert": 50, "emergency": 50}  # fmt: skip


def _mcp_level(levelno: int) -> LoggingLevel:
    if levelno >= logging.CRITICAL:
        return "critical"
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warning"
    return "info" if levelno >= logging.INFO else "debug"


# ----------------------------------------------------------------------------- completions

CHAT_ARGUMENTS = {("summarize_chat", "chat_id"), ("draft_reply", "chat_id")}
TEMPLATES = {"livechat://chats/{chat_id}": "chat_id", "livechat://customers/{customer_id}": "customer_id"}


class Completions:
    """Recent chat and customer ids per person, for completing prompt and resource arguments."""

    def __init__(self, services: Callable[[], Services]) -> None:
        self._services = services
        self._recent: TTLCache[Principal, tuple[list[str], list[str]]] = TTLCache(1_000, RECENT_TTL)

    async def complete(
        self,
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        _known(ref)
        if isinstance(ref, PromptReference) and (ref.name, argument.name) == ("weekly_report", "timezone"):
            return _zones(argument.value)
        kind = _kind(ref, argument.name)
        if kind is None:
            return None
        try:
            chats, customers = await self._ids()
        except LiveChatError:
            return Completion(values=[])  # not connected, or LiveChat says no: nothing to offer
        pool = chats if kind == "chat_id" else customers
        prefix = argument.value.strip().lower()
        found = [value for value in pool if value.lower().startswith(prefix)]
        return Completion(values=found[:MAX_VALUES], total=len(found), has_more=len(found) > MAX_VALUES)

    async def _ids(self) -> tuple[list[str], list[str]]:
        services = self._services()
        principal = services.principal_of(get_access_token())
        cached = self._recent.get(principal)
        if cached is not None:
            return cached
        started = time.perf_counter()
        livechat = LiveChat(services.http.bind(await services.connections.credentials(principal)))
        page = await livechat.agent.list_chats(limit=100)
        chats = [c.id for c in page.chats_summary]
        people = (u.id for c in page.chats_summary for u in c.users if u.type == "customer")
        customers = list(dict.fromkeys(people))
        self._recent[principal] = (chats, customers)
        logger.debug("completion ids read in %.0f ms", (time.perf_counter() - started) * 1e3)
        return chats, customers


def _known(ref: PromptReference | ResourceTemplateReference) -> None:
    """An unknown prompt or template is `-32602`, as for `prompts/get`
    (https://modelcontextprotocol.io/specification/2025-11-25/server/utilities/completion#error-handling)."""
    from mcp import MCPError
    from mcp.types import INVALID_PARAMS

    if isinstance(ref, PromptReference) and ref.name not in PROMPT_NAMES:
        raise MCPError(INVALID_PARAMS, f"Invalid prompt name: {ref.name[:60]!r}")
    if isinstance(ref, ResourceTemplateReference) and ref.uri not in TEMPLATES:
        raise MCPError(INVALID_PARAMS, f"Unknown resource template: {ref.uri[:100]!r}")


@functools.cache
def _all_zones() -> tuple[str, ...]:
    """The zones to offer: IANA's Area/Location names and UTC (not the tz database's `Factory`
    and `localtime`, which the reports refuse, nor its legacy aliases such as `GB`, which they
    accept when typed)."""
    import zoneinfo

    return tuple(sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC"))


def _zones(prefix: str) -> Completion:
    """IANA time zones starting with `prefix` (any letter case)."""
    wanted = prefix.strip().lower()
    found = [z for z in _all_zones() if z.lower().startswith(wanted)]
    return Completion(values=found[:MAX_VALUES], total=len(found), has_more=len(found) > MAX_VALUES)


def _kind(ref: PromptReference | ResourceTemplateReference, name: str) -> str | None:
    if isinstance(ref, PromptReference):
        return "chat_id" if (ref.name, name) in CHAT_ARGUMENTS else None
    variable = TEMPLATES.get(ref.uri)
    return variable if variable == name else None


def register_completions(server: MCPServer[Any], services: Callable[[], Services]) -> None:
    server.completion()(Completions(services).complete)  # type: ignore[no-untyped-call]


# ----------------------------------------------------------------------------- client logging

_pending: contextvars.ContextVar[list[logging.LogRecord] | None] = contextvars.ContextVar(
    "mcp_livechat_client_log", default=None
)


FORWARDED = ("mcp_livechat.tools", "mcp_livechat.livechat")  # loggers whose records a client may see


class _Collect(logging.Handler):
    """Keeps the tools' and the LiveChat client's records made while a request is served, for
    that request's client."""

    def emit(self, record: logging.LogRecord) -> None:
        pending = _pending.get()
        forwarded = record.name in FORWARDED or record.name.startswith(tuple(f"{n}." for n in FORWARDED))
        if pending is not None and forwarded and len(pending) < 50:  # bounded per request
            pending.append(record)


class ClientLogging:
    """Server middleware: the `logging` capability, `logging/setLevel`, and the forwarding."""

    def __init__(self) -> None:
        # per connection: a request's ServerSession is new each time, its connection's initialize
        # parameters are one object for the connection's life (ids may be reused later: harmless)
        self._levels: LRUCache[int, int] = LRUCache(maxsize=10_000)
        self._handler = _Collect(logging.DEBUG)
        root = logging.getLogger("mcp_livechat")
        if not any(isinstance(h, _Collect) for h in root.handlers):
            root.addHandler(self._handler)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "logging/setLevel":
            level = (ctx.params or {}).get("level")
            if level not in LEVELS:
                from mcp import MCPError
                from mcp.types import INVALID_PARAMS

                raise MCPError(INVALID_PARAMS, f"level must be one of {', '.join(LEVELS)}")
            self._levels[id(ctx.session.client_params)] = wanted = _PY_LEVEL[str(level)]
            for name in FORWARDED:  # else the records would never be made (only these are sent)
                forwarded = logging.getLogger(name)
                if wanted < forwarded.getEffectiveLevel():
                    forwarded.setLevel(wanted)
            return {}
        if ctx.method == "initialize":
            result = await call_next(ctx)
            if isinstance(result, dict):
                result.setdefault("capabilities", {})["logging"] = {}
            return result
        if ctx.method not in ("tools/call", "prompts/get", "resources/read", "completion/complete"):
            return await call_next(ctx)
        records: list[logging.LogRecord] = []
        token = _pending.set(records)
        try:
            return await call_next(ctx)
        finally:
            _pending.reset(token)
            await self._forward(ctx, records)

    async def _forward(self, ctx: ServerRequestContext[Any, Any], records: list[logging.LogRecord]) -> None:
        if not records:
            return
        threshold = self._levels.get(id(ctx.session.client_params), 0)
        legacy = ctx.protocol_version != "2026-07-28"  # 2026-07-28: the SDK applies the request's opt-in
        for record in records:
            if legacy and (threshold == 0 or record.levelno < threshold):
                continue
            level = _mcp_level(record.levelno)
            data = {"message": redact(record.getMessage())}
            try:
                with warnings.catch_warnings():  # delivery is deprecated at 2026-07-28 (SEP-2577)
                    warnings.simplefilter("ignore")
                    await ctx.session.send_log_message(
                        level, data, logger=record.name, related_request_id=ctx.request_id
                    )
            except Exception:
                return
