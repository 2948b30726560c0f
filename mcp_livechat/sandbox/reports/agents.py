"""Per-agent reports: ``chats/ranking``, ``agents/performance``, ``agents/availability``.

https://platform.text.com/docs/data-reporting/reports-api#ranking,
https://platform.text.com/docs/data-reporting/reports-api#performance,
https://platform.text.com/docs/data-reporting/reports-api#availability
"""

from __future__ import annotations

import math
from statistics import fmean

from ..apiauth import Ctx
from ..model import JSON, AgentRecord
from ..validate import optional_obj
from . import buckets
from .availability import Interval, agent_intervals, overlap, union
from .facts import Facts
from .filters import select
from .params import Query
from .predicates import value_filter

WILSON_Z = 2.69  # "Z=2.69 (confidence level)", https://www.livechat.com/help/agent-rankings/


def wilson_score(good: int, bad: int) -> float:
    """LiveChat's ranking score: the Wilson score of https://www.livechat.com/help/agent-rankings/
    (linked from the ranking docs): n = good + bad, p = good / n, zzfn = Z²/(4n),
    score = (p + 2·zzfn − Z·√((zzfn/n + p(1−p))/n)) / (1 + 4·zzfn). It reproduces the docs'
    example (0 good / 2 bad → 0.11473…, 13 / 6 → 0.42326…). No rating at all → 0 [UNVERIFIED]."""
    n = good + bad
    if n == 0:
        return 0.0
    p = good / n
    zzfn = WILSON_Z * WILSON_Z / (4 * n)
    score = (p + 2 * zzfn - WILSON_Z * math.sqrt((zzfn / n + p * (1 - p)) / n)) / (1 + 4 * zzfn)
    return max(0.0, score)  # all-bad with n = 1 is 0 up to rounding


def ranking(ctx: Ctx, query: Query) -> JSON:
    """``records.<agent>: {total, good, bad, score}`` for every agent with a chat in the range;
    ``total`` = "the total number of chats an agent had" (rated or not) [UNVERIFIED: both docs
    examples have total = good + bad]. No ``total`` at the top, as in the example; the
    distribution has no effect. Ordered by score, best first [UNVERIFIED]."""
    facts = select(ctx.state, ctx.org_id, query)
    per_agent: dict[str, list[Facts]] = {}
    for item in facts:
        for agent_id in item.agents:
            per_agent.setdefault(agent_id, []).append(item)
    records = {}
    for agent_id, items in per_agent.items():
        good = sum(f.rating == 1 for f in items)
        bad = sum(f.rating == 0 for f in items)
        records[agent_id] = {"total": len(items), "good": good, "bad": bad, "score": wilson_score(good, bad)}
    ordered = sorted(records.items(), key=lambda kv: (-kv[1]["score"], kv[0]))
    return {"name": "ranking-report", "records": dict(ordered)}


def counted_chats(ctx: Ctx, query: Query) -> list[Facts]:
    """The chats an agents report counts. "For the Agents reports" lists only ``distribution``,
    ``timezone``, ``filters.from/to``, ``filters.agents.<string_filter_type>`` and
    ``filters.groups.values``
    (https://platform.text.com/docs/data-reporting/reports-api#for-the-agents-reports). The
    sandbox still accepts the chats filters ``tags``, ``properties``, ``customer_countries``,
    ``event_types``, ``agent_response``, ``groups.exclude_values`` and ``groups.exists`` here and
    applies them, with ``groups.values``, to the chats counted [UNVERIFIED: the changelog's v3.4
    and v3.5 list them as new filters "in all reports",
    https://platform.text.com/docs/data-reporting/changelog].
    ``filters.agents`` picks the agents listed (``report_agents``), not chats."""
    return select(ctx.state, ctx.org_id, query, agent_filter=False)


def report_agents(ctx: Ctx, query: Query, facts: list[Facts]) -> list[AgentRecord]:
    """The agents an agents report lists: ``filters.agents`` (``values`` / ``exclude_values``)
    and, with ``filters.groups.values``, the members of those groups [UNVERIFIED: the docs do
    not say whether ``groups.values`` picks agents, chats or both; the sandbox does both, see
    ``counted_chats``, while ``groups.exclude_values`` / ``groups.exists`` filter chats only].
    Agents awaiting approval are left out, suspended ones unless they had chats [UNVERIFIED]."""
    # refused with ``validation`` unless an object, as in the chats reports: the docs give its
    # type only as ``filters.agents.<string_filter_type>`` [UNVERIFIED]
    # (https://platform.text.com/docs/data-reporting/reports-api#for-the-agents-reports)
    spec = optional_obj(query.filters, "agents", "filters.agents")
    # ``exists`` is "available only for the Chats parameter value" (footnote 2,
    # https://platform.text.com/docs/data-reporting/reports-api#available-parameters-and-filters);
    # the docs don't say it is an error elsewhere: refusing it with ``validation`` is ours
    # [UNVERIFIED].
    check = value_filter(spec, "filters.agents", lambda agent_id: [agent_id], exists=False)
    groups = query.filters.get("groups") if isinstance(query.filters.get("groups"), dict) else None
    wanted = groups.get("values") if groups else None
    busy = {a for f in facts for a in f.agents}
    out = []
    for agent in ctx.state.org_agents(ctx.org_id):
        if agent.awaiting_approval or (agent.suspended and agent.id not in busy):
            continue
        if check is not None and not check(agent.id):
            continue
        if isinstance(wanted, list) and not set(wanted) & set(agent.groups):
            continue
        out.append(agent)
    return out


def _seconds(intervals: list[Interval]) -> float:
    return sum((hi - lo).total_seconds() for lo, hi in intervals)


def performance(ctx: Ctx, query: Query) -> JSON:
    """``records.<agent>`` with the nine documented keys and ``summary`` with five: the sums of
    the records (as the docs' example adds up) and the first response time weighted by
    ``first_response_chats_count``. Times are whole seconds; an agent without a first response
    has ``first_response_time`` 0 [UNVERIFIED]."""
    facts = counted_chats(ctx, query)
    now = ctx.now()
    records: dict[str, JSON] = {}
    for agent in report_agents(ctx, query, facts):
        mine = [f for f in facts if agent.id in f.agents]
        firsts = [f.first_response[1] for f in facts if f.first_response and f.first_response[0] == agent.id]
        accepting, pausing = agent_intervals(ctx.state.seed, agent, query.start, query.end, now)
        on, off = int(_seconds(accepting)), int(_seconds(pausing))
        records[agent.id] = {
            "accepting_chats_time": on,
            "chats_count": len(mine),
            "chats_rated_bad": sum(f.rating == 0 for f in mine),
            "chats_rated_good": sum(f.rating == 1 for f in mine),
            "chatting_time": int(sum(f.chatting.get(agent.id, 0.0) for f in mine)),
            "first_response_chats_count": len(firsts),
            "first_response_time": fmean(firsts) if firsts else 0,
            "logged_in_time": on + off,
            "not_accepting_chats_time": off,
        }
    return {"name": "performance-report", "records": records, "summary": _summary(list(records.values()))}


def _summary(records: list[JSON]) -> JSON:
    firsts = sum(r["first_response_chats_count"] for r in records)
    weighted = sum(r["first_response_time"] * r["first_response_chats_count"] for r in records)
    return {
        "chats_count": sum(r["chats_count"] for r in records),
        "chats_rated_bad": sum(r["chats_rated_bad"] for r in records),
        "chats_rated_good": sum(r["chats_rated_good"] for r in records),
        "first_response_chats_count": firsts,
        "first_response_time": weighted / firsts if firsts else 0,
    }


def availability(ctx: Ctx, query: Query) -> JSON:
    """Buckets ``{"hours": h}`` (``day``) or ``{"minutes": m}`` (``hour``), 2 decimals, a zero
    bucket kept as in the example (``{"hours": 0}``); "available" = at least one listed agent
    accepting chats. ``total`` is the sum of the buckets, in the buckets' unit [UNVERIFIED for
    ``hour``]."""
    facts = counted_chats(ctx, query)
    now = ctx.now()
    accepting: list[Interval] = []
    for agent in report_agents(ctx, query, facts):
        accepting += agent_intervals(ctx.state.seed, agent, query.start, query.end, now)[0]
    merged = union(accepting)
    unit, field = (60, "minutes") if query.distribution == "hour" else (3600, "hours")
    seconds: dict[str, float] = {}
    for key, lo, hi in buckets.spans(query.distribution, query.tz, query.start, query.end):
        seconds[key] = seconds.get(key, 0.0) + sum(overlap((lo, hi), iv) for iv in merged)
    records = {key: {field: _amount(value / unit)} for key, value in seconds.items()}
    total = round(sum(r[field] for r in records.values()), 2)
    return {"name": "availability-report", "total": _amount(total), "records": records}


def _amount(value: float) -> float | int:
    rounded = round(value, 2)
    return int(rounded) if rounded == int(rounded) else rounded
