"""Helpers of the Reports API tests (module name kept unique across the test tree)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx2

from mcp_livechat.sandbox import Sandbox

from .sandbox_testkit import FIXTURES, SMITH_PAT, ok

SAMPLES = FIXTURES / "data-reporting" / "v3.6" / "reports-api" / "responses"
RANGE_31 = {"from": "2026-10-21T00:00:00Z", "to": "2026-11-20T23:59:59Z"}
DAYS_31 = [(date(2026, 10, 21) + timedelta(days=d)).isoformat() for d in range(31)]
BUCKETED = {
    "chats/total_chats": "chats/totalChats.json",
    "chats/duration": "chats/duration.json",
    "chats/response_time": "chats/responseTime.json",
    "chats/first_response_time": "chats/firstResponseTime.json",
    "chats/ratings": "chats/ratings.json",
    "chats/engagement": "chats/engagement.json",
    "chats/tags": "chats/tags.json",
    "chats/groups": "chats/groups.json",
    "chats/queued_visitors": "chats/queuedVisitors.json",
    "agents/availability": "agents/availability.json",
}
PER_AGENT = {"chats/ranking": "chats/ranking.json", "agents/performance": "agents/performance.json"}
EXTRA_KEYS = {"chats/engagement": {"total"}}  # in the docs' field table, not in the example


async def report(
    client: httpx2.AsyncClient, path: str, body: Any = None, *, headers: dict[str, str] | None = None
) -> httpx2.Response:
    return await client.post(f"/v3.6/reports/{path}", json=body or {}, headers=headers or SMITH_PAT)


async def report_ok(client: httpx2.AsyncClient, path: str, body: Any = None, **kwargs: Any) -> Any:
    response = await report(client, path, body, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


async def report_error(
    client: httpx2.AsyncClient, path: str, body: Any = None, **kwargs: Any
) -> tuple[int, Any]:
    response = await report(client, path, body, **kwargs)
    assert response.status_code != 200, response.text
    payload = response.json()
    assert set(payload) == {"error"} and {"type", "message"} <= set(payload["error"])
    return response.status_code, payload["error"]


async def archived(
    client: httpx2.AsyncClient, filters: dict[str, Any], headers: dict[str, str] = SMITH_PAT
) -> list[Any]:
    """Every thread list_archives returns for ``filters`` (all pages)."""
    body: dict[str, Any] = {"filters": filters, "limit": 100}
    threads: list[Any] = []
    while True:
        page = await ok(client, "list_archives", body, headers=headers)
        threads += [entry["thread"] | {"chat_id": entry["id"]} for entry in page["chats"]]
        if "next_page_id" not in page:
            return threads
        body = {"page_id": page["next_page_id"]}


def moment_of(stamp: str) -> datetime:
    """An RFC 3339 time as LiveChat writes it (`Z` or an offset)."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def day_of(stamp: str, tz: str = "UTC") -> str:
    return moment_of(stamp).astimezone(ZoneInfo(tz)).date().isoformat()


def number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_customer_message(event: Any, customer: str) -> bool:
    return (
        event["type"] in ("message", "file")
        and event.get("author_id") == customer
        and not event.get("deleted")
    )


def is_agent_reply(event: Any, customer: str) -> bool:
    return (
        event["type"] in ("message", "file", "rich_message")
        and event.get("author_id") not in (None, customer)
        and event.get("visibility") == "all"
        and not event.get("deleted")
    )


def first_response(thread: Any, customer: str) -> float | None:
    asked = None
    for event in thread["events"]:
        stamp = datetime.fromisoformat(event["created_at"].replace("Z", "+00:00"))
        if asked is None and is_customer_message(event, customer):
            asked = stamp
        elif asked is not None and is_agent_reply(event, customer):
            return (stamp - asked).total_seconds()
    return None


def customer_of(sb: Sandbox, chat_id: str) -> str:
    return sb.state.chats[chat_id].customer_id
