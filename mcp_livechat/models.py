"""What tools return: compact projections of LiveChat objects, not raw LiveChat JSON.

Field names are short and stable; every `None` is dropped from results, so optional fields cost
nothing when empty. Lists that can grow are capped by the tools, with a `note` saying what was
cut and how to get the rest.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    session_fields: dict[str, str | int | float | bool | None] = {}
    chat_ids: list[str] = []
    note: str | None = None


class CustomerUpdated(Out):
    customer: Customer
    changed: list[str]


# ------------------------------------------------------------------ agents


class AgentGroup(Out):
    id: int
    priority: str | None = None


class ScheduleDay(Out):
    day: str
    enabled: bool = True
    start: str | None = None
    end: str | None = None


class WorkScheduler(Out):
    timezone: str | None = None
    schedule: list[ScheduleDay] = []


class Agent(Out):
    id: str
    name: str | None = None
    role: str | None = None
    login_status: str | None = None
    routing_status: str | None = None
    job_title: str | None = None
    max_chats_count: int | None = None
    groups: list[AgentGroup] | None = None
    notifications: list[str] | None = None
    email_subscriptions: list[str] | None = None
    work_scheduler: WorkScheduler | None = None
    suspended: bool | None = None
    account_id: str | None = None


class AgentList(Out):
    agents: list[Agent]
    count: int
    note: str | None = None


class MyProfile(Out):
    agent_id: str
    account_id: str | None = None
    email: str | None = None
    name: str | None = None
    organization_id: str | None = None
    agent: Agent | None = None
    note: str | None = None


class ProfileUpdated(Out):
    agent: Agent
    changed: list[str]
    not_applied: dict[str, str] | None = None
    note: str | None = None


class RoutingStatus(Out):
    agent_id: str
    status: str


class RoutingStatusList(Out):
    statuses: list[RoutingStatus]
    count: int


# ------------------------------------------------------------------ account


class Group(Out):
    id: int
    name: str | None = None
    language_code: str | None = None
    routing_status: str | None = None


class GroupList(Out):
    groups: list[Group]


class Tag(Out):
    name: str
    group_ids: list[int] = []


class TagList(Out):
    tags: list[Tag]
    note: str | None = None


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
