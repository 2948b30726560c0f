"""Token-store fixtures: real SQLite files in tmp_path, the real PostgreSQL in a throwaway schema.

PostgreSQL is never skipped: if it is unreachable the tests that need it FAIL, loudly (CI starts
it). Point them elsewhere with MCP_LIVECHAT_TEST_POSTGRES_URL (read once, at import, because the
suite's autouse fixture clears LIVECHAT_* variables).

`store_contract.StoreContract` holds the behaviour every token store must have;
`test_sqlite_store.py` and `test_postgres_store.py` run it against their backend (a `Backend`
fixture, from `store_kit`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.connect.store_kit import PG_URL, PostgresBackend, SqliteBackend


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
