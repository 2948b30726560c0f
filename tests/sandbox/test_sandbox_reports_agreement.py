"""The sandbox's Reports API v3.6 agrees with the chats: for the same ``filters.from/to``, a
report counts exactly the threads list_archives returns, bucketed by ``thread.created_at``."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from statistics import fmean
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
import pytest

from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.sandbox.reports.agents import wilson_score

from .reports_testkit import RANGE_31, archived, customer_of, day_of, first_response, moment_of, report_ok
from .sandbox_testkit import ok

# -- agreement with the chats ------------------------------------------------------------------------
RANGES = [
    RANGE_31,
    {"from": "2026-11-14T00:00:00Z", "to": "2026-11-20T23:59:59.999999Z"},
    {"from": "2026-09-01T00:00:00-04:00", "to": "2026-10-15T12:30:00+02:00"},
]


@pytest.mark.parametrize("filters", RANGES)
async def test_total_chats_agrees_with_list_archives(client: httpx2.AsyncClient, filters: Any) -> None:
    threads = await archived(client, filters)
    body = await report_ok(client, "chats/total_chats", {"timezone": "UTC", "filters": filters})
    assert body["total"] == len(threads) > 0
    assert sum(r.get("total", 0) for r in body["records"].values()) == body["total"]
    per_day = Counter(day_of(t["created_at"]) for t in threads)
    assert {k: r.get("total", 0) for k, r in body["records"].items() if r} == dict(per_day)


async def test_range_edges_are_inclusive_like_list_archives(client: httpx2.AsyncClient) -> None:
    threads = sorted(await archived(client, RANGE_31), key=lambda t: t["created_at"])
    edges = {"from": threads[3]["created_at"], "to": threads[9]["created_at"]}
    assert len(await archived(client, edges)) == 7
    assert (await report_ok(client, "chats/total_chats", {"filters": edges}))["total"] == 7


async def test_filters_select_the_same_threads_as_list_archives(client: httpx2.AsyncClient) -> None:
    for extra in (
        {"agents": {"exists": False}},
        {"agents": {"values": ["jones@example.com", "miller@example.com"]}},
        {"tags": {"values": ["support", "complaint"], "require_every_value": False}},
        {"tags": {"exclude_values": ["spam"]}},
        {"event_types": {"values": ["file"]}},
    ):
        filters = {**RANGE_31, **extra}
        threads = await archived(client, filters)
        assert (await report_ok(client, "chats/total_chats", {"filters": filters}))["total"] == len(
            threads
        ), extra
    unassigned = await archived(client, {**RANGE_31, "agents": {"exists": False}})
    assert unassigned and all(len(t["user_ids"]) == 1 for t in unassigned)
    groups = await report_ok(
        client, "chats/total_chats", {"filters": {**RANGE_31, "groups": {"values": [1, 2]}}}
    )
    everything = await archived(client, RANGE_31)
    assert groups["total"] == sum(bool({1, 2} & set(t["access"]["group_ids"])) for t in everything)


PURPOSE = "154417206262602571"  # the seeded pre-chat form's "Chat purpose" field


def _prechat_answers(thread: Any) -> set[str] | None:
    """The answer ids of the thread's filled pre-chat form, None without one."""
    forms = [e for e in thread["events"] if e["type"] == "filled_form" and e.get("form_type") == "prechat"]
    if not forms:
        return None
    return {
        f"{field['id']}:{answer['id']}"
        for event in forms
        for field in event["fields"]
        for answer in field.get("answers", [field.get("answer")])
        if isinstance(answer, dict)
    }


async def test_sales_goals_greetings_forms_and_first_response_groups_select_threads(
    client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    everything = await archived(client, RANGE_31)

    async def total(extra: dict[str, Any]) -> int:
        body = {"filters": {**RANGE_31, **extra}}
        return int((await report_ok(client, "chats/total_chats", body))["total"])

    # The sandbox records no sales and no goals, so no thread has one.
    for name in ("sales", "goals"):
        assert await total({name: {"exists": True}}) == await total({name: {"values": [1]}}) == 0
        assert (
            await total({name: {"exists": False}})
            == await total({name: {"exclude_values": [1]}})
            == len(everything)
        )
    prechat = {t["id"]: _prechat_answers(t) for t in everything}
    filled = [i for i, a in prechat.items() if a is not None]
    support = [i for i, a in prechat.items() if a and f"{PURPOSE}:0" in a]
    assert 0 < len(support) < len(filled) < len(everything)
    assert await total({"forms": [{"type": "pre_chat"}]}) == len(everything)  # no condition in the entry
    assert await total({"forms": [{"type": "pre_chat", "exists": True}]}) == len(filled)
    assert await total({"forms": [{"type": "pre_chat", "exists": False}]}) == len(everything) - len(filled)
    assert await total({"forms": [{"type": "post_chat", "exists": True}]}) == 0  # none is seeded
    assert await total({"forms": [{"type": "pre_chat", "values": [f"{PURPOSE}:0"]}]}) == len(support)
    assert await total({"forms": [{"type": "pre_chat", "exclude_values": [f"{PURPOSE}:0"]}]}) == len(
        everything
    ) - len(support)
    before = {"from": "2020-01-01T00:00:00Z", "to": "2020-01-02T00:00:00Z"}
    assert await total({"forms": [{"type": "pre_chat", "exists": True, **before}]}) == 0
    in_one = [t for t in everything if t["id"] in filled and 1 in t["access"]["group_ids"]]
    in_group = {"type": "pre_chat", "exists": True, "groups": {"values": [1]}}
    assert await total({"forms": [in_group]}) == len(in_one)
    both = [{"type": "pre_chat", "exists": True}, {"type": "pre_chat", "values": [f"{PURPOSE}:0"]}]
    assert await total({"forms": both}) == len(support)  # every entry must match
    sales = [i for i, a in prechat.items() if a and f"{PURPOSE}:1" in a]
    assert sales and not set(sales) & set(support)
    either = [
        {"type": "pre_chat", "values": [f"{PURPOSE}:0"]},
        {"type": "pre_chat", "values": [f"{PURPOSE}:1"]},
    ]
    assert await total({"forms": either}) == 0  # one form, one purpose: no thread matches both entries
    one_entry = [{"type": "pre_chat", "values": [f"{PURPOSE}:0", f"{PURPOSE}:1"]}]
    assert await total({"forms": one_entry}) == len(support) + len(sales)  # any of an entry's values
    industry = "154417206262604640"  # a checkbox: several answers in one form
    assert any(a and {f"{industry}:0", f"{industry}:1"} <= a for a in prechat.values())
    assert await total({"forms": [{"type": "pre_chat", "values": [f"{industry}:1"]}]}) == sum(
        bool(a and f"{industry}:1" in a) for a in prechat.values()
    )

    greeting = {t["id"]: t["properties"].get("lc2", {}).get("greeting_id") for t in everything}
    assert 0 < sum(g == 2 for g in greeting.values()) < sum(g is not None for g in greeting.values())
    assert await total({"greetings": {"values": [2]}}) == sum(g == 2 for g in greeting.values())
    assert await total({"greetings": {"exists": False}}) == sum(g is None for g in greeting.values())
    greeted_in_one = [
        t for t in everything if greeting[t["id"]] is not None and 1 in t["access"]["group_ids"]
    ]
    assert await total({"greetings": {"groups": {"values": [1]}}}) == len(greeted_in_one)

    answered = [t for t in everything if first_response(t, customer_of(sb, t["chat_id"])) is not None]
    in_two = [t for t in answered if 2 in t["access"]["group_ids"]]
    assert 0 < len(in_two) < len(answered)
    assert await total({"agent_response": {"first": True, "groups": {"values": [2]}}}) == len(in_two)
    # "Works only if the agent_response.first filter is set to true."
    assert await total({"agent_response": {"groups": {"values": [2]}}}) == len(everything)


async def test_ratings_agree_with_the_thread_properties(client: httpx2.AsyncClient) -> None:
    threads = await archived(client, RANGE_31)
    body = await report_ok(client, "chats/ratings", {"timezone": "UTC", "filters": RANGE_31})
    expected: dict[str, Counter[str]] = {}
    for thread in threads:
        counts = expected.setdefault(day_of(thread["created_at"]), Counter())
        counts["chats"] += 1
        score = thread["properties"].get("rating", {}).get("score")
        if score is not None:
            counts["good" if score == 1 else "bad"] += 1
    assert {k: r for k, r in body["records"].items() if r} == {k: dict(v) for k, v in expected.items()}
    assert body["total"] == len(threads)
    assert (
        sum(r.get("good", 0) for r in body["records"].values())
        > sum(r.get("bad", 0) for r in body["records"].values())
        > 0
    )


async def test_continuous_and_engagement_agree_with_the_thread_properties(
    client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    """`continuous` counts the threads whose `routing.continuous` is true; engagement splits the
    threads by the author of their first authored event: an agent, or the customer with or
    without an `lc2.greeting_id`."""
    threads = await archived(client, RANGE_31)
    totals = await report_ok(client, "chats/total_chats", {"timezone": "UTC", "filters": RANGE_31})
    engagement = await report_ok(client, "chats/engagement", {"timezone": "UTC", "filters": RANGE_31})
    continuous: Counter[str] = Counter()
    started: dict[str, Counter[str]] = {
        "started_by_agent": Counter(),
        "started_by_customer_from_greeting": Counter(),
        "started_by_customer_without_greeting": Counter(),
    }
    for thread in threads:
        day, props = day_of(thread["created_at"]), thread["properties"]
        continuous[day] += props.get("routing", {}).get("continuous") is True
        starter = next(e["author_id"] for e in thread["events"] if e.get("author_id"))
        if starter != customer_of(sb, thread["chat_id"]):
            started["started_by_agent"][day] += 1
        elif props.get("lc2", {}).get("greeting_id") is not None:
            started["started_by_customer_from_greeting"][day] += 1
        else:
            started["started_by_customer_without_greeting"][day] += 1
    assert {k: r.get("continuous", 0) for k, r in totals["records"].items()} == {
        k: continuous[k] for k in totals["records"]
    }
    for key, per_day in started.items():
        assert {k: r.get(key, 0) for k, r in engagement["records"].items()} == {
            k: per_day[k] for k in engagement["records"]
        }, key
    by_agent, greeted = (
        sum(started[k].values()) for k in ("started_by_agent", "started_by_customer_from_greeting")
    )
    assert 0 < by_agent < greeted < sum(continuous.values()) < len(threads)


async def test_first_response_time_agrees_with_the_events(client: httpx2.AsyncClient, sb: Sandbox) -> None:
    threads = await archived(client, RANGE_31)
    body = await report_ok(client, "chats/first_response_time", {"timezone": "UTC", "filters": RANGE_31})
    times: dict[str, list[float]] = {}
    for thread in threads:
        seconds = first_response(thread, customer_of(sb, thread["chat_id"]))
        if seconds is not None:
            times.setdefault(day_of(thread["created_at"]), []).append(seconds)
    got = {k: r for k, r in body["records"].items() if r}
    assert set(got) == set(times)
    for day, values in times.items():
        assert got[day]["count"] == len(values)
        assert got[day]["first_response_time"] == pytest.approx(fmean(values), abs=0.006)


async def test_performance_and_ranking_agree_with_who_served(client: httpx2.AsyncClient, sb: Sandbox) -> None:
    threads = await archived(client, RANGE_31)
    perf = await report_ok(client, "agents/performance", {"filters": RANGE_31})
    ranking = (await report_ok(client, "chats/ranking", {"filters": RANGE_31}))["records"]
    records, summary = perf["records"], perf["summary"]
    for key in ("chats_count", "chats_rated_good", "chats_rated_bad", "first_response_chats_count"):
        assert sum(r[key] for r in records.values()) == summary[key]
    weighted = sum(r["first_response_time"] * r["first_response_chats_count"] for r in records.values())
    assert summary["first_response_time"] == pytest.approx(weighted / summary["first_response_chats_count"])
    for agent_id, record in records.items():
        mine = [t for t in threads if agent_id in t["user_ids"]]
        good = sum(t["properties"].get("rating", {}).get("score") == 1 for t in mine)
        bad = sum(t["properties"].get("rating", {}).get("score") == 0 for t in mine)
        assert (record["chats_count"], record["chats_rated_good"], record["chats_rated_bad"]) == (
            len(mine),
            good,
            bad,
        )
        assert record["logged_in_time"] == record["accepting_chats_time"] + record["not_accepting_chats_time"]
        if mine:
            assert ranking[agent_id] == {
                "total": len(mine),
                "good": good,
                "bad": bad,
                "score": wilson_score(good, bad),
            }
    assert summary["chats_count"] > 0 and set(ranking) <= set(records)


async def test_tags_agree_with_the_thread_tags(client: httpx2.AsyncClient) -> None:
    threads = await archived(client, RANGE_31)
    expected = Counter(tag for t in threads for tag in t.get("tags", []))
    usage = await report_ok(client, "tags/chat_usage", {"filters": RANGE_31})
    assert usage["records"] == dict(expected) and expected
    per_day = await report_ok(client, "chats/tags", {"timezone": "UTC", "filters": RANGE_31})
    summed: Counter[str] = Counter()
    for record in per_day["records"].values():
        summed.update(record)
    assert summed == expected


async def test_queued_visitors_agree_with_the_queues(client: httpx2.AsyncClient, sb: Sandbox) -> None:
    """`queued` are "visitors who waited in the queue and entered a chat": the served threads
    that waited, each for as long as its events show (from the start to the agent joining);
    visitors still waiting have entered no chat yet and are in neither bucket."""
    threads = await archived(client, RANGE_31)
    body = await report_ok(client, "chats/queued_visitors", {"timezone": "UTC", "filters": RANGE_31})
    queued = [r["queued"] for r in body["records"].values() if "queued" in r]
    kept = {
        t.id: t.queued_for for c in sb.state.chats.values() for t in c.threads if t.queued_for is not None
    }
    waits = []
    for thread in (t for t in threads if t["id"] in kept):
        joined = next(e for e in thread["events"] if e.get("system_message_type") == "routing.assigned")
        wait = (moment_of(joined["created_at"]) - moment_of(thread["created_at"])).total_seconds()
        assert wait == pytest.approx(kept[thread["id"]], abs=1e-6) and "queue" not in thread
        assert len(thread["user_ids"]) > 1  # an agent took it
        waits.append(wait)
    assert sum(q["count"] for q in queued) == len(waits) > 0
    assert min(waits) > 20 and max(waits) < 900 + 150 + 5 + 1  # the wait, a form's and the join's steps
    assert min(q["min"] for q in queued) == int(min(waits)) and max(q["max"] for q in queued) == int(
        max(waits)
    )
    assert any("queue" in t and t["active"] for t in threads)  # some still wait: counted nowhere
    unanswered = [t for t in threads if len(t["user_ids"]) == 1 and not t["active"]]
    assert sum(r["left_queue"]["count"] for r in body["records"].values() if "left_queue" in r) == len(
        unanswered
    )
    grouped = await report_ok(client, "tags/chat_usage", {"filters": {**RANGE_31, "groups": {"values": [2]}}})
    in_group = Counter(tag for t in threads if 2 in t["access"]["group_ids"] for tag in t.get("tags", []))
    assert grouped["records"] == dict(in_group)


async def test_a_visitor_an_agent_takes_from_the_queue_counts_as_queued(
    client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    """While a visitor waits they are in neither bucket; once an agent joins, they waited and
    entered a chat, for as long as they were in the queue."""
    chat = next(c for c in sb.state.org_chats(constants.ORGANIZATION_ID) if c.active and c.last_thread.queue)
    queued_at = moment_of(str(chat.last_thread.queue["queued_at"]))  # type: ignore[index]
    moment = {"from": chat.last_thread.created_at, "to": chat.last_thread.created_at}
    before = await report_ok(client, "chats/queued_visitors", {"timezone": "UTC", "filters": moment})
    add = {"chat_id": chat.id, "user_id": constants.AGENT_EMAIL, "user_type": "agent", "visibility": "all"}
    assert await ok(client, "add_user_to_chat", add | {"ignore_requester_presence": True}) == {}
    after = await report_ok(client, "chats/queued_visitors", {"timezone": "UTC", "filters": moment})
    waited = sb.clock.now() - queued_at
    assert before["total"] == after["total"] == 1 and all(not r for r in before["records"].values())
    (record,) = [r for r in after["records"].values() if r]
    assert record["queued"]["count"] == 1 and "left_queue" not in record
    assert 0 < waited.total_seconds() - record["queued"]["avg"] < 5  # joined just now
    assert chat.last_thread.queue is None


async def test_a_visitor_queued_twice_waits_for_both_and_counts_only_once_served(
    client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    """A transfer takes the visitor out of the queue; a transfer to an agent who is not accepting
    puts them back, and while they wait again they are in neither bucket; when an agent joins,
    their wait is both waits added up."""
    chat = next(c for c in sb.state.org_chats(constants.ORGANIZATION_ID) if c.active and c.last_thread.queue)
    chat.group_ids = chat.last_thread.group_ids = [0]
    thread = chat.last_thread
    moment = {"from": thread.created_at, "to": thread.created_at}

    async def queued() -> dict[str, Any]:
        body = await report_ok(client, "chats/queued_visitors", {"timezone": "UTC", "filters": moment})
        return next((r for r in body["records"].values() if r), {})

    here = {"id": chat.id, "ignore_requester_presence": True}
    waited_at = moment_of(str(thread.queue["queued_at"]))  # type: ignore[index]
    to_smith = {"target": {"type": "agent", "ids": [constants.AGENT_EMAIL]}}
    assert await ok(client, "transfer_chat", here | to_smith) == {}
    first = (sb.clock.now() - waited_at).total_seconds()
    assert thread.queue is None and (await queued())["queued"]["count"] == 1
    assert 0 <= first - (await queued())["queued"]["avg"] < 5

    sb.state.agents["jones@example.com"].routing_status = "not_accepting_chats"
    to_jones = {"target": {"type": "agent", "ids": ["jones@example.com"]}, "ignore_agents_availability": True}
    assert await ok(client, "transfer_chat", here | to_jones) == {}
    assert thread.queue is not None and await queued() == {}  # waiting again: in neither bucket
    sb.clock.advance(300)
    add = {"chat_id": chat.id, "user_id": constants.AGENT_EMAIL, "user_type": "agent", "visibility": "all"}
    assert await ok(client, "add_user_to_chat", add | {"ignore_requester_presence": True}) == {}
    again = (await queued())["queued"]
    assert again["count"] == 1 and 300 + first - 5 < again["avg"] < 300 + first + 5


async def test_timezone_moves_a_late_thread_to_the_next_day(client: httpx2.AsyncClient, sb: Sandbox) -> None:
    late = next(
        t.created_at
        for c in sb.state.org_chats(constants.ORGANIZATION_ID)
        for t in c.threads
        if t.created_at[11:13] == "23"
    )
    utc_day = date.fromisoformat(late[:10])
    moment = {"from": late, "to": late}  # both edges inclusive: exactly this thread
    in_utc = await report_ok(client, "chats/total_chats", {"timezone": "UTC", "filters": moment})
    in_warsaw = await report_ok(client, "chats/total_chats", {"timezone": "Europe/Warsaw", "filters": moment})
    assert in_utc["records"] == {utc_day.isoformat(): {"total": 1}}
    assert in_warsaw["records"] == {(utc_day + timedelta(days=1)).isoformat(): {"total": 1}}
    threads = await archived(client, RANGE_31)
    warsaw = await report_ok(client, "chats/total_chats", {"timezone": "Europe/Warsaw", "filters": RANGE_31})
    per_day = Counter(day_of(t["created_at"], "Europe/Warsaw") for t in threads)
    assert {k: r["total"] for k, r in warsaw["records"].items() if r} == dict(per_day)


async def test_distributions(client: httpx2.AsyncClient) -> None:
    day = {"from": "2026-11-19T00:00:00Z", "to": "2026-11-19T23:59:59Z"}
    total = (await report_ok(client, "chats/total_chats", {"timezone": "UTC", "filters": day}))["total"]
    hours = await report_ok(
        client, "chats/total_chats", {"timezone": "UTC", "distribution": "hour", "filters": day}
    )
    assert list(hours["records"]) == [f"2026-11-19 {h:02d}:00" for h in range(24)]
    day_hours = await report_ok(
        client, "chats/total_chats", {"timezone": "UTC", "distribution": "day-hours", "filters": RANGE_31}
    )
    assert list(day_hours["records"]) == [f"{h:02d}:00" for h in range(24)]
    months = await report_ok(
        client, "chats/total_chats", {"timezone": "UTC", "distribution": "month", "filters": RANGE_31}
    )
    years = await report_ok(
        client, "chats/total_chats", {"timezone": "UTC", "distribution": "year", "filters": RANGE_31}
    )
    assert list(months["records"]) == ["2026-10", "2026-11"] and list(years["records"]) == ["2026"]
    assert sum(r.get("total", 0) for r in hours["records"].values()) == total
    for body in (day_hours, months, years):
        assert sum(r.get("total", 0) for r in body["records"].values()) == body["total"]
    default = await report_ok(client, "chats/total_chats")  # last seven days, the agent's time zone
    today = datetime(2026, 11, 20, 12, tzinfo=UTC).astimezone(ZoneInfo("America/New_York")).date()
    assert list(default["records"]) == [(today - timedelta(days=6 - d)).isoformat() for d in range(7)]


async def test_availability_follows_the_work_schedules(client: httpx2.AsyncClient) -> None:
    week = {"from": "2026-11-09T00:00:00-05:00", "to": "2026-11-15T23:59:59-05:00"}  # Monday to Sunday
    body = await report_ok(client, "agents/availability", {"timezone": "America/New_York", "filters": week})
    hours = {k: r["hours"] for k, r in body["records"].items()}
    assert len(hours) == 7 and hours["2026-11-14"] == hours["2026-11-15"] == 0  # weekend: no shifts
    assert all(0 < hours[f"2026-11-{d}"] <= 24 for d in range(10, 14)) and hours["2026-11-09"] > 0
    assert body["total"] == pytest.approx(sum(hours.values()))
    by_hour = await report_ok(
        client,
        "agents/availability",
        {
            "distribution": "hour",
            "timezone": "UTC",
            "filters": {"from": "2026-11-10T00:00:00Z", "to": "2026-11-10T23:59:59Z"},
        },
    )
    minutes = [r["minutes"] for r in by_hour["records"].values()]
    assert len(minutes) == 24 and all(0 <= m <= 60 for m in minutes) and max(minutes) == 60
    future = {"from": "2026-11-23T00:00:00Z", "to": "2026-11-24T23:59:59Z"}
    assert (await report_ok(client, "agents/availability", {"filters": future}))["total"] == 0
    one = await report_ok(
        client, "agents/performance", {"filters": {**week, "agents": {"values": ["jones@example.com"]}}}
    )
    assert list(one["records"]) == ["jones@example.com"]
    assert one["records"]["jones@example.com"]["accepting_chats_time"] > 0
