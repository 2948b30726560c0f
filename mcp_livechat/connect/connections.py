"""Per-person LiveChat connections over OAuth: links, completion, fresh tokens, status, disconnect.

Tokens live in the `TokenStore` (sealed), with an in-memory cache in front. A token is refreshed
ahead of expiry, once per person however many calls wait: an in-process lock per person, then the
store's cross-replica lock, then a re-read (another replica may have refreshed meanwhile). The
`refresh_token` of every response is stored (rotation-safe). A new token is minted only when a
person connects; never per session (LiveChat's 25-token cap silently revokes the oldest).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from mcp_livechat.connect.crypto import SealError
from mcp_livechat.connect.identity import Principal
from mcp_livechat.connect.linking import LinkConfirmation
from mcp_livechat.connect.oauth import (
    DEAD_GRANT,
    DEAD_OR_APP,
    LiveChatOAuth,
    OAuthFailure,
    new_state,
    new_verifier,
)
from mcp_livechat.connect.store import HeldGrant, PendingAuthorization, StoredToken, TokenStore
from mcp_livechat.errors import AuthenticationFailed, LiveChatError, NotConnected, ReconnectRequired
from mcp_livechat.livechat import Credential, LiveChat, LiveChatHttp, StaticCredentials, bearer
from mcp_livechat.models import ConnectionStatus

logger = logging.getLogger("mcp_livechat.connect")

PENDING_TTL = 600.0  # a connect link / state lives 10 minutes
REFRESH_MARGIN = 300.0  # refresh this long before expiry (less for short-lived tokens)


class OAuthConnections(LinkConfirmation):
    """Implements the tools' `ConnectionPort` for OAuth; also completes the callback (directly on
    the desktop, after the person's confirmation over HTTP: `linking.LinkConfirmation`)."""

    def __init__(
        self,
        *,
        store: TokenStore,
        oauth: LiveChatOAuth,
        http: LiveChatHttp,
        redirect_uri: str,
        link_base: str | None,
        on_link: Callable[[], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.time,
        requester_email: Callable[[Principal], str | None] | None = None,
        require_email: bool = False,
    ) -> None:
        """`requester_email(principal)`: the verified e-mail claim of the caller asking for a link
        (None: unknown); with `require_email`, only a LiveChat agent with that e-mail can complete it."""
        self.store = store
        self.oauth = oauth
        self.http = http
        self.redirect_uri = redirect_uri
        self.link_base = link_base.rstrip("/") if link_base else None
        self._on_link = on_link
        self._clock = clock
        self._cache: dict[Principal, StoredToken] = {}
        self._emails: dict[Principal, str] = {}
        self._locks: weakref.WeakValueDictionary[Principal, asyncio.Lock] = weakref.WeakValueDictionary()
        self._app_proven = False  # a token-endpoint success since start: the app's credentials are right
        self._app_refusal_logged: str | None = None
        self._requester_email = requester_email or (lambda principal: None)
        self.require_email = require_email

    # ------------------------------------------------------------------ links and completion

    async def connect_url(self, principal: Principal) -> str:
        """A fresh link for this person: `/connect/{state}` over HTTP, LiveChat's page otherwise."""
        state, verifier = new_state(), new_verifier()
        pending = PendingAuthorization(
            state,
            principal,
            verifier,
            self.redirect_uri,
            self._clock() + PENDING_TTL,
            expected_email=self._requester_email(principal),
        )
        await self.store.put_pending(pending)
        if self._on_link is not None:
            await self._on_link()  # e.g. make sure a loopback receiver is listening
        if self.link_base:
            return f"{self.link_base}/connect/{state}"
        return self.consent_url(pending)

    def consent_url(self, pending: PendingAuthorization) -> str:
        return self.oauth.authorize_url(
            state=pending.state, verifier=pending.code_verifier, redirect_uri=pending.redirect_uri
        )

    async def complete(self, state: str, code: str) -> tuple[Principal, StoredToken]:
        """The desktop callback (one local person, no confirmation step): consume the state,
        exchange the code, store the token for that person."""
        pending = await self.store.take_pending(state)
        if pending is None:
            raise OAuthFailure("invalid_state", "This sign-in link is unknown, expired or already used.")
        token = await self.oauth.exchange(
            code=code, verifier=pending.code_verifier, redirect_uri=pending.redirect_uri
        )
        self._app_works()
        return await self._store_grant(pending.principal, token)

    async def _store_grant(
        self, principal: Principal, token: StoredToken, held: HeldGrant | None = None
    ) -> tuple[Principal, StoredToken]:
        try:
            previous = await self.store.get(principal)
        except SealError:
            previous = None
        await self.store.put(principal, token)
        self._cache[principal] = token
        self._emails.pop(principal, None)
        if held is not None and held.agent_email:
            self._emails[principal] = held.agent_email
            await self.store.set_identity(principal, account_id=held.account_id, agent_email=held.agent_email)
        if previous is not None and previous.access_token != token.access_token:
            await self._revoke(previous)  # one live grant per person: do not eat into the 25-token cap
        logger.info("LiveChat connected for %s", principal)
        return principal, token

    async def abandon(self, state: str) -> None:
        """Consent denied or failed: the state can never be used again (a held grant is revoked)."""
        pending = await self.store.take_pending(state, now=0.0)
        if pending is not None and pending.held is not None:
            await self._revoke(pending.held.token)

    # ------------------------------------------------------------------ credentials

    async def credentials(self, principal: Principal) -> _PersonCredentials:
        await self.fresh(principal)  # raises NotConnected / ReconnectRequired
        return _PersonCredentials(self, principal)

    async def _stored(self, principal: Principal, *, from_store: bool = False) -> StoredToken | None:
        """The person's token: cached (the hot path), or read from the store (the truth across replicas)."""
        cached = None if from_store else self._cache.get(principal)
        if cached is not None:
            return cached
        try:
            token = await self.store.get(principal)
        except SealError as exc:
            raise ReconnectRequired(
                await self.connect_url(principal), f"{exc}; connect LiveChat again."
            ) from None
        if token is not None:
            self._cache[principal] = token
        else:
            self._cache.pop(principal, None)
        return token

    def _expiring(self, token: StoredToken) -> bool:
        lifetime = (
            max(0.0, token.expires_at - token.obtained_at) if token.obtained_at else REFRESH_MARGIN * 10
        )
        margin = min(REFRESH_MARGIN, max(5.0, lifetime * 0.1))
        return token.expires_at - self._clock() < margin

    def _lock(self, principal: Principal) -> asyncio.Lock:
        lock = self._locks.get(principal)
        if lock is None:
            lock = self._locks[principal] = asyncio.Lock()
        return lock

    async def fresh(self, principal: Principal, *, rejected: str | None = None) -> StoredToken:
        """A usable token: cached, or re-read, or refreshed once for everyone waiting."""
        token = await self._stored(principal)
        if token is None:
            raise NotConnected(await self.connect_url(principal))
        if not self._expiring(token) and token.access_token != rejected:
            return token
        async with self._lock(principal):
            token = self._cache.get(principal) or token
            if not self._expiring(token) and token.access_token != rejected:
                return token  # refreshed by whoever held the lock before us
            async with self.store.refresh_lock(principal):
                self._cache.pop(principal, None)
                latest = await self._stored(principal)
                if latest is None:
                    raise NotConnected(await self.connect_url(principal))
                if not self._expiring(latest) and latest.access_token != rejected:
                    return latest  # another replica refreshed it
                return await self._refresh(principal, latest)

    async def _refresh(self, principal: Principal, token: StoredToken) -> StoredToken:
        if not token.refresh_token:
            await self._forget(principal)
            raise ReconnectRequired(await self.connect_url(principal))
        try:
            fresh = await self.oauth.refresh(token.refresh_token)
        except OAuthFailure as exc:
            if await self._grant_is_dead(token, exc):
                await self._forget(principal)
                raise ReconnectRequired(await self.connect_url(principal)) from None
            raise await self._app_refused(principal, exc) from None
        self._app_works()
        fresh = _keep_identity(fresh, token)
        await self.store.put(principal, fresh)
        self._cache[principal] = fresh
        logger.debug("refreshed the LiveChat token of %s", principal)
        return fresh

    async def _grant_is_dead(self, token: StoredToken, exc: OAuthFailure) -> bool:
        """Whether LiveChat's refusal of a refresh says the person's grant is gone.

        `invalid_grant` and `missing_grant` say so; `invalid_client` says our app is wrong.
        `unauthorized_client` means "refresh token not found" *or* "invalid client secret"
        (https://platform.text.com/docs/authorization/troubleshooting#unauthorized_client), so the
        token decides: an access token LiveChat still accepts proves the grant alive (the app is
        wrong); one it refuses before its own expiry proves it revoked; otherwise a token-endpoint
        success of this app since start proves the app right. Without proof the grant is kept: an
        operator's mistake must never cost people their sign-in.
        """
        if exc.reason in DEAD_GRANT:
            return True
        if exc.reason not in DEAD_OR_APP:
            return False
        accounts = LiveChat(self.http.bind(StaticCredentials(bearer(token.access_token)))).accounts
        try:
            await accounts.token_info(token.access_token)
            return False  # the grant is alive: LiveChat refused the app
        except AuthenticationFailed:
            if token.expires_at > self._clock():
                return True  # refused before its expiry: revoked
        except LiveChatError:
            pass
        return self._app_proven

    def _app_works(self) -> None:
        self._app_proven = True
        self._app_refusal_logged = None

    async def _app_refused(self, principal: Principal, exc: OAuthFailure) -> LiveChatError:
        """The error for a refresh LiveChat refused because of the app: the grant is kept."""
        if self._app_refusal_logged != exc.reason:  # logged once per kind, until a refresh works again
            self._app_refusal_logged = exc.reason
            logger.error(
                "LiveChat refused this server's OAuth app while renewing a sign-in (%s): check "
                "LIVECHAT_CLIENT_ID and LIVECHAT_CLIENT_SECRET; stored sign-ins are kept and work again "
                "once the app configuration is right",
                exc.reason,
            )
        message = (
            f"LiveChat refused to renew your sign-in ({exc.reason}). This usually means the server's "
            "LiveChat app is misconfigured (an operator must check its client id and secret); your "
            "sign-in is kept and works again once that is fixed, so tell the operator."
        )
        if exc.reason in DEAD_OR_APP:
            url = await self.connect_url(principal)
            message += (
                f" If the operator confirms the app is right, your sign-in was revoked: reconnect at {url}"
            )
        return LiveChatError(message)

    async def _forget(self, principal: Principal) -> None:
        self._cache.pop(principal, None)
        self._emails.pop(principal, None)
        await self.store.delete(principal)

    # ------------------------------------------------------------------ status and disconnect

    async def status(self, principal: Principal) -> ConnectionStatus:
        try:
            token = await self._stored(principal, from_store=True)
        except ReconnectRequired as exc:
            return ConnectionStatus(
                connected=False, mode="oauth", connect_url=exc.connect_url, message=str(exc)
            )
        if token is None:
            return ConnectionStatus(
                connected=False,
                mode="oauth",
                message="LiveChat is not connected for you. Call connect_livechat to get a sign-in link.",
            )
        email = self._emails.get(principal)
        if email is None:
            try:
                fresh = await self.fresh(principal)
                me = await LiveChat(
                    self.http.bind(StaticCredentials(bearer(fresh.access_token)))
                ).accounts.get_me()
                email = self._emails[principal] = me.email or ""
                token = fresh
            except NotConnected as exc:
                return ConnectionStatus(
                    connected=False, mode="oauth", connect_url=exc.connect_url, message=str(exc)
                )
            except LiveChatError:
                email = ""  # status still answers when LiveChat does not
        expires = datetime.fromtimestamp(token.expires_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return ConnectionStatus(
            connected=True,
            mode="oauth",
            account_id=token.account_id,
            email=email or None,
            organization_id=token.organization_id,
            scopes=[s for s in token.scope.replace(" ", ",").split(",") if s],
            expires_at=expires,
            message=f"Connected to LiveChat{f' as {email}' if email else ''}; the sign-in renews itself.",
        )

    async def disconnect(self, principal: Principal) -> ConnectionStatus:
        try:
            token = await self._stored(principal)
        except ReconnectRequired:
            token = None
        revoked = await self._revoke(token) if token is not None else False
        await self._forget(principal)
        done = "revoked at LiveChat and deleted here" if revoked else "deleted here"
        message = f"Disconnected: your LiveChat sign-in was {done}." if token else "You were not connected."
        return ConnectionStatus(connected=False, mode="oauth", message=message)

    async def _revoke(self, token: StoredToken) -> bool:
        """Revoke at LiveChat, best effort. The access token takes its refresh token with it
        (https://platform.text.com/docs/authorization/oauth-authorization#revoking-tokens); when
        that fails (unknown, expired, or LiveChat unreachable) the refresh token is revoked itself."""
        accounts = LiveChat(self.http.bind(StaticCredentials(bearer(token.access_token)))).accounts
        for secret in (token.access_token, token.refresh_token):
            if not secret:
                continue
            try:
                if await accounts.revoke_token(secret):
                    return True
            except LiveChatError as exc:
                logger.warning("could not revoke a LiveChat token: %s", type(exc).__name__)
        return False


def _keep_identity(fresh: StoredToken, old: StoredToken) -> StoredToken:
    """A refresh response may omit account details: keep the ones we had."""
    from dataclasses import replace

    return replace(
        fresh,
        account_id=fresh.account_id or old.account_id,
        organization_id=fresh.organization_id or old.organization_id,
        scope=fresh.scope or old.scope,
    )


class _PersonCredentials:
    """The transport's credential provider for one person."""

    def __init__(self, connections: OAuthConnections, principal: Principal) -> None:
        self._connections = connections
        self._principal = principal

    async def get(self) -> Credential:
        return bearer((await self._connections.fresh(self._principal)).access_token)

    async def renew(self, rejected: Credential) -> Credential | None:
        token = await self._connections.fresh(self._principal, rejected=rejected.secret)
        return bearer(token.access_token)
