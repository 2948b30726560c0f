"""Every tool the server can offer, in one explicit list (toolset by toolset)."""

from __future__ import annotations

from mcp_livechat.tools import account, admin, agents, chats, customers, reports, supervisor
from mcp_livechat.tools.spec import ToolSpec

ALL_TOOLS: tuple[ToolSpec, ...] = (
    *chats.TOOLS,
    *customers.TOOLS,
    *agents.TOOLS,
    *account.TOOLS,
    *supervisor.TOOLS,
    *admin.TOOLS,
    *reports.TOOLS,
)
