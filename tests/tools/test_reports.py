"""Toolset `reports` through the SDK client, in both protocol eras, against the sandbox: the
reports agree with the sandbox's own chats, the requests are LiveChat's documented ones, and the
results stay small."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mcp_livechat.livechat.report_types import TotalChatsReport
from mcp_livechat.livechat.reports import CHATS_REPORTS
from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.tools.report_rows import expected_periods, periodic_table
from tests.conftest import Recorder
from tests.helpers import call, fail, raw_report, unknown_tool

WEEK = {"date_from": "2026-11-01", "date_to": "2026-11-07"}
MONTH = {"date_from": "2026-10-15", "date_to": "2026-11-14"}  # 31 days


def _threads_in(sandbox: Sandbox, start: str, end: str) -> list[Any]:
    """Account A's threads created within [start, end] (UTC days, inclusive)."""
    lo = datetime.fromisoformat(start).replace(tzinfo=UTC)
    hi = datetime.fromisoformat(end).replace(hour=23, minute=59, second=59, microsecond=999999, tzinfo=UTC)
    return [
        t
        for c in sandbox.state.chats.values()
        if c.organization_id == constants.ORGANIZATION_ID
        for t in c.threads
        if lo <= datetime.fromisoformat(t.created_at.replace("Z", "+00:00")) <= hi
    ]


async def test_total_chats_agrees_with_search_archives(connect: Callable[..., Any]) -> None:
    async with connect(toolsets="reports,chats") as client:
        report = await call(client, "chat_report", {"metric": "total_chats", **WEEK})
        found = await call(client, "search_archives", {**WEEK, "limit": 1})
        assert report["total"] == found["found"] == report["summary"]["chats"] > 0
        assert [row[0] for row in report["buckets"]] == [f"2026-11-0{d}" for d in range(1, 8)]
        for day, chats, _continuous in report["buckets"]:
            one_day = await call(client, "search_archives", {"date_from": day, "date_to": day, "limit": 1})
            assert chats == one_day["found"], day
        for narrow, search in (
            ({"group_ids": [1]}, {"group_ids": [1]}),
            ({"agent_ids": [constants.AGENT_EMAIL]}, {"agent_id": constants.AGENT_EMAIL}),
            ({"tags": ["spam"]}, {"tag": "spam"}),
        ):
            some = await call(client, "chat_report", {"metric": "total_chats", **WEEK, **narrow})
            hits = await call(client, "search_archives", {**WEEK, **search, "limit": 1})
            assert 0 < some["total"] == hits["found"] < report["total"], narrow
        assert report["columns"] == ["period", "chats", "continuous"]
        assert report["from"] == "2026-11-01T00:00:00+00:00"
        assert report["to"] == "2026-11-07T23:59:59.999999+00:00" and report["timezone"] == "UTC"
        assert "continuous" in report["meaning"]


async def test_ratings_equal_the_seeded_ratings(connect: Callable[..., Any], sandbox: Sandbox) -> None:
    scores = [
        t.properties.get("rating", {}).get("score") for t in _threads_in(sandbox, "2026-10-15", "2026-11-14")
    ]
    async with connect(toolsets="reports") as client:
        report = await call(client, "chat_report", {"metric": "ratings", **MONTH})
    assert report["summary"]["good"] == scores.count(1) > 0
    assert report["summary"]["bad"] == scores.count(0) > 0
    assert report["summary"]["chats"] == len(scores) == report["total"]
    assert sum(row[2] for row in report["buckets"]) == scores.count(1) and len(report["buckets"]) == 31


async def test_agent_report_adds_up_to_the_team(connect: Callable[..., Any]) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with connect(toolsets="reports") as client:
        result = await client.call_tool("agent_report", MONTH, progress_callback=on_progress)
        assert not result.is_error
        report = result.structured_content
        assert report is not None
        ranking = await call(client, "chat_report", {"metric": "ranking", **MONTH})
    columns, rows, team = report["columns"], report["agents"], report["team"]
    assert columns[:5] == ["agent", "chats", "good", "bad", "score"] and len(rows) == team["agents"] > 1
    assert sum(r[1] for r in rows) == team["chats"] > 0
    assert sum(r[2] for r in rows) == team["rated_good"] and sum(r[3] for r in rows) == team["rated_bad"]
    assert [r[1] for r in rows] == sorted((r[1] for r in rows), reverse=True)  # busiest first
    scores = {r[0]: r[4] for r in ranking["buckets"]}
    assert {r[0]: r[4] for r in rows} == scores  # joined with chats/ranking by agent id
    assert constants.AGENT_EMAIL in scores
    assert [p[0] for p in progress] == [0, 1, 2] and {p[1] for p in progress} == {2}


async def test_tag_report_most_used_first(connect: Callable[..., Any], sandbox: Sandbox) -> None:
    tagged: dict[str, int] = {}
    for thread in _threads_in(sandbox, "2026-10-15", "2026-11-14"):
        for tag in thread.tags:
            tagged[tag] = tagged.get(tag, 0) + 1
    async with connect(toolsets="reports") as client:
        report = await call(client, "tag_report", MONTH)
        daily = await call(client, "chat_report", {"metric": "tags", **MONTH})
    assert report["columns"] == ["tag", "chats"]
    assert dict((t, n) for t, n in report["tags"]) == tagged
    counts = [n for _, n in report["tags"]]
    assert counts == sorted(counts, reverse=True)
    assert {k: v for k, v in daily["summary"].items() if k != "other"} == {
        t: n for t, n in report["tags"][: len(daily["summary"])]
    }


async def test_the_client_sends_the_documented_request(
    connect: Callable[..., Any], recorder: Recorder
) -> None:
    async with connect(toolsets="reports", transport=recorder) as client:
        args = {"metric": "first_response_time", **WEEK, "distribution": "day", "timezone": "Europe/Warsaw",
                "group_ids": [0, 1], "agent_ids": [constants.AGENT_EMAIL], "tags": ["spam"]}  # fmt: skip
        report = await call(client, "chat_report", args)
        await call(client, "agent_report", {**WEEK, "group_ids": [1]})
        await call(client, "tag_report", {**WEEK, "group_ids": [1]})
    window = {"from": "2026-11-01T00:00:00+01:00", "to": "2026-11-07T23:59:59.999999+01:00"}
    first, performance, ranking, usage = recorder.sent
    assert first.path == "/v3.6/reports/chats/first_response_time"
    assert first.body == {
        "distribution": "day",
        "timezone": "Europe/Warsaw",
        # an agent's first response time: the chats they answered first, not any chat they were in
        "filters": {**window, "tags": {"values": ["spam"]}, "groups": {"values": [0, 1]},
                    "agent_response": {"first": True, "agents": {"values": [constants.AGENT_EMAIL]}}},
    }  # fmt: skip
    assert (report["from"], report["to"]) == (window["from"], window["to"])
    utc = {"from": "2026-11-01T00:00:00+00:00", "to": "2026-11-07T23:59:59.999999+00:00"}
    plain = {"timezone": "UTC", "filters": {**utc, "groups": {"values": [1]}}}
    assert (performance.path, performance.body) == ("/v3.6/reports/agents/performance", plain)
    assert (ranking.path, ranking.body) == ("/v3.6/reports/chats/ranking", plain)  # no distribution
    assert (usage.path, usage.body) == ("/v3.6/reports/tags/chat_usage", plain)


async def test_empty_periods_are_zeros(connect: Callable[..., Any]) -> None:
    """The seed has no chats a year before it: every day a row, none left out, its counts zeros
    and its averages null (an average of no chats is no number; 0 s would read as instant), the
    summary's averages left out."""
    averages = {
        "first_response_time": {"first_response_s"},
        "queued_visitors": {"queued_avg_s", "queued_max_s", "left_avg_s", "left_max_s"},
    }
    async with connect(toolsets="reports") as client:
        for metric in ("total_chats", "ratings", "first_response_time", "queued_visitors"):
            report = await call(client, "chat_report", {"metric": metric, "date_from": "2025-10-01",
                                                        "date_to": "2025-10-10"})  # fmt: skip
            assert len(report["buckets"]) == 10, metric
            nulls = averages.get(metric, set())
            for row in report["buckets"]:
                cells = dict(zip(report["columns"], row, strict=True))
                assert {k for k, v in cells.items() if v is None} == nulls, (metric, cells)
                assert {v for k, v in cells.items() if k != "period" and k not in nulls} == {0}, metric
            assert not nulls & set(report["summary"]), metric  # no average: left out of the summary
            assert set(report["summary"].values()) == {0}, metric


async def test_long_ranges_are_capped_with_a_note(connect: Callable[..., Any]) -> None:
    async with connect(toolsets="reports") as client:
        hourly = await call(client, "chat_report", {"metric": "total_chats", "date_from": "2026-10-15",
                                                    "date_to": "2026-11-14", "distribution": "hour"})  # fmt: skip
        daily = await call(client, "chat_report", {"metric": "total_chats", **MONTH})
        year = await call(client, "chat_report", {"metric": "ratings", "date_from": "2025-11-15",
                                                  "date_to": "2026-11-14"})  # fmt: skip
    assert len(hourly["buckets"]) == 400 and "400 of 744" in hourly["note"] and "date_from" in hourly["note"]
    assert (
        hourly["summary"]["chats"] == daily["summary"]["chats"] == hourly["total"]
    )  # the summary covers all
    assert hourly["buckets"][0][0] == "2026-10-15 00:00"
    assert len(year["buckets"]) == 365 and "note" not in year


async def test_bad_arguments_name_the_argument(connect: Callable[..., Any]) -> None:
    async with connect(toolsets="reports") as client:
        unknown = await fail(client, "chat_report", {"metric": "happiness", **WEEK})
        backwards = await fail(client, "chat_report", {"metric": "ratings", "date_from": "2026-11-07",
                                                       "date_to": "2026-11-01"})  # fmt: skip
        too_long = await fail(client, "agent_report", {"date_from": "2025-01-01", "date_to": "2026-11-01"})
        hourly = await fail(client, "chat_report", {"metric": "ratings", "distribution": "hour",
                                                    "date_from": "2026-09-01", "date_to": "2026-11-01"})  # fmt: skip
        zone = await fail(client, "tag_report", {**WEEK, "timezone": "Mars/Olympus_Mons"})
        day = await fail(client, "tag_report", {"date_from": "last monday", "date_to": "2026-11-01"})
    assert "metric" in unknown and "total_chats" in unknown
    assert backwards.startswith("date_to") and "date_from" in backwards
    assert too_long.startswith("date_to") and "366 days" in too_long
    assert hourly.startswith("date_to") and "31 days" in hourly
    assert "timezone" in zone and "IANA" in zone
    assert "date_from" in day


async def test_without_reports_read_the_scope_is_named(connect: Callable[..., Any]) -> None:
    normal = (constants.NORMAL_AGENT_ACCOUNT_ID, constants.NORMAL_AGENT_PAT)
    async with connect(toolsets="reports", as_agent=normal) as client:
        for name, args in (
            ("chat_report", {"metric": "total_chats", **WEEK}),
            ("agent_report", WEEK),
            ("tag_report", WEEK),
        ):
            text = await fail(client, name, args)
            assert "reports_read" in text and "scope" in text, name


@pytest.mark.parametrize("metric", sorted(CHATS_REPORTS))
async def test_a_31_day_daily_report_is_smaller_than_livechats_json(
    connect: Callable[..., Any], recorder: Recorder, sandbox: Sandbox, metric: str
) -> None:
    """Measured against the sandbox's raw JSON for the same request (compact, as sent). The
    issue's goal of 1/4 is not reached: the fixed part (range, meaning, summary, columns) is about
    300 bytes and each period keeps its label; see BENCHMARKS.md for the numbers."""
    async with connect(toolsets="reports", transport=recorder) as client:
        result = await client.call_tool("chat_report", {"metric": metric, **MONTH})
    assert not result.is_error
    ours = len(result.content[0].text.encode())
    raw = await raw_report(sandbox, recorder.sent[-1])
    records = json.loads(raw)["records"]
    assert len(records) == (31 if metric != "ranking" else len(records))
    assert ours <= SIZE_BOUND[metric] * len(raw), (metric, ours, len(raw))


# result bytes / raw bytes, measured on the seeded sandbox (2026-10-15..2026-11-14), plus ~10%
SIZE_BOUND = {
    "total_chats": 0.86,
    "duration": 0.6,
    "response_time": 0.73,
    "first_response_time": 0.66,
    "ratings": 0.87,
    "ranking": 1.15,
    "engagement": 0.42,
    "tags": 0.8,
    "groups": 1.0,
    "queued_visitors": 0.65,
}


async def test_reports_are_not_offered_by_default(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        listed = {t.name for t in (await client.list_tools()).tools}
        refused = await unknown_tool(client, "chat_report", {"metric": "total_chats", **WEEK})
    assert not listed & {"chat_report", "agent_report", "tag_report"}
    assert "toolset 'reports' is not enabled" in refused
    async with connect(toolsets="all") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    for name in ("chat_report", "agent_report", "tag_report"):
        assert tools[name].annotations is not None and tools[name].annotations.read_only_hint is True
        assert tools[name].input_schema["required"] == (["metric"] if name == "chat_report" else []) + [
            "date_from",
            "date_to",
        ]
    arguments = {name: list(tools[name].input_schema["properties"]) for name in tools}
    assert arguments["chat_report"] == ["metric", "date_from", "date_to", "distribution", "group_ids",
                                        "agent_ids", "tags", "timezone"]  # fmt: skip
    assert arguments["agent_report"] == ["date_from", "date_to", "agent_ids", "group_ids", "timezone"]
    assert arguments["tag_report"] == ["date_from", "date_to", "group_ids", "timezone"]


async def test_hourly_periods_follow_daylight_saving_time(connect: Callable[..., Any]) -> None:
    """Warsaw's 2026-03-29 has 23 hours and 2026-10-25 has 25 (02:00 twice, one label)."""
    async with connect(toolsets="reports") as client:
        for start, end, hours in (("2026-03-28", "2026-03-30", 71), ("2026-10-24", "2026-10-26", 72)):
            args = {"metric": "total_chats", "date_from": start, "date_to": end, "timezone": "Europe/Warsaw"}
            hourly = await call(client, "chat_report", {**args, "distribution": "hour"})
            daily = await call(client, "chat_report", args)
            assert len(hourly["buckets"]) == hours  # LiveChat's keys are ours
            if hours == 72:  # 02:00 is one row for two hours, and says so
                assert hourly["note"].startswith("2026-10-25 02:00: the clocks went back")
            else:
                assert "note" not in hourly
            assert hourly["summary"]["chats"] == daily["summary"]["chats"] == daily["total"]


def test_rows_of_the_documented_example() -> None:
    example = (
        Path(__file__).parents[1] / "fixtures/data-reporting/v3.6/reports-api/responses/chats/totalChats.json"
    )
    report = TotalChatsReport.model_validate_json(example.read_bytes())
    del report.records["2021-04-14"]  # a period LiveChat left out reads like an empty one
    days = expected_periods(
        "day", datetime(2021, 4, 8, tzinfo=UTC), datetime(2021, 4, 15, 23, 59, tzinfo=UTC)
    )
    table = periodic_table("total_chats", report.records, days)
    assert [row[0] for row in table.rows] == days and len(days) == 8
    assert table.rows[4] == ["2021-04-12", 0, 0] and table.rows[6] == ["2021-04-14", 0, 0]
    assert table.summary == {"chats": 369, "continuous": 156} and not table.notes
    odd = periodic_table("total_chats", {"2021-04-08 (Thu)": report.records["2021-04-08"]}, days)
    assert [row[0] for row in odd.rows] == ["2021-04-08 (Thu)"] and "own labels" in odd.notes[0]


async def test_an_offset_with_seconds_is_sent_in_utc(connect: Callable[..., Any], recorder: Recorder) -> None:
    """Africa/Monrovia was 44 min 30 s behind UTC until 1972: RFC 3339 has no seconds in an offset,
    so that range goes in UTC, the same instants, and LiveChat's days stay Monrovia's."""
    async with connect(toolsets="reports", transport=recorder) as client:
        args = {"metric": "total_chats", "date_from": "1971-03-01", "date_to": "1971-03-02",
                "timezone": "Africa/Monrovia"}  # fmt: skip
        report = await call(client, "chat_report", args)
    (sent,) = recorder.sent
    window = {"from": "1971-03-01T00:44:30+00:00", "to": "1971-03-03T00:44:29.999999+00:00"}
    assert sent.body["filters"] == window and sent.body["timezone"] == "Africa/Monrovia"
    assert (report["from"], report["to"]) == (window["from"], window["to"])
    assert [row[0] for row in report["buckets"]] == ["1971-03-01", "1971-03-02"]
