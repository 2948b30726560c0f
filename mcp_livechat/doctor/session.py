"""The credential the doctor checks: the configured PAT, or the local person's stored sign-in.

Read-only towards LiveChat: the stored sign-in is read first and used only if present (asking
the connection service for an absent one would start a sign-in). An expiring token is refreshed,
as any tool call would.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from mcp_livechat.config import Settings
from mcp_livechat.connect.crypto import SealError
from mcp_livechat.connect.identity import LOCAL
from mcp_livechat.errors import LiveChatError, NotConnected
from mcp_livechat.livechat import Credential, CredentialProvider

logger = logging.getLogger("mcp_livechat.doctor")

NO_CREDENTIAL = (
    "No LiveChat credential is configured: set LIVECHAT_PAT and LIVECHAT_ACCOUNT_ID (a Personal Access "
    "Token and your Account ID, from the Developer Console), or LIVECHAT_CLIENT_ID and "
    "LIVECHAT_CLIENT_SECRET and run `mcp-livechat login`."
)
PAT_REFUSED = (
    "LiveChat refused the Personal Access Token: check LIVECHAT_PAT and LIVECHAT_ACCOUNT_ID (the Account "
    "ID of the person who created the token, as the Developer Console shows it)."
)
SIGN_IN_REFUSED = "LiveChat refused the stored sign-in: run `mcp-livechat login` to sign in again."
NOT_SIGNED_IN = (
    "There is no stored sign-in on this computer: run `mcp-livechat login` (or set LIVECHAT_PAT and "
    "LIVECHAT_ACCOUNT_ID to use a Personal Access Token)."
)


class CredentialRefused(Exception):
    """Nothing more can be checked; `line` says why and what to do."""

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line


@dataclass
class Session:
    provider: CredentialProvider
    credential: Credential
    secrets: list[str]
    account_id: str | None = None
    organization_id: str | None = None

    @property
    def access_token(self) -> str | None:
        """The OAuth access token (for token info); None for a PAT."""
        return self.credential.secret if self.credential.authorization.startswith("Bearer ") else None


def refused_line(settings: Settings) -> str:
    return PAT_REFUSED if settings.credential_mode == "pat" else SIGN_IN_REFUSED


async def open_session(settings: Settings, runtime: Any) -> Session:
    """The credential to check, or `CredentialRefused` with the one line that explains."""
    secrets = [s.get_secret_value() for s in (settings.pat, settings.client_secret) if s is not None]
    if settings.credential_mode == "pat":
        provider = await runtime.connections.credentials(LOCAL)
        return Session(provider, await provider.get(), secrets, account_id=settings.account_id)
    stored = await _stored(runtime)
    secrets += [t for t in (stored.access_token, stored.refresh_token) if t]
    try:
        provider = await runtime.connections.credentials(LOCAL)  # refreshes an expiring token
        credential = await provider.get()
    except NotConnected:
        raise CredentialRefused(SIGN_IN_REFUSED) from None
    except LiveChatError as exc:
        raise CredentialRefused(
            f"The stored sign-in could not be renewed: {exc} Check LIVECHAT_CLIENT_ID and "
            "LIVECHAT_CLIENT_SECRET, or run `mcp-livechat login`."
        ) from None
    secrets.append(credential.secret)
    return Session(
        provider, credential, secrets, account_id=stored.account_id, organization_id=stored.organization_id
    )


async def _stored(runtime: Any) -> Any:
    try:
        stored = await runtime.store.get(LOCAL)
    except SealError:
        raise CredentialRefused(
            "The stored sign-in cannot be decrypted (was LIVECHAT_ENCRYPTION_KEY changed?): run "
            "`mcp-livechat login` to sign in again."
        ) from None
    except Exception as exc:
        logger.debug("token store read failed", exc_info=True)
        raise CredentialRefused(
            f"The token store cannot be read ({type(exc).__name__}): check LIVECHAT_TOKEN_STORE."
        ) from None
    if stored is None:
        raise CredentialRefused(NOT_SIGNED_IN)
    return stored
