"""The client's models read LiveChat's own documented examples, independent of the sandbox.

Every example under ``tests/fixtures/`` (LiveChat's published payloads, see ``tests/fixtures/SOURCE.md``)
that one of the models of ``mcp_livechat.livechat.types`` stands for is parsed from its bytes, as
the transport does, and every field the model declares comes out with the documented value.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from mcp_livechat.livechat.types import (
    Access,
    Agent,
    Chat,
    ChatSummary,
    Customer,
    Event,
    Group,
    Tag,
    Thread,
    User,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
AGENT_API = "messaging/v3.6/agent-chat-api"
CONFIG_API = "management/v3.6/configuration-api/responses"

# Example (relative to tests/fixtures/) -> the model it is an example of.
OBJECTS: list[tuple[str, type[BaseModel]]] = [
    *(
        (f"{AGENT_API}/events/{name}.json", Event)
        for name in (
            "custom",
            "deletedEvent",
            "file",
            "filledForm",
            "form",
            "message",
            "richMessage",
            "system",
            "systemMessage",
        )
    ),
    (f"{AGENT_API}/users/agent.json", User),
    (f"{AGENT_API}/users/customer.json", User),
    (f"{AGENT_API}/users/customer.json", Customer),
    (f"{AGENT_API}/other-structures/chat.json", Chat),
    (f"{AGENT_API}/other-structures/chatSummary.json", ChatSummary),
    (f"{AGENT_API}/other-structures/thread.json", Thread),
    (f"{CONFIG_API}/agents/getAgent.json", Agent),
    (f"{CONFIG_API}/groups/getGroup.json", Group),
]
# Bare-array responses (list_agents, list_groups, list_tags) -> the model of one item.
ARRAYS: list[tuple[str, type[BaseModel]]] = [
    (f"{CONFIG_API}/agents/listAgents.json", Agent),
    (f"{CONFIG_API}/groups/listGroups.json", Group),
    (f"{CONFIG_API}/tags/listTags.json", Tag),
]
# Examples of structures nested in others, checked through their parent or on their own below.
NESTED = {f"{AGENT_API}/other-structures/access.json"}
# The Reports API examples: mcp_livechat.livechat.types has no model of a report.
NO_CLIENT_MODEL = "data-reporting/"


def raw(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def documented(relative: str) -> Any:
    return json.loads(raw(relative))


def instant(text: str) -> datetime:
    """A documented RFC 3339 timestamp as an aware datetime (Python 3.11 reads ``Z``)."""
    return datetime.fromisoformat(text)


def assert_documented(parsed: Any, example: Any, path: str = "") -> int:
    """Every field ``parsed`` declares that ``example`` carries has the documented value; returns
    how many fields were compared (nested ones included), so a caller can tell a real check
    from one that matched nothing."""
    if isinstance(parsed, BaseModel):
        assert isinstance(example, dict), path
        compared = 0
        for name in type(parsed).model_fields:
            if name in example:
                compared += 1 + assert_documented(getattr(parsed, name), example[name], f"{path}.{name}")
        return compared
    if isinstance(parsed, list) and any(isinstance(item, BaseModel) for item in parsed):
        assert isinstance(example, list) and len(parsed) == len(example), path
        return sum(
            assert_documented(p, e, f"{path}[{i}]")
            for i, (p, e) in enumerate(zip(parsed, example, strict=True))
        )
    if isinstance(parsed, dict) and any(isinstance(v, BaseModel) for v in parsed.values()):
        assert isinstance(example, dict) and set(parsed) == set(example), path
        return sum(assert_documented(v, example[k], f"{path}.{k}") for k, v in parsed.items())
    if isinstance(parsed, datetime):
        assert parsed.tzinfo is not None, f"{path}: naive datetime"
        assert parsed == instant(example), path
        return 0
    assert parsed == example, f"{path}: {parsed!r} != documented {example!r}"
    return 0


def test_every_example_is_either_read_by_a_model_or_accounted_for() -> None:
    """A new example in tests/fixtures/ is not silently skipped: it gets a model here, or a reason."""
    mapped = {path for path, _ in OBJECTS + ARRAYS} | NESTED
    on_disk = {str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*.json")}
    unmapped = {p for p in on_disk - mapped if not p.startswith(NO_CLIENT_MODEL)}
    assert not unmapped, sorted(unmapped)
    assert mapped <= on_disk, sorted(mapped - on_disk)


@pytest.mark.parametrize(
    ("relative", "model"), OBJECTS, ids=lambda v: v if isinstance(v, str) else v.__name__
)
def test_an_object_example_parses_into_its_model(relative: str, model: type[BaseModel]) -> None:
    parsed = model.model_validate_json(raw(relative))
    assert assert_documented(parsed, documented(relative)) >= 3


@pytest.mark.parametrize(("relative", "model"), ARRAYS, ids=lambda v: v if isinstance(v, str) else v.__name__)
def test_an_array_example_parses_into_a_list_of_its_model(relative: str, model: type[BaseModel]) -> None:
    items = TypeAdapter(list[model]).validate_json(raw(relative))  # type: ignore[valid-type]
    example = documented(relative)
    assert len(items) == len(example) >= 2
    for item, documented_item in zip(items, example, strict=True):
        assert assert_documented(item, documented_item) >= 3


# -- spot checks, per model -----------------------------------------------------------------------
def test_event_examples_keep_their_documented_values() -> None:
    deleted = Event.model_validate_json(raw(f"{AGENT_API}/events/deletedEvent.json"))
    assert deleted.deleted is True and deleted.type == "message"
    assert deleted.text is None  # the Deleted event carries no content
    assert deleted.created_at == datetime(2017, 10, 12, 15, 19, 21, 10200, tzinfo=UTC)
    assert deleted.created_at.utcoffset() == timedelta(0)

    message = Event.model_validate_json(raw(f"{AGENT_API}/events/message.json"))
    assert (message.text, message.visibility, message.custom_id) == (
        "hello there",
        "all",
        "31-0C-1C-07-DB-16",
    )
    assert message.deleted is None

    file = Event.model_validate_json(raw(f"{AGENT_API}/events/file.json"))
    assert (file.name, file.content_type, file.size) == ("image25.png", "image/png", 123444)

    filled = Event.model_validate_json(raw(f"{AGENT_API}/events/filledForm.json"))
    assert filled.form_type == "prechat" and filled.fields is not None
    by_type = {f.type: f for f in filled.fields}
    assert by_type["name"].answer == "Thomas Anderson"
    assert by_type["radio"].answer == {"id": "0", "label": "Support"}
    assert by_type["checkbox"].answers == [{"id": "0", "label": "automotive"}, {"id": "1", "label": "it"}]

    rich = Event.model_validate_json(raw(f"{AGENT_API}/events/richMessage.json"))
    assert rich.template_id == "cards" and rich.elements and rich.elements[0]["title"] == "Lorem ipsum dolor."

    system = Event.model_validate_json(raw(f"{AGENT_API}/events/system.json"))
    assert (system.source, system.subtype) == ("cdp", "store_order_was_created")
    assert system.author_id is None  # the example has no author

    routed = Event.model_validate_json(raw(f"{AGENT_API}/events/systemMessage.json"))
    assert routed.system_message_type == "routing.assigned" and routed.author_id is None


def test_user_and_customer_examples_keep_their_documented_values() -> None:
    agent = User.model_validate_json(raw(f"{AGENT_API}/users/agent.json"))
    assert (agent.id, agent.type, agent.visibility, agent.present) == (
        "smith@example.com",
        "agent",
        "all",
        True,
    )

    as_user = User.model_validate_json(raw(f"{AGENT_API}/users/customer.json"))
    assert as_user.type == "customer" and as_user.name == "Thomas Anderson"
    assert as_user.created_at == datetime(2017, 10, 11, 15, 19, 21, 10200, tzinfo=UTC)

    customer = Customer.model_validate_json(raw(f"{AGENT_API}/users/customer.json"))
    assert customer.id == "b7eff798-f8df-4364-8059-649c35c9ed0c" and customer.email_verified is False
    assert customer.phone_number == "+18008529001"
    assert customer.session_fields == [
        {"custom_key": "custom_value"},
        {"another_custom_key": "another_custom_value"},
    ]
    assert customer.statistics is not None and customer.statistics.tickets_count == 12
    assert customer.statistics.page_views_count is None  # not in this example
    assert customer.visit is not None and customer.visit.geolocation is not None
    assert customer.visit.geolocation.city == "Wroclaw"
    assert [p.url for p in customer.visit.last_pages] == [
        "https://www.livechat.com/",
        "https://www.livechat.com/tour",
    ]
    assert customer.visit.ended_at == datetime(2017, 10, 12, 15, 21, 1, tzinfo=UTC)
    assert customer.agent_last_event_created_at is not None
    assert customer.agent_last_event_created_at.tzinfo is not None


def test_thread_example_keeps_restricted_access_and_queue() -> None:
    thread = Thread.model_validate_json(raw(f"{AGENT_API}/other-structures/thread.json"))
    assert thread.restricted_access == "You can't access threads older than 60 days on starter plan"
    assert thread.active is True and thread.tags == ["sales"]
    assert thread.access is not None and thread.access.group_ids == [1, 2]
    assert thread.queue is not None and (thread.queue.position, thread.queue.wait_time) == (42, 1337)
    assert thread.queue.queued_at == datetime(2020, 5, 7, 7, 11, 28, 288340, tzinfo=UTC)
    assert (thread.previous_thread_id, thread.next_thread_id) == ("K600PKZOM8", "K600PKZOO8")
    assert [e.text for e in thread.events] == ["Hello there", "Thank you"]
    # The same structure without `events`, as the docs' table says a restricted thread comes.
    example = documented(f"{AGENT_API}/other-structures/thread.json")
    bare = Thread.model_validate({k: v for k, v in example.items() if k != "events"})
    assert bare.events == [] and bare.restricted_access == thread.restricted_access


def test_access_example_parses_into_access() -> None:
    access = Access.model_validate(documented(f"{AGENT_API}/other-structures/access.json")["access"])
    assert access.group_ids == [1, 2]


def test_chat_and_chat_summary_examples_keep_their_documented_values() -> None:
    chat = Chat.model_validate_json(raw(f"{AGENT_API}/other-structures/chat.json"))
    assert chat.id == "PJ0MRSHTDG" and chat.is_followed is True
    assert chat.access is not None and chat.access.group_ids == [1, 2]
    assert {u.type for u in chat.users} == {"customer", "agent"}
    # The Chat example lists `threads`; get_chat answers one `thread` (the model's field), so the
    # example's threads are read as Thread on their own.
    assert chat.thread is None
    threads = TypeAdapter(list[Thread]).validate_python(
        documented(f"{AGENT_API}/other-structures/chat.json")["threads"]
    )
    assert (
        threads[0].tags == ["support", "positive feedback"] and threads[0].previous_thread_id == "QA078URPJL"
    )
    assert threads[0].events[0].type == "filled_form" and threads[0].events[0].fields

    summary = ChatSummary.model_validate_json(raw(f"{AGENT_API}/other-structures/chatSummary.json"))
    assert summary.id == "PJ0MRSHTDG" and summary.is_followed is False
    last = summary.last_thread_summary
    assert last is not None and last.active is False and last.queue is not None
    assert last.created_at == datetime(2020, 5, 12, 11, 42, 47, 383000, tzinfo=UTC)
    assert set(summary.last_event_per_type) == {"message", "system_message"}
    message = summary.last_event_per_type["message"]
    assert message.thread_id == "QA37PVJ75B" and message.event.text == "Hello"
    customer = next(u for u in summary.users if u.type == "customer")
    assert customer.created_at is not None and customer.created_at.tzinfo is not None


def test_agent_examples_keep_their_documented_values() -> None:
    agent = Agent.model_validate_json(raw(f"{CONFIG_API}/agents/getAgent.json"))
    assert (agent.id, agent.role, agent.login_status) == (
        "smith@example.com",
        "administrator",
        "accepting chats",
    )
    assert agent.avatar == "https://domain.com/avatar.image.jpg"

    listed = TypeAdapter(list[Agent]).validate_json(raw(f"{CONFIG_API}/agents/listAgents.json"))
    assert [a.role for a in listed] == ["owner", "viceowner"]
    assert listed[0].avatar_path == "cdn.livechatinc.com/avatars/1.png" and listed[0].avatar is None
    assert [a.max_chats_count for a in listed] == [5, 2]
    assert listed[1].last_logout == "2022-08-23T14:31:21.000000Z" and listed[0].last_logout is None
    # The example names the subscriptions `summaries` (the field lists: `email_subscriptions`):
    # read under either name
    assert [a.email_subscriptions for a in listed] == [
        ["daily_summary", "weekly_summary"],
        ["weekly_summary"],
    ]


def test_group_and_tag_examples_keep_their_documented_values() -> None:
    group = Group.model_validate_json(raw(f"{CONFIG_API}/groups/getGroup.json"))
    assert (group.id, group.name, group.language_code, group.routing_status) == (
        19,
        "Sports shoes",
        "en",
        "offline",
    )
    assert group.agent_priorities == {
        "agent1@example.com": "normal",
        "agent2@example.com": "normal",
        "agent3@example.com": "last",
    }
    groups = TypeAdapter(list[Group]).validate_json(raw(f"{CONFIG_API}/groups/listGroups.json"))
    assert [(g.id, g.name) for g in groups] == [(0, "General"), (19, "Sport shoes")]
    assert all(g.agent_priorities is None for g in groups)

    tags = TypeAdapter(list[Tag]).validate_json(raw(f"{CONFIG_API}/tags/listTags.json"))
    by_name = {t.name: t for t in tags}
    assert (
        by_name["docs_feedback"].group_ids == [0, 42]
        and by_name["docs_feedback"].author_id == "smith@example.com"
    )
    assert by_name["spam"].author_id == ""  # kept as documented, not turned into None
    assert by_name["docs_feedback"].created_at == datetime(2019, 12, 9, 12, 1, 18, 909000, tzinfo=UTC)
    # Most tag examples carry a +01:00 offset: the instant is kept, and so is the offset.
    support = by_name["support"].created_at
    assert support is not None and support.utcoffset() == timedelta(hours=1)
    assert support == datetime(2017, 11, 13, 14, 37, 36, tzinfo=UTC)


def test_a_timestamp_without_offset_is_read_as_utc_and_others_keep_theirs() -> None:
    """The docs show UTC with `Z` only; a value without an offset is read as the UTC it is
    documented to be, so every wire timestamp is aware and comparable."""
    naive = Event.model_validate_json(
        b'{"id": "e", "type": "message", "created_at": "2026-11-20T11:51:24.359499"}'
    )
    offset = Event.model_validate_json(
        b'{"id": "e", "type": "message", "created_at": "2026-11-20T12:51:24+01:00"}'
    )
    assert naive.created_at == datetime(2026, 11, 20, 11, 51, 24, 359499, tzinfo=UTC)
    assert offset.created_at is not None and offset.created_at.utcoffset() == timedelta(hours=1)
    assert naive.created_at > offset.created_at  # comparable: no TypeError between naive and aware


def test_every_refusal_the_sandbox_can_answer_is_read_as_one_whatever_its_status() -> None:
    """The sandbox's refusal types (errors.REFUSALS) are LiveChat's documented ones that refuse a
    request for what it asks; the client must read each as a refusal even on a 5xx, which LiveChat
    may send (it documents no statuses), or a write would be retried or "confirmed" wrongly."""
    import httpx2

    from mcp_livechat.errors import ApiError, ServerError
    from mcp_livechat.livechat._transport import _outcome
    from mcp_livechat.sandbox.errors import REFUSALS

    for kind in sorted(REFUSALS):
        response = httpx2.Response(500, json={"error": {"type": kind, "message": "no"}})
        with pytest.raises(ApiError) as raised:
            _outcome(response, "create_tag", None, idempotent=False, decode=lambda b: b)
        assert not isinstance(raised.value, ServerError), kind
