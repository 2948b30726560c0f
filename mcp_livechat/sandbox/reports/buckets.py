"""Distribution buckets: their keys and their spans in time.

v3.6 shows only ``day`` keys (``"2021-04-08"``,
https://platform.text.com/docs/data-reporting/reports-api#total-chats). The other formats are
our guesses [UNVERIFIED]: ``hour`` → ``"2021-04-08 13:00"``, ``day-hours`` (the hours of the day
summed over the range) → ``"13:00"``, ``month`` → ``"2021-04"``, ``year`` → ``"2021"``. The v2.0
docs back them only in part: their ``hour`` example of total chats covers a single day and is
keyed ``"00:00"``, ``"01:00"``, … (https://platform.text.com/docs/data-reporting/reports-api/v2.0#total-chats),
their number of simultaneous chats is keyed ``"2015-03-16 00:00"`` by the hour
(https://platform.text.com/docs/data-reporting/reports-api/v2.0#number-of-simultaneous-chats);
v2.0 has no ``day-hours`` and no ``year``; its ``month`` buckets are keyed ``"2012-01"`` but
also carry ``begin`` / ``end`` dates
(https://platform.text.com/docs/data-reporting/reports-api/v2.0#chat-ratings-report), which
the sandbox leaves out.

A bucket that would end past the last moment a ``datetime`` can hold (9999-12-31) ends with the
range instead; ``params`` refuses ranges that cannot be represented at all.
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
    first = start.astimezone(UTC)
    limit = end.astimezone(UTC)
    after = _utc_plus(limit, timedelta(microseconds=1)) or limit  # datetime.max has no successor
    cursor: datetime | None = _floor(distribution, start.astimezone(tz))
    while cursor is not None:
        begin = _utc(cursor)  # None: a month or year floor before datetime.min in UTC
        if begin is not None and begin > limit:
            break
        nxt = _next(distribution, cursor)
        stop = _utc(nxt) if nxt is not None else None  # None: past datetime.max
        lo = max(begin, first) if begin is not None else first
        hi = min(stop, after) if stop is not None else after
        if hi > lo:
            out.append((cursor.strftime(_FORMATS[distribution]), lo, hi))
        if len(out) > MAX_BUCKETS:
            raise validation(f"The time range is too long for the `{distribution}` distribution")
        cursor = nxt if stop is not None else None
    return out


def _utc(local: datetime) -> datetime | None:
    try:
        return local.astimezone(UTC)
    except OverflowError:
        return None


def _utc_plus(moment: datetime, delta: timedelta) -> datetime | None:
    try:
        return moment + delta
    except OverflowError:
        return None


def _floor(distribution: str, local: datetime) -> datetime:
    tz = local.tzinfo
    if distribution == "hour":
        return _utc_step(local.replace(minute=0, second=0, microsecond=0))
    if distribution == "month":
        return datetime(local.year, local.month, 1, tzinfo=tz)
    if distribution == "year":
        return datetime(local.year, 1, 1, tzinfo=tz)
    return datetime(local.year, local.month, local.day, tzinfo=tz)


def _next(distribution: str, local: datetime) -> datetime | None:
    """The start of the next bucket, or None past the end of ``datetime``'s range."""
    tz = local.tzinfo
    assert tz is not None
    try:
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
    except (OverflowError, ValueError):
        return None


def _utc_step(local: datetime) -> datetime:
    """Normalize a wall-clock time through UTC (resolves the fold of an ambiguous hour)."""
    tz = local.tzinfo
    assert tz is not None
    return local.astimezone(UTC).astimezone(tz)
