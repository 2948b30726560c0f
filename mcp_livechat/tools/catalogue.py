"""Every tool the server can offer, toolset by toolset, in one explicit list.

A toolset's module is imported when the toolset is needed: a start-up with the default
selection loads only the default toolsets (`supervisor`, `admin` and `reports` cost start-up time
only when offered, or when a name outside the selection must be explained).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from mcp_livechat.tools.spec import TOOLSETS, Toolset, ToolSpec

MODULES: dict[Toolset, str] = {
    "chats": "mcp_livechat.tools.chats",
    "customers": "mcp_livechat.tools.customers",
    "agents": "mcp_livechat.tools.agents",
    "account": "mcp_livechat.tools.account",
    "supervisor": "mcp_livechat.tools.supervisor",
    "admin": "mcp_livechat.tools.admin",
    "reports": "mcp_livechat.tools.reports",
}


def tools_of(toolsets: Iterable[Toolset]) -> tuple[ToolSpec, ...]:
    """The specs of these toolsets, in catalogue order."""
    wanted = set(toolsets)
    specs: list[ToolSpec] = []
    for toolset in TOOLSETS:
        if toolset in wanted:
            specs.extend(importlib.import_module(MODULES[toolset]).TOOLS)
    return tuple(specs)


def all_tools() -> tuple[ToolSpec, ...]:
    return tools_of(TOOLSETS)


def __getattr__(name: str) -> tuple[ToolSpec, ...]:
    if name == "ALL_TOOLS":  # every tool (imports every toolset)
        return all_tools()
    raise AttributeError(name)
