"""OAuth with LiveChat's accounts server through Authlib: the consent URL (state + PKCE S256),
the code exchange, and refresh.

Server-side ("confidential") app, `client_secret_post`. PKCE is sent explicitly as S256 (LiveChat
defaults to `plain`). A code arrives percent-encoded (`dal%3A...`); the web framework decodes the
query once and it is passed on as is, so it is never decoded or encoded twice. Authlib clients are
cheap with a shared transport, so each operation uses a fresh one: no token state is shared
between people.

Each token-endpoint attempt is reported to `observer` (as the LiveChat client reports its
requests: api `accounts`, method `POST /v2/token`), and each refresh's final outcome to
`on_refresh` (`ok`, `refused`, `rate_limited`, `error`), so the server can count refresh storms.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2

from mcp_livechat.connect.store import StoredToken
from mcp_livechat.errors import LiveChatError, RateLimited, ServerError, TransportError
from mcp_livechat.livechat import RequestObserver, RetryPolicy, retry_after_seconds

logger = logging.getLogger("mcp_livechat.connect")

# Token-endpoint answers to a refresh, by what they say
# (https://platform.text.com/docs/authorization/troubleshooting):
# - the grant is gone: `invalid_grant` ("refresh token expired"), `missing_grant` ("grants were
#   rejected / never given / client changed required grants");
# - our app is misconfigured: `invalid_client` ("using refresh token with wrong client id");
# - either: `unauthorized_client` ("refresh token not found" or "invalid client secret"); the
#   connection layer decides from the token itself (see `connections`).
DEAD_GRANT = frozenset({"invalid_grant", "missing_grant"})
APP_REFUSED = frozenset({"invalid_client"})
DEAD_OR_APP = frozenset({"unauthorized_client"})


class OAuthFailure(LiveChatError):
    """A code exchange or refresh that LiveChat refused. `reason` is LiveChat's error code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True, repr=False)
class OAuthApp:
    client_id: str
    client_secret: str
    accounts_url: str
    scopes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"OAuthApp(client_id={self.client_id!r}, accounts_url={self.accounts_url!r})"

    @property
    def authorize_endpoint(self) -> str:
        return self.accounts_url.rstrip("/") + "/"

    @property
    def token_endpoint(self) -> str:
        return self.accounts_url.rstrip("/") + "/v2/token"


def new_state() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def new_verifier() -> str:
    """A PKCE verifier: 86 characters of [A-Za-z0-9_-] (RFC 7636 allows 43-128)."""
    return secrets.token_urlsafe(64)


class LiveChatOAuth:
    def __init__(
        self,
        app: OAuthApp,
        transport: httpx2.AsyncBaseTransport,
        *,
        timeout: float = 20.0,
        retry: RetryPolicy | None = None,
        observer: RequestObserver | None = None,
        on_refresh: Callable[[str], None] | None = None,
    ) -> None:
        self.app = app
        self._transport = transport
        self._timeout = timeout
        self.retry = retry or REFRESH_RETRY
        self.observer = observer
        self.on_refresh = on_refresh

    def _client(self, redirect_uri: str | None = None, *, scope: str | None = None, hook: Any = None) -> Any:
        from authlib.integrations.httpx_client import AsyncOAuth2Client

        return AsyncOAuth2Client(
            client_id=self.app.client_id,
            client_secret=self.app.client_secret,
            token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name, not a secret
            redirect_uri=redirect_uri,
            scope=scope,
            code_challenge_method="S256",
            token_endpoint=self.app.token_endpoint,
            transport=self._transport,
            timeout=self._timeout,
            event_hooks={"response": [hook]} if hook else {},
        )

    def authorize_url(self, *, state: str, verifier: str, redirect_uri: str) -> str:
        """LiveChat's consent page for this state and verifier (the challenge is S256 of it).

        `scope` is "a comma-separated string"; without it "all application scopes will be
        requested" (https://platform.text.com/docs/authorization/oauth-authorization).
        """
        scope = ",".join(self.app.scopes) or None
        url, _ = self._client(redirect_uri, scope=scope).create_authorization_url(
            self.app.authorize_endpoint, state=state, code_verifier=verifier
        )
        return str(url)

    async def exchange(self, *, code: str, verifier: str | None, redirect_uri: str) -> StoredToken:
        """Trade an authorization code for tokens. Never retried: a code is single-use."""
        extra = {"code_verifier": verifier} if verifier else {}
        seen = _LastResponse()
        token = await self._call(
            "exchange",
            self._client(redirect_uri, hook=seen).fetch_token(
                self.app.token_endpoint, grant_type="authorization_code", code=code, **extra
            ),
            seen,
        )
        return self._stored(token)

    async def refresh(self, refresh_token: str) -> StoredToken:
        """A new access token (and, for rotating apps, a new refresh token).

        The documented refresh request is `grant_type`, `refresh_token`, `client_id` and
        `client_secret`, nothing else: no `scope`
        (https://platform.text.com/docs/authorization/oauth-authorization#using-the-refresh-token).
        A confidential client's refresh is safe to repeat, so a dropped answer, a 5xx or a
        rate limit is retried within `retry`'s budget (honouring `Retry-After` up to its cap).
        """
        try:
            token = await self._refresh_with_retries(refresh_token)
        except OAuthFailure:
            self._refreshed("refused")
            raise
        except RateLimited:
            self._refreshed("rate_limited")
            raise
        except LiveChatError:
            self._refreshed("error")
            raise
        self._refreshed("ok")
        if not token.get("refresh_token"):
            token["refresh_token"] = refresh_token
        return self._stored(token)

    async def _refresh_with_retries(self, refresh_token: str) -> dict[str, Any]:
        policy = self.retry
        failures = 0
        while True:
            seen = _LastResponse()
            try:
                request = self._client(hook=seen).refresh_token(
                    self.app.token_endpoint, refresh_token=refresh_token
                )
                return await self._call("refresh", request, seen)
            except (RateLimited, ServerError, TransportError) as exc:
                failures += 1
                wait = exc.retry_after if isinstance(exc, RateLimited) else None
                if failures >= policy.attempts or (wait is not None and wait > policy.max_retry_after):
                    raise
                await asyncio.sleep(policy.delay(failures, wait))

    def _refreshed(self, outcome: str) -> None:
        if self.on_refresh is not None:
            self.on_refresh(outcome)

    def _observe(self, outcome: str, error_type: str | None = None) -> None:
        if self.observer is not None:
            self.observer("accounts", "POST /v2/token", outcome, error_type)

    async def _call(self, what: str, request: Any, seen: _LastResponse) -> dict[str, Any]:
        from authlib.integrations.base_client.errors import OAuthError

        started = time.perf_counter()
        try:
            token = dict(await request)
        except OAuthError as exc:
            reason = str(exc.error or "unknown")
            self._observe("error", reason)
            logger.info("token %s refused by LiveChat: %s", what, reason)
            if reason == "temporarily_unavailable":
                raise RateLimited(
                    f"LiveChat's accounts server is rate limiting the token {what}.",
                    retry_after=seen.retry_after,
                    status=seen.status or 429,
                    type=reason,
                    action=f"token {what}",
                ) from None
            raise OAuthFailure(reason, f"LiveChat refused the token {what} ({reason}).") from None
        except httpx2.HTTPStatusError as exc:
            self._observe("error", "server_error")
            raise ServerError(
                f"LiveChat's accounts server failed the token {what} (HTTP {exc.response.status_code}).",
                status=exc.response.status_code,
                type="server_error",
                action=f"token {what}",
            ) from None
        except httpx2.TransportError as exc:
            self._observe("timeout" if isinstance(exc, httpx2.TimeoutException) else "unreachable")
            raise TransportError(
                f"LiveChat's accounts server could not be reached during the token {what} "
                f"({type(exc).__name__}); retry in a moment."
            ) from exc
        except ValueError:
            self._observe("error", "malformed_response")
            raise ServerError(
                f"LiveChat's accounts server sent an unreadable token {what} response.",
                status=200,
                type="malformed_response",
                action=f"token {what}",
            ) from None
        self._observe("ok")
        logger.debug("token %s done in %.0f ms", what, (time.perf_counter() - started) * 1e3)
        if not token.get("access_token"):
            raise OAuthFailure(
                "no_access_token", f"LiveChat's token {what} response carried no access token."
            )
        return token

    def _stored(self, token: dict[str, Any]) -> StoredToken:
        now = time.time()
        expires_in = float(token.get("expires_in") or 28800)
        return StoredToken(
            access_token=str(token["access_token"]),
            refresh_token=str(token["refresh_token"]) if token.get("refresh_token") else None,
            expires_at=now + expires_in,
            scope=str(token.get("scope") or ""),
            account_id=token.get("account_id"),
            organization_id=token.get("organization_id"),
            token_type=str(token.get("token_type") or "Bearer"),
            client_id=self.app.client_id,
            obtained_at=now,
        )


# Refreshes retry like any LiveChat read (full-jitter backoff, `Retry-After` honoured), with
# shorter caps: a person's call waits behind them.
REFRESH_RETRY = RetryPolicy(attempts=3, base_delay=0.5, max_delay=4.0, max_retry_after=10.0)


class _LastResponse:
    """An httpx2 response hook that keeps the status and `Retry-After` of the last answer."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.retry_after: float | None = None

    async def __call__(self, response: httpx2.Response) -> None:
        self.status = response.status_code
        self.retry_after = retry_after_seconds(response.headers.get("Retry-After"))
