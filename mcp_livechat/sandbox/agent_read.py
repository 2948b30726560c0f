"""Agent Chat Web API v3.6 read methods."""

from __future__ import annotations

from typing import Any

from .apiauth import Ctx
from .archives import archive_keys
from .clock import parse_rfc3339
from .errors import WebApiFault, validation
from .model import JSON, ChatRecord, ThreadRecord
from .pagination import paginate, resume
from .render import archive_json, chat_json, chat_summary, customer_json, thread_json
from .validate import int_list, optional_bool, optional_int, optional_obj, require_str, sort_order, timestamp


def visible_chat(ctx: Ctx, chat_id: str, *, perm: str = "ro") -> ChatRecord:
    """The chat, if the requester may see it. A chat (or thread) that exists but is out of the
    requester's reach is ``not_found``, as one that does not exist, never ``missing_access``
    ("The requester doesn't have access to a given resource", in the error list at
    https://platform.text.com/docs/messaging/agent-chat-api#possible-errors): the docs do not say
    which of the two LiveChat answers there [UNVERIFIED]."""
    all_chats = ctx.chat_level(perm)
    chat = ctx.state.chats.get(chat_id)
    if chat is None or not ctx.state.can_see_chat(chat, ctx.agent, all_chats=all_chats):
        raise WebApiFault("not_found", "Chat not found")
    return chat


def _visible_threads(ctx: Ctx, chat: ChatRecord, all_chats: bool) -> list[ThreadRecord]:
    return [t for t in chat.threads if ctx.state.can_see_thread(chat, t, ctx.agent, all_chats=all_chats)]


def list_chats(ctx: Ctx, body: JSON) -> JSON:
    all_chats = ctx.chat_level("ro")

    def build() -> list[Any]:
        filters = optional_obj(body, "filters")
        active = optional_bool(filters, "active", "filters.active")
        # `include_chats_without_threads` ("Default: `true`") is checked but has nothing to include:
        # every sandbox chat has a thread (not emulated [UNVERIFIED]).
        optional_bool(filters, "include_chats_without_threads", "filters.include_chats_without_threads")
        # `properties.<namespace>.<name>.<filter_type>` is checked to be an object and otherwise
        # ignored: property filtering is not emulated [UNVERIFIED].
        optional_obj(filters, "properties", "filters.properties")
        groups = filters.get("group_ids")
        group_ids = set(int_list(groups, "filters.group_ids", max_len=200)) if groups is not None else None
        desc = sort_order(body) == "desc"
        chats = [
            c
            for c in ctx.state.org_chats(ctx.org_id)
            if c.threads
            and ctx.state.can_see_chat(c, ctx.agent, all_chats=all_chats)
            and (active is None or c.active == active)
            and (group_ids is None or bool(group_ids & set(c.group_ids)))
        ]
        chats.sort(key=lambda c: (c.last_thread.created_at, c.id), reverse=desc)
        return [c.id for c in chats]

    window = paginate(ctx, body, "list_chats", default_limit=10, max_limit=100, build=build)
    summaries = [chat_summary(ctx.state, ctx.state.chats[chat_id], ctx.agent) for chat_id in window.items]
    return {"chats_summary": summaries, "found_chats": window.total, **window.links}


def list_threads(ctx: Ctx, body: JSON) -> JSON:
    all_chats = ctx.chat_level("ro")
    # `chat_id` is "Yes" (required) in https://platform.text.com/docs/messaging/agent-chat-api#list-threads,
    # with `page_id` too; a page of another chat is an invalid page_id [UNVERIFIED].
    chat_id = require_str(body, "chat_id")
    if body.get("page_id") is not None:
        page = resume(ctx, body, "list_threads", ("min_events_count",))
        assert page is not None
        if page.chat_id != chat_id:
            raise validation("Invalid page_id")
    chat = visible_chat(ctx, chat_id)
    if body.get("min_events_count") is not None and body.get("page_id") is None:
        wanted = optional_int(body, "min_events_count", default=1, low=1, high=100)
        if "limit" in body or "filters" in body:
            raise validation("`min_events_count` cannot be used together with `limit` or `filters`")
        # The fewest latest threads that hold at least `min_events_count` events.
        count, total_events = 0, 0
        for thread in reversed(_visible_threads(ctx, chat, all_chats)):
            count, total_events = count + 1, total_events + len(thread.events)
            if total_events >= wanted:
                break
        body = {k: v for k, v in body.items() if k != "min_events_count"} | {"limit": max(1, count)}

    def build() -> list[Any]:
        filters = optional_obj(body, "filters")
        start = timestamp(filters, "from", "filters.from")
        end = timestamp(filters, "to", "filters.to")
        desc = sort_order(body) == "desc"
        threads = [
            t
            for t in _visible_threads(ctx, chat, all_chats)
            if (start is None or parse_rfc3339(t.created_at) >= start)
            and (end is None or parse_rfc3339(t.created_at) <= end)
        ]
        ordered = list(reversed(threads)) if desc else threads
        return [t.id for t in ordered]

    window = paginate(
        ctx,
        body,
        "list_threads",
        default_limit=3,
        max_limit=100,
        build=build,
        chat_id=chat.id,
        extra_keys=("min_events_count",),
    )
    found = (chat.thread(tid) for tid in window.items)
    threads = [thread_json(chat, t, ctx.agent) for t in found if t is not None]
    return {"threads": threads, "found_threads": window.total, **window.links}


def get_chat(ctx: Ctx, body: JSON) -> JSON:
    all_chats = ctx.chat_level("ro")
    chat = visible_chat(ctx, require_str(body, "chat_id"))
    thread_id = body.get("thread_id")
    if thread_id is None:
        # "Default: the latest thread (if exists)" (#get-chat). The latest thread the requester
        # may see, not the chat's latest when that one is out of reach [UNVERIFIED]; none is
        # `not_found` [UNVERIFIED].
        visible = _visible_threads(ctx, chat, all_chats)
        if not visible:
            raise WebApiFault("not_found", "Thread not found")
        thread = visible[-1]
    else:
        if not isinstance(thread_id, str):
            raise validation("`thread_id` must be a string")
        found = chat.thread(thread_id)
        if found is None or not ctx.state.can_see_thread(chat, found, ctx.agent, all_chats=all_chats):
            raise WebApiFault("not_found", "Thread not found")
        thread = found
    return chat_json(ctx.state, chat, thread, ctx.agent)


def get_customer(ctx: Ctx, body: JSON) -> JSON:
    ctx.require("customers:ro")
    customer = ctx.state.org_customer(ctx.org_id, require_str(body, "id"))
    if customer is None:
        raise WebApiFault("not_found", "Customer not found")
    return customer_json(ctx.state, customer)


def list_routing_statuses(ctx: Ctx, body: JSON) -> list[JSON]:
    ctx.require("agents--all:ro")
    filters = optional_obj(body, "filters")
    groups = filters.get("group_ids")
    group_ids = set(int_list(groups, "filters.group_ids", max_len=200)) if groups is not None else None
    return [
        {"agent_id": a.id, "status": a.routing_status}
        for a in ctx.state.org_agents(ctx.org_id)
        if not a.suspended and (group_ids is None or bool(group_ids & set(a.groups)))
    ]


def list_archives(ctx: Ctx, body: JSON) -> JSON:
    all_chats = ctx.chat_level("ro")
    filters = optional_obj(body, "filters")
    if "thread_ids" in filters and body.get("page_id") is None:
        keys = archive_keys(ctx, filters, sort_order(body), all_chats)
        entries = [_archive_entry(ctx, key, all_chats) for key in keys]
        return {"chats": entries, "found_chats": len(entries)}
    window = paginate(
        ctx,
        body,
        "list_archives",
        default_limit=10,
        max_limit=100,
        build=lambda: archive_keys(ctx, filters, sort_order(body), all_chats),
        extra_keys=("highlights",),
    )
    return {
        "chats": [_archive_entry(ctx, key, all_chats) for key in window.items],
        "found_chats": window.total,
        **window.links,
    }


def _archive_entry(ctx: Ctx, key: tuple[str, str], all_chats: bool) -> JSON:
    chat = ctx.state.chats[key[0]]
    thread = chat.thread(key[1])
    assert thread is not None
    accessible = [t.id for t in _visible_threads(ctx, chat, all_chats)]
    return archive_json(ctx.state, chat, thread, accessible, ctx.agent)
