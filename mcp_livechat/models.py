"""What tools return: compact projections of LiveChat objects, not raw LiveChat JSON.

Results that are a LiveChat object as it is (agents, groups, tags, work schedules) are not
copied here: `tools.shapes` uses the wire models of `livechat.types` for them.

Field names are short and stable; every `None` is dropped from results, so optional fields cost
nothing when empty. Lists that can grow are capped by the tools, with a `note` saying what was
cut and how to get the rest.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # validators built on first use


# ------------------------------------------------------------------ chats


class Person(Out):
    id: str
    name: str | None = None
    email: str | None = None


class LastMessage(Out):
    author: str | None = None
    role: Literal["customer", "agent", "system"]
    at: str | None = None
    text: str
    internal: bool | None = None  # true for an internal note (only agents see it); absent otherwise


class QueueInfo(Out):
    position: int | None = None
    wait_seconds: int | None = None
    queued_at: str | None = None


class ChatSummary(Out):
    id: str
    thread_id: str | None = None
    active: bool
    customer: Person | None = None
    agents: list[str] = []
    last_message: LastMessage | None = None
    tags: list[str] = []
    group_ids: list[int] = []
    queue: QueueInfo | None = None


class ChatList(Out):
    chats: list[ChatSummary]
    found: int | None = None
    next_page_id: str | None = None
    note: str | None = None


class Transcript(Out):
    chat_id: str
    thread_id: str | None = None
    active: bool | None = None
    started_at: str | None = None
    customer: Person | None = None
    agents: list[str] = []
    tags: list[str] = []
    group_ids: list[int] = []
    queue: QueueInfo | None = None
    previous_thread_id: str | None = None
    next_thread_id: str | None = None
    summary: str | None = None
    restricted_access: str | None = None
    events_total: int = 0
    first_event: int | None = None  # the position (from 1) of lines[0] among the thread's events
    lines: list[str] = []
    note: str | None = None


class ArchiveHit(Out):
    chat_id: str
    thread_id: str | None = None
    created_at: str | None = None
    active: bool | None = None
    customer: Person | None = None
    agents: list[str] = []
    tags: list[str] = []
    group_ids: list[int] = []
    last_message: LastMessage | None = None


class ArchiveList(Out):
    chats: list[ArchiveHit]
    found: int | None = None
    next_page_id: str | None = None
    note: str | None = None


class MessageSent(Out):
    chat_id: str
    event_id: str
    visibility: Literal["all", "agents"]
    joined_chat: bool = False
    joined_as: Literal["all", "agents"] | None = None
    custom_id: str | None = None
    note: str | None = None


class ChatUpdated(Out):
    chat_id: str
    thread_id: str | None = None
    done: str
    tags: list[str] | None = None


class ThreadInfo(Out):
    id: str
    started_at: str | None = None
    active: bool | None = None
    agents: list[str] = []
    tags: list[str] = []
    events: int = 0
    summary: str | None = None
    restricted_access: str | None = None


class ThreadList(Out):
    chat_id: str
    threads: list[ThreadInfo]
    found: int | None = None
    next_page_id: str | None = None
    note: str | None = None


class WaitingChat(Out):
    chat_id: str
    thread_id: str | None = None
    wait_seconds: int
    waiting_since: str
    queued: bool = False
    queue_position: int | None = None
    customer: Person | None = None
    last_customer_message: str | None = None
    group_ids: list[int] = []
    agents: list[str] = []


class WaitingList(Out):
    chats: list[WaitingChat]
    scanned: int
    note: str | None = None


class SearchHit(Out):
    id: str
    title: str
    url: str


class SearchResults(Out):
    """The shape ChatGPT connectors and deep research read from a `search` tool."""

    results: list[SearchHit]


class FetchedDocument(Out):
    """The shape ChatGPT connectors and deep research read from a `fetch` tool."""

    id: str
    title: str
    text: str
    url: str
    metadata: dict[str, str | int | bool | list[str]] = {}  # no nulls: keys without a value are left out


class Done(Out):
    done: str
    note: str | None = None


# ------------------------------------------------------------------ customers


class Visit(Out):
    started_at: str | None = None
    referrer: str | None = None
    pages: list[str] = []


class Customer(Out):
    id: str
    name: str | None = None
    email: str | None = None
    phone_number: str | None = None
    created_at: str | None = None
    location: str | None = None
    timezone: str | None = None
    chats_count: int | None = None
    threads_count: int | None = None
    visits_count: int | None = None
    last_visit: Visit | None = None
    session_fields: dict[str, str | int | float | bool] = {}
    chat_ids: list[str] = []
    note: str | None = None


class CustomerUpdated(Out):
    customer: Customer
    changed: list[str]


# ------------------------------------------------------------------ account


class ConnectionStatus(Out):
    connected: bool
    mode: Literal["pat", "oauth", "none"]
    account_id: str | None = None
    email: str | None = None
    organization_id: str | None = None
    scopes: list[str] | None = None
    expires_at: str | None = None
    connect_url: str | None = None
    message: str


# ------------------------------------------------------------------ reports
#
# Report tables are `columns` plus rows of cells (one list per period, agent or tag): the column
# names are said once, not once per row, so a 31-day report stays a fraction of LiveChat's JSON.

# a cell is null where there is nothing to average (a period or an agent without chats, first
# responses or ratings; an agent only in LiveChat's ranking has no times at all): a 0 would read
# as the fastest reply or the worst score (said in the schema itself: the compact schemas leave
# `null` out of optional fields, which are never sent as null, but these cells are)
Cell = Annotated[str | int | float | None, WithJsonSchema({"type": ["string", "number", "null"]})]
AgentCell = Cell


class _Reported(Out):
    # `from` is a Python keyword: the field is `from_`, the key the model reads is `from`
    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, serialize_by_alias=True, defer_build=True
    )


class ChatReport(_Reported):
    metric: str
    from_: str | None = Field(None, validation_alias="from", serialization_alias="from")
    to: str | None = None
    timezone: str
    distribution: str | None = None
    total: int | float | None = None
    summary: dict[str, int | float] | None = None
    meaning: str
    columns: list[str]
    buckets: list[list[Cell]]
    note: str | None = None


class TeamSummary(Out):
    agents: int
    chats: int
    rated_good: int
    rated_bad: int
    first_response_chats: int
    first_response_s: int | None = None  # none without first responses


class AgentReport(_Reported):
    from_: str | None = Field(None, validation_alias="from", serialization_alias="from")
    to: str | None = None
    timezone: str
    team: TeamSummary
    columns: list[str]
    agents: list[list[AgentCell]]
    note: str | None = None


class TagReport(_Reported):
    from_: str | None = Field(None, validation_alias="from", serialization_alias="from")
    to: str | None = None
    timezone: str
    columns: list[str]
    tags: list[list[Cell]]
    note: str | None = None
