"""Distribution buckets: their keys and their spans in time.

The docs show only ``day`` keys (``"2021-04-08"``,
https://platform.text.com/docs/data-reporting/reports-api#total-chats). The other formats are
those of the Reports API v2 examples
(https://platform.text.com/docs/data-reporting/reports-api/v2.0) [UNVERIFIED for v3.6]:
``hour`` → ``"2021-04-08 13:00"``, ``day-hours`` (the hours of the day summed over the range) →
``"13:00"``, ``month`` → ``"2021-04"``; ``year`` → ``"2021"`` [UNVERIFIED, no example at all].
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

from ..errors import validation

MAX_BUCKETS = 20_000  # a guard for the sandbox; LiveChat documents no limit [UNVERIFIED]
_FORMATS = {"hour": "%Y-%m-%d %H:00", "day": "%Y-%m-%d", "day-hours": "%H:00", "month": "%Y-%m", "year": "%Y"}

Span = tuple[str, datetime, datetime]  # key, start (inclusive), end (exclusive), both UTC


def key_of(distribution: str, tz: tzinfo, moment: datetime) -> str:
    return moment.astimezone(tz).strftime(_FORMATS[distribution])


def keys(distribution: str, tz: tzinfo, start: datetime, end: datetime) -> list[str]:
    """Every bucket key of the range, in order (``day-hours``: all 24 hours)."""
    if distribution == "day-hours":
        return [f"{h:02d}:00" for h in range(24)]
    return list(dict.fromkeys(key for key, _, _ in spans(distribution, tz, start, end)))


def spans(distribution: str, tz: tzinfo, start: datetime, end: datetime) -> list[Span]:
    """The buckets of [start, end] as UTC spans clipped to the range; a key can repeat when a
    local hour happens twice (the end of daylight saving time)."""
    out: list[Span] = []
    cursor = _floor(distribution, start.astimezone(tz))
    limit = end.astimezone(UTC)
    while cursor.astimezone(UTC) <= limit:
        nxt = _next(distribution, cursor)
        lo = max(cursor.astimezone(UTC), start.astimezone(UTC))
        hi = min(nxt.astimezone(UTC), limit + timedelta(microseconds=1))
        if hi > lo:
            out.append((cursor.strftime(_FORMATS[distribution]), lo, hi))
        if len(out) > MAX_BUCKETS:
            raise validation(f"The time range is too long for the `{distribution}` distribution")
        cursor = nxt
    return out


def _floor(distribution: str, local: datetime) -> datetime:
    tz = local.tzinfo
    if distribution == "hour":
        return _utc_step(local.replace(minute=0, second=0, microsecond=0))
    if distribution == "month":
        return datetime(local.year, local.month, 1, tzinfo=tz)
    if distribution == "year":
        return datetime(local.year, 1, 1, tzinfo=tz)
    return datetime(local.year, local.month, local.day, tzinfo=tz)


def _next(distribution: str, local: datetime) -> datetime:
    tz = local.tzinfo
    assert tz is not None
    if distribution == "hour":
        # Step in absolute time, so repeated and skipped local hours come out right.
        return (local.astimezone(UTC) + timedelta(hours=1)).astimezone(tz)
    if distribution == "month":
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        return datetime(year, month, 1, tzinfo=tz)
    if distribution == "year":
        return datetime(local.year + 1, 1, 1, tzinfo=tz)
    day = local.date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _utc_step(local: datetime) -> datetime:
    """Normalize a wall-clock time through UTC (resolves the fold of an ambiguous hour)."""
    tz = local.tzinfo
    assert tz is not None
    return local.astimezone(UTC).astimezone(tz)
