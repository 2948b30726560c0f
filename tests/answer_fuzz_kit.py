"""Changing LiveChat's real answers on their way to the server (imported, never collected).

What the answer fuzzers share (tests/tools/test_answer_fuzz.py for the read-only tools,
tests/tools/test_write_answer_fuzz.py for the writes): the mutations of a JSON answer deep in its
structure (`mutate`, one `Change` of one answer), the transport wrapper that applies them to the
sandbox's own answers (`EveryAnswer` with `mutating_rule`), and the log handler that keeps the
exceptions the tool boundary logged as unexpected (`Crashes`).
"""

from __future__ import annotations

import copy
import json
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2

from tests.other_readings import Forward, OtherReading

INTERNAL = "internal error in the server"
# every LiveChat API answer a tool reads (accounts too: the connection tools read only it)
MARKERS = ("/action/", "/reports/", "/accounts/v2/")


# ------------------------------------------------------------------ the mutations

KINDS = (
    "drop", "null", "str", "empty_str", "numeric_str", "zero", "negative", "float", "big", "true",
    "list", "object", "wrap", "empty", "unknown_key", "duplicate", "rename_key",
    "overflow", "huge_int", "naive_time", "date_only", "far_future", "far_past", "deep",
)  # fmt: skip
# 1e400 is a JSON number (RFC 8259 sets no range) that no double holds: parsers read infinity
OVERFLOW = "\u0000overflow\u0000"
# valid JSON nested past any parser's stack (Python's json recurses once a level, ~1,000 at most)
DEEP = "\u0000deep\u0000"


def dumps(doc: Any) -> bytes:
    """`doc` as JSON, with `OVERFLOW` written as the number 1e400 and `DEEP` as 200,000 nested arrays (past any recursion limit a test may have raised)."""
    text = json.dumps(doc).replace(json.dumps(OVERFLOW), "1e400")
    return text.replace(json.dumps(DEEP), "[" * 200_000 + "]" * 200_000).encode()


Path = tuple[str, ...]  # keys; "*" is every item of a list


def shapes(doc: Any) -> list[Path]:
    """Every path of `doc`, list items taken together (`events/*/text`), in document order."""
    seen: dict[Path, None] = {}

    def walk(node: Any, path: Path) -> None:
        seen.setdefault(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, (*path, str(k)))
        elif isinstance(node, list):
            for item in node:
                walk(item, (*path, "*"))

    walk(doc, ())
    return list(seen)


def _nodes(doc: Any, path: Path) -> list[tuple[Any, Any, Any]]:
    """(parent, key, node) of every node at `path` (parent None: the whole answer)."""
    found: list[tuple[Any, Any, Any]] = []

    def walk(parent: Any, key: Any, node: Any, rest: Path) -> None:
        if not rest:
            found.append((parent, key, node))
        elif rest[0] == "*" and isinstance(node, list):
            for i, item in enumerate(node):
                walk(node, i, item, rest[1:])
        elif isinstance(node, dict) and rest[0] in node:
            walk(node, rest[0], node[rest[0]], rest[1:])

    walk(None, None, doc, path)
    return found


def _changed(node: Any, kind: str) -> Any:
    """The value that replaces `node`."""
    if kind == "empty":
        return type(node)() if isinstance(node, list | dict | str) else 0
    if kind == "unknown_key":
        if isinstance(node, dict):
            return {**node, "zz_unknown": {"nested": [1, "x", None]}}
        if isinstance(node, list):
            return [*node, {"zz_unknown": 1}]
        return {"zz_unknown": node}
    if kind == "duplicate":
        return [*node, copy.deepcopy(node[0])] if isinstance(node, list) and node else [node, node]
    if kind == "numeric_str":
        return str(node) if isinstance(node, int | float) and not isinstance(node, bool) else "123"
    return {
        "null": None, "str": "x", "empty_str": "", "zero": 0, "negative": -1, "float": 1.5,
        "big": 2**63, "true": True, "list": [], "object": {}, "wrap": [node],
        "overflow": OVERFLOW, "deep": {"deep": DEEP}, "huge_int": 10**30, "naive_time": "2026-11-03T10:00:00",
        "date_only": "2026-11-03", "far_future": "9999-12-31T23:59:59.999999Z",
        "far_past": "0001-01-01T00:00:00Z",
    }[kind]  # fmt: skip


def mutate(doc: Any, path: Path, kind: str) -> Any:
    """`doc` with every node at `path` changed by `kind` (`doc` itself is left as it is)."""
    doc = copy.deepcopy(doc)
    for parent, key, node in reversed(_nodes(doc, path)):  # reversed: removals keep indices valid
        if parent is None:
            return {} if kind in ("drop", "rename_key") else _changed(node, kind)
        if kind == "drop":
            del parent[key]
        elif kind == "rename_key" and isinstance(parent, dict):
            parent["zz_renamed"] = parent.pop(key)
        else:
            parent[key] = _changed(node, "unknown_key" if kind == "rename_key" else kind)
    return doc


@dataclass(frozen=True)
class Change:
    call: int  # which of the tool's LiveChat requests is answered changed (0 = the first)
    path: Path
    kind: str

    def __str__(self) -> str:
        return f"answer #{self.call} /{'/'.join(self.path)}: {self.kind}"


@dataclass
class Holder:
    """What the rule reads: the changes of the current example; and what it saw."""

    changes: tuple[Change, ...] = ()
    seen: int = 0
    requests: list[str] = field(default_factory=list)
    answers: list[Any] = field(default_factory=list)  # the sandbox's own, decoded
    applied: list[str] = field(default_factory=list)

    def start(self, changes: tuple[Change, ...]) -> None:
        self.changes, self.seen, self.requests, self.answers, self.applied = changes, 0, [], [], []


class EveryAnswer(OtherReading):
    """`OtherReading` whose rules apply to every path containing their key (not only ending in it).
    A rule's `body` is `{"path": ..., "method": ...}` of the request."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        marker = next((m for m in self.rules if m in path), None)
        if marker is None:
            return await self.inner.handle_async_request(request)
        await request.aread()
        self.applied[marker] = self.applied.get(marker, 0) + 1
        where = {"path": path, "method": request.method}
        return await self.rules[marker](where, lambda: self.inner.handle_async_request(request))


def changed_answer(response: httpx2.Response, doc: Any) -> httpx2.Response:
    """`response` (a success) with `doc` as its body."""
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    headers["content-type"] = "application/json"
    return httpx2.Response(200, headers=headers, content=dumps(doc))


def mutating_rule(holder: Holder) -> Callable[[dict[str, Any], Forward], Any]:
    async def rule(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        response = await forward()
        raw = await response.aread()
        index, holder.seen = holder.seen, holder.seen + 1
        holder.requests.append(body["path"])
        doc = json.loads(raw) if response.status_code == 200 and raw else None
        holder.answers.append(doc)
        mine = [c for c in holder.changes if c.call == index]
        if doc is None or not mine:
            return httpx2.Response(response.status_code, headers=response.headers, content=raw)
        for change in mine:
            doc = mutate(doc, change.path, change.kind)
            holder.applied.append(f"{body['path']} {change}")
        return changed_answer(response, doc)

    return rule


# ------------------------------------------------------------------ the server


class Crashes(logging.Handler):
    """The exceptions the tool boundary logged as unexpected."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and "failed unexpectedly" in str(record.msg):
            self.records.append(record)

    def last(self) -> str:
        if not self.records:
            return "(nothing logged)"
        exc_type, exc, tb = self.records[-1].exc_info  # type: ignore[misc]
        frames = [f for f in traceback.extract_tb(tb) if "mcp_livechat" in f.filename]
        where = "\n".join(f"  {f.filename.split('mcp_livechat/')[-1]}:{f.lineno} in {f.name}: {f.line}"
                          for f in frames[-4:])  # fmt: skip
        return f"{exc_type.__name__}: {exc}\n{where}"  # type: ignore[union-attr]


def result_text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)
