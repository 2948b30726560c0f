"""Toolset `agents`: profiles, settings and routing status of agents (oneself by default)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, model_validator

from mcp_livechat.errors import ApiError, LiveChatError, PermissionDenied, UserInputError, refusal
from mcp_livechat.livechat import AGENT_FIELDS
from mcp_livechat.livechat import types as lc
from mcp_livechat.tools import delivery, project, shapes
from mcp_livechat.tools.args import Stripped
from mcp_livechat.tools.context import ToolContext
from mcp_livechat.tools.spec import ToolSpec, tool

MAX_AGENTS = 200  # keeps a result well under 25,000 tokens
MAX_STATUSES = 1000

AgentId = Annotated[
    str,
    Stripped,
    Field(min_length=3, max_length=128, description="Agent id (their email)"),
]
OtherAgent = Annotated[
    str | None,
    Stripped,
    Field(min_length=3, max_length=128, description="Default: you. Others need admin rights"),
]

NOTIFICATIONS = frozenset(
    {
        "new_visitor",
        "incoming_chat",
        "returning_visitor",
        "queued_visitor",
        "visitor_is_typing",
        "new_goal",
        "unassigned_chats",
        "unassigned_chat_messages",
        "ticket",
        "inactive_notifications",
        "mute_all_sounds",
        "repeat_sound_notifications",
        "ticket_notifications",
        "incoming_message_for_focused_chat",
    }
)


def _spaces(value: object) -> object:
    return value.replace("_", " ") if isinstance(value, str) else value


class GroupMembership(BaseModel):
    id: Annotated[int, Field(ge=0)]
    priority: Literal["first", "normal", "last", "supervisor"] = "normal"


# One set of limits for update_agent, checked before anything is written
# (https://platform.text.com/docs/management/configuration-api#update-agent). LiveChat documents
# max_chats_count (at most 20), the group priorities and the work_scheduler fields; it does not
# document a job_title length or the time format [UNVERIFIED: 64 characters, HH:MM with 24:00 as
# the end of a day].
JOB_TITLE_MAX = 64
MAX_CHATS = 20
_START = r"^([01]\d|2[0-3]):[0-5]\d$"
_END = r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"


class ScheduleRange(BaseModel):
    day: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    enabled: bool = True
    start: Annotated[str, Field(pattern=_START, description="HH:MM")]
    end: Annotated[str, Field(pattern=_END, description="HH:MM, up to 24:00")]

    @model_validator(mode="after")
    def _ordered(self) -> ScheduleRange:
        if self.start >= self.end:
            raise ValueError(f"{self.day}: start {self.start} must be before end {self.end}")
        return self


class WorkSchedule(BaseModel):
    timezone: Annotated[str, Field(description="IANA name, e.g. Europe/Warsaw")]
    schedule: list[ScheduleRange]


async def _routing_status(tc: ToolContext, agent_id: str) -> str | None:
    """The agent's current routing status, when the credential may read it."""
    try:
        statuses = await tc.livechat.agent.list_routing_statuses()
    except PermissionDenied:
        return None
    return next((s.status for s in statuses if s.agent_id == agent_id), None)


async def _for_another(tc: ToolContext, target: str, exc: PermissionDenied) -> PermissionDenied:
    """A refusal to act on `target`: when that is another agent, only the `--all` scopes can help
    ("agents--my:rw: Write permission for my profile configuration", "agents--all:rw: Write
    permission for all agents profiles configuration", https://platform.text.com/docs/authorization/scopes),
    so the refusal names those alone."""
    mine = tuple(s for s in exc.missing_scopes if "--my:" in s)
    try:
        if not mine or target.casefold() == (await tc.my_agent_id()).casefold():  # e-mails
            return exc
    except LiveChatError:
        return exc  # who "me" is cannot be told: the refusal stays as LiveChat gave it
    narrowed = PermissionDenied(
        exc.message,
        missing_scopes=tuple(s for s in exc.missing_scopes if s not in mine),
        status=exc.status,
        type=exc.type,
        data=exc.data,
        action=exc.action,
        described=exc.described,
    )
    narrowed.repeated = exc.repeated
    return narrowed


async def _full_agent(tc: ToolContext, agent_id: str) -> shapes.Agent:
    try:
        agent = await tc.livechat.configuration.get_agent(agent_id, fields=AGENT_FIELDS)
    except PermissionDenied as exc:
        raise await _for_another(tc, agent_id, exc) from exc
    return project.agent(agent, await _routing_status(tc, agent_id))


@tool(
    toolset="agents",
    title="My agent profile",
    read_only=True,
    destructive=False,
    idempotent=True,
    open_world=True,
)
async def get_my_profile(tc: ToolContext) -> shapes.MyProfile:
    """Who you are in LiveChat: account, e-mail (your agent id), role, statuses and settings."""
    me = await tc.livechat.accounts.get_me()
    agent_id = me.email or await tc.my_agent_id()
    note = None
    try:
        agent: shapes.Agent | None = await _full_agent(tc, agent_id)
    except ApiError as exc:
        agent, note = None, f"Agent settings unavailable: {exc}"
    return shapes.MyProfile(
        agent_id=agent_id,
        account_id=me.account_id,
        email=me.email,
        name=me.name,
        organization_id=me.default_organization_id,
        agent=agent,
        note=note,
    )


@tool(
    toolset="agents",
    title="List agents",
    read_only=True,
    destructive=False,
    idempotent=True,
    open_world=True,
)
async def list_agents(
    tc: ToolContext,
    group_id: Annotated[int | None, Field(ge=0, description="Only members of this group")] = None,
    include_suspended: bool = False,
) -> shapes.AgentList:
    """The account's agents with role, login_status (the status they get after logging in; who
    takes chats now: list_routing_statuses), job title and chat limit."""
    agents = await tc.livechat.configuration.list_agents(
        group_ids=[group_id] if group_id is not None else None,
        suspended=None if include_suspended else False,
        fields=("job_title", "max_chats_count", "suspended"),
    )
    out = [project.agent(a) for a in agents[:MAX_AGENTS]]
    note = None
    if len(agents) > MAX_AGENTS:
        note = f"Showing {MAX_AGENTS} of {len(agents)} agents; filter by group_id to see the others."
    return shapes.AgentList(agents=out, count=len(agents), note=note)


@tool(
    toolset="agents",
    title="Get an agent",
    read_only=True,
    destructive=False,
    idempotent=True,
    open_world=True,
)
async def get_agent(tc: ToolContext, agent_id: AgentId) -> shapes.Agent:
    """One agent's full settings: role, statuses, job title, chat limit, groups, notifications,
    schedule."""
    return await _full_agent(tc, agent_id)


@tool(
    toolset="agents",
    title="Update an agent profile",
    read_only=False,
    destructive=True,
    idempotent=True,
    open_world=True,
)
async def update_agent_profile(
    tc: ToolContext,
    agent_id: OtherAgent = None,
    name: Annotated[str | None, Field(min_length=1, max_length=191, description="Only for yourself")] = None,
    job_title: Annotated[str | None, Field(max_length=JOB_TITLE_MAX)] = None,
    max_chats_count: Annotated[int | None, Field(ge=0, le=MAX_CHATS, description="Concurrent chats")] = None,
    login_status: Annotated[
        Literal["accepting chats", "not accepting chats"] | None,
        BeforeValidator(_spaces),
        Field(description="Status after each login (a setting); to take chats now: set_routing_status"),
    ] = None,
    groups: Annotated[list[GroupMembership] | None, Field(description="Replaces group memberships")] = None,
    notifications: Annotated[list[str] | None, Field(description="Replaces; e.g. incoming_chat")] = None,
    email_subscriptions: list[Literal["daily_summary", "weekly_summary"]] | None = None,
    work_scheduler: WorkSchedule | None = None,
) -> shapes.ProfileUpdated:
    """Change an agent's settings (you by default; lists replace). name: your own only. Returns the
    agent after."""
    me = await tc.my_agent_id()
    target = agent_id or me
    unknown = sorted(set(notifications or ()) - NOTIFICATIONS)
    if unknown:
        raise UserInputError(
            f"unknown notifications {unknown}; choose from {', '.join(sorted(NOTIFICATIONS))}",
            argument="notifications",
        )
    if name is not None and target != me:
        raise UserInputError(
            "name can only be changed for yourself: LiveChat v3.6 keeps names in each person's account",
            argument="name",
        )
    settings = {
        "job_title": job_title,
        "max_chats_count": max_chats_count,
        "login_status": login_status,
        "groups": [g.model_dump() for g in groups] if groups is not None else None,
        "notifications": notifications,
        "email_subscriptions": email_subscriptions,
        "work_scheduler": work_scheduler.model_dump() if work_scheduler is not None else None,
    }
    changed = [k for k, v in settings.items() if v is not None]
    if not changed and name is None:
        raise UserInputError("nothing to change: give at least one setting")
    if changed:
        config = tc.livechat.configuration
        try:
            await config.update_agent(target, **settings)  # type: ignore[arg-type]
        except PermissionDenied as exc:
            raise await _for_another(tc, target, exc) from exc
        except LiveChatError as exc:

            async def updated() -> bool:  # an answer that cannot be read: the agent settles it
                return _holds(await config.get_agent(target, fields=AGENT_FIELDS), settings)

            await delivery.confirm_by_reading(exc, updated)
    not_applied: dict[str, str] = {}
    unconfirmed = ""
    if name is not None:
        try:
            await tc.livechat.accounts.update_me(name=name)
            changed.append("name")
        except LiveChatError as exc:
            if not changed:
                raise  # nothing else was asked: the rename's own error
            if refusal(exc):
                not_applied["name"] = str(exc)
            else:  # LiveChat's trouble, not a refusal: the rename may have happened
                unconfirmed = str(exc)
    note = "Configuration changes can take up to 2 minutes to reach every LiveChat app."
    if not_applied:
        note = (
            f"Applied: {', '.join(changed)}. NOT applied: the name change ({not_applied['name']}) "
            "Changing one's name needs the scope accounts--all:rw. " + note
        )
    elif unconfirmed:
        note = (
            f"Applied: {', '.join(changed)}. The name change is not confirmed ({unconfirmed}) The agent"
            " below shows the name LiveChat has now. " + note
        )
    return shapes.ProfileUpdated(
        agent=await _full_agent(tc, target), changed=changed, not_applied=not_applied or None, note=note
    )


def _holds(agent: lc.Agent, settings: dict[str, Any]) -> bool:
    """Whether the agent read back (https://platform.text.com/docs/management/configuration-api#get-agent)
    has every setting asked for (#update-agent). Lists compare as sets: the docs promise no order
    for them. A field the answer lacks is None, never an empty list, and a setting shown in another
    form (a normalised time, the day-keyed schedule of older versions) is not recognised: either
    leaves the write unconfirmed, never wrongly confirmed."""

    def members(items: list[Any] | None, key: Callable[[Any], Any]) -> set[Any] | None:
        return None if items is None else {key(i) for i in items}

    schedule = agent.work_scheduler
    days = members(schedule.schedule, _day) if schedule and schedule.schedule else None
    now: dict[str, Any] = {
        "job_title": agent.job_title,
        "max_chats_count": agent.max_chats_count,
        "login_status": agent.login_status,
        "groups": members(agent.groups, lambda g: (g.id, g.priority or "normal")),
        "notifications": members(agent.notifications, str),
        "email_subscriptions": members(agent.email_subscriptions, str),
        "work_scheduler": (schedule.timezone, days) if schedule and days is not None else None,
    }
    asked = dict(settings)
    if asked.get("groups") is not None:
        asked["groups"] = {(g["id"], g["priority"]) for g in asked["groups"]}
    for key in ("notifications", "email_subscriptions"):
        if asked.get(key) is not None:
            asked[key] = set(asked[key])
    if (work := asked.get("work_scheduler")) is not None:
        asked["work_scheduler"] = (work["timezone"], {_day(lc.ScheduleRange(**r)) for r in work["schedule"]})
    return all(now[k] == v for k, v in asked.items() if v is not None)


def _day(r: lc.ScheduleRange) -> tuple[str, bool, str | None, str | None]:
    return (r.day, r.enabled, r.start, r.end)


@tool(
    toolset="agents",
    title="Set routing status",
    read_only=False,
    destructive=True,
    idempotent=True,
    open_world=True,
)
async def set_routing_status(
    tc: ToolContext,
    status: Literal["accepting_chats", "not_accepting_chats"],
    agent_id: OtherAgent = None,
) -> lc.RoutingStatus:
    """Set whether an agent (you by default) accepts chats right now (the live routing status)."""
    target = agent_id or await tc.my_agent_id()
    try:
        await tc.livechat.agent.set_routing_status(status, target)
    except PermissionDenied as exc:
        raise await _for_another(tc, target, exc) from exc
    except LiveChatError as exc:

        async def now_set() -> bool:  # an answer that cannot be read: the routing status settles it
            return await _routing_status(tc, target) == status

        await delivery.confirm_by_reading(exc, now_set)
    return lc.RoutingStatus(agent_id=target, status=status)


@tool(
    toolset="agents",
    title="List routing statuses",
    read_only=True,
    destructive=False,
    idempotent=True,
    open_world=True,
)
async def list_routing_statuses(
    tc: ToolContext, group_id: Annotated[int | None, Field(ge=0, description="Only this group")] = None
) -> shapes.RoutingStatusList:
    """Who accepts chats right now: each agent's routing status, optionally for one group."""
    statuses = await tc.livechat.agent.list_routing_statuses([group_id] if group_id is not None else None)
    return shapes.RoutingStatusList(statuses=statuses[:MAX_STATUSES], count=len(statuses))


TOOLS: tuple[ToolSpec, ...] = (
    get_my_profile,
    list_agents,
    get_agent,
    update_agent_profile,
    set_routing_status,
    list_routing_statuses,
)
