"""The embedded default token store: one SQLite file (WAL), stdlib `sqlite3`; the row operations of
`store_base.BaseTokenStore`.

One connection per store, opened in the constructor (creating the directory 0700, the file 0600,
the schema or its migration, then checking the key ids), used from `asyncio.to_thread` under a
mutex. `busy_timeout` is the store's `timeout`; a statement still blocked by another writer after
it raises `StoreUnavailable`. Measured (bench/store.py): `get` ~50 us median, `put` ~0.4 ms (the
fsync of synchronous=FULL).

Cross-process locks are OS file locks (`filelock`: flock on Unix, a byte-range lock on Windows) on files
in ``.<db name>.locks/`` beside the database (hidden, so ``tokens.db*`` still means the database
files): ``refresh-<sha256 of the principal>.lock`` for `refresh_lock`, ``sweep.lock``
for `sweep_lock`. The OS releases them when the holder's process ends, however it ends, so a
crashed holder never blocks anyone. The files are empty and stay (one per person who refreshed):
removing a lock file while another process waits on it would split the lock.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from mcp_livechat.connect.crypto import Sealer, make_private_dirs
from mcp_livechat.connect.identity import Principal
from mcp_livechat.connect.store import GrantInfo, StoredToken, StoreUnavailable
from mcp_livechat.connect.store_base import SCHEMA_VERSION, BaseTokenStore, PendingRow, RowKind, StaleRow
from mcp_livechat.errors import ConfigurationError

if TYPE_CHECKING:
    from filelock.asyncio import BaseAsyncFileLock

__all__ = ["SCHEMA_VERSION", "SqliteTokenStore", "sealed_key_ids"]

_T = TypeVar("_T")
log = logging.getLogger(__name__)

_V1 = (
    "CREATE TABLE IF NOT EXISTS tokens (tenant TEXT NOT NULL, user_id TEXT NOT NULL,"
    " sealed BLOB NOT NULL, key_id TEXT NOT NULL, expires_at REAL NOT NULL, updated_at REAL NOT NULL,"
    " PRIMARY KEY (tenant, user_id))",
    "CREATE TABLE IF NOT EXISTS pending (state_hash TEXT PRIMARY KEY, tenant TEXT NOT NULL,"
    " user_id TEXT NOT NULL, sealed BLOB NOT NULL, key_id TEXT NOT NULL, expires_at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS pending_expires_at ON pending (expires_at)",
)
_V1_TO_V2 = (
    *(
        f"ALTER TABLE tokens ADD COLUMN {column}"
        for column in (
            "account_id TEXT",
            "agent_email TEXT",
            "state TEXT NOT NULL DEFAULT 'connected'",
            "state_reason TEXT",
            "state_at REAL NOT NULL DEFAULT 0",
            "last_check_at REAL",
            "last_outcome TEXT",
            "last_error_type TEXT",
        )
    ),
    "UPDATE tokens SET state_at = updated_at",
    "ALTER TABLE pending ADD COLUMN created_at REAL NOT NULL DEFAULT 0",
    "CREATE INDEX IF NOT EXISTS pending_principal ON pending (tenant, user_id, created_at)",
    "DROP TABLE IF EXISTS locks",  # version 1's lease rows: replaced by OS file locks
)
_V2_TO_V3 = ("ALTER TABLE pending ADD COLUMN held INTEGER NOT NULL DEFAULT 0",)
_MIGRATIONS = {0: _V1 + _V1_TO_V2 + _V2_TO_V3, 1: _V1_TO_V2 + _V2_TO_V3, 2: _V2_TO_V3}
_KEY_IDS = "SELECT key_id FROM tokens UNION SELECT key_id FROM pending WHERE expires_at > ?"
_GRANT_COLUMNS = (
    "tenant, user_id, account_id, agent_email, state, state_reason, state_at, last_check_at,"
    " last_outcome, last_error_type, expires_at, updated_at, key_id"
)
_UPSERT = (
    "INSERT INTO tokens (tenant, user_id, sealed, key_id, expires_at, updated_at, account_id, state,"
    " state_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'connected', ?) ON CONFLICT (tenant, user_id) DO UPDATE SET"
    " sealed = excluded.sealed, key_id = excluded.key_id, expires_at = excluded.expires_at,"
    " updated_at = excluded.updated_at, account_id = coalesce(excluded.account_id, tokens.account_id),"
    " agent_email = CASE WHEN excluded.account_id IS NULL OR excluded.account_id IS tokens.account_id"
    " THEN tokens.agent_email END,"
    " state_at = CASE WHEN tokens.state = 'connected' THEN tokens.state_at ELSE excluded.state_at END,"
    " state = 'connected', state_reason = NULL"
)
_STALE = {  # (select, identity columns)
    "token": (
        "SELECT tenant, user_id, tenant, user_id, sealed FROM tokens WHERE key_id != ?",
        "tenant, user_id",
    ),
    "pending": ("SELECT state_hash, tenant, user_id, sealed FROM pending WHERE key_id != ?", "state_hash"),
}
_SWAP = {
    "token": "UPDATE tokens SET sealed = ?, key_id = ? WHERE tenant = ? AND user_id = ? AND sealed = ?",
    "pending": "UPDATE pending SET sealed = ?, key_id = ? WHERE state_hash = ? AND sealed = ?",
}


class SqliteTokenStore(BaseTokenStore):
    """`TokenStore` in one SQLite file. Several instances and processes may share the file."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        sealer: Sealer,
        *,
        timeout: float = 2.0,
        lock_timeout: float = 60.0,
        poll_interval: float = 0.02,
    ) -> None:
        super().__init__(sealer)
        self.path = Path(path).expanduser()
        self._timeout = timeout
        self._lock_timeout = lock_timeout
        self._poll = poll_interval
        self._lock_dir = self.path.with_name(f".{self.path.name}.locks")
        self._mutex = threading.Lock()
        self._conn: sqlite3.Connection | None = self._connect()

    def __repr__(self) -> str:
        return f"SqliteTokenStore(path={str(self.path)!r})"

    # -- lifecycle ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            make_private_dirs(self.path.parent)
            make_private_dirs(self._lock_dir)
            if not self.path.exists():
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            conn = sqlite3.connect(
                self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise ConfigurationError(f"LIVECHAT_TOKEN_STORE: cannot open {self.path}: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("SQLite token store %s: WAL unavailable (journal_mode=%s)", self.path, mode)
            conn.execute("PRAGMA synchronous = FULL")  # a lost rotated refresh token = a forced reconnect
            conn.execute("PRAGMA secure_delete = ON")
            with _transaction(conn):
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                self.check_schema_version(version, str(self.path))
                if version < SCHEMA_VERSION:
                    for statement in _MIGRATIONS[version]:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                self.check_keys({kid for (kid,) in conn.execute(_KEY_IDS, (time.time(),))}, str(self.path))
        except sqlite3.Error as exc:
            conn.close()
            raise ConfigurationError(f"LIVECHAT_TOKEN_STORE: cannot use {self.path}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    async def close(self) -> None:
        with self._mutex:  # statements are short; closing inline avoids a thread hop at shutdown
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    async def _run(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        def call() -> _T:
            with self._mutex:
                if self._conn is None:
                    raise RuntimeError("the token store is closed")
                try:
                    return fn(self._conn)
                except sqlite3.OperationalError as exc:
                    if getattr(exc, "sqlite_errorcode", 0) & 0xFF in (
                        sqlite3.SQLITE_BUSY,
                        sqlite3.SQLITE_LOCKED,
                    ):
                        raise StoreUnavailable(
                            f"the token store is busy (another process held {self.path.name} for more than"
                            f" {self._timeout:g} s); retry shortly"
                        ) from exc
                    raise

        return await asyncio.to_thread(call)

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> Callable[[sqlite3.Connection], list[Any]]:
        return lambda c: c.execute(sql, args).fetchall()

    def _count(self, sql: str, args: Sequence[Any]) -> Callable[[sqlite3.Connection], int]:
        return lambda c: c.execute(sql, args).rowcount

    async def _probe(self) -> None:
        await self._run(self._rows("SELECT 1 FROM tokens LIMIT 1"))

    # -- tokens and grants -------------------------------------------------------------------

    async def _select_token(self, principal: Principal) -> bytes | None:
        sql = "SELECT sealed FROM tokens WHERE tenant = ? AND user_id = ?"
        rows = await self._run(self._rows(sql, (principal.tenant, principal.user)))
        return bytes(rows[0][0]) if rows else None

    async def _upsert_token(
        self, principal: Principal, blob: bytes, kid: str, token: StoredToken, now: float
    ) -> None:
        args = (principal.tenant, principal.user, blob, kid, token.expires_at, now, token.account_id, now)
        await self._run(self._count(_UPSERT, args))

    async def _delete_token(self, principal: Principal) -> bool:
        sql = "DELETE FROM tokens WHERE tenant = ? AND user_id = ?"
        return await self._run(self._count(sql, (principal.tenant, principal.user))) > 0

    async def _set_state(self, principal: Principal, state: str, reason: str | None, now: float) -> bool:
        sql = (
            "UPDATE tokens SET state_at = CASE WHEN state = ? THEN state_at ELSE ? END, state = ?,"
            " state_reason = ? WHERE tenant = ? AND user_id = ?"
        )
        args = (state, now, state, reason, principal.tenant, principal.user)
        return await self._run(self._count(sql, args)) > 0

    async def _set_check(self, principal: Principal, outcome: str, error_type: str | None, at: float) -> bool:
        sql = (
            "UPDATE tokens SET last_check_at = ?, last_outcome = ?, last_error_type = ?"
            " WHERE tenant = ? AND user_id = ?"
        )
        args = (at, outcome, error_type, principal.tenant, principal.user)
        return await self._run(self._count(sql, args)) > 0

    async def _set_identity(
        self, principal: Principal, account_id: str | None, agent_email: str | None
    ) -> bool:
        sql = "UPDATE tokens SET account_id = ?, agent_email = ? WHERE tenant = ? AND user_id = ?"
        args = (account_id, agent_email, principal.tenant, principal.user)
        return await self._run(self._count(sql, args)) > 0

    async def _grant_row(self, principal: Principal) -> GrantInfo | None:
        sql = f"SELECT {_GRANT_COLUMNS} FROM tokens WHERE tenant = ? AND user_id = ?"  # noqa: S608 (fixed text)
        rows = await self._run(self._rows(sql, (principal.tenant, principal.user)))
        return GrantInfo(*rows[0]) if rows else None

    async def _grant_rows(self, tenant: str | None) -> list[GrantInfo]:
        where, args = ("WHERE tenant = ?", (tenant,)) if tenant is not None else ("", ())
        sql = f"SELECT {_GRANT_COLUMNS} FROM tokens {where} ORDER BY tenant, user_id"  # noqa: S608 (fixed text)
        return [GrantInfo(*row) for row in await self._run(self._rows(sql, args))]

    # -- pending authorizations -------------------------------------------------------------

    async def _insert_pending(
        self, digest: str, row: PendingRow, kid: str, now: float, keep: int, held: bool
    ) -> None:
        tenant, user, blob, expires_at = row

        def insert(c: sqlite3.Connection) -> None:
            with _transaction(c):
                c.execute("DELETE FROM pending WHERE expires_at <= ? AND held = 0", (now,))
                c.execute(
                    "DELETE FROM pending WHERE tenant = ?1 AND user_id = ?2 AND held = 0"
                    " AND state_hash NOT IN (SELECT state_hash FROM pending"
                    " WHERE tenant = ?1 AND user_id = ?2 AND held = 0"
                    " ORDER BY created_at DESC LIMIT ?3)",
                    (tenant, user, keep - 1),
                )
                c.execute(
                    "INSERT OR REPLACE INTO pending (state_hash, tenant, user_id, sealed, key_id, expires_at,"
                    " created_at, held) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (digest, tenant, user, blob, kid, expires_at, now, int(held)),
                )

        await self._run(insert)

    async def _take_pending_row(self, digest: str) -> PendingRow | None:
        def take(c: sqlite3.Connection) -> PendingRow | None:
            with _transaction(c):
                row = _pending_row(c, digest)
                if row is not None:
                    c.execute("DELETE FROM pending WHERE state_hash = ?", (digest,))
                return row

        return await self._run(take)

    async def _peek_pending_row(self, digest: str) -> PendingRow | None:
        return await self._run(lambda c: _pending_row(c, digest))

    async def _live_pending_blobs(self, principal: Principal, now: float, limit: int) -> list[bytes]:
        sql = (
            "SELECT sealed FROM pending WHERE tenant = ? AND user_id = ? AND expires_at > ? AND held = 0"
            " ORDER BY created_at DESC LIMIT ?"
        )
        rows = await self._run(self._rows(sql, (principal.tenant, principal.user, now, limit)))
        return [bytes(blob) for (blob,) in rows]

    async def _purge_pending(self, now: float) -> int:
        return await self._run(self._count("DELETE FROM pending WHERE expires_at <= ? AND held = 0", (now,)))

    async def _take_abandoned_rows(self, now: float, limit: int) -> list[tuple[str, PendingRow]]:
        def take(c: sqlite3.Connection) -> list[tuple[str, PendingRow]]:
            with _transaction(c):
                rows = c.execute(
                    "SELECT state_hash, tenant, user_id, sealed, expires_at FROM pending"
                    " WHERE held = 1 AND expires_at <= ? ORDER BY expires_at LIMIT ?",
                    (now, limit),
                ).fetchall()
                c.executemany("DELETE FROM pending WHERE state_hash = ?", [(r[0],) for r in rows])
            return [(r[0], (r[1], r[2], bytes(r[3]), float(r[4]))) for r in rows]

        return await self._run(take)

    async def _take_held_rows(
        self, principal: Principal, keep: str, expiring_before: float
    ) -> list[tuple[str, PendingRow]]:
        def take(c: sqlite3.Connection) -> list[tuple[str, PendingRow]]:
            with _transaction(c):
                rows = c.execute(
                    "SELECT state_hash, tenant, user_id, sealed, expires_at FROM pending WHERE held = 1"
                    " AND tenant = ? AND user_id = ? AND state_hash != ? AND expires_at < ?",
                    (principal.tenant, principal.user, keep, expiring_before),
                ).fetchall()
                c.executemany("DELETE FROM pending WHERE state_hash = ?", [(r[0],) for r in rows])
            return [(r[0], (r[1], r[2], bytes(r[3]), float(r[4]))) for r in rows]

        return await self._run(take)

    # -- re-seal -----------------------------------------------------------------------------

    async def _key_counts(self, primary: str) -> tuple[int, int]:
        sql = (
            "SELECT (SELECT count(*) FROM tokens WHERE key_id != ?1) + (SELECT count(*) FROM pending"
            " WHERE key_id != ?1), (SELECT count(*) FROM tokens WHERE key_id = ?1) + (SELECT count(*)"
            " FROM pending WHERE key_id = ?1)"
        )
        ((stale, current),) = await self._run(self._rows(sql, (primary,)))
        return int(stale), int(current)

    async def _stale_rows(
        self, kind: RowKind, primary: str, after: tuple[str, ...] | None, limit: int
    ) -> Sequence[StaleRow]:
        select, ident = _STALE[kind]
        cursor = f" AND ({ident}) > ({', '.join('?' * len(after))})" if after else ""
        sql = f"{select}{cursor} ORDER BY {ident} LIMIT ?"  # fixed fragments only; data are parameters
        rows = await self._run(self._rows(sql, (primary, *(after or ()), limit)))
        width = 2 if kind == "token" else 1
        return [StaleRow(tuple(r[:width]), Principal(r[width], r[width + 1]), bytes(r[-1])) for r in rows]

    async def _swap_sealed(
        self, kind: RowKind, swaps: Sequence[tuple[tuple[str, ...], bytes, bytes]], primary: str
    ) -> int:
        def swap(c: sqlite3.Connection) -> int:
            with _transaction(c):
                return sum(
                    c.execute(_SWAP[kind], (new, primary, *ident, old)).rowcount for ident, old, new in swaps
                )

        return await self._run(swap)

    # -- cross-process locks -----------------------------------------------------------------

    def _file_lock(self, stem: str) -> BaseAsyncFileLock:
        from filelock import AsyncFileLock

        return AsyncFileLock(self._lock_dir / f"{stem}.lock", mode=0o600)

    def _process_lock(self, name: str) -> AbstractAsyncContextManager[None]:
        return self._held_file(f"refresh-{hashlib.sha256(name.encode()).hexdigest()[:32]}")

    @asynccontextmanager
    async def _held_file(self, stem: str) -> AsyncIterator[None]:
        from filelock import Timeout

        lock = self._file_lock(stem)
        try:
            await lock.acquire(timeout=self._lock_timeout, poll_interval=self._poll)
        except Timeout:
            raise TimeoutError(
                "timed out waiting for another process to finish refreshing this token"
            ) from None
        try:
            yield
        finally:
            await lock.release()

    def _try_store_lock(self, name: str) -> AbstractAsyncContextManager[bool]:
        return self._try_file(name)

    @asynccontextmanager
    async def _try_file(self, stem: str) -> AsyncIterator[bool]:
        from filelock import Timeout

        lock = self._file_lock(stem)
        try:
            await lock.acquire(blocking=False)
        except Timeout:
            held = False
        else:
            held = True
        if not held:
            yield False
            return
        try:
            yield True
        finally:
            await lock.release()


def sealed_key_ids(path: Path) -> set[str]:
    """Key ids of the token (and live pending) rows in the SQLite file at `path`, read-only; empty if
    there is no such file or it holds no token table yet."""
    path = Path(path).expanduser()
    if not path.is_file():
        return set()
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2.0)
    except sqlite3.Error:
        return set()
    try:
        return {kid for (kid,) in conn.execute(_KEY_IDS, (time.time(),))}
    except sqlite3.Error:
        return set()
    finally:
        conn.close()


def _pending_row(c: sqlite3.Connection, digest: str) -> PendingRow | None:
    row = c.execute(
        "SELECT tenant, user_id, sealed, expires_at FROM pending WHERE state_hash = ?", (digest,)
    ).fetchone()
    return None if row is None else cast(PendingRow, (row[0], row[1], bytes(row[2]), row[3]))


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
