"""What every token store shares: sealing (`TokenCodec`), the public methods, the in-process locks,
re-seal, and the schema-version and key checks. A backend (`sqlite_store`, `postgres_store`) only
provides the row operations declared abstract here, each one short transaction.

- One lock map per store (weak values, keyed by purpose and name): `refresh_lock` takes the
  principal's asyncio lock, then the backend's cross-process lock; `sweep_lock` takes the "sweep"
  entry without waiting, then the backend's non-blocking store-wide lock. The asyncio lock queues
  one process's coroutines in memory, so they do not each hold a pooled PostgreSQL connection
  blocked on the advisory lock, or poll the lock file. `OAuthConnections` queues a person's calls
  in front of it with its own lock (they then read its cache, not this lock and the row), so on
  that path this one is uncontended; it stays because `refresh_lock` is the store's contract for
  any caller. A lock held or awaited is referenced by that coroutine: the weak map never drops it.
- `reseal_all` walks the rows whose key id is not the primary one in batches (keyset order, so a
  row that does not open is passed, not re-read); each batch is swapped in one transaction with a
  compare-and-swap on the old blob, so a row a server rewrote meanwhile is left alone. It can be
  interrupted and run again.
- `check_keys`: when rows exist and none of their key ids is configured, the store refuses to
  open instead of looking empty (every grant would be lost at the next sign-in).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Self

from mcp_livechat.connect.crypto import Sealer, SealError, key_id
from mcp_livechat.connect.identity import Principal
from mcp_livechat.connect.store import (
    CONNECTED,
    NEEDS_RECONNECT,
    GrantInfo,
    GrantState,
    PendingAuthorization,
    ResealReport,
    StoredToken,
    StoreUnavailable,
    state_hash,
)
from mcp_livechat.errors import ConfigurationError

__all__ = ["PENDING_PER_PRINCIPAL", "SCHEMA_VERSION", "BaseTokenStore", "StaleRow", "TokenCodec"]

SCHEMA_VERSION = 3  # 1: tokens + pending; 2: grant health, pending.created_at, state sealed; 3: pending.held
PENDING_PER_PRINCIPAL = 10  # live connect links kept per person; older ones are dropped on insert
PendingRow = tuple[str, str, bytes, float]  # tenant, user, sealed, expires_at
RowKind = Literal["token", "pending"]
_SHORT = {"reason": 200, "outcome": 40, "error_type": 80, "identity": 320}


@dataclass(frozen=True, slots=True)
class StaleRow:
    """A row sealed under a non-primary key: its identity in its table, its principal, its blob."""

    ident: tuple[str, ...]  # (tenant, user) for tokens, (state_hash,) for pending
    principal: Principal
    sealed: bytes


class TokenCodec:
    """Turns records into sealed blobs and back."""

    __slots__ = ("sealer",)

    def __init__(self, sealer: Sealer) -> None:
        self.sealer = sealer

    def seal_token(self, principal: Principal, token: StoredToken) -> bytes:
        return self.sealer.seal(principal, token.to_bytes())

    def open_token(self, principal: Principal, blob: bytes) -> StoredToken:
        plaintext = self.sealer.open(principal, bytes(blob))
        try:
            return StoredToken.from_bytes(plaintext)
        except ValueError:
            raise SealError() from None

    def seal_pending(self, pending: PendingAuthorization) -> tuple[str, bytes]:
        """(state hash, sealed blob)."""
        return state_hash(pending.state), self.sealer.seal(pending.principal, pending.to_bytes())

    def open_pending(self, state: str | None, principal: Principal, blob: bytes) -> PendingAuthorization:
        """`state` None: the one sealed inside. `SealError` if it does not open or does not match."""
        plaintext = self.sealer.open(principal, bytes(blob))
        try:
            return PendingAuthorization.from_bytes(plaintext, principal, state)
        except ValueError:
            raise SealError() from None

    def pending_from_row(
        self, state: str, row: PendingRow | None, now: float | None = None
    ) -> PendingAuthorization | None:
        """A pending row opened, or None if absent or expired."""
        now = time.time() if now is None else now
        if row is None or row[3] <= now:
            return None
        pending = self.open_pending(state, Principal(row[0], row[1]), row[2])
        return None if pending.expires_at <= now else pending

    def reseal(self, principal: Principal, blob: bytes) -> bytes | None:
        """`blob` sealed under the primary key, or None if it already is. `SealError` if it does not open."""
        blob = bytes(blob)
        if not self.sealer.needs_reseal(blob):
            return None
        return self.sealer.seal(principal, self.sealer.open(principal, blob))


class BaseTokenStore(ABC):
    """The `TokenStore` methods, written once over the backend's row operations."""

    def __init__(self, sealer: Sealer) -> None:
        self._sealer = sealer
        self._codec = TokenCodec(sealer)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:  # noqa: B027 (a backend that opens in its constructor has nothing to do)
        """Connect and check the schema now rather than on first use (idempotent)."""

    @abstractmethod
    async def close(self) -> None: ...

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def ping(self) -> bool:
        """Reachable? Never raises."""
        return await self.unreachable() is None

    async def unreachable(self) -> str | None:
        """None if the store answers, else why not (never raises, never quotes a URL)."""
        try:
            await self._probe()
        except StoreUnavailable as exc:
            return str(exc)
        except Exception as exc:
            return f"the token store failed ({type(exc).__name__})"
        return None

    # -- tokens ------------------------------------------------------------------------------

    async def get(self, principal: Principal) -> StoredToken | None:
        blob = await self._select_token(principal)
        return None if blob is None else self._codec.open_token(principal, blob)

    async def put(self, principal: Principal, token: StoredToken) -> None:
        blob = self._codec.seal_token(principal, token)
        await self._upsert_token(principal, blob, key_id(blob), token, time.time())

    async def delete(self, principal: Principal) -> bool:
        return await self._delete_token(principal)

    # -- grant health ------------------------------------------------------------------------

    async def mark(self, principal: Principal, *, state: GrantState, reason: str | None = None) -> bool:
        if state not in (CONNECTED, NEEDS_RECONNECT):
            raise ValueError(f"unknown grant state {state!r}")
        return await self._set_state(principal, state, _short(reason, "reason"), time.time())

    async def record_check(
        self, principal: Principal, *, outcome: str, error_type: str | None = None, at: float | None = None
    ) -> bool:
        checked = time.time() if at is None else at
        return await self._set_check(
            principal, _short(outcome, "outcome") or "", _short(error_type, "error_type"), checked
        )

    async def set_identity(
        self, principal: Principal, *, account_id: str | None, agent_email: str | None
    ) -> bool:
        return await self._set_identity(
            principal, _short(account_id, "identity"), _short(agent_email, "identity")
        )

    async def grant(self, principal: Principal) -> GrantInfo | None:
        return await self._grant_row(principal)

    async def list_grants(self, tenant: str | None = None) -> list[GrantInfo]:
        return await self._grant_rows(tenant)

    # -- pending authorizations -------------------------------------------------------------

    async def put_pending(self, pending: PendingAuthorization) -> None:
        digest, blob = self._codec.seal_pending(pending)
        p = pending.principal
        row = (p.tenant, p.user, blob, pending.expires_at)
        held = pending.held is not None
        await self._insert_pending(digest, row, key_id(blob), time.time(), PENDING_PER_PRINCIPAL, held)

    async def take_pending(self, state: str, now: float | None = None) -> PendingAuthorization | None:
        return self._codec.pending_from_row(state, await self._take_pending_row(state_hash(state)), now)

    async def peek_pending(self, state: str, now: float | None = None) -> PendingAuthorization | None:
        return self._codec.pending_from_row(state, await self._peek_pending_row(state_hash(state)), now)

    async def live_pending(
        self, principal: Principal, now: float | None = None
    ) -> PendingAuthorization | None:
        now = time.time() if now is None else now
        for blob in await self._live_pending_blobs(principal, now, PENDING_PER_PRINCIPAL):
            try:
                pending = self._codec.open_pending(None, principal, blob)
            except SealError:
                continue  # another key, or written before the state was sealed in: not reusable
            if pending.expires_at > now and pending.held is None:
                return pending
        return None

    async def purge_expired(self, now: float | None = None) -> int:
        return await self._purge_pending(time.time() if now is None else now)

    async def take_abandoned(self, now: float | None = None, limit: int = 100) -> list[PendingAuthorization]:
        now = time.time() if now is None else now
        taken = []
        for state_digest, (tenant, user, blob, _) in await self._take_abandoned_rows(now, limit):
            try:
                pending = self._codec.open_pending(None, Principal(tenant, user), blob)
            except SealError:
                continue  # another key: nothing we could revoke
            if state_hash(pending.state) == state_digest and pending.held is not None:
                taken.append(pending)
        return taken

    async def take_held_of(
        self, principal: Principal, *, besides: str, expiring_before: float
    ) -> list[PendingAuthorization]:
        taken = []
        rows = await self._take_held_rows(principal, state_hash(besides), expiring_before)
        for state_digest, (_, _, blob, _) in rows:
            try:
                pending = self._codec.open_pending(None, principal, blob)
            except SealError:
                continue  # another key: nothing we could revoke
            if state_hash(pending.state) == state_digest and pending.held is not None:
                taken.append(pending)
        return taken

    # -- locks -------------------------------------------------------------------------------

    def _local(self, name: str) -> asyncio.Lock:
        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = asyncio.Lock()
        return lock

    def refresh_lock(self, principal: Principal) -> AbstractAsyncContextManager[None]:
        return self._refresh_lock(principal.key)

    @asynccontextmanager
    async def _refresh_lock(self, name: str) -> AsyncIterator[None]:
        async with self._local(f"refresh:{name}"), self._process_lock(name):
            yield

    def sweep_lock(self) -> AbstractAsyncContextManager[bool]:
        return self._sweep_lock()

    @asynccontextmanager
    async def _sweep_lock(self) -> AsyncIterator[bool]:
        local = self._local("sweep")
        if local.locked():
            yield False
            return
        async with local, self._try_store_lock("sweep") as held:
            yield held

    # -- re-seal -----------------------------------------------------------------------------

    async def reseal_all(
        self, progress: Callable[[int, int], None] | None = None, batch: int = 100
    ) -> ResealReport:
        """Re-encrypt token and pending rows sealed with an old key, `batch` rows per transaction;
        `progress(done, total)` after each batch. Safe while servers run; resumable."""
        if batch < 1:
            raise ValueError("batch must be at least 1")
        primary = self._sealer.primary_key_id
        total, current = await self._key_counts(primary)
        done = resealed = unopenable = 0
        for kind in ("token", "pending"):
            after: tuple[str, ...] | None = None
            while rows := await self._stale_rows(kind, primary, after, batch):
                after = rows[-1].ident
                swaps: list[tuple[tuple[str, ...], bytes, bytes]] = []
                for row in rows:
                    try:
                        fresh = self._codec.reseal(row.principal, row.sealed)
                    except SealError:
                        unopenable += 1
                        continue
                    if fresh is None:
                        current += 1  # its key id column lagged behind its blob
                    else:
                        swaps.append((row.ident, row.sealed, fresh))
                won = await self._swap_sealed(kind, swaps, primary) if swaps else 0
                resealed += won
                current += len(swaps) - won  # rewritten meanwhile by a server: sealed afresh already
                done += len(rows)
                if progress is not None:
                    progress(done, max(total, done))
        return ResealReport(resealed=resealed, current=current, unopenable=unopenable)

    # -- checks the backends run when they open ------------------------------------------------

    @staticmethod
    def check_schema_version(version: int, where: str) -> None:
        if version > SCHEMA_VERSION:
            raise ConfigurationError(
                f"LIVECHAT_TOKEN_STORE: {where} has schema version {version}, written by a newer "
                f"mcp-livechat (this one knows up to {SCHEMA_VERSION}); upgrade"
            )

    def check_keys(self, found: Collection[str], where: str) -> None:
        """Refuse a store whose rows were all sealed with keys this process does not have."""
        if not found or set(found) & set(self._sealer.key_ids):
            return
        missing = ", ".join(sorted(found)[:3]) + (", ..." if len(found) > 3 else "")
        raise ConfigurationError(
            f"LIVECHAT_ENCRYPTION_KEY: {where} holds rows sealed with key id {missing}, and no configured"
            f" key has that id (configured: {', '.join(self._sealer.key_ids)}); configure the key that sealed"
            " them (the new key first, the old one after it) instead of losing every stored sign-in"
        )

    # -- row operations: one short transaction each -------------------------------------------

    @abstractmethod
    async def _probe(self) -> None:
        """Raise unless the store answers."""

    @abstractmethod
    async def _select_token(self, principal: Principal) -> bytes | None: ...

    @abstractmethod
    async def _upsert_token(
        self, principal: Principal, blob: bytes, kid: str, token: StoredToken, now: float
    ) -> None:
        """Insert or replace; state `connected` (reason cleared; `state_at` kept if it already was);
        `account_id` from the token when it has one (the agent e-mail is cleared if it changed)."""

    @abstractmethod
    async def _delete_token(self, principal: Principal) -> bool: ...

    @abstractmethod
    async def _set_state(self, principal: Principal, state: str, reason: str | None, now: float) -> bool:
        """`state_at` moves only when the state changes."""

    @abstractmethod
    async def _set_check(
        self, principal: Principal, outcome: str, error_type: str | None, at: float
    ) -> bool: ...

    @abstractmethod
    async def _set_identity(
        self, principal: Principal, account_id: str | None, agent_email: str | None
    ) -> bool: ...

    @abstractmethod
    async def _grant_row(self, principal: Principal) -> GrantInfo | None: ...

    @abstractmethod
    async def _grant_rows(self, tenant: str | None) -> list[GrantInfo]: ...

    @abstractmethod
    async def _insert_pending(
        self, digest: str, row: PendingRow, kid: str, now: float, keep: int, held: bool
    ) -> None:
        """In one transaction: drop expired rows that hold no grant, keep the principal's newest
        `keep - 1` of those, insert or replace (`held`: the row holds a grant)."""

    @abstractmethod
    async def _take_pending_row(self, digest: str) -> PendingRow | None:
        """Delete and return the row, atomically."""

    @abstractmethod
    async def _peek_pending_row(self, digest: str) -> PendingRow | None: ...

    @abstractmethod
    async def _live_pending_blobs(self, principal: Principal, now: float, limit: int) -> list[bytes]:
        """Sealed blobs of the principal's unexpired pending rows that hold no grant, newest first."""

    @abstractmethod
    async def _purge_pending(self, now: float) -> int:
        """Drop the expired rows that hold no grant."""

    @abstractmethod
    async def _take_abandoned_rows(self, now: float, limit: int) -> list[tuple[str, PendingRow]]:
        """Delete and return (state hash, row) for up to `limit` expired rows that hold a grant,
        atomically (one taker per row across processes)."""

    @abstractmethod
    async def _take_held_rows(
        self, principal: Principal, keep: str, expiring_before: float
    ) -> list[tuple[str, PendingRow]]:
        """Delete and return (state hash, row) for the principal's rows that hold a grant and
        expire before `expiring_before`, but the one whose state hash is `keep`, atomically."""

    @abstractmethod
    async def _key_counts(self, primary: str) -> tuple[int, int]:
        """(rows sealed under another key, rows under `primary`), tokens and pending together."""

    @abstractmethod
    async def _stale_rows(
        self, kind: RowKind, primary: str, after: tuple[str, ...] | None, limit: int
    ) -> Sequence[StaleRow]:
        """Up to `limit` rows of `kind` not under `primary`, ordered by identity, after `after`."""

    @abstractmethod
    async def _swap_sealed(
        self, kind: RowKind, swaps: Sequence[tuple[tuple[str, ...], bytes, bytes]], primary: str
    ) -> int:
        """In one transaction, for each (identity, old blob, new blob): replace if the row still holds
        the old blob. Returns how many were replaced."""

    @abstractmethod
    def _process_lock(self, name: str) -> AbstractAsyncContextManager[None]:
        """Exclusive across processes and replicas, waiting up to the lock timeout (`TimeoutError`)."""

    @abstractmethod
    def _try_store_lock(self, name: str) -> AbstractAsyncContextManager[bool]:
        """Exclusive across processes and replicas, never waiting: yields whether it is held."""


def _short(text: str | None, kind: str) -> str | None:
    """Health columns hold short text: trimmed to their limit."""
    return None if text is None else text[: _SHORT[kind]]
