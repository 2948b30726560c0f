"""A token store shared by many replicas: PostgreSQL through psycopg 3 and its connection pool; the
row operations of `store_base.BaseTokenStore`.

psycopg is imported when a store is built, never at module import. Failing fast:

- the store starts while PostgreSQL is down: the pool is opened on first use (or `open()`); an
  attempt that fails is thrown away, so the next operation tries afresh and the store recovers by
  itself once the database is back. Concurrent callers share one attempt;
- `timeout` (seconds) bounds connecting (``connect_timeout``, at least libpq's 2 s), waiting for a
  pooled connection, and every statement (``statement_timeout`` on each session). Past it an
  operation raises `StoreUnavailable`; `ping()` answers False. The refresh lock's wait has its own,
  longer bound (`lock_timeout`). A connection that goes silent mid-statement (a frozen host, a
  route that drops packets) is answered by no server-side bound: every row operation also has a
  deadline here (`_within`, about twice `timeout`), past which it raises `StoreUnavailable` at once
  and leaves psycopg to cancel the statement, and the pool to drop the connection, in the
  background. The locks, held across other work, rely on the server's bounds and on TCP: add
  ``keepalives_idle`` / ``tcp_user_timeout`` to the URL where that matters.

On first connect the tables are created or migrated, in `schema`, under an advisory lock so
replicas starting together do not race; then the key ids are checked. `take_pending` is one
``DELETE ... RETURNING`` (single use across replicas); `put_pending` is one statement (purge,
trim, insert). `refresh_lock` is a transaction-scoped advisory lock (``pg_advisory_xact_lock``) on a
pooled connection for the duration: the commit or rollback at the end of the block, or the death
of the session, releases it. `sweep_lock` is a session-level ``pg_try_advisory_lock`` on a pooled
connection held for the duration, unlocked at exit (or freed by the server when the session dies).
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from mcp_livechat.connect.crypto import Sealer
from mcp_livechat.connect.identity import Principal
from mcp_livechat.connect.postgres_queries import Queries
from mcp_livechat.connect.store import GrantInfo, StoredToken, StoreUnavailable
from mcp_livechat.connect.store_base import SCHEMA_VERSION, BaseTokenStore, PendingRow, RowKind, StaleRow
from mcp_livechat.errors import ConfigurationError

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg.sql import Composed
    from psycopg_pool import AsyncConnectionPool

    Conn: TypeAlias = AsyncConnection[tuple[Any, ...]]
    Pool: TypeAlias = AsyncConnectionPool[Conn]

__all__ = ["SCHEMA_VERSION", "PostgresTokenStore", "advisory_key"]

log = logging.getLogger(__name__)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_WARN_EVERY = 30.0  # seconds between two "unreachable" warnings
T = TypeVar("T")


def advisory_key(*parts: str) -> int:
    """A signed 64-bit advisory-lock key for `parts` (namespaced, so unrelated locks do not collide)."""
    digest = hashlib.sha256("\0".join(("mcp-livechat", *parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresTokenStore(BaseTokenStore):
    """`TokenStore` in PostgreSQL tables ``livechat_tokens``, ``livechat_pending``, ``livechat_meta``."""

    def __init__(
        self,
        url: str,
        sealer: Sealer,
        *,
        schema: str = "public",
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 2.0,
        lock_timeout: float = 60.0,
        connect_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        if not _IDENTIFIER.fullmatch(schema):
            raise ConfigurationError(f"LIVECHAT_TOKEN_STORE: invalid PostgreSQL schema name {schema!r}")
        super().__init__(sealer)
        self.schema = schema
        self._url = url
        self._min_size = min_size
        self._max_size = max_size
        self._timeout = timeout
        # a row operation: a pooled connection (`timeout`), then its statement (`timeout`)
        self._deadline = 2 * timeout + 1.0
        self._lock_timeout = lock_timeout
        self._connect_kwargs = dict(connect_kwargs or {})
        self._pool: Pool | None = None
        self._opening: asyncio.Future[Pool] | None = None
        self._background: set[asyncio.Future[Any]] = set()
        self._q = Queries(schema)
        self._closed = False
        self._explicit_open = False
        self._warned_at = -_WARN_EVERY

    def __repr__(self) -> str:
        return f"PostgresTokenStore(schema={self.schema!r})"  # the URL may hold a password

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, create or migrate the tables, check the keys (idempotent). `StoreUnavailable` if
        PostgreSQL does not answer within the timeout; `ConfigurationError` if the schema or the keys
        do not fit."""
        self._explicit_open = True
        try:
            await self._ready()
        finally:
            self._explicit_open = False

    async def _ready(self) -> Pool:
        if self._closed:
            raise RuntimeError("the token store is closed")
        if self._pool is not None:
            return self._pool
        if self._opening is None:  # concurrent callers share one attempt, so each waits one timeout
            # in a fresh context: the pool's own tasks outlive this caller and must not carry its
            # log context (call id, tool, request id) into every later record
            self._opening = asyncio.get_running_loop().create_task(
                self._open_pool(), context=contextvars.Context()
            )
            self._opening.add_done_callback(self._opened)
        return await asyncio.shield(self._opening)

    def _opened(self, attempt: asyncio.Future[Pool]) -> None:
        self._opening = None
        if not attempt.cancelled() and attempt.exception() is None:
            self._pool = attempt.result()

    async def _open_pool(self) -> Pool:
        """Check the schema on one direct connection (a refused connection fails at once, not after
        the pool's retries), then open the pool."""
        import psycopg
        from psycopg_pool import AsyncConnectionPool, PoolTimeout

        kwargs = {
            "autocommit": True,
            "connect_timeout": max(2, math.ceil(self._timeout)),
            **self._connect_kwargs,
        }
        try:
            async with asyncio.timeout(self._timeout):
                first: Conn = await psycopg.AsyncConnection.connect(self._url, **kwargs)
        except psycopg.ProgrammingError:  # its message may quote the URL, password included
            raise ConfigurationError(
                "LIVECHAT_TOKEN_STORE: psycopg refused the PostgreSQL URL; check its syntax and parameters"
            ) from None
        except (TimeoutError, psycopg.OperationalError) as exc:
            raise self._unavailable(exc) from exc
        try:
            async with first:
                await self._configure(first)
                await self._prepare(first)
        except (TimeoutError, psycopg.OperationalError) as exc:
            raise self._unavailable(exc) from exc
        pool: Pool = AsyncConnectionPool(
            self._url,
            kwargs=kwargs,
            min_size=self._min_size,
            max_size=self._max_size,
            timeout=self._timeout,
            check=AsyncConnectionPool.check_connection,
            configure=self._configure,
            reconnect_timeout=max(5.0, self._timeout),  # then a waiting caller starts a fresh attempt
            name=f"mcp-livechat-{self.schema}",
            open=False,
        )
        try:
            await pool.open(wait=True, timeout=self._timeout)
            if self._closed:
                raise RuntimeError("the token store is closed")
        except (PoolTimeout, psycopg.OperationalError) as exc:
            self._close_later(pool)
            raise self._unavailable(exc) from exc
        except BaseException:
            self._close_later(pool)
            raise
        return pool

    async def _configure(self, conn: Conn) -> None:
        await conn.execute("SELECT set_config('statement_timeout', %s, false)", (_ms(self._timeout),))

    async def _prepare(self, conn: Conn) -> None:
        """Create or migrate the tables, then check the key ids (under an advisory lock: replicas
        starting together take turns)."""
        async with conn.transaction():
            await conn.execute("SELECT set_config('statement_timeout', %s, true)", (_ms(self._lock_timeout),))
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key("schema", self.schema),))
            exists = await (
                await conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.schema,))
            ).fetchone()
            if exists is None:
                await conn.execute(self._q.create_schema)
            for statement in self._q.create_v1:
                await conn.execute(statement)
            row = await (await conn.execute(self._q.schema_version)).fetchone()
            version = int(row[0]) if row else 0
            self.check_schema_version(version, f"PostgreSQL schema {self.schema!r}")
            if version < SCHEMA_VERSION:
                for statement in self._q.migrate:
                    await conn.execute(statement)
                if version == 1:
                    await conn.execute(self._q.backfill_state_at)
                await conn.execute(self._q.set_version, (str(SCHEMA_VERSION),))
            kids = {kid for (kid,) in await (await conn.execute(self._q.key_ids)).fetchall()}
            self.check_keys(kids, f"PostgreSQL schema {self.schema!r}")

    def _unavailable(self, exc: BaseException, within: float | None = None) -> StoreUnavailable:
        # libpq's first line names host, port, role or database (never the password)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        # PostgreSQL refusing this server (`refusal_of`): configuration, not an outage
        refused = refusal_of(reason)
        now = time.monotonic()
        if refused is not None and self._explicit_open:
            pass  # `open()`'s caller (the start) reports it, once
        elif now - self._warned_at >= _WARN_EVERY:  # an outage fails every call: say so now and then
            self._warned_at = now
            log.warning("PostgreSQL token store %s: %s", "refused" if refused else "unreachable", reason)
        if refused is not None:
            return StoreUnavailable(
                "the token store refused this server (PostgreSQL answered with an error about its role, "
                "password or database; the operator must check LIVECHAT_TOKEN_STORE)",
                refused=refused,
            )
        waited = within or self._timeout
        return StoreUnavailable(
            f"the token store is unreachable (PostgreSQL did not answer within {waited:g} s); retry shortly"
        )

    def _close_later(self, pool: Pool) -> None:
        task = asyncio.ensure_future(pool.close())
        self._background.add(task)
        task.add_done_callback(_forgotten(self._background))

    async def close(self) -> None:
        self._closed = True
        if self._opening is not None:
            await asyncio.gather(self._opening, return_exceptions=True)
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
        if self._background:  # abandoned work on a silent connection is not waited for forever
            _, pending = await asyncio.wait(set(self._background), timeout=self._deadline)
            for task in pending:
                task.cancel()

    # -- statements --------------------------------------------------------------------------

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[Conn]:
        """A pooled connection; `StoreUnavailable` if none comes, or a statement fails to reach the server."""
        import psycopg
        from psycopg_pool import PoolTimeout

        pool = await self._ready()
        try:
            async with pool.connection(timeout=self._timeout) as conn:
                yield conn
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise self._unavailable(exc) from exc

    async def _within(self, work: Callable[[], Awaitable[T]]) -> T:
        """`work()`, or `StoreUnavailable` once its deadline passes, whatever the network does:
        the caller is answered then, and the work is cancelled in the background (psycopg's
        cancellation of a statement on a silent connection can itself take many seconds)."""
        task = asyncio.ensure_future(work())
        try:
            done, _ = await asyncio.wait({task}, timeout=self._deadline)
        except asyncio.CancelledError:
            self._abandon(task)
            raise
        if not done:
            self._abandon(task)
            raise self._unavailable(TimeoutError(f"no answer within {self._deadline:g} s"), self._deadline)
        return task.result()

    def _abandon(self, task: asyncio.Future[Any]) -> None:
        task.cancel()
        self._background.add(task)
        task.add_done_callback(_forgotten(self._background))

    async def _fetch(
        self, query: Composed, args: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[tuple[Any, ...]]:
        async def fetch() -> list[tuple[Any, ...]]:
            async with self._conn() as conn:
                cur = await conn.execute(query, args)
                return await cur.fetchall() if cur.description else []

        return await self._within(fetch)

    async def _rowcount(self, query: Composed, args: Sequence[Any] | Mapping[str, Any]) -> int:
        async def count() -> int:
            async with self._conn() as conn:
                return (await conn.execute(query, args)).rowcount

        return await self._within(count)

    async def _probe(self) -> None:
        async def probe() -> None:
            async with self._conn() as conn:
                await conn.execute("SELECT 1")

        await self._within(probe)

    # -- tokens and grants -------------------------------------------------------------------

    async def _select_token(self, principal: Principal) -> bytes | None:
        rows = await self._fetch(self._q.get_token, (principal.tenant, principal.user))
        return bytes(rows[0][0]) if rows else None

    async def _upsert_token(
        self, principal: Principal, blob: bytes, kid: str, token: StoredToken, now: float
    ) -> None:
        args = (principal.tenant, principal.user, blob, kid, token.expires_at, now, token.account_id, now)
        await self._rowcount(self._q.put_token, args)

    async def _delete_token(self, principal: Principal) -> bool:
        return await self._rowcount(self._q.delete_token, (principal.tenant, principal.user)) > 0

    async def _set_state(self, principal: Principal, state: str, reason: str | None, now: float) -> bool:
        args = (state, now, state, reason, principal.tenant, principal.user)
        return await self._rowcount(self._q.set_state, args) > 0

    async def _set_check(self, principal: Principal, outcome: str, error_type: str | None, at: float) -> bool:
        args = (at, outcome, error_type, principal.tenant, principal.user)
        return await self._rowcount(self._q.set_check, args) > 0

    async def _set_identity(
        self, principal: Principal, account_id: str | None, agent_email: str | None
    ) -> bool:
        args = (account_id, agent_email, principal.tenant, principal.user)
        return await self._rowcount(self._q.set_identity, args) > 0

    async def _grant_row(self, principal: Principal) -> GrantInfo | None:
        rows = await self._fetch(self._q.grant, (principal.tenant, principal.user))
        return GrantInfo(*rows[0]) if rows else None

    async def _grant_rows(self, tenant: str | None) -> list[GrantInfo]:
        rows = await (
            self._fetch(self._q.grants) if tenant is None else self._fetch(self._q.grants_of, (tenant,))
        )
        return [GrantInfo(*row) for row in rows]

    # -- pending authorizations -------------------------------------------------------------

    async def _insert_pending(
        self, digest: str, row: PendingRow, kid: str, now: float, keep: int, held: bool
    ) -> None:
        tenant, user, blob, expires_at = row
        args = {
            "digest": digest, "tenant": tenant, "user": user, "sealed": blob, "key_id": kid,
            "expires_at": expires_at, "now": now, "keep": keep - 1, "held": held,
        }  # fmt: skip
        await self._rowcount(self._q.put_pending, args)

    async def _take_pending_row(self, digest: str) -> PendingRow | None:
        rows = await self._fetch(self._q.take_pending, (digest,))
        return _pending(rows)

    async def _peek_pending_row(self, digest: str) -> PendingRow | None:
        return _pending(await self._fetch(self._q.peek_pending, (digest,)))

    async def _live_pending_blobs(self, principal: Principal, now: float, limit: int) -> list[bytes]:
        rows = await self._fetch(self._q.live_pending, (principal.tenant, principal.user, now, limit))
        return [bytes(blob) for (blob,) in rows]

    async def _purge_pending(self, now: float) -> int:
        return await self._rowcount(self._q.purge_pending, (now,))

    async def _take_abandoned_rows(self, now: float, limit: int) -> list[tuple[str, PendingRow]]:
        rows = await self._fetch(self._q.take_abandoned, (now, limit))
        return [(r[0], (r[1], r[2], bytes(r[3]), float(r[4]))) for r in rows]

    async def _take_held_rows(
        self, principal: Principal, keep: str, expiring_before: float
    ) -> list[tuple[str, PendingRow]]:
        rows = await self._fetch(self._q.take_held, (principal.tenant, principal.user, keep, expiring_before))
        return [(r[0], (r[1], r[2], bytes(r[3]), float(r[4]))) for r in rows]

    # -- re-seal -----------------------------------------------------------------------------

    async def _key_counts(self, primary: str) -> tuple[int, int]:
        ((stale, current),) = await self._fetch(self._q.key_counts, {"p": primary})
        return int(stale), int(current)

    async def _stale_rows(
        self, kind: RowKind, primary: str, after: tuple[str, ...] | None, limit: int
    ) -> Sequence[StaleRow]:
        rows = await self._fetch(self._q.stale[kind, after is not None], (primary, *(after or ()), limit))
        width = 2 if kind == "token" else 1
        return [StaleRow(tuple(r[:width]), Principal(r[width], r[width + 1]), bytes(r[-1])) for r in rows]

    async def _swap_sealed(
        self, kind: RowKind, swaps: Sequence[tuple[tuple[str, ...], bytes, bytes]], primary: str
    ) -> int:
        # a batch of statements in one transaction, each bounded by the server (an operator's
        # command, not a call: no deadline of a row operation here)
        won = 0
        async with self._conn() as conn, conn.transaction():
            for ident, old, new in swaps:
                won += (await conn.execute(self._q.swap[kind], (new, primary, *ident, old))).rowcount
        return won

    # -- locks -------------------------------------------------------------------------------

    def _process_lock(self, name: str) -> AbstractAsyncContextManager[None]:
        return self._xact_lock(advisory_key("refresh", self.schema, name))

    @asynccontextmanager
    async def _xact_lock(self, key: int) -> AsyncIterator[None]:
        import psycopg

        async with self._conn() as conn, conn.transaction():
            wait = _ms(self._lock_timeout)
            await conn.execute(
                "SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)",
                (wait, wait),
            )
            try:
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
            except (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled) as exc:
                raise TimeoutError(
                    "timed out waiting for another replica to finish refreshing this token"
                ) from exc
            yield

    def _try_store_lock(self, name: str) -> AbstractAsyncContextManager[bool]:
        return self._session_lock(advisory_key(name, self.schema))

    @asynccontextmanager
    async def _session_lock(self, key: int) -> AsyncIterator[bool]:
        import psycopg

        async with self._conn() as conn:
            row = await (await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))).fetchone()
            if not (row and row[0]):
                yield False
                return
            try:
                yield True
            finally:
                try:
                    await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
                except psycopg.Error:
                    await conn.close()  # the server frees a session's locks when the session ends


# PostgreSQL's refusals of a connection that no wait cures (its FATAL messages, which psycopg
# passes on without a SQLSTATE): a role or database it does not know, a wrong password, no
# pg_hba.conf entry, no CONNECT privilege. Its other FATAL answers ("the database system is
# starting up", "... in recovery mode", "sorry, too many clients already") are outages.
_REFUSALS = (
    "password authentication failed",
    "does not exist",
    "no pg_hba.conf entry",
    "permission denied for database",
    "is not permitted to log in",
)


def refusal_of(reason: str) -> str | None:
    """PostgreSQL's refusal of this server in libpq's message `reason` (from its `FATAL:`), if
    that is what it is."""
    if "FATAL:" not in reason:
        return None
    fatal = " ".join(reason[reason.index("FATAL:") :].split())
    return fatal if any(r in fatal for r in _REFUSALS) else None


def _forgotten(background: set[asyncio.Future[Any]]) -> Callable[[asyncio.Future[Any]], None]:
    """A done callback for work no one waits for any more: out of `background`, its outcome read
    (so asyncio does not report an exception that was never retrieved)."""

    def done(task: asyncio.Future[Any]) -> None:
        background.discard(task)
        if not task.cancelled():
            task.exception()

    return done


def _pending(rows: list[tuple[Any, ...]]) -> PendingRow | None:
    if not rows:
        return None
    tenant, user, sealed, expires_at = rows[0]
    return tenant, user, bytes(sealed), float(expires_at)


def _ms(seconds: float) -> str:
    return f"{max(1, int(seconds * 1000))}ms"
