"""The sandbox's objects carry the keys and JSON types of LiveChat's documented v3.6 samples."""

from __future__ import annotations

import re
from typing import Any

import httpx2
import pytest

from mcp_livechat.sandbox import Sandbox, constants
from tests.sandbox.sandbox_testkit import (
    AGENT_API,
    CONFIG_API,
    NORMAL_PAT,
    SMITH_PAT,
    assert_shape,
    fixture,
    ok,
)

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
CHAT_ID = re.compile(r"^[A-Z0-9]{10}$")
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
EVENT_FIXTURES = {
    "message": "message.json",
    "system_message": "systemMessage.json",
    "file": "file.json",
    "rich_message": "richMessage.json",
    "custom": "custom.json",
    "filled_form": "filledForm.json",
    "form": "form.json",
    "system": "system.json",
}
EVENT_OPTIONAL = frozenset(
    {"custom_id", "properties", "postback", "text_vars", "subtitle", "image", "options"}
)
USER_OPTIONAL = frozenset(
    {
        "name",
        "email",
        "visit",
        "tickets",
        "events_seen_up_to",
        "agent_last_event_created_at",
        "customer_last_event_created_at",
    }
)


def fixed_typo(sample: dict[str, Any]) -> dict[str, Any]:
    """The chat samples spell `properties` as `properites`; the real key is `properties`."""
    return {("properties" if k == "properites" else k): v for k, v in sample.items()}


def check_users(users: list[dict[str, Any]], samples: list[dict[str, Any]]) -> None:
    by_type = {s["type"]: s for s in samples}
    assert {u["type"] for u in users} <= set(by_type)
    for user in users:
        assert_shape(user, by_type[user["type"]], optional=USER_OPTIONAL, path=f"user:{user['type']}")


DELETED_KEYS = {"id", "custom_id", "type", "deleted", "author_id", "created_at", "visibility"}


def check_event(event: dict[str, Any]) -> None:
    """A deleted event reaches a normal agent stripped (the "Deleted event" sample); owners,
    vice-owners and administrators get the original event plus ``deleted: true``."""
    if event.get("deleted") and "text" not in event:
        assert set(event) <= DELETED_KEYS
        assert_shape(event, fixture(AGENT_API / "events" / "deletedEvent.json"), optional=EVENT_OPTIONAL)
        return
    sample = fixture(AGENT_API / "events" / EVENT_FIXTURES[event["type"]])
    opaque = frozenset({"content", "text_vars", "properties", "fields", "details"})
    assert_shape(event, sample, optional=EVENT_OPTIONAL, opaque=opaque, path=event["type"])
    assert re.match(r"^[A-Z0-9]{10}_\d+$", event["id"])
    assert RFC3339.match(event["created_at"])
    if event["type"] in ("filled_form", "form"):
        samples = {f["type"]: f for f in sample["fields"]}
        for field in event["fields"]:
            if field["type"] in samples:
                assert_shape(field, samples[field["type"]], optional=EVENT_OPTIONAL, path="field")


def all_events(sb: Sandbox) -> list[dict[str, Any]]:
    return [e for c in sb.state.chats.values() for t in c.threads for e in t.events]


@pytest.mark.parametrize("event_type", [*EVENT_FIXTURES, "deleted"])
async def test_each_event_type_matches_its_sample(
    sb: Sandbox, client: httpx2.AsyncClient, event_type: str
) -> None:
    def wanted(e: dict[str, Any]) -> bool:
        return (
            bool(e.get("deleted"))
            if event_type == "deleted"
            else e["type"] == event_type and not e.get("deleted")
        )

    normal = sb.state.agents[constants.NORMAL_AGENT_EMAIL]

    def readable(e: dict[str, Any]) -> bool:  # in a thread the normal agent can read
        thread = sb.state.thread(e["id"].split("_")[0])
        return (
            thread is not None
            and thread.restricted_access is None
            and bool(set(thread.group_ids) & set(normal.groups))
        )

    event = next(e for e in all_events(sb) if wanted(e) and readable(e))
    chat = sb.state.chat_of_thread(event["id"].split("_")[0])
    assert chat is not None
    thread_id = event["id"].split("_")[0]
    body = {"chat_id": chat.id, "thread_id": thread_id}
    for headers in (SMITH_PAT, NORMAL_PAT):
        got = await ok(client, "get_chat", body, headers=headers)
        served = next(e for e in got["thread"]["events"] if e["id"] == event["id"])
        check_event(served)
        if event_type == "deleted":
            assert served["deleted"] is True
            assert ("text" in served) == (headers is SMITH_PAT)  # only non-normal roles read it


async def test_chat_summary_matches_sample(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    sample = fixed_typo(fixture(AGENT_API / "other-structures" / "chatSummary.json"))
    body = await ok(client, "list_chats", {"limit": 100})
    assert body["chats_summary"]
    for summary in body["chats_summary"]:
        assert_shape(
            summary,
            sample,
            optional=frozenset({"queue", "tags"}),
            opaque=frozenset({"users", "last_event_per_type", "properties"}),
        )
        assert CHAT_ID.match(summary["id"])
        check_users(summary["users"], sample["users"])
        for kind, entry in summary["last_event_per_type"].items():
            assert set(entry) == {"thread_id", "thread_created_at", "event"}
            assert entry["event"]["type"] == kind
            check_event(entry["event"])
    queued = [s for s in body["chats_summary"] if "queue" in s["last_thread_summary"]]
    assert queued, "some active chats are queued"
    for summary in queued:
        assert_shape(summary["last_thread_summary"]["queue"], sample["last_thread_summary"]["queue"])


async def test_get_chat_matches_chat_sample(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    sample = fixed_typo(fixture(AGENT_API / "other-structures" / "chat.json"))
    chat = next(c for c in sb.state.chats.values() if len(c.threads) >= 2 and c.last_thread.tags)
    body = await ok(client, "get_chat", {"chat_id": chat.id})
    assert set(body) == {"id", "thread", "users", "properties", "access", "is_followed"}
    top = {k: v for k, v in sample.items() if k != "threads"}
    assert_shape(body, top, opaque=frozenset({"users", "properties"}))
    check_users(body["users"], sample["users"])
    assert_shape(
        body["thread"],
        sample["threads"][0],
        optional=frozenset({"tags"}),
        opaque=frozenset({"events", "properties"}),
    )
    assert body["thread"]["previous_thread_id"] == chat.threads[-2].id


async def test_thread_matches_thread_sample(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    sample = fixture(AGENT_API / "other-structures" / "thread.json")
    optional = frozenset(
        {"restricted_access", "queues_duration", "tags", "queue", "previous_thread_id", "next_thread_id"}
    )
    chat = next(c for c in sb.state.chats.values() if len(c.threads) >= 3)
    body = await ok(client, "list_threads", {"chat_id": chat.id, "limit": 100})
    assert body["found_threads"] == len(chat.threads)
    for thread in body["threads"]:
        assert_shape(thread, sample, optional=optional, opaque=frozenset({"events", "properties"}))
        for event in thread["events"]:
            check_event(event)
    middle = body["threads"][1]
    assert "previous_thread_id" in middle
    assert "next_thread_id" in middle
    queued = next(c for c in sb.state.chats.values() if c.active and c.last_thread.queue)
    thread = (await ok(client, "get_chat", {"chat_id": queued.id}))["thread"]
    assert_shape(thread["queue"], sample["queue"])
    assert_shape(thread["access"], fixture(AGENT_API / "other-structures" / "access.json")["access"])


async def test_get_customer_matches_customer_sample(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    sample = fixture(AGENT_API / "users" / "customer.json")
    # Keys of the sample that belong to other contexts (RTM presence, carts) or appear only when set.
    optional = frozenset(
        {
            "present",
            "events_seen_up_to",
            "followed",
            "online",
            "group_ids",
            "state",
            "carts",
            "omnichannel",
            "address",
            "avatar",
            "phone_number",
            "session_fields",
            "tickets",
        }
    )
    customer = next(
        c
        for c in sb.state.customers.values()
        if c.name
        and c.phone_number
        and c.session_fields
        and c.visit
        and c.tickets
        and sb.state.customer_chat_ids(c.id)
    )
    body = await ok(client, "get_customer", {"id": customer.id})
    assert_shape(body, sample, optional=optional, opaque=frozenset({"session_fields"}))
    assert all(len(f) == 1 and all(isinstance(v, str) for v in f.values()) for f in body["session_fields"])
    for key in ("phone_number", "session_fields", "tickets", "chat_ids"):
        assert key in body
    assert UUID4.match(body["id"])
    geo = body["visit"]["geolocation"]
    assert isinstance(geo["latitude"], str)
    assert isinstance(geo["longitude"], str)
    assert body["statistics"]["chats_count"] == len(body["chat_ids"])


async def test_agents_match_samples(client: httpx2.AsyncClient) -> None:
    got = await ok(client, "get_agent", {"id": constants.AGENT_EMAIL}, api="configuration")
    sample = fixture(CONFIG_API / "agents" / "getAgent.json")
    assert set(got) == set(sample)
    assert_shape(got, sample)
    listed = await ok(
        client,
        "list_agents",
        {"fields": ["job_title", "max_chats_count", "last_logout"]},
        api="configuration",
    )
    list_sample = fixture(CONFIG_API / "agents" / "listAgents.json")
    assert isinstance(listed, list)
    assert len(listed) >= 6
    for agent in listed:
        # `summaries` is the sample's legacy name of the `email_subscriptions` field.
        assert_shape(agent, list_sample[1], optional=frozenset({"summaries", "last_logout"}))
        assert "avatar" not in agent
        assert "://" not in agent["avatar_path"]
    assert any("last_logout" in a for a in listed)


async def test_groups_and_tags_match_samples(client: httpx2.AsyncClient) -> None:
    groups = await ok(client, "list_groups", {"fields": ["routing_status"]}, api="configuration")
    assert groups[0]["id"] == 0
    assert groups[0]["name"] == "General"
    for group in groups:
        assert_shape(group, fixture(CONFIG_API / "groups" / "listGroups.json")[0])
    group = await ok(
        client, "get_group", {"id": 1, "fields": ["agent_priorities", "routing_status"]}, api="configuration"
    )
    assert_shape(
        group, fixture(CONFIG_API / "groups" / "getGroup.json"), opaque=frozenset({"agent_priorities"})
    )
    assert set(group["agent_priorities"].values()) <= set(constants.PRIORITIES)
    tags = await ok(client, "list_tags", {}, api="configuration")
    sample_tags = fixture(CONFIG_API / "tags" / "listTags.json")
    assert {t["name"] for t in sample_tags} <= {t["name"] for t in tags}
    for tag in tags:
        assert_shape(tag, sample_tags[0])
