"""Toolset `chats`: list, read and search chats; reply, transfer, close, tag."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import Field

from mcp_livechat import models as m
from mcp_livechat.errors import ApiError, LiveChatError, NotFound, PermissionDenied, UserInputError, ambiguous
from mcp_livechat.livechat import types as lc
from mcp_livechat.tools import delivery, finding, project
from mcp_livechat.tools.args import Day, DayOrTime, Stripped, TimeZone, at, rfc3339, zone
from mcp_livechat.tools.context import ToolContext
from mcp_livechat.tools.spec import ToolSpec, tool
from mcp_livechat.tools.text import UNTRUSTED_NOTE

MAX_MESSAGE_BYTES = 16 * 1024

ChatId = Annotated[str, Stripped, Field(min_length=1, max_length=64, description="Chat id, e.g. PJ0MRSHTDG")]
ThreadId = Annotated[
    str, Stripped, Field(min_length=1, max_length=64, description="Thread id within the chat")
]
GroupId = Annotated[int, Field(ge=0)]
PageId = Annotated[
    str | None,
    Field(description="next_page_id of a previous call: continues that listing with its original filters"),
]


def _page_note(page_id: str | None, next_page_id: str | None, ignored: list[str]) -> str | None:
    notes = []
    if page_id and ignored:
        notes.append(
            f"Ignored {', '.join(ignored)}: a page_id continues its listing with the original filters."
        )
    if next_page_id:
        notes.append("More results: call again with page_id=next_page_id.")
    return " ".join(notes) or None


@tool(
    toolset="chats",
    title="List chats",
    read_only=True,
    destructive=False,
    idempotent=True,
    open_world=True,
)
async def list_chats(
    tc: ToolContext,
    status: Annotated[
        Literal["active", "inactive", "any"], Field(description="active: ongoing or queued; inactive: closed")
    ] = "active",
    group_ids: Annotated[list[GroupId] | None, Field(max_length=200, description="Only these groups")] = None,
    limit: Annotated[int, Field(ge=1, le=100)] = 25,
    page_id: PageId = None,
) -> m.ChatList:
    """Chats, newest first: customer, agents, last message, tags, groups, queue. get_chat reads one."""
    ignored = [
        n for n, v in (("status", status != "active"), ("group_ids", group_ids), ("limit", limit != 25)) if v
    ]
    if page_id:
        page = await tc.livechat.agent.list_chats(page_id=page_id)
    else:
        active = {"active": True, "inactive": False, "any": None}[status]
        page = await tc.livechat.agent.list_chats(active=active, group_ids=group_ids, limit=limit)
    return m.ChatList(
        chats=[project.chat_summary(c) for c in page.chats_summary],
        found=page.found_chats,
        next_page_id=page.next_page_id,
        note=_page_note(page_id, page.next_page_id, ignored),
    )


@tool(
    toolset="chats",
    title="Read a chat",
    read_only=True,
    destructive=False,
    idempotent=True,
    open_world=True,
)
async def get_chat(
    tc: ToolContext,
    chat_id: ChatId,
    thread_id: Annotated[
        str | None, Stripped, Field(min_length=1, description="A thread of this chat; default: the latest")
    ] = None,
    max_events: Annotated[int, Field(ge=1, le=500, description="Most recent events to include")] = 100,
    before: Annotated[
        int | None,
        Field(ge=2, description="Only events before this number (a result's first_event): older ones"),
    ] = None,
    event: Annotated[int | None, Field(ge=1, description="Just this event (its number), whole")] = None,
) -> m.Transcript:
    """A chat thread as a transcript, a line per event (time, author, role, text), plus customer,
    tags, queue and LiveChat's summary. Keeps the latest events; previous/next_thread_id navigate."""
    if before is not None and event is not None:
        raise UserInputError("give before or event, not both", argument="event")
    chat = await tc.livechat.agent.get_chat(chat_id, thread_id)
    return project.transcript(chat, max_events, before=before, event=event)


@tool(
    toolset="chats",
    title="Search archived chats",
    read_only=True,
    destructive=False,
    idempotent=True,
    open_world=True,
)
async def search_archives(
    tc: ToolContext,
    query: Annotated[str | None, Field(max_length=500, description="Full-text search in messages")] = None,
    customer_id: Annotated[str | None, Stripped] = None,
    customer_email: Annotated[str | None, Stripped] = None,
    agent_id: Annotated[str | None, Stripped, Field(description="Agent id (email)")] = None,
    tag: str | None = None,
    date_from: Day = None,
    date_to: Annotated[DayOrTime | None, Field(description="Inclusive; same formats")] = None,
    group_ids: Annotated[list[GroupId] | None, Field(max_length=200)] = None,
    limit: Annotated[int, Field(ge=1, le=100)] = 25,
    page_id: PageId = None,
    timezone: Annotated[
        TimeZone | None, Field(description="IANA time zone whose days date_from/date_to are; default UTC")
    ] = None,
) -> m.ArchiveList:
    """Past and current chats, one per thread, newest first, by text, customer id or e-mail, agent,
    tag, date or group. Previews; get_chat reads one."""
    days = zone(timezone or "UTC")
    start = at(date_from, days, end_of_day=False) if date_from is not None else None
    end = at(date_to, days, end_of_day=True) if date_to is not None else None
    if start is not None and end is not None and end < start and not page_id:
        raise UserInputError(
            f"date_to ({date_to}) is before date_from ({date_from}); give the earlier day as date_from",
            argument="date_to",
        )
    given = {
        "query": query,
        "customer_id": customer_id,
        "customer_email": customer_email,
        "agent_id": agent_id,
        "tag": tag,
        "date_from": date_from,
        "date_to": date_to,
        "group_ids": group_ids,
        "limit": limit != 25,
        "timezone": timezone,
    }
    ignored = [name for name, value in given.items() if value]
    if page_id:
        page = await tc.livechat.agent.list_archives(page_id=page_id)
    else:
        page = await tc.livechat.agent.list_archives(
            query=query,
            customer_id=customer_id,
            customer_email=customer_email,
            agent_ids=[agent_id] if agent_id else None,
            tags=[tag] if tag else None,
            date_from=rfc3339(start, end_of_day=False),
            date_to=rfc3339(end, end_of_day=True),
            group_ids=group_ids,
            limit=limit,
        )
    return m.ArchiveList(
        chats=[project.archive_hit(c) for c in page.chats],
        found=page.found_chats,
        next_page_id=page.next_page_id,
        note=_page_note(page_id, page.next_page_id, ignored),
    )


@tool(
    toolset="chats",
    title="Send a message",
    read_only=False,
    destructive=False,
    idempotent=False,
    open_world=True,
)
async def send_message(
    tc: ToolContext,
    chat_id: ChatId,
    text: Annotated[str, Field(min_length=1, description="Message text, at most 16 KB")],
    visibility: Annotated[
        Literal["all", "agents"], Field(description="all: the customer sees it; agents: internal note")
    ] = "all",
    repeat: Annotated[bool, Field(description="Send even if just sent (same text, < 2 min)")] = False,
) -> m.MessageSent:
    """Reply in an active chat, or an internal note (visibility=agents). Joins the chat if needed
    (silently for notes). Sent at most once: unclear answers are checked, never resent blindly; the
    same text again within 2 minutes needs repeat=true."""
    size = len(text.encode())
    if size > MAX_MESSAGE_BYTES:
        raise UserInputError(
            f"text is {size} bytes; LiveChat accepts at most {MAX_MESSAGE_BYTES} bytes (16 KB) per message. "
            "Shorten it or send it as several messages.",
            argument="text",
        )
    if not text.strip():
        raise UserInputError("text is empty", argument="text")
    agent = tc.livechat.agent
    me = await tc.require_agent_id()
    seat = await delivery.read_seat(agent, chat_id, me)
    now = tc.livechat.transport.server_time or datetime.now(UTC)  # LiveChat's clock where it says
    earlier = None if repeat else seat.just_sent(text, visibility, now, REPEAT_WINDOW)
    if earlier is not None:  # a call repeated after its answer was lost: the message is there
        ago = max(0, round((now - earlier.created_at).total_seconds())) if earlier.created_at else 0
        return m.MessageSent(
            chat_id=chat_id,
            event_id=earlier.id,
            visibility=visibility,
            custom_id=earlier.custom_id,
            note=f"You sent this same text here {ago} s ago (this event): not sent again. To send it "
            "once more, call again with repeat=true.",
        )
    event: dict[str, object] = {
        "type": "message",
        "text": text,
        "visibility": visibility,
        "custom_id": delivery.new_custom_id(),
    }
    joined: delivery.Visibility | None = None
    try:
        for attempt in (1, 2):
            step = seat.join_needed(visibility)  # raises the refusal LiveChat's rules call for
            if step is not None:
                await delivery.join(agent, seat, step)
                joined = step
            try:
                event_id, looked_up = await delivery.send_once(
                    agent, chat_id, event, anchor=seat.newest_event
                )
                break
            except ApiError as exc:
                if attempt == 2 or not delivery.refused_by_livechat(exc):
                    raise
                seat = await delivery.read_seat(agent, chat_id, me)  # the chat changed: decide again, once
                if seat.join_needed(visibility) is None:
                    raise
    except LiveChatError as exc:
        if joined is not None:  # the join stays: say so, so that nobody thinks nothing happened
            still = _STILL_JOINED[joined].format(chat_id=chat_id)
            if joined == "all":  # a message that may have landed is checked, never simply resent
                still += " " + (_CHECK_FIRST if ambiguous(exc) else _RETRY_OR_HAND_BACK)
            exc.add_note(still)
        raise
    note = "LiveChat's answer was unclear; the message was found in the chat." if looked_up else None
    return m.MessageSent(
        chat_id=chat_id,
        event_id=event_id,
        visibility=visibility,
        joined_chat=joined is not None,
        joined_as=joined,
        custom_id=str(event["custom_id"]),
        note=note,
    )


REPEAT_WINDOW = 120.0  # seconds: a repeated call after a lost answer, not a message meant twice

_STILL_JOINED = {
    "all": "Before that, you joined chat {chat_id} publicly, and you are still in it: the customer sees "
    "you, and the chat may have left the queue.",
    "agents": "Before that, you joined chat {chat_id} silently (the customer does not see you), and you "
    "are still in it.",
}
_RETRY_OR_HAND_BACK = "Retry send_message, or hand the chat back with transfer_chat."
_CHECK_FIRST = "If you do not reply after checking get_chat, hand the chat back with transfer_chat."
MAX_CANDIDATES = 5


async def _chat_state(tc: ToolContext, chat_id: str) -> Literal["active", "closed", "missing"] | None:
    """The chat read after a refusal, to explain it from the chat rather than from the error's
    type (LiveChat does not document which type a failed transfer gets); None if it cannot be read."""
    try:
        chat = await tc.livechat.agent.get_chat(chat_id)
    except NotFound:
        return "missing"
    except LiveChatError:
        return None
    return "active" if chat.thread is not None and chat.thread.active else "closed"


async def _who_can_take(tc: ToolContext, chat_id: str) -> str:
    """A sentence naming the agents LiveChat says can take the chat (no scope needed)."""
    try:
        candidates = await tc.livechat.agent.list_agents_for_transfer(chat_id)
    except LiveChatError:
        return ""
    if not candidates:
        return " LiveChat lists no agent who can take this chat right now."
    shown = ", ".join(
        c.agent_id if c.total_active_chats is None else f"{c.agent_id} ({c.total_active_chats} active chats)"
        for c in candidates[:MAX_CANDIDATES]
    )
    more = f" and {len(candidates) - MAX_CANDIDATES} more" if len(candidates) > MAX_CANDIDATES else ""
    return f" Agents who can take it, least busy first: {shown}{more}."


@tool(
    toolset="chats",
    title="Transfer a chat",
    read_only=False,
    destructive=True,
    idempotent=False,
    open_world=True,
)
async def transfer_chat(
    tc: ToolContext,
    chat_id: ChatId,
    agent_id: Annotated[
        str | None, Stripped, Field(min_length=1, max_length=254, description="Target agent id (email)")
    ] = None,
    group_id: Annotated[int | None, Field(ge=0, description="Target group id")] = None,
    queue_if_unavailable: Annotated[
        bool, Field(description="Queue the chat when no target agent can take it now, instead of failing")
    ] = False,
) -> m.ChatUpdated:
    """Transfer an active chat to one agent or one group. A refusal names who can take it."""
    if (agent_id is None) == (group_id is None):
        raise UserInputError("give exactly one of agent_id or group_id", argument="agent_id")
    if agent_id is not None:
        target_type: Literal["agent", "group"] = "agent"
        ids: list[str | int] = [agent_id]
    else:
        target_type, ids = "group", [group_id or 0]
    try:
        await tc.livechat.agent.transfer_chat(
            chat_id,
            target_type=target_type,
            target_ids=ids,
            ignore_agents_availability=queue_if_unavailable or None,
            ignore_requester_presence=True,
        )
    except ApiError as exc:
        if not delivery.refused_by_livechat(exc) or isinstance(exc, PermissionDenied):
            raise
        refused = f"LiveChat refused the transfer: {exc.message} ({exc.type})."
        state = await _chat_state(tc, chat_id)
        if state == "missing":
            raise UserInputError(
                f"{refused} Chat {chat_id} was not found: check chat_id (list_chats finds active chats).",
                argument="chat_id",
            ) from exc
        if state == "closed":
            raise UserInputError(
                f"{refused} Chat {chat_id} is closed; only an active chat can be transferred. "
                "Nothing changed.",
                argument="chat_id",
            ) from exc
        hint = "" if queue_if_unavailable else " Or set queue_if_unavailable=true to queue it for the target."
        who = await _who_can_take(tc, chat_id)
        argument = "agent_id" if agent_id is not None else "group_id"
        raise UserInputError(f"{refused}{who}{hint}", argument=argument) from exc
    return m.ChatUpdated(chat_id=chat_id, done=f"transferred to {target_type} {ids[0]}")


@tool(
    toolset="chats",
    title="Close a chat",
    read_only=False,
    destructive=True,
    idempotent=False,
    open_world=True,
)
async def close_chat(tc: ToolContext, chat_id: ChatId) -> m.ChatUpdated:
    """Close (deactivate) an active chat: it ends for the customer and is archived. Cannot be
    undone."""
    agent = tc.livechat.agent
    try:
        await agent.deactivate_chat(chat_id, ignore_requester_presence=True)
    except LiveChatError as exc:

        async def closed() -> bool:  # an unclear answer: the chat itself says whether it is closed now
            chat = await agent.get_chat(chat_id)
            return chat.thread is not None and not chat.thread.active

        await delivery.confirm_by_reading(exc, closed)
        return m.ChatUpdated(chat_id=chat_id, done="closed (confirmed by reading the chat)")
    return m.ChatUpdated(chat_id=chat_id, done="closed")


Tag = Annotated[
    str, Field(min_length=1, max_length=100, description="Tag name, case-sensitive (see list_tags)")
]


@tool(
    toolset="chats",
    title="Tag a thread",
    read_only=False,
    destructive=False,
    idempotent=True,
    open_world=True,
)
async def tag_thread(tc: ToolContext, chat_id: ChatId, thread_id: ThreadId, tag: Tag) -> m.ChatUpdated:
    """Put an existing tag on a thread (the tag must share a group with it). Idempotent."""
    read = await delivery.retag(tc.livechat.agent, chat_id, thread_id, tag, on=True)
    done = f"tagged {tag!r}" + (" (confirmed by reading the thread)" if read else "")
    return m.ChatUpdated(chat_id=chat_id, thread_id=thread_id, done=done)


@tool(
    toolset="chats",
    title="Untag a thread",
    read_only=False,
    destructive=True,
    idempotent=True,
    open_world=True,
)
async def untag_thread(tc: ToolContext, chat_id: ChatId, thread_id: ThreadId, tag: Tag) -> m.ChatUpdated:
    """Remove a tag from a chat thread. Idempotent."""
    read = await delivery.retag(tc.livechat.agent, chat_id, thread_id, tag, on=False)
    done = f"untagged {tag!r}" + (" (confirmed by reading the thread)" if read else "")
    return m.ChatUpdated(chat_id=chat_id, thread_id=thread_id, done=done)


SEARCH_LIMIT = 20


@tool(toolset="chats", title="Search", read_only=True, destructive=False, idempotent=True, open_world=True)
async def search(
    tc: ToolContext,
    query: Annotated[str, Field(min_length=1, max_length=500, description="Words, or a customer e-mail")],
) -> m.SearchResults:
    """Search LiveChat: an e-mail finds that customer and their chats; other text searches messages.
    Returns ids for fetch."""
    query = query.strip()
    app = tc.services.app_url
    results: list[m.SearchHit] = []
    if finding.EMAIL.match(query):
        page = await tc.livechat.agent.list_archives(customer_email=query, limit=SEARCH_LIMIT)
        customer_id = next((u.id for c in page.chats for u in c.users if u.type == "customer"), None)
        if customer_id:
            with contextlib.suppress(LiveChatError):  # the chats are worth returning without the profile
                results.append(finding.customer_hit(await tc.livechat.agent.get_customer(customer_id), app))
    else:
        page = await tc.livechat.agent.list_archives(query=query, limit=SEARCH_LIMIT)
    results += [finding.hit(chat, app) for chat in page.chats]
    return m.SearchResults(results=results)


@tool(toolset="chats", title="Fetch", read_only=True, destructive=False, idempotent=True, open_world=True)
async def fetch(
    tc: ToolContext, id: Annotated[str, Field(min_length=3, max_length=200, description="An id from search")]
) -> m.FetchedDocument:
    """Full text of a search result: a thread's transcript or a customer profile, with link and
    metadata."""
    kind, key, thread_id = finding.parse_doc_id(id)
    if kind == "customer":
        return finding.customer_document(await tc.livechat.agent.get_customer(key), tc.services.app_url)
    return finding.chat_document(await tc.livechat.agent.get_chat(key, thread_id), tc.services.app_url)


@tool(toolset="chats", title="List a chat's threads", read_only=True, destructive=False, idempotent=True,
      open_world=True)  # fmt: skip
async def list_threads(
    tc: ToolContext,
    chat_id: ChatId,
    limit: Annotated[int, Field(ge=1, le=25)] = 10,
    page_id: PageId = None,
) -> m.ThreadList:
    """A chat's threads (the customer's visits), newest first: dates, agents, tags, events,
    LiveChat's summary."""
    agent = tc.livechat.agent
    if page_id:
        page = await agent.list_threads(chat_id, page_id=page_id)
    else:
        page = await agent.list_threads(chat_id, limit=limit, sort_order="desc")
    return m.ThreadList(
        chat_id=chat_id,
        threads=[finding.thread_info(t) for t in page.threads],
        found=page.found_threads,
        next_page_id=page.next_page_id,
        note=_page_note(page_id, page.next_page_id, ["limit"] if page_id and limit != 10 else []),
    )


WAITING_PAGES, WAITING_PAGE_SIZE = 10, 100  # at most 1,000 active chats scanned per call
# Chats whose last message is an internal note are read to see whom the customer last heard from:
# at most this many per call, this many at once.
NOTE_READS, NOTE_READS_AT_ONCE = 25, 4


async def _behind_notes(
    tc: ToolContext, chats: list[lc.ChatSummary]
) -> tuple[dict[str, list[lc.Event]], list[str]]:
    """The latest thread's events of each of `chats` (whose last message is an internal note), and
    the ids of those that could not be read."""
    gate = asyncio.Semaphore(NOTE_READS_AT_ONCE)
    read: dict[str, list[lc.Event]] = {}
    failed: list[str] = []

    async def one(chat: lc.ChatSummary) -> None:
        thread = chat.last_thread_summary
        async with gate:
            try:
                got = await tc.livechat.agent.get_chat(chat.id, thread.id if thread else None)
            except LiveChatError:
                failed.append(chat.id)
                return
        if got.thread is not None and (thread is None or got.thread.id == thread.id):
            read[chat.id] = got.thread.events
        else:
            failed.append(chat.id)

    await asyncio.gather(*(one(c) for c in chats))
    return read, failed


@tool(toolset="chats", title="Who is waiting", read_only=True, destructive=False, idempotent=True,
      open_world=True)  # fmt: skip
async def list_waiting_chats(
    tc: ToolContext,
    group_ids: Annotated[list[int] | None, Field(max_length=200, description="Only these groups")] = None,
    limit: Annotated[int, Field(ge=1, le=100)] = 20,
) -> m.WaitingList:
    """Who waits for an answer: active chats that are queued or whose last message the customer
    saw is theirs (internal notes do not count as an answer), longest wait first. The triage
    view."""
    agent = tc.livechat.agent
    # A chat may come twice: LiveChat does not say its pages are cut once, so live data that
    # reorders meanwhile may repeat one. Its latest copy is the one judged.
    latest: dict[str, lc.ChatSummary] = {}
    page_id, pages = None, 0
    while pages < WAITING_PAGES:
        if page_id:
            page = await agent.list_chats(page_id=page_id)
        else:
            page = await agent.list_chats(active=True, group_ids=group_ids, limit=WAITING_PAGE_SIZE)
        pages += 1
        latest.update((c.id, c) for c in page.chats_summary)
        await tc.report_progress(pages, None, f"scanned {len(latest)} active chats")
        page_id = page.next_page_id
        if not page_id:
            break
    scanned = len(latest)
    behind = sorted((c for c in latest.values() if finding.note_last(c)), key=_last_said)  # oldest first
    events, unread = await _behind_notes(tc, behind[:NOTE_READS])
    unread += [c.id for c in behind[NOTE_READS:]]
    now = tc.livechat.transport.server_time or datetime.now(UTC)
    waiting = [w for c in latest.values() if (w := finding.waiting(c, now, events.get(c.id))) is not None]
    waiting.sort(key=lambda w: (-w.wait_seconds, w.chat_id))
    notes = []
    if page_id:
        notes.append(f"Stopped after {scanned} active chats; more exist (filter by group_ids).")
    if unread:
        shown = ", ".join(unread[:5]) + (f" and {len(unread) - 5} more" if len(unread) > 5 else "")
        notes.append(
            f"Not judged: {len(unread)} chat(s) whose last message is an internal note, which could not be "
            f"read to see whether the customer still waits ({shown}); read them with get_chat."
        )
    if len(waiting) > limit:
        notes.append(f"Showing the {limit} longest waits of {len(waiting)}.")
    if any(w.last_customer_message for w in waiting[:limit]):
        notes.append(UNTRUSTED_NOTE)
    return m.WaitingList(chats=waiting[:limit], scanned=scanned, note=" ".join(notes) or None)


def _last_said(chat: lc.ChatSummary) -> datetime:
    message = chat.last_event_per_type.get("message")
    at = message.event.created_at if message else None
    return project.utc(at) if at else datetime.min.replace(tzinfo=UTC)


TOOLS: tuple[ToolSpec, ...] = (
    list_chats,
    get_chat,
    search_archives,
    send_message,
    transfer_chat,
    close_chat,
    tag_thread,
    untag_thread,
    search,
    fetch,
    list_threads,
    list_waiting_chats,
)
