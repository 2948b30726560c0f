"""Argument types several toolsets share: a day or a moment, an IANA time zone, and their
conversion to the RFC 3339 strings LiveChat's filters take."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, date, datetime, time
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

from mcp_livechat.errors import UserInputError

Day = Annotated[
    AwareDatetime | date | None,
    Field(description="2026-11-01, or RFC 3339 with offset"),
]
DayOrTime = AwareDatetime | date


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
    """A day as its first (or last) microsecond in `zone`; a moment as it is, seen in `zone`."""
    if isinstance(value, datetime):
        return value.astimezone(zone)
    return datetime.combine(value, time.max if end_of_day else time.min, zone)


@functools.cache
def _zone_names() -> frozenset[str]:
    # the IANA names the tz database offers, without the files that are not zones
    return frozenset(zoneinfo.available_timezones() - {"localtime", "Factory", "posixrules"})


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone `name`, or `UserInputError` naming the `timezone` argument."""
    if name not in _zone_names():
        raise UserInputError(
            f"timezone {name[:64]!r} is not an IANA time zone name (e.g. UTC, Europe/Warsaw, "
            "America/Phoenix)",
            argument="timezone",
        )
    return zoneinfo.ZoneInfo(name)


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
