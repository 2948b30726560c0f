"""The in-memory data model. Events are stored as ready JSON objects (``dict``).

The emulator's records are named ``...Record`` (and its tokens ``Issued...``) so that they never
read as the client's models of the same things in ``mcp_livechat.livechat.types``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .clock import parse_rfc3339

JSON = dict[str, Any]


@dataclass
class OrgRecord:
    id: str
    name: str
    region: str
    license_id: int


@dataclass
class AgentRecord:
    id: str  # the email
    account_id: str
    org_id: str
    name: str
    role: str
    avatar: str
    job_title: str
    max_chats_count: int
    groups: dict[int, str]  # group id -> priority, in order
    routing_status: str  # accepting_chats | not_accepting_chats | offline
    notifications: list[str]
    email_subscriptions: list[str]
    work_scheduler: JSON
    created_at: datetime
    updated_at: datetime
    mobile: str | None = None
    suspended: bool = False
    awaiting_approval: bool = False
    last_logout: str | None = None
    pat: str | None = None
    pat_scopes: tuple[str, ...] = ()
    email_verified: bool = True
    mfa: bool = False
    # Configuration API ``login_status``: the agent's default status right after login (a
    # setting), not the live routing status that set_routing_status changes.
    login_status: str = "not accepting chats"

    @property
    def organization_id(self) -> str:
        """Alias of ``org_id``."""
        return self.org_id


@dataclass
class GroupRecord:
    id: int
    org_id: str
    name: str
    language_code: str


@dataclass
class TagRecord:
    name: str
    org_id: str
    group_ids: list[int]
    author_id: str
    created_at: str


@dataclass
class CustomerRecord:
    id: str
    org_id: str
    created_at: str
    name: str | None = None
    email: str | None = None
    email_verified: bool = False
    avatar: str | None = None
    phone_number: str | None = None
    session_fields: list[dict[str, str]] = field(default_factory=list)
    visit: JSON | None = None
    statistics: dict[str, int] = field(default_factory=dict)  # visits/page views/greetings/tickets
    priv_id: str = ""
    address: dict[str, str] | None = None
    omnichannel: JSON | None = None
    tickets: list[JSON] = field(default_factory=list)

    @property
    def organization_id(self) -> str:
        """Alias of ``org_id``."""
        return self.org_id


@dataclass
class ChatUserRecord:
    id: str
    type: str  # customer | agent
    present: bool = True
    visibility: str = "all"
    events_seen_up_to: str | None = None


@dataclass
class ThreadRecord:
    id: str
    created_at: str
    active: bool
    user_ids: list[str]
    events: list[JSON]
    group_ids: list[int]
    properties: JSON = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    queue: JSON | None = None
    # Seconds the thread waited in the queue before an agent took it: the sandbox's own record
    # for the Reports API's queued visitors, "visitors who waited in the queue and entered a
    # chat" (https://platform.text.com/docs/data-reporting/reports-api#queued-visitors). It is
    # never sent: a thread shows ``queue`` only while it waits [UNVERIFIED what LiveChat keeps].
    queued_for: float | None = None
    next_event_no: int = 1
    # LiveChat's own AI summary {"status", "text", "updated_at"} (v3.6 thread, optional).
    summary: JSON | None = None
    # The reason access is restricted; such a thread is returned without ``events``.
    restricted_access: str | None = None

    def dequeue(self, now: datetime) -> None:
        """A public agent took the thread: it leaves the queue, and its wait is kept (added up if
        it waited more than once)."""
        if self.queue is None:
            return
        queued_at = parse_rfc3339(str(self.queue.get("queued_at") or self.created_at))
        self.queued_for = (self.queued_for or 0.0) + max(0.0, (now - queued_at).total_seconds())
        self.queue = None

    def new_event_id(self) -> str:
        event_id = f"{self.id}_{self.next_event_no}"
        self.next_event_no += 1
        return event_id


@dataclass
class ChatRecord:
    id: str
    org_id: str
    customer_id: str
    users: list[ChatUserRecord]
    threads: list[ThreadRecord]
    group_ids: list[int]
    properties: JSON = field(default_factory=dict)
    # Agents who follow the chat (follow_chat); ``is_followed`` is per requester.
    followers: set[str] = field(default_factory=set)

    @property
    def organization_id(self) -> str:
        """Alias of ``org_id``."""
        return self.org_id

    @property
    def active(self) -> bool:
        return bool(self.threads) and self.threads[-1].active

    @property
    def last_thread(self) -> ThreadRecord:
        return self.threads[-1]

    def user(self, user_id: str) -> ChatUserRecord | None:
        return next((u for u in self.users if u.id == user_id), None)

    def agent_ids(self) -> list[str]:
        return [u.id for u in self.users if u.type == "agent"]

    def thread(self, thread_id: str) -> ThreadRecord | None:
        return next((t for t in self.threads if t.id == thread_id), None)


@dataclass
class BanRecord:
    """One customer ban (Configuration API list_customer_bans sample): an IP and/or a customer."""

    org_id: str
    agent_id: str
    created_at: datetime
    expires_at: datetime
    ip: str | None = None
    customer_id: str | None = None
    thread_id: str | None = None


@dataclass
class IssuedAuthCode:
    code: str
    client_id: str
    redirect_uri: str
    agent_id: str
    scopes: tuple[str, ...]
    challenge: str | None
    method: str
    expires_at: datetime
    used: bool = False


@dataclass
class IssuedAccessToken:
    token: str
    client_id: str
    agent_id: str
    scopes: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    refresh_token: str | None = None
    revoked: bool = False


@dataclass
class IssuedRefreshToken:
    token: str
    client_id: str
    agent_id: str
    scopes: tuple[str, ...]
    issued_at: datetime
    revoked: bool = False
    expires_at: datetime | None = None  # None: no lifetime (LiveChat documents none)


@dataclass
class Page:
    """Server-side pagination state behind an opaque page_id."""

    kind: str  # list_chats | list_threads | list_archives
    org_id: str
    agent_id: str
    keys: list[Any]  # snapshot of the ordered ids (chat ids, thread ids, (chat, thread) pairs)
    offset: int
    limit: int
    created_at: datetime
    chat_id: str | None = None
