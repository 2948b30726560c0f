"""A typed async client for LiveChat's Agent Chat, Configuration and accounts APIs.

Knows nothing of MCP. One `LiveChatHttp` per process (the pool, URLs, retry policy); one
`LiveChat` per caller, bound to that caller's credential provider.
"""

from __future__ import annotations

from mcp_livechat.livechat._transport import (
    REQUIRED_SCOPES,
    Credential,
    CredentialProvider,
    LiveChatHttp,
    RequestObserver,
    RetryPolicy,
    Transport,
    basic,
    bearer,
    default_http_client,
    retry_after_seconds,
)
from mcp_livechat.livechat.accounts import Accounts
from mcp_livechat.livechat.agent_chat import AgentChat
from mcp_livechat.livechat.configuration import AGENT_FIELDS, Configuration


class LiveChat:
    """The three APIs, as one caller."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.agent = AgentChat(transport)
        self.configuration = Configuration(transport)
        self.accounts = Accounts(transport)


class StaticCredentials:
    """A credential that never changes (a PAT); a refusal is final."""

    def __init__(self, credential: Credential) -> None:
        self._credential = credential

    async def get(self) -> Credential:
        return self._credential

    async def renew(self, rejected: Credential) -> Credential | None:
        return None


__all__ = [
    "AGENT_FIELDS",
    "REQUIRED_SCOPES",
    "Accounts",
    "AgentChat",
    "Configuration",
    "Credential",
    "CredentialProvider",
    "LiveChat",
    "LiveChatHttp",
    "RequestObserver",
    "RetryPolicy",
    "StaticCredentials",
    "Transport",
    "basic",
    "bearer",
    "default_http_client",
    "retry_after_seconds",
]
