"""search/fetch (the shapes ChatGPT connectors read), thread history, and who is waiting."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.tools import chats
from tests.helpers import call, fail


def _org_chats(sb: Sandbox) -> list[Any]:
    return [c for c in sb.state.chats.values() if c.organization_id == constants.ORGANIZATION_ID]


def _a_word_customers_wrote(sb: Sandbox) -> str:
    """A distinctive word of some customer message in the seed (read from the sandbox's state)."""
    for chat in _org_chats(sb):
        for thread in chat.threads:
            for event in thread.events:
                if event.get("type") == "message" and event.get("author_id") == chat.customer_id:
                    words = [w.strip(".,!?") for w in str(event.get("text", "")).split()]
                    long = [w for w in words if len(w) >= 7 and w.isalpha()]
                    if long:
                        return long[0]
    raise AssertionError("no customer message in the seed")


async def test_search_results_open_with_fetch_and_contain_the_word(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    word = _a_word_customers_wrote(sandbox)
    async with connect() as client:
        found = await call(client, "search", {"query": word})
        assert found["results"], f"nothing found for {word!r}"
        for hit in found["results"]:
            assert set(hit) == {"id", "title", "url"} and hit["url"].startswith("https://my.livechatinc.com/")
            doc = await call(client, "fetch", {"id": hit["id"]})
            assert set(doc) == {"id", "title", "text", "url", "metadata"} and doc["id"] == hit["id"]
            assert word.lower() in doc["text"].lower()
            meta = doc["metadata"]
            assert meta["chat_id"] in hit["id"] and meta["thread_id"] in hit["id"] and meta["started_at"]
        raw = await client.call_tool("search", {"query": word})
    assert json.loads(raw.content[0].text) == raw.structured_content  # the same JSON as text


async def test_an_email_query_finds_that_customers_chats_and_profile(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    theirs: dict[str, set[str]] = {}
    for chat in _org_chats(sandbox):
        theirs.setdefault(chat.customer_id, set()).add(chat.id)
    customer = next(c for c in sandbox.state.customers.values() if c.email and c.id in theirs
                    and c.organization_id == constants.ORGANIZATION_ID)  # fmt: skip
    async with connect() as client:
        found = await call(client, "search", {"query": customer.email})
        ids = [h["id"] for h in found["results"]]
        assert ids[0] == f"customer:{customer.id}"
        chat_ids = {i.split(":")[1] for i in ids[1:]}
        assert chat_ids and chat_ids <= theirs[customer.id]
        profile = await call(client, "fetch", {"id": ids[0]})
    assert profile["metadata"]["customer_id"] == customer.id and customer.email in profile["text"]


async def test_no_hits_is_an_empty_list_and_a_foreign_id_is_refused(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        assert await call(client, "search", {"query": "zqxjzqxj-nothing-like-this"}) == {"results": []}
        bad = await fail(client, "fetch", {"id": "order:123"})
    assert "id" in bad and "search" in bad


async def test_list_threads_newest_first_with_paging(connect: Callable[..., Any], sandbox: Sandbox) -> None:
    multi = max(_org_chats(sandbox), key=lambda c: len(c.threads))
    assert len(multi.threads) >= 3
    async with connect() as client:
        first = await call(client, "list_threads", {"chat_id": multi.id, "limit": 2})
        rest = await call(client, "list_threads", {"chat_id": multi.id, "page_id": first["next_page_id"]})
    got = [t["id"] for t in first["threads"] + rest["threads"]]
    assert got[: len(multi.threads)] == [t.id for t in reversed(multi.threads)][: len(got)]
    newest = first["threads"][0]
    assert newest["events"] == len(multi.threads[-1].events) and newest["started_at"]


def _expected_waiting(sb: Sandbox) -> set[str]:
    """Independently of the tool: queued, or the last message of the thread is the customer's."""
    out = set()
    for chat in _org_chats(sb):
        if not chat.active:
            continue
        messages = [
            e
            for e in chat.last_thread.events
            if e.get("type") == "message" and e.get("visibility") != "agents"
        ]  # an internal note is no answer: the customer never sees it
        if chat.last_thread.queue is not None or (
            messages and messages[-1].get("author_id") == chat.customer_id
        ):
            out.add(chat.id)
    return out


async def test_list_waiting_chats_is_exactly_who_waits_longest_first(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    expected = _expected_waiting(sandbox)
    assert expected
    async with connect() as client:
        waiting = await call(client, "list_waiting_chats", {"limit": 100})
        top = await call(client, "list_waiting_chats", {"limit": 2})
    assert {w["chat_id"] for w in waiting["chats"]} == expected
    waits = [w["wait_seconds"] for w in waiting["chats"]]
    assert waits == sorted(waits, reverse=True)
    since = [datetime.fromisoformat(w["waiting_since"]) for w in waiting["chats"]]
    assert since == sorted(since)
    # waits are measured on LiveChat's clock (its Date header), not this machine's
    assert max(waits) < 90 * 86400
    assert [w["chat_id"] for w in top["chats"]] == [w["chat_id"] for w in waiting["chats"][:2]]
    assert f"Showing the 2 longest waits of {len(expected)}" in top["note"]
    assert any(w.get("queued") for w in waiting["chats"]) and any(
        w.get("last_customer_message") for w in waiting["chats"]
    )


def _waiting_unqueued(sb: Sandbox) -> Any:
    """An active, unqueued chat whose last two messages are the customer's (so that the first of
    them and the last differ)."""
    return next(
        c
        for c in _org_chats(sb)
        if c.active
        and c.last_thread.queue is None
        and len(msgs := [e for e in c.last_thread.events if e.get("type") == "message"]) >= 2
        and msgs[-1].get("author_id") == msgs[-2].get("author_id") == c.customer_id
    )


async def test_an_internal_note_is_no_answer_the_customer_still_waits_as_long(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    chat = _waiting_unqueued(sandbox)
    async with connect() as client:
        before = {
            w["chat_id"]: w for w in (await call(client, "list_waiting_chats", {"limit": 100}))["chats"]
        }
        await call(
            client, "send_message", {"chat_id": chat.id, "text": "Lee, can you look?", "visibility": "agents"}
        )
        await call(
            client, "send_message", {"chat_id": chat.id, "text": "And this one?", "visibility": "agents"}
        )
        reads = sandbox.stats.requests["get_chat"]
        after = {w["chat_id"]: w for w in (await call(client, "list_waiting_chats", {"limit": 100}))["chats"]}
        listed = await call(client, "list_chats", {"limit": 100})
    assert chat.id in before and chat.id in after  # still waiting: the customer saw no answer
    assert sandbox.stats.requests["get_chat"] >= reads + 1  # the chat behind the note was read
    # the wait runs from the customer's last message, as for any chat: the note moves nothing
    assert after[chat.id]["waiting_since"] == before[chat.id]["waiting_since"]
    assert after[chat.id]["wait_seconds"] >= before[chat.id]["wait_seconds"]
    assert after[chat.id]["last_customer_message"] == before[chat.id]["last_customer_message"]
    shown = next(c for c in listed["chats"] if c["id"] == chat.id)
    assert shown["last_message"]["internal"] is True and shown["last_message"]["text"] == "And this one?"
    assert all(
        "internal" not in c["last_message"]
        for c in listed["chats"]
        if c.get("last_message") and c["id"] != chat.id and c["last_message"]["role"] == "customer"
    )


async def test_chats_behind_notes_that_cannot_be_read_are_named_not_dropped(
    connect: Callable[..., Any], sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = _waiting_unqueued(sandbox)
    async with connect() as client:
        await call(client, "send_message", {"chat_id": chat.id, "text": "internal", "visibility": "agents"})
        sandbox.faults.add("server_error", count=10, methods=["get_chat"])
        failed = await call(client, "list_waiting_chats", {"limit": 100})
        sandbox.faults.clear()
        monkeypatch.setattr(chats, "NOTE_READS", 0)
        capped = await call(client, "list_waiting_chats", {"limit": 100})
    for result in (failed, capped):
        assert chat.id not in {w["chat_id"] for w in result["chats"]}
        assert "Not judged" in result["note"] and chat.id in result["note"] and "get_chat" in result["note"]


async def test_list_waiting_chats_walks_pages_within_its_bound(
    connect: Callable[..., Any], sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chats, "WAITING_PAGE_SIZE", 5)
    monkeypatch.setattr(chats, "WAITING_PAGES", 2)
    async with connect() as client:
        bounded = await call(client, "list_waiting_chats", {})
    assert bounded["scanned"] == 10 and "Stopped after 10 active chats" in bounded["note"]
    assert sandbox.stats.requests["list_chats"] == 2


async def test_fetch_of_a_customer_without_email_or_chats_fits_the_output_schema(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    """Metadata leaves out what the customer lacks instead of sending nulls the schema refuses."""
    bare = next(
        c for c in sandbox.state.customers.values()
        if c.organization_id == constants.ORGANIZATION_ID and c.email is None
    )  # fmt: skip
    async with connect() as client:
        doc = await call(client, "fetch", {"id": f"customer:{bare.id}"})
    assert doc["metadata"]["customer_id"] == bare.id
    assert "email" not in doc["metadata"]
    assert None not in doc["metadata"].values()
