"""Agent Chat Web API v3.6: add_user_to_chat, remove_user_from_chat, follow_chat, unfollow_chat.

Supervision: an agent joins a chat silently with add_user_to_chat ``visibility: agents`` (for
oneself, with ``ignore_requester_presence``), leaves with remove_user_from_chat, and follows a chat
without joining it with follow_chat.
"""

from __future__ import annotations

from .agent_read import visible_chat
from .apiauth import Ctx
from .errors import WebApiFault, validation
from .membership import check_agent_limit, require_active, require_presence
from .model import JSON, ChatRecord, ChatUserRecord
from .validate import one_of, require_str


def add_user_to_chat(ctx: Ctx, body: JSON) -> JSON:
    """https://platform.text.com/docs/messaging/agent-chat-api#add-user-to-chat: the chat must be
    active; the requester must be a chat user (or ``ignore_requester_presence``); one customer at
    most, added with ``all``; "Additional agents must also have access to the chat"; one public
    agent per chat by default."""
    chat = visible_chat(ctx, require_str(body, "chat_id"), perm="rw")
    user_id = require_str(body, "user_id")
    user_type = one_of(body.get("user_type"), ("agent", "customer"), "user_type")
    if body.get("visibility") is None:
        raise validation("`visibility` is required")
    visibility = one_of(body.get("visibility"), ("all", "agents"), "visibility")
    thread = require_active(chat)
    require_presence(ctx, chat, body)
    if user_type == "customer":
        _check_customer(ctx, chat, user_id, visibility)
    else:
        _check_agent(ctx, chat, user_id)
        check_agent_limit(chat, user_id, visibility, silent_count=ctx.rt.silent_agents_count)
    user = chat.user(user_id)
    if user is None:
        chat.users.append(ChatUserRecord(user_id, user_type, present=True, visibility=visibility))
    else:
        user.present, user.visibility = True, visibility
    if user_id not in thread.user_ids:
        thread.user_ids.append(user_id)
    if user_type == "agent" and visibility == "all":
        thread.dequeue(ctx.now())  # a public agent takes the chat out of the queue; a silent one does not
    return {}


def _check_customer(ctx: Ctx, chat: ChatRecord, user_id: str, visibility: str) -> None:
    if ctx.state.org_customer(ctx.org_id, user_id) is None:
        raise WebApiFault("not_found", "Customer not found")
    if visibility != "all":
        raise validation("A customer must be added with `all` visibility")
    if any(u.type == "customer" and u.id != user_id for u in chat.users):
        raise validation("Chat can have only one customer")


def _check_agent(ctx: Ctx, chat: ChatRecord, user_id: str) -> None:
    agent = ctx.state.org_agent(ctx.org_id, user_id)
    if agent is None:
        raise WebApiFault("not_found", "Agent not found")
    if agent.suspended or agent.awaiting_approval:
        raise validation("Agent cannot be added to chats")  # [UNVERIFIED] type and wording
    if user_id != ctx.agent.id and not set(agent.groups) & set(chat.group_ids):
        # "Additional agents must also have access to the chat." (The requester's own access was
        # checked by the scope: chats--all:rw "to add the requester ... to a chat in any group".)
        raise validation(f"Agent `{user_id}` has no access to the chat")  # [UNVERIFIED] wording


def remove_user_from_chat(ctx: Ctx, body: JSON) -> JSON:
    """https://platform.text.com/docs/messaging/agent-chat-api#remove-user-from-chat: agents only
    ("You can't remove the customer"); the requester must be a chat user (or
    ``ignore_requester_presence``); removing oneself is how a supervisor leaves. Inactive chats are
    refused like add_user_to_chat's ("The chat must be active") [UNVERIFIED for this method]."""
    chat = visible_chat(ctx, require_str(body, "chat_id"), perm="rw")
    user_id = require_str(body, "user_id")
    user_type = one_of(body.get("user_type"), ("agent", "customer"), "user_type")
    if user_type == "customer":
        raise validation("Customers cannot be removed from the chat")
    thread = require_active(chat)
    require_presence(ctx, chat, body)
    user = chat.user(user_id)
    if user is None or user.type != "agent":
        raise validation("User is not present in the chat")  # [UNVERIFIED] type and wording
    chat.users.remove(user)
    if user_id in thread.user_ids:
        thread.user_ids.remove(user_id)
    return {}


def follow_chat(ctx: Ctx, body: JSON) -> JSON:
    """https://platform.text.com/docs/messaging/agent-chat-api#follow-chat: scopes
    ``chats--all:ro`` or ``chats--access:ro``. "Chat members don't need to follow their chats"
    (not an error). ``is_followed`` in list_chats / get_chat reflects the requester's follow."""
    chat = visible_chat(ctx, require_str(body, "id"), perm="ro")
    chat.followers.add(ctx.agent.id)
    return {}


def unfollow_chat(ctx: Ctx, body: JSON) -> JSON:
    """https://platform.text.com/docs/messaging/agent-chat-api#unfollow-chat: no scope required;
    "Chat members cannot unfollow the chat". A member here is a chat user who is present; the
    error (400 ``validation``) is [UNVERIFIED]. Unfollowing a chat one does not follow is a no-op
    [UNVERIFIED]."""
    chat = ctx.state.chats.get(require_str(body, "id"))
    if chat is None or chat.org_id != ctx.org_id:
        raise WebApiFault("not_found", "Chat not found")
    member = chat.user(ctx.agent.id)
    if member is not None and member.present:
        raise validation("Chat members cannot unfollow the chat")
    chat.followers.discard(ctx.agent.id)
    return {}
