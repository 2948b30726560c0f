"""Toolset `supervisor` (not in the default selection): sit in on a chat silently, step out,
follow a chat, and see who can take it.

Joining silently is `add_user_to_chat` with `visibility: agents`, which needs an active chat
(https://platform.text.com/docs/messaging/agent-chat-api#add-user-to-chat); leaving is
`remove_user_from_chat` for oneself, whose page states no such rule (#remove-user-from-chat), so
LiveChat is asked and the chat read back explains a refusal. Following sends the chat's changes
to the requester (https://platform.text.com/docs/messaging/agent-chat-api#follow-chat); who can
take a chat needs no scope (#list-agents-for-transfer).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from mcp_livechat import models as m
from mcp_livechat.errors import LiveChatError, UserInputError
from mcp_livechat.tools import delivery, shapes
from mcp_livechat.tools.chats import ChatId
from mcp_livechat.tools.context import ToolContext
from mcp_livechat.tools.spec import ToolSpec, tool

MAX_CANDIDATES = 50


def _active_or_refuse(seat: delivery.Seat) -> None:
    if not seat.active:
        raise UserInputError(
            f"Chat {seat.chat.id} is not active (it was closed): LiveChat lets agents join active "
            "chats only.",
            argument="chat_id",
        )


@tool(toolset="supervisor", title="Join a chat", read_only=False, destructive=False, idempotent=True,
      open_world=True)  # fmt: skip
async def join_chat(
    tc: ToolContext,
    chat_id: ChatId,
    visibility: Annotated[
        Literal["agents", "all"], Field(description="agents: silent, unseen by the customer; all: take part")
    ] = "agents",
) -> m.Done:
    """Join an active chat, silently by default (the customer does not see you); visibility=all
    takes part if no other agent serves it."""
    seat = await delivery.read_seat(tc.livechat.agent, chat_id, await tc.require_agent_id())
    _active_or_refuse(seat)
    how = "silently (agents only)" if visibility == "agents" else "visibly"
    if seat.mine is not None and (seat.mine.visibility or "all") == visibility:
        return m.Done(done=f"already in chat {chat_id} {how}")
    if visibility == "all":
        seat.join_needed("all")  # refuses, naming them, when another agent serves the chat publicly
    await delivery.join(tc.livechat.agent, seat, visibility)
    return m.Done(done=f"joined chat {chat_id} {how}")


@tool(toolset="supervisor", title="Leave a chat", read_only=False, destructive=True, idempotent=True,
      open_world=True)  # fmt: skip
async def leave_chat(tc: ToolContext, chat_id: ChatId) -> m.Done:
    """Leave a chat you are in (silently or publicly)."""
    seat = await delivery.read_seat(tc.livechat.agent, chat_id, await tc.require_agent_id())
    if seat.mine is None:
        return m.Done(done=f"you are not in chat {chat_id}; nothing to leave")
    read = await delivery.leave(tc.livechat.agent, seat)
    return m.Done(done=f"left chat {chat_id}" + (" (confirmed by reading the chat)" if read else ""))


@tool(toolset="supervisor", title="Follow a chat", read_only=False, destructive=False, idempotent=True,
      open_world=True)  # fmt: skip
async def follow_chat(tc: ToolContext, chat_id: ChatId) -> m.Done:
    """Follow a chat without joining: its changes reach you until it ends or you unfollow."""
    try:
        await tc.livechat.agent.follow_chat(chat_id)
    except LiveChatError as exc:

        async def followed() -> bool:  # an answer that cannot be read: the chat says whether it took
            return (await tc.livechat.agent.get_chat(chat_id)).is_followed is True

        await delivery.confirm_by_reading(exc, followed)
        return m.Done(done=f"following chat {chat_id} (confirmed by reading the chat)")
    return m.Done(done=f"following chat {chat_id}")


@tool(toolset="supervisor", title="Unfollow a chat", read_only=False, destructive=True, idempotent=True,
      open_world=True)  # fmt: skip
async def unfollow_chat(tc: ToolContext, chat_id: ChatId) -> m.Done:
    """Stop following a chat (members cannot unfollow their own chats)."""
    try:
        await tc.livechat.agent.unfollow_chat(chat_id)
    except LiveChatError as exc:

        async def unfollowed() -> bool:
            return (await tc.livechat.agent.get_chat(chat_id)).is_followed is False

        await delivery.confirm_by_reading(exc, unfollowed)
        return m.Done(done=f"no longer following chat {chat_id} (confirmed by reading the chat)")
    return m.Done(done=f"no longer following chat {chat_id}")


@tool(toolset="supervisor", title="Who can take a chat", read_only=True, destructive=False, idempotent=True,
      open_world=True)  # fmt: skip
async def list_agents_for_transfer(tc: ToolContext, chat_id: ChatId) -> shapes.TransferCandidates:
    """Agents a chat can be transferred to, least busy first."""
    candidates = await tc.livechat.agent.list_agents_for_transfer(chat_id)
    note = None
    if len(candidates) > MAX_CANDIDATES:
        note = f"Showing the {MAX_CANDIDATES} least busy of {len(candidates)} agents."
    return shapes.TransferCandidates(chat_id=chat_id, agents=candidates[:MAX_CANDIDATES], note=note)


TOOLS: tuple[ToolSpec, ...] = (
    join_chat,
    leave_chat,
    follow_chat,
    unfollow_chat,
    list_agents_for_transfer,
)
