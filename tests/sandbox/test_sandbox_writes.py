"""Agent Chat write methods: their effects and their validation."""

from __future__ import annotations

import httpx2

from mcp_livechat.sandbox import Sandbox, constants
from tests.sandbox.sandbox_testkit import NORMAL_PAT, active_chat_of, bearer, error, ok


def message(text: str, visibility: str = "all") -> dict[str, object]:
    return {"type": "message", "text": text, "visibility": visibility}


async def test_send_event(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    chat_id = active_chat_of(sb)
    thread = sb.state.chats[chat_id].last_thread
    before = len(thread.events)
    sent = await ok(client, "send_event", {"chat_id": chat_id, "event": message("Hello from the test")})
    assert set(sent) == {"event_id"}
    assert sent["event_id"] == f"{thread.id}_{thread.next_event_no - 1}"
    assert len(thread.events) == before + 1
    event = thread.events[-1]
    assert (event["author_id"], event["text"], event["visibility"]) == (
        constants.AGENT_EMAIL,
        "Hello from the test",
        "all",
    )
    got = await ok(client, "get_chat", {"chat_id": chat_id})
    assert got["thread"]["events"][-1]["id"] == sent["event_id"]
    summary = next(
        c for c in (await ok(client, "list_chats", {"limit": 100}))["chats_summary"] if c["id"] == chat_id
    )
    assert summary["last_event_per_type"]["message"]["event"]["id"] == sent["event_id"]
    note = await ok(client, "send_event", {"chat_id": chat_id, "event": message("internal", "agents")})
    assert thread.events[-1]["visibility"] == "agents"
    assert note["event_id"] != sent["event_id"]
    assert sb.stats.counter("events_sent") == 2
    assert sb.stats.counter(f"events_sent:{chat_id}") == 2
    assert sb.stats.snapshot()["events_sent_per_chat"] == {chat_id: 2}
    assert sb.stats.requests["send_event"] == 2


async def test_send_event_validation(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    chat_id = active_chat_of(sb)
    cases: list[tuple[dict[str, object], str]] = [
        ({"chat_id": chat_id}, "`event` is required"),
        ({"chat_id": chat_id, "event": {"type": "message"}}, "`event.text` is required"),
        ({"chat_id": chat_id, "event": message("x" * 16385)}, "`event.text` is too long (max 16 KB)"),
        ({"chat_id": chat_id, "event": message("é" * 8193)}, "`event.text` is too long (max 16 KB)"),
        (
            {"chat_id": chat_id, "event": message("hi", "everyone")},
            "`event.visibility` must be one of: all, agents",
        ),
        ({"chat_id": chat_id, "event": {"type": "form"}}, "`form` events are not supported"),
        ({"event": message("hi")}, "`chat_id` is required"),
    ]
    for body, text in cases:
        status, err = await error(client, "send_event", body)
        assert (status, err) == (400, {"type": "validation", "message": text})
    assert (await ok(client, "send_event", {"chat_id": chat_id, "event": message("x" * 16384)}))["event_id"]
    assert sb.stats.counter("events_sent") == 1


async def test_send_event_requires_presence_and_active_chat(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    queued = next(
        c
        for c in sb.state.chats.values()
        if c.active and c.last_thread.queue and c.org_id == sb.state.agents[constants.AGENT_EMAIL].org_id
    )
    status, err = await error(client, "send_event", {"chat_id": queued.id, "event": message("hi")})
    assert (status, err) == (403, {"type": "authorization", "message": "Requester is not user of the chat"})
    inactive = next(c for c in sb.state.chats.values() if not c.active and c.user(constants.AGENT_EMAIL))
    status, err = await error(client, "send_event", {"chat_id": inactive.id, "event": message("hi")})
    assert (status, err["type"]) == (422, "chat_inactive")
    assert (await error(client, "send_event", {"chat_id": "NOSUCHCHAT", "event": message("hi")}))[0] == 404
    assert sb.stats.counter("events_sent") == 0


async def test_add_user_then_send_and_agents_visibility(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    queued = next(
        c
        for c in sb.state.chats.values()
        if c.active and c.last_thread.queue and c.org_id == constants.ORGANIZATION_ID
    )
    body = {
        "chat_id": queued.id,
        "user_id": constants.AGENT_EMAIL,
        "user_type": "agent",
        "visibility": "agents",
        "ignore_requester_presence": True,  # smith is not (yet) a user of the queued chat
    }
    assert await ok(client, "add_user_to_chat", body) == {}
    status, err = await error(client, "send_event", {"chat_id": queued.id, "event": message("hi all")})
    assert err["type"] == "validation"
    assert (await ok(client, "send_event", {"chat_id": queued.id, "event": message("note", "agents")}))[
        "event_id"
    ]
    assert queued.last_thread.queue is not None  # a supervisor does not take the chat from the queue
    assert await ok(client, "add_user_to_chat", body | {"visibility": "all"}) == {}
    assert sb.state.chats[queued.id].last_thread.queue is None  # (re-read: mypy narrowed the attribute)
    assert constants.AGENT_EMAIL in queued.last_thread.user_ids
    assert (await ok(client, "send_event", {"chat_id": queued.id, "event": message("hi all")}))["event_id"]
    cases = [
        (body | {"visibility": None}, 400, "validation"),
        (body | {"user_type": "bot"}, 400, "validation"),
        (body | {"user_id": "ghost@example.com"}, 404, "not_found"),
        (body | {"user_id": constants.FRA_AGENT_EMAIL}, 404, "not_found"),
        (body | {"user_id": constants.SUSPENDED_AGENT_EMAIL}, 400, "validation"),
        (
            body | {"user_type": "customer", "user_id": next(iter(sb.state.customers)), "visibility": "all"},
            400,
            "validation",
        ),
    ]
    for case, status, kind in cases:
        got_status, err = await error(client, "add_user_to_chat", case)
        assert (got_status, err["type"]) == (status, kind), case


async def test_remove_user_from_chat(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    chat_id = active_chat_of(sb)
    chat = sb.state.chats[chat_id]
    add = {"chat_id": chat_id, "user_id": "jones@example.com", "user_type": "agent", "visibility": "agents"}
    await ok(client, "add_user_to_chat", add)
    remove = {"chat_id": chat_id, "user_id": "jones@example.com", "user_type": "agent"}
    assert await ok(client, "remove_user_from_chat", remove) == {}
    assert chat.user("jones@example.com") is None
    assert "jones@example.com" not in chat.last_thread.user_ids
    _, err = await error(client, "remove_user_from_chat", remove)
    assert err["type"] == "validation"
    customer = {"chat_id": chat_id, "user_id": chat.customer_id, "user_type": "customer"}
    assert (await error(client, "remove_user_from_chat", customer))[1]["type"] == "validation"


async def test_transfer_chat(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    chat_id = active_chat_of(sb)
    chat = sb.state.chats[chat_id]
    thread = chat.last_thread
    chat.group_ids = thread.group_ids = [0]
    to_agent = {"id": chat_id, "target": {"type": "agent", "ids": [constants.NORMAL_AGENT_EMAIL]}}
    assert await ok(client, "transfer_chat", to_agent) == {}
    assert chat.agent_ids() == [constants.NORMAL_AGENT_EMAIL]
    assert constants.AGENT_EMAIL not in thread.user_ids
    last = thread.events[-1]
    assert (last["type"], last["system_message_type"]) == ("system_message", "chat_transferred")
    status, err = await error(client, "transfer_chat", to_agent)
    assert (status, err) == (403, {"type": "authorization", "message": "Requester is not user of the chat"})
    await ok(client, "set_routing_status", {"status": "accepting_chats", "agent_id": "miller@example.com"})
    to_group = {"id": chat_id, "target": {"type": "group", "ids": [2]}, "ignore_requester_presence": True}
    assert await ok(client, "transfer_chat", to_group) == {}
    assert chat.group_ids == [2]
    assert thread.group_ids == [2]
    assert chat.agent_ids() == ["miller@example.com"]  # "first" priority in Billing
    await ok(client, "set_routing_status", {"status": "not_accepting_chats", "agent_id": "jones@example.com"})
    errors = [
        (
            {"id": chat_id, "target": {"type": "group", "ids": [99]}, "ignore_requester_presence": True},
            404,
            "group_not_found",
        ),
        (
            {
                "id": chat_id,
                "target": {"type": "agent", "ids": ["jones@example.com"]},
                "ignore_requester_presence": True,
            },
            422,
            "agent_offline",
        ),
        ({"id": chat_id, "target": {"type": "person", "ids": [1]}}, 400, "validation"),
    ]
    for body, status, kind in errors:
        got, err = await error(client, "transfer_chat", body)
        assert (got, err["type"]) == (status, kind), body


async def test_transfer_to_a_group_without_available_agents_queues(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    chat_id = active_chat_of(sb)
    chat = sb.state.chats[chat_id]
    body = {"id": chat_id, "target": {"type": "group", "ids": [5]}}
    status, err = await error(client, "transfer_chat", body)
    assert (status, err["type"]) == (422, "agent_offline")
    assert await ok(client, "transfer_chat", body | {"ignore_agents_availability": True}) == {}
    assert chat.agent_ids() == []
    assert chat.last_thread.queue is not None
    got = await ok(client, "get_chat", {"chat_id": chat_id})
    assert got["thread"]["queue"]["position"] >= 1


async def test_deactivate_chat(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    chat_id = active_chat_of(sb)
    assert await ok(client, "deactivate_chat", {"id": chat_id}) == {}
    chat = sb.state.chats[chat_id]
    assert not chat.active
    last = chat.last_thread.events[-1]
    assert (last["type"], last["system_message_type"]) == ("system_message", "manual_archived_agent")
    status, err = await error(client, "deactivate_chat", {"id": chat_id})
    assert (status, err["type"]) == (422, "chat_inactive")
    listed = await ok(client, "list_chats", {"filters": {"active": False}, "limit": 100})
    assert chat_id in {c["id"] for c in listed["chats_summary"]} or listed.get("next_page_id")
    other = next(
        c
        for c in sb.state.chats.values()
        if c.active and c.org_id == constants.ORGANIZATION_ID and c.user(constants.AGENT_EMAIL) is None
    )
    status, err = await error(client, "deactivate_chat", {"id": other.id})
    assert err["message"] == "Requester is not user of the chat"
    assert await ok(client, "deactivate_chat", {"id": other.id, "ignore_requester_presence": True}) == {}


async def test_tag_and_untag_thread(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    chat = next(
        c for c in sb.state.chats.values() if c.org_id == constants.ORGANIZATION_ID and c.group_ids == [2]
    )
    thread = chat.threads[0]
    thread.tags = []
    body = {"chat_id": chat.id, "thread_id": thread.id, "tag": "refund"}
    assert await ok(client, "tag_thread", body) == {}
    assert await ok(client, "tag_thread", body) == {}
    assert thread.tags == ["refund"]
    got = await ok(client, "get_chat", {"chat_id": chat.id, "thread_id": thread.id})
    assert got["thread"]["tags"] == ["refund"]
    assert await ok(client, "untag_thread", body) == {}
    assert await ok(client, "untag_thread", body) == {}
    assert thread.tags == []
    for tag in ("Refund", "no such tag", "vip"):  # case-sensitive; unknown; no shared group
        status, err = await error(client, "tag_thread", body | {"tag": tag})
        assert (status, err["type"]) == (400, "validation"), tag
    for missing in ("chat_id", "thread_id", "tag"):
        status, err = await error(client, "tag_thread", {k: v for k, v in body.items() if k != missing})
        assert err["message"] == f"`{missing}` is required"
    status, err = await error(client, "tag_thread", body | {"thread_id": "NOSUCHTHRD"})
    assert status == 404


async def test_get_and_update_customer(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    customer_id = next(c.id for c in sb.state.customers.values() if c.org_id == constants.ORGANIZATION_ID)
    update = {
        "id": customer_id,
        "name": "Renamed Customer",
        "email": "renamed@example.com",
        "phone_number": "+48123456789",
        "session_fields": [{"plan": "enterprise"}, {"crm_id": "CRM-1"}],
    }
    assert await ok(client, "update_customer", update) == {}
    got = await ok(client, "get_customer", {"id": customer_id})
    assert (got["name"], got["email"], got["phone_number"]) == (
        "Renamed Customer",
        "renamed@example.com",
        "+48123456789",
    )
    assert got["session_fields"] == [{"plan": "enterprise"}, {"crm_id": "CRM-1"}]
    chat_id = sb.state.customer_chat_ids(customer_id)[0]
    chat = await ok(client, "get_chat", {"chat_id": chat_id})
    assert chat["users"][0]["name"] == "Renamed Customer"
    bad = [
        {"id": customer_id},
        {"id": customer_id, "phone_number": "123"},
        {"id": customer_id, "phone_number": "+0123"},
        {"id": customer_id, "email": "not-an-email"},
        {"id": customer_id, "avatar": "ftp://x"},
        {"id": customer_id, "session_fields": [{"a": "1", "b": "2"}]},
        {"name": "no id"},
    ]
    for body in bad:
        status, err = await error(client, "update_customer", body)
        assert (status, err["type"]) == (400, "validation"), body
    status, err = await error(client, "get_customer", {"id": "00000000-0000-4000-8000-000000000000"})
    assert (status, err) == (404, {"type": "not_found", "message": "Customer not found"})
    status, err = await error(
        client, "update_customer", {"id": "00000000-0000-4000-8000-000000000000", "name": "x"}
    )
    assert status == 404


async def test_routing_statuses(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    statuses = await ok(client, "list_routing_statuses")
    assert isinstance(statuses, list)
    assert {"agent_id": constants.AGENT_EMAIL, "status": "accepting_chats"} in statuses
    assert all(set(s) == {"agent_id", "status"} for s in statuses)
    assert await ok(client, "set_routing_status", {"status": "not_accepting_chats"}) == {}
    agent = await ok(client, "get_agent", {"id": constants.AGENT_EMAIL}, api="configuration")
    assert agent["login_status"] == "accepting chats"  # the default at login, not the live status
    assert (
        await ok(
            client, "set_routing_status", {"status": "accepting_chats", "agent_id": "miller@example.com"}
        )
        == {}
    )
    billing = await ok(client, "list_routing_statuses", {"filters": {"group_ids": [2]}})
    assert {"agent_id": "miller@example.com", "status": "accepting_chats"} in billing
    assert constants.NORMAL_AGENT_EMAIL not in {s["agent_id"] for s in billing}
    status, err = await error(client, "set_routing_status", {"status": "offline"})
    assert err["type"] == "validation"
    assert await ok(client, "set_routing_status", {"status": "accepting_chats"}, headers=NORMAL_PAT) == {}
    status, err = await error(
        client,
        "set_routing_status",
        {"status": "accepting_chats", "agent_id": constants.AGENT_EMAIL},
        headers=NORMAL_PAT,
    )
    assert (status, err["message"]) == (403, "Requires scope: agents--all:rw")
    my_ro = sb.mint_token(constants.AGENT_EMAIL, scopes=["agents--my:ro"])
    status, err = await error(
        client,
        "set_routing_status",
        {"status": "accepting_chats"},
        headers=bearer(str(my_ro["access_token"])),
    )
    assert (status, err["message"]) == (403, "Requires scope: agents--my:rw")
