"""A typed async client for LiveChat's Agent Chat, Configuration, Reports and accounts APIs.

Knows nothing of MCP. One `LiveChatHttp` per process (the pool, URLs, retry policy); one
`LiveChat` per caller, bound to that caller's credential provider.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from mcp_livechat.livechat._transport import (
    Credential,
    CredentialProvider,
    LazyTransport,
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
from mcp_livechat.livechat.scopes import REPORT_ACTIONS, REQUIRED_SCOPES

if TYPE_CHECKING:
    from mcp_livechat.livechat.reports import Reports


class LiveChat:
    """The four APIs, as one caller."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.agent = AgentChat(transport)
        self.configuration = Configuration(transport)
        self.accounts = Accounts(transport)

    @functools.cached_property
    def reports(self) -> Reports:
        """The Reports API (loaded on first use: most calls never need it)."""
        from mcp_livechat.livechat.reports import Reports

        return Reports(self.transport)


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
    "REPORT_ACTIONS",
    "REQUIRED_SCOPES",
    "Accounts",
    "AgentChat",
    "Configuration",
    "Credential",
    "CredentialProvider",
    "LazyTransport",
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
