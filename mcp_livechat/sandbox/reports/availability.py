"""When each agent was logged in and accepting chats: a deterministic model [UNVERIFIED].

The sandbox keeps no login history, so it derives one from each agent's work scheduler
(https://platform.text.com/docs/management/configuration-api#update-agent): on an enabled day
the agent is logged in from ``start`` to ``end`` in the scheduler's time zone, accepting chats
except for a one-hour break (``not_accepting_chats``) in the middle of the shift. About one
shift in twelve is skipped (a day off), chosen by a hash of the seed, the agent and the date.
Nothing counts before the agent was created or after the sandbox clock's now; suspended agents
and agents awaiting approval are never logged in.
"""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime, timedelta, tzinfo

from ..model import JSON, AgentRecord
from .params import load_zone

Interval = tuple[datetime, datetime]
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
BREAK = timedelta(hours=1)


def _schedule(agent: AgentRecord) -> dict[str, tuple[str, str]]:
    """Day name → (start, end) of the enabled days; both scheduler shapes of the docs (a
    ``schedule`` list, or day-keyed objects) are read."""
    scheduler: JSON = agent.work_scheduler or {}
    out: dict[str, tuple[str, str]] = {}
    entries = scheduler.get("schedule")
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, dict) and entry.get("enabled", True) and entry.get("day") in _DAYS:
                out[str(entry["day"])] = (str(entry.get("start", "")), str(entry.get("end", "")))
    for day in _DAYS:
        entry = scheduler.get(day)
        if isinstance(entry, dict) and entry.get("enabled", True):
            out[day] = (str(entry.get("start", "")), str(entry.get("end", "")))
    return out


def _clock_time(value: str) -> tuple[int, int] | None:
    hours, _, minutes = value.partition(":")
    if not (hours.isdigit() and minutes[:2].isdigit()):
        return None
    h, m = int(hours), int(minutes[:2])
    return (h, m) if 0 <= h <= 24 and 0 <= m < 60 else None


def shifts(seed: int, agent: AgentRecord, start: datetime, end: datetime) -> list[tuple[Interval, Interval]]:
    """(logged-in interval, break interval) per shift overlapping [start, end), UTC, unclipped."""
    if agent.suspended or agent.awaiting_approval:
        return []
    tz = load_zone(str((agent.work_scheduler or {}).get("timezone") or "")) or UTC
    days = _schedule(agent)
    out: list[tuple[Interval, Interval]] = []
    day = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    while day <= last:
        shift = _shift(seed, agent, day, days, tz)
        if shift is not None:
            out.append(shift)
        day += timedelta(days=1)
    return out


def _shift(
    seed: int, agent: AgentRecord, day: date, days: dict[str, tuple[str, str]], tz: tzinfo
) -> tuple[Interval, Interval] | None:
    times = days.get(_DAYS[day.weekday()])
    if times is None or zlib.crc32(f"{seed}:{agent.id}:{day.isoformat()}".encode()) % 12 == 0:
        return None
    begin, finish = _clock_time(times[0]), _clock_time(times[1])
    if begin is None or finish is None:
        return None
    midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
    lo = (midnight + timedelta(hours=begin[0], minutes=begin[1])).astimezone(UTC)
    hi = (midnight + timedelta(hours=finish[0], minutes=finish[1])).astimezone(UTC)
    if hi <= lo:
        return None
    middle = lo + (hi - lo) / 2
    pause = (middle - BREAK / 2, middle + BREAK / 2) if hi - lo > 2 * BREAK else (middle, middle)
    return (lo, hi), pause


def overlap(a: Interval, b: Interval) -> float:
    return max(0.0, (min(a[1], b[1]) - max(a[0], b[0])).total_seconds())


def agent_intervals(
    seed: int, agent: AgentRecord, start: datetime, end: datetime, now: datetime
) -> tuple[list[Interval], list[Interval]]:
    """(accepting-chats intervals, not-accepting-chats intervals), clipped to the agent's
    lifetime and to now."""
    floor = max(start, agent.created_at)
    ceiling = min(end, now)
    accepting: list[Interval] = []
    pausing: list[Interval] = []
    for (lo, hi), (p_lo, p_hi) in shifts(seed, agent, floor, ceiling):
        for piece, into in (((lo, p_lo), accepting), ((p_hi, hi), accepting), ((p_lo, p_hi), pausing)):
            a, b = max(piece[0], floor), min(piece[1], ceiling)
            if b > a:
                into.append((a, b))
    return accepting, pausing


def union(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged
