"""What the token-store tests share: keys, principals, records, and one `Backend` per implementation
(a real SQLite file, or a throwaway schema of the real PostgreSQL) that builds stores and reaches
under them to read or damage rows the way an operator or an attacker with database access could.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from mcp_livechat.connect.crypto import Sealer
from mcp_livechat.connect.identity import Principal
from mcp_livechat.connect.postgres_store import PostgresTokenStore, advisory_key
from mcp_livechat.connect.sqlite_store import SqliteTokenStore
from mcp_livechat.connect.store import PendingAuthorization, StoredToken
from mcp_livechat.connect.store_base import BaseTokenStore

PG_URL = os.environ.get("MCP_LIVECHAT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REPO = Path(__file__).parents[2]

KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))
KEY_C = bytes(range(200, 232))

ALICE = Principal("acme", "alice")
BOB = Principal("acme", "bob")
ALICE_ELSEWHERE = Principal("globex", "alice")


def make_token(
    tag: str = "1", *, expires_at: float = 2_000_000_000.0, account_id: str | None = "acc-1"
) -> StoredToken:
    return StoredToken(
        access_token=f"dal:ACCESS-{tag}-{uuid.uuid4().hex}",
        refresh_token=f"dal:REFRESH-{tag}-{uuid.uuid4().hex}",
        expires_at=expires_at,
        scope="chats--all:ro,customers:ro",
        account_id=account_id,
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


def unused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Backend(Protocol):
    kind: str

    async def make(self, keys: Sequence[bytes] = (KEY_A,), **kw: Any) -> BaseTokenStore: ...
    async def dump(self) -> bytes: ...
    async def move_token(self, src: Principal, dst: Principal) -> None: ...
    async def move_pending(self, dst: Principal) -> None: ...
    async def token_key_ids(self) -> dict[str, str]: ...
    async def pending_count(self) -> dict[str, int]: ...
    async def hold_rewrite(
        self, who: Principal, sealed: bytes, kid: str
    ) -> Callable[[], Awaitable[None]]: ...
    async def wait_until_writer_blocked(self) -> None: ...
    async def wait_until_blocked(self, store: BaseTokenStore, principal: Principal) -> None: ...
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

    def execute(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
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
        self.execute(
            "UPDATE tokens SET tenant = ?, user_id = ? WHERE tenant = ? AND user_id = ?",
            (dst.tenant, dst.user, src.tenant, src.user),
        )

    async def move_pending(self, dst: Principal) -> None:
        self.execute("UPDATE pending SET tenant = ?, user_id = ?", (dst.tenant, dst.user))

    async def token_key_ids(self) -> dict[str, str]:
        return {user: kid for user, kid in self.execute("SELECT user_id, key_id FROM tokens")}

    async def pending_count(self) -> dict[str, int]:
        return dict(self.execute("SELECT user_id, count(*) FROM pending GROUP BY user_id"))

    async def hold_rewrite(self, who: Principal, sealed: bytes, kid: str) -> Callable[[], Awaitable[None]]:
        """Another server rewrites `who`'s row, uncommitted (holding the write lock) until the
        returned function is awaited."""
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE tokens SET sealed = ?, key_id = ? WHERE tenant = ? AND user_id = ?",
            (sealed, kid, who.tenant, who.user),
        )

        async def commit() -> None:
            conn.execute("COMMIT")
            conn.close()

        return commit

    async def wait_until_writer_blocked(self) -> None:
        await asyncio.sleep(0.3)  # a writer busy-waits inside SQLite: nothing to observe from outside

    async def wait_until_blocked(self, store: BaseTokenStore, principal: Principal) -> None:
        # nothing observable while a file lock is polled: give the waiter several poll rounds
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
        store = PostgresTokenStore(kw.pop("url", self.url), Sealer(keys), schema=self.schema, **kw)
        self.stores.append(store)
        await store.open()
        return store

    async def execute(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        import psycopg
        from psycopg import sql

        query = sql.SQL(statement).format(schema=sql.Identifier(self.schema))
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            cur = await conn.execute(query, params)
            return await cur.fetchall() if cur.description else []

    async def dump(self) -> bytes:
        out = b""
        for table in ("livechat_tokens", "livechat_pending"):
            rows = await self.execute(
                "SELECT convert_to(t::text, 'UTF8'), sealed FROM {schema}." + table + " t"  # noqa: S608
            )
            out += b"".join(bytes(text) + bytes(sealed) for text, sealed in rows)
        return out

    async def move_token(self, src: Principal, dst: Principal) -> None:
        await self.execute(
            "UPDATE {schema}.livechat_tokens SET tenant = %s, user_id = %s WHERE tenant = %s AND user_id = %s",
            (dst.tenant, dst.user, src.tenant, src.user),
        )

    async def move_pending(self, dst: Principal) -> None:
        await self.execute(
            "UPDATE {schema}.livechat_pending SET tenant = %s, user_id = %s", (dst.tenant, dst.user)
        )

    async def token_key_ids(self) -> dict[str, str]:
        rows = await self.execute("SELECT user_id, key_id FROM {schema}.livechat_tokens")
        return {user: kid for user, kid in rows}

    async def pending_count(self) -> dict[str, int]:
        rows = await self.execute("SELECT user_id, count(*) FROM {schema}.livechat_pending GROUP BY user_id")
        return dict(rows)

    async def hold_rewrite(self, who: Principal, sealed: bytes, kid: str) -> Callable[[], Awaitable[None]]:
        """Another replica rewrites `who`'s row, uncommitted (holding the row lock) until the returned
        function is awaited."""
        import psycopg
        from psycopg import sql

        conn = await psycopg.AsyncConnection.connect(self.url)
        await conn.execute(
            sql.SQL(
                "UPDATE {}.livechat_tokens SET sealed = %s, key_id = %s WHERE tenant = %s AND user_id = %s"
            ).format(sql.Identifier(self.schema)),
            (sealed, kid, who.tenant, who.user),
        )

        async def commit() -> None:
            await conn.commit()
            await conn.close()

        return commit

    async def wait_until_writer_blocked(self) -> None:
        for _ in range(500):
            rows = await self.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
                (f"%{self.schema}%",),
            )
            if rows[0][0]:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("nobody waited for the row lock")

    async def wait_until_blocked(self, store: BaseTokenStore, principal: Principal) -> None:
        """Poll pg_locks until someone waits (not granted) on this principal's advisory lock."""
        key = advisory_key("refresh", self.schema, principal.key) & 0xFFFFFFFFFFFFFFFF
        classid, objid = key >> 32, key & 0xFFFFFFFF
        for _ in range(500):
            rows = await self.execute(
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
