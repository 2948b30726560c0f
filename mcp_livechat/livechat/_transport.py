"""The one HTTP seam to LiveChat: auth header, region, retries, and error mapping.

Everything that talks to LiveChat goes through `Transport`. It is the only place an HTTP status
or an error body becomes an exception (`_outcome`), keyed on LiveChat's `error.type` because
statuses are undocumented for the v3 APIs. It never logs a credential or a body: of an error
answer it logs the action, the status, LiveChat's error type and the ids LiveChat support can
trace a request by (`_trace_ids`), at WARNING when the fault is LiveChat's, else at INFO.

An optional `LiveChatHttp.observer` hears of every attempt: the API (`agent`, `configuration`,
`reports`, `accounts`), the method (the action, or `GET /v2/info` on the accounts server), the
outcome (`ok`; `refused`: LiveChat turned down what was asked, e.g. `not_found`; `error`: its
side, a rate limit or the credential; `timeout`, `unreachable`) and LiveChat's error type. It is
how the server counts requests without this layer knowing of metrics; an observer that raises is
ignored.
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NoReturn, Protocol
from urllib.parse import urlsplit

import httpx2
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

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
    UnexpectedResponse,
    ValidationFailed,
    refusal,
)
from mcp_livechat.livechat.cache import BoundedCache, bounded_cache
from mcp_livechat.livechat.decode import Decode, Malformed, as_json
from mcp_livechat.livechat.scopes import REQUIRED_SCOPES

logger = logging.getLogger("mcp_livechat.livechat")
_tracer = trace.get_tracer("mcp_livechat.livechat")  # a proxy: the provider installed at start, if any
_PORTS = {"http": 80, "https": 443}

Api = Literal["agent", "configuration", "reports"]

_REGION = re.compile(r"^[a-z]{2,4}(?:-[a-z0-9]{1,4})?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


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


RequestObserver = Callable[[str, str, str, str | None], None]
"""(api, method, outcome, LiveChat's error type or None): called once per HTTP attempt."""


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
            # never earlier than asked, and spread by up to a tenth (at most 1 s): the calls one
            # 429 stopped do not all come back in the same instant
            return retry_after + random.uniform(0, min(1.0, retry_after / 10))  # noqa: S311
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (failure - 1)))  # noqa: S311


@dataclass(slots=True)
class LiveChatHttp:
    """What every transport of this process shares: the connection pool, URLs and policy."""

    http: httpx2.AsyncClient
    api_url: str = "https://api.livechatinc.com"
    accounts_url: str = "https://accounts.livechat.com"
    version: str = "3.6"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    learned_regions: BoundedCache[str, str] = field(default_factory=bounded_cache)
    observer: RequestObserver | None = None

    def __post_init__(self) -> None:
        self.api_url = self.api_url.rstrip("/")
        self.accounts_url = self.accounts_url.rstrip("/")

    def bind(self, credentials: CredentialProvider) -> Transport:
        return Transport(self, credentials)


class LazyTransport(httpx2.AsyncBaseTransport):
    """The network transport, built on the first request: building one creates a TLS context
    (~40 ms), which a server that has not called LiveChat yet need not pay at start-up."""

    def __init__(self, make: Callable[[], httpx2.AsyncBaseTransport] | None = None) -> None:
        self._make = make or (lambda: httpx2.AsyncHTTPTransport(retries=0))
        self._inner: httpx2.AsyncBaseTransport | None = None

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self._inner is None:
            self._inner = self._make()
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()
            self._inner = None


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
    """Calls on behalf of one credential provider (one person), over the shared pool.

    One call is a loop of small steps: one attempt (`_attempt`); the answer mapped to a result
    or an exception (`_outcome`, pure); then, by what went wrong, one credential renewal
    (the provider's `renew`), one region correction (`_redirected`), or a bounded retry with backoff that
    honours `Retry-After` (`_Retries`). A write that is not safe to repeat is retried only when
    the connection provably never opened.
    """

    def __init__(self, shared: LiveChatHttp, credentials: CredentialProvider) -> None:
        self.shared = shared
        self.credentials = credentials
        # LiveChat's own clock, from the `Date` header of its last answer (RFC 9110 §6.6.1): how
        # long someone has waited is measured against it, not against this machine's clock.
        self.server_time: datetime | None = None

    async def call(
        self,
        api: Api,
        action: str,
        body: Mapping[str, Any],
        *,
        idempotent: bool,
        decode: Decode[Any] = as_json,
    ) -> Any:
        """POST an Agent Chat, Configuration or Reports action; the decoded body on success."""
        url = f"{self.shared.api_url}/v{self.shared.version}/{_path(api, action)}"
        return await self._send(api, "POST", url, action, dict(body), idempotent=idempotent, decode=decode)

    async def accounts(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        token: str | None = None,
        idempotent: bool,
        decode: Decode[Any] = as_json,
    ) -> Any:
        """Call the accounts server; `token` overrides the provider (e.g. to revoke a given token)."""
        url = f"{self.shared.accounts_url}{path}"
        payload = dict(body) if body is not None else None
        label = f"{method} {path}"
        return await self._send(
            "accounts", method, url, label, payload, idempotent=idempotent, token=token, decode=decode
        )

    async def _send(
        self,
        api: str,
        method: str,
        url: str,
        action: str,
        body: dict[str, Any] | None,
        *,
        idempotent: bool,
        decode: Decode[Any],
        token: str | None = None,
    ) -> Any:
        cred = bearer(token) if token is not None else await self.credentials.get()
        content = None if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        retries = _Retries(self.shared.retry)
        renewed = redirected = False
        repeated = False  # an earlier attempt of this call may have been applied (idempotent calls only)
        attempt = 0
        while True:
            attempt += 1
            region = self.shared.learned_regions.get(_key(cred)) or cred.region
            request = _Request(api, method, url, action, attempt, content, region)
            try:
                try:
                    return await self._once(request, cred, idempotent=idempotent, decode=decode)
                except ApiError as exc:
                    exc.repeated = repeated
                    raise
            except httpx2.TransportError as exc:
                timed_out = isinstance(exc, httpx2.TimeoutException)
                self._observe(api, action, "timeout" if timed_out else "unreachable", None)
                never_sent = isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout | httpx2.PoolTimeout)
                if await retries.wait(safe=idempotent or never_sent, retry_after=None):
                    repeated = repeated or not never_sent
                    continue
                maybe, sent = not (idempotent or never_sent), repeated or not never_sent
                raise _transport_error(exc, action, maybe_applied=maybe, sent=sent) from exc
            except AuthenticationFailed:
                if renewed or token is not None:
                    raise
                renewed = True
                fresh = await self.credentials.renew(cred)  # once: e.g. an OAuth refresh
                if fresh is None:
                    raise
                cred = fresh
            except Misdirected as exc:
                if redirected or not self._redirected(cred, exc, region):
                    raise
                redirected = True
            except UnexpectedResponse:
                raise
            except (RateLimited, ServerError) as exc:
                retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
                if not await retries.wait(safe=idempotent, retry_after=retry_after):
                    raise
                repeated = repeated or isinstance(exc, ServerError)

    async def _once(
        self, request: _Request, cred: Credential, *, idempotent: bool, decode: Decode[Any]
    ) -> Any:
        """One attempt, sent and read, in an OpenTelemetry CLIENT span (a no-op span unless the
        process installed a tracer provider): HTTP semantic conventions
        (https://opentelemetry.io/docs/specs/semconv/http/http-spans/) plus LiveChat's API, action
        and error type. Never a header, a body or a credential."""
        path = urlsplit(request.url)
        port = path.port or _PORTS.get(path.scheme, 443)
        attributes: dict[str, str | int] = {  # url.full without userinfo or query, whatever the settings
            "http.request.method": request.method, "url.full": f"{path.scheme}://{path.hostname}:{port}{path.path}",
            "server.address": path.hostname or "", "server.port": port,
            "livechat.api": request.api, "livechat.action": request.action,
        }  # fmt: skip
        if request.attempt > 1:
            attributes["http.request.resend_count"] = request.attempt - 1
        if request.region:
            attributes["livechat.region"] = request.region
        with _tracer.start_as_current_span(
            f"{request.method} {path.path}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,  # an exception's text may quote LiveChat's message
            set_status_on_exception=False,
        ) as span:
            try:
                response = await self._attempt(request, cred)
            except httpx2.TransportError as exc:
                span.set_attribute("error.type", type(exc).__qualname__)
                span.set_status(StatusCode.ERROR)
                raise
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 400:
                span.set_attribute("error.type", str(response.status_code))
                span.set_status(StatusCode.ERROR)
            try:
                return self._decoded(
                    request.api, request.action, response, cred, idempotent=idempotent, decode=decode
                )
            except ApiError as exc:
                span.set_attribute("livechat.error.type", exc.type)
                if response.status_code < 400:  # a success of a shape this server does not read
                    span.set_attribute("error.type", exc.type)
                    span.set_status(StatusCode.ERROR)
                raise

    def _decoded(
        self,
        api: str,
        action: str,
        response: httpx2.Response,
        cred: Credential,
        *,
        idempotent: bool,
        decode: Decode[Any],
    ) -> Any:
        """`_outcome` of one attempt, reported to the observer."""
        try:
            result = _outcome(response, action, cred, idempotent=idempotent, decode=decode)
        except ApiError as exc:
            self._observe(api, action, "refused" if refusal(exc) else "error", exc.type)
            ids = _trace_ids(response, exc)
            shown = [f"{k}={v}" for k, v in ids.items()]
            if isinstance(exc, UnexpectedResponse):  # what an operator needs to find the change
                shown.insert(0, exc.message)
            logger.log(
                logging.WARNING if isinstance(exc, ServerError | RateLimited) else logging.INFO,
                "livechat %s -> %d %s%s", action, response.status_code, exc.type,
                f" ({', '.join(shown)})" if shown else "",
                extra={"livechat_api": api, "livechat_action": action,
                       "livechat_status": response.status_code, "livechat_error": exc.type, **ids},
            )  # fmt: skip
            raise
        self._observe(api, action, "ok", None)
        return result

    def _observe(self, api: str, action: str, outcome: str, error_type: str | None) -> None:
        observer = self.shared.observer
        if observer is None:
            return
        try:
            observer(api, action, outcome, error_type)
        except Exception:  # counting must never break a call
            logger.debug("request observer failed", exc_info=True)

    async def _attempt(self, request: _Request, cred: Credential) -> httpx2.Response:
        """One request with the credential and region of this attempt, logged at DEBUG as one event
        (`livechat_api`, `livechat_action`, `attempt`, `duration_ms` and the status or the error)."""
        headers = {"Authorization": cred.authorization, "Accept": "application/json"}
        if request.content is not None:
            headers["Content-Type"] = "application/json"
        if request.region:
            headers["X-Region"] = request.region
        action = request.action
        event = {"livechat_api": request.api, "livechat_action": action, "attempt": request.attempt}
        started = time.perf_counter()
        try:
            response = await self.shared.http.request(
                request.method, request.url, content=request.content, headers=headers
            )
        except httpx2.TransportError as exc:
            ms = round((time.perf_counter() - started) * 1e3)
            error = type(exc).__name__
            logger.debug("livechat %s: %s after %d ms", action, error, ms,
                         extra={**event, "duration_ms": ms, "livechat_error": error})  # fmt: skip
            raise
        ms = round((time.perf_counter() - started) * 1e3)
        logger.debug("livechat %s -> %d in %d ms", action, response.status_code, ms,
                     extra={**event, "duration_ms": ms, "livechat_status": response.status_code})  # fmt: skip
        self.server_time = _http_date(response.headers.get("Date")) or self.server_time
        return response

    def _redirected(self, cred: Credential, exc: Misdirected, tried: str | None) -> bool:
        """`misdirected_request` names the right region: remember it for this credential."""
        if not exc.region or exc.region == tried:
            return False
        self.shared.learned_regions[_key(cred)] = exc.region
        return True


@dataclass(frozen=True, slots=True)
class _Request:
    """One attempt of a call: what is sent, where, and which attempt it is (1 = the first)."""

    api: str
    method: str
    url: str
    action: str
    attempt: int
    content: str | None
    region: str | None


def _path(api: Api, action: str) -> str:
    # Reports are addressed by resource and action (`reports/chats/total_chats`)
    # https://platform.text.com/docs/data-reporting/reports-api
    return f"reports/{action}" if api == "reports" else f"{api}/action/{action}"


class _Retries:
    """The retry budget of one call: full-jitter backoff, `Retry-After` honoured up to a cap."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.failures = 0

    async def wait(self, *, safe: bool, retry_after: float | None) -> bool:
        """After a failure: sleep and return True when another attempt is allowed."""
        self.failures += 1
        if not safe or self.failures >= self.policy.attempts:
            return False
        if retry_after is not None and retry_after > self.policy.max_retry_after:
            return False  # a long wait is reported (RateLimited says how long), not waited out
        await asyncio.sleep(self.policy.delay(self.failures, retry_after))
        return True


def _key(cred: Credential) -> str:
    return hashlib.sha256(cred.authorization.encode()).hexdigest()[:24]


def _transport_error(
    exc: httpx2.TransportError, action: str, *, maybe_applied: bool, sent: bool
) -> TransportError:
    timed_out = isinstance(exc, httpx2.TimeoutException)
    kind = "timed out" if timed_out else "could not be reached"
    message = f"LiveChat {kind} during {action} ({type(exc).__name__})."
    message += f" {MAYBE_APPLIED}" if maybe_applied else " Retry in a moment."
    return TransportError(message, maybe_applied=maybe_applied, timed_out=timed_out, sent=sent)


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


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _retry_after(response: httpx2.Response) -> float | None:
    return retry_after_seconds(response.headers.get("Retry-After"))


# What LiveChat's support can find a failed request by. The accounts server's error body carries
# a `request_id` (https://platform.text.com/docs/authorization/global-accounts-api, the error
# schemas). [UNVERIFIED] The docs name no such header for the v3 APIs; LiveChat's Python SDK logs
# every response header of a failed request for that purpose, and `x-debug-id` /
# `x-request-id` are the conventional names: logged when present, never relied on.
_TRACE_HEADERS = ("x-debug-id", "x-request-id")
_TRACE_VALUE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _trace_ids(response: httpx2.Response, exc: ApiError) -> dict[str, str]:
    headers = response.headers
    ids = {name.replace("-", "_"): headers[name] for name in _TRACE_HEADERS if name in headers}
    request_id = exc.data.get("request_id")  # read from the error body once, by `_outcome`
    if isinstance(request_id, str):
        ids["livechat_request_id"] = request_id
    return {k: v for k, v in ids.items() if _TRACE_VALUE.fullmatch(v)}


def _outcome(
    response: httpx2.Response, action: str, cred: Credential | None, *, idempotent: bool, decode: Decode[Any]
) -> Any:
    """The decoded body of a success; otherwise the matching exception (both API dialects).

    Pure: the same response always maps to the same result or exception. It is the one place an
    HTTP status or an error body becomes an exception, keyed on `error.type` (LiveChat does not
    document statuses for the v3 APIs).
    """
    status = response.status_code
    if 200 <= status < 300:
        try:
            return decode(response.content)
        except Malformed as exc:
            if exc.shape is not None:
                shape = _clean(exc.shape, cred)
                raise UnexpectedResponse(
                    f"LiveChat answered with success, in a shape this server does not read ({shape}).",
                    status=status, type="unexpected_response", action=action, maybe_applied=not idempotent,
                ) from None  # fmt: skip
            _fail(status, "malformed_response", "LiveChat sent a response that is not valid JSON", {},
                  action, response, maybe_applied=not idempotent)  # fmt: skip
    try:
        payload: Any = json.loads(response.content) if response.content else {}
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's stack
        payload = None
    err = payload.get("error") if isinstance(payload, dict) else None
    described = True
    if isinstance(err, dict):  # Agent Chat / Configuration: {"error": {"type", "message", "data"}}
        kind, message, data = str(err.get("type") or ""), err.get("message") or "", err.get("data") or {}
        described = bool(kind)
    elif isinstance(err, str) and err:  # accounts server: {"error": code, "error_description": text}
        kind, message = err, payload.get("error_description") or err
        data = {k: payload[k] for k in ("sub_error", "invalid_fields", "request_id") if k in payload}
    else:
        kind, message, data = _STATUS_TYPES.get(status, "internal" if status >= 500 else "http_error"), "", {}
        described = False
    message = _clean(message or f"HTTP {status}", cred)
    if not isinstance(data, dict):
        data = {}
    _fail(status, kind, message, data, action, response, maybe_applied=not idempotent, described=described)


# LiveChat's documented error types that refuse the request for what it asks (the chat's state,
# the account, the request), not for the credential, the rate, the region or a fault on its side
# (https://platform.text.com/docs/messaging/agent-chat-api#possible-errors; `already_exists` from
# https://platform.text.com/docs/management/configuration-api#possible-errors). The docs give no HTTP
# status for any type, so a refusal is read from the type, whatever the status it came with.
REFUSAL_TYPES = frozenset(
    {
        "agent_offline",
        "already_exists",
        "chat_inactive",
        "entity_too_large",
        "license_expired",
        "license_not_found",
        "limit_reached",
        "missing_access",
        "not_found",
        "unsupported_version",
        "validation",
        "wrong_product_version",
    }
)

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
    described: bool = True,
) -> NoReturn:
    cls = _BY_TYPE.get(kind, ApiError)
    if cls is ApiError and status >= 500 and kind not in REFUSAL_TYPES:
        cls = ServerError  # an error type we do not know, on a 5xx: still LiveChat's side
    kw: dict[str, Any] = {
        "status": status,
        "type": kind or "unknown",
        "data": data,
        "action": action,
        "described": described,
    }
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
    "ApiError",
    "Credential",
    "CredentialProvider",
    "LazyTransport",
    "LiveChatHttp",
    "RequestObserver",
    "RetryPolicy",
    "Transport",
    "basic",
    "bearer",
    "default_http_client",
    "retry_after_seconds",
]
