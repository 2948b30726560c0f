"""Token-store fixtures: real SQLite files in tmp_path, the real PostgreSQL in a throwaway schema.

PostgreSQL is never skipped: if it is unreachable the tests that need it FAIL, loudly (CI starts
it). Point them elsewhere with MCP_LIVECHAT_TEST_POSTGRES_URL (read once, at import, because the
suite's autouse fixture clears LIVECHAT_* variables).

`StoreContract` holds the behaviour every `TokenStore` must have; `test_sqlite_store.py` and
`test_postgres_store.py` run it against their backend (a `Backend` fixture).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import pytest

from mcp_livechat.connect.crypto import Sealer, SealError
from mcp_livechat.connect.identity import Principal
from mcp_livechat.connect.postgres_store import PostgresTokenStore, advisory_key
from mcp_livechat.connect.sqlite_store import SqliteTokenStore
from mcp_livechat.connect.store import PendingAuthorization, StoredToken, TokenStore

PG_URL = os.environ.get("MCP_LIVECHAT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))
KEY_C = bytes(range(200, 232))

ALICE = Principal("acme", "alice")
BOB = Principal("acme", "bob")
ALICE_ELSEWHERE = Principal("globex", "alice")


def make_token(tag: str = "1", *, expires_at: float = 2_000_000_000.0) -> StoredToken:
    return StoredToken(
        access_token=f"dal:ACCESS-{tag}-{uuid.uuid4().hex}",
        refresh_token=f"dal:REFRESH-{tag}-{uuid.uuid4().hex}",
        expires_at=expires_at,
        scope="chats--all:ro,customers:ro",
        account_id="acc-1",
        organization_id="org-1",
        client_id="client-1",
        obtained_at=1_700_000_000.0,
    )


def make_pending(principal: Principal = ALICE, *, expires_at: float | None = None) -> PendingAuthorization:
    return PendingAuthorization(
        state=f"STATE-{uuid.uuid4().hex}{uuid.uuid4().hex}",
        principal=principal,
        code_verifier=f"VERIFIER-{uuid.uuid4().hex}{uuid.uuid4().hex}",
        redirect_uri="http://127.0.0.1:8765/integration-callback",
        expires_at=time.time() + 600 if expires_at is None else expires_at,
    )


# ------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def pg_url() -> str:
    import psycopg

    try:
        with psycopg.connect(PG_URL, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_URL} ({exc.__class__.__name__}: {exc}). "
            "These tests need a real PostgreSQL: start one (CI does) or set MCP_LIVECHAT_TEST_POSTGRES_URL.",
            pytrace=False,
        )
    return PG_URL


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[str]:
    """A schema name no other test uses; the store creates it, teardown drops it."""
    import psycopg
    from psycopg import sql

    name = f"test_{uuid.uuid4().hex[:20]}"
    yield name
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


# ------------------------------------------------------------------------- backends


class Backend(Protocol):
    kind: str

    async def make(self, keys: Sequence[bytes] = (KEY_A,), **kw: Any) -> TokenStore: ...
    async def dump(self) -> bytes: ...
    async def move_token(self, src: Principal, dst: Principal) -> None: ...
    async def move_pending(self, dst: Principal) -> None: ...
    async def token_key_ids(self) -> dict[str, str]: ...
    async def wait_until_blocked(self, store: TokenStore, principal: Principal) -> None: ...
    async def close_all(self) -> None: ...


class SqliteBackend:
    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stores: list[SqliteTokenStore] = []

    async def make(self, keys: Sequence[bytes] = (KEY_A,), **kw: Any) -> SqliteTokenStore:
        store = SqliteTokenStore(self.path, Sealer(keys), **kw)
        self.stores.append(store)
        return store

    def _execute(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        conn = sqlite3.connect(self.path, timeout=5)
        try:
            with conn:
                return conn.execute(statement, params).fetchall()
        finally:
            conn.close()

    async def dump(self) -> bytes:
        parts = [self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-journal")]
        return b"".join(p.read_bytes() for p in parts if p.exists())

    async def move_token(self, src: Principal, dst: Principal) -> None:
        self._execute(
            "UPDATE tokens SET tenant = ?, user_id = ? WHERE tenant = ? AND user_id = ?",
            (dst.tenant, dst.user, src.tenant, src.user),
        )

    async def move_pending(self, dst: Principal) -> None:
        self._execute("UPDATE pending SET tenant = ?, user_id = ?", (dst.tenant, dst.user))

    async def token_key_ids(self) -> dict[str, str]:
        rows = self._execute("SELECT user_id, key_id FROM tokens")
        return {user: kid for user, kid in rows}

    async def wait_until_blocked(self, store: TokenStore, principal: Principal) -> None:
        # nothing observable while a lease is polled: give the waiter several poll rounds
        await asyncio.sleep(0.15)

    async def close_all(self) -> None:
        for store in self.stores:
            await store.close()


class PostgresBackend:
    kind = "postgres"

    def __init__(self, url: str, schema: str) -> None:
        self.url = url
        self.schema = schema
        self.stores: list[PostgresTokenStore] = []

    async def make(self, keys: Sequence[bytes] = (KEY_A,), **kw: Any) -> PostgresTokenStore:
        store = PostgresTokenStore(self.url, Sealer(keys), schema=self.schema, **kw)
        self.stores.append(store)
        await store.open()
        return store

    async def _execute(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        import psycopg
        from psycopg import sql

        query = sql.SQL(statement).format(schema=sql.Identifier(self.schema))
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            cur = await conn.execute(query, params)
            return await cur.fetchall() if cur.description else []

    async def dump(self) -> bytes:
        out = b""
        for table in ("livechat_tokens", "livechat_pending"):
            rows = await self._execute(
                "SELECT convert_to(t::text, 'UTF8'), sealed FROM {schema}." + table + " t"  # noqa: S608
            )
            out += b"".join(bytes(text) + bytes(sealed) for text, sealed in rows)
        return out

    async def move_token(self, src: Principal, dst: Principal) -> None:
        await self._execute(
            "UPDATE {schema}.livechat_tokens SET tenant = %s, user_id = %s"
            " WHERE tenant = %s AND user_id = %s",
            (dst.tenant, dst.user, src.tenant, src.user),
        )

    async def move_pending(self, dst: Principal) -> None:
        await self._execute(
            "UPDATE {schema}.livechat_pending SET tenant = %s, user_id = %s", (dst.tenant, dst.user)
        )

    async def token_key_ids(self) -> dict[str, str]:
        rows = await self._execute("SELECT user_id, key_id FROM {schema}.livechat_tokens")
        return {user: kid for user, kid in rows}

    async def wait_until_blocked(self, store: TokenStore, principal: Principal) -> None:
        """Poll pg_locks until someone waits (not granted) on this principal's advisory lock."""
        key = advisory_key("refresh", self.schema, principal.key) & 0xFFFFFFFFFFFFFFFF
        classid, objid = key >> 32, key & 0xFFFFFFFF
        for _ in range(500):
            rows = await self._execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND classid = %s AND objid = %s AND objsubid = 1",
                (classid, objid),
            )
            if rows[0][0]:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("nobody waited for the advisory lock")

    async def close_all(self) -> None:
        for store in self.stores:
            await store.close()


@pytest.fixture
async def sqlite_backend(tmp_path: Path) -> AsyncIterator[SqliteBackend]:
    backend = SqliteBackend(tmp_path / "data" / "tokens.db")
    yield backend
    await backend.close_all()


@pytest.fixture
async def postgres_backend(pg_url: str, pg_schema: str) -> AsyncIterator[PostgresBackend]:
    backend = PostgresBackend(pg_url, pg_schema)
    yield backend
    await backend.close_all()


# ------------------------------------------------------------------------- the shared contract


class StoreContract:
    """What every TokenStore does. Subclasses provide a `backend` fixture."""

    async def test_get_put_delete_roundtrip(self, backend: Backend) -> None:
        store = await backend.make()
        token = make_token()
        assert await store.get(ALICE) is None
        await store.put(ALICE, token)
        assert await store.get(ALICE) == token
        assert await store.get(BOB) is None
        assert await store.get(ALICE_ELSEWHERE) is None
        assert await store.delete(ALICE) is True
        assert await store.get(ALICE) is None
        assert await store.delete(ALICE) is False

    async def test_put_is_an_upsert(self, backend: Backend) -> None:
        store = await backend.make()
        first, second = make_token("first"), make_token("second", expires_at=2_100_000_000.0)
        await store.put(ALICE, first)
        await store.put(BOB, first)
        await store.put(ALICE, second)
        assert await store.get(ALICE) == second
        assert await store.get(BOB) == first
        assert sorted(await backend.token_key_ids()) == ["alice", "bob"]

    async def test_nothing_secret_is_stored_in_clear(self, backend: Backend) -> None:
        store = await backend.make()
        token = make_token()
        pending = make_pending()
        await store.put(ALICE, token)
        await store.put_pending(pending)
        secrets = [token.access_token, token.refresh_token, pending.state, pending.code_verifier]
        raw = await backend.dump()
        assert b"alice" in raw, "the dump misses the rows: the test would prove nothing"
        for secret in secrets:
            assert secret is not None
            assert secret.encode() not in raw
            assert secret[-32:].encode() not in raw  # not even the random part
        await store.close()  # SQLite: the checkpoint moves the WAL into the main file
        raw = await backend.dump()
        for secret in secrets:
            assert secret is not None
            assert secret.encode() not in raw

    async def test_a_row_copied_to_another_principal_does_not_open(self, backend: Backend) -> None:
        store = await backend.make()
        await store.put(ALICE, make_token())
        await backend.move_token(ALICE, BOB)
        with pytest.raises(SealError) as info:
            await store.get(BOB)
        assert "cannot be decrypted" in str(info.value)
        await backend.move_token(BOB, ALICE_ELSEWHERE)  # same user id, another tenant
        with pytest.raises(SealError):
            await store.get(ALICE_ELSEWHERE)
        await backend.move_token(ALICE_ELSEWHERE, ALICE)
        assert await store.get(ALICE) is not None

    async def test_a_pending_row_copied_to_another_principal_does_not_open(self, backend: Backend) -> None:
        store = await backend.make()
        pending = make_pending(ALICE)
        await store.put_pending(pending)
        await backend.move_pending(BOB)
        with pytest.raises(SealError):
            await store.take_pending(pending.state)

    async def test_wrong_key_raises_seal_error(self, backend: Backend) -> None:
        await (await backend.make([KEY_A])).put(ALICE, make_token())
        with pytest.raises(SealError):
            await (await backend.make([KEY_C])).get(ALICE)

    async def test_key_rotation_and_reseal_all(self, backend: Backend) -> None:
        old = await backend.make([KEY_A])
        alice_token, bob_token = make_token("alice"), make_token("bob")
        await old.put(ALICE, alice_token)
        pending = make_pending(BOB)
        await old.put_pending(pending)
        id_a, id_b = Sealer([KEY_A]).primary_key_id, Sealer([KEY_B]).primary_key_id

        rotated = await backend.make([KEY_B, KEY_A])
        assert await rotated.get(ALICE) == alice_token  # old rows still open
        await rotated.put(BOB, bob_token)  # new rows are sealed with the new key
        assert await backend.token_key_ids() == {"alice": id_a, "bob": id_b}
        with pytest.raises(SealError):
            await old.get(BOB)  # a store that only knows the old key cannot read them

        assert await rotated.reseal_all() == 2  # alice's token and bob's pending authorization
        assert await backend.token_key_ids() == {"alice": id_b, "bob": id_b}
        assert await rotated.reseal_all() == 0

        new_only = await backend.make([KEY_B])  # the old key can now be retired
        assert await new_only.get(ALICE) == alice_token
        assert await new_only.get(BOB) == bob_token
        assert await new_only.take_pending(pending.state) == pending

    async def test_pending_is_single_use(self, backend: Backend) -> None:
        store = await backend.make()
        pending = make_pending()
        await store.put_pending(pending)
        assert await store.take_pending("some-other-state") is None
        taken = await store.take_pending(pending.state)
        assert taken == pending
        assert await store.take_pending(pending.state) is None

    async def test_peek_pending_reads_without_consuming(self, backend: Backend) -> None:
        store = await backend.make()
        now = time.time()
        pending = make_pending(expires_at=now + 60)
        await store.put_pending(pending)
        assert await store.peek_pending("some-other-state") is None
        assert await store.peek_pending(pending.state) == pending
        assert await store.peek_pending(pending.state) == pending  # still there
        assert await store.peek_pending(pending.state, now=now + 61) is None  # expired
        assert await store.take_pending(pending.state) == pending
        assert await store.peek_pending(pending.state) is None  # taken

    async def test_expired_pending_is_none_and_deleted(self, backend: Backend) -> None:
        store = await backend.make()
        now = time.time()
        pending = make_pending(expires_at=now + 60)
        await store.put_pending(pending)
        assert await store.take_pending(pending.state, now=now + 61) is None
        assert await store.take_pending(pending.state, now=now) is None  # it was deleted, not skipped

    async def test_purge_expired(self, backend: Backend) -> None:
        store = await backend.make()
        now = time.time()
        short, long = make_pending(expires_at=now + 100), make_pending(expires_at=now + 1000)
        await store.put_pending(short)
        await store.put_pending(long)
        assert await store.purge_expired(now=now + 500) == 1
        assert await store.purge_expired(now=now + 500) == 0
        assert await store.take_pending(short.state, now=now) is None
        assert await store.take_pending(long.state, now=now) == long

    async def test_concurrent_take_pending_has_one_winner(self, backend: Backend) -> None:
        stores = [await backend.make(), await backend.make()]
        pending = make_pending()
        await stores[0].put_pending(pending)
        results = await asyncio.gather(*(stores[i % 2].take_pending(pending.state) for i in range(20)))
        assert [r for r in results if r is not None] == [pending]

    async def test_refresh_lock_excludes_another_instance_for_the_same_principal_only(
        self, backend: Backend
    ) -> None:
        first, second = await backend.make(), await backend.make()
        order: list[str] = []
        bob_entered = asyncio.Event()

        async def second_alice() -> None:
            async with second.refresh_lock(ALICE):
                order.append("second:alice")

        async def second_bob() -> None:
            async with second.refresh_lock(BOB):
                order.append("second:bob")
                bob_entered.set()

        async with first.refresh_lock(ALICE):
            order.append("first:alice in")
            waiter = asyncio.create_task(second_alice())
            await backend.wait_until_blocked(second, ALICE)
            other = asyncio.create_task(second_bob())
            await asyncio.wait_for(bob_entered.wait(), 10)  # another principal is not blocked
            order.append("first:alice out")
        await asyncio.wait_for(asyncio.gather(waiter, other), 10)
        assert order == ["first:alice in", "second:bob", "first:alice out", "second:alice"]

    async def test_refresh_lock_serializes_coroutines_of_one_instance(self, backend: Backend) -> None:
        store = await backend.make()
        order: list[str] = []

        async def critical(name: str) -> None:
            async with store.refresh_lock(ALICE):
                order.append(f"{name} in")
                await asyncio.sleep(0)
                await asyncio.sleep(0)
                order.append(f"{name} out")

        await asyncio.wait_for(asyncio.gather(*(critical(str(i)) for i in range(5))), 10)
        assert all(order[i].split()[0] == order[i + 1].split()[0] for i in range(0, 10, 2))

    async def test_refresh_lock_is_released_when_the_body_raises(self, backend: Backend) -> None:
        first, second = await backend.make(), await backend.make()
        with pytest.raises(RuntimeError, match="boom"):
            async with first.refresh_lock(ALICE):
                raise RuntimeError("boom")
        async with asyncio.timeout(10), second.refresh_lock(ALICE):
            pass

    async def test_ping_and_close(self, backend: Backend) -> None:
        store = await backend.make()
        assert await store.ping() is True
        await store.close()
        assert await store.ping() is False
        with pytest.raises(RuntimeError, match="closed"):
            await store.get(ALICE)

    async def test_reprs_show_no_secret(self, backend: Backend) -> None:
        token, pending = make_token(), make_pending()
        text = repr(token) + repr(pending) + repr(await backend.make())
        for secret in (token.access_token, token.refresh_token, pending.state, pending.code_verifier):
            assert secret is not None
            assert secret not in text
        assert "acme" in text  # but still says whose it is
