"""From LiveChat's report JSON to compact tables: columns named once, one row per period (or
agent, or tag), every number an int (durations in whole seconds) except the ranking score.

Periods come in period order, and periods LiveChat sent as `{}` or left out are rows of zeros (null
where an average has nothing to average).
LiveChat documents its period keys for the `day` distribution only (`2021-04-08`, in every
example of https://platform.text.com/docs/data-reporting/reports-api); for `hour`, `day-hours`,
`month` and `year` the keys below are guesses after the v2.0 examples (`00:00`, `2012-01`)
[UNVERIFIED], so missing periods are filled only when every key LiveChat sent is one of them;
otherwise the rows are LiveChat's own keys, in LiveChat's order. Summaries fold all periods, also those a cap
leaves out: counts are summed, averages weighted by their chat counts, maxima maximised.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, Literal, TypeVar

from mcp_livechat import models as m
from mcp_livechat.livechat import report_types as rt

MAX_BUCKETS = 400
MAX_AGENTS = 200
MAX_TAGS = 200
MAX_SPLIT = 12  # tags or groups shown as their own columns in chat_report; the rest add up to "other"

# One line per metric, after each method's description in
# https://platform.text.com/docs/data-reporting/reports-api (#total-chats, #duration,
# #response-time, #first-response-time, #ratings, #ranking, #engagement, #tags,
# #group-chats-count, #queued-visitors).
MEANINGS: dict[str, str] = {
    "total_chats": "Chats that occurred in each period; continuous: how many were continuous chats.",
    "duration": "Average chat duration (duration_s) and agents' chatting duration per chat, in seconds; "
    "chats: those averaged, total: all chats.",
    "response_time": "Agents' average response time to customer messages, in seconds; chats: those "
    "averaged, total: all chats.",
    "first_response_time": "Average time agents took to send the first reply to a customer, in seconds; "
    "chats: those averaged, total: all chats.",
    "ratings": "Chats in each period and how many of them customers rated good or bad.",
    "ranking": "Per agent: chats, good and bad ratings, and LiveChat's ranking score (0-1, higher is "
    "better; null: not rated); a chat with two agents counts for both.",
    "engagement": "How chats started: customer from a greeting (targeted message), customer, or agent.",
    "tags": "Chats tagged with each tag in each period (a chat can have several tags).",
    "groups": "Chats handled by each group in each period.",
    "queued_visitors": "Customers who queued, then chatted (queued) or left the queue (left); waits in s; "
    "total: all chats.",
}

Fold = Literal["sum", "avg", "max"]
Cell = m.Cell


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    read: Callable[[Any], float]
    fold: Fold = "sum"
    weight: str = "chats"  # for `avg` and `max`: the count column that weighs it (none: null)


C = TypeVar("C", Cell, m.AgentCell)


@dataclass
class Table(Generic[C]):
    columns: list[str]
    rows: list[list[C]]
    summary: dict[str, int | float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _static(*columns: Column) -> Callable[[Mapping[str, Any]], list[Column]]:
    return lambda records: list(columns)


def _split(label: Callable[[str], str], rest_label: str) -> Callable[[Mapping[str, Any]], list[Column]]:
    """Columns for map buckets (`{<tag>: chats}`): the most used keys, then the rest added up."""

    def columns(records: Mapping[str, Any]) -> list[Column]:
        totals: dict[str, int] = {}
        for bucket in records.values():
            for key, count in bucket.items():
                totals[key] = totals.get(key, 0) + count
        ranked = sorted(totals, key=lambda k: (-totals[k], k))
        shown, rest = ranked[:MAX_SPLIT], frozenset(ranked[MAX_SPLIT:])
        out = [Column(label(k), _reader(k)) for k in shown]
        if rest:
            out.append(Column(rest_label, lambda b: sum(v for k, v in b.items() if k in rest)))
        return _distinct(out)

    return columns


def _distinct(columns: list[Column]) -> list[Column]:
    """Column names told apart: a tag may be called `period` or `other tags`; a name already
    taken gets ` (2)`, so no column hides another in the rows or the summary."""
    taken, out = {"period"}, []
    for column in columns:
        name, n = column.name, 2
        while name in taken:
            name, n = f"{column.name} ({n})", n + 1
        taken.add(name)
        out.append(Column(name, column.read, column.fold, column.weight))
    return out


def _reader(key: str) -> Callable[[Mapping[str, int]], float]:
    return lambda bucket: bucket.get(key, 0)


def _engagement(records: Mapping[str, rt.EngagementBucket]) -> list[Column]:
    """`chats` only when LiveChat sends each period's `total`: its field table lists
    `records.day.total`, its example leaves it out, and the example's parts do not add up to its
    `total` (7,411 chats; the parts of its days add up to 9,531), so the parts are no stand-in for
    it (https://platform.text.com/docs/data-reporting/reports-api#engagement)."""
    parts = [
        Column("from_greeting", lambda b: b.started_by_customer_from_greeting),
        Column("by_customer", lambda b: b.started_by_customer_without_greeting),
        Column("by_agent", lambda b: b.started_by_agent),
    ]
    sent = [b for b in records.values() if b.model_fields_set]
    if sent and all("total" in b.model_fields_set for b in sent):
        return [Column("chats", lambda b: b.total), *parts]
    return parts


def _average(stats: rt.QueueStats) -> float:
    """A wait's average, kept within its min and max. LiveChat's example sends `avg` unrounded
    and min/max as whole numbers, so rounding could put the average above the max (one wait of
    844.6 s: avg 845, max 844) whether LiveChat rounds or truncates its min/max [UNVERIFIED]
    (https://platform.text.com/docs/data-reporting/reports-api#queued-visitors)."""
    return min(max(stats.avg, stats.min), stats.max) if stats.count else stats.avg


PERIODIC: dict[str, tuple[Callable[[Mapping[str, Any]], list[Column]], Callable[[], Any]]] = {
    "total_chats": (
        _static(Column("chats", lambda b: b.total), Column("continuous", lambda b: b.continuous)),
        rt.TotalChatsBucket,
    ),
    "duration": (
        _static(
            Column("chats", lambda b: b.count),
            Column("duration_s", lambda b: b.duration, "avg"),
            Column("agents_chatting_s", lambda b: b.agents_chatting_duration, "avg"),
        ),
        rt.DurationBucket,
    ),
    "response_time": (
        _static(
            Column("chats", lambda b: b.count), Column("response_time_s", lambda b: b.response_time, "avg")
        ),
        rt.ResponseTimeBucket,
    ),
    "first_response_time": (
        _static(
            Column("chats", lambda b: b.count),
            Column("first_response_s", lambda b: b.first_response_time, "avg"),
        ),
        rt.FirstResponseTimeBucket,
    ),
    "ratings": (
        _static(
            Column("chats", lambda b: b.chats),
            Column("good", lambda b: b.good),
            Column("bad", lambda b: b.bad),
        ),
        rt.RatingsBucket,
    ),
    "engagement": (_engagement, rt.EngagementBucket),
    "tags": (_split(lambda k: k, "other tags"), dict),
    "groups": (_split(lambda k: f"group {k}", "other groups"), dict),
    "queued_visitors": (
        _static(
            Column("queued", lambda b: b.queued.count),
            Column("queued_avg_s", lambda b: _average(b.queued), "avg", "queued"),
            Column("queued_max_s", lambda b: b.queued.max, "max", "queued"),
            Column("left", lambda b: b.left_queue.count),
            Column("left_avg_s", lambda b: _average(b.left_queue), "avg", "left"),
            Column("left_max_s", lambda b: b.left_queue.max, "max", "left"),
        ),
        rt.QueuedVisitorsBucket,
    ),
}


def expected_periods(distribution: str, start: datetime, end: datetime) -> list[str]:
    """The period keys of [start, end] (both in the report's time zone), in order."""
    if distribution == "day":
        days = (end.date() - start.date()).days
        return [(start.date() + timedelta(days=i)).isoformat() for i in range(days + 1)]
    if distribution == "month":
        first, last = start.year * 12 + start.month - 1, end.year * 12 + end.month - 1
        return [f"{n // 12:04d}-{n % 12 + 1:02d}" for n in range(first, last + 1)]
    if distribution == "year":
        return [f"{y:04d}" for y in range(start.year, end.year + 1)]
    if distribution == "day-hours":
        return [f"{h:02d}:00" for h in range(24)]
    return list(dict.fromkeys(_hour_labels(start, end)))


def _hour_labels(start: datetime, end: datetime) -> list[str]:
    """One label per absolute hour, in local time: the hour repeated when clocks go back appears
    twice (DST-safe)."""
    labels = []
    moment = start.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    while moment <= end:
        labels.append(moment.astimezone(start.tzinfo).strftime("%Y-%m-%d %H:00"))
        moment += timedelta(hours=1)
    return labels


def doubled_hours(start: datetime, end: datetime) -> list[str]:
    """The hourly periods of [start, end] that span more than an hour (clocks went back in them)."""
    return sorted(label for label, n in Counter(_hour_labels(start, end)).items() if n > 1)


def _days_of(records: Mapping[str, Any]) -> list[str] | None:
    """Every day from the first to the last period LiveChat sent, when its periods are days (the
    report of LiveChat's default range, whose days we do not know in advance)."""
    try:
        days = sorted(date.fromisoformat(key) for key in records)
    except ValueError:
        return None
    if not days or any(len(key) != 10 for key in records):
        return None
    return [(days[0] + timedelta(days=i)).isoformat() for i in range((days[-1] - days[0]).days + 1)]


def periodic_table(metric: str, records: Mapping[str, Any], periods: list[str] | None) -> Table[Cell]:
    """The rows of a distribution report, zeros where LiveChat had nothing, capped."""
    columns_of, blank = PERIODIC[metric]
    columns = columns_of(records)
    notes: list[str] = []
    periods = periods if periods is not None else _days_of(records)
    if periods is not None and set(records) <= set(periods):
        keys = periods
    else:
        keys = list(records)  # LiveChat's order: its labels need not sort as text ("10" < "9")
        if periods is not None:
            notes.append("Periods are LiveChat's own labels; periods without data may be missing.")
    empty = blank()
    values = [[c.read(records.get(k) or empty) for c in columns] for k in keys]
    table = Table(["period", *(c.name for c in columns)], [], _fold(columns, values), notes)
    index = {c.name: i for i, c in enumerate(columns)}
    for key, row in zip(keys[:MAX_BUCKETS], values, strict=False):
        # an average or a maximum over no chats is no number: null, not 0 s (which reads as instant)
        table.rows.append(
            [key, *(None if c.fold != "sum" and not row[index[c.weight]] else round(v)
                    for c, v in zip(columns, row, strict=True))]
        )  # fmt: skip
    if len(keys) > MAX_BUCKETS:
        last = keys[MAX_BUCKETS - 1]
        notes.append(
            f"Showing the first {MAX_BUCKETS} of {len(keys)} periods (through {last}); total and summary "
            "cover them all. For the rest, call again with a date_from after it, or a coarser distribution."
        )
    return table


def _fold(columns: list[Column], values: list[list[float]]) -> dict[str, int | float]:
    """The whole range; an average over no chats is left out (no number, and not 0 s)."""
    index = {c.name: i for i, c in enumerate(columns)}
    out: dict[str, int | float] = {}
    for i, column in enumerate(columns):
        series = [row[i] for row in values]
        if column.fold == "sum":
            out[column.name] = round(sum(series))
        elif column.fold == "max":
            weights = [row[index[column.weight]] for row in values]
            if any(weights):  # a maximum of no wait is no number either
                out[column.name] = round(max(v for v, w in zip(series, weights, strict=True) if w))
        else:
            weights = [row[index[column.weight]] for row in values]
            weighed = sum(weights)
            if weighed:
                out[column.name] = round(sum(v * w for v, w in zip(series, weights, strict=True)) / weighed)
    return out


RANKING_COLUMNS = ["agent", "chats", "good", "bad", "score"]


def ranking_table(report: rt.RankingReport, agent_ids: Collection[str] | None = None) -> Table[Cell]:
    """Agents busiest first; with `agent_ids`, only those (LiveChat's ranking filters chats, so
    it also ranks whoever else served them)."""
    asked = _asked(agent_ids)
    ordered = sorted(
        ((a, r) for a, r in report.records.items() if asked is None or a in asked),
        key=lambda kv: (-kv[1].total, kv[0]),
    )
    rows: list[list[Cell]] = [[agent, r.total, r.good, r.bad, _score(r)] for agent, r in ordered]
    # No summary: added up per agent, a chat with two agents would count twice (the ratings
    # metric has the chats' own numbers).
    shown, notes = _capped(rows, MAX_AGENTS, "agents", "agent_ids or group_ids")
    return Table(RANKING_COLUMNS, shown, notes=notes)


def _capped(rows: list[list[C]], cap: int, what: str, narrow: str) -> tuple[list[list[C]], list[str]]:
    if len(rows) <= cap:
        return rows, []
    return rows[:cap], [f"Showing the top {cap} of {len(rows)} {what}; narrow with {narrow} for the rest."]


AGENT_COLUMNS = [
    "agent", "chats", "good", "bad", "score", "first_response_s", "chatting_s", "accepting_s",
    "not_accepting_s", "logged_in_s",
]  # fmt: skip


def agent_table(
    performance: rt.PerformanceReport,
    ranking: rt.RankingReport,
    *,
    agent_ids: Collection[str] | None = None,
    filtered: bool = False,
) -> tuple[Table[m.AgentCell], m.TeamSummary]:
    """Agents joined by id (performance for chats and times, ranking for the score), busiest first.

    The agents are those of `agents/performance`, the agents report. `chats/ranking` filters
    chats, not agents, so it also lists whoever else served the chats of the agents or groups
    asked for; with a filter those are left out (an agent asked for by id is kept), without one
    they are kept (their counts, no times). Requested `agent_ids` bound the rows whatever
    LiveChat sends. The team is LiveChat's summary when the rows are exactly its agents,
    otherwise the rows added up, so it always agrees with the rows."""
    ids = set(performance.records)
    asked = _asked(agent_ids)
    if not filtered:
        ids |= set(ranking.records)
    elif asked is not None:  # the ranking's row of an agent asked for is theirs: kept
        ids |= set(ranking.records) & asked
    if asked is not None:
        ids &= asked
    rows = [_agent_row(agent, performance.records.get(agent), ranking.records.get(agent)) for agent in ids]
    rows.sort(key=lambda row: (-_count(row[1]), str(row[0])))
    notes: list[str] = []
    if ids == set(performance.records):
        s = performance.summary
        team = m.TeamSummary(
            agents=len(ids),
            chats=s.chats_count,
            rated_good=s.chats_rated_good,
            rated_bad=s.chats_rated_bad,
            first_response_chats=s.first_response_chats_count,
            first_response_s=round(s.first_response_time) if s.first_response_chats_count else None,
        )
    else:
        team = _team_of(rows, performance)
        if ids - set(performance.records):
            notes.append("Agents without times are only in LiveChat's ranking; the team adds up the rows.")
    shown, capped = _capped(rows, MAX_AGENTS, "agents", "agent_ids or group_ids")
    return Table(AGENT_COLUMNS, shown, notes=notes + capped), team


def _asked(agent_ids: Collection[str] | None) -> set[str] | None:
    """The ids as sent: LiveChat filtered by them, so a row spelt otherwise (another letter case)
    counts other chats than the ones asked for, whatever LiveChat's matching [UNVERIFIED]."""
    return set(agent_ids) if agent_ids else None  # an empty list: no filter


def missing_agents(agent_ids: Collection[str] | None, rows: Sequence[Sequence[m.AgentCell]]) -> list[str]:
    """The agents asked for that have no row."""
    have = {str(row[0]) for row in rows}
    return [a for a in agent_ids or () if a not in have]


def _team_of(rows: list[list[m.AgentCell]], performance: rt.PerformanceReport) -> m.TeamSummary:
    """The rows added up; the first response time weighed by each agent's first responses."""
    mine = [performance.records[str(row[0])] for row in rows if row[0] in performance.records]
    answered = sum(p.first_response_chats_count for p in mine)
    waited = sum(p.first_response_time * p.first_response_chats_count for p in mine)
    return m.TeamSummary(
        agents=len(rows),
        chats=sum(_count(row[1]) for row in rows),
        rated_good=sum(_count(row[2]) for row in rows),
        rated_bad=sum(_count(row[3]) for row in rows),
        first_response_chats=answered,
        first_response_s=round(waited / answered) if answered else None,
    )


def _count(cell: m.AgentCell) -> int:
    """An agent row's count column (chats, good, bad), which is always a number."""
    return int(cell) if isinstance(cell, int | float) else 0


def _score(r: rt.RankingRecord | None) -> float | None:
    """LiveChat's ranking score, from the agent's good and bad ratings
    (https://www.livechat.com/help/agent-rankings/, linked from
    https://platform.text.com/docs/data-reporting/reports-api#ranking); null for an agent nobody
    rated, whatever LiveChat sends for one [UNVERIFIED], since a 0 reads as the worst rated."""
    if r is None or r.score is None or not (r.good or r.bad):
        return None
    return round(r.score, 3)


def _agent_row(agent: str, p: rt.PerformanceRecord | None, r: rt.RankingRecord | None) -> list[m.AgentCell]:
    score = _score(r)
    if p is None:  # only in the ranking: its counts, no times
        counts = (r.total, r.good, r.bad) if r else (0, 0, 0)
        return [agent, *counts, score, None, None, None, None, None]
    # first_response_time is "the average time (in seconds) the agent took to send a first reply
    # to the customers' messages", in first_response_chats_count chats
    # (https://platform.text.com/docs/data-reporting/reports-api#performance): none, no average
    first = round(p.first_response_time) if p.first_response_chats_count else None
    times = (p.chatting_time, p.accepting_chats_time, p.not_accepting_chats_time, p.logged_in_time)
    counts = (p.chats_count, p.chats_rated_good, p.chats_rated_bad)
    return [agent, *counts, score, first, *(round(t) for t in times)]


def tag_table(report: rt.ChatUsageReport) -> Table[Cell]:
    """Tags by chats, most used first."""
    ordered = sorted(report.records.items(), key=lambda kv: (-kv[1], kv[0]))
    rows: list[list[Cell]] = [[tag, count] for tag, count in ordered]
    shown, notes = _capped(rows, MAX_TAGS, "tags", "group_ids")
    return Table(["tag", "chats"], shown, notes=notes)
