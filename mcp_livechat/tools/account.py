"""Toolset `account`: groups, tags, and the caller's LiveChat connection."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from mcp_livechat import models as m
from mcp_livechat.tools import shapes
from mcp_livechat.tools.context import ToolContext
from mcp_livechat.tools.spec import ToolSpec, tool

MAX_TAGS = 500  # keeps a result well under 25,000 tokens


@tool(
    toolset="account",
    title="List groups",
    read_only=True,
    destructive=False,
    idempotent=True,
    open_world=True,
)
async def list_groups(tc: ToolContext) -> shapes.GroupList:
    """The account's groups (teams chats are routed to): id, name, language, routing status."""
    groups = await tc.livechat.configuration.list_groups(fields=("routing_status",))
    return shapes.GroupList(groups=groups)


@tool(
    toolset="account",
    title="List tags",
    read_only=True,
    destructive=False,
    idempotent=True,
    open_world=True,
)
async def list_tags(
    tc: ToolContext,
    group_id: Annotated[int | None, Field(ge=0, description="Only tags of this group")] = None,
) -> shapes.TagList:
    """Tags that can be put on threads, with their groups."""
    tags = await tc.livechat.configuration.list_tags([group_id] if group_id is not None else None)
    note = f"Showing {MAX_TAGS} of {len(tags)} tags; filter by group_id." if len(tags) > MAX_TAGS else None
    return shapes.TagList(tags=tags[:MAX_TAGS], note=note)


@tool(
    toolset="account",
    title="Connection status",
    read_only=True,
    destructive=False,
    idempotent=True,
    open_world=True,
    needs_livechat=False,
)
async def get_connection_status(tc: ToolContext) -> m.ConnectionStatus:
    """Whether your LiveChat account is connected, how, as whom, with which scopes, until when."""
    return await tc.connections.status(tc.principal)


@tool(
    toolset="account",
    title="Connect LiveChat",
    read_only=True,
    destructive=False,
    idempotent=True,
    open_world=False,
    needs_livechat=False,
)
async def connect_livechat(tc: ToolContext) -> m.ConnectionStatus:
    """The link that connects your LiveChat account (sign in in the browser), or confirms you are
    connected."""
    status = await tc.connections.status(tc.principal)
    if status.connected or status.mode == "pat":
        return status
    url = await tc.connections.connect_url(tc.principal)
    message = f"Open {url} to connect LiveChat, then retry." if url else status.message
    return status.model_copy(update={"connect_url": url, "message": message})


@tool(
    toolset="account",
    title="Disconnect LiveChat",
    read_only=False,
    destructive=True,
    idempotent=False,
    open_world=True,
    needs_livechat=False,
)
async def disconnect_livechat(tc: ToolContext) -> m.ConnectionStatus:
    """Disconnect LiveChat: revokes your sign-in at LiveChat and deletes it here."""
    return await tc.connections.disconnect(tc.principal)


TOOLS: tuple[ToolSpec, ...] = (
    list_groups,
    list_tags,
    get_connection_status,
    connect_livechat,
    disconnect_livechat,
)
