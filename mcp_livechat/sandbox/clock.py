"""The sandbox clock: starts at constants.BASE_DATE and ticks in real time, plus manual advances."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from . import constants


class Clock:
    """UTC clock against which codes, tokens, page ids and redirect limits expire.

    ``now()`` = start + real elapsed time + everything passed to ``advance()``. Tests move time
    with ``advance`` instead of sleeping.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start if start is not None else constants.BASE_DATE
        self._t0 = time.monotonic()
        self._offset = 0.0

    def now(self) -> datetime:
        elapsed = time.monotonic() - self._t0 + self._offset
        return (self._start + timedelta(seconds=elapsed)).astimezone(UTC)

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self._offset += float(seconds)
        return self.now()


def rfc3339(moment: datetime) -> str:
    """LiveChat API timestamp: RFC 3339 with microseconds and Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def accounts_time(moment: datetime) -> str:
    """Global Accounts API timestamp: milliseconds and Z (``2019-09-03T10:53:04.000Z``)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_rfc3339(value: str) -> datetime:
    """Parse an RFC 3339 timestamp (``Z`` or an offset); raises ValueError."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("timestamp without a time zone")
    return moment.astimezone(UTC)
