"""The system messages the sandbox writes for Agent Chat API writes, and ban_customer ending the
customer's chats (https://platform.text.com/docs/messaging/references/system-activities)."""

from __future__ import annotations

from typing import Any

import httpx2

from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.sandbox.model import ChatRecord
from tests.sandbox.sandbox_testkit import active_chat_of, error, ok

JONES = "jones@example.com"


def name(sb: Sandbox, email: str) -> str:
    return sb.state.agents[email].name


def last_event(chat: ChatRecord) -> dict[str, Any]:
    return chat.last_thread.events[-1]


def last_system_message(chat: ChatRecord) -> tuple[Any, ...]:
    """(system_message_type, text, text_vars, visibility) of the chat's last event."""
    event = last_event(chat)
    return event["system_message_type"], event["text"], event["text_vars"], event["visibility"]


async def test_ban_ends_the_customers_active_chats(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    """ban_customer "immediately disconnects all active sessions of this customer"; SA's
    `customer_banned`: "Chat archived because customer was banned by %agent% for %duration% day(s)"."""
    customer = next(
        c
        for c in sb.state.customers.values()
        if c.org_id == constants.ORGANIZATION_ID
        and any(sb.state.chats[i].active for i in sb.state.customer_chat_ids(c.id))
    )
    chats = [sb.state.chats[i] for i in sb.state.customer_chat_ids(customer.id)]
    active = [c for c in chats if c.active]
    closed_before = {c.id: len(c.last_thread.events) for c in chats if not c.active}
    others = {c.id for c in sb.state.chats.values() if c.active and c.customer_id != customer.id}
    assert await ok(client, "ban_customer", {"id": customer.id, "ban": {"days": 3}}) == {}
    smith = name(sb, constants.AGENT_EMAIL)
    for chat in active:
        assert not chat.active
        assert chat.last_thread.queue is None
        assert not any(u.present for u in chat.users)
        event = last_event(chat)
        assert "author_id" not in event
        assert (event["type"], event["system_message_type"], event["visibility"]) == (
            "system_message",
            "customer_banned",
            "all",
        )
        assert event["text"] == f"Chat archived because customer was banned by {smith} for 3 day(s)"
        assert event["text_vars"] == {"agent": smith, "duration": "3"}
        status, err = await error(
            client, "send_event", {"chat_id": chat.id, "event": {"type": "message", "text": "hi"}}
        )
        assert (status, err["type"]) == (422, "chat_inactive")
    for chat_id, count in closed_before.items():
        assert len(sb.state.chats[chat_id].last_thread.events) == count  # archived chats are left alone
    assert all(sb.state.chats[i].active for i in others)  # other customers' chats go on


async def test_ban_duration_keeps_a_fraction(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    chat = sb.state.chats[active_chat_of(sb)]
    assert await ok(client, "ban_customer", {"id": chat.customer_id, "ban": {"days": 0.5}}) == {}
    assert last_event(chat)["text_vars"]["duration"] == "0.5"
    assert last_event(chat)["text"].endswith(" for 0.5 day(s)")


async def test_transfer_message_uses_the_documented_placeholders(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    """SA's `chat_transferred`: "%initiator% transferred the chat to %targets%"."""
    chat = sb.state.chats[active_chat_of(sb)]
    chat.group_ids = chat.last_thread.group_ids = [0]
    target = {"type": "agent", "ids": [constants.NORMAL_AGENT_EMAIL]}
    assert await ok(client, "transfer_chat", {"id": chat.id, "target": target}) == {}
    smith, garcia = name(sb, constants.AGENT_EMAIL), name(sb, constants.NORMAL_AGENT_EMAIL)
    event = last_event(chat)
    assert (event["system_message_type"], event["text"]) == (
        "chat_transferred",
        f"{smith} transferred the chat to {garcia}",
    )
    assert event["text_vars"] == {"initiator": smith, "targets": garcia}


async def test_adding_and_removing_agents_leave_system_messages(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    """SA: `agent_added` "%initiator% added %agent% to the chat", `agent_removed` "%initiator%
    removed %agent% from the chat" (a silent agent's only for agents, our reading)."""
    chat = sb.state.chats[active_chat_of(sb)]
    smith, jones = name(sb, constants.AGENT_EMAIL), name(sb, JONES)
    add = {"chat_id": chat.id, "user_id": JONES, "user_type": "agent", "visibility": "agents"}
    assert await ok(client, "add_user_to_chat", add) == {}
    vars_ = {"initiator": smith, "agent": jones}
    assert last_system_message(chat) == ("agent_added", f"{smith} added {jones} to the chat", vars_, "agents")
    count = len(chat.last_thread.events)
    assert await ok(client, "add_user_to_chat", add) == {}  # already a user: no second message
    assert len(chat.last_thread.events) == count
    remove = {"chat_id": chat.id, "user_id": JONES, "user_type": "agent"}
    assert await ok(client, "remove_user_from_chat", remove) == {}
    removed = f"{smith} removed {jones} from the chat"
    assert last_system_message(chat) == ("agent_removed", removed, vars_, "agents")


async def test_joining_and_leaving_oneself(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    """SA: `agent_joined` "%agent% joined the chat" (not for the first agent), `agent_left`
    "%agent% left the chat"."""
    chat = sb.state.chats[active_chat_of(sb, JONES)]
    assert chat.user(constants.AGENT_EMAIL) is None
    smith = name(sb, constants.AGENT_EMAIL)
    me = {"chat_id": chat.id, "user_id": constants.AGENT_EMAIL, "user_type": "agent"}
    join = me | {"visibility": "agents", "ignore_requester_presence": True}
    assert await ok(client, "add_user_to_chat", join) == {}
    assert last_system_message(chat) == (
        "agent_joined",
        f"{smith} joined the chat",
        {"agent": smith},
        "agents",
    )
    assert await ok(client, "remove_user_from_chat", me) == {}
    event = last_event(chat)
    assert (event["system_message_type"], event["text"], event["text_vars"]) == (
        "agent_left",
        f"{smith} left the chat",
        {"agent": smith},
    )


async def test_the_first_agent_joins_without_a_message(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    queued = next(
        c
        for c in sb.state.chats.values()
        if c.active and c.org_id == constants.ORGANIZATION_ID and not any(u.type == "agent" for u in c.users)
    )
    count = len(queued.last_thread.events)
    body = {
        "chat_id": queued.id,
        "user_id": constants.AGENT_EMAIL,
        "user_type": "agent",
        "visibility": "all",
        "ignore_requester_presence": True,
    }
    assert await ok(client, "add_user_to_chat", body) == {}
    assert len(queued.last_thread.events) == count
