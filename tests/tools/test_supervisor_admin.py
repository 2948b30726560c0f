"""Toolsets `supervisor` and `admin` (opt-in) against the sandbox, over the SDK client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mcp_livechat.sandbox import Sandbox, constants
from tests.helpers import call, fail, unknown_tool

ME = constants.AGENT_EMAIL
NORMAL = (constants.NORMAL_AGENT_ACCOUNT_ID, constants.NORMAL_AGENT_PAT)


def _chats(sb: Sandbox, *, active: bool) -> list[Any]:
    return [c for c in sb.state.chats.values() if c.organization_id == constants.ORGANIZATION_ID
            and c.active is active]  # fmt: skip


async def test_only_the_default_toolsets_unless_asked_and_all_means_all(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        default = {t.name for t in (await client.list_tools()).tools}
        hidden = await unknown_tool(client, "join_chat", {"chat_id": "X"})
    async with connect(toolsets="all") as client:
        everything = {t.name for t in (await client.list_tools()).tools}
    assert "join_chat" not in default and "ban_customer" not in default and {"search", "fetch"} <= default
    assert "toolset 'supervisor'" in hidden
    assert {"join_chat", "leave_chat", "ban_customer", "create_tag"} <= everything and default < everything


async def test_join_silently_then_leave(connect: Callable[..., Any], sandbox: Sandbox) -> None:
    chat = next(c for c in _chats(sandbox, active=True) if c.user(ME) is None)
    async with connect(toolsets="supervisor") as client:
        joined = await call(client, "join_chat", {"chat_id": chat.id})
        assert chat.user(ME) is not None and chat.user(ME).visibility == "agents"
        again = await call(client, "join_chat", {"chat_id": chat.id})
        left = await call(client, "leave_chat", {"chat_id": chat.id})
        nothing = await call(client, "leave_chat", {"chat_id": chat.id})
    assert "silently" in joined["done"] and "already" in again["done"]
    assert left["done"].startswith("left") and chat.user(ME) is None and "not in chat" in nothing["done"]


async def test_join_refuses_inactive_chats_and_leave_has_nothing_to_do_where_you_are_absent(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    # add_user_to_chat documents "The chat must be active"; remove_user_from_chat does not, so
    # leave_chat asks LiveChat (tests/tools/test_other_readings.py covers both readings).
    closed = next(c for c in _chats(sandbox, active=False) if c.user(ME) is None)
    async with connect(toolsets="supervisor") as client:
        join = await fail(client, "join_chat", {"chat_id": closed.id})
        leave = await call(client, "leave_chat", {"chat_id": closed.id})
    assert "not active" in join and closed.id in join
    assert leave["done"] == f"you are not in chat {closed.id}; nothing to leave"
    assert sandbox.stats.requests["add_user_to_chat"] == 0
    assert sandbox.stats.requests["remove_user_from_chat"] == 0


async def test_a_public_join_where_another_agent_serves_is_refused(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    chat = next(c for c in _chats(sandbox, active=True) if c.user(ME) is None
                and any(u.type == "agent" and u.visibility == "all" for u in c.users))  # fmt: skip
    async with connect(toolsets="supervisor") as client:
        refused = await fail(client, "join_chat", {"chat_id": chat.id, "visibility": "all"})
    assert "served publicly" in refused and chat.user(ME) is None


async def test_follow_unfollow_and_who_can_take_a_chat(connect: Callable[..., Any], sandbox: Sandbox) -> None:
    chat = next(c for c in _chats(sandbox, active=True) if c.user(ME) is None)
    async with connect(toolsets="supervisor") as client:
        await call(client, "follow_chat", {"chat_id": chat.id})
        await call(client, "unfollow_chat", {"chat_id": chat.id})
        who = await call(client, "list_agents_for_transfer", {"chat_id": chat.id})
    loads = [a.get("total_active_chats", 0) for a in who["agents"]]
    assert who["agents"] and loads == sorted(loads)
    assert sandbox.stats.requests["follow_chat"] == 1 and sandbox.stats.requests["unfollow_chat"] == 1


async def test_tags_can_be_created_used_and_deleted(connect: Callable[..., Any], sandbox: Sandbox) -> None:
    chat = next(c for c in _chats(sandbox, active=True) if 0 in c.group_ids)
    async with connect(toolsets="admin,chats,account") as client:
        await call(client, "create_tag", {"name": "refund-request", "group_ids": [0]})
        dup = await fail(client, "create_tag", {"name": "Refund-Request", "group_ids": [0]})
        args = {"chat_id": chat.id, "thread_id": chat.last_thread.id, "tag": "refund-request"}
        await call(client, "tag_thread", args)
        await call(client, "delete_tag", {"name": "refund-request"})
        tags = await call(client, "list_tags", {})
    assert "already_exists" in dup or "exists" in dup
    assert "refund-request" not in [t["name"] for t in tags["tags"]]


async def test_ban_list_and_lift(connect: Callable[..., Any], sandbox: Sandbox) -> None:
    customer = next(
        c for c in sandbox.state.customers.values() if c.organization_id == constants.ORGANIZATION_ID
    )
    async with connect(toolsets="admin") as client:
        await call(client, "ban_customer", {"customer_id": customer.id, "days": 3})
        bans = await call(client, "list_customer_bans", {})
        assert customer.id in [b.get("customer_id") for b in bans["bans"]]
        both = await fail(client, "unban_customer", {"customer_id": customer.id, "ip": "10.0.0.1"})
        await call(client, "unban_customer", {"customer_id": customer.id})
        after = await call(client, "list_customer_bans", {})
    assert "exactly one" in both
    assert customer.id not in [b.get("customer_id") for b in after["bans"]]


async def test_admin_tools_without_their_scopes_name_the_scope(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    normal = sandbox.state.agents[constants.NORMAL_AGENT_EMAIL]
    normal.pat_scopes = tuple(s for s in normal.pat_scopes if not s.startswith(("tags--", "customers.ban")))
    customer = next(
        c for c in sandbox.state.customers.values() if c.organization_id == constants.ORGANIZATION_ID
    )
    async with connect(toolsets="admin", as_agent=NORMAL) as client:
        bans = await fail(client, "list_customer_bans", {})
        lift = await fail(client, "unban_customer", {"customer_id": customer.id})
        ban = await fail(client, "ban_customer", {"customer_id": customer.id, "days": 1})
        tag = await fail(client, "create_tag", {"name": "x-test", "group_ids": [0]})
    assert "banlist_read" in bans and "banlist_write" in lift
    assert "customers.ban:rw" in ban and "tags--all:rw" in tag and "tags--groups:rw" in tag


@pytest.mark.parametrize("kind", ["drop", "malformed"])
async def test_admin_writes_with_an_unclear_answer_are_confirmed_by_reading(
    connect: Callable[..., Any], sandbox: Sandbox, kind: str
) -> None:
    """Applied, answer lost or broken: each tool reads LiveChat's state and reports the write done
    (never "not found" from a blind second attempt, never "retry")."""
    customer = next(
        c for c in sandbox.state.customers.values() if c.organization_id == constants.ORGANIZATION_ID
    )
    async with connect(toolsets="admin,account") as client:
        sandbox.faults.add(kind, count=1, methods=["create_tag"], after_processing=True)
        created = await call(client, "create_tag", {"name": "unclear-tag", "group_ids": [0]})
        sandbox.faults.add(kind, count=1, methods=["delete_tag"], after_processing=True)
        deleted = await call(client, "delete_tag", {"name": "unclear-tag"})
        await call(client, "ban_customer", {"customer_id": customer.id, "days": 2})
        sandbox.faults.add(kind, count=1, methods=["unban_customer"], after_processing=True)
        lifted = await call(client, "unban_customer", {"customer_id": customer.id})
        tags = await call(client, "list_tags", {})
        bans = await call(client, "list_customer_bans", {})
    for result in (created, deleted, lifted):
        assert "confirmed by reading" in result["done"], result
    assert "unclear-tag" not in [t["name"] for t in tags["tags"]]
    assert customer.id not in [b.get("customer_id") for b in bans["bans"]]
    assert sandbox.stats.requests["delete_tag"] == 1 and sandbox.stats.requests["unban_customer"] == 1


async def test_an_admin_write_lost_before_it_happened_says_it_may_not_have(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    async with connect(toolsets="admin,account") as client:
        await call(client, "create_tag", {"name": "stays-put", "group_ids": [0]})
        sandbox.faults.add("drop", count=1, methods=["delete_tag"], after_processing=False)
        text = await fail(client, "delete_tag", {"name": "stays-put"})
        tags = await call(client, "list_tags", {})
    assert "may or may not have been applied" in text and "not_found" not in text
    assert "stays-put" in [t["name"] for t in tags["tags"]]


async def test_a_ban_or_unfollow_whose_answer_was_lost_is_settled_by_reading_not_sent_twice(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    """LiveChat does not say what it answers to banning a banned customer or unfollowing an
    unfollowed chat, so neither is repeated after a lost answer: the ban list and the chat's
    is_followed say whether it happened."""
    customer = next(
        c for c in sandbox.state.customers.values() if c.organization_id == constants.ORGANIZATION_ID
    )
    chat = next(c for c in _chats(sandbox, active=True) if c.user(ME) is None)
    async with connect(toolsets="admin,supervisor") as client:
        sandbox.faults.add("drop", count=1, methods=["ban_customer"], after_processing=True)
        banned = await call(client, "ban_customer", {"customer_id": customer.id, "days": 2})
        await call(client, "follow_chat", {"chat_id": chat.id})
        sandbox.faults.add("drop", count=1, methods=["unfollow_chat"], after_processing=True)
        unfollowed = await call(client, "unfollow_chat", {"chat_id": chat.id})
        sandbox.faults.add("server_error", count=1, methods=["ban_customer"])
        other = next(
            c for c in sandbox.state.customers.values()
            if c.organization_id == constants.ORGANIZATION_ID and c.id != customer.id
        )  # fmt: skip
        unclear = await fail(client, "ban_customer", {"customer_id": other.id, "days": 2})
    assert "confirmed by reading the bans" in banned["done"]
    assert "confirmed by reading the chat" in unfollowed["done"]
    assert sandbox.stats.requests["ban_customer"] == 2 and sandbox.stats.requests["unfollow_chat"] == 1
    assert "may or may not" in unclear


@pytest.mark.parametrize("sandbox", [500], indirect=True, ids=["refusal-500"])
async def test_a_refused_duplicate_tag_is_never_reported_created(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    """already_exists is a refusal whatever its status; and a read-back after an unclear answer
    counts the tag only in the groups asked for (the old one of that name is not the new one)."""
    async with connect(toolsets="admin") as client:
        await call(client, "create_tag", {"name": "refund-request", "group_ids": [0]})
        dup = await fail(client, "create_tag", {"name": "refund-request", "group_ids": [1]})
        sandbox.faults.add("server_error", count=1, methods=["create_tag"])
        unclear = await fail(client, "create_tag", {"name": "refund-request", "group_ids": [1]})
    assert "already_exists" in dup and "confirmed" not in dup
    assert "may or may not" in unclear
    assert sandbox.state.tags[constants.ORGANIZATION_ID]["refund-request"].group_ids == [0]


async def test_a_re_ban_whose_request_never_arrived_is_not_confirmed_by_the_old_ban(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    customer = next(
        c for c in sandbox.state.customers.values() if c.organization_id == constants.ORGANIZATION_ID
    )
    async with connect(toolsets="admin") as client:
        await call(client, "ban_customer", {"customer_id": customer.id, "days": 1})
        sandbox.faults.add("drop", count=1, methods=["ban_customer"], after_processing=False)
        longer = await fail(client, "ban_customer", {"customer_id": customer.id, "days": 30})
    assert "may or may not" in longer and "confirmed" not in longer
