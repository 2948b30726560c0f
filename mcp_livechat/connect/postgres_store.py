"""A token store shared by many replicas: PostgreSQL through psycopg 3 and its connection pool.

psycopg is imported when a store is built, never at module import. The pool is opened by
`open()` (called on first use if nobody called it) and creates the tables, in `schema`, under an
advisory lock so replicas starting together do not race. `take_pending` is one
``DELETE ... RETURNING`` (single use across replicas); `refresh_lock` is a transaction-scoped
advisory lock (``pg_advisory_xact_lock``) held on a pooled connection for the duration: the
commit or rollback at the end of the block, or the death of the session, releases it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

from mcp_livechat.connect.crypto import Sealer, SealError, key_id
from mcp_livechat.connect.identity import Principal
from mcp_livechat.connect.store import PendingAuthorization, StoredToken, TokenCodec, state_hash
from mcp_livechat.errors import ConfigurationError

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg.sql import Composed
    from psycopg_pool import AsyncConnectionPool

__all__ = ["SCHEMA_VERSION", "PostgresTokenStore"]

SCHEMA_VERSION = 1
log = logging.getLogger(__name__)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def advisory_key(*parts: str) -> int:
    """A signed 64-bit advisory-lock key for `parts` (namespaced, so unrelated locks do not collide)."""
    digest = hashlib.sha256("\0".join(("mcp-livechat", *parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresTokenStore:
    """`TokenStore` in PostgreSQL tables ``livechat_tokens``, ``livechat_pending``, ``livechat_meta``."""

    def __init__(
        self,
        url: str,
        sealer: Sealer,
        *,
        schema: str = "public",
        min_size: int = 1,
        max_size: int = 5,
        timeout: float = 10.0,
        lock_timeout: float = 60.0,
        connect_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        if not _IDENTIFIER.fullmatch(schema):
            raise ConfigurationError(f"LIVECHAT_TOKEN_STORE: invalid PostgreSQL schema name {schema!r}")
        self.schema = schema
        self._url = url
        self._codec = TokenCodec(sealer)
        self._sealer = sealer
        self._min_size = min_size
        self._max_size = max_size
        self._timeout = timeout
        self._lock_timeout = lock_timeout
        self._connect_kwargs = dict(connect_kwargs or {})
        self._pool: AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]] | None = None
        self._opening = asyncio.Lock()
        self._local: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._q = _Queries(schema)
        self._closed = False

    def __repr__(self) -> str:
        return f"PostgresTokenStore(schema={self.schema!r})"  # the URL may hold a password

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Open the pool and create the tables (idempotent). `ConfigurationError` if unreachable."""
        await self._ensure()

    async def _ensure(self) -> AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]]:
        if self._pool is not None:
            return self._pool
        if self._closed:
            raise RuntimeError("the token store is closed")
        async with self._opening:  # a concurrent caller may have opened it while this one waited
            if self._pool is None:
                self._pool = await self._connect()
            return self._pool

    async def _connect(self) -> AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]]:
        import psycopg
        from psycopg_pool import AsyncConnectionPool, PoolTimeout

        pool: AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]] = AsyncConnectionPool(
            self._url,
            kwargs={"autocommit": True, **self._connect_kwargs},
            min_size=self._min_size,
            max_size=self._max_size,
            timeout=self._timeout,
            check=AsyncConnectionPool.check_connection,
            name=f"mcp-livechat-{self.schema}",
            open=False,
        )
        try:
            await pool.open(wait=True, timeout=self._timeout)
            await self._create_schema(pool)
        except (PoolTimeout, psycopg.OperationalError) as exc:
            await pool.close()
            raise ConfigurationError(
                f"LIVECHAT_TOKEN_STORE: cannot reach PostgreSQL ({type(exc).__name__})"
            ) from exc
        except BaseException:
            await pool.close()
            raise
        return pool

    async def _create_schema(self, pool: AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]]) -> None:
        async with pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key("schema", self.schema),))
            exists = await (
                await conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.schema,))
            ).fetchone()
            if exists is None:
                await conn.execute(self._q.create_schema)
            for statement in self._q.create_tables:
                await conn.execute(statement)
            row = await (await conn.execute(self._q.schema_version)).fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise ConfigurationError(
                    f"LIVECHAT_TOKEN_STORE: schema {self.schema!r} has version {version}, written by a newer "
                    f"mcp-livechat (this one knows up to {SCHEMA_VERSION}); upgrade"
                )

    async def close(self) -> None:
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def __aenter__(self) -> PostgresTokenStore:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- tokens ------------------------------------------------------------------------------

    async def get(self, principal: Principal) -> StoredToken | None:
        pool = await self._ensure()
        async with pool.connection() as conn:
            cur = await conn.execute(self._q.get_token, (principal.tenant, principal.user))
            row = await cur.fetchone()
        return None if row is None else self._codec.open_token(principal, row[0])

    async def put(self, principal: Principal, token: StoredToken) -> None:
        blob = self._codec.seal_token(principal, token)
        pool = await self._ensure()
        async with pool.connection() as conn:
            await conn.execute(
                self._q.put_token, (principal.tenant, principal.user, blob, key_id(blob), token.expires_at)
            )

    async def delete(self, principal: Principal) -> bool:
        pool = await self._ensure()
        async with pool.connection() as conn:
            cur = await conn.execute(self._q.delete_token, (principal.tenant, principal.user))
            return cur.rowcount > 0

    # -- pending authorizations -------------------------------------------------------------

    async def put_pending(self, pending: PendingAuthorization) -> None:
        digest, blob = self._codec.seal_pending(pending)
        p = pending.principal
        pool = await self._ensure()
        async with pool.connection() as conn:
            await conn.execute(self._q.purge_pending, (time.time(),))  # keeps the table small
            await conn.execute(
                self._q.put_pending, (digest, p.tenant, p.user, blob, key_id(blob), pending.expires_at)
            )

    async def take_pending(self, state: str, now: float | None = None) -> PendingAuthorization | None:
        pool = await self._ensure()
        async with pool.connection() as conn:
            cur = await conn.execute(self._q.take_pending, (state_hash(state),))
            row = await cur.fetchone()
        return self._codec.pending_from_row(state, row, now)

    async def peek_pending(self, state: str, now: float | None = None) -> PendingAuthorization | None:
        pool = await self._ensure()
        async with pool.connection() as conn:
            cur = await conn.execute(self._q.peek_pending, (state_hash(state),))
            row = await cur.fetchone()
        return self._codec.pending_from_row(state, row, now)

    async def purge_expired(self, now: float | None = None) -> int:
        pool = await self._ensure()
        async with pool.connection() as conn:
            cur = await conn.execute(self._q.purge_pending, (time.time() if now is None else now,))
            return cur.rowcount

    # -- refresh lock ------------------------------------------------------------------------

    def refresh_lock(self, principal: Principal) -> AbstractAsyncContextManager[None]:
        return self._refresh_lock(principal.key)

    @asynccontextmanager
    async def _refresh_lock(self, name: str) -> AsyncIterator[None]:
        local = self._local.get(name)
        if local is None:
            local = self._local[name] = asyncio.Lock()
        async with local:  # one pooled connection per principal per process, however many wait
            import psycopg

            pool = await self._ensure()
            async with pool.connection() as conn, conn.transaction():
                await conn.execute(
                    "SELECT set_config('lock_timeout', %s, true)", (f"{int(self._lock_timeout * 1000)}ms",)
                )
                try:
                    await conn.execute(
                        "SELECT pg_advisory_xact_lock(%s)", (advisory_key("refresh", self.schema, name),)
                    )
                except psycopg.errors.LockNotAvailable as exc:
                    raise TimeoutError(
                        "timed out waiting for another replica to finish refreshing this token"
                    ) from exc
                yield

    # -- operations --------------------------------------------------------------------------

    async def ping(self) -> bool:
        try:
            pool = await self._ensure()
            async with pool.connection(timeout=min(self._timeout, 5.0)) as conn:
                await conn.execute("SELECT 1")
        except Exception:
            return False
        return True

    async def reseal_all(self) -> int:
        """Re-encrypt token and pending rows sealed with an old key; rows that do not open are skipped.

        Each row is updated only if it still holds the blob that was read, so a concurrent `put`
        wins over the migration."""
        primary = self._sealer.primary_key_id
        count = skipped = 0
        pool = await self._ensure()
        async with pool.connection() as conn:
            tokens = await (await conn.execute(self._q.old_tokens, (primary,))).fetchall()
            pending = await (await conn.execute(self._q.old_pending, (primary,))).fetchall()
            work: list[tuple[Composed, tuple[Any, ...], tuple[Any, ...]]] = [
                (self._q.reseal_token, (), row) for row in tokens
            ]
            work += [(self._q.reseal_pending, (row[0],), row[1:]) for row in pending]
            for update, ident, (tenant, user, blob) in work:
                try:
                    fresh = self._codec.reseal(Principal(tenant, user), blob)
                except SealError:
                    skipped += 1
                    continue
                if fresh is not None:
                    cur = await conn.execute(update, (fresh, primary, *ident, tenant, user, blob))
                    count += cur.rowcount
        if skipped:
            log.warning("PostgreSQL token store: %d rows could not be opened and were not resealed", skipped)
        return count


class _Queries:
    """Every statement, with the schema-qualified table names composed safely once."""

    def __init__(self, schema: str) -> None:
        from psycopg import sql

        names = {
            "schema": sql.Identifier(schema),
            "tokens": sql.Identifier(schema, "livechat_tokens"),
            "pending": sql.Identifier(schema, "livechat_pending"),
            "meta": sql.Identifier(schema, "livechat_meta"),
        }

        def q(text: str) -> Composed:
            return sql.SQL(text).format(**names)

        self.create_schema = q("CREATE SCHEMA IF NOT EXISTS {schema}")
        self.create_tables = [
            q("CREATE TABLE IF NOT EXISTS {meta} (name text PRIMARY KEY, value text NOT NULL)"),
            q(
                "CREATE TABLE IF NOT EXISTS {tokens} ("
                " tenant text NOT NULL, user_id text NOT NULL, sealed bytea NOT NULL, key_id text NOT NULL,"
                " expires_at timestamptz NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(),"
                " PRIMARY KEY (tenant, user_id))"
            ),
            q(
                "CREATE TABLE IF NOT EXISTS {pending} ("
                " state_hash text PRIMARY KEY, tenant text NOT NULL, user_id text NOT NULL,"
                " sealed bytea NOT NULL, key_id text NOT NULL, expires_at timestamptz NOT NULL)"
            ),
            q("CREATE INDEX IF NOT EXISTS livechat_pending_expires_at ON {pending} (expires_at)"),
            q(  # '1' is SCHEMA_VERSION
                "INSERT INTO {meta} (name, value) VALUES ('schema_version', '1')"
                " ON CONFLICT (name) DO NOTHING"
            ),
        ]
        self.schema_version = q("SELECT value FROM {meta} WHERE name = 'schema_version'")
        self.get_token = q("SELECT sealed FROM {tokens} WHERE tenant = %s AND user_id = %s")
        self.put_token = q(
            "INSERT INTO {tokens} (tenant, user_id, sealed, key_id, expires_at)"
            " VALUES (%s, %s, %s, %s, to_timestamp(%s)) ON CONFLICT (tenant, user_id) DO UPDATE SET"
            " sealed = excluded.sealed, key_id = excluded.key_id, expires_at = excluded.expires_at,"
            " updated_at = now()"
        )
        self.delete_token = q("DELETE FROM {tokens} WHERE tenant = %s AND user_id = %s")
        self.put_pending = q(
            "INSERT INTO {pending} (state_hash, tenant, user_id, sealed, key_id, expires_at)"
            " VALUES (%s, %s, %s, %s, %s, to_timestamp(%s)) ON CONFLICT (state_hash) DO UPDATE SET"
            " tenant = excluded.tenant, user_id = excluded.user_id, sealed = excluded.sealed,"
            " key_id = excluded.key_id, expires_at = excluded.expires_at"
        )
        self.take_pending = q(
            "DELETE FROM {pending} WHERE state_hash = %s"
            " RETURNING tenant, user_id, sealed, extract(epoch FROM expires_at)::float8"
        )
        self.peek_pending = q(
            "SELECT tenant, user_id, sealed, extract(epoch FROM expires_at)::float8 FROM {pending}"
            " WHERE state_hash = %s"
        )
        self.purge_pending = q("DELETE FROM {pending} WHERE expires_at <= to_timestamp(%s)")
        self.old_tokens = q("SELECT tenant, user_id, sealed FROM {tokens} WHERE key_id <> %s")
        self.reseal_token = q(
            "UPDATE {tokens} SET sealed = %s, key_id = %s WHERE tenant = %s AND user_id = %s AND sealed = %s"
        )
        self.old_pending = q("SELECT state_hash, tenant, user_id, sealed FROM {pending} WHERE key_id <> %s")
        self.reseal_pending = q(
            "UPDATE {pending} SET sealed = %s, key_id = %s"
            " WHERE state_hash = %s AND tenant = %s AND user_id = %s AND sealed = %s"
        )
