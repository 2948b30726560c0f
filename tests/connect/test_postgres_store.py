"""The PostgreSQL store: the shared contract on the real database (a throwaway schema per test)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_livechat.connect.crypto import Sealer
from mcp_livechat.connect.postgres_store import PostgresTokenStore
from mcp_livechat.connect.store import open_store
from mcp_livechat.errors import ConfigurationError
from tests.connect.conftest import ALICE, BOB, KEY_A, PostgresBackend, StoreContract, make_token


class TestPostgresContract(StoreContract):
    @pytest.fixture
    def backend(self, postgres_backend: PostgresBackend) -> PostgresBackend:
        return postgres_backend


async def test_tables_live_in_the_given_schema(postgres_backend: PostgresBackend) -> None:
    store = await postgres_backend.make()
    await store.put(ALICE, make_token())
    rows = await postgres_backend._execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = %s ORDER BY table_name, ordinal_position",
        (postgres_backend.schema,),
    )
    columns = {(t, c): d for t, c, d in rows}
    assert {t for t, _ in columns} == {"livechat_meta", "livechat_pending", "livechat_tokens"}
    assert columns["livechat_tokens", "sealed"] == "bytea"
    assert columns["livechat_pending", "state_hash"] == "text"
    version = await postgres_backend._execute("SELECT value FROM {schema}.livechat_meta")
    assert version == [("1",)]


async def test_replicas_opening_together_create_the_schema_once(postgres_backend: PostgresBackend) -> None:
    stores = [
        PostgresTokenStore(postgres_backend.url, Sealer([KEY_A]), schema=postgres_backend.schema)
        for _ in range(4)
    ]
    postgres_backend.stores.extend(stores)
    await asyncio.gather(*(s.open() for s in stores))
    await stores[0].put(ALICE, make_token())
    assert all(await asyncio.gather(*(s.ping() for s in stores)))


async def test_a_cancelled_waiter_does_not_keep_the_lock(postgres_backend: PostgresBackend) -> None:
    holder, waiter_store, later = [await postgres_backend.make() for _ in range(3)]

    async def wait_for_lock() -> None:
        async with waiter_store.refresh_lock(ALICE):
            raise AssertionError("entered while the holder held the lock")

    async with holder.refresh_lock(ALICE):
        waiter = asyncio.create_task(wait_for_lock())
        await postgres_backend.wait_until_blocked(waiter_store, ALICE)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    async with asyncio.timeout(10), later.refresh_lock(ALICE), waiter_store.refresh_lock(BOB):
        pass


async def test_lock_wait_times_out(postgres_backend: PostgresBackend) -> None:
    holder = await postgres_backend.make()
    waiter = await postgres_backend.make(lock_timeout=0.05)
    async with holder.refresh_lock(ALICE):
        with pytest.raises(TimeoutError):
            async with waiter.refresh_lock(ALICE):
                pass


async def test_unreachable_database_is_a_configuration_error() -> None:
    store = PostgresTokenStore("postgresql://postgres@127.0.0.1:1/test", Sealer([KEY_A]), timeout=0.5)
    with pytest.raises(ConfigurationError, match="cannot reach PostgreSQL"):
        await store.open()
    assert await store.ping() is False
    secret_url = "postgresql://postgres:hunter2@127.0.0.1:1/test"
    assert "hunter2" not in repr(PostgresTokenStore(secret_url, Sealer([KEY_A])))


def test_invalid_schema_name_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="schema"):
        PostgresTokenStore("postgresql://x/y", Sealer([KEY_A]), schema="bad; DROP TABLE x")


async def test_open_store_postgres(pg_url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="LIVECHAT_ENCRYPTION_KEY is required"):
        open_store(pg_url, keys=[], default_dir=tmp_path)
    store = open_store(pg_url, keys=[KEY_A], default_dir=tmp_path)
    assert isinstance(store, PostgresTokenStore)
    assert store.schema == "public"
    await store.close()  # never opened: nothing was created in public


def test_importing_the_stores_does_not_import_psycopg_or_cryptography() -> None:
    code = (
        "import sys, mcp_livechat.connect.postgres_store, mcp_livechat.connect.sqlite_store;"
        "print(sorted(m for m in ('psycopg', 'psycopg_pool', 'cryptography') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert out.stdout.strip() == "[]"
