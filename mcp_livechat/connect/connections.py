"""Per-person LiveChat connections over OAuth: links, completion, fresh tokens, status, disconnect.

Tokens live in the `TokenStore` (sealed), with a bounded in-memory cache in front (`livechat.cache`:
an evicted person costs one re-read of their row, never their grant). A token is refreshed ahead
of expiry, once per person however many calls wait: an in-process lock per person, then the
store's cross-replica lock, then a re-read (another replica may have refreshed meanwhile). The
`refresh_token` of every response is stored (rotation-safe). A new token is minted only when a
person connects; never per session (LiveChat's 25-token cap silently revokes the oldest,
https://platform.text.com/docs/authorization/oauth-authorization#token-limitations).

A grant LiveChat declares dead, or whose row does not open, is never deleted: it is marked
`needs_reconnect` with the reason (`GrantDead` inside this layer), every replica reads that state
from the store, and the person's next call gets the connect link with the reason. Connecting
again replaces the row. While a person's link is live, asking again hands out the same link, so
a caller cannot fill the store with pending rows.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable

from mcp_livechat.connect.crypto import SealError
from mcp_livechat.connect.identity import Principal
from mcp_livechat.connect.linking import LinkConfirmation
from mcp_livechat.connect.oauth import LiveChatOAuth, OAuthFailure, new_state, new_verifier
from mcp_livechat.connect.store import (
    NEEDS_RECONNECT,
    HeldGrant,
    PendingAuthorization,
    StoredToken,
    TokenStore,
)
from mcp_livechat.connect.verdicts import (
    CANNOT_DECRYPT,
    NO_REFRESH_TOKEN,
    AppRefused,
    AppStanding,
    GrantDead,
    grant_is_dead,
    iso,
)
from mcp_livechat.errors import LiveChatError, NotConnected, ReconnectRequired
from mcp_livechat.livechat import Credential, LiveChat, LiveChatHttp, StaticCredentials, bearer
from mcp_livechat.livechat.cache import MAX_ENTRIES, BoundedCache, bounded_cache
from mcp_livechat.models import ConnectionStatus

logger = logging.getLogger("mcp_livechat.connect")

PENDING_TTL = 600.0  # a connect link / state lives 10 minutes
LINK_REUSE_LEFT = 120.0  # a live link is handed out again while it has at least this long left
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
        cache_size: int = MAX_ENTRIES,
    ) -> None:
        """`requester_email(principal)`: the verified e-mail claim of the caller asking for a link
        (None: unknown); with `require_email`, only a LiveChat agent with that e-mail can complete it.
        `cache_size`: people whose token (and agent e-mail) stay in memory."""
        self.store = store
        self.oauth = oauth
        self.http = http
        self.redirect_uri = redirect_uri
        self.link_base = link_base.rstrip("/") if link_base else None
        self._on_link = on_link
        self._clock = clock
        self._cache: BoundedCache[Principal, StoredToken] = bounded_cache(cache_size)
        self._emails: BoundedCache[Principal, str] = bounded_cache(cache_size)
        # In front of the store's per-person lock (store_base explains why both): calls queued here
        # behind a refresh return the cached new token without each taking the cross-replica lock (a
        # pooled PostgreSQL connection) and re-reading the row; a token evicted meanwhile is re-read.
        # Weak values: a lock held or awaited is kept by that frame, so none in use is ever dropped.
        self._locks: weakref.WeakValueDictionary[Principal, asyncio.Lock] = weakref.WeakValueDictionary()
        self._app = AppStanding()
        self._requester_email = requester_email or (lambda principal: None)
        self.require_email = require_email

    # ------------------------------------------------------------------ links and completion

    async def connect_url(self, principal: Principal) -> str:
        """This person's link: `/connect/{state}` over HTTP, LiveChat's page otherwise. The live one
        while it has `LINK_REUSE_LEFT` seconds left and expects the same LiveChat e-mail (no new
        pending row per call), else a new one."""
        now = self._clock()
        expected = self._requester_email(principal)
        pending = await self.store.live_pending(principal, now)
        if (
            pending is None
            or pending.expires_at - now < LINK_REUSE_LEFT
            or pending.redirect_uri != self.redirect_uri
            or pending.expected_email != expected
        ):
            pending = PendingAuthorization(
                new_state(), principal, new_verifier(), self.redirect_uri, now + PENDING_TTL,
                expected_email=expected,
            )  # fmt: skip
            await self.store.put_pending(pending)
        if self._on_link is not None:
            await self._on_link()  # e.g. make sure a loopback receiver is listening
        if self.link_base:
            return f"{self.link_base}/connect/{pending.state}"
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
        self._app.works()
        return await self._store_grant(pending.principal, token)

    def _app_works(self) -> None:
        self._app.works()

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
        """The person's token: cached (the hot path), or read from the store (the truth across
        replicas: a grant another replica marked `needs_reconnect` raises `GrantDead` here)."""
        cached = None if from_store else self._cache.get(principal)
        if cached is not None:
            return cached
        self._cache.pop(principal, None)
        grant = await self.store.grant(principal)
        if grant is None:
            return None
        if grant.state == NEEDS_RECONNECT:
            raise GrantDead(grant.state_reason, grant.state_at)
        try:
            token = await self.store.get(principal)
        except SealError:
            await self._mark_dead(principal, CANNOT_DECRYPT)
            raise GrantDead(CANNOT_DECRYPT, self._clock()) from None
        if token is not None:
            self._cache[principal] = token
        return token

    def due(self, token: StoredToken, at: float | None = None) -> bool:
        """Whether `token` must be refreshed by time `at` (default now): within its margin of expiry."""
        lifetime = (
            max(0.0, token.expires_at - token.obtained_at) if token.obtained_at else REFRESH_MARGIN * 10
        )
        margin = min(REFRESH_MARGIN, max(5.0, lifetime * 0.1))
        return token.expires_at - (self._clock() if at is None else at) < margin

    def _lock(self, principal: Principal) -> asyncio.Lock:
        lock = self._locks.get(principal)
        if lock is None:
            lock = self._locks[principal] = asyncio.Lock()
        return lock

    async def fresh(self, principal: Principal, *, rejected: str | None = None) -> StoredToken:
        """A usable token: cached, or re-read, or refreshed once for everyone waiting. Raises
        `NotConnected` / `ReconnectRequired` (with the link) when there is none."""
        try:
            token = await self.ensure_fresh(principal, rejected=rejected)
        except GrantDead as dead:
            url = await self.connect_url(principal)
            raise ReconnectRequired(
                url, f"{dead.message} Open {url} to reconnect your LiveChat account, then retry."
            ) from None
        except AppRefused as exc:
            link = await self.connect_url(principal) if exc.may_be_revoked else None
            raise LiveChatError(exc.message(link)) from None
        if token is None:
            raise NotConnected(await self.connect_url(principal))
        return token

    async def ensure_fresh(
        self,
        principal: Principal,
        *,
        rejected: str | None = None,
        until: float | None = None,
        reread: bool = False,
    ) -> StoredToken | None:
        """The person's token, refreshed (once across replicas) if it is `due` by `until` (default
        now) or is the `rejected` one; None without a grant. `GrantDead` if it needs reconnecting,
        `AppRefused` if LiveChat refused the app. `reread`: start from the store, not the cache."""
        at = self._clock() if until is None else until

        def usable(t: StoredToken) -> bool:
            return t.access_token != rejected and not self.due(t, at)

        token = await self._stored(principal, from_store=reread)
        if token is None or usable(token):
            return token
        async with self._lock(principal):
            token = self._cache.get(principal) or token  # evicted meanwhile: the re-read below finds it
            if usable(token):
                return token  # refreshed by whoever held the lock before us
            async with self.store.refresh_lock(principal):
                latest = await self._stored(principal, from_store=True)
                if latest is None or usable(latest):
                    return latest  # another replica refreshed it
                return await self._refresh(principal, latest)

    async def _refresh(self, principal: Principal, token: StoredToken) -> StoredToken:
        if not token.refresh_token:
            await self._mark_dead(principal, NO_REFRESH_TOKEN)
            raise GrantDead(NO_REFRESH_TOKEN, self._clock())
        try:
            fresh = await self.oauth.refresh(token.refresh_token)
        except OAuthFailure as exc:
            dead = await grant_is_dead(
                token, exc, http=self.http, now=self._clock(), app_proven=self._app.proven
            )
            if dead:
                replaced = await self._replaced(principal, token)
                if replaced is not None:
                    return replaced  # the person reconnected meanwhile: the new grant is not dead
                reason = f"refresh refused ({exc.reason})"
                await self._mark_dead(principal, reason)
                raise GrantDead(reason, self._clock(), exc.reason) from None
            raise self._app.refused(exc.reason) from None
        self._app.works()
        fresh = _keep_identity(fresh, token)
        await self.store.put(principal, fresh)
        self._cache[principal] = fresh
        logger.debug("refreshed the LiveChat token of %s", principal)
        return fresh

    async def _replaced(self, principal: Principal, token: StoredToken) -> StoredToken | None:
        """The person's stored token if it is no longer `token` (a sign-in completed meanwhile)."""
        try:
            current = await self.store.get(principal)
        except SealError:
            return None
        if current is None or current.access_token == token.access_token:
            return None
        self._cache[principal] = current
        return current

    async def _mark_dead(self, principal: Principal, reason: str) -> None:
        """Keep the row, marked: the person reconnects, an operator sees why (`connections`)."""
        self._cache.pop(principal, None)
        self._emails.pop(principal, None)
        await self.store.mark(principal, state=NEEDS_RECONNECT, reason=reason)
        logger.info("LiveChat grant of %s needs reconnecting: %s", principal, reason)

    async def _forget(self, principal: Principal) -> None:
        self._cache.pop(principal, None)
        self._emails.pop(principal, None)
        await self.store.delete(principal)

    # ------------------------------------------------------------------ status and disconnect

    async def status(self, principal: Principal) -> ConnectionStatus:
        try:
            token = await self._stored(principal, from_store=True)
        except GrantDead as dead:
            url = await self.connect_url(principal)
            grant = await self.store.grant(principal)
            return ConnectionStatus(
                connected=False,
                mode="oauth",
                account_id=grant.account_id if grant else None,
                email=grant.agent_email if grant else None,
                connect_url=url,
                message=f"{dead.message} Open {url} to reconnect your LiveChat account.",
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
                await self.store.set_identity(
                    principal, account_id=fresh.account_id or me.account_id, agent_email=email or None
                )
            except NotConnected as exc:
                return ConnectionStatus(
                    connected=False, mode="oauth", connect_url=exc.connect_url, message=str(exc)
                )
            except LiveChatError:
                email = ""  # status still answers when LiveChat does not
        expires = iso(token.expires_at)
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
            token = await self.store.get(principal)  # whatever its state: revoke what LiveChat knows
        except SealError:
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
