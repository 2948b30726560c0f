"""JSON shapes of the Agent Chat and Configuration APIs, per LiveChat's v3.6 sample payloads
(https://platform.text.com/docs/messaging/agent-chat-api/data-structures and the methods of
https://platform.text.com/docs/management/configuration-api)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .model import (
    JSON,
    AgentRecord,
    ChatRecord,
    ChatUserRecord,
    CustomerRecord,
    GroupRecord,
    TagRecord,
    ThreadRecord,
)
from .state import EmulatorState


def _statistics(state: EmulatorState, customer: CustomerRecord) -> dict[str, int]:
    chat_ids = state.customer_chat_ids(customer.id)
    threads = sum(len(state.chats[c].threads) for c in chat_ids)
    extra = customer.statistics
    return {
        "chats_count": len(chat_ids),
        "threads_count": threads,
        "visits_count": max(extra.get("visits_count", 0), threads),
        "page_views_count": extra.get("page_views_count", 0),
        "greetings_shown_count": extra.get("greetings_shown_count", 0),
        "greetings_accepted_count": extra.get("greetings_accepted_count", 0),
        "tickets_count": extra.get("tickets_count", 0),
    }


def _last_events(state: EmulatorState, customer: CustomerRecord) -> tuple[str | None, str | None]:
    agent_last: str | None = None
    customer_last: str | None = None
    for chat_id in state.customer_chat_ids(customer.id):
        for thread in state.chats[chat_id].threads:
            for event in thread.events:
                author = event.get("author_id")
                if author is None:
                    continue
                stamp = str(event["created_at"])
                if author == customer.id:
                    customer_last = max(customer_last or stamp, stamp)
                else:
                    agent_last = max(agent_last or stamp, stamp)
    return agent_last, customer_last


def customer_json(state: EmulatorState, customer: CustomerRecord) -> JSON:
    """get_customer (https://platform.text.com/docs/messaging/agent-chat-api#get-customer). The
    Customer structure marks its keys optional
    (https://platform.text.com/docs/messaging/agent-chat-api/data-structures#customer): besides
    ``id``, ``type`` and ``created_at``, a key appears only when set."""
    out: JSON = {"id": customer.id, "type": "customer", "created_at": customer.created_at}
    if customer.name is not None:
        out["name"] = customer.name
    if customer.email is not None:
        out["email"] = customer.email
        out["email_verified"] = customer.email_verified
    for key in ("avatar", "phone_number"):
        value = getattr(customer, key)
        if value is not None:
            out[key] = value
    if customer.session_fields:
        out["session_fields"] = [dict(f) for f in customer.session_fields]
    if customer.address is not None:
        out["address"] = dict(customer.address)
    if customer.omnichannel is not None:
        out["omnichannel"] = customer.omnichannel
    out["statistics"] = _statistics(state, customer)
    if customer.visit is not None:
        out["visit"] = customer.visit
    agent_last, customer_last = _last_events(state, customer)
    if agent_last is not None:
        out["agent_last_event_created_at"] = agent_last
    if customer_last is not None:
        out["customer_last_event_created_at"] = customer_last
    chat_ids = state.customer_chat_ids(customer.id)
    if chat_ids:
        out["chat_ids"] = chat_ids
    out["__priv_lc2_customer_id"] = customer.priv_id
    if customer.tickets:
        out["tickets"] = [dict(t) for t in customer.tickets]
    return out


def _chat_user(state: EmulatorState, user: ChatUserRecord) -> JSON:
    if user.type == "customer":
        customer = state.customers[user.id]
        out = customer_json(state, customer)
        out.pop("chat_ids", None)
        out.pop("__priv_lc2_customer_id", None)
        out["present"] = user.present
        if user.events_seen_up_to is not None:
            out["events_seen_up_to"] = user.events_seen_up_to
        return out
    agent = state.agents[user.id]
    out = {"id": agent.id, "type": "agent", "name": agent.name, "email": agent.id, "present": user.present}
    if user.events_seen_up_to is not None:
        out["events_seen_up_to"] = user.events_seen_up_to
    out["avatar"] = agent.avatar
    out["visibility"] = user.visibility
    return out


def chat_users(state: EmulatorState, chat: ChatRecord) -> list[JSON]:
    return [_chat_user(state, u) for u in chat.users]


def _access(group_ids: Iterable[int]) -> JSON:
    return {"group_ids": list(group_ids)}


# Deleted events (https://platform.text.com/docs/messaging/agent-chat-api/data-structures#deleted-event):
# "returned to agents with the `normal` role in place of the original event", with only these
# keys; the original event's `deleted` field "Appears for deleted events, visible only to users
# with the `administrator` or `viceowner` role" (the owner too [UNVERIFIED]).
DELETED_EVENT_KEYS = ("id", "custom_id", "type", "deleted", "author_id", "created_at", "visibility")
SEES_DELETED_EVENTS = frozenset({"owner", "viceowner", "administrator"})


def event_json(event: JSON, viewer: AgentRecord) -> JSON:
    if event.get("deleted") and viewer.role not in SEES_DELETED_EVENTS:
        return {k: event[k] for k in DELETED_EVENT_KEYS if k in event}
    return dict(event)


def thread_json(chat: ChatRecord, thread: ThreadRecord, viewer: AgentRecord) -> JSON:
    """A thread (data-structures "Threads"): ``events`` "Doesn't exists if `restricted_access` is
    present"; ``summary`` (LiveChat's AI summary) only when set."""
    index = chat.threads.index(thread)
    out: JSON = {
        "id": thread.id,
        "created_at": thread.created_at,
        "active": thread.active,
        "user_ids": list(thread.user_ids),
    }
    if thread.restricted_access is None:
        out["events"] = [event_json(e, viewer) for e in thread.events]
    else:
        out["restricted_access"] = thread.restricted_access
    if thread.summary is not None:
        out["summary"] = dict(thread.summary)
    out["properties"] = thread.properties
    out["access"] = _access(thread.group_ids)
    if thread.tags:
        out["tags"] = list(thread.tags)
    if thread.queue is not None and thread.active:
        out["queue"] = dict(thread.queue)
    if index > 0:
        out["previous_thread_id"] = chat.threads[index - 1].id
    if index < len(chat.threads) - 1:
        out["next_thread_id"] = chat.threads[index + 1].id
    return out


def last_event_per_type(chat: ChatRecord, viewer: AgentRecord) -> JSON:
    """Restricted threads' events are left out (they are not readable) [UNVERIFIED]."""
    out: JSON = {}
    for thread in chat.threads:
        if thread.restricted_access is not None:
            continue
        for event in thread.events:
            out[str(event["type"])] = {
                "thread_id": thread.id,
                "thread_created_at": thread.created_at,
                "event": event_json(event, viewer),
            }
    return out


def chat_summary(state: EmulatorState, chat: ChatRecord, viewer: AgentRecord) -> JSON:
    last = chat.last_thread
    summary: JSON = {
        "id": last.id,
        "created_at": last.created_at,
        "user_ids": list(last.user_ids),
        "properties": last.properties,
        "active": last.active,
        "access": _access(last.group_ids),
    }
    if last.queue is not None and last.active:
        summary["queue"] = dict(last.queue)
    if last.tags:
        summary["tags"] = list(last.tags)
    return {
        "id": chat.id,
        "last_thread_summary": summary,
        "users": chat_users(state, chat),
        "last_event_per_type": last_event_per_type(chat, viewer),
        "properties": chat.properties,
        "access": _access(chat.group_ids),
        "is_followed": viewer.id in chat.followers,
    }


def chat_json(state: EmulatorState, chat: ChatRecord, thread: ThreadRecord, viewer: AgentRecord) -> JSON:
    """get_chat: the chat with one thread; ``is_followed`` is the requester's (follow_chat)."""
    return {
        "id": chat.id,
        "thread": thread_json(chat, thread, viewer),
        "users": chat_users(state, chat),
        "properties": chat.properties,
        "access": _access(chat.group_ids),
        "is_followed": viewer.id in chat.followers,
    }


def archive_json(
    state: EmulatorState, chat: ChatRecord, thread: ThreadRecord, accessible: list[str], viewer: AgentRecord
) -> JSON:
    """One list_archives entry: the chat with one thread; the neighbouring accessible threads
    are keys of that ``thread`` object (the docs' list_archives response sample)."""
    out = chat_json(state, chat, thread, viewer)
    position = accessible.index(thread.id) if thread.id in accessible else -1
    if position > 0:
        out["thread"]["previous_accessible_thread_id"] = accessible[position - 1]
    if 0 <= position < len(accessible) - 1:
        out["thread"]["next_accessible_thread_id"] = accessible[position + 1]
    return out


def agent_json(agent: AgentRecord, fields: Iterable[str], *, listing: bool) -> JSON:
    """get_agent uses ``avatar``; list_agents uses a schemeless ``avatar_path`` (samples)."""
    out: JSON = {"id": agent.id, "account_id": agent.account_id, "name": agent.name}
    if listing:
        out["avatar_path"] = agent.avatar.split("://", 1)[-1]
    else:
        out["avatar"] = agent.avatar
    out["role"] = agent.role
    out["login_status"] = agent.login_status
    values: dict[str, Any] = {
        "work_scheduler": agent.work_scheduler,
        "groups": [{"id": gid, "priority": p} for gid, p in agent.groups.items()],
        # the field lists say `email_subscriptions`; list_agents' documented sample answers it as
        # `summaries` (https://platform.text.com/docs/management/configuration-api#list-agents):
        # the field lists' name is kept for both methods [UNVERIFIED]
        "email_subscriptions": list(agent.email_subscriptions),
        "notifications": list(agent.notifications),
        "job_title": agent.job_title,
        "mobile": agent.mobile,
        "max_chats_count": agent.max_chats_count,
        "suspended": agent.suspended,
        "awaiting_approval": agent.awaiting_approval,
        "last_logout": agent.last_logout,
    }
    for name in fields:
        if values.get(name) is not None:
            out[name] = values[name]
    return out


def group_routing_status(state: EmulatorState, group: GroupRecord) -> str:
    members = [a for a in state.org_agents(group.org_id) if group.id in a.groups and not a.suspended]
    statuses = {a.routing_status for a in members}
    for status in ("accepting_chats", "not_accepting_chats"):
        if status in statuses:
            return status
    return "offline"


def group_json(state: EmulatorState, group: GroupRecord, fields: Iterable[str]) -> JSON:
    """list_groups / get_group. ``routing_status`` only when ``fields`` asks for it, as the
    request table says ("The additional fields to include": `agent_priorities`, `routing_status`)
    [UNVERIFIED: the docs conflict; list_groups' sample answers a request of ``{}`` with
    ``routing_status`` in every group,
    https://platform.text.com/docs/management/configuration-api#list-groups]."""
    out: JSON = {"id": group.id, "name": group.name, "language_code": group.language_code}
    wanted = set(fields)
    if "agent_priorities" in wanted:
        out["agent_priorities"] = {
            a.id: a.groups[group.id] for a in state.org_agents(group.org_id) if group.id in a.groups
        }
    if "routing_status" in wanted:
        out["routing_status"] = group_routing_status(state, group)
    return out


def tag_json(tag: TagRecord) -> JSON:
    return {
        "name": tag.name,
        "group_ids": list(tag.group_ids),
        "author_id": tag.author_id,
        "created_at": tag.created_at,
    }
