"""Who may act on a chat: the chat's users, its state, the one-agent limit.

Documented rules (Agent Chat API v3.6):
- send_event: "The user must be added to the chat before they can send an event." and "Users with
  `visibility:agents` cannot send events with `visibility:all`."
  (https://platform.text.com/docs/messaging/agent-chat-api#send-event)
- transfer_chat, deactivate_chat, add_user_to_chat, remove_user_from_chat: "The requester must be
  present on the list of chat users. You can override it by setting the
  `ignore_requester_presence` parameter."
  (https://platform.text.com/docs/messaging/agent-chat-api#transfer-chat and the others)
- add_user_to_chat / transfer_chat: "The chat must be active." (remove_user_from_chat lists no
  such rule; the sandbox refuses an inactive chat there too [UNVERIFIED].)

The error of a non-member is not documented: public client code reports HTTP 403 with "Requester
is not user of the chat", type probably ``authorization`` [UNVERIFIED].
"""

from __future__ import annotations

from .apiauth import Ctx
from .errors import WebApiFault, validation
from .model import JSON, ChatRecord, ChatUserRecord, ThreadRecord
from .validate import optional_bool

NOT_A_USER = "Requester is not user of the chat"  # [UNVERIFIED] exact wording, type and status
PUBLIC_LIMIT = "Public agents in chat limit reached"  # [UNVERIFIED] wording, type and status


def not_a_user() -> WebApiFault:
    return WebApiFault("authorization", NOT_A_USER, status=403)


def require_active(chat: ChatRecord) -> ThreadRecord:
    if not chat.active:
        raise WebApiFault("chat_inactive", "Chat is inactive")
    return chat.last_thread


def require_presence(ctx: Ctx, chat: ChatRecord, body: JSON) -> None:
    """The requester must be a user of the chat unless ``ignore_requester_presence`` is true.
    There is no exception for adding oneself: the docs' own add_user_to_chat example adds
    smith@example.com with ``ignore_requester_presence: true``."""
    if optional_bool(body, "ignore_requester_presence"):
        return
    if chat.user(ctx.agent.id) is None:
        raise not_a_user()


def require_member(ctx: Ctx, chat: ChatRecord) -> ChatUserRecord:
    """send_event's rule (no override flag)."""
    user = chat.user(ctx.agent.id)
    if user is None:
        raise not_a_user()
    return user


def check_visibility(user: ChatUserRecord, event_visibility: str) -> None:
    if user.visibility == "agents" and event_visibility == "all":
        # The rule is documented; the error is [UNVERIFIED] (type, status and wording).
        raise validation("Requester with `agents` visibility cannot send events visible to all")


def check_agent_limit(chat: ChatRecord, agent_id: str, visibility: str, *, silent_count: bool) -> None:
    """One agent per chat by default: "To learn how to add more than one agent to the chat, reach
    out to us" (https://platform.text.com/docs/messaging/agent-chat-api#add-user-to-chat). That is
    all the docs say: they do not say whether an agent added with ``visibility: agents`` counts.

    [UNVERIFIED] By default silent agents do not count (the limit is on public agents: any number
    may sit in silently, and one in silently may become public only when no other agent is). This
    is assumed from the error wording public client code reports, "Public agents in chat limit
    reached", and from LiveChat's agent app letting a supervisor join a served chat unseen.
    ``silent_count`` (``Sandbox(silent_agents_count=True)``) takes the literal reading instead: no
    second agent of any visibility. HTTP 422 ``validation`` in both [UNVERIFIED]."""
    if visibility != "all" and not silent_count:
        return
    others = [
        u for u in chat.users
        if u.type == "agent" and u.id != agent_id and (silent_count or u.visibility == "all")
    ]  # fmt: skip
    if others:
        raise WebApiFault("validation", PUBLIC_LIMIT, status=422)


def public_agents(chat: ChatRecord) -> list[ChatUserRecord]:
    return [u for u in chat.users if u.type == "agent" and u.visibility == "all"]
