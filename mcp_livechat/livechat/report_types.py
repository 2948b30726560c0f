"""Typed views of LiveChat's Reports API v3.6 responses
(https://platform.text.com/docs/data-reporting/reports-api).

Tolerant the way the documented examples require: a bucket with no chats is `{}` and a bucket
may leave out a zero-valued key (`"2021-04-13": {"chats": 2}` in the Ratings example), so every
number defaults to 0 and a null counts as 0; unknown keys are ignored. An empty `records` or
bucket sent as `[]` or `null` reads as `{}`. Durations are seconds (floats); counts are ints.
v3.6 says "in seconds" only for Performance and Queued Visitors, and its guide labels Response
Time "Average response time (s)"
(https://platform.text.com/docs/guides/api-guides/reports-api-guide); for Duration and First
Response Time the unit is taken from v3.3 (`records.day.seconds`) and v2.0 ("`seconds` - the
average response time", https://platform.text.com/docs/data-reporting/reports-api/v2.0)
[UNVERIFIED for v3.6].
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator


def _zero(value: Any) -> Any:
    return 0 if value is None else value


def _mapping(value: Any) -> Any:
    return {} if value is None or value == [] else value


Count = Annotated[int, BeforeValidator(_zero)]
Seconds = Annotated[float, BeforeValidator(_zero)]


def _counts(value: Any) -> Any:
    """Only the numbers of a map bucket: v3.6 shows such buckets for `day` alone, and the one
    documented `month` bucket (v2.0's Ratings, `"2012-01": {"begin": "2012-01-29", "end": ...}`)
    carries date strings beside the counts [UNVERIFIED for v3.6], which are no tag or group."""
    value = _mapping(value)
    if not isinstance(value, dict):
        return value
    return {
        k: round(v)
        for k, v in value.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }


# `records.day.<tag>` (chats/tags), `records.day.<group>` (chats/groups), `records.<tag>` (tags/chat_usage)
Counts = Annotated[dict[str, Count], BeforeValidator(_counts)]


class ReportModel(BaseModel):
    # built on first use; a number no double holds (`1e400`) is refused, as in `types.LCModel`
    model_config = ConfigDict(extra="ignore", defer_build=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _empty(cls, data: Any) -> Any:
        return _mapping(data)


class TotalChatsBucket(ReportModel):
    # https://platform.text.com/docs/data-reporting/reports-api#total-chats
    total: Count = 0
    continuous: Count = 0


class DurationBucket(ReportModel):
    # https://platform.text.com/docs/data-reporting/reports-api#duration
    count: Count = 0
    duration: Seconds = 0.0
    agents_chatting_duration: Seconds = 0.0


class ResponseTimeBucket(ReportModel):
    # https://platform.text.com/docs/data-reporting/reports-api#response-time
    count: Count = 0
    response_time: Seconds = 0.0


class FirstResponseTimeBucket(ReportModel):
    # https://platform.text.com/docs/data-reporting/reports-api#first-response-time
    count: Count = 0
    first_response_time: Seconds = 0.0


class RatingsBucket(ReportModel):
    # https://platform.text.com/docs/data-reporting/reports-api#ratings
    chats: Count = 0
    good: Count = 0
    bad: Count = 0


class EngagementBucket(ReportModel):
    # https://platform.text.com/docs/data-reporting/reports-api#engagement (`total` is documented,
    # though the example leaves it out)
    total: Count = 0
    started_by_customer_from_greeting: Count = 0
    started_by_customer_without_greeting: Count = 0
    started_by_agent: Count = 0


class QueueStats(ReportModel):
    count: Count = 0
    min: Seconds = 0.0
    max: Seconds = 0.0
    avg: Seconds = 0.0


class QueuedVisitorsBucket(ReportModel):
    # https://platform.text.com/docs/data-reporting/reports-api#queued-visitors
    queued: QueueStats = Field(default_factory=QueueStats)
    left_queue: QueueStats = Field(default_factory=QueueStats)


class AvailabilityBucket(ReportModel):
    # https://platform.text.com/docs/data-reporting/reports-api#availability: `hours` for the
    # `day` distribution, `minutes` for `hour`
    hours: float | None = None
    minutes: float | None = None


B = TypeVar("B")


class DistributionReport(ReportModel, Generic[B]):
    """`{"name", "total", "records": {<period>: <bucket>}}`: one bucket per distribution period."""

    name: str | None = None
    total: int | float | None = None
    records: Annotated[dict[str, B], BeforeValidator(_mapping)] = Field(default_factory=dict)


class RankingRecord(ReportModel):
    # https://platform.text.com/docs/data-reporting/reports-api#ranking
    total: Count = 0
    good: Count = 0
    bad: Count = 0
    score: float | None = None


class RankingReport(ReportModel):
    """`records.<agent id>`; the distribution has no effect on it."""

    name: str | None = None
    records: Annotated[dict[str, RankingRecord], BeforeValidator(_mapping)] = Field(default_factory=dict)


class PerformanceRecord(ReportModel):
    # https://platform.text.com/docs/data-reporting/reports-api#performance
    chats_count: Count = 0
    chats_rated_good: Count = 0
    chats_rated_bad: Count = 0
    first_response_chats_count: Count = 0
    first_response_time: Seconds = 0.0
    accepting_chats_time: Seconds = 0.0
    not_accepting_chats_time: Seconds = 0.0
    chatting_time: Seconds = 0.0
    logged_in_time: Seconds = 0.0


class PerformanceSummary(ReportModel):
    chats_count: Count = 0
    chats_rated_good: Count = 0
    chats_rated_bad: Count = 0
    first_response_chats_count: Count = 0
    first_response_time: Seconds = 0.0


class PerformanceReport(ReportModel):
    """`records.<agent id>` and a `summary` for all agents."""

    name: str | None = None
    records: Annotated[dict[str, PerformanceRecord], BeforeValidator(_mapping)] = Field(default_factory=dict)
    summary: PerformanceSummary = Field(default_factory=PerformanceSummary)


class ChatUsageReport(ReportModel):
    """`records: {<tag>: <chats>}` (https://platform.text.com/docs/data-reporting/reports-api#chat-usage)."""

    name: str | None = None
    records: Counts = Field(default_factory=dict)


TotalChatsReport = DistributionReport[TotalChatsBucket]
DurationReport = DistributionReport[DurationBucket]
ResponseTimeReport = DistributionReport[ResponseTimeBucket]
FirstResponseTimeReport = DistributionReport[FirstResponseTimeBucket]
RatingsReport = DistributionReport[RatingsBucket]
EngagementReport = DistributionReport[EngagementBucket]
TagsReport = DistributionReport[Counts]
GroupsReport = DistributionReport[Counts]
QueuedVisitorsReport = DistributionReport[QueuedVisitorsBucket]
AvailabilityReport = DistributionReport[AvailabilityBucket]
