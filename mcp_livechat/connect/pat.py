"""Personal Access Token mode: one configured person, `Basic base64(account_id:pat)`, no OAuth app."""

from __future__ import annotations

from mcp_livechat.connect.identity import Principal
from mcp_livechat.errors import LiveChatError, NotConnected
from mcp_livechat.livechat import CredentialProvider, LiveChat, LiveChatHttp, StaticCredentials, basic
from mcp_livechat.models import ConnectionStatus


class PatConnections:
    """Every caller acts as the PAT's owner (the PAT always acts as the account that created it)."""

    def __init__(self, http: LiveChatHttp, account_id: str, pat: str) -> None:
        self._http = http
        self._account_id = account_id
        self._credentials = StaticCredentials(basic(account_id, pat))

    async def credentials(self, principal: Principal) -> CredentialProvider:
        return self._credentials

    async def status(self, principal: Principal) -> ConnectionStatus:
        status = ConnectionStatus(
            connected=True,
            mode="pat",
            account_id=self._account_id,
            message="Connected with a Personal Access Token (LIVECHAT_PAT); it does not expire.",
        )
        try:
            me = await LiveChat(self._http.bind(self._credentials)).accounts.get_me()
        except LiveChatError as exc:
            return status.model_copy(
                update={"connected": False, "message": f"The configured PAT does not work: {exc}"}
            )
        return status.model_copy(update={"email": me.email, "organization_id": me.default_organization_id})

    async def connect_url(self, principal: Principal) -> str | None:
        return None

    async def disconnect(self, principal: Principal) -> ConnectionStatus:
        status = await self.status(principal)
        return status.model_copy(
            update={
                "message": "This server uses a Personal Access Token from its configuration: remove "
                "LIVECHAT_PAT to disconnect, and revoke the token in LiveChat's Developer Console."
            }
        )


class NoConnections:
    """Nothing configured: every call explains how to configure a credential."""

    MESSAGE = (
        "No LiveChat credential is configured. Set LIVECHAT_PAT and LIVECHAT_ACCOUNT_ID (Personal Access "
        "Token), or LIVECHAT_CLIENT_ID and LIVECHAT_CLIENT_SECRET for sign-in; or start with --sandbox to "
        "try it."
    )

    async def credentials(self, principal: Principal) -> CredentialProvider:
        raise NotConnected(None, self.MESSAGE)

    async def status(self, principal: Principal) -> ConnectionStatus:
        return ConnectionStatus(connected=False, mode="none", message=self.MESSAGE)

    async def connect_url(self, principal: Principal) -> str | None:
        return None

    async def disconnect(self, principal: Principal) -> ConnectionStatus:
        return await self.status(principal)
