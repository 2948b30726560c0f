"""Logging to stderr, with a last-line-of-defence redaction filter and per-call context.

Nothing in this package logs a token, secret or code on purpose; the filter catches what other
libraries might (an access log line with `?code=...`, an `Authorization` header in a debug dump).

Every record made while a tool call runs carries that call's context (`call_context`): its
reference (`call_id`, which an internal error's result quotes), the tool, the JSON-RPC id and,
over HTTP, the gateway's `X-Request-ID` and the W3C trace id. The text format appends them to the
logger's name; `json` (`LIVECHAT_LOG_FORMAT=json`) writes one JSON object a line with them as
fields, for a log pipeline.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal

LogFormat = Literal["text", "json"]
CONTEXT_FIELDS = ("call_id", "tool", "rpc_id", "http_request_id", "trace_id")
_context: ContextVar[Mapping[str, str] | None] = ContextVar("mcp_livechat_log_context", default=None)
_SAFE = re.compile(r"[^A-Za-z0-9._:/+=-]")

_PATTERNS = (
    (
        re.compile(
            r"([?&](?:code|state|access_token|refresh_token|client_secret|code_verifier|token)=)[^&\s\"']+"
        ),
        r"\1<redacted>",
    ),
    (re.compile(r"(/connect/)[A-Za-z0-9_-]{16,}"), r"\1<redacted>"),  # a connect link's state
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=:-]+"), r"\1 <redacted>"),
    (re.compile(r"\b((?:dal|fra)(?:-[a-z])?)(?::|%3A)[A-Za-z0-9_-]{6,}"), r"\1:<redacted>"),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with secrets masked (keeps the record, drops nothing)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class RedactingFormatter(logging.Formatter):
    """The whole line redacted, a traceback's text included (the filter sees only the message)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def clean_field(value: object, limit: int = 64) -> str:
    """A client- or gateway-supplied value fit for a log field: printable, bounded, one token."""
    return _SAFE.sub("_", str(value))[:limit]


@contextmanager
def call_context(**fields: str | None) -> Iterator[None]:
    """Records made inside carry `fields` (those not None), on top of any outer context's."""
    outer = _context.get() or {}
    token = _context.set({**outer, **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Copies the running call's context onto each record (as attributes the formatters read)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_context.get() or {}).items():
            if not hasattr(record, name):  # an `extra=` of the same name wins
                setattr(record, name, value)
        return True


class TextFormatter(RedactingFormatter):
    """`time LEVEL logger [call_id=... tool=...]: message`, the context only when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        pairs = [f"{name}={getattr(record, name)}" for name in CONTEXT_FIELDS if hasattr(record, name)]
        record.context = f" [{' '.join(pairs)}]" if pairs else ""
        return super().format(record)


def _json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter  # imported only when JSON logs are asked for

    class RedactingJsonFormatter(JsonFormatter):
        """Each string value redacted before it is serialised (redacting the serialised line could
        eat an escape and break the JSON), the traceback's text included."""

        def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
            log_data.pop("color_message", None)  # uvicorn's duplicate of the message, with ANSI codes
            return {k: redact(v) if isinstance(v, str) else v for k, v in log_data.items()}

    return RedactingJsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",  # ISO 8601 in UTC, to the microsecond
    )


def configure(level: str = "WARNING", fmt: LogFormat = "text") -> None:
    """Root logging to stderr at `level`; access logs of uvicorn pass through the filter too.

    The level is the stderr handler's as well as the root's, so that a client's
    `logging/setLevel` may lower this package's loggers for its own requests
    (`tools.protocol.ClientLogging`) without more reaching stderr."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(_json_formatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s"))
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter())
    handler.setLevel(level)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn.access", "uvicorn.error", "httpx2", "authlib"):
        logging.getLogger(name).addFilter(RedactingFilter())
    # httpx2 logs each request at INFO; the transport's own DEBUG event says as much with the
    # action, attempt and duration, so below DEBUG one tool call stays one line
    logging.getLogger("httpx2").setLevel(logging.NOTSET if root.level <= logging.DEBUG else logging.WARNING)
