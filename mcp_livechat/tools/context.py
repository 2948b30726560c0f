"""What a tool body receives, and what it needs from the rest of the server (no MCP here).

`ToolContext` is built per call by the SDK adapter: who is calling (`principal`) and a LiveChat
client acting as them. `Services` are the per-process objects the composition root builds once;
`ConnectionPort` is the slice of the connection layer tools may use.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from mcp_livechat.connect.identity import Principal
from mcp_livechat.errors import LiveChatError
from mcp_livechat.livechat import Credential, CredentialProvider, LiveChat, LiveChatHttp
from mcp_livechat.livechat.cache import BoundedCache, bounded_cache
from mcp_livechat.models import ConnectionStatus

if TYPE_CHECKING:
    from mcp_livechat.metrics import Metrics


class ConnectionPort(Protocol):
    """What tools need from the connection layer (implemented in `connect`, plugged in by `server`)."""

    async def credentials(self, principal: Principal) -> CredentialProvider:
        """The caller's credential provider; raises `NotConnected` when there is none."""
        ...

    async def status(self, principal: Principal) -> ConnectionStatus: ...

    async def connect_url(self, principal: Principal) -> str | None:
        """A link that connects LiveChat for this principal (None: not possible here)."""
        ...

    async def disconnect(self, principal: Principal) -> ConnectionStatus: ...


@dataclass
class Services:
    """Per-process objects the tools share; the server's lifespan yields one."""

    http: LiveChatHttp
    connections: ConnectionPort
    principal_of: Callable[[Any], Principal]  # the SDK's verified access token (or None) -> who calls
    app_url: str = "https://my.livechatinc.com"
    me_cache: BoundedCache[str, str] = field(default_factory=bounded_cache)  # credential hash -> agent id
    metrics: Metrics | None = None  # over HTTP: the tool boundary counts calls and their durations


@dataclass
class ToolContext:
    """What a tool body receives: who is calling and a LiveChat client acting as them."""

    principal: Principal
    livechat: LiveChat
    services: Services
    progress: Callable[[float, float | None, str | None], Any] | None = None

    @property
    def connections(self) -> ConnectionPort:
        return self.services.connections

    async def report_progress(
        self, done: float, total: float | None = None, message: str | None = None
    ) -> None:
        """Progress of a long tool call, for clients that asked for it (a no-op otherwise)."""
        if self.progress is not None:
            await self.progress(done, total, message)

    async def my_agent_id(self) -> str:
        """The caller's agent id (their email), from `/v2/accounts/me`; cached per credential, so a
        person who reconnects as another LiveChat account is never mistaken for the old one."""
        credential = await self.livechat.transport.credentials.get()
        key = hashlib.sha256(credential.authorization.encode()).hexdigest()[:32]
        cached = self.services.me_cache.get(key)
        if cached:
            return cached
        me = await self.livechat.accounts.get_me()
        agent_id = me.email or ""
        if not agent_id:  # fall back to matching the account id among agents
            agents = await self.livechat.configuration.list_agents()
            agent_id = next((a.id for a in agents if a.account_id == me.account_id), "")
        if agent_id:
            self.services.me_cache[key] = agent_id
        return agent_id

    async def require_agent_id(self) -> str:
        """`my_agent_id`, or an error saying why it cannot be known."""
        agent_id = await self.my_agent_id()
        if not agent_id:
            raise LiveChatError(
                "Could not tell which LiveChat agent you are: /v2/accounts/me gave no email and no agent "
                "has your account id. The credential needs the scope accounts--my:ro."
            )
        return agent_id


class LazyCredentials:
    """For tools that may run unconnected: the credential is looked up only when first used."""

    def __init__(self, connections: ConnectionPort, principal: Principal) -> None:
        self._connections, self._principal = connections, principal

    async def get(self) -> Credential:
        return await (await self._connections.credentials(self._principal)).get()

    async def renew(self, rejected: Credential) -> Credential | None:
        return None
