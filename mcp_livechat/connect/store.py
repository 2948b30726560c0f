"""Where each person's LiveChat tokens live: the `TokenStore` protocol, its records, and `open_store`.

Two implementations: `sqlite_store.SqliteTokenStore` (embedded default, one file) and
`postgres_store.PostgresTokenStore` (shared by many replicas). Both keep secrets sealed:

- token rows, keyed by (tenant, user): ``sealer.seal(principal, token.to_bytes())`` plus the key id
  and the expiry in clear (the expiry is not secret and helps operators);
- pending authorizations, keyed by SHA-256 hex of the OAuth state (the state itself is never
  stored): principal columns, the sealed verifier / redirect URI / state hash / expiry, the expiry.

A row that does not open (wrong key, tampered, copied to another principal) raises
`crypto.SealError` from `get` / `take_pending` instead of looking absent: the caller tells the
person to reconnect, and an operator who lost the key sees why.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mcp_livechat.connect.identity import Principal
from mcp_livechat.errors import ConfigurationError

if TYPE_CHECKING:
    from mcp_livechat.connect.crypto import Sealer

__all__ = [
    "PendingAuthorization",
    "StoredToken",
    "TokenCodec",
    "TokenStore",
    "open_store",
    "state_hash",
]

_FORMAT = 1


@dataclass(frozen=True, slots=True, repr=False)
class StoredToken:
    access_token: str
    refresh_token: str | None
    expires_at: float  # unix seconds
    scope: str  # comma-separated, as LiveChat returns it
    account_id: str | None = None
    organization_id: str | None = None
    token_type: str = "Bearer"  # noqa: S105
    client_id: str | None = None
    obtained_at: float = 0.0

    def __repr__(self) -> str:
        refresh = "<redacted>" if self.refresh_token else None
        return (
            f"StoredToken(access_token=<redacted>, refresh_token={refresh}, expires_at={self.expires_at!r},"
            f" scope={self.scope!r}, account_id={self.account_id!r},"
            f" organization_id={self.organization_id!r}, token_type={self.token_type!r},"
            f" client_id={self.client_id!r}, obtained_at={self.obtained_at!r})"
        )

    def to_bytes(self) -> bytes:
        data = {
            "v": _FORMAT,
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
            "scope": self.scope,
            "account_id": self.account_id,
            "organization_id": self.organization_id,
            "token_type": self.token_type,
            "client_id": self.client_id,
            "obtained_at": self.obtained_at,
        }
        return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> StoredToken:
        """Parse `to_bytes` output; `ValueError` if it is not a stored token."""
        obj = _load_object(data)
        return cls(
            access_token=_str(obj, "access_token"),
            refresh_token=_opt_str(obj, "refresh_token"),
            expires_at=_num(obj, "expires_at"),
            scope=_str(obj, "scope"),
            account_id=_opt_str(obj, "account_id"),
            organization_id=_opt_str(obj, "organization_id"),
            token_type=_opt_str(obj, "token_type") or "Bearer",
            client_id=_opt_str(obj, "client_id"),
            obtained_at=_num(obj, "obtained_at", 0.0),
        )


@dataclass(frozen=True, slots=True, repr=False)
class PendingAuthorization:
    state: str  # the OAuth state (>= 128 random bits, created by the caller)
    principal: Principal
    code_verifier: str  # PKCE verifier (secret)
    redirect_uri: str
    expires_at: float

    def __repr__(self) -> str:
        return (
            f"PendingAuthorization(state=<redacted>, principal={self.principal!r}, code_verifier=<redacted>,"
            f" redirect_uri={self.redirect_uri!r}, expires_at={self.expires_at!r})"
        )


class TokenStore(Protocol):
    async def get(self, principal: Principal) -> StoredToken | None:
        """The stored token, None if there is none; `SealError` if the row does not open."""
        ...

    async def put(self, principal: Principal, token: StoredToken) -> None:
        """Insert or replace."""
        ...

    async def delete(self, principal: Principal) -> bool:
        """True if a row existed."""
        ...

    async def put_pending(self, pending: PendingAuthorization) -> None: ...

    async def take_pending(self, state: str, now: float | None = None) -> PendingAuthorization | None:
        """Atomically remove and return (single use). Unknown, taken or expired -> None (expired rows
        are deleted too); `SealError` if the row does not open."""
        ...

    async def peek_pending(self, state: str, now: float | None = None) -> PendingAuthorization | None:
        """Read without consuming (the connect link builds the consent URL from it); None if
        unknown, taken or expired; `SealError` if the row does not open."""
        ...

    async def purge_expired(self, now: float | None = None) -> int:
        """Drop expired pending authorizations; returns how many."""
        ...

    def refresh_lock(self, principal: Principal) -> AbstractAsyncContextManager[None]:
        """Mutual exclusion, across processes and replicas, for refreshing one principal's token."""
        ...

    async def ping(self) -> bool:
        """Reachable? Never raises."""
        ...

    async def close(self) -> None: ...

    async def reseal_all(self) -> int:
        """Re-encrypt rows sealed with an old key under the primary key; returns how many."""
        ...


def state_hash(state: str) -> str:
    """What a pending row is keyed by: the state itself is never stored."""
    return hashlib.sha256(state.encode()).hexdigest()


class TokenCodec:
    """Turns records into sealed blobs and back; shared by the store implementations."""

    __slots__ = ("sealer",)

    def __init__(self, sealer: Sealer) -> None:
        self.sealer = sealer

    def seal_token(self, principal: Principal, token: StoredToken) -> bytes:
        return self.sealer.seal(principal, token.to_bytes())

    def open_token(self, principal: Principal, blob: bytes) -> StoredToken:
        from mcp_livechat.connect.crypto import SealError

        plaintext = self.sealer.open(principal, bytes(blob))
        try:
            return StoredToken.from_bytes(plaintext)
        except ValueError:
            raise SealError() from None

    def seal_pending(self, pending: PendingAuthorization) -> tuple[str, bytes]:
        """(state hash, sealed blob)."""
        digest = state_hash(pending.state)
        body = {
            "v": _FORMAT,
            "state_hash": digest,
            "code_verifier": pending.code_verifier,
            "redirect_uri": pending.redirect_uri,
            "expires_at": pending.expires_at,
        }
        plaintext = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
        return digest, self.sealer.seal(pending.principal, plaintext)

    def open_pending(self, state: str, principal: Principal, blob: bytes) -> PendingAuthorization:
        from mcp_livechat.connect.crypto import SealError

        plaintext = self.sealer.open(principal, bytes(blob))
        try:
            obj = _load_object(plaintext)
            if _str(obj, "state_hash") != state_hash(state):  # a blob moved between pending rows
                raise ValueError("state mismatch")
            return PendingAuthorization(
                state=state,
                principal=principal,
                code_verifier=_str(obj, "code_verifier"),
                redirect_uri=_str(obj, "redirect_uri"),
                expires_at=_num(obj, "expires_at"),
            )
        except ValueError:
            raise SealError() from None

    def pending_from_row(
        self, state: str, row: Sequence[Any] | None, now: float | None = None
    ) -> PendingAuthorization | None:
        """A pending row `(tenant, user, sealed, expires_at)` opened, or None if absent or expired."""
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


def open_store(url: str | None, *, keys: Sequence[bytes], default_dir: Path) -> TokenStore:
    """Build the store named by LIVECHAT_TOKEN_STORE.

    - None / "" -> SQLite at ``default_dir / "tokens.db"``;
    - ``sqlite:///abs/path.db`` -> SQLite at ``/abs/path.db``; ``sqlite:relative.db`` or
      ``sqlite://relative/path.db`` -> relative to the working directory; ``~`` is expanded;
    - ``postgresql://...`` / ``postgres://...`` -> PostgreSQL (a libpq URL).

    Without keys, SQLite uses (creating it if needed) a 0600 key file, ``encryption.key``, next to
    the database; PostgreSQL refuses. The PostgreSQL store connects on first use (or `await open()`).
    """
    from mcp_livechat.connect.crypto import Sealer, load_or_create_key_file

    url = (url or "").strip()
    scheme = url.partition(":")[0].lower() if ":" in url else ""
    if not url or scheme == "sqlite":
        from mcp_livechat.connect.sqlite_store import SqliteTokenStore

        if url:
            db_path = _sqlite_path(url)
            key_path = db_path.parent / "encryption.key"
        else:
            db_path = Path(default_dir).expanduser() / "tokens.db"
            key_path = Path(default_dir).expanduser() / "encryption.key"
        sealer = Sealer(keys) if keys else Sealer([load_or_create_key_file(key_path)])
        return SqliteTokenStore(db_path, sealer)
    if scheme in ("postgresql", "postgres"):
        if not keys:
            raise ConfigurationError(
                "LIVECHAT_ENCRYPTION_KEY is required with a PostgreSQL token store (LIVECHAT_TOKEN_STORE): "
                "set it to base64 of 32 random bytes, shared by every replica"
            )
        from mcp_livechat.connect.postgres_store import PostgresTokenStore

        return PostgresTokenStore(url, Sealer(keys))
    raise ConfigurationError(
        f"LIVECHAT_TOKEN_STORE: unsupported scheme {scheme or '(none)'!r}; "
        "use sqlite:///path/to/tokens.db or postgresql://user@host/db"
    )


def _sqlite_path(url: str) -> Path:
    rest = url.split(":", 1)[1]
    if rest.startswith("//"):
        rest = rest[2:]
        if rest.startswith("/"):
            rest = "/" + rest.lstrip("/")
    if not rest or "?" in rest or rest in (":memory:", "/:memory:"):
        raise ConfigurationError(
            "LIVECHAT_TOKEN_STORE: a SQLite store needs a file path, e.g. sqlite:///var/lib/mcp-livechat/tokens.db"
        )
    return Path(rest).expanduser()


def _load_object(data: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("not a stored record") from exc
    if not isinstance(obj, dict) or obj.get("v") != _FORMAT:
        raise ValueError("not a stored record")
    return obj


def _str(obj: dict[str, Any], name: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str):
        raise ValueError(f"{name} is missing")
    return value


def _opt_str(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} is not a string")
    return value


def _num(obj: dict[str, Any], name: str, default: float | None = None) -> float:
    value = obj.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} is not a number")
    return float(value)
