"""Agent Chat Web API v3.6 write methods on chats (events, users, transfer, close, tags)."""

from __future__ import annotations

from datetime import timedelta

from . import constants
from .agent_read import visible_chat
from .apiauth import Ctx
from .clock import parse_rfc3339, rfc3339
from .errors import ApiError, validation
from .model import JSON, Agent, Chat, ChatUser, Thread
from .validate import int_list, one_of, optional_bool, optional_obj, optional_str, require_str, str_list

SENDABLE = ("message", "system_message", "file", "rich_message", "custom", "filled_form")
NOT_A_USER = "Requester is not user of the chat"  # [UNVERIFIED] exact wording


def append_event(ctx: Ctx, thread: Thread, fields: JSON, author: str | None) -> JSON:
    now = ctx.now()
    if thread.events:
        floor = parse_rfc3339(str(thread.events[-1]["created_at"])) + timedelta(microseconds=1)
        now = max(now, floor)
    event: JSON = {"id": thread.new_event_id(), "created_at": rfc3339(now)}
    if author is not None:
        event["author_id"] = author
    event.update(fields)
    thread.events.append(event)
    return event


def system_message(ctx: Ctx, thread: Thread, kind: str, text: str, text_vars: dict[str, str]) -> None:
    append_event(
        ctx,
        thread,
        {
            "type": "system_message",
            "text": text,
            "system_message_type": kind,
            "text_vars": text_vars,
            "visibility": "all",
        },
        None,
    )


def _require_active(chat: Chat) -> Thread:
    if not chat.active:
        raise ApiError("chat_inactive", "Chat is inactive")
    return chat.last_thread


def _require_presence(ctx: Ctx, chat: Chat, body: JSON, *, exempt: str | None = None) -> None:
    if optional_bool(body, "ignore_requester_presence"):
        return
    if chat.user(ctx.agent.id) is None and exempt != ctx.agent.id:
        raise validation(NOT_A_USER)


def _event_fields(event: JSON) -> JSON:
    kind = event.get("type")
    if kind == "form":
        raise validation("`form` events are not supported")
    kind = one_of(kind, SENDABLE, "event.type")
    visibility = one_of(event.get("visibility", "all"), ("all", "agents"), "event.visibility")
    out: JSON = {"type": kind, "visibility": visibility}
    custom_id = optional_str(event, "custom_id", "event.custom_id")
    if custom_id is not None:
        out["custom_id"] = custom_id
    properties = optional_obj(event, "properties", "event.properties")
    if properties:
        out["properties"] = properties
    if kind in ("message", "system_message"):
        text = require_str(event, "text", "event.text")
        if len(text.encode("utf-8")) > constants.MAX_EVENT_TEXT_BYTES:
            raise validation("`event.text` is too long (max 16 KB)")
        out["text"] = text
        if kind == "message" and event.get("postback") is not None:
            out["postback"] = optional_obj(event, "postback", "event.postback")
        if kind == "system_message":
            out["system_message_type"] = optional_str(event, "system_message_type") or "custom"
            text_vars = optional_obj(event, "text_vars", "event.text_vars")
            if text_vars:
                out["text_vars"] = text_vars
    elif kind == "file":
        url = require_str(event, "url", "event.url")
        if not url.startswith(("https://", "http://")):
            raise validation("`event.url` must be a URL")
        out.update(
            url=url, name=url.rsplit("/", 1)[-1] or "file", content_type="application/octet-stream", size=0
        )
    elif kind == "rich_message":
        out["template_id"] = require_str(event, "template_id", "event.template_id")
        elements = event.get("elements", [])
        if not isinstance(elements, list):
            raise validation("`event.elements` must be an array")
        out["elements"] = elements
    elif kind == "custom":
        if not isinstance(event.get("content"), dict):
            raise validation("`event.content` must be an object")
        out["content"] = event["content"]
    else:  # filled_form
        out["form_id"] = require_str(event, "form_id", "event.form_id")
        fields = event.get("fields")
        if not isinstance(fields, list):
            raise validation("`event.fields` must be an array")
        out["fields"] = fields
    return out


def send_event(ctx: Ctx, body: JSON) -> JSON:
    chat = visible_chat(ctx, require_str(body, "chat_id"), perm="rw")
    raw = body.get("event")
    if raw is None:
        raise validation("`event` is required")
    if not isinstance(raw, dict):
        raise validation("`event` must be an object")
    fields = _event_fields(raw)
    attach = optional_bool(body, "attach_to_last_thread") or False
    # "The only event type that can be sent to inactive chats is a system message."
    if not chat.active and (not attach or fields["type"] != "system_message"):
        raise ApiError("chat_inactive", "Chat is inactive")
    user = chat.user(ctx.agent.id)
    if user is None:
        raise validation(NOT_A_USER)
    if user.visibility == "agents" and fields["visibility"] == "all":
        # [UNVERIFIED] wording; the rule itself is documented.
        raise validation("Requester with `agents` visibility cannot send events visible to all")
    event = append_event(ctx, chat.last_thread, fields, ctx.agent.id)
    user.events_seen_up_to = str(event["created_at"])  # "as if they've seen all chat events"
    ctx.rt.stats.incr("events_sent")
    ctx.rt.stats.incr(f"events_sent:{chat.id}")
    return {"event_id": event["id"]}


def add_user_to_chat(ctx: Ctx, body: JSON) -> JSON:
    chat = visible_chat(ctx, require_str(body, "chat_id"), perm="rw")
    user_id = require_str(body, "user_id")
    user_type = one_of(body.get("user_type"), ("agent", "customer"), "user_type")
    if body.get("visibility") is None:
        raise validation("`visibility` is required")
    visibility = one_of(body.get("visibility"), ("all", "agents"), "visibility")
    thread = _require_active(chat)
    _require_presence(ctx, chat, body, exempt=user_id)
    if user_type == "customer":
        if ctx.state.org_customer(ctx.org_id, user_id) is None:
            raise ApiError("not_found", "Customer not found")
        if visibility != "all":
            raise validation("A customer must be added with `all` visibility")
        if any(u.type == "customer" and u.id != user_id for u in chat.users):
            raise validation("Chat can have only one customer")
    else:
        agent = ctx.state.org_agent(ctx.org_id, user_id)
        if agent is None:
            raise ApiError("not_found", "Agent not found")
        if agent.suspended or agent.awaiting_approval:
            raise validation("Agent cannot be added to chats")
        if user_id != ctx.agent.id and not set(agent.groups) & set(chat.group_ids):
            # "Additional agents must also have access to the chat." (chats--all:rw lets the
            # requester add themselves to a chat in any group.)
            raise validation(f"Agent `{user_id}` has no access to the chat")  # [UNVERIFIED] wording
    user = chat.user(user_id)
    if user is None:
        chat.users.append(ChatUser(user_id, user_type, present=True, visibility=visibility))
    else:
        user.present, user.visibility = True, visibility
    if user_id not in thread.user_ids:
        thread.user_ids.append(user_id)
    if user_type == "agent" and visibility == "all":
        thread.queue = None
    return {}


def remove_user_from_chat(ctx: Ctx, body: JSON) -> JSON:
    chat = visible_chat(ctx, require_str(body, "chat_id"), perm="rw")
    user_id = require_str(body, "user_id")
    user_type = one_of(body.get("user_type"), ("agent", "customer"), "user_type")
    if user_type == "customer":
        raise validation("Customers cannot be removed from the chat")
    thread = _require_active(chat)
    _require_presence(ctx, chat, body, exempt=user_id)
    user = chat.user(user_id)
    if user is None or user.type != "agent":
        raise validation("User is not present in the chat")  # [UNVERIFIED] type and wording
    chat.users.remove(user)
    if user_id in thread.user_ids:
        thread.user_ids.remove(user_id)
    return {}


_PRIORITY_ORDER = {"first": 0, "normal": 1, "last": 2}


def _pick_agent(ctx: Ctx, group_ids: list[int], exclude: set[str]) -> Agent | None:
    """Routing emulation: an accepting agent of the groups, by priority then load then id."""
    load = {a: 0 for a in ctx.state.agents}
    for chat in ctx.state.org_chats(ctx.org_id):
        if chat.active:
            for agent_id in chat.agent_ids():
                load[agent_id] = load.get(agent_id, 0) + 1
    candidates = []
    for agent in ctx.state.org_agents(ctx.org_id):
        ranks = [
            _PRIORITY_ORDER[p] for g, p in agent.groups.items() if g in group_ids and p in _PRIORITY_ORDER
        ]
        if not ranks or agent.id in exclude or agent.suspended or agent.awaiting_approval:
            continue
        if agent.routing_status == "accepting_chats" and load.get(agent.id, 0) < agent.max_chats_count:
            candidates.append((min(ranks), load.get(agent.id, 0), agent.id, agent))
    candidates.sort(key=lambda c: c[:3])
    return candidates[0][3] if candidates else None


def transfer_chat(ctx: Ctx, body: JSON) -> JSON:
    chat = visible_chat(ctx, require_str(body, "id"), perm="rw")
    target = optional_obj(body, "target")
    ignore_availability = optional_bool(body, "ignore_agents_availability") or False
    thread = _require_active(chat)
    _require_presence(ctx, chat, body)
    current = set(chat.agent_ids())
    groups = ctx.state.groups[ctx.org_id]
    new_agents: list[Agent] = []
    if target:
        kind = one_of(target.get("type"), ("group", "agent"), "target.type")
        if kind == "agent":
            for agent_id in str_list(target.get("ids"), "target.ids"):
                agent = ctx.state.org_agent(ctx.org_id, agent_id)
                if agent is None or agent.suspended:
                    raise ApiError("not_found", "Agent not found")
                if not set(agent.groups) & set(chat.group_ids):
                    raise validation(f"Agent `{agent_id}` has no access to the chat")  # [UNVERIFIED]
                if agent.routing_status != "accepting_chats" and not ignore_availability:
                    raise ApiError("agent_offline", "Agent is not accepting chats")  # [UNVERIFIED] status
                new_agents.append(agent)
            if not new_agents:
                raise validation("`target.ids` must not be empty")
            label = ", ".join(a.name for a in new_agents)
        else:
            group_ids = int_list(target.get("ids"), "target.ids", max_len=200)
            if not group_ids:
                raise validation("`target.ids` must not be empty")
            for gid in group_ids:
                if gid not in groups:
                    raise ApiError("group_not_found", "Group not found")
            chat.group_ids, thread.group_ids = list(group_ids), list(group_ids)
            label = ", ".join(groups[g].name for g in group_ids)
    else:
        label = ", ".join(groups[g].name for g in chat.group_ids if g in groups)
    if not new_agents:
        picked = _pick_agent(ctx, chat.group_ids, current)
        if picked is None and not ignore_availability:
            raise ApiError("agent_offline", "No agent in the target group is accepting chats")  # [UNVERIFIED]
        new_agents = [picked] if picked is not None else []
    chat.users = [u for u in chat.users if u.type != "agent"]
    thread.user_ids = [u for u in thread.user_ids if u not in current]
    for agent in new_agents:
        chat.users.append(ChatUser(agent.id, "agent", present=True, visibility="all"))
        thread.user_ids.append(agent.id)
    thread.queue = None if new_agents else _queue(ctx, chat)
    system_message(
        ctx,
        thread,
        "chat_transferred",
        f"{ctx.agent.name} transferred the chat to {label}",
        {"agent": ctx.agent.name, "target": label},
    )  # system_message_type and text are [UNVERIFIED]
    return {}


def _queue(ctx: Ctx, chat: Chat) -> JSON:
    waiting = [
        c
        for c in ctx.state.org_chats(ctx.org_id)
        if c.active and c.last_thread.queue is not None and set(c.group_ids) & set(chat.group_ids)
    ]
    return {"position": len(waiting) + 1, "wait_time": 0, "queued_at": rfc3339(ctx.now())}


def deactivate_chat(ctx: Ctx, body: JSON) -> JSON:
    chat = visible_chat(ctx, require_str(body, "id"), perm="rw")
    thread = _require_active(chat)
    _require_presence(ctx, chat, body)
    system_message(
        ctx, thread, "manual_archived_agent", f"{ctx.agent.name} archived the chat", {"agent": ctx.agent.name}
    )
    thread.active = False
    thread.queue = None
    for user in chat.users:
        user.present = False
    return {}


def _tag_target(ctx: Ctx, body: JSON) -> tuple[Thread, str]:
    all_chats = ctx.chat_level("rw")
    chat = visible_chat(ctx, require_str(body, "chat_id"), perm="rw")
    thread = chat.thread(require_str(body, "thread_id"))
    if thread is None or not ctx.state.can_see_thread(chat, thread, ctx.agent, all_chats=all_chats):
        raise ApiError("not_found", "Thread not found")
    name = require_str(body, "tag")
    tag = ctx.state.tags[ctx.org_id].get(name)  # case-sensitive
    if tag is None:
        raise validation(f"Tag `{name}` not found")  # [UNVERIFIED] type and wording
    if not set(tag.group_ids) & set(thread.group_ids):
        raise validation(f"Tag `{name}` is not available in the thread's groups")  # [UNVERIFIED]
    return thread, name


def tag_thread(ctx: Ctx, body: JSON) -> JSON:
    thread, name = _tag_target(ctx, body)
    if name not in thread.tags:
        thread.tags.append(name)
    return {}


def untag_thread(ctx: Ctx, body: JSON) -> JSON:
    thread, name = _tag_target(ctx, body)
    if name in thread.tags:
        thread.tags.remove(name)
    return {}


def set_routing_status(ctx: Ctx, body: JSON) -> JSON:
    if body.get("status") is None:
        raise validation("`status` is required")
    status = one_of(body.get("status"), ("accepting_chats", "not_accepting_chats"), "status")
    agent_id = optional_str(body, "agent_id") or ctx.agent.id
    ctx.require("agents--my:rw" if agent_id == ctx.agent.id else "agents--all:rw")
    agent = ctx.state.org_agent(ctx.org_id, agent_id)
    if agent is None:
        raise ApiError("not_found", "Agent not found")
    agent.routing_status = status
    return {}
