"""Reports API v3.6 (https://platform.text.com/docs/data-reporting/reports-api).

`POST /v3.6/reports/<resource>/<action>` with a JSON body of `distribution`, `timezone` and
`filters`; every method needs the scope `reports_read`. Reports are reads: the transport
retries them like any other read. Methods are named after LiveChat's actions.

What each kind of report accepts is documented per kind
(https://platform.text.com/docs/data-reporting/reports-api#available-parameters-and-filters):
the chats reports take every distribution and the agents, tags and groups filters; the agents
reports take `hour` or `day` and the agents and `groups.values` filters; `tags/chat_usage`
takes `timezone`, the time range and `groups.values`. A request that leaves this is refused
here, by argument, before it is sent. "If filters are provided, they must contain exactly one
pair of time-based filters": this client sends `filters.from`/`filters.to` (RFC 3339), both or
neither; without filters LiveChat reports on the last seven days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from mcp_livechat.errors import UserInputError
from mcp_livechat.livechat._transport import Transport
from mcp_livechat.livechat.decode import as_model
from mcp_livechat.livechat.report_types import (
    AvailabilityReport,
    ChatUsageReport,
    DurationReport,
    EngagementReport,
    FirstResponseTimeReport,
    GroupsReport,
    PerformanceReport,
    QueuedVisitorsReport,
    RankingReport,
    RatingsReport,
    ResponseTimeReport,
    TagsReport,
    TotalChatsReport,
)

R = TypeVar("R", bound=BaseModel)
Distribution = Literal["hour", "day", "day-hours", "month", "year"]
ChatsMetric = Literal[
    "total_chats",
    "duration",
    "response_time",
    "first_response_time",
    "ratings",
    "ranking",
    "engagement",
    "tags",
    "groups",
    "queued_visitors",
]
CHATS_REPORTS: dict[str, type[BaseModel]] = {
    "total_chats": TotalChatsReport,
    "duration": DurationReport,
    "response_time": ResponseTimeReport,
    "first_response_time": FirstResponseTimeReport,
    "ratings": RatingsReport,
    "ranking": RankingReport,
    "engagement": EngagementReport,
    "tags": TagsReport,
    "groups": GroupsReport,
    "queued_visitors": QueuedVisitorsReport,
}


@dataclass(frozen=True, slots=True)
class Match:
    """A `<string_filter_type>` or `<integer_filter_type>`: exactly one of `values`,
    `exclude_values` or `exists`, optionally `require_every_value`."""

    values: Sequence[str | int] | None = None
    exclude_values: Sequence[str | int] | None = None
    exists: bool | None = None
    require_every_value: bool | None = None

    def wire(self, argument: str, *, values_only: bool = False) -> dict[str, Any]:
        given = [k for k in ("values", "exclude_values", "exists") if getattr(self, k) is not None]
        if len(given) != 1:
            raise UserInputError(
                f"{argument}: give exactly one of values, exclude_values or exists (got "
                f"{', '.join(given) or 'none'})",
                argument=argument,
            )
        if values_only and (given != ["values"] or self.require_every_value is not None):
            raise UserInputError(f"{argument}: this report takes only a list of values", argument=argument)
        out: dict[str, Any] = {}
        for key in ("values", "exclude_values"):
            seq = getattr(self, key)
            if seq is not None:
                if not seq:
                    # The docs don't say what an empty list matches (the sandbox: no chat for
                    # `values`, every chat for `exclude_values`), so none is sent.
                    raise UserInputError(
                        f"{argument}: give at least one value in {key}, or leave the filter out",
                        argument=argument,
                    )
                out[key] = list(seq)
        if self.exists is not None:
            out["exists"] = self.exists
        if self.require_every_value is not None:
            out["require_every_value"] = self.require_every_value
        return out


def values(items: Sequence[str | int] | None) -> Match | None:
    """`{"values": [...]}` for a non-empty list, else no filter."""
    return Match(values=list(items)) if items else None


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """What a report is about. `date_from` / `date_to` are RFC 3339 strings
    (`YYYY-MM-DDTHH:MM:SS.ssssss+HH:MM`), both or neither."""

    date_from: str | None = None
    date_to: str | None = None
    distribution: Distribution | None = None
    timezone: str | None = None
    agents: Match | None = None
    groups: Match | None = None
    tags: Match | None = None
    # `filters.agent_response` with `first: true`: chats whose first reply came from these agents
    # ("agents ... works only if the agent_response.first filter is set to true")
    first_responders: Match | None = None


Kind = Literal["chats", "agents", "tags"]
_DISTRIBUTIONS: dict[Kind, tuple[str, ...]] = {
    "chats": ("hour", "day", "day-hours", "month", "year"),
    "agents": ("hour", "day"),
    "tags": (),
}


def report_body(kind: Kind, query: ReportQuery) -> dict[str, Any]:
    """The documented request body of a `kind` report, or `UserInputError` naming the field."""
    body: dict[str, Any] = {}
    if query.distribution is not None:
        allowed = _DISTRIBUTIONS[kind]
        if query.distribution not in allowed:
            choices = ", ".join(allowed) if allowed else "none (this report has no distribution)"
            raise UserInputError(
                f"distribution {query.distribution!r} is not accepted here; choose {choices}",
                argument="distribution",
            )
        body["distribution"] = query.distribution
    if query.timezone is not None:
        body["timezone"] = query.timezone
    filters = _filters(kind, query)
    if filters:
        body["filters"] = filters
    return body


def _filters(kind: Kind, query: ReportQuery) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    if query.agents is not None:
        if kind == "tags":
            raise UserInputError("agents: tags/chat_usage has no agents filter", argument="agents")
        if kind == "agents" and query.agents.exists is not None:
            # "`exists` - available only for the Chats parameter value"
            raise UserInputError("agents: exists is accepted by the chats reports only", argument="agents")
        filters["agents"] = query.agents.wire("agents")
    if query.tags is not None:
        if kind != "chats":
            raise UserInputError("tags: only the chats reports filter by tag", argument="tags")
        filters["tags"] = query.tags.wire("tags")
    if query.groups is not None:
        filters["groups"] = query.groups.wire("groups", values_only=kind != "chats")
    if query.first_responders is not None:
        if kind != "chats":
            raise UserInputError(
                "agents: only the chats reports filter by first responder", argument="agents"
            )
        filters["agent_response"] = {"first": True, "agents": query.first_responders.wire("agents")}
    if (query.date_from is None) != (query.date_to is None):
        missing = "date_to" if query.date_to is None else "date_from"
        raise UserInputError(
            f"{missing}: LiveChat takes the time range as a pair; give both date_from and date_to",
            argument=missing,
        )
    if query.date_from is not None:
        filters = {"from": query.date_from, "to": query.date_to, **filters}
    elif filters:
        raise UserInputError(
            "date_from: filters need a time range (LiveChat requires exactly one from/to pair with them)",
            argument="date_from",
        )
    return filters


class Reports:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def _report(self, kind: Kind, action: str, query: ReportQuery, model: type[R]) -> R:
        body = report_body(kind, query)
        result: R = await self._t.call(
            "reports", f"{kind}/{action}", body, idempotent=True, decode=as_model(model)
        )
        return result

    async def chats(self, metric: ChatsMetric, query: ReportQuery) -> BaseModel:
        """Any chats report by name (the model of `CHATS_REPORTS[metric]`)."""
        return await self._report("chats", metric, query, CHATS_REPORTS[metric])

    # chats ------------------------------------------------------------------------------
    async def total_chats(self, query: ReportQuery) -> TotalChatsReport:
        return await self._report("chats", "total_chats", query, TotalChatsReport)

    async def duration(self, query: ReportQuery) -> DurationReport:
        return await self._report("chats", "duration", query, DurationReport)

    async def response_time(self, query: ReportQuery) -> ResponseTimeReport:
        return await self._report("chats", "response_time", query, ResponseTimeReport)

    async def first_response_time(self, query: ReportQuery) -> FirstResponseTimeReport:
        return await self._report("chats", "first_response_time", query, FirstResponseTimeReport)

    async def ratings(self, query: ReportQuery) -> RatingsReport:
        return await self._report("chats", "ratings", query, RatingsReport)

    async def ranking(self, query: ReportQuery) -> RankingReport:
        return await self._report("chats", "ranking", query, RankingReport)

    async def engagement(self, query: ReportQuery) -> EngagementReport:
        return await self._report("chats", "engagement", query, EngagementReport)

    async def tags(self, query: ReportQuery) -> TagsReport:
        return await self._report("chats", "tags", query, TagsReport)

    async def groups(self, query: ReportQuery) -> GroupsReport:
        return await self._report("chats", "groups", query, GroupsReport)

    async def queued_visitors(self, query: ReportQuery) -> QueuedVisitorsReport:
        return await self._report("chats", "queued_visitors", query, QueuedVisitorsReport)

    # agents -----------------------------------------------------------------------------
    async def performance(self, query: ReportQuery) -> PerformanceReport:
        return await self._report("agents", "performance", query, PerformanceReport)

    async def availability(self, query: ReportQuery) -> AvailabilityReport:
        return await self._report("agents", "availability", query, AvailabilityReport)

    # tags -------------------------------------------------------------------------------
    async def chat_usage(self, query: ReportQuery) -> ChatUsageReport:
        return await self._report("tags", "chat_usage", query, ChatUsageReport)
