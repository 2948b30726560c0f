"""Compact projections of LiveChat objects into the models tools return.

A chat summary is id, state, customer, agents, last message (cut to about 200 characters), tags,
groups and queue; a transcript is one line per event with time, author name and role, and text.
All customer-written text passes through `clean`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import UTC, date, datetime

from mcp_livechat import models as m
from mcp_livechat.livechat import types as lc
from mcp_livechat.tools import shapes
from mcp_livechat.tools.text import CUSTOMER_NOTE, UNTRUSTED_NOTE, clean, clip, one_line

PREVIEW_CHARS = 200
LINE_CHARS = 2_000
TRANSCRIPT_BUDGET = 60_000  # characters of transcript lines per result (~15k tokens)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc(ts: datetime) -> datetime:
    """In UTC; a timestamp without offset is UTC already (LiveChat sends UTC)."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def short_time(ts: datetime | None) -> str | None:
    """`2020-05-07T07:11:28Z`: UTC to the second (seconds are plenty)."""
    return utc(ts).strftime("%Y-%m-%dT%H:%M:%SZ") if ts else None


class People:
    """Who is who in one chat: names and roles by user id."""

    def __init__(self, users: Iterable[lc.User]) -> None:
        self.users = {u.id: u for u in users}

    def role(self, author_id: str | None) -> str:
        if not author_id:
            return "system"
        user = self.users.get(author_id)
        if user is not None:
            return "customer" if user.type == "customer" else "agent"
        return "agent" if "@" in author_id else "customer"  # unknown authors count as untrusted

    def name(self, author_id: str | None) -> str:
        user = self.users.get(author_id or "")
        if user is None:
            return author_id or ""
        return clean(user.name) or (user.email or user.id)

    @property
    def customer(self) -> m.Person | None:
        for user in self.users.values():
            if user.type == "customer":
                name, email = clean(user.name) or None, clean(user.email) or None
                return m.Person.model_construct(id=user.id, name=name, email=email)
        return None

    @property
    def agents(self) -> list[str]:
        """`Name <id>` of each agent in the chat; `(silent)` after one added with `visibility:
        agents`, whom the customer does not see and who may write internal notes only
        (https://platform.text.com/docs/messaging/agent-chat-api#add-user-to-chat)."""
        out = []
        for user in self.users.values():
            if user.type != "customer":
                name = clean(user.name)
                who = f"{name} <{user.id}>" if name and name != user.id else user.id
                out.append(f"{who} (silent)" if user.visibility == "agents" else who)
        return out


def queue(q: lc.Queue | None) -> m.QueueInfo | None:
    if q is None:
        return None
    return m.QueueInfo.model_construct(
        position=q.position, wait_seconds=q.wait_time, queued_at=short_time(q.queued_at)
    )


def event_text(event: lc.Event) -> str:
    """What an event says, as one readable string (untrusted parts cleaned)."""
    if event.deleted:
        # Normal agents get a deleted event without its content; administrators get the event with
        # `deleted: true` (https://platform.text.com/docs/messaging/agent-chat-api/data-structures#deleted-event).
        label = "[message deleted]" if event.type == "message" else f"[{event.type or 'event'} deleted]"
        return f"{label} {clean(event.text)}".strip() if event.text else label
    kind = event.type
    if kind in ("message", "system_message"):
        return clean(event.text)
    if kind == "file":
        size = f", {event.size // 1024} KB" if event.size else ""
        return f"[file {clean(event.name)} ({event.content_type or '?'}{size})] {event.url or ''}".strip()
    if kind == "rich_message":
        parts = []
        for el in event.elements or []:
            title = " — ".join(clean(str(el.get(k))) for k in ("title", "subtitle") if el.get(k))
            # `elements.buttons` is an array of `button` objects
            # (https://platform.text.com/docs/messaging/agent-chat-api/data-structures#rich-message);
            # anything else shows no buttons
            listed = el.get("buttons")
            buttons = (
                [clean(str(b.get("text"))) for b in listed if isinstance(b, dict)]
                if isinstance(listed, list)
                else []
            )
            parts.append(title + (f" | buttons: {', '.join(buttons)}" if buttons else ""))
        return f"[{event.template_id or 'rich message'}: {'; '.join(p for p in parts if p)}]"
    if kind == "filled_form":
        answers = [f"{clean(f.label)}: {_answer(f)}" for f in event.fields or []]
        return f"[{event.form_type or 'form'} answers: {'; '.join(answers)}]"
    if kind == "form":
        return f"[{event.form_type or ''} form shown]".replace("[ ", "[")
    if kind == "system":
        return f"[system event: {event.subtype or 'unknown'}]"
    if kind == "custom":
        return f"[custom event: {clip(json.dumps(event.content, ensure_ascii=False), 200)}]"
    return f"[{kind} event]"


def _answer(field: lc.FormField) -> str:
    value = field.answers if field.answers is not None else field.answer
    if isinstance(value, dict):
        return clean(str(value.get("label", "")))
    if isinstance(value, list):
        return ", ".join(
            clean(str(v.get("label", v))) if isinstance(v, dict) else clean(str(v)) for v in value
        )
    return clean(str(value)) if value is not None else ""


def _when(entry: lc.LastEvent) -> datetime:
    return utc(entry.event.created_at) if entry.event.created_at else _EPOCH


def last_message(last: dict[str, lc.LastEvent], people: People) -> m.LastMessage | None:
    entry = last.get("message")
    if entry is None:
        candidates = [e for e in last.values() if e.event.type != "system"]
        entry = max(candidates, key=_when, default=None)
    if entry is None:
        return None
    ev = entry.event
    role = people.role(ev.author_id) if ev.type != "system_message" else "system"
    return m.LastMessage.model_construct(
        author=people.name(ev.author_id) or None if role != "system" else None,
        role=role,
        at=short_time(ev.created_at),
        text=one_line(event_text(ev), PREVIEW_CHARS),
        internal=True if ev.visibility == "agents" else None,
    )


def chat_summary(chat: lc.ChatSummary) -> m.ChatSummary:
    people = People(chat.users)
    thread = chat.last_thread_summary
    access = (thread.access if thread and thread.access else None) or chat.access
    # model_construct: every value comes from a validated wire model, in the declared types; the
    # result list is the hot path of list_chats (tests check the output schema holds)
    return m.ChatSummary.model_construct(
        id=chat.id,
        thread_id=thread.id if thread else None,
        active=bool(thread and thread.active),
        customer=people.customer,
        agents=people.agents,
        last_message=last_message(chat.last_event_per_type, people),
        tags=thread.tags if thread else [],
        group_ids=access.group_ids if access else [],
        queue=queue(thread.queue) if thread and thread.active else None,
    )


SUMMARY_CHARS = 4_000


def thread_summary(thread: lc.Thread | None) -> str | None:
    """LiveChat's own AI summary of the thread, when it has one that is ready."""
    summary = thread.summary if thread else None
    if summary is None or not summary.text or (summary.status or "ok") != "ok":
        return None
    return clip(clean(summary.text), SUMMARY_CHARS)


def transcript(
    chat: lc.Chat,
    max_events: int,
    *,
    before: int | None = None,
    event: int | None = None,
    via_fetch: bool = False,
) -> m.Transcript:
    """A thread as lines, the latest `max_events` events (those before position `before`, counted
    from 1, when given), newest kept first within the size budget, each line cut at `LINE_CHARS`;
    or the one event at position `event`, whole. Notes say what was left out and how to read it:
    with get_chat's `before` and `event` (`via_fetch`: the fetch tool has neither)."""
    people = People(chat.users)
    thread = chat.thread
    events = thread.events if thread else []
    day = utc(thread.created_at).date() if thread and thread.created_at else None
    if event is not None:
        end = min(event, len(events))
        start = end - 1 if event <= len(events) else end
    else:
        end = min(before - 1, len(events)) if before is not None else len(events)
        start = max(0, end - max_events)
    shown = events[start:end]
    lines: list[str] = []
    clipped: list[int] = []
    budget = TRANSCRIPT_BUDGET
    dropped_for_size = False
    for offset, ev in enumerate(reversed(shown)):  # newest first: the budget keeps the latest
        position = end - offset
        full = _line(ev, people, day)
        line = full if event is not None else clip(full, LINE_CHARS)
        if len(line) > budget and lines:
            dropped_for_size = True
            break
        line = clip(line, budget)
        if line != full:
            clipped.append(position)
        budget -= len(line)
        lines.append(line)
    lines.reverse()
    first = end - len(lines) + 1 if lines else None
    # positions count within one thread: the hints name it, so a thread started since (or an older
    # one read by fetch) is not read by mistake
    where = f"thread_id={thread.id}, " if thread else ""
    how = f"the get_chat tool with {where}" if via_fetch else f"get_chat with {where}"
    notes = []
    if event is not None and not lines:
        notes.append(f"This thread has {len(events)} event(s): there is no event {event}.")
    if first is not None and first > 1 and event is None:
        why = " to stay within the result size limit" if dropped_for_size else ""
        more = " (or raise max_events, up to 500)" if max_events < 500 and not dropped_for_size else ""
        notes.append(
            f"Events 1-{first - 1} of {len(events)} are not shown{why}; read them with {how}"
            f"before={first}{more}."
        )
    if end < len(events) and event is None:
        notes.append(f"Events {end + 1}-{len(events)} follow; leave out before to read the latest.")
    if clipped and event is not None:
        notes.append("This event is cut at the result size limit; no tool returns more of it.")
    elif clipped:
        cut = ", ".join(str(n) for n in sorted(clipped)[:10])
        notes.append(f"Cut to fit: event(s) {cut}; read one whole with {how}event=<its number>.")
    if any(people.role(ev.author_id) == "customer" for ev in shown):
        notes.append(UNTRUSTED_NOTE)
    if thread and thread.previous_thread_id:
        older = (
            f"fetch id chat:{chat.id}:{thread.previous_thread_id}"
            if via_fetch
            else "pass previous_thread_id as thread_id"
        )
        notes.append(f"Older threads exist: {older} to read them.")
    restricted = clean(thread.restricted_access) if thread and thread.restricted_access else None
    if restricted:
        notes.append("LiveChat does not show this thread's events to you (see restricted_access).")
    access = (thread.access if thread and thread.access else None) or chat.access
    return m.Transcript(
        chat_id=chat.id,
        thread_id=thread.id if thread else None,
        active=thread.active if thread else None,
        started_at=short_time(thread.created_at) if thread else None,
        customer=people.customer,
        agents=people.agents,
        tags=thread.tags if thread else [],
        group_ids=access.group_ids if access else [],
        queue=queue(thread.queue) if thread and thread.active else None,
        previous_thread_id=thread.previous_thread_id if thread else None,
        next_thread_id=thread.next_thread_id if thread else None,
        summary=thread_summary(thread),
        restricted_access=restricted,
        events_total=len(events),
        first_event=first,
        lines=lines,
        note=" ".join(notes) or None,
    )


def _line(ev: lc.Event, people: People, day: date | None) -> str:
    ts = utc(ev.created_at) if ev.created_at else None
    when = "" if ts is None else ts.strftime("%H:%M" if ts.date() == day else "%m-%d %H:%M")
    role = people.role(ev.author_id) if ev.type != "system_message" else "system"
    if role == "system":
        who = "(system)"
    else:
        internal = ", internal note" if ev.visibility == "agents" else ""
        who = f"{people.name(ev.author_id)} ({role}{internal})"
    return f"{when} {who}: {event_text(ev)}"


def archive_hit(chat: lc.ArchivedChat) -> m.ArchiveHit:
    people = People(chat.users)
    thread = chat.thread
    last = None
    if thread:
        messages = [e for e in thread.events if e.type == "message" and not e.deleted]
        if messages:
            ev = messages[-1]
            last = m.LastMessage(
                author=people.name(ev.author_id) or None,
                role=people.role(ev.author_id),  # type: ignore[arg-type]
                at=short_time(ev.created_at),
                text=one_line(ev.text, PREVIEW_CHARS),
            )
    access = (thread.access if thread and thread.access else None) or chat.access
    return m.ArchiveHit(
        chat_id=chat.id,
        thread_id=thread.id if thread else None,
        created_at=short_time(thread.created_at) if thread else None,
        active=thread.active if thread else None,
        customer=people.customer,
        agents=people.agents,
        tags=thread.tags if thread else [],
        group_ids=access.group_ids if access else [],
        last_message=last,
    )


def customer(c: lc.Customer, *, max_chat_ids: int = 20) -> m.Customer:
    geo = c.visit.geolocation if c.visit else None
    place = ", ".join(clean(p) for p in (geo.city, geo.region, geo.country) if p) if geo else ""
    visit = None
    if c.visit:
        pages = [
            one_line(f"{p.title or ''} {p.url or ''}".strip(), 160)
            for p in c.visit.last_pages[-5:]
            if p.url or p.title
        ]
        visit = m.Visit(started_at=short_time(c.visit.started_at), referrer=c.visit.referrer, pages=pages)
    fields: dict[str, str | int | float | bool] = {}
    for item in c.session_fields:
        for key, value in item.items():
            fields[clip(clean(key), 100)] = _field_value(value)
    stats = c.statistics
    note = CUSTOMER_NOTE
    if len(c.chat_ids) > max_chat_ids:
        note += (
            f" Showing the last {max_chat_ids} of {len(c.chat_ids)} chat ids;"
            " search_archives by customer_id lists all."
        )
    return m.Customer(
        id=c.id,
        name=clean(c.name) or None,
        email=clean(c.email) or None,
        phone_number=clean(c.phone_number) or None,
        created_at=short_time(c.created_at),
        location=place or None,
        timezone=geo.timezone if geo else None,
        chats_count=stats.chats_count if stats else None,
        threads_count=stats.threads_count if stats else None,
        visits_count=stats.visits_count if stats else None,
        last_visit=visit,
        session_fields=fields,
        chat_ids=c.chat_ids[-max_chat_ids:],
        note=note,
    )


def _field_value(value: object) -> str | int | float | bool:
    """A session field value as LiveChat sent it (strings cleaned, objects as compact JSON; a null
    is an empty string: the output schema allows no nulls, and "" is what an empty field reads as)."""
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # 1e400 parses as inf, which JSON cannot carry back: "inf", not a null
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return clip(clean(value), 500)
    return clip(clean(json.dumps(value, ensure_ascii=False, separators=(",", ":"))), 500)


def agent(a: lc.Agent, routing_status: str | None = None) -> shapes.Agent:
    return shapes.Agent.model_validate({**a.model_dump(exclude_none=True), "routing_status": routing_status})
