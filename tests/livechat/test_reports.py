"""Reports API client: the exact documented requests, tolerant models, scope and retries."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mcp_livechat.errors import PermissionDenied, UserInputError
from mcp_livechat.livechat import REQUIRED_SCOPES, LiveChat
from mcp_livechat.livechat import report_types as rt
from mcp_livechat.livechat.reports import CHATS_REPORTS, Match, ReportQuery
from mcp_livechat.sandbox import Sandbox, constants
from tests.conftest import Recorder

EXAMPLES = Path(__file__).parents[1] / "fixtures" / "data-reporting" / "v3.6" / "reports-api" / "responses"
WEEK = ReportQuery(date_from="2026-11-01T00:00:00+00:00", date_to="2026-11-07T23:59:59.999999+00:00")
FILTERED = ReportQuery(
    date_from="2026-11-01T00:00:00+01:00",
    date_to="2026-11-07T23:59:59.999999+01:00",
    distribution="day",
    timezone="Europe/Warsaw",
    agents=Match(values=[constants.AGENT_EMAIL]),
    groups=Match(values=[0, 1]),
    tags=Match(exclude_values=["spam"]),
)


async def test_every_chats_report_sends_the_documented_request(lc: LiveChat, recorder: Recorder) -> None:
    for metric in CHATS_REPORTS:
        report = await getattr(lc.reports, metric)(FILTERED)
        sent = recorder.sent[-1]
        assert (sent.method, sent.path) == ("POST", f"/v3.6/reports/chats/{metric}")
        assert sent.headers["content-type"] == "application/json" and sent.headers["authorization"]
        assert sent.body == {
            "distribution": "day",
            "timezone": "Europe/Warsaw",
            "filters": {
                "from": "2026-11-01T00:00:00+01:00",
                "to": "2026-11-07T23:59:59.999999+01:00",
                "agents": {"values": [constants.AGENT_EMAIL]},
                "tags": {"exclude_values": ["spam"]},
                "groups": {"values": [0, 1]},
            },
        }
        assert isinstance(report, CHATS_REPORTS[metric])
    assert len(recorder.sent) == len(CHATS_REPORTS) == 10


async def test_agents_and_tags_reports_send_only_what_they_document(lc: LiveChat, recorder: Recorder) -> None:
    query = ReportQuery(
        date_from=WEEK.date_from, date_to=WEEK.date_to, timezone="UTC", groups=Match(values=[1])
    )
    await lc.reports.performance(query)
    await lc.reports.availability(ReportQuery(distribution="hour", agents=Match(values=["a@example.com"]),
                                              date_from=WEEK.date_from, date_to=WEEK.date_to))  # fmt: skip
    usage = await lc.reports.chat_usage(query)
    paths = [s.path for s in recorder.sent]
    assert paths == [
        "/v3.6/reports/agents/performance",
        "/v3.6/reports/agents/availability",
        "/v3.6/reports/tags/chat_usage",
    ]
    window = {"from": WEEK.date_from, "to": WEEK.date_to}
    assert recorder.sent[0].body == {"timezone": "UTC", "filters": {**window, "groups": {"values": [1]}}}
    assert recorder.sent[1].body == {
        "distribution": "hour",
        "filters": {**window, "agents": {"values": ["a@example.com"]}},
    }
    assert recorder.sent[2].body == recorder.sent[0].body
    assert isinstance(usage, rt.ChatUsageReport) and all(n >= 0 for n in usage.records.values())


async def test_no_query_means_no_filters(lc: LiveChat, recorder: Recorder) -> None:
    """Without filters LiveChat reports on the last seven days: nothing else is sent."""
    await lc.reports.total_chats(ReportQuery())
    assert recorder.last().body == {}


@pytest.mark.parametrize(
    ("call", "query", "argument"),
    [
        ("total_chats", ReportQuery(date_from=WEEK.date_from), "date_to"),
        ("total_chats", ReportQuery(date_to=WEEK.date_to), "date_from"),
        ("ratings", ReportQuery(groups=Match(values=[0])), "date_from"),  # filters need a time pair
        (
            "ratings",
            ReportQuery(WEEK.date_from, WEEK.date_to, agents=Match(values=["x"], exists=True)),
            "agents",
        ),
        ("ratings", ReportQuery(WEEK.date_from, WEEK.date_to, tags=Match()), "tags"),
        ("performance", ReportQuery(distribution="month"), "distribution"),
        ("performance", ReportQuery(WEEK.date_from, WEEK.date_to, tags=Match(values=["x"])), "tags"),
        ("performance", ReportQuery(WEEK.date_from, WEEK.date_to, agents=Match(exists=False)), "agents"),
        (
            "performance",
            ReportQuery(WEEK.date_from, WEEK.date_to, groups=Match(exclude_values=[1])),
            "groups",
        ),
        ("chat_usage", ReportQuery(distribution="day"), "distribution"),
        ("chat_usage", ReportQuery(WEEK.date_from, WEEK.date_to, agents=Match(values=["x"])), "agents"),
    ],
)
async def test_undocumented_requests_are_refused_before_sending(
    lc: LiveChat, recorder: Recorder, call: str, query: ReportQuery, argument: str
) -> None:
    with pytest.raises(UserInputError) as err:
        await getattr(lc.reports, call)(query)
    assert err.value.argument == argument and argument in str(err.value)
    assert recorder.sent == []


@pytest.mark.parametrize(
    "match", [Match(values=[]), Match(exclude_values=[]), Match(values=(), require_every_value=True)]
)
async def test_an_empty_value_list_is_refused_before_sending(
    lc: LiveChat, recorder: Recorder, match: Match
) -> None:
    """The docs don't say what `values: []` matches, so the client never sends one."""
    queries = {
        "agents": ReportQuery(WEEK.date_from, WEEK.date_to, agents=match),
        "tags": ReportQuery(WEEK.date_from, WEEK.date_to, tags=match),
        "groups": ReportQuery(WEEK.date_from, WEEK.date_to, groups=match),
    }
    for field, query in queries.items():
        with pytest.raises(UserInputError, match=f"^{field}: give at least one value") as err:
            await lc.reports.ratings(query)
        assert err.value.argument == field
    assert recorder.sent == []


def test_models_read_the_documented_examples() -> None:
    """Every documented example response, straight from its bytes (empty `{}` buckets, absent
    zero-valued keys: Ratings' `{"chats": 2}` has no good or bad)."""
    files = {
        "chats/totalChats.json": rt.TotalChatsReport,
        "chats/duration.json": rt.DurationReport,
        "chats/responseTime.json": rt.ResponseTimeReport,
        "chats/firstResponseTime.json": rt.FirstResponseTimeReport,
        "chats/ratings.json": rt.RatingsReport,
        "chats/ranking.json": rt.RankingReport,
        "chats/engagement.json": rt.EngagementReport,
        "chats/tags.json": rt.TagsReport,
        "chats/groups.json": rt.GroupsReport,
        "chats/queuedVisitors.json": rt.QueuedVisitorsReport,
        "agents/performance.json": rt.PerformanceReport,
        "agents/availability.json": rt.AvailabilityReport,
        "tags/chatUsage.json": rt.ChatUsageReport,
    }
    parsed = {
        name: model.model_validate_json((EXAMPLES / name).read_bytes()) for name, model in files.items()
    }
    total = parsed["chats/totalChats.json"]
    assert total.total == 369 and total.records["2021-04-12"] == rt.TotalChatsBucket()
    assert total.records["2021-04-15"].continuous == 52
    ratings = parsed["chats/ratings.json"].records
    assert (ratings["2021-04-13"].chats, ratings["2021-04-13"].good, ratings["2021-04-13"].bad) == (2, 0, 0)
    assert parsed["chats/firstResponseTime.json"].records["2021-04-09"].first_response_time == 41.35
    assert parsed["chats/tags.json"].records["2021-04-15"] == {"spam": 11, "support": 27}
    assert parsed["chats/groups.json"].records["2024-08-22"]["3"] == 1
    queued = parsed["chats/queuedVisitors.json"].records
    assert queued["2024-10-01"].left_queue.max == 100 and queued["2024-10-03"].queued.count == 0
    assert parsed["chats/engagement.json"].records["2021-08-20"].started_by_agent == 0
    assert parsed["chats/ranking.json"].records["agent@example.com"].score == pytest.approx(0.4233, abs=1e-4)
    performance = parsed["agents/performance.json"]
    assert performance.summary.chats_count == 17 == sum(r.chats_count for r in performance.records.values())
    assert parsed["agents/availability.json"].records["2021-04-11"].hours == 7.85
    assert parsed["tags/chatUsage.json"].records == {"docs_feedback": 4, "spam": 3, "support": 3}


def test_models_tolerate_what_may_vary() -> None:
    body = {
        "name": "ratings-report",
        "total": 3,
        "extra": {"nested": True},
        "records": {"a": {}, "b": [], "c": None, "d": {"chats": 3, "good": None, "new_key": 7}},
    }
    report = rt.RatingsReport.model_validate_json(json.dumps(body))
    assert [(b.chats, b.good, b.bad) for b in report.records.values()] == [(0, 0, 0)] * 3 + [(3, 0, 0)]
    assert rt.TagsReport.model_validate_json(b'{"records": []}').records == {}
    assert rt.PerformanceReport.model_validate_json(b"{}").summary.chats_count == 0


def test_every_report_action_needs_reports_read() -> None:
    actions = [f"chats/{m}" for m in CHATS_REPORTS] + ["agents/performance", "agents/availability"]
    for action in [*actions, "tags/chat_usage"]:
        assert REQUIRED_SCOPES[action] == ("reports_read",)


async def test_a_credential_without_reports_read_is_told_the_scope(
    as_pat: Callable[..., LiveChat], as_token: Callable[..., LiveChat]
) -> None:
    normal = as_pat(constants.NORMAL_AGENT_ACCOUNT_ID, constants.NORMAL_AGENT_PAT)
    with pytest.raises(PermissionDenied) as err:
        await normal.reports.total_chats(WEEK)
    assert err.value.missing_scopes == ("reports_read",) and "reports_read" in str(err.value)
    limited = as_token(scopes=["chats--all:ro"])
    with pytest.raises(PermissionDenied, match="reports_read"):
        await limited.reports.chat_usage(WEEK)


async def test_reports_are_retried_like_reads(lc: LiveChat, sandbox: Sandbox, recorder: Recorder) -> None:
    sandbox.faults.add("server_error", count=1, status=503)
    report = await lc.reports.ratings(WEEK)
    assert len(recorder.sent) == 2 and recorder.sent[0].body == recorder.sent[1].body
    assert report.total is not None and report.records
