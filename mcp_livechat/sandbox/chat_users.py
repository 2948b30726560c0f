"""Agent Chat Web API v3.6: add_user_to_chat, remove_user_from_chat, follow_chat, unfollow_chat.

Supervision: an agent joins a chat silently with add_user_to_chat ``visibility: agents`` (for
oneself, with ``ignore_requester_presence``), leaves with remove_user_from_chat, and follows a chat
without joining it with follow_chat.
"""

from __future__ import annotations

from .agent_read import visible_chat
from .agent_write import system_message
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
    if user is not None and user.present and ctx.rt.readd_refused:
        raise validation("User is already in the chat")  # the other reading [UNVERIFIED], wording too
    newcomer = user is None or not user.present
    if newcomer:
        _announce_added(ctx, chat, user_id, user_type, visibility)
    if user is None:
        chat.users.append(ChatUserRecord(user_id, user_type, present=True, visibility=visibility))
    else:
        # [UNVERIFIED] Adding a user who is already in the chat is not an error: it takes the new
        # visibility (a silent agent becomes public and the reverse), with no system message.
        user.present, user.visibility = True, visibility
    if user_id not in thread.user_ids:
        thread.user_ids.append(user_id)
    if user_type == "agent" and visibility == "all":
        thread.dequeue(ctx.now())  # a public agent takes the chat out of the queue; a silent one does not
    return {}


def _announce_added(ctx: Ctx, chat: ChatRecord, user_id: str, user_type: str, visibility: str) -> None:
    """https://platform.text.com/docs/messaging/references/system-activities: ``customer_added``,
    "%initiator% added %customer% to the chat"; ``agent_added``, "%initiator% added %agent% to the
    chat", when the agent "is not the first agent in that chat"; ``agent_joined``, "%agent% joined
    the chat", when the agent "added themselves" and is not the first. Our readings [UNVERIFIED]:
    the first agent is one added while no other agent is a chat user (no message then); a silent
    agent's message has ``visibility: agents``; a customer without a name is "Customer"."""
    thread = chat.last_thread
    initiator = ctx.agent.name
    if user_type == "customer":
        customer = ctx.state.customers[user_id]
        name = customer.name or "Customer"
        text_vars = {"initiator": initiator, "customer": name}
        system_message(ctx, thread, "customer_added", f"{initiator} added {name} to the chat", text_vars)
        return
    if not any(u.type == "agent" and u.id != user_id for u in chat.users):
        return
    shown = "all" if visibility == "all" else "agents"
    name = ctx.state.agents[user_id].name
    if user_id == ctx.agent.id:
        system_message(ctx, thread, "agent_joined", f"{name} joined the chat", {"agent": name}, shown)
    else:
        text_vars = {"initiator": initiator, "agent": name}
        system_message(ctx, thread, "agent_added", f"{initiator} added {name} to the chat", text_vars, shown)


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
    # The thread data structure documents no `user_ids` field
    # (https://platform.text.com/docs/messaging/agent-chat-api/data-structures#threads): dropping
    # the removed agent from it too is our reading [UNVERIFIED].
    if user_id in thread.user_ids:
        thread.user_ids.remove(user_id)
    # "%agent% left the chat" (`agent_left`, "Agent removed themselves") or "%initiator% removed
    # %agent% from the chat" (`agent_removed`)
    # (https://platform.text.com/docs/messaging/references/system-activities#agent_left); a silent
    # agent's message has `visibility: agents` [UNVERIFIED].
    agent = ctx.state.agents.get(user_id)
    name = agent.name if agent is not None else user_id
    shown = "all" if user.visibility == "all" else "agents"
    if user_id == ctx.agent.id:
        system_message(ctx, thread, "agent_left", f"{name} left the chat", {"agent": name}, shown)
    else:
        text_vars = {"initiator": ctx.agent.name, "agent": name}
        text = f"{ctx.agent.name} removed {name} from the chat"
        system_message(ctx, thread, "agent_removed", text, text_vars, shown)
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
