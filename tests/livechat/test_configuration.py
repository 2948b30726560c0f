"""Configuration API methods against the sandbox."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mcp_livechat.errors import NotFound, PermissionDenied, ValidationFailed
from mcp_livechat.livechat import AGENT_FIELDS, LiveChat
from mcp_livechat.sandbox import constants
from tests.conftest import Recorder


async def test_get_agent_with_fields_and_unknown(lc: LiveChat, recorder: Recorder) -> None:
    agent = await lc.configuration.get_agent(constants.AGENT_EMAIL, fields=AGENT_FIELDS)
    sent = recorder.last("get_agent")
    assert sent.path == "/v3.6/configuration/action/get_agent"
    assert sent.body == {"id": constants.AGENT_EMAIL, "fields": list(AGENT_FIELDS)}
    assert agent.id == constants.AGENT_EMAIL and agent.account_id == constants.ACCOUNT_ID
    assert agent.role == "owner" and agent.max_chats_count is not None and agent.groups
    with pytest.raises(NotFound):
        await lc.configuration.get_agent("nobody@example.com")


async def test_list_agents_bare_array_and_missing_scope(
    lc: LiveChat, as_token: Callable[..., LiveChat], recorder: Recorder
) -> None:
    agents = await lc.configuration.list_agents(group_ids=[0], fields=["job_title"])
    assert recorder.last("list_agents").body == {"filters": {"group_ids": [0]}, "fields": ["job_title"]}
    assert constants.AGENT_EMAIL in {a.id for a in agents}
    assert all(a.avatar_path or a.avatar for a in agents)
    limited = as_token(scopes=["chats--all:ro"])
    with pytest.raises(PermissionDenied) as err:
        await limited.configuration.list_agents()
    assert err.value.missing_scopes == ("agents--all:ro",)
    assert "agents--all:ro" in str(err.value)


async def test_update_agent_changes_state_and_rejects_bad_values(lc: LiveChat, recorder: Recorder) -> None:
    await lc.configuration.update_agent(
        constants.AGENT_EMAIL,
        job_title="Support Hero",
        max_chats_count=5,
        login_status="accepting chats",
        groups=[{"id": 0, "priority": "normal"}, {"id": 1, "priority": "first"}],
        notifications=["new_visitor", "incoming_chat"],
        email_subscriptions=["weekly_summary"],
        work_scheduler={
            "timezone": "Europe/Warsaw",
            "schedule": [{"day": "monday", "enabled": True, "start": "08:00", "end": "16:00"}],
        },
    )
    assert recorder.last("update_agent").body == {
        "id": constants.AGENT_EMAIL,
        "job_title": "Support Hero",
        "max_chats_count": 5,
        "login_status": "accepting chats",
        "groups": [{"id": 0, "priority": "normal"}, {"id": 1, "priority": "first"}],
        "notifications": ["new_visitor", "incoming_chat"],
        "email_subscriptions": ["weekly_summary"],
        "work_scheduler": {
            "timezone": "Europe/Warsaw",
            "schedule": [{"day": "monday", "enabled": True, "start": "08:00", "end": "16:00"}],
        },
    }
    agent = await lc.configuration.get_agent(constants.AGENT_EMAIL, fields=AGENT_FIELDS)
    assert agent.job_title == "Support Hero" and agent.max_chats_count == 5
    assert {(g.id, g.priority) for g in agent.groups or []} == {(0, "normal"), (1, "first")}
    assert agent.work_scheduler and agent.work_scheduler.timezone == "Europe/Warsaw"
    with pytest.raises(ValidationFailed):
        await lc.configuration.update_agent(constants.AGENT_EMAIL, max_chats_count=50)


async def test_list_groups_and_get_group(
    lc: LiveChat, as_token: Callable[..., LiveChat], recorder: Recorder
) -> None:
    groups = await lc.configuration.list_groups(fields=["routing_status"])
    assert recorder.last("list_groups").body == {"fields": ["routing_status"]}
    assert groups[0].id == 0 and groups[0].name == "General"
    group = await lc.configuration.get_group(groups[-1].id)
    assert group.id == groups[-1].id
    with pytest.raises(PermissionDenied):
        await as_token(scopes=["chats--all:ro"]).configuration.list_groups()


async def test_list_tags_for_group_and_missing_scope(
    lc: LiveChat, as_token: Callable[..., LiveChat], recorder: Recorder
) -> None:
    tags = await lc.configuration.list_tags([0])
    assert recorder.last("list_tags").body == {"filters": {"group_ids": [0]}}
    assert "support" in {t.name for t in tags} and all(0 in t.group_ids for t in tags)
    with pytest.raises(PermissionDenied) as err:
        await as_token(scopes=["chats--all:ro"]).configuration.list_tags()
    assert set(err.value.missing_scopes) == {"tags--all:ro", "tags--groups:ro"}
