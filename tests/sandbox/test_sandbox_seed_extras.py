"""Seeded data the docs describe: thread summaries, restricted threads, deleted events, bans, and
the counts and determinism of the seed."""

from __future__ import annotations

import re
from typing import Any

import httpx2
import pytest

from mcp_livechat.sandbox import Sandbox, constants, seed_chats
from mcp_livechat.sandbox.seed import build_state
from mcp_livechat.sandbox.state import EmulatorState
from tests.sandbox.sandbox_testkit import NORMAL_PAT, SMITH_PAT, ok

RFC3339 = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"


async def summary_of(client: httpx2.AsyncClient, chat_id: str) -> dict[str, Any]:
    """The chat's list_chats summary, walking the pages."""
    page: dict[str, Any] = await ok(client, "list_chats", {"limit": 100})
    while True:
        found = [s for s in page["chats_summary"] if s["id"] == chat_id]
        if found:
            return found[0]
        page = await ok(client, "list_chats", {"page_id": page["next_page_id"]})


def extras(state: EmulatorState) -> list[Any]:
    return [
        (t.id, t.summary, t.restricted_access)
        for c in state.chats.values()
        for t in c.threads
        if t.summary or t.restricted_access
    ] + [(b.ip, b.customer_id, b.agent_id, b.created_at, b.expires_at) for b in state.bans]


def test_the_documented_counts_hold_and_the_seed_is_deterministic() -> None:
    state, again, other = Sandbox(seed=7).state, build_state(7), build_state(8)
    acme, globex = constants.ORGANIZATION_ID, constants.FRA_ORGANIZATION_ID
    assert (len(state.org_chats(acme)), len(state.org_chats(globex))) == (320, 42)
    customers = [c.org_id for c in state.customers.values()]
    assert (customers.count(acme), customers.count(globex)) == (220, 32)
    assert (len(state.org_agents(acme)), len(state.org_agents(globex))) == (8, 4)
    assert extras(state) == extras(again)  # the process's copy, and built from scratch
    assert extras(state) != extras(other)


async def test_some_threads_carry_livechats_summary(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    chat, thread = next(
        (c, t)
        for c in sb.state.org_chats(constants.ORGANIZATION_ID)
        for t in c.threads
        if t.summary is not None
    )
    got = await ok(client, "get_chat", {"chat_id": chat.id, "thread_id": thread.id})
    summary = got["thread"]["summary"]
    assert set(summary) == {"status", "text", "updated_at"}
    assert summary["status"] == "ok" and summary["text"].startswith("• ")
    assert re.match(RFC3339, summary["updated_at"])
    listed = await ok(client, "list_threads", {"chat_id": chat.id, "limit": 100})
    assert next(t for t in listed["threads"] if t["id"] == thread.id)["summary"] == summary
    without = next(t for c in sb.state.chats.values() for t in c.threads if t.summary is None)
    other = sb.state.chat_of_thread(without.id)
    assert other is not None
    plain = await ok(client, "get_chat", {"chat_id": other.id, "thread_id": without.id})
    assert "summary" not in plain["thread"]


@pytest.mark.parametrize("org_id", [constants.ORGANIZATION_ID, constants.FRA_ORGANIZATION_ID])
def test_one_or_two_threads_per_organization_are_restricted(org_id: str) -> None:
    state = Sandbox(seed=7).state
    restricted = [(c, t) for c in state.org_chats(org_id) for t in c.threads if t.restricted_access]
    assert 1 <= len(restricted) <= 2
    for chat, thread in restricted:
        assert isinstance(thread.restricted_access, str) and thread.restricted_access
        assert thread is not chat.last_thread


async def test_a_restricted_thread_has_no_events(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    chat, thread = next(
        (c, t)
        for c in sb.state.org_chats(constants.ORGANIZATION_ID)
        for t in c.threads
        if t.restricted_access
    )
    assert thread.events  # stored, but not readable
    got = await ok(client, "get_chat", {"chat_id": chat.id, "thread_id": thread.id})
    assert got["thread"]["restricted_access"] == thread.restricted_access
    assert "events" not in got["thread"]
    archived = await ok(client, "list_archives", {"filters": {"thread_ids": [thread.id]}})
    assert "events" not in archived["chats"][0]["thread"]
    listed = await ok(client, "list_threads", {"chat_id": chat.id, "limit": 100})
    assert "events" not in next(t for t in listed["threads"] if t["id"] == thread.id)
    summary = await summary_of(client, chat.id)
    assert all(entry["thread_id"] != thread.id for entry in summary["last_event_per_type"].values())


async def test_deleted_texts_stay_hidden_from_normal_agents(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    normal = sb.state.agents[constants.NORMAL_AGENT_EMAIL]
    chat, thread, event = next(
        (c, t, e)
        for c in sb.state.org_chats(constants.ORGANIZATION_ID)
        for t in c.threads
        for e in t.events
        if e.get("deleted") and not t.restricted_access and set(t.group_ids) & set(normal.groups)
    )
    query = {"filters": {"query": str(event["text"]), "chat_ids": [chat.id]}}
    owner = await ok(client, "list_archives", query, headers=SMITH_PAT)
    assert thread.id in {c["thread"]["id"] for c in owner["chats"]}
    theirs = await ok(client, "list_archives", query, headers=NORMAL_PAT)
    assert thread.id not in {c["thread"]["id"] for c in theirs["chats"]}  # the text is not searchable
    got = await ok(client, "get_chat", {"chat_id": chat.id, "thread_id": thread.id}, headers=NORMAL_PAT)
    served = next(e for e in got["thread"]["events"] if e["id"] == event["id"])
    assert served["deleted"] is True and "text" not in served


def test_session_field_values_are_strings() -> None:
    """The docs give `session_fields` as "custom object-enclosed key-value pairs" with string values
    in every sample, and the chat widget types them `Record<string, string>`: strings only."""
    state = Sandbox(seed=7).state
    fields = [f for c in state.customers.values() for f in c.session_fields]
    assert fields
    assert all(len(f) == 1 and all(isinstance(v, str) for v in f.values()) for f in fields)


def test_seeded_bans_and_followers() -> None:
    state = Sandbox(seed=7).state
    for org_id in (constants.ORGANIZATION_ID, constants.FRA_ORGANIZATION_ID):
        bans = [b for b in state.bans if b.org_id == org_id]
        assert len(bans) == 3
        assert any(b.customer_id is None and b.ip for b in bans)  # an IP ban
        assert any(b.customer_id and b.thread_id in state.thread_chat for b in bans)
        assert any(b.expires_at <= constants.BASE_DATE for b in bans)  # one has expired
    owner = state.org_agents(constants.ORGANIZATION_ID)[0].id
    assert any(c.followers == {owner} for c in state.chats.values())


def _agent_started(state: EmulatorState) -> dict[str, Any]:
    """Thread id → thread, for the threads whose first authored event is not the customer's."""
    out = {}
    for chat in state.chats.values():
        for thread in chat.threads:
            first = next(e for e in thread.events if e.get("author_id"))
            if first["author_id"] != chat.customer_id:
                out[thread.id] = thread
    return out


@pytest.mark.parametrize("org_id", [constants.ORGANIZATION_ID, constants.FRA_ORGANIZATION_ID])
def test_a_few_finished_threads_were_started_by_their_agent(org_id: str) -> None:
    """The agent's message comes first; no pre-chat form, routing message, greeting or start
    page precedes it; the customer answers and the agent replies, so a first response is still
    measured; event ids stay contiguous."""
    state = Sandbox().state
    started, finished = [], 0
    for chat in state.org_chats(org_id):
        for thread in chat.threads:
            finished += not thread.active
            first = next(e for e in thread.events if e.get("author_id"))
            if first["author_id"] != chat.customer_id:
                started.append((chat, thread, first))
    assert 0 < len(started) < finished * 0.08
    for chat, thread, first in started:
        assert not thread.active and first["type"] == "message" and first is thread.events[0]
        assert first["author_id"] in thread.user_ids and "lc2" not in thread.properties
        assert "start_url" not in thread.properties.get("routing", {})
        assert not any(e["type"] == "filled_form" for e in thread.events)
        kinds = [e.get("system_message_type") for e in thread.events]
        assert "routing.assigned" not in kinds
        times = [e["created_at"] for e in thread.events]
        assert times == sorted(times) and thread.created_at < times[0]
        ids = [e["id"] for e in thread.events]
        assert ids == [f"{thread.id}_{n}" for n in range(1, len(ids) + 1)] == ids[: thread.next_event_no - 1]
        authors = [e.get("author_id") for e in thread.events if e["type"] == "message"]
        answered = authors.index(chat.customer_id)
        assert first["author_id"] in authors[answered:]
        if thread.summary:
            assert "opens the chat" in thread.summary["text"]


@pytest.mark.parametrize("seed", [2, 3, 7])
def test_agent_started_threads_leave_the_rest_of_the_seed_as_it_was(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same seed with no agent-started threads differs only inside those threads' events,
    greeting, start page and summary: every other thread, the customers, agents, ratings and
    bans are the same, and so is whether those threads are continuous, rated or tagged."""
    state = Sandbox(seed=seed).state
    started = _agent_started(state)
    monkeypatch.setattr(seed_chats, "_proactive", lambda thread_id: None)
    plain = build_state(seed)
    assert started and not _agent_started(plain)
    assert [x for x in extras(state) if x[0] not in started] == [
        x for x in extras(plain) if x[0] not in started
    ]
    assert state.customers == plain.customers and state.agents == plain.agents
    assert list(state.chats) == list(plain.chats)
    for chat_id, chat in state.chats.items():
        other = plain.chats[chat_id]
        assert [t.id for t in chat.threads] == [t.id for t in other.threads]
        assert (chat.properties, chat.group_ids, chat.followers) == (
            other.properties,
            other.group_ids,
            other.followers,
        )
        if not any(t.id in started for t in chat.threads):
            assert chat == other
        for thread, before in zip(chat.threads, other.threads, strict=True):
            if thread.id not in started:
                assert thread == before
                continue
            routing, was = thread.properties.get("routing"), before.properties.get("routing")
            assert (routing is None) == (was is None)
            if routing is not None and was is not None:
                assert routing == {k: v for k, v in was.items() if k != "start_url"}
            rest = {k: v for k, v in thread.properties.items() if k not in ("routing", "lc2")}
            assert rest == {k: v for k, v in before.properties.items() if k not in ("routing", "lc2")}
            kept = ("tags", "user_ids", "created_at", "restricted_access", "queue", "active")
            assert [getattr(thread, k) for k in kept] == [getattr(before, k) for k in kept]
