"""What LiveChat's refusal of a stored grant means, and what the person is told.

A grant is **dead** (`GrantDead`: marked `needs_reconnect` with the reason, never deleted) only on
LiveChat's own word: `invalid_grant` or `missing_grant` from the token endpoint, or
`unauthorized_client` for a token that LiveChat also refuses before its expiry; or when its row
does not open (`CANNOT_DECRYPT`) or it has no refresh token. A refusal that points at this
server's OAuth app (`AppRefused`) keeps every grant and is logged once for the operator
(`AppStanding`): an operator's mistake must never cost people their sign-in.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from mcp_livechat.connect.oauth import DEAD_GRANT, DEAD_OR_APP, OAuthFailure
from mcp_livechat.connect.store import StoredToken
from mcp_livechat.errors import LiveChatError
from mcp_livechat.livechat import LiveChat, LiveChatHttp, StaticCredentials, bearer

__all__ = [
    "CANNOT_DECRYPT",
    "NO_REFRESH_TOKEN",
    "AppRefused",
    "AppStanding",
    "GrantDead",
    "grant_is_dead",
    "iso",
]

logger = logging.getLogger("mcp_livechat.connect")

CANNOT_DECRYPT = "cannot be decrypted"
NO_REFRESH_TOKEN = "no refresh token"  # noqa: S105 (a reason, not a secret)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GrantDead(Exception):
    """The person's grant is marked `needs_reconnect` (`reason`, since `since`): connect again."""

    def __init__(self, reason: str | None, since: float | None = None, error_type: str | None = None) -> None:
        super().__init__(reason or "revoked")
        self.reason = reason or "revoked"
        self.since = since
        self.error_type = error_type  # LiveChat's error code, when LiveChat said so

    @property
    def message(self) -> str:
        when = f" since {iso(self.since)}" if self.since else ""
        if self.reason == CANNOT_DECRYPT:
            return (
                f"Your stored LiveChat sign-in cannot be decrypted on this server{when} (its encryption"
                " key changed, or the row was copied or damaged); connect LiveChat again."
            )
        return f"LiveChat no longer accepts your stored sign-in ({self.reason}){when}."


class AppRefused(LiveChatError):
    """LiveChat refused a refresh because of this server's OAuth app (`reason`); the grant is kept."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"LiveChat refused to renew the sign-in ({reason})")
        self.reason = reason

    @property
    def may_be_revoked(self) -> bool:
        """`unauthorized_client`: the app is wrong, or the grant was revoked; LiveChat does not say which."""
        return self.reason in DEAD_OR_APP

    def message(self, connect_url: str | None) -> str:
        """What the person is told (with the link when the refusal may also mean a revoked grant)."""
        text = (
            f"LiveChat refused to renew your sign-in ({self.reason}). This usually means the server's "
            "LiveChat app is misconfigured (an operator must check its client id and secret); your "
            "sign-in is kept and works again once that is fixed, so tell the operator."
        )
        if connect_url and self.may_be_revoked:
            text += (
                " If the operator confirms the app is right, your sign-in was revoked: reconnect at"
                f" {connect_url}"
            )
        return text


class AppStanding:
    """Whether this server's OAuth app is known to work (a token-endpoint success since start), and
    which refusal of it was already logged (once per kind, until a refresh works again)."""

    def __init__(self) -> None:
        self.proven = False
        self._logged: str | None = None

    def works(self) -> None:
        self.proven = True
        self._logged = None

    def refused(self, reason: str) -> AppRefused:
        if self._logged != reason:
            self._logged = reason
            logger.error(
                "LiveChat refused this server's OAuth app while renewing a sign-in (%s): check "
                "LIVECHAT_CLIENT_ID and LIVECHAT_CLIENT_SECRET; stored sign-ins are kept and work again "
                "once the app configuration is right",
                reason,
            )
        return AppRefused(reason)


async def grant_is_dead(
    token: StoredToken, exc: OAuthFailure, *, http: LiveChatHttp, now: float, app_proven: bool
) -> bool:
    """Whether LiveChat's refusal of a refresh says the person's grant is gone.

    `invalid_grant` and `missing_grant` say so; `invalid_client` says our app is wrong.
    `unauthorized_client` means "refresh token not found" *or* "invalid client secret"
    (https://platform.text.com/docs/authorization/troubleshooting#unauthorized_client), so the
    token decides: an access token LiveChat still accepts proves the grant alive (the app is
    wrong); one it refuses before its own expiry (with any 4xx carrying LiveChat's error body: how
    `/v2/info` refuses a token is undocumented) proves it revoked; otherwise a token-endpoint
    success of this app since start proves the app right. Without proof the grant is kept.
    """
    if exc.reason in DEAD_GRANT:
        return True
    if exc.reason not in DEAD_OR_APP:
        return False
    accounts = LiveChat(http.bind(StaticCredentials(bearer(token.access_token)))).accounts
    try:
        if not await accounts.token_refused(token.access_token):
            return False  # the grant is alive: LiveChat refused the app
        if token.expires_at > now:
            return True  # refused (a 4xx LiveChat described, of any status or type) before its expiry
    except LiveChatError:
        pass  # LiveChat unwell or unreachable: the token says nothing
    return app_proven
