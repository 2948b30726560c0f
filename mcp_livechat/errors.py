"""The exception tree. Imports nothing from the package.

```
LiveChatError                       base; every message is safe to show (no token, secret or raw body)
├── ConfigurationError              bad settings: stops the start, names the variable
├── UserInputError(argument)        a tool argument the model must fix
├── NotConnected(connect_url)       this person has not connected LiveChat yet
├── ReconnectRequired(connect_url)  the stored grant was rejected or revoked: connect again
├── TransportError(maybe_applied, sent)  network failure or timeout (chained with `from`)
└── ApiError(status, type, message, data, described)     LiveChat answered with an error
    ├── AuthenticationFailed        `authentication`: the credential was refused
    ├── PermissionDenied(missing_scopes)      `authorization`, `missing_access`
    ├── NotFound                    `not_found`, `group_not_found`, ...
    ├── ValidationFailed            `validation`
    ├── RateLimited(retry_after)    `too_many_requests`
    ├── Misdirected(region)         `misdirected_request`
    └── ServerError(maybe_applied)  `internal`, `service_unavailable`, `request_timeout`, bad bodies
        └── UnexpectedResponse      a success answer in a shape we do not read (not retried)
```

`maybe_applied` marks an *ambiguous* answer to a write that is not safe to repeat (a timeout, a
dropped connection, a 5xx, a 2xx whose body is not JSON): LiveChat may have done it. Such an
error never says "retry"; it says to check the current state first (`ambiguous(exc)`). A
`TransportError` whose `sent` is false never reached LiveChat (no connection at any attempt): the
write certainly did not happen.

Who raises what: only `livechat._transport` (and `livechat.accounts` for the accounts-server
dialect) create `ApiError`s; only `connect` creates the connection errors; tools raise
`UserInputError`. The MCP error boundary turns every `LiveChatError` into an `is_error` result
whose text is `str(error)`, so each message says what happened and what to do next.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class LiveChatError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigurationError(LiveChatError):
    """Settings that cannot work. The message names the variable and what is wrong."""


class UserInputError(LiveChatError):
    """A tool argument the caller must change."""

    def __init__(self, message: str, *, argument: str | None = None) -> None:
        super().__init__(message)
        self.argument = argument


class NotConnected(LiveChatError):
    """The caller has no LiveChat credential yet; `connect_url` starts the connection."""

    def __init__(self, connect_url: str | None, message: str | None = None) -> None:
        self.connect_url = connect_url
        if message is None:
            message = "LiveChat is not connected for you yet."
            if connect_url:
                message += f" Open {connect_url} to connect your LiveChat account, then retry."
        super().__init__(message)


class ReconnectRequired(NotConnected):
    """LiveChat rejected the stored grant (revoked, expired or capped out): connect again."""

    def __init__(self, connect_url: str | None, message: str | None = None) -> None:
        if message is None:
            message = "LiveChat no longer accepts your stored sign-in (it was revoked or expired)."
            if connect_url:
                message += f" Open {connect_url} to reconnect your LiveChat account, then retry."
        super().__init__(connect_url, message)


class TransportError(LiveChatError):
    """LiveChat could not be reached, or did not answer in time. `sent`: whether any attempt may
    have reached LiveChat (False only when every attempt failed before sending: no connection, no
    free connection in the pool)."""

    def __init__(
        self, message: str, *, maybe_applied: bool = False, timed_out: bool = False, sent: bool = True
    ) -> None:
        super().__init__(message)
        self.maybe_applied = maybe_applied
        self.timed_out = timed_out
        self.sent = sent


MAYBE_APPLIED = "The change may or may not have been applied: check the current state before retrying."


class ApiError(LiveChatError):
    """LiveChat answered with an error envelope (or an unusable body)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        type: str,
        data: Mapping[str, Any] | None = None,
        action: str | None = None,
        described: bool = True,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.message = message
        self.data = dict(data or {})
        self.action = action
        # True when an error body in one of LiveChat's dialects named the error; False when only
        # the HTTP status did (an empty body, a proxy's or firewall's page).
        self.described = described
        # True when this answers a repeat (an idempotent call sent again after a lost answer or a
        # 5xx), so an earlier attempt may have been applied: a refusal may be of the repeat only.
        self.repeated = False

    def __str__(self) -> str:
        where = f" in {self.action}" if self.action else ""
        advice = self.advice()
        # LiveChat's messages often end without a stop ("Wrong format of request"): end the
        # sentence before the advice starts another.
        stop = "." if advice and self.message and self.message[-1] not in ".!?" else ""
        return f"LiveChat error{where} ({self.type}): {self.message}{stop}{advice}"

    def advice(self) -> str:
        """One sentence telling the caller what to do next; empty when there is nothing to add."""
        return ""


class AuthenticationFailed(ApiError):
    def advice(self) -> str:
        return " The credential was refused; reconnect LiveChat or check the configured token."


class PermissionDenied(ApiError):
    def __init__(self, message: str, *, missing_scopes: Sequence[str] = (), **kw: Any) -> None:
        super().__init__(message, **kw)
        self.missing_scopes = tuple(missing_scopes)

    def advice(self) -> str:
        if self.missing_scopes:
            return (
                " The credential lacks a permission this needs; one of these scopes is required: "
                + ", ".join(self.missing_scopes)
                + ". Ask an admin for the role, or reconnect with those scopes."
            )
        return " Your LiveChat role or the credential's scopes do not allow this."


class NotFound(ApiError):
    def advice(self) -> str:
        return " Check the id (list or search first to find a valid one)."


class ValidationFailed(ApiError):
    def advice(self) -> str:
        return " Fix the request and try again."


class RateLimited(ApiError):
    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after

    def advice(self) -> str:
        if self.retry_after is not None:
            unit = "second" if self.retry_after == 1 else "seconds"
            return f" Retry after {self.retry_after:g} {unit}."
        return " Wait a little (about 10 seconds) and retry."


class Misdirected(ApiError):
    def __init__(self, message: str, *, region: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.region = region


class ServerError(ApiError):
    def __init__(self, message: str, *, maybe_applied: bool = False, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.maybe_applied = maybe_applied

    def advice(self) -> str:
        if self.maybe_applied:
            return " " + MAYBE_APPLIED
        return " This is on LiveChat's side; retry in a moment."


class UnexpectedResponse(ServerError):
    """LiveChat answered with success, in a shape this server does not read: a change in
    LiveChat's API, or a proxy's page. Not retried: the same request gets the same answer."""

    def advice(self) -> str:
        applied = " " + MAYBE_APPLIED if self.maybe_applied else ""
        return (
            f"{applied} Retrying will not help: this server may need an update for a change in"
            " LiveChat's API (or a proxy answered in LiveChat's place); tell the user."
        )


def refusal(exc: BaseException) -> bool:
    """LiveChat, or this server before it, turned down what was asked (a wrong id, an invalid
    value, a missing scope, a chat that is closed): the caller's to change. Not the credential's
    failure, a rate limit, the wrong region or trouble on LiveChat's side. Decided by the error's
    class, which the transport reads from `error.type`, never by the HTTP status."""
    if isinstance(exc, UserInputError):
        return True
    return isinstance(exc, ApiError) and not isinstance(
        exc, AuthenticationFailed | RateLimited | Misdirected | ServerError
    )


def ambiguous(exc: BaseException) -> bool:
    """An answer that leaves open whether a non-idempotent write happened."""
    return isinstance(exc, TransportError | ServerError) and exc.maybe_applied
