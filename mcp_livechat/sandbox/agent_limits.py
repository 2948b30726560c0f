"""Every limit the sandbox enforces on Configuration API ``update_agent``, in one place.

Sources: https://platform.text.com/docs/management/configuration-api#update-agent and, for
``work_scheduler`` ("See Create Agent for details"),
https://platform.text.com/docs/management/configuration-api#create-agent.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache

from . import constants
from .errors import validation
from .model import JSON
from .validate import one_of

# "The agent's maximum number of concurrent chats. Maximum: 20." (documented); 0 as the
# minimum is our call [UNVERIFIED].
MAX_CHATS_COUNT = (0, 20)
# Not documented: a job title of at most 64 characters [UNVERIFIED]; a mobile number of at most
# 32 [UNVERIFIED].
TEXT_LIMITS = {"job_title": 64, "mobile": 32}
# groups[].priority: documented values.
PRIORITIES = constants.PRIORITIES
# Working hours are "HH:MM" from 00:00 to 23:59 (the docs' examples; the format itself is
# [UNVERIFIED]); an end time may also be 24:00 (end of day) [UNVERIFIED]; start before end.
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
END_OF_DAY = "24:00"


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def text(key: str, value: object) -> str:
    limit = TEXT_LIMITS[key]
    if not isinstance(value, str) or len(value) > limit:
        raise validation(f"`{key}` must be a string of at most {limit} characters")
    return value


def max_chats_count(value: object) -> int:
    low, high = MAX_CHATS_COUNT
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise validation(f"`max_chats_count` must be an integer between {low} and {high}")
    return value


def _hours(start: object, end: object, path: str) -> tuple[str, str]:
    if not isinstance(start, str) or not _HHMM.match(start):
        raise validation(f"`{path}.start` must be HH:MM between 00:00 and 23:59")
    if not isinstance(end, str) or not (_HHMM.match(end) or end == END_OF_DAY):
        raise validation(f"`{path}.end` must be HH:MM between 00:00 and 24:00")
    if start >= end:  # zero-padded HH:MM compares as text
        raise validation(f"`{path}` start must be before end")
    return start, end


def _timezone(value: object) -> str:
    if not isinstance(value, str) or value not in _timezones():
        raise validation("`work_scheduler.timezone` must be an IANA time zone name")
    return value


def work_scheduler(value: object, current: JSON) -> JSON:
    """Two documented request forms, stored and answered (get_agent ``work_scheduler``) in Create
    Agent's shape ``{"timezone", "schedule": [{"day", "enabled", "start", "end"}]}``:

    - Create Agent's table (which Update Agent refers to): ``timezone`` ("Required only when
      `schedule` is not empty. Falls back to the agent's timezone if empty.") and ``schedule[]``;
    - the v3.6 Update Agent example: a day-keyed object ``{"monday": {"start", "end"}, ...}``.
      It replaces the whole schedule with one enabled entry per named day and keeps the agent's
      timezone (or takes ``timezone`` if given) [UNVERIFIED which form LiveChat really takes and
      how it merges the day-keyed one].
    """
    if not isinstance(value, dict):
        raise validation("`work_scheduler` must be an object")
    if "schedule" not in value and any(day in value for day in constants.WEEKDAYS):
        return _day_keyed(value, current)
    entries = value.get("schedule")
    if not isinstance(entries, list):
        raise validation("`work_scheduler.schedule` must be an array")
    timezone = value.get("timezone")
    if not timezone and not entries:
        timezone = current.get("timezone")
    schedule = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise validation("`work_scheduler.schedule` items must be objects")
        day = one_of(entry.get("day"), constants.WEEKDAYS, "work_scheduler.schedule.day")
        enabled = entry.get("enabled")
        if not isinstance(enabled, bool):
            raise validation("`work_scheduler.schedule.enabled` must be a boolean")
        start, end = _hours(entry.get("start"), entry.get("end"), "work_scheduler.schedule")
        schedule.append({"day": day, "enabled": enabled, "start": start, "end": end})
    return {"timezone": _timezone(timezone), "schedule": schedule}


def _day_keyed(value: JSON, current: JSON) -> JSON:
    unknown = sorted(k for k in value if k not in (*constants.WEEKDAYS, "timezone"))
    if unknown:
        raise validation(f"`work_scheduler.{unknown[0]}` is not a day of the week")
    timezone = _timezone(value.get("timezone") or current.get("timezone"))
    schedule = []
    for day in constants.WEEKDAYS:
        if day not in value:
            continue
        hours = value[day]
        if not isinstance(hours, dict):
            raise validation(f"`work_scheduler.{day}` must be an object with `start` and `end`")
        start, end = _hours(hours.get("start"), hours.get("end"), f"work_scheduler.{day}")
        schedule.append({"day": day, "enabled": True, "start": start, "end": end})
    return {"timezone": timezone, "schedule": schedule}
