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


def configure(level: str = "WARNING") -> None:
    """Root logging to stderr at `level`; access logs of uvicorn pass through the filter too."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn.access", "uvicorn.error", "httpx2", "authlib"):
        logging.getLogger(name).addFilter(RedactingFilter())
