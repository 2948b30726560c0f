"""list_archives filtering: thread-based, one (chat id, thread id) key per matching thread."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from .apiauth import Ctx
from .clock import parse_rfc3339
from .errors import validation
from .model import JSON, ChatRecord, ThreadRecord
from .render import SEES_DELETED_EVENTS
from .validate import int_list, optional_bool, optional_obj, optional_str, str_list, timestamp

Predicate = Callable[[ChatRecord, ThreadRecord], bool]
# Documented filters of https://platform.text.com/docs/messaging/agent-chat-api#list-archives that
# are checked to be objects and otherwise ignored: not emulated [UNVERIFIED], so they match every
# thread (even where the seeded chat and thread properties would let some be evaluated).
_OTHER_FILTERS = (
    "properties",
    "sales",
    "goals",
    "forms",
    "greetings",
    "agent_response",
)
AGENT_TYPES = ("human", "chatbot", "ai_agent")


def _value_filter(
    spec: JSON,
    path: str,
    values_of: Callable[[ChatRecord, ThreadRecord], set[str]],
    *,
    with_exists: bool = True,
) -> Predicate | None:
    """``{exists, values, exclude_values, require_every_value}`` over a set of strings. The docs
    allow only one of ``exists`` / ``values`` / ``exclude_values`` at a time (``event_types``
    has no ``exists``)."""
    if not spec:
        return None
    kinds = ("exists", "values", "exclude_values") if with_exists else ("values", "exclude_values")
    if not with_exists and "exists" in spec:
        raise validation(f"`{path}.exists` is not supported")
    if sum(spec.get(k) is not None for k in kinds) > 1:
        raise validation(f"`{path}` accepts only one of: " + ", ".join(f"`{k}`" for k in kinds))
    exists = optional_bool(spec, "exists", f"{path}.exists")
    include = set(str_list(spec["values"], f"{path}.values")) if spec.get("values") is not None else None
    exclude = (
        set(str_list(spec["exclude_values"], f"{path}.exclude_values"))
        if spec.get("exclude_values")
        else set()
    )
    every = optional_bool(spec, "require_every_value", f"{path}.require_every_value") or False

    def check(chat: ChatRecord, thread: ThreadRecord) -> bool:
        have = values_of(chat, thread)
        if exists is not None and bool(have) != exists:
            return False
        if include is not None:
            if every and not include <= have:
                return False
            if not every and not include & have:
                return False
        return not exclude & have

    return check


def _thread_agents(chat: ChatRecord, thread: ThreadRecord) -> set[str]:
    return {u for u in thread.user_ids if u != chat.customer_id}


def _event_types(_chat: ChatRecord, thread: ThreadRecord) -> set[str]:
    return {str(e["type"]) for e in thread.events}


def _in_range(thread: ThreadRecord, start: datetime | None, end: datetime | None) -> bool:
    if start is None and end is None:
        return True
    created = parse_rfc3339(thread.created_at)
    return (start is None or created >= start) and (end is None or created <= end)


def archive_keys(ctx: Ctx, filters: JSON, order: str, all_chats: bool) -> list[Any]:
    state = ctx.state
    thread_ids = filters.get("thread_ids")
    if thread_ids is not None:
        wanted = set(str_list(thread_ids, "filters.thread_ids", max_len=20))
        if len(filters) > 1:
            raise validation("`filters.thread_ids` cannot be combined with other filters")
    else:
        wanted = None
    query = (optional_str(filters, "query", "filters.query") or "").casefold()
    start = timestamp(filters, "from", "filters.from")
    end = timestamp(filters, "to", "filters.to")
    chat_ids = (
        set(str_list(filters["chat_ids"], "filters.chat_ids", max_len=1000))
        if "chat_ids" in filters
        else None
    )
    groups = filters.get("group_ids")
    group_ids = set(int_list(groups, "filters.group_ids", max_len=200)) if groups is not None else None
    customer_id = optional_str(filters, "customer_id", "filters.customer_id")
    customer_email = (optional_str(filters, "customer_email", "filters.customer_email") or "").casefold()
    countries = optional_obj(filters, "customer_countries", "filters.customer_countries")
    for key in _OTHER_FILTERS:
        optional_obj(filters, key, f"filters.{key}")
    if "surveys" in filters:
        # `filters.surveys` is v3.4's (https://platform.text.com/docs/messaging/agent-chat-api/v3.4#list-archives);
        # v3.5 and v3.6 list `filters.forms` instead. Refused [UNVERIFIED: LiveChat's answer to an
        # undocumented filter is not documented; other unknown keys are ignored here].
        raise validation("`filters.surveys` is not supported in v3.6; use `filters.forms`")
    checks = [
        f
        for f in (
            _value_filter(
                optional_obj(filters, "agents", "filters.agents"), "filters.agents", _thread_agents
            ),
            _value_filter(
                optional_obj(filters, "tags", "filters.tags"), "filters.tags", lambda c, t: set(t.tags)
            ),
            _value_filter(
                optional_obj(filters, "event_types", "filters.event_types"),
                "filters.event_types",
                _event_types,
                with_exists=False,
            ),
            _agent_types_filter(ctx, optional_obj(filters, "agent_types", "filters.agent_types")),
            _value_filter(countries, "filters.customer_countries", lambda c, t: _country(ctx, c)),
        )
        if f is not None
    ]
    keys: list[tuple[str, str, str]] = []
    for chat in state.org_chats(ctx.org_id):
        if chat_ids is not None and chat.id not in chat_ids:
            continue
        if customer_id is not None and chat.customer_id != customer_id:
            continue
        customer = state.customers.get(chat.customer_id)
        if customer_email and (customer is None or (customer.email or "").casefold() != customer_email):
            continue
        for thread in chat.threads:
            if not state.can_see_thread(chat, thread, ctx.agent, all_chats=all_chats):
                continue
            if wanted is not None and thread.id not in wanted:
                continue
            if group_ids is not None and not group_ids & set(thread.group_ids):
                continue
            if not _in_range(thread, start, end) or not all(check(chat, thread) for check in checks):
                continue
            if query and not _matches(ctx, chat, thread, query):
                continue
            keys.append((thread.created_at, chat.id, thread.id))
    keys.sort(reverse=order == "desc")
    return [(chat_id, thread_id) for _, chat_id, thread_id in keys]


def _agent_types_filter(ctx: Ctx, spec: JSON) -> Predicate | None:
    """``filters.agent_types.{all_values|any_values|exclude_values}`` (new in 3.6). Every seeded
    agent is a human, so a thread's agent types are {"human"} when an agent took part in it."""
    if not spec:
        return None
    wanted: dict[str, set[str]] = {}
    for key in ("all_values", "any_values", "exclude_values"):
        if spec.get(key) is not None:
            values = str_list(spec[key], f"filters.agent_types.{key}")
            if not set(values) <= set(AGENT_TYPES):
                raise validation(f"`filters.agent_types.{key}` must contain only: {', '.join(AGENT_TYPES)}")
            wanted[key] = set(values)

    def check(chat: ChatRecord, thread: ThreadRecord) -> bool:
        have = {"human"} if any(u in ctx.state.agents for u in _thread_agents(chat, thread)) else set()
        return (
            wanted.get("all_values", set()) <= have
            and ("any_values" not in wanted or bool(wanted["any_values"] & have))
            and not wanted.get("exclude_values", set()) & have
        )

    return check


def _country(ctx: Ctx, chat: ChatRecord) -> set[str]:
    customer = ctx.state.customers.get(chat.customer_id)
    visit = customer.visit if customer is not None else None
    code = visit.get("geolocation", {}).get("country_code") if visit else None
    return {str(code)} if code else set()


def _matches(ctx: Ctx, chat: ChatRecord, thread: ThreadRecord, query: str) -> bool:
    """Case-insensitive substring over message texts and the customer's name and email."""
    customer = ctx.state.customers.get(chat.customer_id)
    if customer is not None:
        for value in (customer.name, customer.email):
            if value and query in value.casefold():
                return True
    if thread.restricted_access is not None:
        return False  # its events are not readable
    hides_deleted = ctx.agent.role not in SEES_DELETED_EVENTS  # normal agents never get the text
    return any(
        query in str(e.get("text", "")).casefold()
        for e in thread.events
        if not (hides_deleted and e.get("deleted"))
    )
