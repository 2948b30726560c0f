"""Refresh errors that help, against the sandbox's faults on the token endpoint: `Retry-After` is
honoured (up to a cap), a dropped answer or a 5xx is retried within the retry budget (a
confidential client's refresh is safe to repeat), and what is left after the budget is one clear
message per case; the grant is always kept."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mcp_livechat.connect.connections import OAuthConnections
from mcp_livechat.connect.crypto import Sealer
from mcp_livechat.connect.identity import LOCAL
from mcp_livechat.connect.oauth import LiveChatOAuth, OAuthApp
from mcp_livechat.connect.sqlite_store import SqliteTokenStore
from mcp_livechat.connect.store import StoredToken
from mcp_livechat.errors import LiveChatError, RateLimited, ServerError, TransportError
from mcp_livechat.livechat import LiveChatHttp, RetryPolicy, default_http_client
from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.server import create_server
from tests.conftest import SANDBOX_URL
from tests.connect.flow_kit import KEY_1, oauth_settings

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, max_retry_after=2.0)


def expired_token(sandbox: Sandbox) -> StoredToken:
    minted = sandbox.mint_token(constants.AGENT_EMAIL)
    now = time.time()
    return StoredToken(
        access_token=str(minted["access_token"]), refresh_token=str(minted["refresh_token"]),
        expires_at=now - 60, scope=str(minted["scope"]), account_id=str(minted["account_id"]),
        client_id=constants.CLIENT_ID, obtained_at=now - 28860,
    )  # fmt: skip


@pytest.fixture
async def service(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[OAuthConnections]:
    store = SqliteTokenStore(tmp_path / "tokens.db", Sealer([base64.b64decode(KEY_1)]))
    await store.put(LOCAL, expired_token(sandbox))
    app = OAuthApp(constants.CLIENT_ID, constants.CLIENT_SECRET, f"{SANDBOX_URL}/accounts")
    async with default_http_client(transport=sandbox.transport()) as client:
        yield OAuthConnections(
            store=store,
            oauth=LiveChatOAuth(app, sandbox.transport(), retry=FAST),
            http=LiveChatHttp(client, SANDBOX_URL, f"{SANDBOX_URL}/accounts", "3.6"),
            redirect_uri="http://mcp.test/integration-callback",
            link_base="http://mcp.test",
        )
    await store.close()


@pytest.mark.parametrize(
    ("fault", "refreshed"),
    [
        ({"kind": "rate_limit", "retry_after": 0.3}, 1),
        ({"kind": "rate_limit"}, 1),  # no Retry-After: the backoff decides
        ({"kind": "server_error"}, 1),
        ({"kind": "server_error", "status": 503}, 1),
        ({"kind": "html", "status": 502}, 1),
        ({"kind": "drop", "after_processing": False}, 1),
        ({"kind": "drop"}, 2),  # LiveChat refreshed, the answer was lost: refreshing again is safe
    ],
    ids=["429 Retry-After", "429", "500", "503", "502 page", "drop before", "drop after"],
)
async def test_a_passing_fault_is_retried_and_the_refresh_succeeds(
    service: OAuthConnections, sandbox: Sandbox, fault: dict[str, Any], refreshed: int
) -> None:
    sandbox.faults.add(methods=["token"], **fault)
    before = await service.store.get(LOCAL)
    started = time.monotonic()
    fresh = await service.fresh(LOCAL)
    assert before is not None and fresh.access_token != before.access_token
    assert fresh.refresh_token == before.refresh_token
    assert sandbox.stats.requests["token"] == 2 and sandbox.stats.counter("token_refreshed") == refreshed
    assert (await service.store.get(LOCAL)) == fresh
    if fault.get("retry_after"):
        assert time.monotonic() - started >= fault["retry_after"]  # Retry-After honoured


@pytest.mark.parametrize(
    ("fault", "error", "says", "requests"),
    [
        ({"kind": "rate_limit", "retry_after": 1, "count": 3}, RateLimited,
         "rate limiting the token refresh. Retry after 1 second.", 3),
        ({"kind": "rate_limit", "retry_after": 60}, RateLimited,
         "rate limiting the token refresh. Retry after 60 seconds.", 1),  # past the cap: not waited for
        ({"kind": "server_error", "status": 503, "count": 3}, ServerError,
         "failed the token refresh (HTTP 503). This is on LiveChat's side; retry in a moment.", 3),
        ({"kind": "drop", "count": 3}, TransportError,
         "could not be reached during the token refresh ... retry in a moment.", 3),
    ],
    ids=["429 x3", "429 long wait", "503 x3", "drop x3"],
)  # fmt: skip
async def test_what_the_budget_cannot_fix_is_one_clear_message(
    service: OAuthConnections, sandbox: Sandbox, fault: dict[str, Any], error: type[LiveChatError],
    says: str, requests: int,
) -> None:  # fmt: skip
    sandbox.faults.add(methods=["token"], **fault)
    before = await service.store.get(LOCAL)
    with pytest.raises(error) as raised:
        await service.fresh(LOCAL)
    text = str(raised.value)
    first, _, last = says.partition(" ... ")
    assert first in text and text.endswith(last or first), text
    assert text.lower().count("retry") == 1, text  # one piece of advice, not two
    assert sandbox.stats.requests["token"] == requests
    assert await service.store.get(LOCAL) == before  # the grant is kept


async def test_the_model_reads_when_to_retry(sandbox: Sandbox, tmp_path: Path) -> None:
    store = SqliteTokenStore(tmp_path / "tokens.db", Sealer([base64.b64decode(KEY_1)]))
    await store.put(LOCAL, expired_token(sandbox))
    sandbox.faults.add("rate_limit", methods=["token"], retry_after=45)
    server = create_server(
        oauth_settings(SANDBOX_URL, tmp_path), store=store, transport=sandbox.transport()
    ).server
    async with Client(server) as client:
        result = await client.call_tool("list_groups", {})
        again = await client.call_tool("list_groups", {})
    assert result.is_error
    assert result.content[0].text == (  # type: ignore[union-attr]
        "LiveChat error in token refresh (temporarily_unavailable): LiveChat's accounts server is rate "
        "limiting the token refresh. Retry after 45 seconds."
    )
    assert not again.is_error  # the grant was kept: the next call refreshes
    await store.close()


def test_retry_after_reads_as_english() -> None:
    assert str(RateLimited("busy", retry_after=1, status=429, type="too_many_requests")).endswith(
        "Retry after 1 second."
    )
    assert "Retry after 2 seconds." in str(RateLimited("busy", retry_after=2, status=429, type="x"))
    assert "Retry after 0.5 seconds." in str(RateLimited("busy", retry_after=0.5, status=429, type="x"))
