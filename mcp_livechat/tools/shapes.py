"""Tool results that are LiveChat objects as LiveChat sends them (agents, groups, tags, routing
statuses, work schedules): the wire models of `livechat.types`, not copies of their fields.

Fields LiveChat did not send are dropped from results (`exclude_none`), so a wire model costs
nothing for what it does not carry.
"""

from __future__ import annotations

from mcp_livechat.livechat import types as lc
from mcp_livechat.models import Out


class Agent(lc.Agent):
    """An agent as LiveChat's Configuration API describes them, plus their live routing status."""

    routing_status: str | None = None


class AgentList(Out):
    agents: list[Agent]
    count: int
    note: str | None = None


class MyProfile(Out):
    agent_id: str
    account_id: str | None = None
    email: str | None = None
    name: str | None = None
    organization_id: str | None = None
    agent: Agent | None = None
    note: str | None = None


class ProfileUpdated(Out):
    agent: Agent
    changed: list[str]
    not_applied: dict[str, str] | None = None
    note: str | None = None


class RoutingStatusList(Out):
    statuses: list[lc.RoutingStatus]
    count: int


class GroupList(Out):
    groups: list[lc.Group]


class TagList(Out):
    tags: list[lc.Tag]
    note: str | None = None


class TransferCandidates(Out):
    chat_id: str
    agents: list[lc.TransferCandidate]
    note: str | None = None


class BanList(Out):
    bans: list[lc.CustomerBan]
    count: int
    note: str | None = None
