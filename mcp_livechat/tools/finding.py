"""Finding things: the `search`/`fetch` documents ChatGPT connectors read, thread histories, and
who is waiting for an answer.

Document ids are opaque to the client and parsed only here: `chat:<chat_id>:<thread_id>` for one
chat thread, `customer:<customer_id>` for a customer profile. Links open LiveChat's agent app;
its per-chat path is not documented (the docs show `/archives` only) [UNVERIFIED].
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from urllib.parse import quote

from mcp_livechat import models as m
from mcp_livechat.errors import UserInputError
from mcp_livechat.livechat import types as lc
from mcp_livechat.tools import project
from mcp_livechat.tools.text import UNTRUSTED_NOTE, clean, one_line

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TITLE_CHARS = 120
MAX_DOCUMENT_EVENTS = 500


def chat_doc_id(chat_id: str, thread_id: str | None) -> str:
    return f"chat:{chat_id}:{thread_id or ''}"


def customer_doc_id(customer_id: str) -> str:
    return f"customer:{customer_id}"


def parse_doc_id(doc_id: str) -> tuple[str, str, str | None]:
    """("chat", chat_id, thread_id or None) or ("customer", customer_id, None)."""
    kind, _, rest = doc_id.strip().partition(":")
    if kind == "chat" and rest:
        chat_id, _, thread_id = rest.partition(":")
        if chat_id:
            return "chat", chat_id, thread_id or None
    if kind == "customer" and rest:
        return "customer", rest, None
    raise UserInputError(
        f"id {doc_id[:80]!r} is not one this server gave out: pass an id from search "
        "(chat:<chat_id>:<thread_id> or customer:<customer_id>)",
        argument="id",
    )


def chat_url(app_url: str, chat_id: str, thread_id: str | None = None) -> str:
    base = f"{app_url.rstrip('/')}/archives/{quote(chat_id, safe='')}"
    return f"{base}?thread_id={quote(thread_id, safe='')}" if thread_id else base


def customer_url(app_url: str, customer_id: str) -> str:
    return f"{app_url.rstrip('/')}/archives?customer_id={quote(customer_id, safe='')}"


def _day(ts: datetime | None) -> str:
    return project.utc(ts).strftime("%Y-%m-%d") if ts else "?"


def hit(chat: lc.Chat, app_url: str) -> m.SearchHit:
    """One archived chat thread as a search result."""
    people = project.People(chat.users)
    thread = chat.thread
    customer = people.customer
    who = (customer.name or customer.email or "a customer") if customer else "a customer"
    events = thread.events if thread else []
    first = next((e for e in events if e.type == "message" and people.role(e.author_id) == "customer"), None)
    about = f": {one_line(first.text, 80)}" if first and first.text else ""
    title = one_line(f"Chat with {who} on {_day(thread.created_at if thread else None)}{about}", TITLE_CHARS)
    thread_id = thread.id if thread else None
    return m.SearchHit(
        id=chat_doc_id(chat.id, thread_id), title=title, url=chat_url(app_url, chat.id, thread_id)
    )


def customer_hit(customer: lc.Customer, app_url: str) -> m.SearchHit:
    name = clean(customer.name) or clean(customer.email) or customer.id
    return m.SearchHit(
        id=customer_doc_id(customer.id),
        title=one_line(f"Customer profile: {name}", TITLE_CHARS),
        url=customer_url(app_url, customer.id),
    )


def chat_document(chat: lc.Chat, app_url: str) -> m.FetchedDocument:
    """The full transcript of one thread (within the result budget) and what is known about it."""
    t = project.transcript(chat, MAX_DOCUMENT_EVENTS, via_fetch=True)
    header = [f"Chat {t.chat_id}, thread {t.thread_id or '?'}, started {t.started_at or '?'}"]
    if t.summary:
        header.append(f"LiveChat's summary: {t.summary}")
    if t.restricted_access:
        header.append(f"Restricted: {t.restricted_access}")
    if t.note:
        header.append(f"Note: {t.note}")
    else:
        header.append(f"Note: {UNTRUSTED_NOTE}")
    people = t.customer.name or t.customer.email if t.customer else None
    return m.FetchedDocument(
        id=chat_doc_id(chat.id, t.thread_id),
        title=one_line(f"Chat with {people or 'a customer'} on {(t.started_at or '?')[:10]}", TITLE_CHARS),
        text="\n".join([*header, "", *t.lines]),
        url=chat_url(app_url, chat.id, t.thread_id),
        metadata=_present(
            chat_id=t.chat_id,
            thread_id=t.thread_id,
            started_at=t.started_at,
            active=t.active,
            customer_id=t.customer.id if t.customer else None,
            agents=t.agents,
            tags=t.tags,
            events=t.events_total,
        ),
    )


def customer_document(c: lc.Customer, app_url: str) -> m.FetchedDocument:
    profile = project.customer(c)
    data = profile.model_dump(mode="json", exclude_none=True, exclude={"note"})
    lines = [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in data.items()]
    return m.FetchedDocument(
        id=customer_doc_id(c.id),
        title=customer_hit(c, app_url).title,
        text="\n".join([f"Note: {profile.note}", "", *lines]),
        url=customer_url(app_url, c.id),
        metadata=_present(
            customer_id=c.id,
            email=profile.email,
            chats=profile.chats_count,
            chat_ids=profile.chat_ids,
            created_at=profile.created_at,
        ),
    )


def _present(**values: str | int | bool | list[str] | None) -> dict[str, str | int | bool | list[str]]:
    """Metadata without the keys that have no value (the output schema allows no nulls)."""
    return {k: v for k, v in values.items() if v is not None}


def thread_info(thread: lc.Thread) -> m.ThreadInfo:
    agents = [u for u in thread.user_ids if "@" in u]  # agent ids are e-mails; customers UUIDs
    return m.ThreadInfo(
        id=thread.id,
        started_at=project.short_time(thread.created_at),
        active=thread.active,
        agents=agents,
        tags=thread.tags,
        events=len(thread.events),
        summary=project.thread_summary(thread),
        restricted_access=clean(thread.restricted_access) or None,
    )


def internal(event: lc.Event) -> bool:
    """An internal note: a message only agents see (`visibility: agents`,
    https://platform.text.com/docs/messaging/agent-chat-api/data-structures#events)."""
    return event.visibility == "agents"


def note_last(chat: lc.ChatSummary) -> bool:
    """Whether the summary cannot say if the customer waits: the chat is active and not queued, and
    its last message (`last_event_per_type`, any visibility) is an internal note, which the
    customer never saw, so the last message they did see is in the thread only."""
    thread = chat.last_thread_summary
    message = chat.last_event_per_type.get("message")
    return bool(
        thread and thread.active and thread.queue is None and message is not None and internal(message.event)
    )


def _last_seen(events: list[lc.Event], people: project.People) -> lc.Event | None:
    """The last message the customer saw (notes skipped), if it is the customer's own."""
    last = next((ev for ev in reversed(events) if ev.type == "message" and not internal(ev)), None)
    return last if last is not None and people.role(last.author_id) == "customer" else None


def waiting(
    chat: lc.ChatSummary, now: datetime, events: list[lc.Event] | None = None
) -> m.WaitingChat | None:
    """The chat if its customer waits for an answer: it is queued, or the last message the customer
    saw is theirs. From the summary, that is the last message; with the thread's `events` (read
    when the summary's last message is an internal note), the last message that is not a note.
    Either way the wait runs from the customer's last message (or the queueing, if earlier), so a
    note never changes a chat's place in the list."""
    thread = chat.last_thread_summary
    if thread is None or not thread.active:
        return None
    people = project.People(chat.users)
    if events is not None:
        last = _last_seen(events, people)
    else:
        message = chat.last_event_per_type.get("message")
        last = message.event if message and not internal(message.event) else None
        last = last if last is not None and people.role(last.author_id) == "customer" else None
    customer_last = last is not None
    queued = thread.queue is not None
    if not (queued or customer_last):
        return None
    queued_at = thread.queue.queued_at if thread.queue else None
    said_at = last.created_at if last is not None else None
    candidates = [project.utc(t) for t in (queued_at, said_at) if t]
    since = min(candidates) if candidates else project.utc(thread.created_at) if thread.created_at else now
    access = thread.access or chat.access
    return m.WaitingChat(
        chat_id=chat.id,
        thread_id=thread.id,
        wait_seconds=max(0, int((now - since).total_seconds())),
        waiting_since=project.short_time(since) or "",
        queued=queued,
        queue_position=thread.queue.position if thread.queue else None,
        customer=people.customer,
        last_customer_message=one_line(last.text, project.PREVIEW_CHARS) if last and last.text else None,
        group_ids=access.group_ids if access else [],
        agents=people.agents,
    )
