"""mcp-livechat: an MCP server for LiveChat.

`create_server` and `Settings` are loaded on first use, so importing a lower layer (the LiveChat
client, say) never pulls in the MCP SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp_livechat.version import __version__

__all__ = ["Settings", "__version__", "create_server"]

if TYPE_CHECKING:
    from mcp_livechat.config import Settings
    from mcp_livechat.server import create_server


def __getattr__(name: str) -> Any:
    if name == "create_server":
        from mcp_livechat.server import create_server

        return create_server
    if name == "Settings":
        from mcp_livechat.config import Settings

        return Settings
    raise AttributeError(name)
