"""The sandbox's greetings conversion, forms, queued visitors left and unique visitors reports:
the documented shapes, and agreement with the chats list_archives returns (and, for visitors,
with the customers' visits)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx2
import pytest

from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.sandbox.reports.greetings_forms import PER_DAY, _conversions

from .reports_testkit import DAYS_31, RANGE_31, SAMPLES, archived, day_of, moment_of, report_error, report_ok
from .sandbox_testkit import NORMAL_PAT, SMITH_PAT, active_chat_of, fixture, ok

UTC_31 = {"timezone": "UTC", "filters": RANGE_31}


def _greeting(thread: Any) -> int | None:
    value = thread["properties"].get("lc2", {}).get("greeting_id")
    return value if isinstance(value, int) else None


async def test_greetings_conversion_counts_the_chats_started_from_each_greeting(
    client: httpx2.AsyncClient,
) -> None:
    sample = fixture(SAMPLES / "chats" / "greetingsConversion.json")
    body = await report_ok(client, "chats/greetings_conversion", UTC_31)
    assert set(body) == set(sample) and body["name"] == sample["name"]
    assert list(body["records"]) == DAYS_31
    example = next(r for r in sample["records"].values() if r)
    threads = await archived(client, RANGE_31)
    expected: dict[str, Counter[str]] = {day: Counter() for day in DAYS_31}
    for thread in threads:
        if _greeting(thread) is not None:
            expected[day_of(thread["created_at"])][str(_greeting(thread))] += 1
    assert sum(map(len, expected.values())) > 1, "the seed has chats from greetings"
    for day, record in body["records"].items():
        assert {gid: r["accepted"] for gid, r in record.items()} == dict(expected[day])
        for counts in record.values():
            assert set(counts) == set(next(iter(example.values())))
            assert counts["displayed"] >= counts["accepted"] > 0
    assert body["total"] == len(threads)
    # With the greetings pair only the chats from greetings count, as in the example (total 3 =
    # the sum of its `accepted`).
    greetings = {"timezone": "UTC", "filters": {"greetings": RANGE_31}}
    greeted = await report_ok(client, "chats/greetings_conversion", greetings)
    assert greeted["total"] == sum(r["accepted"] for d in greeted["records"].values() for r in d.values())
    assert greeted["total"] == sum(_greeting(t) is not None for t in threads)
    one = {"timezone": "UTC", "filters": {"greetings": {**RANGE_31, "groups": {"values": [1]}}}}
    in_one = await report_ok(client, "chats/greetings_conversion", one)
    assert in_one["total"] == sum(_greeting(t) is not None and 1 in t["access"]["group_ids"] for t in threads)


async def test_forms_count_the_filled_forms_and_their_answers(client: httpx2.AsyncClient) -> None:
    sample = fixture(SAMPLES / "chats" / "forms.json")
    body = await report_ok(client, "chats/forms", UTC_31)
    assert set(body) == set(sample) and body["name"] == sample["name"]
    assert body == await report_ok(client, "chats/forms", {**UTC_31, "distribution": "hour"})  # no effect
    form_keys = set(sample["records"][0])
    field_keys = set(sample["records"][0]["fields"][0])
    answer_keys = set(sample["records"][0]["fields"][0]["answers"][0])
    filled: Counter[tuple[str, int]] = Counter()
    chosen: Counter[tuple[str, str, int]] = Counter()
    for thread in await archived(client, RANGE_31):
        group = thread["access"]["group_ids"][0]
        for event in thread["events"]:
            if event["type"] == "filled_form":
                filled[event["form_id"], group] += 1
                for field in event["fields"]:
                    if field["type"] in ("radio", "select", "checkbox"):  # the fields with options
                        for answer in field.get("answers", [field.get("answer")]):
                            chosen[field["id"], answer["id"], group] += 1
    assert filled, "the seed has filled forms"
    assert {(r["form_id"], r["group_id"]): r["count"] for r in body["records"]} == dict(filled)
    seen: Counter[tuple[str, str, int]] = Counter()
    for record in body["records"]:
        assert set(record) == form_keys and record["fields"]
        for field in record["fields"]:
            assert set(field) == field_keys and field["label"]
            for answer in field["answers"]:
                assert set(answer) == answer_keys and isinstance(answer["answer_id"], int)
                seen[field["field_id"], str(answer["answer_id"]), record["group_id"]] += answer["count"]
    assert seen == chosen
    assert {f for f, _, _ in chosen} == {"154417206262602571", "154417206262602572", "154417206262604640"}
    nothing = {"timezone": "UTC", "filters": {"from": "2020-01-01T00:00:00Z", "to": "2020-01-31T00:00:00Z"}}
    assert (await report_ok(client, "chats/forms", nothing))["records"] == []


async def test_queued_visitors_left_lists_the_chats_no_agent_took(
    client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    sample = fixture(SAMPLES / "chats" / "queuedVisitorsLeft.json")
    body = await report_ok(client, "chats/queued_visitors_left", UTC_31)
    assert set(body) == set(sample) and body["name"] == sample["name"]
    assert set(body["summary"]) == set(sample["summary"])
    threads = await archived(client, RANGE_31)
    abandoned = sorted(
        (t for t in threads if not t["active"] and len(t["user_ids"]) == 1), key=lambda t: t["created_at"]
    )
    queued = await report_ok(client, "chats/queued_visitors", UTC_31)
    assert len(abandoned) == sum(r.get("left_queue", {}).get("count", 0) for r in queued["records"].values())
    left = {t["chat_id"]: t for t in abandoned}  # keyed by chat: a chat's latest thread
    assert 0 < len(left) < len(abandoned), "the seed has a chat that left the queue twice"
    assert set(body["records"]) == set(left) and body["total"] == len(left)
    for chat_id, record in body["records"].items():
        thread = left[chat_id]
        assert (
            {"visitor", "queue"} <= set(record) <= set(sample["records"]["SK0P33W2ZJ"]) | {"prechat_survey"}
        )
        assert record["visitor"]["id"] == sb.state.chats[chat_id].customer_id
        assert record["queue"]["group"] == thread["access"]["group_ids"][0]
        assert moment_of(record["queue"]["start_date"]) == moment_of(thread["created_at"]).replace(
            microsecond=0
        )
        last = moment_of(thread["events"][-1]["created_at"])
        assert record["queue"]["duration"] == int((last - moment_of(thread["created_at"])).total_seconds())
        customer = sb.state.customers[record["visitor"]["id"]]
        visit = customer.visit or {}
        assert record["visitor"].get("ip") == visit.get("ip")
        start_url = thread["properties"].get("routing", {}).get("start_url")
        first_page = (visit.get("last_pages") or [{}])[0].get("url")
        assert record["queue"].get("url") == (start_url or first_page)
        form = next(
            (e for e in thread["events"] if e["type"] == "filled_form" and e["form_type"] == "prechat"), None
        )
        assert ("prechat_survey" in record) == (form is not None)
        if form is not None:
            answers = {f["type"]: f.get("answers", f.get("answer")) for f in form["fields"]}
            survey = {f["type"]: f for f in record["prechat_survey"]}
            assert [f["id"] for f in record["prechat_survey"]] == [f["id"] for f in form["fields"]]
            assert (
                survey["radio"]["value"] == answers["radio"]["label"]
                and survey["radio"]["key"] == "Chat purpose"
            )
            if "checkbox" in answers:
                assert survey["checkbox"]["value"] == ", ".join(a["label"] for a in answers["checkbox"])
            for kind in ("name", "email"):
                assert record["visitor"].get(kind) == (answers[kind] or None)
        else:
            assert not {"name", "email"} & set(record["visitor"])
    named = [r for r in body["records"].values() if "name" in r["visitor"]]
    assert named and len(named) < len(body["records"])
    assert any(f["type"] == "checkbox" for r in named for f in r["prechat_survey"])
    assert body["summary"] == {"left_without_details": len(body["records"]) - len(named), "total_pages": 1}
    # `page`: "A non-negative integer that allows you to paginate", default 1.
    assert await report_ok(client, "chats/queued_visitors_left", {**UTC_31, "page": 1}) == body
    assert await report_ok(client, "chats/queued_visitors_left", {**UTC_31, "page": 0}) == body
    second = await report_ok(client, "chats/queued_visitors_left", {**UTC_31, "page": 2})
    assert second["records"] == {} and second["total"] == body["total"]
    for page in ("abc", -1, 1.5, True, "2"):
        status, error = await report_error(client, "chats/queued_visitors_left", {**UTC_31, "page": page})
        assert (status, error["type"]) == (400, "validation") and "page" in error["message"]
    query = "filters.from=2026-10-21T00:00:00Z&filters.to=2026-11-20T23:59:59Z&timezone=UTC&page=2"
    got = await client.get(f"/v3.6/reports/chats/queued_visitors_left?{query}", headers=SMITH_PAT)
    assert got.status_code == 200 and got.json() == second


async def test_unique_visitors_count_the_visits_in_the_range(client: httpx2.AsyncClient, sb: Sandbox) -> None:
    sample = fixture(SAMPLES / "customers" / "uniqueVisitors.json")
    body = await report_ok(client, "customers/unique_visitors", {"filters": RANGE_31})
    assert set(body) == set(sample) and body["name"] == sample["name"]
    assert set(body["summary"]) == set(sample["summary"])
    start, end = moment_of(RANGE_31["from"]), moment_of(RANGE_31["to"])
    visits = [
        c.visit
        for c in sb.state.customers.values()
        if c.org_id == constants.ORGANIZATION_ID
        and c.visit
        and moment_of(c.visit["started_at"]) <= end
        and moment_of(c.visit["ended_at"]) >= start
    ]
    views = sum(start <= moment_of(p["opened_at"]) <= end for v in visits for p in v["last_pages"])
    assert views > 0 and 0 < len(visits) < len(sb.state.customers)
    assert body["summary"] == {"unique_visitors": len(visits), "page_views": views}
    status, error = await report_error(
        client, "customers/unique_visitors", {"filters": {"greetings": RANGE_31}}
    )  # the customer reports document filters.from/to only
    assert (status, error["type"]) == (400, "validation")
    stats = await report_ok(
        client, "stats/unique_visitors", {"filters": RANGE_31}
    )  # the request sample's URL
    assert stats == body


@pytest.mark.parametrize(
    "path",
    [
        "chats/greetings_conversion",
        "chats/forms",
        "chats/queued_visitors_left",
        "customers/unique_visitors",
        "stats/unique_visitors",
    ],
)
async def test_the_new_methods_need_reports_read(client: httpx2.AsyncClient, path: str) -> None:
    status, error = await report_error(client, path, headers=NORMAL_PAT)
    assert (status, error["type"]) == (403, "authorization") and "reports_read" in error["message"]


async def test_the_documented_sample_filters_are_accepted_and_select_what_they_say(
    client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    sample = fixture(SAMPLES.parent / "filters.json")
    everything = await archived(client, RANGE_31)
    # The sample, moved to RANGE_31 (its 2021 range has no seeded chats) and to a seeded agent.
    moved = {**sample, **RANGE_31, "agents": {"values": [constants.AGENT_EMAIL, "jones@example.com"]}}
    expected = [
        t
        for t in everything
        if t["properties"].get("routing", {}).get("continuous") is True
        and {constants.AGENT_EMAIL, "jones@example.com"} & set(t["user_ids"])
        and "spam" not in t.get("tags", [])
        and any(e["type"] == "file" for e in t["events"])
    ]
    assert expected, "the seed has chats the sample's filters select"
    assert (await report_ok(client, "chats/total_chats", {"filters": moved}))["total"] == len(expected)
    assert (await report_ok(client, "chats/total_chats", {"filters": sample}))["total"] == 0
    # "Sample survey filter": `forms` entries with their own from/to and no other time pair.
    survey = fixture(SAMPLES.parent / "surveyFilter.json")
    assert (await report_ok(client, "chats/total_chats", {"filters": survey}))["total"] == 0
    support = [
        t
        for t in everything
        if any(
            e["type"] == "filled_form"
            and e.get("form_type") == "prechat"
            and any(f["type"] == "radio" and f["answer"]["id"] == "0" for f in e["fields"])
            for e in t["events"]
        )
    ]
    assert support
    forms_only = {"forms": [{"type": "pre_chat", **RANGE_31, "values": ["154417206262602571:0"]}]}
    body = await report_ok(client, "chats/total_chats", {"timezone": "UTC", "filters": forms_only})
    assert body["total"] == len(support) and list(body["records"]) == DAYS_31
    # Beside filters.from/to a form's window only bounds its forms.
    beside = {**RANGE_31, "forms": [{"type": "pre_chat", "exists": True, "from": RANGE_31["from"],
                                     "to": RANGE_31["from"]}]}  # fmt: skip
    assert (await report_ok(client, "chats/total_chats", {"filters": beside}))["total"] == 0
    status, error = await report_error(
        client, "chats/total_chats", {"filters": {"forms": [{"type": "pre_chat", "exists": True}]}}
    )
    assert (status, error["type"]) == (400, "validation") and "time filters" in error["message"]
    status, error = await report_error(client, "agents/performance", {"filters": forms_only})
    assert (status, error["type"]) == (400, "validation")  # the agents reports take filters.from/to only

    # Two entries with different windows: the pair spans the earliest `from` to the latest `to`.
    early = {"type": "pre_chat", "from": "2026-10-21T00:00:00Z", "to": "2026-10-25T23:59:59Z", "exists": True}
    late = {"type": "pre_chat", "from": "2026-11-10T00:00:00Z", "to": "2026-11-20T23:59:59Z"}
    spans = await report_ok(
        client, "chats/total_chats", {"timezone": "UTC", "filters": {"forms": [early, late]}}
    )
    assert list(spans["records"]) == DAYS_31
    assert spans["total"] == sum(
        any(e["type"] == "filled_form" and day_of(e["created_at"]) <= "2026-10-25" for e in t["events"])
        for t in everything
    )
    # By GET, `filters.forms[0].type` indexes the array.
    query = (
        "filters.forms[0].type=pre_chat&filters.forms[0].from=2026-10-21T00:00:00Z"
        "&filters.forms[0].to=2026-11-20T23:59:59Z&filters.forms[0].values=154417206262602571:0&timezone=UTC"
    )
    got = await client.get(f"/v3.6/reports/chats/total_chats?{query}", headers=SMITH_PAT)
    assert got.status_code == 200 and got.json() == body


@pytest.mark.parametrize(
    "body",
    [
        {"filters": {"surveys": 5, "forms": [{"from": RANGE_31["from"], "to": RANGE_31["to"]}]}},
        {"filters": {"surveys": True, "forms": [{"from": RANGE_31["from"], "to": RANGE_31["to"]}]}},
        {"filters": {**RANGE_31, "forms": [{"type": ["pre_chat"]}]}},
        {"filters": {**RANGE_31, "forms": [{"type": {}}]}},
        {"filters": {**RANGE_31, "greetings": {"values": [{"a": 1}]}}},
        {"filters": {"forms": [{"from": RANGE_31["from"], "to": "soon"}]}},
    ],
)
async def test_odd_bodies_are_validation_errors(client: httpx2.AsyncClient, body: Any) -> None:
    for path in ("chats/total_chats", "chats/forms", "chats/greetings_conversion"):
        status, error = await report_error(client, path, body)
        assert (status, error["type"]) == (400, "validation"), path


async def test_forms_report_an_answer_id_as_written_unless_it_is_a_number(
    client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    """A stored answer id "²" (str.isdigit() says yes, int() says no) stays a string."""
    chat_id = active_chat_of(sb)
    fields = [{"type": "radio", "id": "f1", "label": "Q", "answer": {"id": "²", "label": "two"}}]
    event = {"type": "filled_form", "form_id": "F1", "form_type": "prechat", "fields": fields}
    await ok(client, "send_event", {"chat_id": chat_id, "event": event})
    started = sb.state.chats[chat_id].last_thread.created_at
    window = {"from": started, "to": "2026-12-31T00:00:00Z"}
    body = await report_ok(client, "chats/forms", {"filters": window})
    mine = [r for r in body["records"] if r["form_id"] == "F1"]
    assert [f["answers"] for r in mine for f in r["fields"]] == [
        [{"answer_id": "²", "label": "two", "count": 1}]
    ]


def test_greetings_conversion_keeps_100_greetings_a_day() -> None:
    """ "The method will return only up to 100 values for each day": the lowest ids, in order."""
    day = _conversions(Counter({str(i): 1 for i in range(150, 0, -1)}))
    assert PER_DAY == 100 and list(day) == [str(i) for i in range(1, 101)]
