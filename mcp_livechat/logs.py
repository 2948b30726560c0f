"""Logging to stderr, with a last-line-of-defence redaction filter.

Nothing in this package logs a token, secret or code on purpose; the filter catches what other
libraries might (an access log line with `?code=...`, an `Authorization` header in a debug dump).
"""

from __future__ import annotations

import logging
import re
import sys

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


def configure(level: str = "WARNING") -> None:
    """Root logging to stderr at `level`; access logs of uvicorn pass through the filter too.

    The level is the stderr handler's as well as the root's, so that a client's
    `logging/setLevel` may lower this package's loggers for its own requests
    (`tools.protocol.ClientLogging`) without more reaching stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    handler.setLevel(level)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn.access", "uvicorn.error", "httpx2", "authlib"):
        logging.getLogger(name).addFilter(RedactingFilter())
