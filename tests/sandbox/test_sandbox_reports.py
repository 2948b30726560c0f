"""The sandbox's Reports API v3.6: the documented shapes, the request rules and the seeded
ratings (agreement with list_archives: test_sandbox_reports_agreement.py)."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.sandbox.reports.agents import wilson_score

from .reports_testkit import (
    BUCKETED,
    DAYS_31,
    EXTRA_KEYS,
    PER_AGENT,
    RANGE_31,
    SAMPLES,
    archived,
    number,
    report_error,
    report_ok,
)
from .sandbox_testkit import FRA_PAT, NORMAL_PAT, SMITH_PAT, basic, bearer, fixture, ok


# -- documented shapes ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", sorted(BUCKETED))
async def test_bucketed_reports_match_the_documented_examples(client: httpx2.AsyncClient, path: str) -> None:
    sample = fixture(SAMPLES / BUCKETED[path])
    body = await report_ok(client, path, {"timezone": "UTC", "filters": RANGE_31})
    assert set(body) == set(sample) and body["name"] == sample["name"]
    assert number(body["total"]) and list(body["records"]) == DAYS_31
    filled = [r for r in body["records"].values() if r]
    assert filled, "the seed fills some buckets"
    if path in ("chats/tags", "chats/groups"):
        for record in filled:
            assert all(isinstance(k, str) and isinstance(v, int) and v > 0 for k, v in record.items())
        if path == "chats/groups":
            assert all(k.isdigit() for r in filled for k in r)
        return
    sample_keys = {k for r in sample["records"].values() for k in r}
    seen = {k for r in filled for k in r}
    assert seen <= sample_keys | EXTRA_KEYS.get(path, set())
    assert sample_keys <= seen
    example = next(r for r in sample["records"].values() if r)
    for record in filled:
        for key, value in record.items():
            if isinstance(value, dict):
                assert set(value) == set(example[key]) and all(number(v) for v in value.values())
            else:
                assert number(value) and (value > 0 or path == "agents/availability")


@pytest.mark.parametrize("path", sorted(PER_AGENT))
async def test_per_agent_reports_match_the_documented_examples(
    client: httpx2.AsyncClient, sb: Sandbox, path: str
) -> None:
    sample = fixture(SAMPLES / PER_AGENT[path])
    body = await report_ok(client, path, {"timezone": "UTC", "filters": RANGE_31})
    assert set(body) == set(sample) and body["name"] == sample["name"]
    agent_keys = set(next(iter(sample["records"].values())))
    assert body["records"] and set(body["records"]) <= set(sb.state.agents)
    for record in body["records"].values():
        assert set(record) == agent_keys and all(number(v) for v in record.values())
    if "summary" in sample:
        assert set(body["summary"]) == set(sample["summary"])


async def test_chat_usage_matches_the_documented_example(client: httpx2.AsyncClient, sb: Sandbox) -> None:
    sample = fixture(SAMPLES / "tags" / "chatUsage.json")
    body = await report_ok(client, "tags/chat_usage", {"filters": RANGE_31})
    assert set(body) == set(sample) == {"name", "records"} and body["name"] == sample["name"]
    assert body["records"] and set(body["records"]) <= set(sb.state.tags[constants.ORGANIZATION_ID])
    assert all(isinstance(v, int) and v > 0 for v in body["records"].values())


async def test_ranking_score_is_livechats_wilson_score() -> None:
    sample = fixture(SAMPLES / "chats" / "ranking.json")["records"]
    for record in sample.values():
        assert wilson_score(record["good"], record["bad"]) == pytest.approx(record["score"], abs=1e-9)
    assert wilson_score(10, 2) > wilson_score(2, 0)  # the help page's Anna and Jake


@pytest.mark.parametrize("path", sorted(set(BUCKETED) - {"agents/availability"}))
async def test_a_range_without_chats_has_empty_buckets(client: httpx2.AsyncClient, path: str) -> None:
    body = await report_ok(
        client,
        path,
        {"timezone": "UTC", "filters": {"from": "2026-05-01T00:00:00Z", "to": "2026-05-03T23:59:59Z"}},
    )
    assert body["total"] == 0
    assert body["records"] == {"2026-05-01": {}, "2026-05-02": {}, "2026-05-03": {}}


# -- request rules ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "filters",
    [
        {"agents": {"values": [constants.AGENT_EMAIL]}},  # no time pair
        {**RANGE_31, "greetings": {"from": RANGE_31["from"], "to": RANGE_31["to"]}},  # two pairs
        {"from": RANGE_31["from"]},  # half a pair
        {"from": "2026-10-21", "to": "2026-11-20"},  # dates, no time
        {"from": "2026-10-21T00:00:00", "to": "2026-11-20T23:59:59"},  # no offset
        {"from": "yesterday", "to": "today"},
        {"from": RANGE_31["to"], "to": RANGE_31["from"]},  # reversed
        {**RANGE_31, "agents": {"values": ["a@example.com"], "exclude_values": ["b@example.com"]}},
        {**RANGE_31, "groups": {"values": ["0"]}},
    ],
)
async def test_invalid_filters_are_validation_errors(client: httpx2.AsyncClient, filters: Any) -> None:
    status, error = await report_error(client, "chats/total_chats", {"filters": filters})
    assert (status, error["type"]) == (400, "validation")


async def test_other_parameter_rules(client: httpx2.AsyncClient) -> None:
    micro = {"from": "2026-11-01T00:00:00.123456+02:00", "to": "2026-11-02T23:59:59.999999-05:00"}
    assert (await report_ok(client, "chats/total_chats", {"filters": micro}))["total"] >= 0
    for path, body in [
        ("chats/total_chats", {"distribution": "week"}),
        ("agents/performance", {"distribution": "month"}),
        ("chats/total_chats", {"timezone": "Mars/Olympus_Mons"}),
        ("agents/availability", {"filters": {"greetings": {"from": RANGE_31["from"], "to": RANGE_31["to"]}}}),
        ("agents/performance", {"filters": {**RANGE_31, "agents": [constants.AGENT_EMAIL]}}),  # not an object
        ("chats/total_chats", {"filters": {**RANGE_31, "agents": [constants.AGENT_EMAIL]}}),
    ]:
        assert (await report_error(client, path, body))[1]["type"] == "validation"
    greetings = {"greetings": {"from": RANGE_31["from"], "to": RANGE_31["to"]}}
    from_greetings = await report_ok(client, "chats/total_chats", {"timezone": "UTC", "filters": greetings})
    greeted = [
        t for t in await archived(client, RANGE_31) if t["properties"].get("lc2", {}).get("greeting_id")
    ]
    assert from_greetings["total"] == len(greeted) > 0 and list(from_greetings["records"]) == DAYS_31
    ignored = {**RANGE_31, "whatever": 1}  # an undocumented filter
    plain = await report_ok(client, "chats/total_chats", {"filters": RANGE_31})
    assert await report_ok(client, "chats/total_chats", {"filters": ignored}) == plain


@pytest.mark.parametrize(
    "extra",
    [
        {"forms": "x"},  # "`array`" in the docs' table
        {"forms": {"type": "pre_chat"}},
        {"forms": ["pre_chat"]},
        {"forms": [{"type": "survey"}]},
        {"forms": [{"type": "pre_chat", "values": "154417206262602571:0"}]},
        {"forms": [{"type": "pre_chat", "exclude_values": [0]}]},
        {"forms": [{"type": "pre_chat", "from": RANGE_31["from"]}]},  # half a window
        {"forms": [{"type": "pre_chat", "from": "2026-10-21", "to": "2026-11-20"}]},
        {"forms": [{"type": "pre_chat", "exists": "yes"}]},
        {"forms": [{"type": "pre_chat", "groups": {"values": ["1"]}}]},
        {"forms": [{"type": "pre_chat", "answers": ["x"]}]},
        {"sales": {"values": ["1"]}},
        {"goals": {"exists": "true"}},
        {"goals": {"values": [1], "exclude_values": [2]}},
        {"greetings": {"values": [1], "exists": True}},
        {"greetings": {"groups": {"values": ["0"]}}},
        {"agent_response": {"first": True, "groups": {"values": ["0"]}}},
    ],
)
async def test_malformed_sales_goals_greetings_forms_filters_are_validation_errors(
    client: httpx2.AsyncClient, extra: Any
) -> None:
    status, error = await report_error(client, "chats/total_chats", {"filters": {**RANGE_31, **extra}})
    assert (status, error["type"]) == (400, "validation")
    assert str(next(iter(extra))) in error["message"]


@pytest.mark.parametrize("distribution", ["hour", "day", "day-hours", "month", "year"])
async def test_a_range_at_the_end_of_time_is_answered(client: httpx2.AsyncClient, distribution: str) -> None:
    """9999-12-31, the last day a ``datetime`` holds: the last bucket ends with the range."""
    last_day = {"from": "9999-12-31T00:00:00Z", "to": "9999-12-31T23:59:59.999999Z"}
    body = {"timezone": "UTC", "distribution": distribution, "filters": last_day}
    got = await report_ok(client, "chats/total_chats", body)
    expected = {
        "hour": [f"9999-12-31 {h:02d}:00" for h in range(24)],
        "day": ["9999-12-31"],
        "day-hours": [f"{h:02d}:00" for h in range(24)],
        "month": ["9999-12"],
        "year": ["9999"],
    }[distribution]
    assert got["total"] == 0 and list(got["records"]) == expected
    if distribution in ("hour", "day"):
        availability = await report_ok(client, "agents/availability", body)
        assert availability["total"] == 0 and list(availability["records"]) == expected


@pytest.mark.parametrize(
    ("timezone", "filters", "field"),
    [
        ("Pacific/Kiritimati", {"from": "9999-12-31T00:00:00Z", "to": "9999-12-31T23:59:59Z"}, "filters.to"),
        ("UTC", {"from": "0001-01-01T00:00:00+14:00", "to": "0001-01-02T00:00:00Z"}, "filters.from"),
    ],
)
async def test_a_range_beyond_the_representable_dates_is_a_validation_error(
    client: httpx2.AsyncClient, timezone: str, filters: Any, field: str
) -> None:
    status, error = await report_error(
        client, "chats/total_chats", {"timezone": timezone, "filters": filters}
    )
    assert (status, error["type"]) == (400, "validation") and f"`{field}`" in error["message"]


async def test_reports_read_is_required(client: httpx2.AsyncClient, sb: Sandbox) -> None:
    status, error = await report_error(client, "chats/ratings", headers=NORMAL_PAT)
    assert (status, error["type"]) == (403, "authorization") and "reports_read" in error["message"]
    without = sb.mint_token(constants.AGENT_EMAIL, scopes=["chats--all:ro"])
    status, error = await report_error(
        client, "agents/performance", headers=bearer(str(without["access_token"]))
    )
    assert (status, error["type"]) == (403, "authorization")
    granted = sb.mint_token(constants.AGENT_EMAIL, scopes=["reports_read"])
    assert (await report_ok(client, "agents/performance", headers=bearer(str(granted["access_token"]))))[
        "records"
    ]
    status, error = await report_error(client, "chats/ratings", headers={"Authorization": "Bearer nope"})
    assert (status, error["type"]) == (401, "authentication")


async def test_region_version_and_unknown_methods(client: httpx2.AsyncClient, sb: Sandbox) -> None:
    fra_no_region = basic(constants.FRA_ACCOUNT_ID, constants.FRA_PAT)
    status, error = await report_error(client, "chats/total_chats", headers=fra_no_region)
    assert (status, error["type"]) == (421, "misdirected_request")
    fra = await report_ok(
        client, "chats/total_chats", {"timezone": "UTC", "filters": RANGE_31}, headers=FRA_PAT
    )
    assert fra["total"] == len(await archived(client, RANGE_31, headers=FRA_PAT)) > 0
    response = await client.post("/v3.5/reports/chats/total_chats", json={}, headers=SMITH_PAT)
    assert response.json()["error"]["type"] == "unsupported_version"
    assert (await report_error(client, "chats/nothing_here"))[1]["type"] == "not_found"


async def test_faults_use_the_report_path(client: httpx2.AsyncClient, sb: Sandbox) -> None:
    sb.faults.add("server_error", methods=["reports/chats/total_chats"])
    assert (await report_ok(client, "chats/ratings"))["name"] == "ratings-report"  # another method
    status, error = await report_error(client, "chats/total_chats")
    assert (status, error["type"]) == (500, "internal")
    assert (await report_ok(client, "chats/total_chats"))["name"] == "total-chats-report"
    assert sb.stats.requests["reports/chats/total_chats"] == 2


async def test_get_query_string_equals_post(client: httpx2.AsyncClient) -> None:
    query = [
        ("filters.from", RANGE_31["from"]),
        ("filters.to", RANGE_31["to"]),
        ("filters.agents.values", constants.AGENT_EMAIL),
        ("filters.agents.values", "jones@example.com"),
        ("filters.tags.exclude_values", "spam"),
        ("filters.properties[routing][continuous].values", "false"),
        ("timezone", "Europe/Warsaw"),
    ]
    got = await client.get("/v3.6/reports/chats/total_chats", params=query, headers=SMITH_PAT)
    assert got.status_code == 200, got.text
    filters = {
        **RANGE_31,
        "agents": {"values": [constants.AGENT_EMAIL, "jones@example.com"]},
        "tags": {"exclude_values": ["spam"]},
        "properties": {"routing": {"continuous": {"values": [False]}}},
    }
    posted = await report_ok(client, "chats/total_chats", {"timezone": "Europe/Warsaw", "filters": filters})
    assert got.json() == posted and posted["total"] > 0


# -- seeded ratings ---------------------------------------------------------------------------------
async def test_ratings_are_seeded_deterministically_as_thread_properties(
    client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    def ratings(box: Sandbox) -> dict[str, Any]:
        return {t.id: t.properties.get("rating") for c in box.state.chats.values() for t in c.threads}

    mine = ratings(sb)
    assert mine == ratings(Sandbox(seed=7)) and mine != ratings(Sandbox(seed=8))
    values = [r for r in mine.values() if r is not None]
    assert {r["score"] for r in values} == {0, 1} and all(set(r) <= {"score", "comment"} for r in values)
    assert 0.15 < len(values) / len(mine) < 0.6 and any("comment" in r for r in values)
    assert len(sb.state.chats) == 362 and len(sb.state.customers) == 252 and len(sb.state.agents) == 12
    chat_id, thread_id = next(
        (c.id, t.id) for c in sb.state.org_chats(constants.ORGANIZATION_ID) for t in c.threads if mine[t.id]
    )
    got = await ok(client, "get_chat", {"chat_id": chat_id, "thread_id": thread_id})
    assert got["thread"]["properties"]["rating"] == mine[thread_id]
