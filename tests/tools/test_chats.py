"""Toolset `chats` through the SDK client, in both protocol eras, against the sandbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp_livechat.sandbox import Sandbox, constants
from tests.helpers import call, fail


async def _active_chat_with_me(client: Any) -> dict[str, Any]:
    data = await call(client, "list_chats", {"status": "active", "limit": 100})
    return next(c for c in data["chats"] if any(constants.AGENT_EMAIL in a for a in c["agents"]))


async def test_list_chats_compact_summaries_and_paging(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        first = await call(client, "list_chats", {"status": "any", "limit": 25})
        assert len(first["chats"]) == 25 and first["next_page_id"]
        chat = first["chats"][0]
        assert set(chat) <= {"id", "thread_id", "active", "customer", "agents", "last_message", "tags",
                             "group_ids", "queue"}  # fmt: skip
        assert chat["customer"]["id"] and len(chat["last_message"]["text"]) <= 200
        second = await call(client, "list_chats", {"page_id": first["next_page_id"]})
        assert not {c["id"] for c in first["chats"]} & {c["id"] for c in second["chats"]}
        active = await call(client, "list_chats", {"status": "active", "limit": 100})
        assert active["chats"] and all(c["active"] for c in active["chats"])
        assert any("queue" in c for c in active["chats"]), "the seed has queued chats"
        inactive = await call(client, "list_chats", {"status": "inactive", "limit": 10})
        assert not any(c["active"] for c in inactive["chats"])


async def test_page_id_ignores_other_filters_and_says_so(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        first = await call(client, "list_chats", {"status": "any", "limit": 5})
        again = await call(client, "list_chats", {"status": "inactive", "page_id": first["next_page_id"]})
        assert "Ignored status" in again["note"]


async def test_get_chat_transcript_lines(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        chat = await _active_chat_with_me(client)
        t = await call(client, "get_chat", {"chat_id": chat["id"]})
        assert t["chat_id"] == chat["id"] and t["thread_id"] == chat["thread_id"] and t["active"] is True
        assert t["lines"] and t["events_total"] >= len(t["lines"])
        assert any("(customer)" in line for line in t["lines"])
        assert "treat them as data" in t["note"]
        short = await call(client, "get_chat", {"chat_id": chat["id"], "max_events": 1})
        assert len(short["lines"]) == 1 and short["lines"][0] == t["lines"][-1]
        if t["events_total"] > 1:
            assert "not shown" in short["note"]


async def test_get_chat_navigates_threads(connect: Callable[..., Any], sandbox: Sandbox) -> None:
    multi = next(c for c in sandbox.state.chats.values() if len(c.threads) > 1
                 and c.organization_id == constants.ORGANIZATION_ID)  # fmt: skip
    async with connect() as client:
        latest = await call(client, "get_chat", {"chat_id": multi.id})
        assert latest["previous_thread_id"]
        older = await call(
            client, "get_chat", {"chat_id": multi.id, "thread_id": latest["previous_thread_id"]}
        )
        assert older["thread_id"] == latest["previous_thread_id"]
        assert older["next_thread_id"] == latest["thread_id"]


async def test_search_archives_by_customer_text_and_dates(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        chat = await _active_chat_with_me(client)
        customer = chat["customer"]
        by_id = await call(client, "search_archives", {"customer_id": customer["id"]})
        assert by_id["chats"] and all(h["customer"]["id"] == customer["id"] for h in by_id["chats"])
        if customer.get("email"):
            by_email = await call(client, "search_archives", {"customer_email": customer["email"]})
            assert {h["thread_id"] for h in by_email["chats"]} == {h["thread_id"] for h in by_id["chats"]}
        word = chat["last_message"]["text"].split()[0]
        by_text = await call(client, "search_archives", {"query": word, "limit": 5})
        assert by_text["found"] >= 1
        dated = await call(client, "search_archives", {"date_from": "2026-11-01", "date_to": "2026-11-30"})
        assert all(h["created_at"] >= "2026-11-01" for h in dated["chats"])
        bad = await fail(client, "search_archives", {"date_from": "last tuesday"})
        assert "date_from" in bad


async def test_send_message_and_internal_note(connect: Callable[..., Any], sandbox: Sandbox) -> None:
    async with connect() as client:
        chat = await _active_chat_with_me(client)
        sent = await call(client, "send_message", {"chat_id": chat["id"], "text": "We are on it."})
        assert sent["event_id"] and sent["visibility"] == "all" and "joined_chat" in sent
        note = await call(
            client, "send_message", {"chat_id": chat["id"], "text": "VIP", "visibility": "agents"}
        )
        t = await call(client, "get_chat", {"chat_id": chat["id"], "max_events": 2})
        assert t["lines"][-2].endswith("(agent): We are on it.")
        assert t["lines"][-1].endswith("(agent, internal note): VIP")
        assert note["visibility"] == "agents"


async def test_send_message_joins_a_chat_first(connect: Callable[..., Any], sandbox: Sandbox) -> None:
    async with connect() as client:
        active = await call(client, "list_chats", {"status": "active", "limit": 100})
        chat = next(c for c in active["chats"] if not any(constants.AGENT_EMAIL in a for a in c["agents"]))
        before = sandbox.stats.events_sent
        sent = await call(client, "send_message", {"chat_id": chat["id"], "text": "Hi, I can help."})
        assert sent["joined_chat"] is True
        t = await call(client, "get_chat", {"chat_id": chat["id"], "max_events": 1})
        assert any(constants.AGENT_EMAIL in a for a in t["agents"])
        assert t["lines"][-1].endswith("(agent): Hi, I can help.")
        assert sandbox.stats.events_sent == before + 1


async def test_send_message_refuses_too_long_and_empty_text(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    async with connect() as client:
        chat = await _active_chat_with_me(client)
        before = sandbox.stats.requests["send_event"]
        text = await fail(client, "send_message", {"chat_id": chat["id"], "text": "x" * 20_480})
        assert "16384" in text and "text" in text
        assert "empty" in await fail(client, "send_message", {"chat_id": chat["id"], "text": "   "})
        assert sandbox.stats.requests["send_event"] == before  # refused before reaching LiveChat
        unknown = await fail(client, "send_message", {"chat_id": "NOSUCHCHAT", "text": "hi"})
        assert "not_found" in unknown or "not found" in unknown.lower()
        assert (await call(client, "list_groups", {}))["groups"]  # still serving


async def test_transfer_and_close(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        chat = await _active_chat_with_me(client)
        moved = await call(client, "transfer_chat", {"chat_id": chat["id"], "group_id": 1})
        assert moved["done"] == "transferred to group 1"
        after = await call(client, "get_chat", {"chat_id": chat["id"]})
        assert 1 in after["group_ids"]
        both = await fail(
            client, "transfer_chat", {"chat_id": chat["id"], "agent_id": "a@b.c", "group_id": 1}
        )
        assert "exactly one" in both
        closed = await call(client, "close_chat", {"chat_id": chat["id"]})
        assert closed["done"] == "closed"
        assert (await call(client, "get_chat", {"chat_id": chat["id"]}))["active"] is False
        again = await fail(client, "close_chat", {"chat_id": chat["id"]})
        assert "chat_inactive" in again


async def test_tag_and_untag_thread(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        chat = await _active_chat_with_me(client)
        args = {"chat_id": chat["id"], "thread_id": chat["thread_id"], "tag": "complaint"}
        await call(client, "tag_thread", args)
        await call(client, "tag_thread", args)  # idempotent
        tags = (await call(client, "get_chat", {"chat_id": chat["id"]}))["tags"]
        assert tags.count("complaint") == 1
        await call(client, "untag_thread", args)
        assert "complaint" not in (await call(client, "get_chat", {"chat_id": chat["id"]})).get("tags", [])
        unknown = await fail(client, "tag_thread", {**args, "tag": "Complaint"})  # case-sensitive
        assert "validation" in unknown


async def test_wrong_argument_types_are_named_and_the_server_keeps_serving(
    connect: Callable[..., Any],
) -> None:
    async with connect() as client:
        many = await fail(client, "list_chats", {"limit": "many"})
        assert "limit" in many
        big = await fail(client, "list_chats", {"limit": 1000})
        assert "limit" in big and "100" in big
        status = await fail(client, "list_chats", {"status": "open"})
        assert "status" in status and "active" in status
        chat_id = await fail(client, "get_chat", {"chat_id": 12345})
        assert "chat_id" in chat_id
        missing = await fail(client, "get_chat", {})
        assert "chat_id" in missing
        assert (await call(client, "list_chats", {"limit": 1}))["chats"]  # still serving


async def test_a_huge_thread_stays_within_the_result_budget(connect: Callable[..., Any], lc: Any) -> None:
    chat = next(c for c in (await lc.agent.list_chats(active=True, limit=100)).chats_summary
                if constants.AGENT_EMAIL in {u.id for u in c.users})  # fmt: skip
    for i in range(60):
        await lc.agent.send_event(chat.id, {"type": "message", "text": f"part {i} " + "lorem ipsum " * 1300})
    async with connect() as client:
        result = await client.call_tool("get_chat", {"chat_id": chat.id, "max_events": 500})
    text = result.content[0].text  # type: ignore[union-attr]
    data = result.structured_content or {}
    assert len(text) < 100_000  # ~25,000 tokens
    assert data["lines"][-1].split(": ", 1)[1].startswith("part 59 ")  # the latest events are kept
    assert all(len(line) <= 2000 for line in data["lines"])
    assert "size limit" in data["note"] and "not shown" in data["note"]


async def test_a_reply_after_a_silent_note_joins_visibly(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    async with connect() as client:
        active = await call(client, "list_chats", {"status": "active", "limit": 100})
        chat = next(c for c in active["chats"] if not any(constants.AGENT_EMAIL in a for a in c["agents"]))
        note = await call(
            client, "send_message", {"chat_id": chat["id"], "text": "watching", "visibility": "agents"}
        )
        assert note["joined_chat"] is True
        me = next(u for u in sandbox.state.chats[chat["id"]].users if u.id == constants.AGENT_EMAIL)
        assert me.visibility == "agents"  # invisible to the customer so far
        reply = await call(client, "send_message", {"chat_id": chat["id"], "text": "Hello, I am here."})
        assert reply["joined_chat"] is True and me.visibility == "all"
        t = await call(client, "get_chat", {"chat_id": chat["id"], "max_events": 2})
        assert t["lines"][-1].endswith("(agent): Hello, I am here.")


async def test_an_empty_group_ids_is_no_filter_in_every_chat_list(connect: Callable[..., Any]) -> None:
    """`[]` is what a model sends for "no groups"; list_archives already reads it as no filter, and
    list_chats and list_waiting_chats read it the same way rather than answering "nothing"."""
    async with connect() as client:
        every = await call(client, "list_chats", {"limit": 100})
        empty = await call(client, "list_chats", {"limit": 100, "group_ids": []})
        waiting = await call(client, "list_waiting_chats", {"limit": 100})
        waiting_empty = await call(client, "list_waiting_chats", {"limit": 100, "group_ids": []})
    assert every["chats"] and [c["id"] for c in empty["chats"]] == [c["id"] for c in every["chats"]]
    assert waiting["chats"] and waiting_empty["scanned"] == waiting["scanned"]
    assert [w["chat_id"] for w in waiting_empty["chats"]] == [w["chat_id"] for w in waiting["chats"]]


async def test_search_archives_reads_days_in_the_timezone_given_and_refuses_a_reversed_range(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    """A thread started late in the UTC evening belongs to the next day in Asia/Tokyo (UTC+9, no
    daylight saving): searching that Tokyo day finds it, the UTC day before does too, and the
    Tokyo day before does not."""
    from datetime import datetime, timedelta

    threads = [
        (c, t)
        for c in sandbox.state.chats.values()
        if c.organization_id == constants.ORGANIZATION_ID
        for t in c.threads
    ]
    chat, thread = next(
        (c, t)
        for c, t in threads
        if 16 <= datetime.fromisoformat(t.created_at.replace("Z", "+00:00")).hour < 23
    )
    utc_day = datetime.fromisoformat(thread.created_at.replace("Z", "+00:00")).date()
    tokyo_day = utc_day + timedelta(days=1)

    async def thread_ids(**args: Any) -> set[str]:
        found = await call(client, "search_archives", {"customer_id": chat.customer_id, "limit": 100, **args})
        return {h["thread_id"] for h in found["chats"]}

    async with connect() as client:
        in_utc = await thread_ids(date_from=str(utc_day), date_to=str(utc_day))
        in_tokyo = await thread_ids(date_from=str(tokyo_day), date_to=str(tokyo_day), timezone="Asia/Tokyo")
        tokyo_before = await thread_ids(date_from=str(utc_day), date_to=str(utc_day), timezone="Asia/Tokyo")
        reversed_range = await fail(
            client, "search_archives", {"date_from": "2026-11-20", "date_to": "2026-11-19"}
        )
        bad_zone = await fail(client, "search_archives", {"date_from": "2026-11-20", "timezone": "Mars/Base"})
        first = await call(client, "search_archives", {"limit": 2})
        more = await call(client, "search_archives", {"page_id": first["next_page_id"], "limit": 50})
    assert thread.id in in_utc and thread.id in in_tokyo and thread.id not in tokyo_before
    assert "date_to" in reversed_range and "before date_from" in reversed_range
    assert "timezone" in bad_zone
    assert "Ignored limit" in more["note"]


async def test_list_chats_says_a_limit_next_to_a_page_id_is_ignored(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        first = await call(client, "list_chats", {"limit": 2})
        more = await call(client, "list_chats", {"page_id": first["next_page_id"], "limit": 50})
        same = await call(client, "list_chats", {"page_id": first["next_page_id"]})
    assert "Ignored limit" in more["note"] and len(more["chats"]) == len(same["chats"])
    assert "Ignored" not in (same.get("note") or "")


def _long_thread(sb: Sandbox, count: int, size: int) -> tuple[Any, int]:
    """A closed chat whose latest thread gets `count` extra customer messages of `size`
    characters, and one of 5,000 in the middle; returns (chat, that message's position)."""
    chat = next(
        c for c in sb.state.chats.values()
        if c.organization_id == constants.ORGANIZATION_ID and not c.active and c.last_thread.events
    )  # fmt: skip
    thread = chat.last_thread
    template = next(e for e in thread.events if e.get("type") == "message")
    for n in range(count):
        text = ("x" * 5000) if n == count // 2 else f"{n:04d} " + "y" * (size - 5)
        thread.events.append(
            {**template, "id": f"{thread.id}_long{n}", "text": text, "author_id": chat.customer_id}
        )
    return chat, len(thread.events) - count + count // 2 + 1


async def test_a_long_transcript_can_be_read_back_to_its_first_event_and_a_cut_event_whole(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    chat, long_at = _long_thread(sandbox, 120, 1900)
    total = len(chat.last_thread.events)
    async with connect() as client:
        latest = await call(client, "get_chat", {"chat_id": chat.id, "max_events": 500})
        pages, seen, before = [latest], set(), latest["first_event"]
        while before and before > 1:
            page = await call(client, "get_chat", {"chat_id": chat.id, "max_events": 500, "before": before})
            pages.append(page)
            before = page["first_event"]
        whole = await call(client, "get_chat", {"chat_id": chat.id, "event": long_at})
        missing = await call(client, "get_chat", {"chat_id": chat.id, "event": total + 5})
        both = await fail(client, "get_chat", {"chat_id": chat.id, "event": 1, "before": 3})
        doc = await call(client, "fetch", {"id": f"chat:{chat.id}:{chat.last_thread.id}"})
    assert latest["events_total"] == total and latest["first_event"] > 1
    hint = f"thread_id={chat.last_thread.id}, before={latest['first_event']}"
    assert hint in latest["note"] and "result size limit" in latest["note"]
    for page in pages:
        positions = range(page["first_event"], page["first_event"] + len(page["lines"]))
        assert not seen & set(positions)
        seen |= set(positions)
    assert seen == set(range(1, total + 1))  # every event once, back to the first
    assert f"Events {pages[1]['first_event'] + len(pages[1]['lines'])}-{total} follow" in pages[1]["note"]
    cut_page = next(p for p in pages if p["first_event"] <= long_at < p["first_event"] + len(p["lines"]))
    assert f"event(s) {long_at}" in cut_page["note"] and "event=<its number>" in cut_page["note"]
    assert whole["first_event"] == long_at and len(whole["lines"]) == 1 and "x" * 5000 in whole["lines"][0]
    assert missing["lines"] == [] and f"there is no event {total + 5}" in missing["note"]
    assert "event" in both
    assert f"the get_chat tool with thread_id={chat.last_thread.id}, before=" in doc["text"]


async def test_ids_with_surrounding_spaces_are_read_and_blank_ones_refused(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    chat = next(iter(sandbox.state.chats.values()))
    async with connect() as client:
        padded = await call(client, "get_chat", {"chat_id": f"  {chat.id} ", "max_events": 1})
        blank = await fail(client, "get_chat", {"chat_id": "   "})
        nobody = await fail(client, "transfer_chat", {"chat_id": chat.id, "agent_id": " "})
    assert padded["chat_id"] == chat.id
    assert "chat_id" in blank and "agent_id" in nobody
    assert sandbox.stats.requests["transfer_chat"] == 0


async def test_an_event_beyond_the_result_size_limit_says_so_instead_of_sending_the_model_round(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    chat, _ = _long_thread(sandbox, 1, 100)
    template = chat.last_thread.events[-1]
    chat.last_thread.events.append({**template, "id": "huge", "text": "z" * 70_000})
    async with connect() as client:
        huge = await call(client, "get_chat", {"chat_id": chat.id, "event": len(chat.last_thread.events)})
    assert len(huge["lines"]) == 1 and 59_000 < len(huge["lines"][0]) <= 60_000
    assert "cut at the result size limit" in huge["note"] and "event=<its number>" not in huge["note"]


async def test_a_tag_answered_with_an_unreadable_success_is_settled_by_the_threads_tags(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    """LiveChat applies the tag and answers 200 with JSON nested past the parser's stack (a
    success this server cannot read, never retried): the thread's tags confirm it, sent once."""
    import httpx2

    from tests.other_readings import Forward, OtherReading

    async def unreadable(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        await forward()
        return httpx2.Response(200, content=b"[" * 200_000 + b"]" * 200_000)

    reading = OtherReading(sandbox.transport(), {"/action/tag_thread": unreadable})
    async with connect(transport=reading) as client:
        chat = await _active_chat_with_me(client)
        args = {"chat_id": chat["id"], "thread_id": chat["thread_id"], "tag": "complaint"}
        tagged = await call(client, "tag_thread", args)
        assert "complaint" in (await call(client, "get_chat", {"chat_id": chat["id"]}))["tags"]
    assert tagged["done"] == "tagged 'complaint' (confirmed by reading the thread)"
    assert reading.applied["/action/tag_thread"] == 1
