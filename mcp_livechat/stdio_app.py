"""The stdio face of the server: one JSON-RPC message per line on stdin and stdout, and an answer
to every line, malformed ones included.

The SDK's stdio transport drops a line it cannot parse without answering, so a client that sent
garbage, truncated JSON, a batch, `jsonrpc: "1.0"` or an id that is null or an object waits
forever (HTTP answers the same input with an error). `guarded_stdio` stands between the process's
standard streams and `MCPServer.run_stdio_async` (public API, which serves `sys.stdin` and
`sys.stdout`): a reader thread checks each line with the SDK's own JSON-RPC model and passes on
only the lines the SDK will accept; every other line is answered on stdout with `-32700` (not
JSON) or `-32600` (not a JSON-RPC 2.0 message; the id echoed when it is a valid one, else null,
as JSON-RPC 2.0 section 5 says), and a line longer than `MAX_LINE` is answered `-32600` and
skipped, with its id when a top-level `"id"` can be read in its first or last `EDGE` bytes
(so that the client's request ends, instead of waiting for an answer it cannot match). Both
writers share one lock and write whole lines, so answers never interleave.

While serving, fd 0 reads the null device and fd 1 goes to stderr (as the SDK does), so a stray
print cannot corrupt the wire; both are restored on exit.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import queue
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mcp.types import (
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorData,
    JSONRPCError,
    JSONRPCNotification,
    jsonrpc_message_adapter,
)

from mcp_livechat.server import LiveChatServer

logger = logging.getLogger("mcp_livechat")

MAX_LINE = 4 * 1024 * 1024  # the SDK's HTTP body limit
EDGE = 64 * 1024  # of an oversized line, how much of each end is searched for its id


def rejection(line: str) -> bytes | None:
    """The JSON-RPC error answering `line`, or None if it is a message the SDK should handle."""
    try:
        accepted = jsonrpc_message_adapter.validate_json(line, by_name=False)
    except Exception:  # the same check the SDK's reader makes; why it failed is decided below
        accepted = None
    if accepted is not None and not isinstance(accepted, JSONRPCNotification):
        return None
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        return _error(None, PARSE_ERROR, "Parse error: the line is not JSON")
    if accepted is not None and not (isinstance(message, dict) and "id" in message):
        return None  # a notification: it has no id at all
    # A request whose id is null, an object, a boolean or a fraction parses as a notification in
    # the SDK and would go unanswered: MCP requires a string or integer id, never null.
    if isinstance(message, list):
        return _error(
            None, INVALID_REQUEST, "Invalid Request: batches are not supported; send one message per line"
        )
    ident = message.get("id") if isinstance(message, dict) else None
    if isinstance(ident, bool) or not isinstance(ident, str | int):
        ident = None
    return _error(
        ident,
        INVALID_REQUEST,
        'Invalid Request: not a JSON-RPC 2.0 message (it needs "jsonrpc": "2.0", a "method" and a string or '
        "integer id, or a result or error for an id)",
    )


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_LAST_ID = re.compile(rb'"id"\s*:\s*(-?[0-9]+|"(?:[^"\\]|\\.)*")\s*}\s*$')


def oversized_id(head: bytes, tail: bytes) -> str | int | None:
    """The id of a line too long to parse, from its ends: a top-level `"id"` before the bulk
    (read in `head`, keeping track of nesting), or the object's last member (in `tail`: the
    closing brace after it is the outermost one)."""
    found = _top_level_id(head.decode("utf-8", errors="replace"))
    if found is None and (last := _LAST_ID.search(tail.rstrip(b"\r\n"))) is not None:
        found = _as_id(last.group(1).decode("utf-8", errors="replace"))
    return found


def _top_level_id(text: str) -> str | int | None:
    depth, i = 0, 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            string = _STRING.match(text, i)
            if string is None:
                return None  # cut inside a string: no id before it
            end = string.end()
            try:
                key = json.loads(string.group())
            except ValueError:  # an escape JSON does not have, a raw control character
                key = None
            rest = text[end:].lstrip()
            if depth == 1 and key == "id" and rest.startswith(":"):
                return _as_id(rest[1:].lstrip())
            i = end
            continue
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        i += 1
    return None


def _as_id(text: str) -> str | int | None:
    """A JSON-RPC id (a string or an integer) at the start of `text`, else None."""
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except ValueError:
        return None
    return (
        value if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)) else None
    )


def _error(ident: str | int | None, code: int, message: str) -> bytes:
    error = JSONRPCError(jsonrpc="2.0", id=ident, error=ErrorData(code=code, message=message))
    return error.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n"


class _Wire:
    """The real stdout: whole lines, one writer at a time."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self._lock:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view) :]


class _Output(io.RawIOBase):
    """What the SDK writes to: assembled into lines, each written whole."""

    def __init__(self, wire: _Wire) -> None:
        self._wire = wire
        self._partial = b""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._partial += chunk
        if b"\n" in self._partial:
            complete, _, self._partial = self._partial.rpartition(b"\n")
            self._wire.write(complete + b"\n")
        return len(chunk)


class _Input(io.RawIOBase):
    """What the SDK reads: the lines the reader thread accepted, then EOF."""

    def __init__(self, lines: queue.Queue[bytes | None]) -> None:
        self._lines = lines
        self._rest = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._rest:
            if self._eof:
                return 0
            line = self._lines.get()
            if line is None:
                self._eof = True
                return 0
            self._rest = line
        n = min(len(buffer), len(self._rest))
        buffer[:n] = self._rest[:n]
        self._rest = self._rest[n:]
        return n


class _Guard:
    def __init__(self) -> None:
        self.source = os.dup(0)
        self.wire = _Wire(os.dup(1))
        self.lines: queue.Queue[bytes | None] = queue.Queue(maxsize=64)
        self.stdin = io.TextIOWrapper(io.BufferedReader(_Input(self.lines)), encoding="utf-8")
        self.stdout = io.TextIOWrapper(io.BufferedWriter(_Output(self.wire)), encoding="utf-8")
        self._reader = threading.Thread(target=self._read, name="stdio-guard", daemon=True)

    def start(self) -> None:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(2, 1)
        self._reader.start()

    def stop(self) -> None:
        with contextlib.suppress(queue.Full):
            self.lines.put_nowait(None)  # unblocks a reader of `stdin` that is still waiting
        os.dup2(self.source, 0)
        os.dup2(self.wire.fd, 1)

    def _read(self) -> None:
        with os.fdopen(self.source, "rb", closefd=False) as source:
            while raw := source.readline(MAX_LINE + 1):
                if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
                    tail = raw[-EDGE:]
                    while more := source.readline(MAX_LINE):
                        tail = (tail + more)[-EDGE:]
                        if more.endswith(b"\n"):
                            break
                    try:
                        ident = oversized_id(raw[:EDGE], tail)
                    except Exception:  # a best effort: the line is answered whatever is in it
                        ident = None
                    self.wire.write(
                        _error(ident, INVALID_REQUEST, f"Invalid Request: a line over {MAX_LINE} bytes")
                    )
                    continue
                text = raw.decode("utf-8", errors="replace")  # as the SDK decodes it
                if not text.strip():
                    continue
                answer = rejection(text)
                if answer is None:
                    self.lines.put(text.encode("utf-8"))
                else:
                    logger.info("answered a malformed stdio line (%d bytes) with an error", len(raw))
                    self.wire.write(answer)
        self.lines.put(None)


@contextmanager
def guarded_stdio() -> Iterator[None]:
    """Serve `sys.stdin` / `sys.stdout` to the SDK through the guard (see the module docstring)."""
    guard = _Guard()
    saved = sys.stdin, sys.stdout
    guard.start()
    sys.stdin, sys.stdout = guard.stdin, guard.stdout
    try:
        yield
    finally:
        sys.stdin, sys.stdout = saved
        guard.stop()


async def serve_stdio(built: LiveChatServer) -> None:
    """The server on stdio. The runtime (the token store above all) opens first, so a configuration
    problem stops the process with its one line before any input is read."""
    async with built.runtime:
        with guarded_stdio():
            await built.server.run_stdio_async()
