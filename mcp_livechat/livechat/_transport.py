"""The one HTTP seam to LiveChat: auth header, region, retries, and error mapping.

Everything that talks to LiveChat goes through `Transport`. It is the only place an HTTP status
or an error body becomes an exception (`_raise_for`), keyed on LiveChat's `error.type` because
statuses are undocumented for the v3 APIs. It never logs a header or a body.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
import logging
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn, Protocol

import httpx2

from mcp_livechat.errors import (
    MAYBE_APPLIED,
    ApiError,
    AuthenticationFailed,
    Misdirected,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    TransportError,
    ValidationFailed,
)

logger = logging.getLogger("mcp_livechat.livechat")

Api = Literal["agent", "configuration"]

_REGION = re.compile(r"^[a-z]{2,4}(?:-[a-z0-9]{1,4})?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")

# Scopes each action needs (any one of them), from the fact sheet; named in PermissionDenied.
REQUIRED_SCOPES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        ("list_chats", "get_chat", "list_threads", "list_archives"), ("chats--all:ro", "chats--access:ro")
    ),
    **dict.fromkeys(
        (
            "send_event",
            "add_user_to_chat",
            "remove_user_from_chat",
            "transfer_chat",
            "deactivate_chat",
            "tag_thread",
            "untag_thread",
        ),
        ("chats--all:rw", "chats--access:rw"),
    ),
    **dict.fromkeys(("follow_chat",), ("chats--all:ro", "chats--access:ro")),
    "list_agents_for_transfer": (),  # "Required scopes: -"
    "unfollow_chat": (),
    "get_customer": ("customers:ro",),
    "update_customer": ("customers:rw",),
    "set_routing_status": ("agents--my:rw", "agents--all:rw"),
    "list_routing_statuses": ("agents--all:ro",),
    "get_agent": ("agents--my:ro", "agents--all:ro"),
    "list_agents": ("agents--all:ro",),
    "update_agent": ("agents--my:rw", "agents--all:rw"),
    "list_groups": ("groups--all:ro",),
    "get_group": ("groups--my:ro", "groups--all:ro"),
    "list_tags": ("tags--all:ro", "tags--groups:ro"),
    "GET /v2/accounts/me": ("accounts--my:ro",),
    # https://platform.text.com/docs/authorization/global-accounts-api lists accounts--all:rw
    "PATCH /v2/accounts/me": ("accounts--all:rw",),
}


@dataclass(frozen=True, slots=True)
class Credential:
    """One ready `Authorization` header value and the region it belongs to (None = unknown)."""

    authorization: str
    region: str | None = None

    def __repr__(self) -> str:  # never show the secret, even in a traceback's locals
        scheme = self.authorization.split(" ", 1)[0]
        return f"Credential({scheme} <redacted>, region={self.region!r})"

    @property
    def secret(self) -> str:
        return self.authorization.split(" ", 1)[-1]


def bearer(access_token: str) -> Credential:
    """An OAuth access token; its region is the text before the first colon (`dal:...`)."""
    prefix = access_token.split(":", 1)[0] if ":" in access_token else ""
    return Credential(f"Bearer {access_token}", prefix if _REGION.match(prefix) else None)


def basic(account_id: str, pat: str) -> Credential:
    """A Personal Access Token: `Basic base64(account_id:pat)`; the region is learned on demand."""
    import base64

    raw = base64.b64encode(f"{account_id}:{pat}".encode()).decode("ascii")
    return Credential(f"Basic {raw}", None)


class CredentialProvider(Protocol):
    """Where the transport gets its `Authorization` header. `connect` implements it."""

    async def get(self) -> Credential: ...

    async def renew(self, rejected: Credential) -> Credential | None:
        """Called once after LiveChat refused `rejected`; a new credential, or None to give up."""
        ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries with full-jitter exponential backoff; honours Retry-After up to a cap."""

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0

    def delay(self, failure: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (failure - 1)))  # noqa: S311


@dataclass(slots=True)
class LiveChatHttp:
    """What every transport of this process shares: the connection pool, URLs and policy."""

    http: httpx2.AsyncClient
    api_url: str = "https://api.livechatinc.com"
    accounts_url: str = "https://accounts.livechat.com"
    version: str = "3.6"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    learned_regions: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.api_url = self.api_url.rstrip("/")
        self.accounts_url = self.accounts_url.rstrip("/")

    def bind(self, credentials: CredentialProvider) -> Transport:
        return Transport(self, credentials)


def default_http_client(
    *, timeout: float = 20.0, transport: httpx2.AsyncBaseTransport | None = None
) -> httpx2.AsyncClient:
    """The process-wide client: explicit timeouts on every call, no redirects followed."""
    from mcp_livechat.version import __version__

    return httpx2.AsyncClient(
        timeout=httpx2.Timeout(timeout, connect=min(timeout, 10.0)),
        limits=httpx2.Limits(max_connections=100, max_keepalive_connections=20),
        headers={"User-Agent": f"mcp-livechat/{__version__}"},
        follow_redirects=False,
        transport=transport,
    )


class Transport:
    """Calls on behalf of one credential provider (one person), over the shared pool."""

    def __init__(self, shared: LiveChatHttp, credentials: CredentialProvider) -> None:
        self.shared = shared
        self.credentials = credentials

    async def call(self, api: Api, action: str, body: Mapping[str, Any], *, idempotent: bool) -> Any:
        """POST an Agent Chat or Configuration action; the decoded JSON on success."""
        url = f"{self.shared.api_url}/v{self.shared.version}/{api}/action/{action}"
        return await self._send("POST", url, action, dict(body), idempotent=idempotent)

    async def accounts(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        token: str | None = None,
        idempotent: bool,
    ) -> Any:
        """Call the accounts server; `token` overrides the provider (e.g. to revoke a given token)."""
        url = f"{self.shared.accounts_url}{path}"
        label = f"{method} {path}"
        payload = dict(body) if body is not None else None
        return await self._send(method, url, label, payload, idempotent=idempotent, token=token)

    async def _send(
        self,
        method: str,
        url: str,
        action: str,
        body: dict[str, Any] | None,
        *,
        idempotent: bool,
        token: str | None = None,
    ) -> Any:
        policy = self.shared.retry
        cred = bearer(token) if token is not None else await self.credentials.get()
        content = None if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        renewed = redirected = False
        failures = 0
        while True:
            region = self.shared.learned_regions.get(_key(cred)) or cred.region
            headers = {"Authorization": cred.authorization, "Accept": "application/json"}
            if content is not None:
                headers["Content-Type"] = "application/json"
            if region:
                headers["X-Region"] = region
            started = time.perf_counter()
            try:
                response = await self.shared.http.request(method, url, content=content, headers=headers)
            except httpx2.TransportError as exc:
                never_sent = isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout | httpx2.PoolTimeout)
                failures += 1
                logger.debug("livechat %s: %s on attempt %d", action, type(exc).__name__, failures)
                if failures < policy.attempts and (idempotent or never_sent):
                    await asyncio.sleep(policy.delay(failures, None))
                    continue
                raise _transport_error(exc, action, maybe_applied=not (idempotent or never_sent)) from exc
            logger.debug(
                "livechat %s -> %d in %.0f ms",
                action,
                response.status_code,
                (time.perf_counter() - started) * 1e3,
            )
            try:
                return _raise_for(response, action, cred, idempotent=idempotent)
            except AuthenticationFailed:
                if renewed or token is not None:
                    raise
                renewed = True
                fresh = await self.credentials.renew(cred)
                if fresh is None:
                    raise
                cred = fresh
            except Misdirected as exc:
                if redirected or not exc.region or exc.region == region:
                    raise
                redirected = True
                if len(self.shared.learned_regions) > 10_000:  # keyed by credential; tokens rotate
                    self.shared.learned_regions.clear()
                self.shared.learned_regions[_key(cred)] = exc.region
            except (RateLimited, ServerError) as exc:
                failures += 1
                retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
                if not idempotent or failures >= policy.attempts:
                    raise
                if retry_after is not None and retry_after > policy.max_retry_after:
                    raise
                await asyncio.sleep(policy.delay(failures, retry_after))


def _key(cred: Credential) -> str:
    return hashlib.sha256(cred.authorization.encode()).hexdigest()[:24]


def _transport_error(exc: httpx2.TransportError, action: str, *, maybe_applied: bool) -> TransportError:
    timed_out = isinstance(exc, httpx2.TimeoutException)
    kind = "timed out" if timed_out else "could not be reached"
    message = f"LiveChat {kind} during {action} ({type(exc).__name__})."
    message += f" {MAYBE_APPLIED}" if maybe_applied else " Retry in a moment."
    return TransportError(message, maybe_applied=maybe_applied, timed_out=timed_out)


def _clean(text: object, cred: Credential | None, limit: int = 300) -> str:
    out = _CONTROL.sub(" ", str(text))
    if cred is not None and cred.secret:
        out = out.replace(cred.secret, "<redacted>")
    return out[:limit].strip()


def retry_after_seconds(value: str | None) -> float | None:
    """A `Retry-After` header (seconds or an HTTP date) in seconds; None if absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _retry_after(response: httpx2.Response) -> float | None:
    return retry_after_seconds(response.headers.get("Retry-After"))


_NO_BODY = object()


def _raise_for(response: httpx2.Response, action: str, cred: Credential | None, *, idempotent: bool) -> Any:
    """The decoded body of a success; otherwise the matching exception (both API dialects)."""
    status = response.status_code
    try:
        payload: Any = json.loads(response.content) if response.content else {}
    except ValueError:
        payload = _NO_BODY
    if 200 <= status < 300:
        if payload is _NO_BODY:
            _fail(
                status,
                "malformed_response",
                "LiveChat sent a response that is not valid JSON",
                {},
                action,
                response,
                maybe_applied=not idempotent,
            )
        return payload
    err = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(err, dict):  # Agent Chat / Configuration: {"error": {"type", "message", "data"}}
        kind, message, data = str(err.get("type") or ""), err.get("message") or "", err.get("data") or {}
    elif isinstance(err, str):  # accounts server: {"error": code, "error_description": text}
        kind, message = err, payload.get("error_description") or err
        data = {k: payload[k] for k in ("sub_error", "invalid_fields") if k in payload}
    else:
        kind, message, data = _STATUS_TYPES.get(status, "internal" if status >= 500 else "http_error"), "", {}
    message = _clean(message or f"HTTP {status}", cred)
    if not isinstance(data, dict):
        data = {}
    _fail(status, kind, message, data, action, response, maybe_applied=not idempotent)


_STATUS_TYPES = {401: "authentication", 403: "authorization", 404: "not_found", 429: "too_many_requests"}

_BY_TYPE: dict[str, type[ApiError]] = {
    **dict.fromkeys(
        ("authentication", "unauthorized", "unauthorized_client", "invalid_grant"), AuthenticationFailed
    ),
    **dict.fromkeys(
        ("authorization", "missing_access", "access_denied", "insufficient_scope"), PermissionDenied
    ),
    **dict.fromkeys(
        ("not_found", "group_not_found", "greeting_not_found", "license_not_found", "resource_not_found"),
        NotFound,
    ),
    **dict.fromkeys(("validation", "invalid_request", "bad_request"), ValidationFailed),
    **dict.fromkeys(("too_many_requests", "temporarily_unavailable"), RateLimited),
    "misdirected_request": Misdirected,
    **dict.fromkeys(
        ("internal", "service_unavailable", "request_timeout", "server_error", "malformed_response"),
        ServerError,
    ),
}


def _fail(
    status: int,
    kind: str,
    message: str,
    data: dict[str, Any],
    action: str,
    response: httpx2.Response,
    *,
    maybe_applied: bool,
) -> NoReturn:
    cls = _BY_TYPE.get(kind, ApiError)
    if cls is ApiError and status >= 500:
        cls = ServerError  # an error type we do not know, on a 5xx: still LiveChat's side
    kw: dict[str, Any] = {"status": status, "type": kind or "unknown", "data": data, "action": action}
    if cls is ServerError:
        kw["maybe_applied"] = maybe_applied
    elif cls is PermissionDenied:
        kw["missing_scopes"] = REQUIRED_SCOPES.get(action, ())
    elif cls is RateLimited:
        kw["retry_after"] = _retry_after(response)
    elif cls is Misdirected:
        region = data.get("region")
        kw["region"] = region if isinstance(region, str) and _REGION.match(region) else None
    elif cls is ValidationFailed and isinstance(data.get("invalid_fields"), dict):
        fields = "; ".join(f"{k}: {v}" for k, v in data["invalid_fields"].items())
        message = f"{message} ({_clean(fields, None)})"
    raise cls(message, **kw)


__all__ = [
    "REQUIRED_SCOPES",
    "ApiError",
    "Credential",
    "CredentialProvider",
    "LiveChatHttp",
    "RetryPolicy",
    "Transport",
    "basic",
    "bearer",
    "default_http_client",
    "retry_after_seconds",
]
