"""Shared fixtures: a fresh LiveChat sandbox per test, clients wired to it through real HTTP seams
(`httpx2` transports into the sandbox's ASGI app, or a real loopback port), and a recorder of the
exact requests our client sent.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx2
import pytest

from mcp_livechat.livechat import (
    LiveChat,
    LiveChatHttp,
    RetryPolicy,
    StaticCredentials,
    basic,
    bearer,
    default_http_client,
)
from mcp_livechat.sandbox import Sandbox, constants

pytest.register_assert_rewrite("tests.helpers")

SANDBOX_URL = "http://sandbox.test"
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.01, max_retry_after=2.0)


@dataclass
class Sent:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Recorder(httpx2.AsyncBaseTransport):
    """Passes requests to the sandbox and keeps what was sent, for exact-request assertions."""

    inner: httpx2.AsyncBaseTransport
    sent: list[Sent] = field(default_factory=list)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        raw = await request.aread()
        body: Any = (
            json.loads(raw)
            if raw and request.headers.get("content-type", "").startswith("application/json")
            else raw
        )
        self.sent.append(
            Sent(request.method, request.url.path, {k.lower(): v for k, v in request.headers.items()}, body)
        )
        return await self.inner.handle_async_request(request)

    def last(self, path_suffix: str = "") -> Sent:
        return next(s for s in reversed(self.sent) if s.path.endswith(path_suffix))


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """The seeded sandbox; `@pytest.mark.parametrize("sandbox", [...], indirect=True)` passes
    `refusal_status` (one HTTP status for every refusal, since LiveChat documents none)."""
    sb = Sandbox(refusal_status=getattr(request, "param", None))
    yield sb
    harvest(sb)


@pytest.fixture
def recorder(sandbox: Sandbox) -> Recorder:
    return Recorder(sandbox.transport())


@pytest.fixture
async def lc_http(recorder: Recorder) -> AsyncIterator[LiveChatHttp]:
    async with default_http_client(transport=recorder) as client:
        yield LiveChatHttp(client, SANDBOX_URL, f"{SANDBOX_URL}/accounts", "3.6", FAST_RETRY)


@pytest.fixture
def as_pat(lc_http: LiveChatHttp) -> Callable[..., LiveChat]:
    """A client acting with a seeded PAT (account A's owner unless told otherwise)."""

    def make(account_id: str = constants.ACCOUNT_ID, pat: str = constants.PAT) -> LiveChat:
        return LiveChat(lc_http.bind(StaticCredentials(basic(account_id, pat))))

    return make


@pytest.fixture
def as_token(lc_http: LiveChatHttp, sandbox: Sandbox) -> Callable[..., LiveChat]:
    """A client acting with an OAuth access token minted by the sandbox."""

    def make(email: str = constants.AGENT_EMAIL, scopes: list[str] | None = None) -> LiveChat:
        token = sandbox.mint_token(email, scopes=scopes)
        return LiveChat(lc_http.bind(StaticCredentials(bearer(token["access_token"]))))

    return make


@pytest.fixture
def lc(as_pat: Callable[..., LiveChat]) -> LiveChat:
    return as_pat()


# ------------------------------------------------------------------------- secrets in logs
#
# Every log record of the whole suite, at DEBUG, is scanned for token-like strings; at the end they
# are checked against every secret the suite handled: each sandbox's access and refresh tokens and
# authorization codes, the seeded PATs and the client secret. A leak fails the run.

_SECRETS: set[str] = {constants.PAT, constants.CLIENT_SECRET, constants.FRA_PAT, constants.NORMAL_AGENT_PAT}
_CANDIDATE = re.compile(r"[A-Za-z0-9_\-:%]{12,}")  # what tokens, codes and PATs are made of


def harvest(sb: Sandbox) -> None:
    """Remember every token and code this sandbox issued (call when done with it)."""
    tokens = sb.state.tokens
    _SECRETS.update(tokens.access, tokens.refresh, tokens.codes)


class SecretAudit(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.candidates: dict[str, str] = {}  # candidate -> the logger that wrote it first
        self.records = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        self.records += 1
        for found in _CANDIDATE.findall(message):
            text = unquote(found)  # dal%3A... -> dal:...
            parts = text.split(":")
            # every ':'-bounded tail ("x:dal:abc" -> "x:dal:abc", "dal:abc", "abc") and every part
            for candidate in [":".join(parts[i:]) for i in range(len(parts))] + parts:
                self.candidates.setdefault(candidate, f"{record.name}: {message[:160]}")

    def leaks(self, secrets: set[str]) -> set[str]:
        return self.candidates.keys() & secrets

    def where(self, secret: str) -> str:
        return self.candidates[secret].replace(secret, secret[:6] + "<...>")


AUDIT = SecretAudit()


@pytest.fixture(autouse=True, scope="session")
def _secret_audit() -> Iterator[SecretAudit]:
    root = logging.getLogger()
    old = root.level
    root.addHandler(AUDIT)
    root.setLevel(logging.DEBUG)
    yield AUDIT
    root.removeHandler(AUDIT)
    root.setLevel(old)
    if AUDIT.records < 100:
        return  # a handful of tests selected: nothing meaningful to audit
    leaked = AUDIT.leaks(_SECRETS)
    assert not leaked, (
        f"{len(leaked)} secret(s) in log records, e.g. {[AUDIT.where(x) for x in list(leaked)[:3]]}"
    )


# ------------------------------------------------------------------------- MCP server fixtures


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's own LIVECHAT_* settings."""
    import os

    for name in list(os.environ):
        if name.startswith("LIVECHAT_"):
            monkeypatch.delenv(name)


def sandbox_settings(**overrides: Any) -> Any:
    from mcp_livechat.cli import sandbox_settings as point_at_sandbox
    from mcp_livechat.config import load_settings

    return point_at_sandbox(load_settings(**overrides), SANDBOX_URL)


@pytest.fixture(params=["auto", "legacy"], ids=["2026-07-28", "2025-11-25"])
def era(request: pytest.FixtureRequest) -> str:
    """Both protocol eras: `auto` in-process is 2026-07-28; `legacy` is the 2025-11-25 handshake."""
    return str(request.param)


@pytest.fixture
def connect(sandbox: Sandbox, era: str) -> Callable[..., Any]:
    """A factory of SDK clients to a fresh server on the sandbox: `async with connect() as c:`.

    (An open `Client` must not be yielded from an async fixture: it holds a task group.)
    """
    from mcp import Client

    from mcp_livechat.server import create_server

    def make(
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        as_agent: tuple[str, str] | None = None,
        **overrides: Any,
    ) -> Client:
        """`transport` (e.g. a `Recorder`) replaces the sandbox's own; `as_agent` is another
        seeded (account id, PAT) than the owner's."""
        settings = sandbox_settings(**overrides)
        if as_agent is not None:
            from pydantic import SecretStr

            settings = settings.model_copy(update={"account_id": as_agent[0], "pat": SecretStr(as_agent[1])})
        server, _ = create_server(settings, transport=transport or sandbox.transport())
        return Client(server, mode=era)  # type: ignore[arg-type]

    return make
