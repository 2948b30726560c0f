"""Argument types several toolsets share: a day or a moment, an IANA time zone, and their
conversion to the RFC 3339 strings LiveChat's filters take."""

from __future__ import annotations

import functools
import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StringConstraints

from mcp_livechat.errors import UserInputError

# Ids as a model may paste them (" PJ0MRSHTDG "): surrounding spaces are never part of one.
Stripped = StringConstraints(strip_whitespace=True)

# Years a date argument may name: far enough either side of any chat, near enough that a day's
# end or a time zone's offset never steps outside what `datetime` can hold (years 1 to 9999).
FIRST_YEAR, LAST_YEAR = 1970, 9000
# A day, or a time that names its offset (RFC 3339 section 5.6): pydantic reads a time without
# one as a day when it is midnight ("2026-11-02T00:00:00" as all of 2 November) and refuses it
# otherwise, so the offset is required here, before pydantic sees the text.
_DAY_OR_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2}))?"
)


def _written_as_day_or_time(value: object) -> object:
    """Text in one of the two documented forms; pydantic alone would also read `20261101` or a
    number as Unix seconds, a silent 1970 instead of an error."""
    if isinstance(value, date):  # a datetime is a date too
        return value
    if isinstance(value, str) and _DAY_OR_TIME.fullmatch(value.strip()):
        return value.strip()
    raise ValueError(
        "write a day like 2026-11-01 or an RFC 3339 time with its offset like "
        "2026-11-01T09:00:00+01:00 or 2026-11-01T08:00:00Z"
    )


def _in_years(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"the year must be between {FIRST_YEAR} and {LAST_YEAR}")
    return value


DayOrTime = Annotated[
    AwareDatetime | date, BeforeValidator(_written_as_day_or_time), AfterValidator(_in_years)
]
Day = Annotated[DayOrTime | None, Field(description="2026-11-01, or RFC 3339 with offset")]


def rfc3339(value: datetime | date | None, *, end_of_day: bool) -> str | None:
    """LiveChat's filter format: RFC 3339 in UTC with microseconds; a day means its start (or end)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value.astimezone(UTC)
    else:
        moment = datetime.combine(value, time.max if end_of_day else time.min, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def at(value: datetime | date, zone: zoneinfo.ZoneInfo, *, end_of_day: bool) -> datetime:
    """A day as its first (or last) microsecond in `zone`; a moment as it is, seen in `zone`.

    A day ends a microsecond before the next one starts, worked out in UTC: where clocks go back
    at midnight (America/Santiago, Asia/Beirut) 23:59:59.999999 happens twice, and the first of
    them would leave the day's last hour out of both days. Where they skip midnight, the day
    starts at the first moment it has (`fold=0` of a skipped time is the offset before the
    change, the same instant)."""
    if isinstance(value, datetime):
        return value.astimezone(zone)
    if not end_of_day:
        return datetime.combine(value, time.min, zone)
    next_day = datetime.combine(value + timedelta(days=1), time.min, zone).astimezone(UTC)
    return (next_day - timedelta(microseconds=1)).astimezone(zone)


@functools.cache
def _zone_names() -> frozenset[str]:
    # the IANA names the tz database offers, without the files that are not zones
    return frozenset(zoneinfo.available_timezones() - {"localtime", "Factory", "posixrules"})


@functools.cache
def _zone_spellings() -> dict[str, str]:
    return {name.casefold(): name for name in _zone_names()}


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone `name` in any letter case (`utc`, `europe/warsaw`), or
    `UserInputError` naming the `timezone` argument."""
    known = _zone_spellings().get(name.casefold())
    if known is None:
        raise UserInputError(
            f"timezone {name[:64]!r} is not an IANA time zone name (e.g. UTC, Europe/Warsaw, "
            "America/Phoenix)",
            argument="timezone",
        )
    return zoneinfo.ZoneInfo(known)


def _valid_zone(name: str) -> str:
    try:
        zone(name)
    except UserInputError as exc:
        raise ValueError(str(exc)) from None
    return name


TimeZone = Annotated[
    str,
    Field(max_length=64, description="IANA time zone of the dates and periods, e.g. Europe/Warsaw"),
    AfterValidator(_valid_zone),
]
