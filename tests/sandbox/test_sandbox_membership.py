"""Chat membership, the one-public-agent rule, send_event's custom_id, transfers and supervision
(Agent Chat API v3.6), through the sandbox's HTTP seam."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.sandbox.model import ChatRecord
from tests.sandbox.sandbox_testkit import NORMAL_PAT, active_chat_of, bearer, call, error, ok

SMITH = constants.AGENT_EMAIL
NOT_A_USER = {"type": "authorization", "message": "Requester is not user of the chat"}
LIMIT = {"type": "validation", "message": "Public agents in chat limit reached"}


def message(text: str, visibility: str = "all", **extra: str) -> dict[str, object]:
    return {"type": "message", "text": text, "visibility": visibility, **extra}


def public(chat: ChatRecord) -> list[str]:
    return [u.id for u in chat.users if u.type == "agent" and u.visibility == "all"]


def acme_active(sb: Sandbox) -> list[ChatRecord]:
    return [c for c in sb.state.org_chats(constants.ORGANIZATION_ID) if c.active]


def other_public_chat(sb: Sandbox, groups: tuple[int, ...] = (0, 1)) -> ChatRecord:
    """An active chat served publicly by one agent who is not smith (smith is not in it), in a
    group the normal agent garcia belongs to."""
    return next(
        c
        for c in acme_active(sb)
        if len(public(c)) == 1
        and SMITH not in public(c)
        and c.user(SMITH) is None
        and c.group_ids[0] in groups
    )


def queued_chat(sb: Sandbox) -> ChatRecord:
    return next(c for c in acme_active(sb) if c.last_thread.queue is not None and not c.agent_ids())


def no_scope_token(sb: Sandbox, email: str = SMITH) -> dict[str, str]:
    return bearer(str(sb.mint_token(email, scopes=[])["access_token"]))


def test_seeded_active_chats_cover_the_realistic_states(sb: Sandbox) -> None:
    active = acme_active(sb)
    assert any(c.last_thread.queue is not None and not c.agent_ids() for c in active)  # queued, no agent
    assert any(len(public(c)) == 1 and public(c) != [SMITH] and c.user(SMITH) is None for c in active)
    assert any(public(c) == [SMITH] for c in active)
    everywhere = [c for c in sb.state.chats.values() if c.active]
    assert all(len(public(c)) <= 1 for c in everywhere)  # one public agent per chat


async def test_a_non_member_cannot_send_events(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    chat = other_public_chat(sb)
    before = len(chat.last_thread.events)
    status, err = await error(client, "send_event", {"chat_id": chat.id, "event": message("hi")})
    assert (status, err) == (403, NOT_A_USER)
    assert len(chat.last_thread.events) == before
    assert sb.stats.events_sent == 0


PRESENCE_CASES: dict[str, Any] = {
    "add_user_to_chat": lambda chat: {
        "chat_id": chat.id,
        "user_id": SMITH,
        "user_type": "agent",
        "visibility": "agents",
    },
    "remove_user_from_chat": lambda chat: {
        "chat_id": chat.id,
        "user_id": public(chat)[0],
        "user_type": "agent",
    },
    "transfer_chat": lambda chat: {"id": chat.id, "ignore_agents_availability": True},
    "deactivate_chat": lambda chat: {"id": chat.id},
}


@pytest.mark.parametrize("method", sorted(PRESENCE_CASES))
async def test_the_requester_must_be_a_chat_user_unless_told_otherwise(
    sb: Sandbox, client: httpx2.AsyncClient, method: str
) -> None:
    """ "The requester must be present on the list of chat users. You can override it by setting
    the `ignore_requester_presence` parameter." (no exception for adding oneself)"""
    chat = other_public_chat(sb)
    body = PRESENCE_CASES[method](chat)
    status, err = await error(client, method, body)
    assert (status, err) == (403, NOT_A_USER)
    assert await ok(client, method, body | {"ignore_requester_presence": True}) == {}


async def test_a_silent_member_sends_only_agent_events(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    chat = other_public_chat(sb)
    join = {"chat_id": chat.id, "user_id": SMITH, "user_type": "agent", "visibility": "agents"}
    await ok(client, "add_user_to_chat", join | {"ignore_requester_presence": True})
    status, err = await error(client, "send_event", {"chat_id": chat.id, "event": message("hello")})
    assert (status, err["type"]) == (400, "validation")
    sent = await ok(client, "send_event", {"chat_id": chat.id, "event": message("note", "agents")})
    assert chat.last_thread.events[-1]["id"] == sent["event_id"]


async def test_tagging_needs_no_presence(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    chat = other_public_chat(sb)
    tag = next(
        t.name for t in sb.state.tags[constants.ORGANIZATION_ID].values() if chat.group_ids[0] in t.group_ids
    )
    body = {"chat_id": chat.id, "thread_id": chat.last_thread.id, "tag": tag}
    assert await ok(client, "tag_thread", body) == {}
    assert tag in chat.last_thread.tags
    assert await ok(client, "untag_thread", body) == {}
    assert tag not in chat.last_thread.tags
    assert chat.user(SMITH) is None


async def test_one_public_agent_per_chat(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    chat = other_public_chat(sb)
    chat.group_ids = chat.last_thread.group_ids = [0]  # every agent has access
    serving = public(chat)[0]
    add = {"chat_id": chat.id, "user_type": "agent", "ignore_requester_presence": True}
    status, err = await error(client, "add_user_to_chat", add | {"user_id": SMITH, "visibility": "all"})
    assert (status, err) == (422, LIMIT)
    assert chat.user(SMITH) is None
    others = [a for a in ("jones@example.com", "lee@example.com", "brown@example.com") if a != serving][:2]
    for silent in (SMITH, *others):  # silent agents are not limited
        assert await ok(client, "add_user_to_chat", add | {"user_id": silent, "visibility": "agents"}) == {}
    assert sum(1 for u in chat.users if u.type == "agent" and u.visibility == "agents") == 3
    status, err = await error(client, "add_user_to_chat", add | {"user_id": SMITH, "visibility": "all"})
    assert (status, err) == (422, LIMIT)  # already in silently, but another agent is public
    remove = {"chat_id": chat.id, "user_id": serving, "user_type": "agent"}
    assert await ok(client, "remove_user_from_chat", remove) == {}
    assert await ok(client, "add_user_to_chat", add | {"user_id": SMITH, "visibility": "all"}) == {}
    assert public(chat) == [SMITH]
    assert await ok(client, "send_event", {"chat_id": chat.id, "event": message("I take it from here")})


async def test_custom_id_is_kept(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    chat_id = active_chat_of(sb)
    sent = await ok(
        client, "send_event", {"chat_id": chat_id, "event": message("tracked", custom_id="cid-42")}
    )

    def find(events: list[dict[str, Any]]) -> dict[str, Any]:
        return next(e for e in events if e["id"] == sent["event_id"])

    got = await ok(client, "get_chat", {"chat_id": chat_id})
    assert find(got["thread"]["events"])["custom_id"] == "cid-42"
    threads = await ok(client, "list_threads", {"chat_id": chat_id})
    assert find(threads["threads"][0]["events"])["custom_id"] == "cid-42"
    archives = await ok(client, "list_archives", {"filters": {"chat_ids": [chat_id]}})
    latest = next(c for c in archives["chats"] if c["thread"]["id"] == sb.state.chats[chat_id].last_thread.id)
    assert find(latest["thread"]["events"])["custom_id"] == "cid-42"


async def test_a_malformed_answer_after_processing_leaves_one_event(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    chat = sb.state.chats[active_chat_of(sb)]
    before = len(chat.last_thread.events)
    sb.faults.add("malformed", methods=["send_event"], after_processing=True)
    response = await call(client, "send_event", {"chat_id": chat.id, "event": message("once")})
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert len(chat.last_thread.events) == before + 1
    assert [e.get("text") for e in chat.last_thread.events].count("once") == 1
    assert sb.stats.events_sent == 1


async def test_transfer_to_an_agent_who_is_not_accepting_chats(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    """ignore_agents_availability false "fails when unable to immediately assign any agent"; true
    "allows the chat to be enqueued after the transfer"."""
    chat = sb.state.chats[active_chat_of(sb)]
    chat.group_ids = chat.last_thread.group_ids = [0]
    sb.state.agents["jones@example.com"].routing_status = "not_accepting_chats"
    body = {"id": chat.id, "target": {"type": "agent", "ids": ["jones@example.com"]}}
    status, err = await error(client, "transfer_chat", body)
    assert (status, err["type"]) == (422, "agent_offline")
    assert public(chat) == [SMITH] and chat.last_thread.queue is None  # nothing changed
    assert await ok(client, "transfer_chat", body | {"ignore_agents_availability": True}) == {}
    assert chat.agent_ids() == [] and chat.last_thread.queue is not None
    got = await ok(client, "get_chat", {"chat_id": chat.id})
    assert got["thread"]["queue"]["position"] >= 1
    assert not [u for u in got["users"] if u["type"] == "agent"]
    listed = await ok(client, "list_chats", {"filters": {"active": True}, "limit": 100})
    summary = next(s for s in listed["chats_summary"] if s["id"] == chat.id)
    assert "queue" in summary["last_thread_summary"]


async def test_transfer_assigns_one_agent_with_access(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    chat = sb.state.chats[active_chat_of(sb)]
    chat.group_ids = chat.last_thread.group_ids = [3]  # Technical Support: garcia is not in it
    no_access = {"id": chat.id, "target": {"type": "agent", "ids": [constants.NORMAL_AGENT_EMAIL]}}
    status, err = await error(client, "transfer_chat", no_access)
    assert (status, err["type"]) == (400, "validation")
    chat.group_ids = chat.last_thread.group_ids = [0]
    two = {"id": chat.id, "target": {"type": "agent", "ids": ["jones@example.com", "lee@example.com"]}}
    assert await ok(client, "transfer_chat", two) == {}
    assert len(public(chat)) == 1 and public(chat)[0] in {"jones@example.com", "lee@example.com"}


async def test_list_agents_for_transfer(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    chat = sb.state.chats[active_chat_of(sb)]
    chat.group_ids = chat.last_thread.group_ids = [3]
    headers = no_scope_token(sb)  # "Required scopes: -"
    assert (await call(client, "list_chats", headers=headers)).status_code == 403  # truly no scope
    rows = await ok(client, "list_agents_for_transfer", {"chat_id": chat.id}, headers=headers)
    assert isinstance(rows, list) and all(set(r) == {"agent_id", "total_active_chats"} for r in rows)
    counts = [r["total_active_chats"] for r in rows]
    assert counts == sorted(counts)
    listed = {r["agent_id"] for r in rows}
    group_3 = {a.id for a in sb.state.org_agents(constants.ORGANIZATION_ID) if 3 in a.groups}
    assert listed <= group_3  # only agents with access to the chat
    assert "brown@example.com" in listed  # not accepting chats: listed
    assert "miller@example.com" not in listed  # offline: not listed
    assert constants.SUSPENDED_AGENT_EMAIL not in listed
    assert constants.NORMAL_AGENT_EMAIL not in listed  # no group in common
    expected = sum(
        1
        for c in sb.state.org_chats(constants.ORGANIZATION_ID)
        if c.active and (u := c.user(SMITH)) and u.present
    )
    assert next(r for r in rows if r["agent_id"] == SMITH)["total_active_chats"] == expected
    status, err = await error(client, "list_agents_for_transfer", {"chat_id": "NOSUCHCHAT"}, headers=headers)
    assert (status, err["type"]) == (404, "not_found")
    fra = next(c for c in sb.state.org_chats(constants.FRA_ORGANIZATION_ID))
    assert (await error(client, "list_agents_for_transfer", {"chat_id": fra.id}))[0] == 404


async def test_follow_and_unfollow(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    chat = other_public_chat(sb)
    chat.followers.clear()
    assert await ok(client, "follow_chat", {"id": chat.id}) == {}
    assert (await ok(client, "get_chat", {"chat_id": chat.id}))["is_followed"] is True
    listed = await ok(client, "list_chats", {"filters": {"active": True}, "limit": 100})
    assert next(s for s in listed["chats_summary"] if s["id"] == chat.id)["is_followed"] is True
    theirs = await ok(client, "get_chat", {"chat_id": chat.id}, headers=NORMAL_PAT)
    assert theirs["is_followed"] is False  # following is per requester
    status, err = await error(client, "follow_chat", {"id": chat.id}, headers=no_scope_token(sb))
    assert (status, err["type"]) == (403, "authorization")  # chats--all:ro or chats--access:ro
    assert await ok(client, "unfollow_chat", {"id": chat.id}, headers=no_scope_token(sb)) == {}  # no scope
    assert (await ok(client, "get_chat", {"chat_id": chat.id}))["is_followed"] is False
    member = public(chat)[0]
    status, err = await error(client, "unfollow_chat", {"id": chat.id}, headers=no_scope_token(sb, member))
    assert (status, err) == (400, {"type": "validation", "message": "Chat members cannot unfollow the chat"})
    assert (await error(client, "unfollow_chat", {"id": "NOSUCHCHAT"}))[0] == 404


async def test_supervisors_join_silently_and_leave(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    chat = queued_chat(sb)
    queue = dict(chat.last_thread.queue or {})
    join = {
        "chat_id": chat.id,
        "user_id": SMITH,
        "user_type": "agent",
        "visibility": "agents",
        "ignore_requester_presence": True,
    }
    assert await ok(client, "add_user_to_chat", join) == {}
    me = next(u for u in (await ok(client, "get_chat", {"chat_id": chat.id}))["users"] if u["id"] == SMITH)
    assert me["visibility"] == "agents"
    assert chat.last_thread.queue == queue  # still waiting for a public agent
    leave = {"chat_id": chat.id, "user_id": SMITH, "user_type": "agent"}
    assert await ok(client, "remove_user_from_chat", leave) == {}
    assert chat.user(SMITH) is None and SMITH not in chat.last_thread.user_ids
    inactive = next(
        c for c in sb.state.org_chats(constants.ORGANIZATION_ID) if not c.active and c.user(SMITH)
    )
    for method, body in (("add_user_to_chat", join), ("remove_user_from_chat", leave)):
        status, err = await error(client, method, body | {"chat_id": inactive.id})
        assert (status, err["type"]) == (422, "chat_inactive"), method


async def test_the_literal_reading_of_the_agent_limit_counts_silent_agents_too() -> None:
    """`Sandbox(silent_agents_count=True)`: no second agent of any visibility (the docs' "more than
    one agent" read literally); the default sandbox lets silent agents in (the [UNVERIFIED] reading)."""
    strict = Sandbox(seed=7, silent_agents_count=True)
    chat = other_public_chat(strict)
    chat.group_ids = chat.last_thread.group_ids = [0]  # every agent has access
    serving = public(chat)[0]
    add = {"chat_id": chat.id, "user_type": "agent", "ignore_requester_presence": True}
    async with httpx2.AsyncClient(transport=strict.transport(), base_url="http://sandbox") as client:
        for visibility in ("agents", "all"):
            status, err = await error(
                client, "add_user_to_chat", add | {"user_id": SMITH, "visibility": visibility}
            )
            assert (status, err) == (422, LIMIT), visibility
        assert chat.user(SMITH) is None
        remove = {
            "chat_id": chat.id,
            "user_id": serving,
            "user_type": "agent",
            "ignore_requester_presence": True,
        }
        assert await ok(client, "remove_user_from_chat", remove) == {}
        assert await ok(client, "add_user_to_chat", add | {"user_id": SMITH, "visibility": "agents"}) == {}
        status, err = await error(
            client, "add_user_to_chat", add | {"user_id": serving, "visibility": "agents"}
        )
        assert (status, err) == (422, LIMIT)  # a silent agent in the chat keeps a second one out too
        assert await ok(client, "add_user_to_chat", add | {"user_id": SMITH, "visibility": "all"}) == {}
    assert [u.id for u in chat.users if u.type == "agent"] == [SMITH] and public(chat) == [SMITH]
