"""Typed views of LiveChat v3.6 objects
(https://platform.text.com/docs/messaging/agent-chat-api/data-structures and the Configuration
API's objects, https://platform.text.com/docs/management/configuration-api).

Tolerant by design: unknown keys are ignored, and everything LiveChat sends "only when set" is
optional, so a new field or a missing one never breaks a call. Timestamps are aware datetimes
(LiveChat sends RFC 3339 in UTC with microseconds; one without an offset is read as UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# LiveChat sends "Date & time format with a resolution of microseconds, UTC string"
# (https://platform.text.com/docs/messaging/agent-chat-api/data-structures#events). Parsed natively
# by pydantic in the one JSON pass, then always aware: a value without an offset (which the docs
# do not show, [UNVERIFIED]) is read as the UTC it is documented to be. The validator costs no
# measurable time against the parse of a 25-chat page (~0.5 ms either way).
Timestamp = Annotated[datetime, AfterValidator(_aware)] | None


class LCModel(BaseModel):
    # defer_build: a model's validator is built when first used, not at import (start-up time).
    # allow_inf_nan=False: JSON sets no range on numbers (RFC 8259 §6), so `1e400` parses as
    # infinity, which no result can carry (it serialises as null): such an answer is refused.
    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True, allow_inf_nan=False)


class Access(LCModel):
    group_ids: list[int] = Field(default_factory=list)


class Queue(LCModel):
    position: int | None = None
    wait_time: int | None = None
    queued_at: Timestamp = None


class Geolocation(LCModel):
    country: str | None = None
    country_code: str | None = None
    region: str | None = None
    city: str | None = None
    timezone: str | None = None
    latitude: str | None = None
    longitude: str | None = None


class VisitedPage(LCModel):
    opened_at: Timestamp = None
    url: str | None = None
    title: str | None = None


class Visit(LCModel):
    started_at: Timestamp = None
    ended_at: Timestamp = None
    referrer: str | None = None
    user_agent: str | None = None
    geolocation: Geolocation | None = None
    last_pages: list[VisitedPage] = Field(default_factory=list)


class Statistics(LCModel):
    chats_count: int | None = None
    threads_count: int | None = None
    visits_count: int | None = None
    page_views_count: int | None = None
    greetings_shown_count: int | None = None
    greetings_accepted_count: int | None = None
    tickets_count: int | None = None


class User(LCModel):
    """A chat participant: `type` is customer, agent (or bot)."""

    id: str
    type: str = "customer"
    name: str | None = None
    email: str | None = None
    present: bool | None = None
    visibility: str | None = None
    created_at: Timestamp = None


class FormField(LCModel):
    id: str | None = None
    type: str | None = None
    label: str | None = None
    answer: Any = None
    answers: list[Any] | None = None


class Event(LCModel):
    """Any thread event; which fields are set depends on `type`."""

    id: str
    type: str
    created_at: Timestamp = None
    author_id: str | None = None
    custom_id: str | None = None
    visibility: str | None = None
    deleted: bool | None = None
    text: str | None = None  # message, system_message
    system_message_type: str | None = None
    name: str | None = None  # file
    url: str | None = None
    content_type: str | None = None
    size: int | None = None
    template_id: str | None = None  # rich_message
    elements: list[dict[str, Any]] | None = None
    content: Any = None  # custom
    form_id: str | None = None  # form, filled_form
    form_type: str | None = None
    fields: list[FormField] | None = None
    subtype: str | None = None  # system (e.g. cdp orders)
    source: str | None = None


class LastEvent(LCModel):
    thread_id: str | None = None
    thread_created_at: Timestamp = None
    event: Event


class ThreadSummary(LCModel):
    id: str
    created_at: Timestamp = None
    user_ids: list[str] = Field(default_factory=list)
    active: bool | None = None
    access: Access | None = None
    queue: Queue | None = None
    tags: list[str] = Field(default_factory=list)


class ThreadAISummary(LCModel):
    """LiveChat's own AI summary of a thread (v3.6, optional):
    https://platform.text.com/docs/messaging/agent-chat-api#get-chat"""

    status: str | None = None
    text: str | None = None
    updated_at: Timestamp = None


class Thread(ThreadSummary):
    # Absent when `restricted_access` says why the requester may not read the thread:
    # https://platform.text.com/docs/messaging/agent-chat-api/data-structures#threads
    events: list[Event] = Field(default_factory=list)
    summary: ThreadAISummary | None = None
    previous_thread_id: str | None = None
    next_thread_id: str | None = None
    # list_archives: the neighbouring threads the requester may read (on the thread, per the docs)
    previous_accessible_thread_id: str | None = None
    next_accessible_thread_id: str | None = None
    restricted_access: str | None = None


class ChatSummary(LCModel):
    id: str
    users: list[User] = Field(default_factory=list)
    last_thread_summary: ThreadSummary | None = None
    last_event_per_type: dict[str, LastEvent] = Field(default_factory=dict)
    access: Access | None = None
    is_followed: bool | None = None


class ChatsPage(LCModel):
    chats_summary: list[ChatSummary] = Field(default_factory=list)
    found_chats: int | None = None
    next_page_id: str | None = None
    previous_page_id: str | None = None


class Chat(LCModel):
    """get_chat: one chat with one thread (the latest unless a thread id was asked for)."""

    id: str
    thread: Thread | None = None
    users: list[User] = Field(default_factory=list)
    access: Access | None = None
    is_followed: bool | None = None


class ArchivedChat(Chat):
    """list_archives: one chat per matching thread."""


class ArchivesPage(LCModel):
    chats: list[ArchivedChat] = Field(default_factory=list)
    found_chats: int | None = None
    next_page_id: str | None = None
    previous_page_id: str | None = None


class ThreadsPage(LCModel):
    threads: list[Thread] = Field(default_factory=list)
    found_threads: int | None = None
    next_page_id: str | None = None
    previous_page_id: str | None = None


class Customer(LCModel):
    id: str
    type: str = "customer"
    created_at: Timestamp = None
    name: str | None = None
    email: str | None = None
    email_verified: bool | None = None
    avatar: str | None = None
    phone_number: str | None = None
    session_fields: list[dict[str, Any]] = Field(default_factory=list)
    visit: Visit | None = None
    statistics: Statistics | None = None
    chat_ids: list[str] = Field(default_factory=list)
    agent_last_event_created_at: Timestamp = None
    customer_last_event_created_at: Timestamp = None


class AgentGroup(LCModel):
    id: int
    priority: str | None = None


class ScheduleRange(LCModel):
    day: str
    enabled: bool = True
    start: str | None = None
    end: str | None = None


class WorkScheduler(LCModel):
    timezone: str | None = None
    schedule: list[ScheduleRange] = Field(default_factory=list)


class Agent(LCModel):
    id: str
    account_id: str | None = None
    name: str | None = None
    avatar: str | None = None
    avatar_path: str | None = None  # list_agents spells it this way
    role: str | None = None
    login_status: str | None = None
    job_title: str | None = None
    mobile: str | None = None
    max_chats_count: int | None = None
    groups: list[AgentGroup] | None = None
    notifications: list[str] | None = None
    # The field lists name it `email_subscriptions`; list_agents' documented sample answers
    # `summaries` (https://platform.text.com/docs/management/configuration-api#list-agents): both read.
    email_subscriptions: list[str] | None = Field(
        None, validation_alias=AliasChoices("email_subscriptions", "summaries")
    )
    work_scheduler: WorkScheduler | None = None
    suspended: bool | None = None
    awaiting_approval: bool | None = None
    last_logout: str | None = None


class Group(LCModel):
    id: int
    name: str | None = None
    language_code: str | None = None
    routing_status: str | None = None
    agent_priorities: dict[str, str] | None = None


class Tag(LCModel):
    name: str
    group_ids: list[int] = Field(default_factory=list)
    author_id: str | None = None
    created_at: Timestamp = None


class CustomerBan(LCModel):
    """One active ban (https://platform.text.com/docs/management/configuration-api#list-customer-bans)."""

    ip: str | None = None
    customer_id: str | None = None
    agent_id: str | None = None
    thread_id: str | None = None
    created_at: Timestamp = None
    expires_at: Timestamp = None


class TransferCandidate(LCModel):
    agent_id: str
    total_active_chats: int | None = None


class SentEvent(LCModel):
    """`send_event`'s answer (https://platform.text.com/docs/messaging/agent-chat-api#send-event)."""

    event_id: str = Field(min_length=1)


class RoutingStatus(LCModel):
    agent_id: str
    status: str


class TokenInfo(LCModel):
    """`/v2/info` without the token strings themselves (they are never kept in a model)."""

    account_id: str | None = None
    client_id: str | None = None
    organization_id: str | None = None
    expires_in: int | None = None
    scope: str | None = None
    token_type: str | None = None

    @property
    def scopes(self) -> list[str]:
        return [s for s in (self.scope or "").replace(" ", ",").split(",") if s]


class Account(LCModel):
    """`/v2/accounts/me`: the person behind the credential (their email is their agent id)."""

    account_id: str
    name: str | None = None
    email: str | None = None
    email_verified: bool | None = None
    default_organization_id: str | None = None
    roles: list[dict[str, Any]] | None = None
