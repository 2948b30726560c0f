"""Agent Chat Web API v3.6 write methods on chats: send_event, deactivate_chat, tags, routing
status (chat users: chat_users.py; transfers: transfer.py)."""

from __future__ import annotations

from datetime import timedelta

from . import constants
from .agent_read import visible_chat
from .apiauth import Ctx
from .clock import parse_rfc3339, rfc3339
from .errors import WebApiFault, validation
from .membership import check_visibility, require_active, require_member, require_presence
from .model import JSON, ChatRecord, ThreadRecord
from .validate import one_of, optional_obj, optional_str, require_str

SENDABLE = ("message", "system_message", "file", "rich_message", "custom", "filled_form")


def append_event(ctx: Ctx, thread: ThreadRecord, fields: JSON, author: str | None) -> JSON:
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


def system_message(
    ctx: Ctx, thread: ThreadRecord, kind: str, text: str, text_vars: dict[str, str], visibility: str = "all"
) -> None:
    """A system message of LiveChat's own
    (https://platform.text.com/docs/messaging/references/system-activities#system-messages): the
    text with its placeholders filled in, ``text_vars`` keyed by the placeholder names (as the
    ``routing.archived_disconnected`` sample's ``{"agent": "Agent Smith"}``; the
    ``customer_updated`` sample keys %customer_name% as ``customer`` [UNVERIFIED which holds])."""
    append_event(
        ctx,
        thread,
        {
            "type": "system_message",
            "text": text,
            "system_message_type": kind,
            "text_vars": text_vars,
            "visibility": visibility,
        },
        None,
    )


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
    # v3.6 send_event documents only `chat_id` and `event`: `attach_to_last_thread` (and its "The
    # only event type that can be sent to inactive chats is a system message") is v3.2/v3.3's
    # (https://platform.text.com/docs/messaging/agent-chat-api/v3.3#send-event). An unknown
    # parameter is ignored [UNVERIFIED], so an inactive chat takes no event at all
    # ("Sending messages to this thread will no longer be possible", #deactivate-chat).
    if not chat.active:
        raise WebApiFault("chat_inactive", "Chat is inactive")
    # https://platform.text.com/docs/messaging/agent-chat-api#send-event: "The user must be added
    # to the chat before they can send an event." (no override flag). Users with
    # `visibility:agents` cannot send `visibility:all` events.
    user = require_member(ctx, chat)
    check_visibility(user, str(fields["visibility"]))
    event = append_event(ctx, chat.last_thread, fields, ctx.agent.id)
    user.events_seen_up_to = str(event["created_at"])  # "as if they've seen all chat events"
    ctx.rt.stats.incr("events_sent")
    ctx.rt.stats.incr(f"events_sent:{chat.id}")
    return {"event_id": event["id"]}


def close_thread(ctx: Ctx, chat: ChatRecord, kind: str, text: str, text_vars: dict[str, str]) -> None:
    """End the chat's active thread with a closing system message (deactivate_chat, ban_customer).

    Every chat user is then ``present: false`` [UNVERIFIED: the docs say only that deactivating
    closes "the currently open thread"; the list_archives sample
    (https://platform.text.com/docs/messaging/agent-chat-api#list-archives) shows an agent
    ``"present": true`` beside an ``"active": false`` thread]."""
    thread = chat.last_thread
    system_message(ctx, thread, kind, text, text_vars)
    thread.active = False
    thread.queue = None
    for user in chat.users:
        user.present = False


def deactivate_chat(ctx: Ctx, body: JSON) -> JSON:
    """https://platform.text.com/docs/messaging/agent-chat-api#deactivate-chat: the requester must
    be a chat user unless ``ignore_requester_presence``; an inactive chat is ``chat_inactive``
    [UNVERIFIED]. The system message is "%agent% archived the chat" (``manual_archived_agent``,
    https://platform.text.com/docs/messaging/references/system-activities#manual_archived_agent);
    ``text_vars`` keyed by the placeholder name [UNVERIFIED]."""
    chat = visible_chat(ctx, require_str(body, "id"), perm="rw")
    require_active(chat)
    require_presence(ctx, chat, body)
    name = ctx.agent.name
    close_thread(ctx, chat, "manual_archived_agent", f"{name} archived the chat", {"agent": name})
    return {}


def _tag_target(ctx: Ctx, body: JSON) -> tuple[ThreadRecord, str]:
    """tag_thread / untag_thread (https://platform.text.com/docs/messaging/agent-chat-api#tag-thread):
    the docs list no presence rule, so the requester need not be a chat user; the tag and the
    thread must share a group (https://platform.text.com/docs/management/configuration-api#tags:
    "Tag can be used to mark a chat's thread only if the thread and the tag are assigned to at
    least one common group"). That rule speaks of marking only: applying it, and the tag's
    existence, to untag_thread too is our reading [UNVERIFIED] (a thread keeps a deleted tag's
    name and then cannot be untagged here)."""
    all_chats = ctx.chat_level("rw")
    chat = visible_chat(ctx, require_str(body, "chat_id"), perm="rw")
    thread = chat.thread(require_str(body, "thread_id"))
    if thread is None or not ctx.state.can_see_thread(chat, thread, ctx.agent, all_chats=all_chats):
        raise WebApiFault("not_found", "Thread not found")
    name = require_str(body, "tag")
    tag = ctx.state.tags[ctx.org_id].get(name)  # case-sensitive
    if tag is None:
        raise validation(f"Tag `{name}` not found")  # [UNVERIFIED] type and wording
    if not set(tag.group_ids) & set(thread.group_ids):
        raise validation(f"Tag `{name}` is not available in the thread's groups")  # [UNVERIFIED]
    return thread, name


def tag_thread(ctx: Ctx, body: JSON) -> JSON:
    thread, name = _tag_target(ctx, body)
    if name not in thread.tags:  # tagging again is a no-op, not an error [UNVERIFIED]
        thread.tags.append(name)
    return {}


def untag_thread(ctx: Ctx, body: JSON) -> JSON:
    thread, name = _tag_target(ctx, body)
    if name in thread.tags:  # removing a tag the thread lacks is a no-op, not an error [UNVERIFIED]
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
        raise WebApiFault("not_found", "Agent not found")
    agent.routing_status = status
    return {}
