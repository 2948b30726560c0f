"""The reports toolset on the cases a reviewer tried as a support lead's agent would: filters that
match other agents or nothing, dates that are no dates, tags named like our columns, periods cut
short by the range or doubled by the clock, and what LiveChat's undocumented shapes may carry."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2

from mcp_livechat.livechat.report_types import ChatUsageReport, TagsReport, TotalChatsReport
from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.tools.report_rows import MAX_SPLIT, periodic_table
from tests.conftest import Recorder
from tests.helpers import call, fail
from tests.other_readings import Forward, OtherReading

MONTH = {"date_from": "2026-10-15", "date_to": "2026-11-14"}
SMITH = constants.AGENT_EMAIL


def _member_free_group(sandbox: Sandbox) -> int:
    """A group of account A with chats in MONTH and no agent in it."""
    members = {g for a in sandbox.state.org_agents(constants.ORGANIZATION_ID) for g in a.groups}
    with_chats = {
        g
        for c in sandbox.state.chats.values()
        if c.organization_id == constants.ORGANIZATION_ID and c.threads[-1].created_at >= "2026-10-15"
        for g in c.group_ids
    }
    return min(with_chats - members)


async def test_agent_report_lists_only_the_agents_asked_for(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    """chats/ranking filters chats, not agents: whoever else served smith's chats is in it, and
    must not become a row or break the team's sum."""
    async with connect(toolsets="reports") as client:
        ranking = await call(client, "chat_report", {"metric": "ranking", **MONTH, "agent_ids": [SMITH]})
        mine = await call(client, "agent_report", {**MONTH, "agent_ids": [SMITH]})
        lonely = _member_free_group(sandbox)
        grouped = await call(client, "agent_report", {**MONTH, "group_ids": [lonely]})
        grouped_ranking = await call(
            client, "chat_report", {"metric": "ranking", **MONTH, "group_ids": [lonely]}
        )
    assert [row[0] for row in ranking["buckets"]] == [SMITH]
    assert [row[0] for row in mine["agents"]] == [SMITH] and mine["team"]["agents"] == 1
    assert mine["team"]["chats"] == mine["agents"][0][1] > 0
    assert mine["team"]["rated_good"] == mine["agents"][0][2]
    assert grouped_ranking["buckets"]  # its chats were served by agents of other groups
    # whichever agents LiveChat lists for the group, the team is their sum (here: none)
    assert grouped["team"]["agents"] == len(grouped["agents"])
    assert grouped["team"]["chats"] == sum(row[1] for row in grouped["agents"])
    assert grouped["agents"] or "No agents in this range match" in grouped["note"]


async def test_the_team_is_livechats_summary_for_exactly_its_agents(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    """Without a filter the team is LiveChat's own summary, even were it not the rows' sum; an
    agent LiveChat lists beyond those asked for is left out, and the team then adds up the rows;
    an empty list is no filter."""

    async def odd_summary(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        answer = json.loads(await (await forward()).aread())
        answer["summary"]["chats_count"] += 100
        if "agents" in body.get("filters", {}):
            answer["records"]["brown@example.com"] = {"chats_count": 9, "chats_rated_good": 9}
        return httpx2.Response(200, json=answer)

    reading = OtherReading(sandbox.transport(), {"/reports/agents/performance": odd_summary})
    async with connect(toolsets="reports", transport=reading) as client:
        everyone = await call(client, "agent_report", MONTH)
        empty = await call(client, "agent_report", {**MONTH, "agent_ids": []})
        mine = await call(client, "agent_report", {**MONTH, "agent_ids": [SMITH, "nobody@example.com"]})
    assert everyone["team"]["chats"] == sum(row[1] for row in everyone["agents"]) + 100
    assert empty == everyone
    assert [row[0] for row in mine["agents"]] == [SMITH] and mine["team"]["chats"] == mine["agents"][0][1]
    assert "No row for nobody@example.com" in mine["note"]


async def test_agent_ids_are_taken_as_spelt(connect: Callable[..., Any]) -> None:
    """LiveChat filtered the chats by the ids as sent: a row spelt otherwise counts other chats
    (here smith's share of brown's), so it is not shown as the agent asked for."""
    asked = {**MONTH, "agent_ids": [SMITH.upper(), "brown@example.com"]}
    async with connect(toolsets="reports") as client:
        ranking = await call(client, "chat_report", {"metric": "ranking", **asked})
        report = await call(client, "agent_report", asked)
    for rows, note in ((ranking["buckets"], ranking["note"]), (report["agents"], report["note"])):
        assert [row[0] for row in rows] == ["brown@example.com"], rows
        assert f"No row for {SMITH.upper()}" in note


async def test_agents_only_in_the_ranking_are_kept_and_added_up(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    """Without a filter, an agent LiveChat ranks but leaves out of agents/performance keeps its
    counts; the team then adds up the rows instead of quoting LiveChat's summary."""

    async def extra_agent(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        response = await forward()
        answer = json.loads(await response.aread())
        answer["records"]["ghost@example.com"] = {"total": 5, "good": 2, "bad": 1, "score": 0.2}
        return httpx2.Response(200, json=answer)

    reading = OtherReading(sandbox.transport(), {"/reports/chats/ranking": extra_agent})
    async with connect(toolsets="reports", transport=reading) as client:
        report = await call(client, "agent_report", MONTH)
    rows = {row[0]: row for row in report["agents"]}
    assert rows["ghost@example.com"][1:4] == [5, 2, 1] and rows["ghost@example.com"][5:] == [None] * 5
    assert report["team"]["agents"] == len(rows)
    assert report["team"]["chats"] == sum(row[1] for row in rows.values())
    assert report["team"]["rated_bad"] == sum(row[3] for row in rows.values())
    assert "only in LiveChat's ranking" in report["note"]


async def test_an_agent_without_first_responses_has_no_first_response_time(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    """An agent who only took over chats answered no customer's first message: LiveChat's
    `first_response_time` is an average over `first_response_chats_count` chats, here none, so
    the row says null (whether LiveChat sends 0 or leaves the keys out), never a fastest 0 s."""

    async def no_first_responses(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        response = await forward()
        answer = json.loads(await response.aread())
        answer["records"][SMITH].update(first_response_chats_count=0, first_response_time=0)
        for key in ("first_response_chats_count", "first_response_time"):
            answer["records"]["brown@example.com"].pop(key)
        return httpx2.Response(200, json=answer)

    reading = OtherReading(sandbox.transport(), {"/reports/agents/performance": no_first_responses})
    async with connect(toolsets="reports", transport=reading) as client:
        report = await call(client, "agent_report", MONTH)
    column = report["columns"].index("first_response_s")
    rows = {row[0]: row for row in report["agents"]}
    assert rows[SMITH][column] is None and rows["brown@example.com"][column] is None
    assert rows[SMITH][1] > 0 and isinstance(rows[SMITH][column + 1], int)  # its other times stay
    others = [row[column] for agent, row in rows.items() if agent not in (SMITH, "brown@example.com")]
    assert others and all(isinstance(value, int) and value > 0 for value in others)


async def test_a_team_without_first_responses_has_no_first_response_time(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    async def nobody_answered(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        answer = json.loads(await (await forward()).aread())
        for record in [*answer["records"].values(), answer["summary"]]:
            record.update(first_response_chats_count=0, first_response_time=0)
        return httpx2.Response(200, json=answer)

    async def a_ghost(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        answer = json.loads(await (await forward()).aread())
        answer["records"]["ghost@example.com"] = {"total": 5, "good": 2, "bad": 1, "score": 0.2}
        return httpx2.Response(200, json=answer)

    reading = OtherReading(
        sandbox.transport(),
        {"/reports/agents/performance": nobody_answered, "/reports/chats/ranking": a_ghost},
    )
    async with connect(toolsets="reports", transport=reading) as client:
        whole = await call(client, "agent_report", MONTH)  # a ghost in the ranking: the rows added up
        mine = await call(client, "agent_report", {**MONTH, "agent_ids": [SMITH]})  # LiveChat's summary
    assert "the team adds up the rows" in whole["note"] and "note" not in mine
    for report in (whole, mine):
        assert report["team"]["first_response_chats"] == 0 and "first_response_s" not in report["team"]
        assert report["team"]["chats"] > 0


async def test_dates_must_be_written_as_days_or_rfc3339(connect: Callable[..., Any]) -> None:
    async with connect(toolsets="reports,chats") as client:
        compact = await fail(client, "chat_report", {"metric": "total_chats", "date_from": "20261101",
                                                      "date_to": "2026-11-07"})  # fmt: skip
        number = await fail(client, "agent_report", {"date_from": 1762000000, "date_to": "2026-11-07"})
        far = await fail(client, "tag_report", {"date_from": "9999-12-31", "date_to": "9999-12-31"})
        early = await fail(client, "chat_report", {"metric": "total_chats", "date_from": "0001-01-01",
                                                    "date_to": "0001-01-01", "timezone": "Asia/Kolkata"})  # fmt: skip
        archive = await fail(client, "search_archives", {"date_to": "20261107"})
        # without an offset, midnight would be read as the whole day (48 hours here, not 24)
        midnight = await fail(client, "chat_report", {"metric": "total_chats", "date_from": "2026-11-01T00:00:00",
                                                       "date_to": "2026-11-02T00:00:00"})  # fmt: skip
        spaced = await fail(client, "search_archives", {"date_from": "2026-11-02 00:00"})
        naive = await fail(
            client, "tag_report", {"date_from": "2026-11-01", "date_to": "2026-11-02T09:00:00"}
        )
        day = await call(client, "chat_report", {"metric": "total_chats", "date_from": "2026-11-01",
                                                 "date_to": "2026-11-01"})  # fmt: skip
        hours = await call(client, "chat_report", {"metric": "total_chats", "date_from": "2026-11-01T00:00Z",
                                                   "date_to": "2026-11-01t23:59:59.999999+00:00"})  # fmt: skip
    for text in (compact, number, archive, midnight, spaced, naive):
        assert "2026-11-01" in text and "RFC 3339" in text and "offset" in text, text
    assert "date_from" in midnight and "date_from" in spaced and "date_to" in naive
    assert hours["total"] == day["total"] > 0 and hours["to"] == day["to"]
    assert "date_from" in compact and "date_from" in number and "date_to" in archive
    assert "date_from" in far and "between 1970 and 9000" in far
    assert "date_from" in early and "filters.from" not in early


async def test_columns_stay_distinct_when_tags_are_named_like_them(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    names = ["period", "other tags", *(f"extra {i}" for i in range(MAX_SPLIT))]
    threads = [
        t
        for c in sandbox.state.chats.values()
        if c.organization_id == constants.ORGANIZATION_ID
        for t in c.threads
        if t.created_at.startswith("2026-11-0")
    ]
    for i, thread in enumerate(threads):  # "period" and "other tags" on many, the extras on few
        thread.tags = sorted({*thread.tags, names[0], names[1] if i % 2 else names[2 + i % MAX_SPLIT]})
    days = {"date_from": "2026-11-01", "date_to": "2026-11-09"}
    async with connect(toolsets="reports") as client:
        report = await call(client, "chat_report", {"metric": "tags", **days})
        usage = dict(map(tuple, (await call(client, "tag_report", days))["tags"]))
    columns = report["columns"]
    assert len(columns) == len(set(columns)) == MAX_SPLIT + 2 and columns[0] == "period"
    assert "period (2)" in columns and columns[-1] == "other tags (2)"  # the rest, after the real tag
    assert report["summary"]["period (2)"] == usage["period"] == len(threads)
    assert report["summary"]["other tags"] == usage["other tags"]
    shown = {c for c in columns[1:-1]}
    rest = sum(n for tag, n in usage.items() if tag not in shown and tag not in ("period",))
    assert report["summary"]["other tags (2)"] == rest > 0


async def test_notes_say_what_the_rows_alone_would_not(connect: Callable[..., Any]) -> None:
    async with connect(toolsets="reports") as client:
        offset = await call(client, "chat_report", {"metric": "total_chats", "date_from": "2026-11-01T00:00:00+01:00",
                                                     "date_to": "2026-11-07T23:59:59+01:00"})  # fmt: skip
        monthly = await call(
            client, "chat_report", {"metric": "total_chats", **MONTH, "distribution": "month"}
        )
        whole = await call(client, "chat_report", {"metric": "total_chats", **MONTH})
        nothing = await call(client, "chat_report", {"metric": "ratings", **MONTH, "tags": ["no such tag"]})
        warsaw = await call(
            client, "chat_report", {"metric": "total_chats", **MONTH, "timezone": "Europe/Warsaw"}
        )
        seconds = await call(client, "chat_report", {"metric": "total_chats", "date_from": "2026-11-01T00:00:00Z",
                                                      "date_to": "2026-11-07T23:59:59Z"})  # fmt: skip
        hourly = await call(client, "chat_report", {"metric": "total_chats", "distribution": "hour",
                                                     "date_from": "2026-11-01T09:30:00Z",
                                                     "date_to": "2026-11-01T17:00:00Z"})  # fmt: skip
        whole_hours = await call(client, "chat_report", {"metric": "total_chats", "distribution": "hour",
                                                          "date_from": "2026-11-01T09:00:00Z",
                                                          "date_to": "2026-11-01T16:59:59Z"})  # fmt: skip
        untagged = await call(client, "tag_report", {**MONTH, "group_ids": [999]})
    assert [row[0] for row in offset["buckets"]][:1] == ["2026-10-31"] and len(offset["buckets"]) == 8
    assert "only part of it" in offset["note"]
    assert [row[0] for row in monthly["buckets"]] == ["2026-10", "2026-11"] and "only part" in monthly["note"]
    assert "note" not in whole
    assert nothing["total"] == 0 and "No chats in this range match the filters" in nothing["note"]
    assert "note" not in warsaw and "note" not in seconds and "note" not in whole_hours
    assert hourly["buckets"][0][0] == "2026-11-01 09:00" and "inside an hour" in hourly["note"]
    assert untagged["tags"] == [] and "No tagged chats" in untagged["note"]


async def test_time_zone_names_in_any_letter_case(connect: Callable[..., Any], recorder: Recorder) -> None:
    async with connect(toolsets="reports", transport=recorder) as client:
        lower = await call(
            client, "chat_report", {"metric": "total_chats", **MONTH, "timezone": "europe/warsaw"}
        )
        await call(client, "tag_report", {**MONTH, "timezone": "utc"})
    assert lower["timezone"] == "Europe/Warsaw" and lower["from"] == "2026-10-15T00:00:00+02:00"
    assert [r.body["timezone"] for r in recorder.sent] == ["Europe/Warsaw", "UTC"]


async def test_range_limits_follow_what_each_report_takes(connect: Callable[..., Any]) -> None:
    two_months = {"date_from": "2026-09-01", "date_to": "2026-11-01"}
    async with connect(toolsets="reports") as client:
        # ranking ignores the distribution, so the hourly limit does not bind it
        ranking = await call(
            client, "chat_report", {"metric": "ranking", "distribution": "hour", **two_months}
        )
        hourly = await fail(
            client, "chat_report", {"metric": "ratings", "distribution": "hour", **two_months}
        )
        plain = await fail(client, "agent_report", {"date_from": "2025-01-01", "date_to": "2026-11-01"})
    assert ranking["buckets"] and "distribution" not in ranking
    assert "31 days" in hourly and "coarser distribution" in hourly
    assert "366 days" in plain and "distribution" not in plain


def test_map_buckets_keep_only_their_counts() -> None:
    """v2.0's month buckets carry `begin`/`end` dates beside the numbers; LiveChat's v3.6 shows map
    buckets for days only, so a tag named by a date string must not appear."""
    report = TagsReport.model_validate(
        {
            "records": {
                "2026-10": {"begin": "2026-10-15", "end": "2026-10-31", "spam": 3, "vip": 2.0},
                "2026-11": {"spam": None, "sales": 1},
            }
        }
    )
    assert report.records == {"2026-10": {"spam": 3, "vip": 2}, "2026-11": {"sales": 1}}
    table = periodic_table("tags", report.records, ["2026-10", "2026-11"])
    assert table.columns == ["period", "spam", "vip", "sales"] and table.rows[1] == ["2026-11", 0, 0, 1]
    usage = ChatUsageReport.model_validate({"records": {"spam": 4, "flag": True, "odd": "x"}})
    assert usage.records == {"spam": 4}


def test_days_of_a_default_range_are_filled() -> None:
    """LiveChat's default range (no from/to sent): the days between the first and last it sent
    are all rows, also one it left out."""
    sent = {"2026-11-14": {"total": 3}, "2026-11-16": {"total": 2}, "2026-11-17": {}}
    records = TotalChatsReport.model_validate({"records": sent}).records
    table = periodic_table("total_chats", records, None)
    assert [row[:2] for row in table.rows] == [["2026-11-14", 3], ["2026-11-15", 0], ["2026-11-16", 2],
                                               ["2026-11-17", 0]]  # fmt: skip
    assert not table.notes
    hourly = TotalChatsReport.model_validate({"records": {"13:00": {"total": 1}}}).records
    hours = periodic_table("total_chats", hourly, None)
    assert [row[0] for row in hours.rows] == ["13:00"]


async def test_days_and_ranges_hold_where_clocks_go_back(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    """America/Santiago's clocks go back at midnight on 2026-04-05: 23:00-23:59 of 4 April happen
    twice, and a chat in the second of them belongs to 4 April, not to neither day. In New York,
    01:45 EDT to 01:15 EST on 2026-11-01 is half an hour, not a range that ends before it starts."""
    thread = next(c for c in sandbox.state.chats.values() if c.organization_id == constants.ORGANIZATION_ID
                  and not c.threads[-1].active).threads[-1]  # fmt: skip
    thread.created_at = "2026-04-05T03:30:00.000000Z"  # 23:30 -04:00, the second 23:30 of 4 April
    santiago = {"metric": "total_chats", "timezone": "America/Santiago"}
    async with connect(toolsets="reports") as client:
        fourth = await call(
            client, "chat_report", {**santiago, "date_from": "2026-04-04", "date_to": "2026-04-04"}
        )
        fifth = await call(
            client, "chat_report", {**santiago, "date_from": "2026-04-05", "date_to": "2026-04-05"}
        )
        half_hour = await call(client, "chat_report", {"metric": "total_chats", "distribution": "hour",
                                                       "timezone": "America/New_York",
                                                       "date_from": "2026-11-01T01:45:00-04:00",
                                                       "date_to": "2026-11-01T01:15:00-05:00"})  # fmt: skip
    assert fourth["to"] == "2026-04-04T23:59:59.999999-04:00" and fifth["from"] == "2026-04-05T00:00:00-04:00"
    assert fourth["total"] == 1 and fifth["total"] == 0
    assert half_hour["from"] == "2026-11-01T01:45:00-04:00" and half_hour["to"] == "2026-11-01T01:15:00-05:00"
    assert [row[0] for row in half_hour["buckets"]] == ["2026-11-01 01:00"]


async def test_a_month_of_hours_across_clocks_going_back_is_31_days(connect: Callable[..., Any]) -> None:
    """October 2026 in Warsaw lasts 31 days and an hour; the limit counts calendar days. A day
    whose clocks skip from 23:00 to midnight (America/Nuuk, 2026-03-28) is a whole day."""
    async with connect(toolsets="reports") as client:
        october = await call(client, "chat_report", {"metric": "total_chats", "distribution": "hour",
                                                     "date_from": "2026-10-01", "date_to": "2026-10-31",
                                                     "timezone": "Europe/Warsaw"})  # fmt: skip
        longer = await fail(client, "chat_report", {"metric": "total_chats", "distribution": "hour",
                                                    "date_from": "2026-10-01", "date_to": "2026-11-01",
                                                    "timezone": "Europe/Warsaw"})  # fmt: skip
        nuuk = await call(client, "chat_report", {"metric": "total_chats", "date_from": "2026-03-28",
                                                  "date_to": "2026-03-28", "timezone": "America/Nuuk"})  # fmt: skip
    assert "of 744 periods" in october["note"] and "the clocks went back" in october["note"]  # 31 x 24
    assert "falls inside" not in october["note"]
    assert "date_to" in longer and "31 days" in longer
    assert nuuk["to"] == "2026-03-28T22:59:59.999999-02:00" and "falls inside" not in (nuuk.get("note") or "")


async def test_an_agent_id_longer_than_an_email_is_refused_briefly(connect: Callable[..., Any]) -> None:
    """The notes name the agents asked for; an id of 20,000 characters would come back in them."""
    async with connect(toolsets="reports") as client:
        text = await fail(client, "chat_report", {"metric": "ranking", **MONTH,
                                                  "agent_ids": [SMITH, *("x" * 20_000 for _ in range(12))]})  # fmt: skip
        longest = await call(
            client, "agent_report", {**MONTH, "agent_ids": [SMITH, "a" * 242 + "@example.com"]}
        )
    assert "agent_ids" in text and "254" in text and len(text) < 1_000, text
    assert "a" * 242 in longest["note"] and [row[0] for row in longest["agents"]] == [SMITH]


async def test_an_average_wait_never_reads_above_its_max(connect: Callable[..., Any]) -> None:
    """LiveChat sends a wait's `avg` unrounded and its min/max whole: a day with one wait of
    844.6 s must not read avg 845, max 844."""
    async with connect(toolsets="reports") as client:
        report = await call(client, "chat_report", {"metric": "queued_visitors", **MONTH})
    columns = report["columns"]
    checked = 0
    for row in report["buckets"]:
        cells = dict(zip(columns, row, strict=True))
        for part in ("queued", "left"):
            if cells[part]:
                assert cells[f"{part}_avg_s"] <= cells[f"{part}_max_s"], row
                checked += 1
            if cells[part] == 1:
                assert cells[f"{part}_avg_s"] == cells[f"{part}_max_s"], row
    assert checked > 20
    summary = report["summary"]
    assert 0 < summary["queued_avg_s"] <= summary["queued_max_s"]


async def test_queued_visitors_with_filters_says_they_may_not_apply(connect: Callable[..., Any]) -> None:
    """LiveChat lists queued_visitors with the customer reports, documented with a time range
    only: numbers sent back for a filtered request may be the whole account's."""
    async with connect(toolsets="reports") as client:
        filtered = await call(client, "chat_report", {"metric": "queued_visitors", **MONTH, "group_ids": [0]})
        plain = await call(client, "chat_report", {"metric": "queued_visitors", **MONTH})
        other = await call(client, "chat_report", {"metric": "total_chats", **MONTH, "group_ids": [0]})
    assert "may not narrow it" in filtered["note"]
    assert "may not narrow" not in (plain.get("note") or "") and "may not narrow" not in (
        other.get("note") or ""
    )
