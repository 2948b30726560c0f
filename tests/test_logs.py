"""The last-line-of-defence log redaction (mcp_livechat.logs)."""

from __future__ import annotations

import logging

from mcp_livechat.logs import RedactingFilter, redact


def test_redact_masks_tokens_codes_states_and_headers() -> None:
    line = (
        'GET /integration-callback?code=dal%3AZteg2N4chN7h4ur1L&state=2hTNp_3Vk-h_iqoqBCD85 "HTTP/1.1 200" '
        "GET /connect/0v6QxOluhgh4ipEkB9LDB8LZKNuOA8CWwGF4sejpU8g Authorization: Bearer fra:abcdefghijklmnop "
        "Basic Yjc6c2VjcmV0 token dal:qwertyuiopasdfgh"
    )
    out = redact(line)
    for secret in (
        "Zteg2N4chN7h4ur1L",
        "2hTNp_3Vk",
        "0v6QxOluhgh4",
        "abcdefghijklmnop",
        "Yjc6c2VjcmV0",
        "qwertyuiop",
    ):
        assert secret not in out
    assert "/connect/<redacted>" in out and "code=<redacted>" in out and "Bearer <redacted>" in out
    assert (
        redact("list_chats -> 200 in 3 ms (chat PJ0MRSHTDG)") == "list_chats -> 200 in 3 ms (chat PJ0MRSHTDG)"
    )


def test_the_filter_rewrites_records_and_keeps_them() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, "%s %s", ("GET", "/cb?code=dal:abcdefghij"), None
    )
    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == "GET /cb?code=<redacted>"


def test_a_tracebacks_text_is_redacted_too() -> None:
    """A library's exception may quote a header or a URL: the filter sees only the message, so
    the stderr formatter redacts the whole line, the traceback's text included."""
    import sys

    from mcp_livechat.logs import RedactingFormatter

    try:
        raise RuntimeError("refused: Authorization: Bearer fra:abcdefghijklmnop at /cb?code=dal:qwertyuiopas")
    except RuntimeError:
        record = logging.LogRecord("httpx2", logging.ERROR, __file__, 1, "request failed", (), sys.exc_info())
    line = RedactingFormatter("%(levelname)s %(name)s: %(message)s").format(record)
    assert "Traceback" in line and "RuntimeError" in line
    assert "abcdefghijklmnop" not in line and "qwertyuiopas" not in line and "Bearer <redacted>" in line
