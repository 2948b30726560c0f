"""The sandbox's greetings conversion, forms, queued visitors left and unique visitors reports:
the documented shapes, and agreement with the chats list_archives returns (and, for visitors,
with the customers' visits)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx2

from mcp_livechat.sandbox import Sandbox, constants

from .reports_testkit import DAYS_31, RANGE_31, SAMPLES, archived, day_of, moment_of, report_error, report_ok
from .sandbox_testkit import NORMAL_PAT, fixture

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
                    if field["type"] == "radio":
                        chosen[field["id"], field["answer"]["id"], group] += 1
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
    without = sum(not ({"name", "email"} & set(r["visitor"])) for r in body["records"].values())
    assert body["summary"] == {"left_without_details": without, "total_pages": 1}


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
    status, error = await report_error(client, "chats/forms", headers=NORMAL_PAT)
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
