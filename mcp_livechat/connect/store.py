"""Where each person's LiveChat tokens live: the records, the `TokenStore` protocol, `StoreUnavailable`.

The implementations share one shape (`store_base.BaseTokenStore`: sealing, the codec, the
in-process locks, re-seal, the schema and key checks) and differ only in their row operations:
`sqlite_store.SqliteTokenStore` (embedded default, one file) and `postgres_store.PostgresTokenStore`
(shared by many replicas). `stores.open_store` picks one from LIVECHAT_TOKEN_STORE. This module
imports neither backend. What a row holds:

- a token row, keyed by (tenant, user): the sealed `StoredToken` and, in clear, its key id, expiry
  and update time plus the grant's health (`GrantInfo`: account, agent e-mail, state, last check);
  never a token;
- a pending authorization, keyed by SHA-256 hex of the OAuth state: the principal, expiry and
  whether it holds a grant in clear; the state itself, the PKCE verifier, the redirect URI, the
  e-mail the link requires and, once LiveChat answered, the held grant (`HeldGrant`: the fresh
  tokens, whose LiveChat account they are, the confirmation form's token) sealed. A held row waits
  for the person's confirmation; it is never reused as a link, and when it expires
  `take_abandoned` hands it over so its tokens are revoked rather than silently dropped.

A row that does not open (wrong key, tampered, copied to another principal) raises
`crypto.SealError` from `get` / `take_pending` instead of looking absent, and is kept: the caller
marks it `needs_reconnect`, and an operator who lost the key sees why.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

from mcp_livechat.connect.identity import Principal
from mcp_livechat.errors import TransportError

__all__ = [
    "CONNECTED",
    "NEEDS_RECONNECT",
    "GrantInfo",
    "GrantState",
    "HeldGrant",
    "PendingAuthorization",
    "ResealReport",
    "StoreUnavailable",
    "StoredToken",
    "TokenStore",
    "state_hash",
]

_FORMAT = 1

GrantState = Literal["connected", "needs_reconnect"]
CONNECTED: Final = "connected"
NEEDS_RECONNECT: Final = "needs_reconnect"


class StoreUnavailable(TransportError):
    """The token store did not answer within its timeout (down, unreachable or saturated)."""

    def __init__(
        self,
        message: str = "the token store is unreachable right now; retry shortly",
        *,
        refused: str | None = None,
    ) -> None:
        super().__init__(message)
        # the database's own refusal (a role, password or database it does not know), for the
        # operator: a start refuses to serve with it rather than wait for an outage to end
        self.refused = refused


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
        return _dump(data)

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
class HeldGrant:
    """What the callback obtained, held until the person confirms: the tokens, whose LiveChat
    account they belong to, and the token the confirmation form must carry back."""

    token: StoredToken
    agent_email: str | None  # from /v2/accounts/me (None without the scope accounts--my:ro)
    account_id: str | None
    csrf: str

    def __repr__(self) -> str:
        who = f"agent_email={self.agent_email!r}, account_id={self.account_id!r}"
        return f"HeldGrant(token=<redacted>, {who})"

    def to_json(self) -> dict[str, Any]:
        return {
            "token": json.loads(self.token.to_bytes()),
            "agent_email": self.agent_email,
            "account_id": self.account_id,
            "csrf": self.csrf,
        }

    @classmethod
    def from_json(cls, obj: Any) -> HeldGrant:
        if not isinstance(obj, dict) or not isinstance(obj.get("token"), dict):
            raise ValueError("not a held grant")
        return cls(
            token=StoredToken.from_bytes(_dump(obj["token"])),
            agent_email=_opt_str(obj, "agent_email"),
            account_id=_opt_str(obj, "account_id"),
            csrf=_str(obj, "csrf"),
        )


@dataclass(frozen=True, slots=True, repr=False)
class PendingAuthorization:
    state: str  # the OAuth state (>= 128 random bits, created by the caller)
    principal: Principal
    code_verifier: str  # PKCE verifier (secret)
    redirect_uri: str
    expires_at: float
    expected_email: str | None = None  # the caller's e-mail claim, when the server requires a match
    held: HeldGrant | None = None  # set once LiveChat answered: awaiting the person's confirmation

    def __repr__(self) -> str:
        return (
            f"PendingAuthorization(state=<redacted>, principal={self.principal!r}, code_verifier=<redacted>,"
            f" redirect_uri={self.redirect_uri!r}, expires_at={self.expires_at!r},"
            f" expected_email={self.expected_email!r}, held={self.held!r})"
        )

    def to_bytes(self) -> bytes:
        """The plaintext that is sealed for `principal` (the state is inside: never in clear)."""
        body: dict[str, Any] = {
            "v": _FORMAT,
            "state": self.state,
            "state_hash": state_hash(self.state),
            "code_verifier": self.code_verifier,
            "redirect_uri": self.redirect_uri,
            "expires_at": self.expires_at,
        }
        if self.expected_email is not None:
            body["expected_email"] = self.expected_email
        if self.held is not None:
            body["held"] = self.held.to_json()
        return _dump(body)

    @classmethod
    def from_bytes(cls, data: bytes, principal: Principal, state: str | None = None) -> PendingAuthorization:
        """Parse `to_bytes` output for the row keyed by `state` (None: take the state from the body).

        `ValueError` if it is not a pending authorization, belongs to another state (a blob moved
        between rows), or holds no state when none is given (rows written before the state was kept).
        """
        obj = _load_object(data)
        sealed_state = _opt_str(obj, "state")
        state = state if state is not None else sealed_state
        if state is None or _str(obj, "state_hash") != state_hash(state):
            raise ValueError("state mismatch")
        return cls(
            state=state,
            principal=principal,
            code_verifier=_str(obj, "code_verifier"),
            redirect_uri=_str(obj, "redirect_uri"),
            expires_at=_num(obj, "expires_at"),
            expected_email=_opt_str(obj, "expected_email"),
            held=HeldGrant.from_json(obj["held"]) if obj.get("held") is not None else None,
        )


@dataclass(frozen=True, slots=True)
class GrantInfo:
    """One person's grant as an operator or a health sweep sees it: clear columns only, no secret."""

    tenant: str
    user: str
    account_id: str | None
    agent_email: str | None
    state: GrantState
    state_reason: str | None  # e.g. "cannot be decrypted", "refresh refused"
    state_at: float  # unix seconds: when the grant entered `state`
    last_check_at: float | None
    last_outcome: str | None  # e.g. "ok", "refreshed", "dead", "error"
    last_error_type: str | None  # LiveChat's error code of the last failed check
    expires_at: float  # of the access token
    updated_at: float  # last write of the sealed token
    key_id: str  # which configured key sealed it

    @property
    def principal(self) -> Principal:
        return Principal(self.tenant, self.user)


@dataclass(frozen=True, slots=True)
class ResealReport:
    """What `reseal_all` did: rows re-sealed under the primary key, already current, or that do not open."""

    resealed: int = 0
    current: int = 0
    unopenable: int = 0


class TokenStore(Protocol):
    async def get(self, principal: Principal) -> StoredToken | None:
        """The stored token, None if there is none; `SealError` if the row does not open (it is kept)."""
        ...

    async def put(self, principal: Principal, token: StoredToken) -> None:
        """Insert or replace; the grant becomes `connected` (its reason cleared)."""
        ...

    async def delete(self, principal: Principal) -> bool:
        """True if a row existed."""
        ...

    async def put_pending(self, pending: PendingAuthorization) -> None:
        """Store a pending authorization; in the same transaction, drop expired ones and the
        principal's oldest beyond a small cap."""
        ...

    async def take_pending(self, state: str, now: float | None = None) -> PendingAuthorization | None:
        """Atomically remove and return (single use). Unknown, taken or expired -> None (expired rows
        are deleted too); `SealError` if the row does not open. `now=0.0` returns an expired row as
        well (the caller checks the expiry itself, e.g. to revoke a held grant)."""
        ...

    async def peek_pending(self, state: str, now: float | None = None) -> PendingAuthorization | None:
        """Read without consuming (the connect link builds the consent URL from it); None if
        unknown, taken or expired; `SealError` if the row does not open."""
        ...

    async def live_pending(
        self, principal: Principal, now: float | None = None
    ) -> PendingAuthorization | None:
        """The principal's newest unexpired pending authorization that opens and holds no grant
        (a link that can be handed out again), or None."""
        ...

    async def purge_expired(self, now: float | None = None) -> int:
        """Drop expired pending authorizations that hold no grant; returns how many."""
        ...

    async def take_abandoned(self, now: float | None = None, limit: int = 100) -> list[PendingAuthorization]:
        """Atomically remove and return up to `limit` expired rows that hold a grant nobody
        confirmed (their tokens must be revoked); rows that do not open are removed and skipped."""
        ...

    async def take_held_of(
        self, principal: Principal, *, besides: str, expiring_before: float
    ) -> list[PendingAuthorization]:
        """Atomically remove and return the principal's rows that hold a grant and expire before
        `expiring_before` (links started earlier), but the one of state `besides` (their tokens
        must be revoked: one unconfirmed grant per person at a time, the newest); rows that do not
        open are removed and skipped."""
        ...

    async def mark(self, principal: Principal, *, state: GrantState, reason: str | None = None) -> bool:
        """Set the grant's state (and why); False if the principal has no row."""
        ...

    async def record_check(
        self, principal: Principal, *, outcome: str, error_type: str | None = None, at: float | None = None
    ) -> bool:
        """Remember the outcome of a health check; False if the principal has no row."""
        ...

    async def set_identity(
        self, principal: Principal, *, account_id: str | None, agent_email: str | None
    ) -> bool:
        """Remember whose LiveChat account the grant is; False if the principal has no row."""
        ...

    async def grant(self, principal: Principal) -> GrantInfo | None:
        """The principal's grant as `list_grants` shows it (clear columns only), None if no row."""
        ...

    async def list_grants(self, tenant: str | None = None) -> list[GrantInfo]:
        """Every grant (of one tenant), ordered by tenant then user."""
        ...

    def refresh_lock(self, principal: Principal) -> AbstractAsyncContextManager[None]:
        """Mutual exclusion, across processes and replicas, for refreshing one principal's token."""
        ...

    def sweep_lock(self) -> AbstractAsyncContextManager[bool]:
        """Never waits: yields True if this process now holds the store-wide sweep lock, else False."""
        ...

    async def open(self) -> None:
        """Connect and check the schema and keys now rather than on first use (idempotent);
        `StoreUnavailable` if the store does not answer, `ConfigurationError` if it cannot be used."""
        ...

    async def ping(self) -> bool:
        """Reachable? Never raises."""
        ...

    async def unreachable(self) -> str | None:
        """None if the store answers, else why not, in one safe sentence. Never raises."""
        ...

    async def close(self) -> None: ...

    async def reseal_all(
        self, progress: Callable[[int, int], None] | None = None, batch: int = 100
    ) -> ResealReport:
        """Re-encrypt rows sealed with an old key under the primary key, in short batches."""
        ...


def state_hash(state: str) -> str:
    """What a pending row is keyed by: the state itself is never stored in clear."""
    return hashlib.sha256(state.encode()).hexdigest()


def _dump(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()


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
