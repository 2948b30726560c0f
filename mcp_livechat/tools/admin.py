"""Toolset `admin` (not in the default selection): tags and customer bans, with the scopes LiveChat
documents for each: `tags--all:rw` or `tags--groups:rw` for tags
(https://platform.text.com/docs/management/configuration-api#create-tag, #delete-tag),
`customers.ban:rw` to ban (https://platform.text.com/docs/messaging/agent-chat-api#ban-customer),
`banlist_read` / `banlist_write` to list and lift bans
(https://platform.text.com/docs/management/configuration-api#list-customer-bans, #unban-customer).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated

from pydantic import Field

from mcp_livechat import models as m
from mcp_livechat.errors import LiveChatError, UserInputError
from mcp_livechat.livechat.configuration import Configuration
from mcp_livechat.tools import delivery, shapes
from mcp_livechat.tools.args import Stripped
from mcp_livechat.tools.context import ToolContext
from mcp_livechat.tools.customers import CustomerId
from mcp_livechat.tools.spec import ToolSpec, tool

MAX_BANS = 500
TagName = Annotated[str, Field(min_length=1, max_length=100, description="Tag name")]


@tool(toolset="admin", title="Create a tag", read_only=False, destructive=False, idempotent=False,
      open_world=True)  # fmt: skip
async def create_tag(
    tc: ToolContext,
    name: TagName,
    group_ids: Annotated[list[int], Field(max_length=200, description="Groups that may use it")],
) -> m.Done:
    """Create a tag agents can put on threads, in the given groups (names are case-insensitively
    unique)."""
    config = tc.livechat.configuration
    done = f"created tag {name!r} in groups {group_ids}"
    try:
        await config.create_tag(name, group_ids)
    except LiveChatError as exc:
        await delivery.confirm_by_reading(exc, lambda: _has_tag(config, name, group_ids))
        return m.Done(done=f"{done} (confirmed by reading the tags)")
    return m.Done(done=done)


@tool(toolset="admin", title="Delete a tag", read_only=False, destructive=True, idempotent=True,
      open_world=True)  # fmt: skip
async def delete_tag(tc: ToolContext, name: TagName) -> m.Done:
    """Delete a tag (case-sensitive name). It can no longer be put on threads. Cannot be undone."""
    config = tc.livechat.configuration
    try:
        await config.delete_tag(name)
    except LiveChatError as exc:
        await delivery.confirm_by_reading(exc, lambda: _lacks(_has_tag(config, name)))
        return m.Done(done=f"deleted tag {name!r} (confirmed by reading the tags)")
    return m.Done(done=f"deleted tag {name!r}")


@tool(toolset="admin", title="Ban a customer", read_only=False, destructive=True, idempotent=False,
      open_world=True)  # fmt: skip
async def ban_customer(
    tc: ToolContext,
    customer_id: CustomerId,
    days: Annotated[int, Field(ge=1, le=3650, description="Ban length in days")],
) -> m.Done:
    """Ban a customer for some days: their sessions end now and new ones are refused until it
    expires."""
    done = f"banned customer {customer_id} for {days} day(s)"
    config = tc.livechat.configuration

    async def ban_of() -> tuple[object, object] | None:
        ban = next((b for b in await config.list_customer_bans() if b.customer_id == customer_id), None)
        return (ban.created_at, ban.expires_at) if ban is not None else None

    readable = True
    before: tuple[object, object] | None = None
    try:
        before = await ban_of()  # so that an unclear answer can be settled by what changed
    except LiveChatError:
        readable = False  # the bans cannot be read: an unclear answer stays unclear
    try:
        await tc.livechat.agent.ban_customer(customer_id, days)
    except LiveChatError as exc:

        async def banned() -> bool:
            now = await ban_of()
            return readable and now is not None and now != before

        await delivery.confirm_by_reading(exc, banned)
        return m.Done(done=f"{done} (confirmed by reading the bans)")
    return m.Done(done=done)


@tool(toolset="admin", title="List customer bans", read_only=True, destructive=False, idempotent=True,
      open_world=True)  # fmt: skip
async def list_customer_bans(tc: ToolContext) -> shapes.BanList:
    """The active customer bans: customer or IP, who banned, when, until when."""
    bans = await tc.livechat.configuration.list_customer_bans()
    note = f"Showing {MAX_BANS} of {len(bans)} bans." if len(bans) > MAX_BANS else None
    return shapes.BanList(bans=bans[:MAX_BANS], count=len(bans), note=note)


@tool(toolset="admin", title="Lift a ban", read_only=False, destructive=True, idempotent=True,
      open_world=True)  # fmt: skip
async def unban_customer(
    tc: ToolContext,
    customer_id: Annotated[
        str | None,
        Stripped,
        Field(max_length=64, description="Customer id (a UUID)"),
    ] = None,
    ip: Annotated[str | None, Field(max_length=64, description="Banned IP address")] = None,
) -> m.Done:
    """Lift a ban, by customer id or by IP (exactly one)."""
    if (customer_id is None) == (ip is None):
        raise UserInputError("give exactly one of customer_id or ip", argument="customer_id")
    config = tc.livechat.configuration
    done = f"lifted the ban on {'customer ' + customer_id if customer_id else 'IP ' + str(ip)}"
    try:
        await config.unban_customer(customer_id=customer_id, ip=ip)
    except LiveChatError as exc:

        async def banned() -> bool:
            return any(
                (customer_id is not None and b.customer_id == customer_id) or (ip is not None and b.ip == ip)
                for b in await config.list_customer_bans()
            )

        await delivery.confirm_by_reading(exc, lambda: _lacks(banned()))
        return m.Done(done=f"{done} (confirmed by reading the bans)")
    return m.Done(done=done)


async def _has_tag(config: Configuration, name: str, group_ids: list[int] | None = None) -> bool:
    """Whether the tag exists (in exactly `group_ids`, when given: a tag of that name that was
    there before is not the one just created)."""
    return any(
        t.name == name and (group_ids is None or sorted(t.group_ids) == sorted(group_ids))
        for t in await config.list_tags()
    )


async def _lacks(check: Awaitable[bool]) -> bool:
    return not await check


TOOLS: tuple[ToolSpec, ...] = (
    create_tag,
    delete_tag,
    ban_customer,
    list_customer_bans,
    unban_customer,
)
