"""``chats/greetings_conversion`` and ``chats/forms``, from the threads the filters select.

- Greetings conversion (https://platform.text.com/docs/data-reporting/reports-api#greetings-conversion):
  per bucket, per greeting id (the ``lc2.greeting_id`` thread property,
  https://platform.text.com/docs/messaging/references/default-properties#greeting_id), the four
  documented counts, zeros kept as in the example. The sandbox records a greeting only when a
  customer accepted it and started a chat, so ``accepted`` is those chats, ``displayed`` equals
  it (an accepted greeting was displayed; the sandbox knows no other displays) and ``canceled``
  and ``goals`` are 0 [UNVERIFIED: what LiveChat counts for greetings it displayed without a
  chat]. "Only up to 100 values for each day": the 100 lowest greeting ids of a bucket, whatever
  the distribution [UNVERIFIED: which 100 LiveChat keeps, and the cap of an hourly bucket].
  ``total`` counts every selected chat, as in the other chats reports (with the greetings pair,
  the chats from greetings: the example's ``total`` 3 is the sum of its ``accepted``).
- Forms (https://platform.text.com/docs/data-reporting/reports-api#forms): one record per form
  and group, "the group ID in which this `form` is", read as the thread's first group
  [UNVERIFIED], ``count`` = times filled, and per choice field
  (``radio``, ``select``, ``checkbox``, ``group_chooser``) its chosen answers with their counts.
  Free-text fields (name, e-mail, question, …) have no countable answers and are left out, and
  an ``answer_id`` of digits is a number, as in the example [UNVERIFIED both]. The distribution
  "will have no effect on the response of this method"; a value that is no distribution is still
  refused, as for ranking [UNVERIFIED].
"""

from __future__ import annotations

from collections import Counter

from ..apiauth import Ctx
from ..model import JSON
from . import buckets
from .facts import Facts
from .filters import select
from .forms import chosen
from .params import Query

PER_DAY = 100  # "The method will return only up to 100 values for each day."
_CHOICES = ("radio", "select", "checkbox", "group_chooser")


def greetings_conversion(ctx: Ctx, query: Query) -> JSON:
    facts = select(ctx.state, ctx.org_id, query)
    records: dict[str, Counter[str]] = {
        key: Counter() for key in buckets.keys(query.distribution, query.tz, query.start, query.end)
    }
    for item in facts:
        greeting = _greeting_id(item)
        if greeting is not None:
            key = buckets.key_of(query.distribution, query.tz, item.created)
            records.setdefault(key, Counter())[greeting] += 1
    return {
        "name": "greetings-conversion-report",
        "total": len(facts),
        "records": {key: _conversions(counts) for key, counts in records.items()},
    }


def _greeting_id(facts: Facts) -> str | None:
    """The greeting's id as a record key, for every thread ``Facts.from_greeting`` counts."""
    lc2 = facts.thread.properties.get("lc2")
    value = lc2.get("greeting_id") if isinstance(lc2, dict) else None
    return None if value is None else str(value)


def _conversions(counts: Counter[str]) -> JSON:
    ordered = sorted(
        counts.items(), key=lambda item: (_number(item[0]) is None, _number(item[0]) or 0, item[0])
    )
    return {
        greeting: {"accepted": n, "canceled": 0, "displayed": n, "goals": 0}
        for greeting, n in ordered[:PER_DAY]
    }


def _number(text: str) -> int | None:
    """``text`` as a number when it is ASCII digits (``str.isdigit`` also takes "²")."""
    return int(text) if text.isascii() and text.isdigit() else None


def forms(ctx: Ctx, query: Query) -> JSON:
    filled: dict[tuple[str, int], list[JSON]] = {}
    for item in select(ctx.state, ctx.org_id, query):
        group = item.thread.group_ids[0] if item.thread.group_ids else 0
        for event in item.thread.events:
            if event.get("type") == "filled_form" and event.get("form_id"):
                filled.setdefault((str(event["form_id"]), group), []).append(event)
    return {
        "name": "form-report",
        "records": [
            {"form_id": form_id, "count": len(events), "group_id": group, "fields": _fields(events)}
            for (form_id, group), events in sorted(filled.items())
        ],
    }


def _fields(events: list[JSON]) -> list[JSON]:
    labels: dict[str, str] = {}
    answers: dict[str, dict[str, str]] = {}
    counts: dict[str, Counter[str]] = {}
    for event in events:
        for field in event.get("fields") or []:
            if not isinstance(field, dict) or field.get("type") not in _CHOICES:
                continue
            fid = str(field.get("id"))
            labels.setdefault(fid, str(field.get("label", "")))
            for answer in chosen(field):
                aid = str(answer["id"])
                answers.setdefault(fid, {}).setdefault(aid, str(answer.get("label", "")))
                counts.setdefault(fid, Counter())[aid] += 1
    return [
        {
            "field_id": fid,
            "label": labels[fid],
            "answers": [
                {
                    "answer_id": aid if _number(aid) is None else _number(aid),
                    "label": answers[fid][aid],
                    "count": n,
                }
                for aid, n in sorted(counts[fid].items())
            ],
        }
        for fid in labels
        if fid in counts
    ]
