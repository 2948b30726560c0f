"""OAuth artefacts: authorization codes, access and refresh tokens, the per-client cap."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from . import constants
from .model import IssuedAccessToken, IssuedAuthCode, IssuedRefreshToken


def new_code(region: str) -> str:
    return f"{region}:{secrets.token_urlsafe(18)}"


def new_access_token(region: str) -> str:
    return f"{region}:{secrets.token_urlsafe(24)}"


def new_refresh_token() -> str:
    # "Refresh tokens no longer include the `dal:` or `fra:` prefixes"
    # (https://platform.text.com/docs/authorization/oauth-authorization#using-the-refresh-token).
    return secrets.token_urlsafe(24)


class TokenLedger:
    """Every code and token the emulated accounts server has issued, and their revocations."""

    def __init__(self) -> None:
        self.codes: dict[str, IssuedAuthCode] = {}
        self.access: dict[str, IssuedAccessToken] = {}
        self.refresh: dict[str, IssuedRefreshToken] = {}
        # (client_id, agent_id) -> times of recent authorizations (redirect limit)
        self.authorizations: dict[tuple[str, str], list[datetime]] = {}

    # -- lookups ---------------------------------------------------------------------------
    def valid_access(self, token: str, now: datetime) -> IssuedAccessToken | None:
        found = self.access.get(token)
        if found is None or found.revoked or found.expires_at <= now:
            return None
        return found

    def valid_refresh(self, token: str) -> IssuedRefreshToken | None:
        """A refresh token that is not revoked (it may be expired: see ``expired``)."""
        found = self.refresh.get(token)
        if found is None or found.revoked:
            return None
        return found

    @staticmethod
    def expired(token: IssuedRefreshToken, now: datetime) -> bool:
        return token.expires_at is not None and token.expires_at <= now

    # -- issuing ---------------------------------------------------------------------------
    def issue_access(
        self,
        *,
        region: str,
        client_id: str,
        agent_id: str,
        scopes: tuple[str, ...],
        now: datetime,
        expires_in: int = constants.ACCESS_TOKEN_LIFETIME,
        refresh: IssuedRefreshToken | None = None,
    ) -> IssuedAccessToken:
        token = IssuedAccessToken(
            token=new_access_token(region),
            client_id=client_id,
            agent_id=agent_id,
            scopes=scopes,
            issued_at=now,
            expires_at=now + timedelta(seconds=expires_in),
            refresh_token=refresh.token if refresh is not None else None,
        )
        self.access[token.token] = token
        self._cap_access(client_id, agent_id)
        return token

    def issue_refresh(
        self,
        *,
        client_id: str,
        agent_id: str,
        scopes: tuple[str, ...],
        now: datetime,
        lifetime: int | None = None,
    ) -> IssuedRefreshToken:
        token = IssuedRefreshToken(
            token=new_refresh_token(),
            client_id=client_id,
            agent_id=agent_id,
            scopes=scopes,
            issued_at=now,
            expires_at=now + timedelta(seconds=lifetime) if lifetime is not None else None,
        )
        self.refresh[token.token] = token
        self._cap_refresh(client_id, agent_id)
        return token

    def _cap_access(self, client_id: str, agent_id: str) -> None:
        live = [
            t
            for t in self.access.values()
            if t.client_id == client_id and t.agent_id == agent_id and not t.revoked
        ]
        for old in live[: max(0, len(live) - constants.TOKEN_CAP)]:
            old.revoked = True  # silently, oldest first (dicts keep insertion order)

    def _cap_refresh(self, client_id: str, agent_id: str) -> None:
        live = [
            t
            for t in self.refresh.values()
            if t.client_id == client_id and t.agent_id == agent_id and not t.revoked
        ]
        for old in live[: max(0, len(live) - constants.TOKEN_CAP)]:
            old.revoked = True

    def expire_refresh(self, now: datetime, agent_id: str | None = None) -> int:
        """Make the live refresh tokens (of one account, or all) expire now; how many."""
        count = 0
        for token in self.refresh.values():
            if token.revoked or self.expired(token, now) or agent_id not in (None, token.agent_id):
                continue
            token.expires_at = now
            count += 1
        return count

    # -- revoking --------------------------------------------------------------------------
    def revoke(self, token: str) -> bool:
        """Revoke an access token (and its paired refresh token) or a refresh token (and the
        access tokens paired with it). False when no live token has that value."""
        access = self.access.get(token)
        if access is not None and not access.revoked:
            access.revoked = True
            if access.refresh_token is not None:
                self._revoke_refresh(access.refresh_token)
            return True
        refresh = self.refresh.get(token)
        if refresh is not None and not refresh.revoked:
            self._revoke_refresh(refresh.token)
            return True
        return False

    def _revoke_refresh(self, value: str) -> None:
        refresh = self.refresh.get(value)
        if refresh is not None:
            refresh.revoked = True
        for access in self.access.values():
            if access.refresh_token == value:
                access.revoked = True

    def live_counts(self, client_id: str, agent_id: str, now: datetime) -> tuple[int, int]:
        """(valid access tokens, valid refresh tokens) for one client and account."""
        access = sum(
            1
            for t in self.access.values()
            if t.client_id == client_id and t.agent_id == agent_id and self.valid_access(t.token, now)
        )
        refresh = sum(
            1
            for t in self.refresh.values()
            if t.client_id == client_id and t.agent_id == agent_id and not t.revoked
        )
        return access, refresh
