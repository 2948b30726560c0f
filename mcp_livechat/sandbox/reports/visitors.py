"""``customers/unique_visitors`` and ``chats/queued_visitors_left``.

- Unique visitors (https://platform.text.com/docs/data-reporting/reports-api#unique-visitors):
  "the total number of page views and unique visitors during the specified period". The
  sandbox keeps each customer's last visit only (``customer.visit``, with its ``last_pages``):
  a visitor is a customer of the organization whose visit overlaps the range, a page view one
  of its pages opened in the range [UNVERIFIED: LiveChat counts every visit it tracked].
- Queued visitors left (https://platform.text.com/docs/data-reporting/reports-api#queued-visitors-left):
  the selected threads that left the queue (see ``facts``: inactive, no agent ever joined),
  keyed by chat id (a chat that left twice shows its latest thread). ``visitor`` has the
  customer's ``id``, the visit's ``ip`` and the ``name`` / ``email`` "set in the pre-chat
  survey" (the filled pre-chat form's ``name`` / ``email`` fields); ``queue`` its wait, group
  (the thread's first group), ``start_date`` (the thread's start, whole seconds as in the
  example) and ``url`` (the visit's first page); ``prechat_survey`` the filled pre-chat form's
  fields as ``key`` (the label), ``value``, ``id``, ``type``. ``summary.left_without_details``:
  the table says "the number of customers with identifying data", the name and the example
  (two visitors with neither name nor e-mail, counted 2) say without; the sandbox counts those
  without a name and an e-mail [UNVERIFIED]. ``total`` is the number of records and
  ``summary.total_pages`` 1: the sandbox answers with every record at once [UNVERIFIED: the
  docs document no page parameter for it]. ``visitor_custom_variables`` and
  ``integration_variables`` are left out: the sandbox has neither.
"""

from __future__ import annotations

from datetime import UTC

from ..apiauth import Ctx
from ..clock import parse_rfc3339
from ..model import JSON
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


def queued_visitors_left(ctx: Ctx, query: Query) -> JSON:
    records: dict[str, JSON] = {}
    for item in select(ctx.state, ctx.org_id, query):
        if item.queue is not None and item.queue[0] == "left_queue":
            records[item.chat.id] = _record(ctx, item, item.queue[1])
    without = sum(not ({"name", "email"} & set(r["visitor"])) for r in records.values())
    return {
        "name": "queued-visitors-left-report",
        "total": len(records),
        "summary": {"left_without_details": without, "total_pages": 1},
        "records": records,
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
    pages = visit.get("last_pages") or []
    if pages:
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
                    "value": _text(f.get("answer")),
                    "id": f.get("id"),
                    "type": f.get("type"),
                }
                for f in event.get("fields") or []
                if isinstance(f, dict)
            ]
    return []


def _text(answer: object) -> str:
    if isinstance(answer, dict):
        return str(answer.get("label", ""))
    return "" if answer is None else str(answer)
