"""Documented rules the sandbox once missed (each test fails on the earlier behaviour)."""

from __future__ import annotations

from typing import Any

import httpx2

from mcp_livechat.sandbox import Sandbox, constants
from tests.sandbox.sandbox_testkit import active_chat_of, authorize, error, ok, query_of


async def config(client: httpx2.AsyncClient, method: str, body: Any = None) -> Any:
    return await ok(client, method, body, api="configuration")


def message(text: str) -> dict[str, object]:
    return {"type": "message", "text": text, "visibility": "all"}


async def test_login_status_is_the_default_at_login_not_the_routing_status(
    client: httpx2.AsyncClient,
) -> None:
    """Configuration API: `login_status` is "the agent's default status right after the login"."""
    me = {"id": constants.AGENT_EMAIL}
    assert (await config(client, "get_agent", me))["login_status"] == "accepting chats"
    assert await config(client, "update_agent", me | {"login_status": "not accepting chats"}) == {}
    assert (await config(client, "get_agent", me))["login_status"] == "not accepting chats"
    live = {s["agent_id"]: s["status"] for s in await ok(client, "list_routing_statuses")}
    assert live[constants.AGENT_EMAIL] == "accepting_chats"
    await ok(client, "set_routing_status", {"status": "not_accepting_chats"})
    await config(client, "update_agent", me | {"login_status": "accepting chats"})
    live = {s["agent_id"]: s["status"] for s in await ok(client, "list_routing_statuses")}
    assert live[constants.AGENT_EMAIL] == "not_accepting_chats"
    assert (await config(client, "get_agent", me))["login_status"] == "accepting chats"


async def test_loopback_redirect_uri_port_must_match(client: httpx2.AsyncClient) -> None:
    """Scheme and host, including the port, must match exactly, loopback too
    (https://platform.text.com/docs/authorization/oauth-authorization#redirect-uris)."""
    other_port = await authorize(
        client, client_id=constants.PUBLIC_CLIENT_ID, redirect_uri="http://127.0.0.1:53123/callback"
    )
    assert query_of(other_port.headers["location"]) == {
        "oauth_exception": "invalid_request",
        "exception_details": "invalid_redirect_uri",
    }
    same = await authorize(client, client_id=constants.PUBLIC_CLIENT_ID, redirect_uri="http://127.0.0.1/cb")
    assert same.headers["location"].startswith("http://127.0.0.1/cb?code=dal%3A")


async def test_list_tags_filters_require_group_ids(client: httpx2.AsyncClient) -> None:
    status, err = await error(client, "list_tags", {"filters": {}}, api="configuration")
    assert (status, err) == (400, {"type": "validation", "message": "`filters.group_ids` is required"})
    assert await config(client, "list_tags", {"filters": {"group_ids": [0]}})
    assert await config(client, "list_tags", {})


async def test_inactive_chat_takes_no_event(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    """v3.6 send_event has no `attach_to_last_thread` (v3.2/v3.3 only): an inactive chat refuses
    every event type, and the old flag changes nothing."""
    chat = next(c for c in sb.state.chats.values() if not c.active and c.user(constants.AGENT_EMAIL))
    before = len(chat.last_thread.events)
    note = {"type": "system_message", "text": "Follow-up e-mail sent", "visibility": "all"}
    for body in ({"chat_id": chat.id}, {"chat_id": chat.id, "attach_to_last_thread": True}):
        for event in (message("too late"), note):
            status, err = await error(client, "send_event", body | {"event": event})
            assert (status, err["type"]) == (422, "chat_inactive"), (body, event)
    assert len(chat.last_thread.events) == before


async def test_send_event_marks_the_chat_seen_for_the_requester(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    """send_event "updates the requester's events_seen_up_to as if they've seen all chat events"."""
    chat_id = active_chat_of(sb)
    sent = await ok(client, "send_event", {"chat_id": chat_id, "event": message("seen?")})
    got = await ok(client, "get_chat", {"chat_id": chat_id})
    event = next(e for e in got["thread"]["events"] if e["id"] == sent["event_id"])
    me = next(u for u in got["users"] if u["id"] == constants.AGENT_EMAIL)
    assert me["events_seen_up_to"] == event["created_at"]


async def test_added_agents_must_have_access_to_the_chat(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    """add_user_to_chat: "Additional agents must also have access to the chat."""
    chat = sb.state.chats[active_chat_of(sb)]
    chat.group_ids = chat.last_thread.group_ids = [3]  # Technical Support; garcia is in 0 and 1 only
    add = {"chat_id": chat.id, "user_type": "agent", "visibility": "all"}
    status, err = await error(client, "add_user_to_chat", add | {"user_id": constants.NORMAL_AGENT_EMAIL})
    assert (status, err["type"]) == (400, "validation")
    assert chat.user(constants.NORMAL_AGENT_EMAIL) is None
    silent = add | {"user_id": "brown@example.com", "visibility": "agents"}  # one public agent per chat
    assert await ok(client, "add_user_to_chat", silent) == {}  # brown is in group 3
    chat.group_ids = chat.last_thread.group_ids = [5]  # chats--all:rw adds the requester anywhere
    assert await ok(client, "add_user_to_chat", add | {"user_id": constants.AGENT_EMAIL}) == {}


async def test_archive_filter_types_take_one_of_exists_values_exclude(client: httpx2.AsyncClient) -> None:
    """list_archives: "You can pass only one of the following values at a time: exists, values or
    exclude_values" (event_types: values or exclude_values)."""
    bad = [
        {"agents": {"exists": True, "values": [constants.AGENT_EMAIL]}},
        {"tags": {"values": ["sales"], "exclude_values": ["spam"]}},
        {"event_types": {"exists": True}},
        {"event_types": {"values": ["file"], "exclude_values": ["form"]}},
    ]
    for filters in bad:
        status, err = await error(client, "list_archives", {"filters": filters})
        assert (status, err["type"]) == (400, "validation"), filters
    every = {"tags": {"values": ["support", "sales"], "require_every_value": True}}
    assert "chats" in await ok(client, "list_archives", {"filters": every})


async def test_archive_agent_types_filter(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    """list_archives `filters.agent_types.{all_values|any_values|exclude_values}` (new in 3.6)."""

    async def found(spec: dict[str, list[str]]) -> list[dict[str, Any]]:
        page = await ok(client, "list_archives", {"filters": {"agent_types": spec}, "limit": 100})
        chats: list[dict[str, Any]] = page["chats"]
        return chats

    def has_agent(entry: dict[str, Any]) -> bool:
        return any(u in sb.state.agents for u in entry["thread"]["user_ids"])

    assert await found({"any_values": ["chatbot", "ai_agent"]}) == []
    humans = await found({"all_values": ["human"]})
    assert humans and all(has_agent(c) for c in humans)
    without = await found({"exclude_values": ["human"]})
    assert without and not any(has_agent(c) for c in without)
    status, err = await error(
        client, "list_archives", {"filters": {"agent_types": {"any_values": ["robot"]}}}
    )
    assert (status, err["type"]) == (400, "validation")


async def test_update_customer_id_must_be_a_uuid4(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    """update_customer `id`: "UUID v4 format is required"."""
    for bad in ("not-a-uuid", "b7eff798-f8df-1364-8059-649c35c9ed0c"):
        status, err = await error(client, "update_customer", {"id": bad, "name": "X"})
        assert (status, err) == (400, {"type": "validation", "message": "`id` must be a UUID v4"})
    customer = next(c for c in sb.state.customers.values() if c.org_id == constants.ORGANIZATION_ID)
    assert await ok(client, "update_customer", {"id": customer.id, "name": "X"}) == {}
    assert customer.name == "X"


async def test_work_scheduler_timezone_only_needed_with_a_schedule(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    """update_agent `work_scheduler.timezone`: "Required only when schedule is not empty. Falls
    back to the agent's timezone if empty."""
    me = {"id": constants.AGENT_EMAIL}
    zone = sb.state.agents[constants.AGENT_EMAIL].work_scheduler["timezone"]
    assert await config(client, "update_agent", me | {"work_scheduler": {"schedule": []}}) == {}
    got = await config(client, "get_agent", me | {"fields": ["work_scheduler"]})
    assert got["work_scheduler"] == {"timezone": zone, "schedule": []}
    entry = {"day": "monday", "enabled": True, "start": "08:00", "end": "16:00"}
    status, err = await error(
        client, "update_agent", me | {"work_scheduler": {"schedule": [entry]}}, api="configuration"
    )
    assert (status, err["type"]) == (400, "validation")


async def test_accessible_thread_links_are_thread_keys(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    """list_archives response sample: `previous_accessible_thread_id` / `next_accessible_thread_id`
    sit in the `thread` object, next to `previous_thread_id` / `next_thread_id`."""
    chat = next(c for c in sb.state.chats.values() if len(c.threads) == 3)
    page = await ok(client, "list_archives", {"filters": {"chat_ids": [chat.id]}})
    middle = next(c for c in page["chats"] if c["thread"]["id"] == chat.threads[1].id)
    assert "previous_accessible_thread_id" not in middle and "next_accessible_thread_id" not in middle
    thread = middle["thread"]
    assert (thread["previous_accessible_thread_id"], thread["next_accessible_thread_id"]) == (
        chat.threads[0].id,
        chat.threads[2].id,
    )
    assert (thread["previous_thread_id"], thread["next_thread_id"]) == (
        chat.threads[0].id,
        chat.threads[2].id,
    )
