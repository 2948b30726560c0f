"""Token store latency, SQLite and PostgreSQL: sealed put, opened get, uncontended refresh lock, a
connect link (put_pending + live_pending), the sweep lock, and listing 100 grants.

    .venv/bin/python bench/store.py [postgresql://postgres@127.0.0.1:5432/test]

500 sequential operations per measure on a warm store; `time.perf_counter` around each await.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from mcp_livechat.connect.crypto import Sealer
from mcp_livechat.connect.identity import Principal
from mcp_livechat.connect.postgres_store import PostgresTokenStore
from mcp_livechat.connect.sqlite_store import SqliteTokenStore
from mcp_livechat.connect.store import PendingAuthorization, StoredToken
from mcp_livechat.connect.store_base import BaseTokenStore

N = 500
TOKEN = StoredToken(
    "dal:" + "a" * 32, "r" * 32, time.time() + 28800, "chats--all:ro,chats--all:rw", "acc", "org"
)


async def timed(op: Callable[[], Awaitable[object]], n: int = N) -> str:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await op()
        samples.append((time.perf_counter() - started) * 1e6)
    samples.sort()
    return f"median {statistics.median(samples):.0f} µs, p99 {samples[int(n * 0.99) - 1]:.0f} µs"


async def lock_once(store: BaseTokenStore, who: Principal) -> None:
    async with store.refresh_lock(who):
        pass


async def sweep_once(store: BaseTokenStore) -> None:
    async with store.sweep_lock() as held:
        assert held


async def link(store: BaseTokenStore, who: Principal) -> None:
    if await store.live_pending(who) is None:  # what a connect link costs once one exists
        await store.put_pending(
            PendingAuthorization(
                uuid.uuid4().hex * 2, who, "v" * 43, "http://127.0.0.1/cb", time.time() + 600
            )
        )


async def measure(name: str, store: BaseTokenStore) -> None:
    who = Principal("bench", "person")
    await store.put(who, TOKEN)
    print(f"{name:10} put   {await timed(lambda: store.put(who, TOKEN))}")
    print(f"{name:10} get   {await timed(lambda: store.get(who))}")
    print(f"{name:10} lock  {await timed(lambda: lock_once(store, who))}")
    print(f"{name:10} sweep {await timed(lambda: sweep_once(store))}")
    print(f"{name:10} link  {await timed(lambda: link(store, who))}")
    for i in range(99):
        await store.put(Principal("bench", f"p{i:03}"), TOKEN)
    print(f"{name:10} list  {await timed(store.list_grants, 100)} (100 grants)")
    await store.close()


async def main() -> None:
    sealer = Sealer([b"k" * 32])
    with tempfile.TemporaryDirectory() as tmp:
        await measure("SQLite", SqliteTokenStore(Path(tmp) / "tokens.db", sealer))
    url = sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/test"
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    store = PostgresTokenStore(url, sealer, schema=schema)
    await store.open()
    try:
        await measure("PostgreSQL", store)
    finally:
        import psycopg

        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    asyncio.run(main())
