"""Pagination (page_id alone, snapshots, expiry), list limits and list filters."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from mcp_livechat.sandbox import Sandbox, constants
from tests.sandbox.sandbox_testkit import FRA_PAT, NORMAL_PAT, active_chat_of, error, ok


async def walk(
    client: httpx2.AsyncClient, method: str, first: dict[str, Any], key: str
) -> list[dict[str, Any]]:
    page = await ok(client, method, first)
    items = list(page[key])
    assert "previous_page_id" not in page
    while "next_page_id" in page:
        page = await ok(client, method, {"page_id": page["next_page_id"]})
        assert "previous_page_id" in page
        items.extend(page[key])
    return items


async def test_list_chats_walk_returns_every_chat_once(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    first = await ok(client, "list_chats", {"limit": 7})
    assert len(first["chats_summary"]) == 7
    seen = [c["id"] for c in first["chats_summary"]]
    page = first
    chat_id = active_chat_of(sb)
    while "next_page_id" in page:
        # Writes in the middle of the walk must not disturb it.
        await ok(client, "send_event", {"chat_id": chat_id, "event": {"type": "message", "text": "ping"}})
        page = await ok(client, "list_chats", {"page_id": page["next_page_id"]})
        seen.extend(c["id"] for c in page["chats_summary"])
    expected = {c.id for c in sb.state.org_chats(constants.ORGANIZATION_ID)}
    assert len(seen) == len(set(seen)) == len(expected) == first["found_chats"]
    assert set(seen) == expected
    assert "next_page_id" not in page
    previous = await ok(client, "list_chats", {"page_id": page["previous_page_id"]})
    assert len(previous["chats_summary"]) == 7


async def test_default_order_and_limit(client: httpx2.AsyncClient) -> None:
    desc = await ok(client, "list_chats")
    assert len(desc["chats_summary"]) == 10
    stamps = [c["last_thread_summary"]["created_at"] for c in desc["chats_summary"]]
    assert stamps == sorted(stamps, reverse=True)
    asc = await ok(client, "list_chats", {"sort_order": "asc", "limit": 5})
    stamps = [c["last_thread_summary"]["created_at"] for c in asc["chats_summary"]]
    assert stamps == sorted(stamps)


async def test_page_id_must_come_alone(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    page_id = (await ok(client, "list_chats", {"limit": 5}))["next_page_id"]
    extras: list[dict[str, Any]] = [{"limit": 5}, {"filters": {}}, {"sort_order": "desc"}]
    for extra in extras:
        status, err = await error(client, "list_chats", {"page_id": page_id} | extra)
        assert (status, err["type"]) == (400, "validation")
        assert f"`{next(iter(extra))}`" in err["message"]
    for bad in ("MTUxNzM5ODEzMTQ5Ng==", 12):
        status, err = await error(client, "list_chats", {"page_id": bad})
        assert err["type"] == "validation"
    status, err = await error(client, "list_chats", {"page_id": page_id}, headers=NORMAL_PAT)
    assert err["message"] == "Invalid page_id"  # bound to the agent that listed
    status, err = await error(client, "list_archives", {"page_id": page_id})
    assert err["message"] == "Invalid page_id"  # and to the method
    assert (await ok(client, "list_chats", {"page_id": page_id}))["chats_summary"]
    sb.clock.advance(30 * 24 * 3600 + 1)
    status, err = await error(client, "list_chats", {"page_id": page_id})
    assert (status, err["message"]) == (400, "Invalid page_id")


@pytest.mark.parametrize(
    ("method", "body", "field"),
    [
        ("list_chats", {"limit": 0}, "limit"),
        ("list_chats", {"limit": 101}, "limit"),
        ("list_chats", {"limit": "10"}, "limit"),
        ("list_chats", {"limit": True}, "limit"),
        ("list_chats", {"sort_order": "up"}, "sort_order"),
        ("list_chats", {"filters": {"group_ids": list(range(201))}}, "filters.group_ids"),
        ("list_chats", {"filters": {"group_ids": ["1"]}}, "filters.group_ids"),
        ("list_chats", {"filters": {"active": "yes"}}, "filters.active"),
        ("list_chats", {"filters": []}, "filters"),
        ("list_archives", {"limit": 0}, "limit"),
        ("list_archives", {"limit": 101}, "limit"),
        ("list_archives", {"filters": {"from": "yesterday"}}, "filters.from"),
        ("list_archives", {"filters": {"chat_ids": ["A"] * 1001}}, "filters.chat_ids"),
        ("list_archives", {"filters": {"thread_ids": ["A"], "query": "x"}}, "filters.thread_ids"),
        ("list_archives", {"filters": {"agents": {"values": "smith"}}}, "filters.agents.values"),
        ("list_threads", {"limit": 5}, "chat_id"),
    ],
)
async def test_limits_and_validation(
    client: httpx2.AsyncClient, method: str, body: dict[str, Any], field: str
) -> None:
    status, err = await error(client, method, body)
    assert (status, err["type"]) == (400, "validation")
    assert f"`{field}`" in err["message"]


async def test_list_chats_filters(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    chats = sb.state.org_chats(constants.ORGANIZATION_ID)
    active = await ok(client, "list_chats", {"filters": {"active": True}, "limit": 100})
    assert active["found_chats"] == sum(c.active for c in chats) >= 20
    assert all(c["last_thread_summary"]["active"] for c in active["chats_summary"])
    inactive = await ok(client, "list_chats", {"filters": {"active": False}})
    assert inactive["found_chats"] == sum(not c.active for c in chats)
    both = await ok(client, "list_chats", {"filters": {"active": None}})
    assert both["found_chats"] == len(chats)
    billing = await ok(client, "list_chats", {"filters": {"group_ids": [2]}, "limit": 100})
    assert billing["found_chats"] == sum(2 in c.group_ids for c in chats)
    assert all(2 in c["access"]["group_ids"] for c in billing["chats_summary"])


async def test_list_threads(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    chat = next(c for c in sb.state.chats.values() if len(c.threads) == 4)
    page = await ok(client, "list_threads", {"chat_id": chat.id})
    assert [t["id"] for t in page["threads"]] == [t.id for t in reversed(chat.threads)][:3]
    assert page["found_threads"] == 4
    status, err = await error(client, "list_threads", {"page_id": page["next_page_id"]})
    assert (status, err) == (400, {"type": "validation", "message": "`chat_id` is required"})  # "Yes"
    rest = await ok(client, "list_threads", {"chat_id": chat.id, "page_id": page["next_page_id"]})
    assert [t["id"] for t in rest["threads"]] == [chat.threads[0].id]
    other = next(c for c in sb.state.chats.values() if c.id != chat.id and c.user(constants.AGENT_EMAIL))
    status, err = await error(client, "list_threads", {"chat_id": other.id, "page_id": page["next_page_id"]})
    assert (status, err) == (400, {"type": "validation", "message": "Invalid page_id"})
    asc = await ok(client, "list_threads", {"chat_id": chat.id, "sort_order": "asc", "limit": 100})
    assert [t["id"] for t in asc["threads"]] == [t.id for t in chat.threads]
    newest_events = len(chat.threads[-1].events)
    enough = await ok(client, "list_threads", {"chat_id": chat.id, "min_events_count": newest_events + 1})
    assert len(enough["threads"]) == 2
    _, err = await error(client, "list_threads", {"chat_id": chat.id, "min_events_count": 5, "limit": 2})
    assert err["type"] == "validation"
    cutoff = chat.threads[2].created_at
    recent = await ok(client, "list_threads", {"chat_id": chat.id, "filters": {"from": cutoff}, "limit": 10})
    assert [t["id"] for t in recent["threads"]] == [chat.threads[3].id, chat.threads[2].id]
    assert (await error(client, "list_threads", {"chat_id": "NOSUCHCHAT"}))[0] == 404


async def test_list_archives_filters(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    default = await ok(client, "list_archives")
    assert len(default["chats"]) == 10
    total_threads = sum(len(c.threads) for c in sb.state.org_chats(constants.ORGANIZATION_ID))
    assert default["found_chats"] == total_threads
    entry = default["chats"][0]
    assert set(entry) >= {"id", "thread", "users", "properties", "access"}
    hostile = await ok(client, "list_archives", {"filters": {"query": "IGNORE previous INSTRUCTIONS"}})
    assert hostile["found_chats"] == 1
    assert any(
        "Ignore previous instructions" in e.get("text", "") for e in hostile["chats"][0]["thread"]["events"]
    )
    customer = next(
        c for c in sb.state.customers.values() if c.email and len(sb.state.customer_chat_ids(c.id)) >= 3
    )
    by_id = await ok(client, "list_archives", {"filters": {"customer_id": customer.id}, "limit": 100})
    threads = sum(len(sb.state.chats[i].threads) for i in sb.state.customer_chat_ids(customer.id))
    assert by_id["found_chats"] == threads
    assert {c["id"] for c in by_id["chats"]} == set(sb.state.customer_chat_ids(customer.id))
    by_email = await ok(
        client, "list_archives", {"filters": {"customer_email": (customer.email or "").upper()}}
    )
    assert by_email["found_chats"] == threads
    by_name = await ok(client, "list_archives", {"filters": {"query": customer.name}, "limit": 100})
    assert set(sb.state.customer_chat_ids(customer.id)) <= {c["id"] for c in by_name["chats"]}
    tagged = await ok(client, "list_archives", {"filters": {"tags": {"values": ["refund"]}}, "limit": 100})
    assert tagged["found_chats"] > 0
    assert all("refund" in c["thread"]["tags"] for c in tagged["chats"])
    mine = await ok(
        client, "list_archives", {"filters": {"agents": {"values": [constants.NORMAL_AGENT_EMAIL]}}}
    )
    assert mine["found_chats"] > 0
    assert all(constants.NORMAL_AGENT_EMAIL in c["thread"]["user_ids"] for c in mine["chats"])
    unassigned = await ok(client, "list_archives", {"filters": {"agents": {"exists": False}}, "limit": 100})
    assert all(u == c["users"][0]["id"] for c in unassigned["chats"] for u in c["thread"]["user_ids"])
    window = {"from": "2026-11-01T00:00:00Z", "to": "2026-11-10T00:00:00.000000Z"}
    dated = await ok(client, "list_archives", {"filters": window, "limit": 100})
    assert all("2026-11-01" <= c["thread"]["created_at"] <= "2026-11-10" for c in dated["chats"])
    chat = next(c for c in sb.state.chats.values() if len(c.threads) == 3)
    one_chat = await ok(client, "list_archives", {"filters": {"chat_ids": [chat.id]}})
    assert [c["thread"]["id"] for c in one_chat["chats"]] == [t.id for t in reversed(chat.threads)]
    middle = one_chat["chats"][1]
    assert middle["thread"]["previous_accessible_thread_id"] == chat.threads[0].id
    assert middle["thread"]["next_accessible_thread_id"] == chat.threads[2].id
    by_thread = await ok(client, "list_archives", {"filters": {"thread_ids": [chat.threads[1].id]}})
    assert [c["thread"]["id"] for c in by_thread["chats"]] == [chat.threads[1].id]


async def test_fra_list_archives_walk(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    items = await walk(client, "list_archives", {"limit": 25}, "chats")
    assert len(items) == sum(len(c.threads) for c in sb.state.org_chats(constants.ORGANIZATION_ID))
    fra = await ok(client, "list_archives", {"limit": 100}, headers=FRA_PAT)
    assert fra["found_chats"] == sum(
        len(c.threads) for c in sb.state.org_chats(constants.FRA_ORGANIZATION_ID)
    )
