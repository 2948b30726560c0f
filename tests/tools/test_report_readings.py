"""What a report's numbers mean, when LiveChat's documentation and its examples differ or leave a
case open: an unrated agent's score, an engagement report without per-period totals, an agent's
own first responses, an agent only in the ranking, periods after now and labels we do not know.
Each runs against the sandbox and, where LiveChat could answer otherwise, against that reading too
(`OtherReading`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2

from mcp_livechat.sandbox import Sandbox
from tests.helpers import call
from tests.other_readings import Forward, OtherReading

EXAMPLES = Path(__file__).parents[1] / "fixtures/data-reporting/v3.6/reports-api/responses"
MONTH = {"date_from": "2026-10-15", "date_to": "2026-11-14"}


def _rows(report: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [dict(zip(report["columns"], row, strict=True)) for row in report[key]]


async def test_an_agent_nobody_rated_has_no_score_not_the_worst_one(connect: Callable[..., Any]) -> None:
    """LiveChat's score comes from good and bad ratings (https://www.livechat.com/help/agent-rankings/);
    the sandbox sends 0 for an agent with none, the same as for one bad rating: shown as null."""
    async with connect(toolsets="reports") as client:
        agents = _rows(await call(client, "agent_report", {"date_from": "2026-11-02", "date_to": "2026-11-02"}),
                       "agents")  # fmt: skip
        ranking = await call(client, "chat_report", {"metric": "ranking", **MONTH})
    unrated = [a for a in agents if a["good"] == a["bad"] == 0 and a["chats"]]
    rated = [a for a in agents if a["good"] or a["bad"]]
    assert unrated and rated  # the seed has both that day
    assert all(a["score"] is None for a in unrated)
    assert all(isinstance(a["score"], float) for a in rated)
    assert "not rated" in ranking["meaning"] and "ratio" not in ranking["meaning"]
    assert all((r["score"] is None) == (r["good"] == r["bad"] == 0) for r in _rows(ranking, "buckets"))


async def test_engagement_without_per_period_totals_invents_no_chat_count(
    sandbox: Sandbox, connect: Callable[..., Any]
) -> None:
    """LiveChat's field table lists `records.day.total`, its example leaves it out, and the
    example's parts add up to more than its total: without totals there is no `chats` column."""
    example = json.loads((EXAMPLES / "chats/engagement.json").read_text())

    async def as_in_the_example(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        return httpx2.Response(200, json=example)

    days = sorted(example["records"])
    span = {"date_from": days[0], "date_to": days[-1]}
    reading = OtherReading(sandbox.transport(), {"/reports/chats/engagement": as_in_the_example})
    async with connect(toolsets="reports", transport=reading) as client:
        theirs = await call(client, "chat_report", {"metric": "engagement", **span})
    async with connect(toolsets="reports") as client:
        ours = await call(client, "chat_report", {"metric": "engagement", **MONTH})
    assert reading.applied == {"/reports/chats/engagement": 1}
    assert theirs["columns"] == ["period", "from_greeting", "by_customer", "by_agent"]
    assert theirs["total"] == example["total"] == 7411 and "chats" not in theirs["summary"]
    by_customer = sum(r.get("started_by_customer_without_greeting", 0) for r in example["records"].values())
    assert theirs["summary"]["by_customer"] == by_customer
    # the sandbox sends each day's total: there it is the chats column, adding up to the total
    assert ours["columns"][:2] == ["period", "chats"] and ours["summary"]["chats"] == ours["total"] > 0


async def test_an_agents_first_response_time_is_of_the_chats_they_answered_first(
    connect: Callable[..., Any],
) -> None:
    """chat_report(first_response_time, agent_ids) sends `agent_response.first` + `.agents`, so its
    numbers are the agent's own first replies: the same as agent_report's for that agent, not
    those of every chat the agent was in (`filters.agents`)."""
    opened_fewer = 0
    async with connect(toolsets="reports") as client:
        team = await call(client, "agent_report", MONTH)
        for agent in (row["agent"] for row in _rows(team, "agents") if row["first_response_s"] is not None):
            only = {**MONTH, "agent_ids": [agent]}
            theirs = await call(client, "chat_report", {"metric": "first_response_time", **only})
            alone = await call(client, "agent_report", only)
            chats_in = await call(client, "chat_report", {"metric": "total_chats", **only})
            assert theirs["summary"]["chats"] == alone["team"]["first_response_chats"] > 0, agent
            assert abs(theirs["summary"]["first_response_s"] - alone["team"]["first_response_s"]) <= 1, agent
            assert "first reply came from these agents" in theirs["note"]
            opened_fewer += theirs["summary"]["chats"] < chats_in["total"]
        replies = await call(client, "chat_report", {"metric": "response_time", **only})
    assert opened_fewer  # some agent was in more chats than they answered first: filters.agents differs
    assert "every agent's replies" in replies["note"]


async def test_an_agent_asked_for_who_is_only_in_the_ranking_keeps_their_row(
    sandbox: Sandbox, connect: Callable[..., Any]
) -> None:
    """Should LiveChat's agents report leave an agent out (a removed agent, say) that its ranking
    lists, the agent asked for by id is still shown: the ranking's counts, no times."""

    async def without_agents(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        report = json.loads(await (await forward()).aread())
        return httpx2.Response(200, json={**report, "records": {}})

    async with connect(toolsets="reports") as client:
        busiest = _rows(await call(client, "agent_report", MONTH), "agents")[0]
    reading = OtherReading(sandbox.transport(), {"/reports/agents/performance": without_agents})
    async with connect(toolsets="reports", transport=reading) as client:
        alone = await call(client, "agent_report", {**MONTH, "agent_ids": [busiest["agent"]]})
    [row] = _rows(alone, "agents")
    assert (row["agent"], row["good"], row["bad"]) == (busiest["agent"], busiest["good"], busiest["bad"])
    assert row["chats"] >= busiest["chats"] and row["first_response_s"] is None and row["chatting_s"] is None
    assert alone["team"]["chats"] == row["chats"] and "only in LiveChat's ranking" in alone["note"]


async def test_periods_after_now_are_said_to_have_no_chats_yet(connect: Callable[..., Any]) -> None:
    """Now is LiveChat's (the `Date` of its answer; the sandbox's clock, not this machine's)."""
    ahead = {"date_from": "2026-11-14", "date_to": "2026-11-25"}
    async with connect(toolsets="reports") as client:
        daily = await call(client, "chat_report", {"metric": "total_chats", **ahead})
        hours = await call(
            client, "chat_report", {"metric": "total_chats", **ahead, "distribution": "day-hours"}
        )
        agents = await call(client, "agent_report", ahead)
        tags = await call(client, "tag_report", ahead)
        past = [await call(client, "chat_report", {"metric": "total_chats", **MONTH}),
                await call(client, "agent_report", MONTH), await call(client, "tag_report", MONTH)]  # fmt: skip
    for report in (daily, hours, agents, tags):
        assert "date_to is after now (2026-11-20 " in report["note"], report.get("note")
    assert "partial" in daily["note"] and "fewer days" in hours["note"]
    assert "up to now" in agents["note"] and "up to now" in tags["note"]
    assert all("note" not in report for report in past)


async def test_labels_we_do_not_know_keep_livechats_order(
    sandbox: Sandbox, connect: Callable[..., Any]
) -> None:
    """Day-hours labelled `0`..`23` (LiveChat documents only day labels): not sorted as text."""

    async def hours_as_numbers(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        records = {str(h): {"total": h} for h in range(24)}
        return httpx2.Response(200, json={"name": "total-chats-report", "total": 276, "records": records})

    reading = OtherReading(sandbox.transport(), {"/reports/chats/total_chats": hours_as_numbers})
    async with connect(toolsets="reports", transport=reading) as client:
        report = await call(client, "chat_report", {"metric": "total_chats", "distribution": "day-hours",
                                                    "date_from": "2026-11-02", "date_to": "2026-11-02"})  # fmt: skip
    assert [row[0] for row in report["buckets"]] == [str(h) for h in range(24)]
    assert [row[1] for row in report["buckets"]] == list(range(24))
    assert "LiveChat's own labels" in report["note"]


async def test_ratings_that_contradict_the_documented_chats_say_so(
    sandbox: Sandbox, connect: Callable[..., Any]
) -> None:
    """LiveChat documents `chats` as all the day's chats, yet its example has a day of 10 chats with
    5 good and 6 bad: with such data the result says no share of rated chats follows; with the
    sandbox's (the documented reading) it says nothing."""
    example = json.loads((EXAMPLES / "chats/ratings.json").read_text())

    async def as_in_the_example(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        return httpx2.Response(200, json=example)

    days = sorted(example["records"])
    reading = OtherReading(sandbox.transport(), {"/reports/chats/ratings": as_in_the_example})
    async with connect(toolsets="reports", transport=reading) as client:
        theirs = await call(
            client, "chat_report", {"metric": "ratings", "date_from": days[0], "date_to": days[-1]}
        )
    async with connect(toolsets="reports") as client:
        ours = await call(client, "chat_report", {"metric": "ratings", **MONTH})
    assert "no share of rated chats" in theirs["note"]
    assert "note" not in ours
