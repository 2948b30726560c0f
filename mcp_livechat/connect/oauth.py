"""OAuth with LiveChat's accounts server through Authlib: the consent URL (state + PKCE S256),
the code exchange, and refresh.

Server-side ("confidential") app, `client_secret_post`. PKCE is sent explicitly as S256 (LiveChat
defaults to `plain`). A code arrives percent-encoded (`dal%3A...`); the web framework decodes the
query once and it is passed on as is, so it is never decoded or encoded twice. Authlib clients are
cheap with a shared transport, so each operation uses a fresh one: no token state is shared
between people.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx2

from mcp_livechat.connect.store import StoredToken
from mcp_livechat.errors import LiveChatError, ServerError, TransportError

logger = logging.getLogger("mcp_livechat.connect")

# Token-endpoint answers that mean "this grant is dead, sign in again" (fact sheet §1.4).
_DEAD_GRANT = {"unauthorized_client", "invalid_grant", "invalid_client", "unauthorized", "access_denied"}


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
    def __init__(self, app: OAuthApp, transport: httpx2.AsyncBaseTransport, *, timeout: float = 20.0) -> None:
        self.app = app
        self._transport = transport
        self._timeout = timeout

    def _client(self, redirect_uri: str | None = None) -> Any:
        from authlib.integrations.httpx_client import AsyncOAuth2Client

        return AsyncOAuth2Client(
            client_id=self.app.client_id,
            client_secret=self.app.client_secret,
            token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name, not a secret
            redirect_uri=redirect_uri,
            scope=" ".join(self.app.scopes) or None,
            code_challenge_method="S256",
            token_endpoint=self.app.token_endpoint,
            transport=self._transport,
            timeout=self._timeout,
        )

    def authorize_url(self, *, state: str, verifier: str, redirect_uri: str) -> str:
        """LiveChat's consent page for this state and verifier (the challenge is S256 of it)."""
        url, _ = self._client(redirect_uri).create_authorization_url(
            self.app.authorize_endpoint, state=state, code_verifier=verifier
        )
        return str(url)

    async def exchange(self, *, code: str, verifier: str | None, redirect_uri: str) -> StoredToken:
        """Trade an authorization code for tokens. Never retried: a code is single-use."""
        extra = {"code_verifier": verifier} if verifier else {}
        token = await self._call(
            "exchange",
            self._client(redirect_uri).fetch_token(
                self.app.token_endpoint, grant_type="authorization_code", code=code, **extra
            ),
        )
        return self._stored(token)

    async def refresh(self, refresh_token: str) -> StoredToken:
        """A new access token (and, for rotating apps, a new refresh token)."""
        token = await self._call(
            "refresh", self._client().refresh_token(self.app.token_endpoint, refresh_token=refresh_token)
        )
        if not token.get("refresh_token"):
            token["refresh_token"] = refresh_token
        return self._stored(token)

    async def _call(self, what: str, request: Any) -> dict[str, Any]:
        from authlib.integrations.base_client.errors import OAuthError

        started = time.perf_counter()
        try:
            token = dict(await request)
        except OAuthError as exc:
            reason = str(exc.error or "unknown")
            logger.info("token %s refused by LiveChat: %s", what, reason)
            raise OAuthFailure(reason, f"LiveChat refused the token {what} ({reason}).") from None
        except httpx2.HTTPStatusError as exc:
            raise ServerError(
                f"LiveChat's accounts server failed the token {what}; retry in a moment.",
                status=exc.response.status_code,
                type="server_error",
                action=f"token {what}",
            ) from None
        except httpx2.TransportError as exc:
            raise TransportError(
                f"LiveChat's accounts server could not be reached ({type(exc).__name__})."
            ) from exc
        except ValueError:
            raise ServerError(
                f"LiveChat's accounts server sent an unreadable token {what} response.",
                status=200,
                type="malformed_response",
                action=f"token {what}",
            ) from None
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


def grant_is_dead(exc: OAuthFailure) -> bool:
    """Whether a refresh failure means the person must connect again."""
    return exc.reason in _DEAD_GRANT
