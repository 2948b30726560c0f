"""Accounts server calls other than the OAuth token endpoint: token info and revocation
(https://platform.text.com/docs/authorization/oauth-authorization#validating-the-access-token,
#revoking-tokens) and the Global Accounts API's `/v2/accounts/me`
(https://platform.text.com/docs/authorization/global-accounts-api).

The token endpoint itself belongs to the OAuth client in `connect.oauth`.
"""

from __future__ import annotations

from mcp_livechat.errors import ApiError, Misdirected, NotFound, RateLimited, ServerError
from mcp_livechat.livechat._transport import Transport
from mcp_livechat.livechat.decode import as_model
from mcp_livechat.livechat.types import Account, TokenInfo


class Accounts:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def token_info(self, access_token: str) -> TokenInfo:
        """`GET /v2/info` for the given access token (its remaining lifetime, scopes, account)."""
        info: TokenInfo = await self._t.accounts(
            "GET", "/v2/info", token=access_token, idempotent=True, decode=as_model(TokenInfo)
        )
        return info

    async def token_refused(self, access_token: str) -> bool:
        """Whether LiveChat refuses `access_token` at `GET /v2/info` (False: it answered the token's
        details). How LiveChat refuses a revoked or expired token there is not documented (the
        Global Accounts API spec lists only 422 and 500 for it,
        https://platform.text.com/docs/authorization/global-accounts-api), so any 4xx whose error
        body LiveChat wrote counts, whatever its status or type. What says nothing about the token
        is raised: a 5xx, a rate limit, a bare status without LiveChat's error body (a proxy's or
        firewall's page), an unreadable body, a network failure."""
        try:
            await self.token_info(access_token)
        except (ServerError, RateLimited, Misdirected):
            raise
        except ApiError as exc:
            if exc.described and 400 <= exc.status < 500:
                return True
            raise
        return False

    async def revoke_token(self, token: str) -> bool:
        """`DELETE /v2/token`: revokes the token and its pair. False if LiveChat did not know it."""
        try:
            await self._t.accounts("DELETE", "/v2/token", token=token, idempotent=True)
        except NotFound:
            return False
        return True

    async def get_me(self) -> Account:
        """`GET /v2/accounts/me`: who the current credential belongs to."""
        me: Account = await self._t.accounts(
            "GET", "/v2/accounts/me", idempotent=True, decode=as_model(Account)
        )
        return me

    async def update_me(self, *, name: str) -> None:
        """`PATCH /v2/accounts/me`: since v3.6 the only way to change one's own name. LiveChat's
        success status is the answer; the updated account it returns ("OK: Returns the updated
        account.", https://platform.text.com/docs/authorization/global-accounts-api) is not read,
        so a change in its shape can never turn an applied rename into an error."""
        await self._t.accounts("PATCH", "/v2/accounts/me", body={"name": name}, idempotent=True)
