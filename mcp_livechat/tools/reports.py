"""Toolset `reports` (not in the default selection): the numbers a support lead asks for, from
LiveChat's Reports API v3.6 (https://platform.text.com/docs/data-reporting/reports-api).

`chat_report` is one chats report as a table of periods, `agent_report` joins
`agents/performance` and `chats/ranking` per agent, `tag_report` is `tags/chat_usage` most used
first. Dates are read in the report's time zone (default UTC, always sent, so the periods are
known); a day as `date_to` means its end. Every method needs the scope `reports_read`. The
`weekly_report` prompt reads through the same functions (`weekly`).
"""

from __future__ import annotations

import asyncio
import zoneinfo
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import Field

from mcp_livechat import models as m
from mcp_livechat.errors import UserInputError
from mcp_livechat.livechat.report_types import DistributionReport, RankingReport
from mcp_livechat.livechat.reports import ChatsMetric, Distribution, ReportQuery, values
from mcp_livechat.tools import report_rows as rows
from mcp_livechat.tools.args import DayOrTime, TimeZone, at, zone
from mcp_livechat.tools.context import ToolContext
from mcp_livechat.tools.spec import ToolSpec, tool

# LiveChat documents no limit on a report's time range [UNVERIFIED]: these bounds keep a table
# within MAX_BUCKETS rows or close to it (an hourly month is capped with a note), and the
# error names date_to.
MAX_DAYS: dict[str, int] = {"hour": 31, "day": 366, "day-hours": 366, "month": 5 * 366, "year": 10 * 366}
MAX_DAYS_PLAIN = 366  # agent_report and tag_report, which have no distribution

Progress = Callable[[float, float | None, str | None], Awaitable[None]]


def _rfc3339(moment: datetime | None) -> str | None:
    """`moment` as RFC 3339, the form of `filters.from` and `filters.to`
    (https://platform.text.com/docs/data-reporting/reports-api#available-parameters-and-filters),
    in the report's own zone, or in UTC when that zone's offset then had seconds (Africa/Monrovia
    until 1972: -00:44:30), which RFC 3339's `+HH:MM` cannot spell. The instant is the same."""
    if moment is None:
        return None
    offset = moment.utcoffset()
    if offset is not None and offset.total_seconds() % 60:
        moment = moment.astimezone(UTC)
    return moment.isoformat()


@dataclass(frozen=True, slots=True)
class Window:
    """A report's range and time zone; no range means LiveChat's default, the last seven days."""

    start: datetime | None
    end: datetime | None
    zone: zoneinfo.ZoneInfo

    @property
    def sent_from(self) -> str | None:
        return _rfc3339(self.start)

    @property
    def sent_to(self) -> str | None:
        return _rfc3339(self.end)

    def query(self, distribution: Distribution | None = None, **filters: Any) -> ReportQuery:
        return ReportQuery(
            date_from=self.sent_from,
            date_to=self.sent_to,
            distribution=distribution,
            timezone=self.zone.key,
            **filters,
        )

    def periods(self, distribution: str) -> list[str] | None:
        if self.start is None or self.end is None:
            return None
        return rows.expected_periods(distribution, self.start, self.end)


def window(
    date_from: date | datetime,
    date_to: date | datetime,
    timezone: str,
    limit_days: int,
    *,
    coarser: bool = False,
) -> Window:
    """The range as LiveChat will read it, or `UserInputError` naming the argument to fix;
    `coarser`: a coarser distribution would take a longer range."""
    tz = zone(timezone)
    start, end = at(date_from, tz, end_of_day=False), at(date_to, tz, end_of_day=True)
    # the order in UTC: two times of one zone compare by wall clock, which the hour that clocks
    # go back makes wrong (01:45 EDT is before 01:15 EST); the length in calendar days, by wall
    # clock, so that 31 days with the night clocks go back (31 days and an hour) stay 31
    if end.astimezone(UTC) < start.astimezone(UTC):
        raise UserInputError(
            f"date_to ({end.isoformat()}) is before date_from ({start.isoformat()}); "
            "give a date_to on or after date_from",
            argument="date_to",
        )
    if end.replace(tzinfo=None) - start.replace(tzinfo=None) > timedelta(days=limit_days):
        raise UserInputError(
            f"date_to: the range from {start.date()} to {end.date()} spans more than {limit_days} days, "
            f"the most this report covers here; move date_to closer"
            + (" or use a coarser distribution" if coarser else ""),
            argument="date_to",
        )
    return Window(start, end, tz)


async def _quiet(done: float, total: float | None, message: str | None) -> None:
    return None


async def chat_metric(
    tc: ToolContext,
    metric: ChatsMetric,
    win: Window,
    distribution: Distribution = "day",
    *,
    group_ids: Sequence[int] | None = None,
    agent_ids: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
) -> m.ChatReport:
    ranking = metric == "ranking"  # "the distribution parameter will have no effect" on it
    # An agent's first response time is that of the chats they answered first
    # (`filters.agent_response.first` + `.agents`: "a modifier that makes the other
    # agent_response filters operate exclusively on the agents' first response"; that it selects
    # the chats whose first reply is theirs is our reading [UNVERIFIED]); `filters.agents` would
    # average whoever answered first in any chat they were in
    # (https://platform.text.com/docs/data-reporting/reports-api#available-parameters-and-filters).
    first = metric == "first_response_time"
    query = win.query(
        None if ranking else distribution,
        agents=None if first else values(agent_ids),
        first_responders=values(agent_ids) if first else None,
        groups=values(group_ids),
        tags=values(tags),
    )
    report = await tc.livechat.reports.chats(metric, query)
    if isinstance(report, RankingReport):
        table, total = rows.ranking_table(report, agent_ids), None
    elif isinstance(report, DistributionReport):
        table = rows.periodic_table(metric, report.records, win.periods(distribution))
        total = report.total
        table.notes += _period_notes(win, distribution, table)
    else:  # pragma: no cover - CHATS_REPORTS holds only these two kinds
        raise TypeError(type(report).__name__)
    if (not table.rows or (total == 0 and not ranking)) and (agent_ids or group_ids or tags):
        table.notes.append(_NOTHING_MATCHED.format(what="chats"))
    elif ranking:
        table.notes += _missing_note(agent_ids, table.rows)
    if metric == "queued_visitors" and (agent_ids or group_ids or tags):
        table.notes.append(_CUSTOMERS_REPORT)
    table.notes += _after_now(tc, win, None if ranking else distribution)
    if metric == "ratings" and any(_more_ratings_than_chats(table.columns, row) for row in table.rows):
        table.notes.append(_RATINGS_OVER_CHATS)
    if agent_ids and metric == "first_response_time":
        table.notes.append("Chats whose first reply came from these agents.")
    elif agent_ids and metric == "response_time":
        table.notes.append(_EVERY_RESPONDER)
    return m.ChatReport(
        metric=metric,
        from_=win.sent_from,
        to=win.sent_to,
        timezone=win.zone.key,
        distribution=None if ranking else distribution,
        total=total,
        summary=table.summary or None,
        meaning=rows.MEANINGS[metric],
        columns=table.columns,
        buckets=table.rows,
        note=" ".join(table.notes) or _default_range_note(win),
    )


def _after_now(tc: ToolContext, win: Window, distribution: str | None = None) -> list[str]:
    """A note when the range ends after now, on LiveChat's clock (the `Date` of its last answer)
    where it says, else this machine's: what comes after now holds no chats yet."""
    now = tc.livechat.transport.server_time or datetime.now(UTC)
    if win.end is None or win.end <= now:
        return []
    here = f"date_to is after now ({now.astimezone(win.zone):%Y-%m-%d %H:%M} {win.zone.key})"
    if distribution == "day-hours":
        return [f"{here}: the range's days after today have no chats yet, so these hours of the day "
                "cover fewer days than asked."]  # fmt: skip
    if distribution is None:  # one row per agent or tag for the whole range
        return [f"{here}: the numbers cover the range up to now."]
    return [f"{here}: later periods have no chats yet, and the current one is partial."]


def _default_range_note(win: Window) -> str | None:
    return "LiveChat's default range: the last seven days." if win.start is None else None


def _rounded_up(end: datetime) -> datetime:
    """The moment after an inclusive end (23:59:59 or 23:59:59.999999 both give midnight),
    worked out in UTC: where clocks skip midnight (America/Nuuk, 23:00 to 00:00) a day ends at
    22:59:59.999999 and the next moment is the next day's 00:00, not 23:00."""
    after = (end.astimezone(UTC) + timedelta(seconds=1)).replace(microsecond=0)
    return after.astimezone(end.tzinfo)


def _on_boundary(moment: datetime, distribution: str) -> bool:
    """Whether an `hour`, `day`, `month` or `year` period starts at `moment` (wall clock in its
    zone)."""
    if distribution == "hour":
        return moment.minute == moment.second == moment.microsecond == 0
    return (
        moment.time() == time.min
        and (distribution == "day" or moment.day == 1)
        and (distribution != "year" or moment.month == 1)
    )


# LiveChat lists queued_visitors among its Customers reports, whose parameters are only
# `filters.from`/`to`, while its section points to the chats reports' filters
# (https://platform.text.com/docs/data-reporting/reports-api#available-methods,
# #for-the-customer-reports, #queued-visitors): whether the other filters narrow it is
# [UNVERIFIED], so the result says so rather than pass the numbers off as filtered.
_CUSTOMERS_REPORT = (
    "LiveChat documents only a time range for this report (it lists it with the customer reports): "
    "the agent, group and tag filters were sent but may not narrow it."
)
# "records.day.chats: The total number of chats that day", and good / bad "the number of chats
# rated" so (https://platform.text.com/docs/data-reporting/reports-api#ratings); LiveChat's own
# example has a day of 10 chats with 5 good and 6 bad, so what `chats` counts is [UNVERIFIED]:
# where the data contradicts the documented reading, the result says so rather than let a share
# of rated chats be computed from it.
_RATINGS_OVER_CHATS = (
    "On some days good + bad exceed chats: LiveChat's chats here is not all the chats rated, so "
    "no share of rated chats follows from these rows."
)


def _more_ratings_than_chats(columns: Sequence[str], row: Sequence[m.Cell]) -> bool:
    cells = dict(zip(columns, row, strict=True))
    good, bad, chats = (cells.get(k) for k in ("good", "bad", "chats"))
    if not (isinstance(good, int) and isinstance(bad, int) and isinstance(chats, int)):
        return False
    return good + bad > chats


_EVERY_RESPONDER = (
    "These are the chats of these agents, with every agent's replies in them (LiveChat filters "
    "response times by chat); an agent's own first replies: metric=first_response_time or agent_report."
)
_NOTHING_MATCHED = (
    "No {what} in this range match the filters; if some should, check the ids (agents are emails, "
    "groups numbers) and tag names: an unknown one matches nothing."
)


def _missing_note(agent_ids: Sequence[str] | None, table_rows: Sequence[Sequence[m.AgentCell]]) -> list[str]:
    missing = rows.missing_agents(agent_ids, table_rows)
    if not missing:
        return []
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    return [
        f"No row for {', '.join(missing[:10])}{more}: no chats in this range matching the filters, or "
        "not an agent id (an email, spelt as LiveChat lists it)."
    ]


def _period_notes(win: Window, distribution: str, table: rows.Table[m.Cell]) -> list[str]:
    """What the rows alone would not tell: periods cut short by the range, an hour that clocks
    going back made two, and the days LiveChat chose for its default range."""
    if win.start is None or win.end is None:
        if not table.rows:
            return []
        first, last = table.rows[0][0], table.rows[-1][0]
        return [f"LiveChat's default range, the last seven days: {first} to {last}; the last may be partial."]
    notes = []
    if distribution == "hour":
        doubled = rows.doubled_hours(win.start, win.end)
        if doubled:
            notes.append(f"{', '.join(doubled)}: the clocks went back, so each row covers more than an hour.")
        if not (_on_boundary(win.start, "hour") and _on_boundary(_rounded_up(win.end), "hour")):
            notes.append(
                f"date_from or date_to falls inside an hour in {win.zone.key}: the first or last row "
                "covers only part of it."
            )
    elif distribution != "day-hours" and not (
        _on_boundary(win.start, distribution) and _on_boundary(_rounded_up(win.end), distribution)
    ):
        notes.append(
            f"date_from or date_to falls inside a {distribution} in {win.zone.key}: the first or "
            "last row covers only part of it."
        )
    return notes


async def agents(
    tc: ToolContext,
    win: Window,
    *,
    agent_ids: Sequence[str] | None = None,
    group_ids: Sequence[int] | None = None,
    progress: Progress = _quiet,
) -> m.AgentReport:
    query = win.query(agents=values(agent_ids), groups=values(group_ids))
    await progress(0, 2, "agents/performance")
    performance = await tc.livechat.reports.performance(query)
    await progress(1, 2, "chats/ranking")
    ranking = await tc.livechat.reports.ranking(query)
    await progress(2, 2, "joined")
    table, team = rows.agent_table(
        performance, ranking, agent_ids=agent_ids, filtered=bool(agent_ids or group_ids)
    )
    if not table.rows and (agent_ids or group_ids):
        table.notes.append(_NOTHING_MATCHED.format(what="agents"))
    else:
        table.notes += _missing_note(agent_ids, table.rows)
    table.notes += _after_now(tc, win)
    return m.AgentReport(
        from_=win.sent_from,
        to=win.sent_to,
        timezone=win.zone.key,
        team=team,
        columns=table.columns,
        agents=table.rows,
        note=" ".join(table.notes) or _default_range_note(win),
    )


async def tag_usage(tc: ToolContext, win: Window, *, group_ids: Sequence[int] | None = None) -> m.TagReport:
    report = await tc.livechat.reports.chat_usage(win.query(groups=values(group_ids)))
    table = rows.tag_table(report)
    if not table.rows and group_ids:
        table.notes.append("No tagged chats in this range for these groups; if some should, check group_ids.")
    table.notes += _after_now(tc, win)
    return m.TagReport(
        from_=win.sent_from,
        to=win.sent_to,
        timezone=win.zone.key,
        columns=table.columns,
        tags=table.rows,
        note=" ".join(table.notes) or _default_range_note(win),
    )


WEEKLY_TOP_TAGS = 10


def whole_week_before(now: datetime, timezone: str = "UTC") -> Window:
    """The seven whole days before `now`'s day in `timezone`. Not LiveChat's own default range
    ("the last seven days"), which may end with today, a partial day [UNVERIFIED], and would
    skew a week's trend."""
    today = now.astimezone(zone(timezone)).date()
    return window(today - timedelta(days=7), today - timedelta(days=1), timezone, MAX_DAYS_PLAIN)


async def weekly(
    tc: ToolContext, timezone: str = "UTC"
) -> dict[str, m.ChatReport | m.AgentReport | m.TagReport]:
    """What the `weekly_report` prompt embeds: the seven whole days before today in `timezone`,
    read concurrently. Today is LiveChat's: this machine's clock first, and if LiveChat's answers
    (their `Date`, RFC 9110 §6.6.1) put today on another day, the week is read again for it."""
    mine = tc.livechat.transport.server_time or datetime.now(UTC)
    week = await _week(tc, whole_week_before(mine, timezone))
    theirs = tc.livechat.transport.server_time
    if theirs is not None and whole_week_before(theirs, timezone) != whole_week_before(mine, timezone):
        week = await _week(tc, whole_week_before(theirs, timezone))
    return week


async def _week(tc: ToolContext, win: Window) -> dict[str, m.ChatReport | m.AgentReport | m.TagReport]:
    volume, first_response, ratings, tags, team = await asyncio.gather(
        chat_metric(tc, "total_chats", win),
        chat_metric(tc, "first_response_time", win),
        chat_metric(tc, "ratings", win),
        tag_usage(tc, win),
        agents(tc, win),
    )
    if len(tags.tags) > WEEKLY_TOP_TAGS:
        tags.note = f"The {WEEKLY_TOP_TAGS} most used of {len(tags.tags)} tags."
        tags.tags = tags.tags[:WEEKLY_TOP_TAGS]
    return {
        "volume": volume,
        "first_response": first_response,
        "ratings": ratings,
        "top_tags": tags,
        "agents": team,
    }


From = Annotated[DayOrTime, Field(description="First day (2026-11-01) or RFC 3339 time, in timezone")]
To = Annotated[DayOrTime, Field(description="Last day, inclusive, or RFC 3339 time")]
GroupIds = Annotated[list[int] | None, Field(max_length=200, description="Only chats of these groups")]
# an agent id is an email, at most 254 characters (RFC 5321's path limit): a longer one is no
# agent, and notes that name ids echo at most this much of each
AgentId = Annotated[str, Field(max_length=254)]
AgentIds = Annotated[
    list[AgentId] | None, Field(max_length=200, description="Only these agents (ids are emails)")
]
Zone = Annotated[TimeZone, Field(description="IANA time zone of the dates and periods")]


@tool(
    toolset="reports",
    title="Chat report",
    read_only=True,
    destructive=False,
    idempotent=True,
    open_world=True,
)
async def chat_report(
    tc: ToolContext,
    metric: Annotated[ChatsMetric, Field(description="Which chats report")],
    date_from: From,
    date_to: To,
    distribution: Annotated[Distribution, Field(description="Period of each row")] = "day",
    group_ids: GroupIds = None,
    agent_ids: Annotated[
        list[AgentId] | None,
        Field(
            max_length=200,
            description="Only these agents' chats (first_response_time: answered "
            "first by them); ids are emails",
        ),
    ] = None,
    tags: Annotated[list[str] | None, Field(max_length=200, description="Only chats with these tags")] = None,
    timezone: Zone = "UTC",
) -> m.ChatReport:
    """LiveChat's chat numbers over a date range: volume (total_chats), speed (first_response_time,
    response_time), ratings, per-agent ranking, duration, engagement, tags, groups or
    queued_visitors. One row per period with zeros for empty ones, a summary of the whole
    range, and what the metric counts. Ranges up to 366 days (31 hourly; 5 years monthly, 10 yearly)."""
    limit = MAX_DAYS_PLAIN if metric == "ranking" else MAX_DAYS[distribution]
    coarser = metric != "ranking" and limit < MAX_DAYS["year"]
    win = window(date_from, date_to, timezone, limit, coarser=coarser)
    return await chat_metric(
        tc, metric, win, distribution, group_ids=group_ids, agent_ids=agent_ids, tags=tags
    )


@tool(
    toolset="reports",
    title="Agent report",
    read_only=True,
    destructive=False,
    idempotent=True,
    open_world=True,
)
async def agent_report(
    tc: ToolContext,
    date_from: From,
    date_to: To,
    agent_ids: AgentIds = None,
    group_ids: GroupIds = None,
    timezone: Zone = "UTC",
) -> m.AgentReport:
    """Who carried the load over a date range: per agent their chats, good and bad ratings,
    ranking score, average first response time, and time chatting, accepting and not accepting
    chats and logged in (seconds; null: nothing to average), busiest first, with LiveChat's team
    summary. Up to 366 days."""
    win = window(date_from, date_to, timezone, MAX_DAYS_PLAIN)
    return await agents(tc, win, agent_ids=agent_ids, group_ids=group_ids, progress=tc.report_progress)


@tool(
    toolset="reports", title="Tag report", read_only=True, destructive=False, idempotent=True, open_world=True
)
async def tag_report(
    tc: ToolContext,
    date_from: From,
    date_to: To,
    group_ids: GroupIds = None,
    timezone: Zone = "UTC",
) -> m.TagReport:
    """Tags by the number of chats marked with them over a date range, most used first. For a
    tag's trend over time use chat_report with metric=tags. Up to 366 days."""
    win = window(date_from, date_to, timezone, MAX_DAYS_PLAIN)
    return await tag_usage(tc, win, group_ids=group_ids)


TOOLS: tuple[ToolSpec, ...] = (chat_report, agent_report, tag_report)
