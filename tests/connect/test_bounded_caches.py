"""The per-person caches are bounded (tokens, agent e-mails, the sealer's derived keys) and an
eviction costs only a re-read: the person keeps their grant, the one-refresh rule holds while the
caches churn, and no refresh lock is dropped while it is held.

Real parts: the sandbox's accounts server through its transport, a real SQLite store whose
statements are counted through sqlite3's own trace hook."""

from __future__ import annotations

import asyncio
import base64
import gc
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

from mcp_livechat.connect.connections import OAuthConnections
from mcp_livechat.connect.crypto import Sealer
from mcp_livechat.connect.identity import Principal
from mcp_livechat.connect.oauth import LiveChatOAuth, OAuthApp
from mcp_livechat.connect.sqlite_store import SqliteTokenStore
from mcp_livechat.connect.store import StoredToken
from mcp_livechat.livechat import LiveChatHttp, default_http_client
from mcp_livechat.sandbox import Sandbox, constants
from tests.conftest import SANDBOX_URL
from tests.connect.flow_kit import KEY_1, stored_token

BOUND = 64
PEOPLE = [Principal(f"tenant-{i}", f"person-{i}") for i in range(5000)]
ALICE = Principal("acme", "alice")


@dataclass
class Service:
    connections: OAuthConnections
    store: SqliteTokenStore
    sealer: Sealer
    statements: list[str]

    def reads_of(self, principal: Principal) -> list[str]:
        """The SELECTs of `principal`'s token row since the last `statements.clear()`."""
        return [s for s in self.statements if s.startswith("SELECT") and f"'{principal.user}'" in s]


class HeldRefresh(httpx2.AsyncBaseTransport):
    """The sandbox's transport, except that a token request waits at this seam until `release`
    is set: the refresh lasts exactly as long as the test needs, on any machine."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/token"):
            self.arrived.set()
            await self.release.wait()
        return await self.inner.handle_async_request(request)


async def _service(
    sandbox: Sandbox, tmp: Path, bound: int, oauth_transport: httpx2.AsyncBaseTransport | None = None
) -> AsyncIterator[Service]:
    sealer = Sealer([base64.b64decode(KEY_1)], cache_size=bound)
    store = SqliteTokenStore(tmp / "tokens.db", sealer)
    statements: list[str] = []
    assert store._conn is not None
    store._conn.set_trace_callback(statements.append)  # the real statements the store runs
    app = OAuthApp(constants.CLIENT_ID, constants.CLIENT_SECRET, f"{SANDBOX_URL}/accounts")
    async with default_http_client(transport=sandbox.transport()) as client:
        connections = OAuthConnections(
            store=store,
            oauth=LiveChatOAuth(app, oauth_transport or sandbox.transport()),
            http=LiveChatHttp(client, SANDBOX_URL, f"{SANDBOX_URL}/accounts", "3.6"),
            redirect_uri="http://mcp.test/integration-callback",
            link_base="http://mcp.test",
            cache_size=bound,
        )
        yield Service(connections, store, sealer, statements)
    await store.close()


@pytest.fixture
async def service(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Service]:
    async for built in _service(sandbox, tmp_path, BOUND):
        yield built


@pytest.fixture
async def tiny(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Service]:
    """Room for one person only: each next person evicts the last."""
    async for built in _service(sandbox, tmp_path, 1):
        yield built


@pytest.fixture
def held(sandbox: Sandbox) -> HeldRefresh:
    return HeldRefresh(sandbox.transport())


@pytest.fixture
async def tiny_held(sandbox: Sandbox, tmp_path: Path, held: HeldRefresh) -> AsyncIterator[Service]:
    """Room for one person, and token refreshes that wait for `held.release`."""
    async for built in _service(sandbox, tmp_path, 1, held):
        yield built


def _valid(sandbox: Sandbox) -> StoredToken:
    return stored_token(sandbox.mint_token(constants.AGENT_EMAIL), expires_at=time.time() + 28000)


async def test_five_thousand_people_keep_every_cache_at_its_bound(sandbox: Sandbox, service: Service) -> None:
    token = _valid(sandbox)
    for person in PEOPLE:
        await service.store.put(person, token)
    conn = service.connections
    for person in PEOPLE:
        assert (await conn.fresh(person)).access_token == token.access_token
    for person in PEOPLE[:500]:  # asks LiveChat who each is (and writes it down): ~1.5 ms a person
        status = await conn.status(person)
        assert status.connected and status.email == constants.AGENT_EMAIL
    assert len(conn._cache) == BOUND and len(conn._emails) == BOUND
    assert len(service.sealer._cache) == BOUND  # one derived key per (key id, tenant): 5,000 tenants
    gc.collect()
    assert len(conn._locks) == 0  # nobody refreshes: no lock is kept for anyone
    assert sandbox.stats.requests["token"] == 0  # and nobody was refreshed to get there


async def test_an_evicted_person_gets_their_token_with_one_re_read(sandbox: Sandbox, tiny: Service) -> None:
    conn = tiny.connections
    mine = _valid(sandbox)
    await tiny.store.put(ALICE, mine)
    for person in PEOPLE[:3]:
        await tiny.store.put(person, mine)
    assert (await conn.fresh(ALICE)).access_token == mine.access_token
    tiny.statements.clear()
    assert (await conn.fresh(ALICE)).access_token == mine.access_token
    assert tiny.reads_of(ALICE) == []  # cached: no store read

    for person in PEOPLE[:3]:
        await conn.fresh(person)
    assert ALICE not in conn._cache  # evicted
    tiny.statements.clear()
    assert (await conn.fresh(ALICE)).access_token == mine.access_token
    reads = tiny.reads_of(ALICE)  # one re-read of her row: its state, then the sealed token
    assert len(reads) == 2 and "state" in reads[0] and reads[1].startswith("SELECT sealed FROM tokens")
    assert sandbox.stats.requests["token"] == 0  # no refresh, no new sign-in: the grant was never lost
    grant = await tiny.store.grant(ALICE)
    assert grant is not None and grant.state == "connected"
    status = await conn.status(ALICE)  # the e-mail cache is as forgiving: LiveChat is asked again
    assert status.connected and status.email == constants.AGENT_EMAIL


async def test_one_refresh_for_many_calls_while_the_caches_churn(
    sandbox: Sandbox, tiny_held: Service, held: HeldRefresh
) -> None:
    conn = tiny_held.connections
    others, valid = PEOPLE[:200], _valid(sandbox)  # one token for all (LiveChat keeps 25 per agent)
    for person in others:
        await tiny_held.store.put(person, valid)
    minted = sandbox.mint_token(constants.AGENT_EMAIL)
    await tiny_held.store.put(ALICE, stored_token(minted, expires_at=time.time() - 60))

    waiting = [asyncio.create_task(conn.fresh(ALICE)) for _ in range(50)]
    churned = 0

    async def churn() -> None:  # evicts Alice's token over and over, during her refresh and after
        nonlocal churned
        while not all(task.done() for task in waiting):
            await conn.fresh(others[churned % len(others)])
            churned += 1
            if churned == 2 * len(others) + 1:  # the cache of one has turned over many times
                held.release.set()  # so the refresh may answer now

    await asyncio.wait_for(held.arrived.wait(), 10)  # the refresh is at LiveChat's door
    lock = conn._locks.get(ALICE)
    assert lock is not None and lock.locked(), "the refresh runs without its lock"
    churning = asyncio.create_task(churn())
    await asyncio.sleep(0)
    gc.collect()
    assert conn._locks.get(ALICE) is lock and lock.locked()  # a held lock is never dropped
    fresh = await asyncio.wait_for(asyncio.gather(*waiting), 60)
    await churning

    assert churned > 2 * len(others)  # the cache of one turned over many times meanwhile
    assert sandbox.stats.counter("token_refreshed") == 1 and sandbox.stats.requests["token"] == 1
    assert {t.access_token for t in fresh} == {fresh[0].access_token} != {str(minted["access_token"])}
    stored = await tiny_held.store.get(ALICE)
    assert stored is not None and stored.access_token == fresh[0].access_token
    del lock
    gc.collect()
    assert len(conn._locks) == 0  # released: the lock map keeps nobody once the refresh is over
