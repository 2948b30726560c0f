"""Configuration API update_agent: the limits the sandbox enforces (agent_limits.py) and the
work_scheduler shape get_agent answers."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from mcp_livechat.sandbox import constants
from tests.sandbox.sandbox_testkit import call, ok


async def config(client: httpx2.AsyncClient, method: str, body: Any = None) -> Any:
    return await ok(client, method, body, api="configuration")


ME = {"id": constants.AGENT_EMAIL}


@pytest.mark.parametrize(
    ("change", "accepted"),
    [
        ({"max_chats_count": 20}, True),
        ({"max_chats_count": 21}, False),
        ({"max_chats_count": -1}, False),
        ({"job_title": "x" * 64}, True),
        ({"job_title": "x" * 65}, False),
        ({"groups": [{"id": 0, "priority": "supervisor"}]}, True),
        ({"groups": [{"id": 0, "priority": "bot"}]}, False),
        ({"work_scheduler": {"timezone": "Europe/Warsaw", "schedule": []}}, True),
        ({"work_scheduler": {"monday": {"start": "08:30", "end": "24:00"}}}, True),
        ({"work_scheduler": {"monday": {"start": "24:00", "end": "24:00"}}}, False),
        ({"work_scheduler": {"monday": {"start": "8:30", "end": "12:30"}}}, False),
        ({"work_scheduler": {"monday": {"start": "12:30", "end": "08:30"}}}, False),
        ({"work_scheduler": {"funday": {"start": "08:30", "end": "12:30"}, "monday": {}}}, False),
        (
            {
                "work_scheduler": {
                    "timezone": "Europe/Warsaw",
                    "schedule": [{"day": "friday", "enabled": True, "start": "08:00", "end": "25:00"}],
                }
            },
            False,
        ),
        (
            {
                "work_scheduler": {
                    "schedule": [{"day": "friday", "enabled": True, "start": "08:00", "end": "16:00"}]
                }
            },
            False,
        ),
    ],
)
async def test_update_agent_limits(
    client: httpx2.AsyncClient, change: dict[str, Any], accepted: bool
) -> None:
    response = await call(client, "update_agent", ME | change, api="configuration")
    if accepted:
        assert (response.status_code, response.json()) == (200, {}), change
    else:
        assert (response.status_code, response.json()["error"]["type"]) == (400, "validation"), change


async def test_work_scheduler_is_answered_in_create_agents_shape(client: httpx2.AsyncClient) -> None:
    before = (await config(client, "get_agent", ME | {"fields": ["work_scheduler"]}))["work_scheduler"]
    day_keyed = {"monday": {"start": "08:30", "end": "12:30"}, "friday": {"start": "07:30", "end": "21:30"}}
    assert await config(client, "update_agent", ME | {"work_scheduler": day_keyed}) == {}
    got = (await config(client, "get_agent", ME | {"fields": ["work_scheduler"]}))["work_scheduler"]
    assert got == {
        "timezone": before["timezone"],
        "schedule": [
            {"day": "monday", "enabled": True, "start": "08:30", "end": "12:30"},
            {"day": "friday", "enabled": True, "start": "07:30", "end": "21:30"},
        ],
    }
    listed = [
        {"day": "monday", "start": "08:00", "end": "12:30", "enabled": True},
        {"day": "monday", "start": "13:30", "end": "16:00", "enabled": True},
    ]
    body = {"work_scheduler": {"schedule": listed, "timezone": "Europe/Warsaw"}}
    assert await config(client, "update_agent", ME | body) == {}
    got = (await config(client, "get_agent", ME | {"fields": ["work_scheduler"]}))["work_scheduler"]
    assert got["timezone"] == "Europe/Warsaw"
    assert [(s["day"], s["start"], s["end"], s["enabled"]) for s in got["schedule"]] == [
        ("monday", "08:00", "12:30", True),
        ("monday", "13:30", "16:00", True),
    ]
