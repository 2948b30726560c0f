"""The embedded default token store: one SQLite file (WAL), stdlib `sqlite3`.

One connection per store, opened in the constructor (creating the directory 0700, the file 0600
and the schema), used from `asyncio.to_thread` under a mutex. Measured: a primary-key SELECT takes
~5 us on the shared connection against ~170 us with a connection (and busy_timeout pragma) per call;
`get` ~60 us median, `put` ~0.4 ms (the fsync of synchronous=FULL).

`refresh_lock` excludes other coroutines of this process (an asyncio lock per principal) and
other processes on the same file (a lease row in `locks`, taken with one atomic upsert, polled,
renewed while held, so a crashed holder blocks others for at most one lease).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from mcp_livechat.connect.crypto import Sealer, SealError, key_id, make_private_dirs
from mcp_livechat.connect.identity import Principal
from mcp_livechat.connect.store import PendingAuthorization, StoredToken, TokenCodec, state_hash
from mcp_livechat.errors import ConfigurationError

__all__ = ["SCHEMA_VERSION", "SqliteTokenStore"]

SCHEMA_VERSION = 1
_T = TypeVar("_T")
log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    tenant     TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    sealed     BLOB NOT NULL,
    key_id     TEXT NOT NULL,
    expires_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (tenant, user_id)
);
CREATE TABLE IF NOT EXISTS pending (
    state_hash TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    sealed     BLOB NOT NULL,
    key_id     TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS pending_expires_at ON pending (expires_at);
CREATE TABLE IF NOT EXISTS locks (
    name       TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at REAL NOT NULL
);
"""


class SqliteTokenStore:
    """`TokenStore` in one SQLite file. Several instances and processes may share the file."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        sealer: Sealer,
        *,
        busy_timeout: float = 10.0,
        lease: float = 30.0,
        lock_timeout: float = 60.0,
        poll_interval: float = 0.02,
    ) -> None:
        self.path = Path(path).expanduser()
        self._codec = TokenCodec(sealer)
        self._sealer = sealer
        self._busy_timeout = busy_timeout
        self._lease = lease
        self._lock_timeout = lock_timeout
        self._poll = poll_interval
        self._mutex = threading.Lock()
        self._local: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._background: set[asyncio.Future[None]] = set()
        self._conn: sqlite3.Connection | None = self._connect()

    def __repr__(self) -> str:
        return f"SqliteTokenStore(path={str(self.path)!r})"

    # -- lifecycle ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            make_private_dirs(self.path.parent)
            if not self.path.exists():
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            conn = sqlite3.connect(
                self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise ConfigurationError(f"LIVECHAT_TOKEN_STORE: cannot open {self.path}: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("SQLite token store %s: WAL unavailable (journal_mode=%s)", self.path, mode)
            conn.execute("PRAGMA synchronous = FULL")  # a lost rotated refresh token = a forced reconnect
            conn.execute("PRAGMA secure_delete = ON")
            with _transaction(conn):
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise ConfigurationError(
                        f"LIVECHAT_TOKEN_STORE: {self.path} has schema version {version}, written by a newer "
                        f"mcp-livechat (this one knows up to {SCHEMA_VERSION}); upgrade"
                    )
                if version < SCHEMA_VERSION:
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            conn.close()
            raise ConfigurationError(f"LIVECHAT_TOKEN_STORE: cannot use {self.path}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    async def open(self) -> None:
        """Nothing to do: the constructor opened the file (kept for symmetry with PostgreSQL)."""

    async def close(self) -> None:
        with self._mutex:  # statements are short; closing inline avoids a thread hop at shutdown
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    async def __aenter__(self) -> SqliteTokenStore:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _run(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        def call() -> _T:
            with self._mutex:
                if self._conn is None:
                    raise RuntimeError("the token store is closed")
                return fn(self._conn)

        return await asyncio.to_thread(call)

    # -- tokens ------------------------------------------------------------------------------

    async def get(self, principal: Principal) -> StoredToken | None:
        row = await self._run(
            lambda c: c.execute(
                "SELECT sealed FROM tokens WHERE tenant = ? AND user_id = ?",
                (principal.tenant, principal.user),
            ).fetchone()
        )
        return None if row is None else self._codec.open_token(principal, row[0])

    async def put(self, principal: Principal, token: StoredToken) -> None:
        blob = self._codec.seal_token(principal, token)
        args = (principal.tenant, principal.user, blob, key_id(blob), token.expires_at, time.time())
        await self._run(
            lambda c: c.execute(
                "INSERT INTO tokens (tenant, user_id, sealed, key_id, expires_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, user_id) DO UPDATE SET"
                " sealed = excluded.sealed, key_id = excluded.key_id,"
                " expires_at = excluded.expires_at, updated_at = excluded.updated_at",
                args,
            )
        )

    async def delete(self, principal: Principal) -> bool:
        cursor = await self._run(
            lambda c: c.execute(
                "DELETE FROM tokens WHERE tenant = ? AND user_id = ?", (principal.tenant, principal.user)
            )
        )
        return cursor.rowcount > 0

    # -- pending authorizations -------------------------------------------------------------

    async def put_pending(self, pending: PendingAuthorization) -> None:
        digest, blob = self._codec.seal_pending(pending)
        p = pending.principal
        args = (digest, p.tenant, p.user, blob, key_id(blob), pending.expires_at)
        now = time.time()

        def put(c: sqlite3.Connection) -> None:
            with _transaction(c):
                c.execute("DELETE FROM pending WHERE expires_at <= ?", (now,))  # keeps the table small
                c.execute(
                    "INSERT OR REPLACE INTO pending (state_hash, tenant, user_id, sealed, key_id, expires_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    args,
                )

        await self._run(put)

    async def take_pending(self, state: str, now: float | None = None) -> PendingAuthorization | None:
        digest = state_hash(state)

        def take(c: sqlite3.Connection) -> tuple[str, str, bytes, float] | None:
            with _transaction(c):
                row: tuple[str, str, bytes, float] | None = c.execute(
                    "SELECT tenant, user_id, sealed, expires_at FROM pending WHERE state_hash = ?", (digest,)
                ).fetchone()
                if row is not None:
                    c.execute("DELETE FROM pending WHERE state_hash = ?", (digest,))
                return row

        row = await self._run(take)
        return self._codec.pending_from_row(state, row, now)

    async def peek_pending(self, state: str, now: float | None = None) -> PendingAuthorization | None:
        digest = state_hash(state)
        row: tuple[str, str, bytes, float] | None = await self._run(
            lambda c: c.execute(
                "SELECT tenant, user_id, sealed, expires_at FROM pending WHERE state_hash = ?", (digest,)
            ).fetchone()
        )
        return self._codec.pending_from_row(state, row, now)

    async def purge_expired(self, now: float | None = None) -> int:
        cutoff = time.time() if now is None else now
        cursor = await self._run(lambda c: c.execute("DELETE FROM pending WHERE expires_at <= ?", (cutoff,)))
        return cursor.rowcount

    # -- refresh lock ------------------------------------------------------------------------

    def refresh_lock(self, principal: Principal) -> AbstractAsyncContextManager[None]:
        return self._refresh_lock(principal.key)

    @asynccontextmanager
    async def _refresh_lock(self, name: str) -> AsyncIterator[None]:
        local = self._local.get(name)
        if local is None:
            local = self._local[name] = asyncio.Lock()
        async with local:
            owner = uuid.uuid4().hex
            await self._acquire_lease(name, owner)
            renewer = asyncio.create_task(self._renew_lease(name, owner))
            try:
                yield
            finally:
                renewer.cancel()
                with suppress(asyncio.CancelledError):
                    await renewer
                # the thread runs to the end even if this await is cancelled
                await self._run(functools.partial(_release_lease, name=name, owner=owner))

    async def _acquire_lease(self, name: str, owner: str) -> None:
        deadline = time.monotonic() + self._lock_timeout
        delay = self._poll
        while True:
            attempt = asyncio.ensure_future(
                self._run(functools.partial(_try_lease, name=name, owner=owner, lease=self._lease))
            )
            try:
                acquired = await asyncio.shield(attempt)
            except asyncio.CancelledError:
                # the attempt runs on in its thread; if it takes the lease, give it back at once
                attempt.add_done_callback(functools.partial(self._give_back, name, owner))
                raise
            if acquired:
                return
            if time.monotonic() >= deadline:
                raise TimeoutError("timed out waiting for another process to finish refreshing this token")
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.25)

    def _give_back(self, name: str, owner: str, attempt: asyncio.Future[bool]) -> None:
        if attempt.cancelled() or attempt.exception() is not None or not attempt.result():
            return
        task = asyncio.ensure_future(self._run(functools.partial(_release_lease, name=name, owner=owner)))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _renew_lease(self, name: str, owner: str) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            if not await self._run(
                functools.partial(_renew_lease, name=name, owner=owner, lease=self._lease)
            ):
                log.warning("SQLite token store: a refresh lease was lost before it was released")
                return

    # -- operations --------------------------------------------------------------------------

    async def ping(self) -> bool:
        try:
            await self._run(lambda c: c.execute("SELECT 1 FROM tokens LIMIT 1").fetchall())
        except Exception:
            return False
        return True

    async def reseal_all(self) -> int:
        """Re-encrypt token and pending rows sealed with an old key; rows that do not open are skipped."""
        primary = self._sealer.primary_key_id

        def reseal(c: sqlite3.Connection) -> int:
            count = skipped = 0
            with _transaction(c):
                for table, id_col in (("tokens", "rowid"), ("pending", "state_hash")):
                    rows = c.execute(
                        f"SELECT {id_col}, tenant, user_id, sealed FROM {table} WHERE key_id != ?",  # noqa: S608
                        (primary,),
                    ).fetchall()
                    for ident, tenant, user, blob in rows:
                        try:
                            fresh = self._codec.reseal(Principal(tenant, user), blob)
                        except SealError:
                            skipped += 1
                            continue
                        if fresh is not None:
                            c.execute(
                                f"UPDATE {table} SET sealed = ?, key_id = ? WHERE {id_col} = ?",  # noqa: S608
                                (fresh, primary, ident),
                            )
                            count += 1
            if skipped:
                log.warning("SQLite token store: %d rows could not be opened and were not resealed", skipped)
            return count

        return await self._run(reseal)


def _try_lease(c: sqlite3.Connection, *, name: str, owner: str, lease: float) -> bool:
    """Take the lease if it is free or expired: one atomic upsert, True if this owner now holds it."""
    now = time.time()
    cursor = c.execute(
        "INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?) ON CONFLICT (name)"
        " DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at WHERE locks.expires_at <= ?",
        (name, owner, now + lease, now),
    )
    return cursor.rowcount == 1


def _renew_lease(c: sqlite3.Connection, *, name: str, owner: str, lease: float) -> bool:
    cursor = c.execute(
        "UPDATE locks SET expires_at = ? WHERE name = ? AND owner = ?", (time.time() + lease, name, owner)
    )
    return cursor.rowcount == 1


def _release_lease(c: sqlite3.Connection, *, name: str, owner: str) -> None:
    c.execute("DELETE FROM locks WHERE name = ? AND owner = ?", (name, owner))


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE (take the write lock up front, so no deadlock-prone lock upgrade) ... COMMIT."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
