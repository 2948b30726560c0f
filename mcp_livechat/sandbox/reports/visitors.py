"""``customers/unique_visitors`` and ``chats/queued_visitors_left``.

- Unique visitors (https://platform.text.com/docs/data-reporting/reports-api#unique-visitors):
  "the total number of page views and unique visitors during the specified period". The
  sandbox keeps each customer's last visit only (``customer.visit``, with its ``last_pages``):
  a visitor is a customer of the organization whose visit overlaps the range, a page view one
  of its pages opened in the range [UNVERIFIED: LiveChat counts every visit it tracked].
- Queued visitors left (https://platform.text.com/docs/data-reporting/reports-api#queued-visitors-left):
  the selected threads that left the queue (see ``facts``: inactive, no agent ever joined),
  keyed by chat id; a chat that left twice shows its latest thread, so ``total`` can be less
  than queued_visitors' ``left_queue.count``, which counts threads [UNVERIFIED]. ``visitor`` has
  the customer's ``id``, the ``name`` / ``email`` "set in the pre-chat survey" (the filled
  pre-chat form's ``name`` / ``email`` fields) and an ``ip``, the customer's last visit's: the
  sandbox keeps no visit per thread [UNVERIFIED]. ``queue`` has the wait, the group (the
  thread's first group), ``start_date`` (the thread's start, whole seconds as in the example)
  and ``url``, "the URL where the queue occurred": the thread's ``routing.start_url``
  (https://platform.text.com/docs/messaging/references/default-properties#start_url), else the
  last visit's first page [UNVERIFIED]. ``prechat_survey`` lists the filled pre-chat form's
  fields as ``key`` (the label), ``value`` (the answer; the chosen labels of a choice field,
  comma-separated), ``id``, ``type`` [UNVERIFIED: the docs name these four, not what they hold].
  ``summary.left_without_details``: the table says "the number of customers with identifying
  data", the name and the example (two visitors with neither name nor e-mail, counted 2) say
  without; the sandbox counts those without a name and an e-mail [UNVERIFIED].
  ``visitor_custom_variables`` and ``integration_variables`` are left out: the sandbox has
  neither.
- ``page``, "A non-negative integer that allows you to paginate", default 1
  (https://platform.text.com/docs/data-reporting/reports-api#available-parameters-and-filters):
  pages of 100 records, oldest chat first, ``total`` and ``summary.total_pages`` over them all;
  page 0 is the first page, a page past the last has no records [UNVERIFIED: the page size and
  both edges].
"""

from __future__ import annotations

import math
from datetime import UTC

from ..apiauth import Ctx
from ..clock import parse_rfc3339
from ..model import JSON
from ..validate import optional_int
from .facts import Facts
from .filters import select
from .params import Query


def unique_visitors(ctx: Ctx, query: Query) -> JSON:
    visitors = page_views = 0
    for customer in ctx.state.customers.values():
        visit = customer.visit
        if customer.org_id != ctx.org_id or not isinstance(visit, dict):
            continue
        started = parse_rfc3339(str(visit["started_at"]))
        ended = parse_rfc3339(str(visit.get("ended_at") or visit["started_at"]))
        if ended < query.start or started > query.end:
            continue
        visitors += 1
        opened = (parse_rfc3339(str(p["opened_at"])) for p in visit.get("last_pages") or [])
        page_views += sum(query.start <= moment <= query.end for moment in opened)
    return {"name": "visitors-report", "summary": {"unique_visitors": visitors, "page_views": page_views}}


PAGE_SIZE = 100


def queued_visitors_left(ctx: Ctx, query: Query) -> JSON:
    page = optional_int(query.params, "page", default=1, low=0, high=10**9)
    records: dict[str, JSON] = {}
    for item in select(ctx.state, ctx.org_id, query):
        if item.queue is not None and item.queue[0] == "left_queue":
            records.pop(item.chat.id, None)  # the chat's latest thread, in its place
            records[item.chat.id] = _record(ctx, item, item.queue[1])
    without = sum(not ({"name", "email"} & set(r["visitor"])) for r in records.values())
    first = (max(page, 1) - 1) * PAGE_SIZE
    pages = max(1, math.ceil(len(records) / PAGE_SIZE))
    return {
        "name": "queued-visitors-left-report",
        "total": len(records),
        "summary": {"left_without_details": without, "total_pages": pages},
        "records": dict(list(records.items())[first : first + PAGE_SIZE]),
    }


def _record(ctx: Ctx, item: Facts, waited: float) -> JSON:
    customer = ctx.state.customers.get(item.chat.customer_id)
    visit = customer.visit if customer is not None and isinstance(customer.visit, dict) else {}
    survey = _prechat(item)
    visitor: JSON = {"id": item.chat.customer_id}
    for field in survey:
        if field["type"] in ("name", "email") and field["value"]:
            visitor[field["type"]] = field["value"]
    if visit.get("ip"):
        visitor["ip"] = visit["ip"]
    queue: JSON = {
        "duration": int(waited),
        "group": item.thread.group_ids[0] if item.thread.group_ids else 0,
        "start_date": item.created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    routing = item.thread.properties.get("routing")
    start_url = routing.get("start_url") if isinstance(routing, dict) else None
    pages = visit.get("last_pages") or []
    if isinstance(start_url, str) and start_url:
        queue["url"] = start_url
    elif pages:
        queue["url"] = pages[0]["url"]
    record: JSON = {"visitor": visitor, "queue": queue}
    if survey:
        record["prechat_survey"] = survey
    return record


def _prechat(item: Facts) -> list[JSON]:
    for event in item.thread.events:
        if event.get("type") == "filled_form" and event.get("form_type") == "prechat":
            return [
                {
                    "key": f.get("label", ""),
                    "value": _text(f),
                    "id": f.get("id"),
                    "type": f.get("type"),
                }
                for f in event.get("fields") or []
                if isinstance(f, dict)
            ]
    return []


def _text(field: JSON) -> str:
    answers = field.get("answers")
    if isinstance(answers, list):
        return ", ".join(str(a.get("label", "")) for a in answers if isinstance(a, dict))
    answer = field.get("answer")
    if isinstance(answer, dict):
        return str(answer.get("label", ""))
    return "" if answer is None else str(answer)
