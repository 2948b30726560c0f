"""Linking a LiveChat account over HTTP, with the person's confirmation.

A connect link works for whoever opens it, so over HTTP the callback stores nothing: it holds
the grant and asks the person who opened the link to confirm whose identity they connect it
to. "The MCP Server MUST verify the identity of the user who opens the URL before accepting
information ... the server MUST ensure that the user who started the elicitation request ...
is the same user who completes the authorization flow"
(https://modelcontextprotocol.io/specification/2025-11-25/client/elicitation#phishing).
The confirmation page names both sides; with `require_email` the LiveChat agent must also
be the caller's verified e-mail, so a link handed to someone else can never be completed.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import secrets
from collections.abc import Callable

from mcp_livechat.connect.identity import Principal
from mcp_livechat.connect.oauth import LiveChatOAuth, OAuthFailure
from mcp_livechat.connect.store import HeldGrant, PendingAuthorization, StoredToken, TokenStore
from mcp_livechat.errors import LiveChatError
from mcp_livechat.livechat import LiveChat, LiveChatHttp, StaticCredentials, bearer

logger = logging.getLogger("mcp_livechat.connect")


class LinkConfirmation:
    """The confirmation step of `OAuthConnections` (a mixin: it uses the connection service's
    store, OAuth client, clock, revocation and grant storage)."""

    store: TokenStore
    oauth: LiveChatOAuth
    http: LiveChatHttp
    require_email: bool
    _clock: Callable[[], float]

    def _app_works(self) -> None:
        raise NotImplementedError

    async def _revoke(self, token: StoredToken) -> bool:
        raise NotImplementedError

    async def _store_grant(
        self, principal: Principal, token: StoredToken, held: HeldGrant | None = None
    ) -> tuple[Principal, StoredToken]:
        raise NotImplementedError

    async def hold(self, state: str, code: str) -> PendingAuthorization:
        """The HTTP callback: exchange the code, learn whose LiveChat account it is, and keep the
        result sealed in the pending row until the same browser confirms. Nothing is stored as a
        grant. A reload of the callback shows the held grant again; a refused one is revoked."""
        pending = await self.store.take_pending(state, now=0.0)  # the claim: one exchange per state
        if pending is None:
            raise OAuthFailure("invalid_state", "This sign-in link is unknown, expired or already used.")
        if pending.expires_at <= self._clock():
            await self._drop(pending)
            raise OAuthFailure("expired", "This sign-in link expired (links last 10 minutes).")
        if pending.held is not None:
            await self._keep(pending)  # the same browser reloaded the callback page
            return pending
        token = await self.oauth.exchange(
            code=code, verifier=pending.code_verifier, redirect_uri=pending.redirect_uri
        )
        self._app_works()
        email, account_id = await self._whose(token)
        refusal = self._wrong_account(pending, email)
        if refusal is not None:
            await self._revoke(token)
            logger.info(
                "connect callback refused for %s: the LiveChat agent is not the caller", pending.principal
            )
            raise OAuthFailure("wrong_account", refusal)
        held = dataclasses.replace(
            pending, held=HeldGrant(token, email, account_id or token.account_id, secrets.token_urlsafe(32))
        )
        await self._keep(held)
        await self._revoke_older_holds(held)
        return held

    async def _revoke_older_holds(self, held: PendingAuthorization) -> None:
        """One unconfirmed grant per person: the newest. LiveChat keeps at most 25 tokens per app
        and agent and revokes the oldest beyond (https://platform.text.com/docs/authorization/oauth-authorization),
        so links of one caller opened again and again in someone's browser (each a fresh token
        for that browser's agent, held until confirmed) would push that agent's real grant out."""
        try:
            # only links started before this one: two sign-ins at once never revoke each other
            older = await self.store.take_held_of(
                held.principal, besides=held.state, expiring_before=held.expires_at
            )
        except LiveChatError as exc:  # the store away: the sweep of expired links revokes them later
            logger.warning("could not revoke earlier unconfirmed sign-ins: %s", type(exc).__name__)
            return
        for pending in older:
            assert pending.held is not None
            await self._revoke(pending.held.token)
        if older:
            logger.info("revoked %d earlier unconfirmed sign-in(s) of %s", len(older), held.principal)

    async def confirm(self, state: str, csrf: str) -> PendingAuthorization:
        """The person confirmed on the page `hold` led to: store the held grant for the caller.
        Returns the pending authorization it completed (who, and whose LiveChat account)."""
        pending = await self._take_held(state, csrf)
        assert pending.held is not None  # checked by _take_held
        refusal = self._wrong_account(pending, pending.held.agent_email)
        if refusal is not None:  # the configuration changed since the page was shown
            await self._revoke(pending.held.token)
            raise OAuthFailure("wrong_account", refusal)
        await self._store_grant(pending.principal, pending.held.token, pending.held)
        return pending

    async def cancel(self, state: str, csrf: str) -> None:
        """The person cancelled: revoke the fresh token, store nothing."""
        pending = await self._take_held(state, csrf)
        assert pending.held is not None
        await self._revoke(pending.held.token)
        logger.info("connect for %s cancelled on the confirmation page", pending.principal)

    async def revoke_abandoned(self) -> int:
        """Revoke the held grants nobody confirmed before their link expired; how many."""
        count = 0
        while batch := await self.store.take_abandoned(now=self._clock()):
            for pending in batch:
                if pending.held is not None:
                    await self._revoke(pending.held.token)
                    count += 1
        if count:
            logger.info("revoked %d unconfirmed LiveChat sign-in(s) whose link expired", count)
        return count

    async def _take_held(self, state: str, csrf: str) -> PendingAuthorization:
        """The held row of `state`, consumed, if `csrf` is its form token and it has not expired.
        A wrong token leaves the row alone (it cannot be used to cancel someone's sign-in)."""
        unknown = OAuthFailure("invalid_state", "This confirmation is unknown, expired or already used.")
        peeked = await self.store.peek_pending(state, now=0.0) if state else None
        if peeked is None or peeked.held is None:
            raise unknown
        if not csrf or not hmac.compare_digest(csrf.encode(), peeked.held.csrf.encode()):
            raise OAuthFailure("invalid_confirmation", "This confirmation did not come from its own page.")
        pending = await self.store.take_pending(state, now=0.0)
        if pending is None or pending.held is None or pending.held.csrf != peeked.held.csrf:
            raise unknown  # confirmed or cancelled meanwhile (a double submit)
        if pending.expires_at <= self._clock():
            await self._revoke(pending.held.token)
            raise OAuthFailure("expired", "This sign-in link expired (links last 10 minutes).")
        return pending

    async def _keep(self, pending: PendingAuthorization) -> None:
        try:
            await self.store.put_pending(pending)
        except BaseException:
            await self._drop(pending)
            raise

    async def _drop(self, pending: PendingAuthorization) -> None:
        if pending.held is not None:
            await self._revoke(pending.held.token)

    async def _whose(self, token: StoredToken) -> tuple[str | None, str | None]:
        """(agent e-mail, account id) of a fresh token, from `/v2/accounts/me`; without the scope
        accounts--my:ro (or when LiveChat does not answer) only the token's account id."""
        accounts = LiveChat(self.http.bind(StaticCredentials(bearer(token.access_token)))).accounts
        try:
            me = await accounts.get_me()
        except LiveChatError as exc:
            logger.info("could not read whose LiveChat account was connected: %s", type(exc).__name__)
            return None, token.account_id
        return me.email or None, me.account_id or token.account_id

    def _wrong_account(self, pending: PendingAuthorization, agent_email: str | None) -> str | None:
        """Why this LiveChat agent may not complete this link (None: they may)."""
        if not self.require_email:
            return None
        expected = (pending.expected_email or "").strip().casefold()
        if not expected:
            return (
                "This server connects a LiveChat account only to the person with the same e-mail, and "
                "the link was made for an identity that carries no e-mail. Nothing was stored and the "
                "LiveChat sign-in was revoked."
            )
        if not agent_email:
            return (
                "This server connects a LiveChat account only to the person with the same e-mail, and "
                "LiveChat did not say whose account this is (the app needs the scope accounts--my:ro). "
                "Nothing was stored and the LiveChat sign-in was revoked."
            )
        if agent_email.strip().casefold() != expected:
            return (
                f"This link was made for someone else, not for the LiveChat account you signed in with "
                f"({agent_email}). Nothing was stored and the LiveChat sign-in was revoked. If someone "
                "sent you this link, do not open it again; ask your own assistant for a link."
            )
        return None
