"""Reports API request parameters: ``distribution``, ``timezone``, the time range of ``filters``.

https://platform.text.com/docs/data-reporting/reports-api#available-parameters-and-filters
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..apiauth import Ctx
from ..errors import validation
from ..model import JSON
from ..validate import optional_obj

CHAT_DISTRIBUTIONS = ("hour", "day", "day-hours", "month", "year")
AGENT_DISTRIBUTIONS = ("hour", "day")
# "Date & time format compatible with RFC3339 with optional resolution of microseconds,
# YYYY-MM-DDTHH:MM:SS.ssssss+HH:MM"; fractions of 1 to 6 digits, ``Z`` or an offset. A space
# instead of ``T`` or a missing offset is rejected [UNVERIFIED].
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})")


@dataclass(frozen=True)
class Query:
    """One report request, validated. ``start``/``end`` are UTC and both inclusive, like
    list_archives' ``filters.from`` / ``filters.to``."""

    distribution: str
    tz: tzinfo
    start: datetime
    end: datetime
    pair: str  # which time pair set the range: "from" | "greetings" | "surveys" | "default"
    filters: JSON
    params: JSON  # the whole request, for a method's own parameters (queued_visitors_left's page)


def parse_query(ctx: Ctx, params: JSON, *, distributions: tuple[str, ...], pairs: tuple[str, ...]) -> Query:
    distribution = _distribution(params, distributions)
    filters = optional_obj(params, "filters")
    # An empty ``filters`` object counts as "none provided" (the last seven days) [UNVERIFIED].
    pair, raw_range = _time_pair(filters, pairs) if filters else ("default", None)
    tz = _timezone(ctx, params, raw_range[0] if raw_range else None)
    if raw_range is None:
        start, end = _last_seven_days(ctx.now(), tz)
    else:
        path = "filters" if pair == "from" else f"filters.{pair}"
        surveys = filters.get("surveys")
        if pair == "surveys" and not (isinstance(surveys, dict) and "from" in surveys):
            path = "filters.forms[]"  # the range of the forms' windows
        start, end = (
            _representable(raw_range[0], tz, f"{path}.from"),
            _representable(raw_range[1], tz, f"{path}.to"),
        )
        if start > end:
            raise validation("`filters.from` must not be later than `filters.to`")  # [UNVERIFIED]
    return Query(distribution, tz, start, end, pair, filters, params)


def _distribution(params: JSON, allowed: tuple[str, ...]) -> str:
    value = params.get("distribution")
    if value is None:
        return "day"
    if not isinstance(value, str) or value not in allowed:
        raise validation(f"`distribution` must be one of: {', '.join(allowed)}")
    return value


def _time_pair(filters: JSON, allowed: tuple[str, ...]) -> tuple[str, tuple[datetime, datetime]]:
    """The one time pair the docs demand: "If filters are provided, they must contain exactly
    one pair of time-based filters". A pair with one half missing is invalid too [UNVERIFIED].
    The third pair is ``filters.surveys.from/to``, as the rule's text names it. ``surveys``
    became Forms in v3.5 (https://platform.text.com/docs/data-reporting/changelog) and the docs'
    "Sample survey filter" has no top-level pair: it puts ``from`` / ``to`` inside each
    ``filters.forms[]`` entry
    (https://platform.text.com/docs/data-reporting/reports-api#available-parameters-and-filters).
    So that sample is accepted: without any of the three pairs, ``forms`` whose every entry has
    ``from`` and ``to`` are the surveys pair, spanning the earliest ``from`` to the latest ``to``
    [UNVERIFIED]; beside another pair, a form's ``from`` / ``to`` only bound its own forms."""
    found: list[tuple[str, JSON, str]] = []
    if "from" in filters or "to" in filters:
        found.append(("from", filters, "filters"))
    for name in ("greetings", "surveys"):
        nested = filters.get(name)
        if isinstance(nested, dict) and ("from" in nested or "to" in nested):
            found.append((name, nested, f"filters.{name}"))
    wanted = " or ".join(f"`filters.{p}/to`" if p == "from" else f"`filters.{p}.from/to`" for p in allowed)
    windows = _form_windows(filters) if not found and "surveys" in allowed else None
    if windows:
        return "surveys", (min(w[0] for w in windows), max(w[1] for w in windows))
    if len(found) != 1 or found[0][0] not in allowed:
        raise validation(
            f"If filters are provided, they must contain exactly one pair of time filters: {wanted}"
        )
    name, holder, path = found[0]
    return name, (moment(holder, "from", path), moment(holder, "to", path))


def _form_windows(filters: JSON) -> list[tuple[datetime, datetime]] | None:
    forms = filters.get("forms")
    if not isinstance(forms, list) or not forms:
        return None
    if not all(isinstance(f, dict) and "from" in f and "to" in f for f in forms):
        return None
    return [
        (moment(f, "from", f"filters.forms[{i}]"), moment(f, "to", f"filters.forms[{i}]"))
        for i, f in enumerate(forms)
    ]


EARLIEST = datetime(1, 1, 2)  # a day of margin above datetime.min for the first bucket's floor


def _representable(moment: datetime, tz: tzinfo, path: str) -> datetime:
    """``moment`` in UTC. A moment that Python's ``datetime`` (years 1 to 9999) cannot hold in
    UTC or in the report's time zone, or that falls before 0001-01-02 in either, is refused
    like a malformed one, with ``validation`` [UNVERIFIED: the docs give no bounds and LiveChat's
    answer to such a range is unknown]."""
    refused = validation(f"`{path}` is outside the supported dates (0001-01-02 to 9999-12-31)")
    try:
        utc, local = moment.astimezone(UTC), moment.astimezone(tz)
    except OverflowError:
        raise refused from None
    if min(utc.replace(tzinfo=None), local.replace(tzinfo=None)) < EARLIEST:
        raise refused
    return utc


def moment(holder: JSON, key: str, path: str) -> datetime:
    value = holder.get(key)
    if value is None:
        raise validation(f"`{path}.{key}` is required")
    if not isinstance(value, str) or not _RFC3339.fullmatch(value.strip()):
        raise validation(f"`{path}.{key}` must be an RFC 3339 date-time")
    text = value.strip().replace("z", "Z").replace("t", "T")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise validation(f"`{path}.{key}` must be an RFC 3339 date-time") from None


def _timezone(ctx: Ctx, params: JSON, start: datetime | None) -> tzinfo:
    """The docs: "By default, the timezone is taken from the request. If it isn't provided, then
    it's taken from the agent's timezone. When it's impossible to load the agent's timezone,
    `filters.from` is parsed to get it." The sandbox has no separate agent time zone: it uses the agent's
    ``work_scheduler.timezone`` [UNVERIFIED]; with neither that nor ``filters.from``, UTC."""
    value = params.get("timezone")
    if value is not None and value != "":
        if not isinstance(value, str):
            raise validation("`timezone` must be a string")
        zone = load_zone(value)
        if zone is None:
            raise validation("`timezone` must be an IANA time zone name, e.g. America/Phoenix")
        return zone
    agent_zone = load_zone(str((ctx.agent.work_scheduler or {}).get("timezone") or ""))
    if agent_zone is not None:
        return agent_zone
    if start is not None and start.utcoffset() is not None:
        offset = start.utcoffset()
        assert offset is not None
        return UTC if not offset else timezone(offset)
    return UTC


def load_zone(name: str) -> tzinfo | None:
    if not name or name.startswith(("/", ".")) or ".." in name:
        return None
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _last_seven_days(now: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """The docs: "If none provided, your report will span the last seven days": today and the six
    days before it, whole days in the report's time zone [UNVERIFIED: the exact edges]."""
    local_today = now.astimezone(tz).date()
    first = local_today - timedelta(days=6)
    start = datetime(first.year, first.month, first.day, tzinfo=tz)
    after = local_today + timedelta(days=1)
    end = datetime(after.year, after.month, after.day, tzinfo=tz) - timedelta(microseconds=1)
    return start.astimezone(UTC), end.astimezone(UTC)


# -- GET: the query string -------------------------------------------------------------------
LIST_KEYS = frozenset({"values", "exclude_values"})
BOOL_KEYS = frozenset({"exists", "require_every_value", "first"})
INT_FILTERS = frozenset({"groups", "sales", "goals", "greetings"})  # greetings.values: greeting ids


def nest_query(items: list[tuple[str, str]]) -> JSON:
    """``filters.agents.values=a&filters.agents.values=b`` → ``{"filters": {"agents": {"values":
    ["a", "b"]}}}``; ``properties[routing][continuous]`` brackets are path steps too
    (https://platform.text.com/docs/data-reporting/reports-api#available-parameters-and-filters).
    ``values`` / ``exclude_values`` are always arrays; ``exists``, ``require_every_value`` and
    ``first`` take ``true``/``false`` (``1``/``0``); values of integer filters (``groups``,
    ``sales``, ``goals``, ``greetings``: greeting ids) and ``page`` become integers; property
    values ``true``/``false`` or digits become booleans / integers; ``forms[0].type`` makes
    ``forms`` an array [UNVERIFIED: LiveChat's own coercion]."""
    out: JSON = {}
    for key, raw in items:
        path = [p for p in re.sub(r"\[([^\]]*)\]", r".\1", key).split(".") if p != ""]
        if not path:
            continue
        cursor = out
        for step in path[:-1]:
            nxt = cursor.setdefault(step, {})
            if not isinstance(nxt, dict):
                raise validation(f"`{key}` conflicts with another query parameter")
            cursor = nxt
        leaf = path[-1]
        value = _coerce(path, raw)
        if leaf in LIST_KEYS:
            bucket = cursor.setdefault(leaf, [])
            if not isinstance(bucket, list):
                raise validation(f"`{key}` conflicts with another query parameter")
            bucket.append(value)
        elif isinstance(cursor.get(leaf), dict):
            raise validation(f"`{key}` conflicts with another query parameter")
        else:
            cursor[leaf] = value
    filters = out.get("filters")
    if isinstance(filters, dict) and isinstance(filters.get("forms"), dict):
        filters["forms"] = _indexed(filters["forms"])
    return out


def _indexed(entries: JSON) -> Any:
    """``filters.forms[0].type=pre_chat&filters.forms[1].type=post_chat``: the array the docs
    make ``filters.forms``, its entries in index order [UNVERIFIED: how LiveChat spells an array
    of objects in a query string]; other keys are left for the validation to refuse."""
    if not entries or not all(re.fullmatch(r"[0-9]+", k) for k in entries):
        return entries
    return [entries[k] for k in sorted(entries, key=int)]


def _coerce(path: list[str], raw: str) -> Any:
    leaf = path[-1]
    if leaf in BOOL_KEYS:
        lowered = raw.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise validation(f"`{'.'.join(path)}` must be true or false")
    if path == ["page"] or (leaf in LIST_KEYS and len(path) >= 2 and path[-2] in INT_FILTERS):
        return int(raw) if re.fullmatch(r"-?\d+", raw.strip()) else raw
    if leaf in LIST_KEYS and "properties" in path:
        lowered = raw.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        return int(raw) if re.fullmatch(r"-?\d+", raw.strip()) else raw
    return raw
