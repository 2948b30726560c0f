"""Agent Chat Web API methods against the sandbox: the exact request sent, the parsed answer, and the
most likely error of each."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from mcp_livechat.errors import ApiError, NotFound, PermissionDenied, UserInputError, ValidationFailed
from mcp_livechat.livechat import LiveChat
from mcp_livechat.sandbox import Sandbox, constants
from tests.conftest import Recorder

PAT_HEADER = "Basic " + base64.b64encode(f"{constants.ACCOUNT_ID}:{constants.PAT}".encode()).decode()


async def _active_chat(lc: LiveChat) -> tuple[str, str, str]:
    """(chat id, thread id, customer id) of an active chat the seeded owner is in."""
    page = await lc.agent.list_chats(active=True, limit=100)
    for chat in page.chats_summary:
        ids = {u.id for u in chat.users}
        customer = next((u.id for u in chat.users if u.type == "customer"), None)
        if constants.AGENT_EMAIL in ids and customer and chat.last_thread_summary:
            return chat.id, chat.last_thread_summary.id, customer
    raise AssertionError("the seed has no active chat with the owner in it")


async def test_list_chats_sends_filters_and_pat_basic_header(lc: LiveChat, recorder: Recorder) -> None:
    page = await lc.agent.list_chats(active=True, group_ids=[0], limit=10)
    sent = recorder.last("list_chats")
    assert sent.method == "POST"
    assert sent.path == "/v3.6/agent/action/list_chats"
    assert sent.headers["authorization"] == PAT_HEADER
    assert sent.headers["content-type"] == "application/json"
    assert "x-region" not in sent.headers  # a PAT carries no region until LiveChat says otherwise
    assert sent.body == {"filters": {"active": True, "group_ids": [0]}, "limit": 10}
    assert 0 < len(page.chats_summary) <= 10
    assert all(c.last_thread_summary and c.last_thread_summary.active for c in page.chats_summary)


async def test_bearer_token_sends_its_region(as_token: Callable[..., LiveChat], recorder: Recorder) -> None:
    lc = as_token()
    await lc.agent.list_chats(limit=1)
    sent = recorder.last("list_chats")
    assert sent.headers["authorization"].startswith("Bearer dal:")
    assert sent.headers["x-region"] == "dal"


async def test_pagination_walk_returns_every_chat_exactly_once(lc: LiveChat, sandbox: Sandbox) -> None:
    seen: list[str] = []
    page = await lc.agent.list_chats(limit=100)
    seen += [c.id for c in page.chats_summary]
    while page.next_page_id:
        page = await lc.agent.list_chats(page_id=page.next_page_id)
        seen += [c.id for c in page.chats_summary]
    expected = {c.id for c in sandbox.state.chats.values() if c.organization_id == constants.ORGANIZATION_ID}
    assert len(seen) == len(set(seen)), "a chat came twice"
    assert set(seen) == expected
    assert len(expected) >= 300


async def test_page_id_travels_alone(lc: LiveChat, recorder: Recorder) -> None:
    first = await lc.agent.list_chats(limit=5)
    assert first.next_page_id
    await lc.agent.list_chats(page_id=first.next_page_id)
    assert recorder.last("list_chats").body == {"page_id": first.next_page_id}
    with pytest.raises(UserInputError, match="page_id"):
        await lc.agent.list_chats(page_id=first.next_page_id, limit=5)


async def test_expired_page_id_is_a_validation_error(lc: LiveChat, sandbox: Sandbox) -> None:
    first = await lc.agent.list_chats(limit=5)
    sandbox.clock.advance(31 * 24 * 3600)
    with pytest.raises(ValidationFailed) as err:
        await lc.agent.list_chats(page_id=first.next_page_id)
    assert err.value.type == "validation"


async def test_get_chat_and_unknown_chat(lc: LiveChat, recorder: Recorder) -> None:
    chat_id, thread_id, _ = await _active_chat(lc)
    chat = await lc.agent.get_chat(chat_id)
    assert recorder.last("get_chat").body == {"chat_id": chat_id}
    assert chat.id == chat_id and chat.thread is not None and chat.thread.events
    older = await lc.agent.get_chat(chat_id, thread_id)
    assert recorder.last("get_chat").body == {"chat_id": chat_id, "thread_id": thread_id}
    assert older.thread is not None and older.thread.id == thread_id
    with pytest.raises(NotFound):
        await lc.agent.get_chat("NOSUCHCHAT")


async def test_list_threads(lc: LiveChat, recorder: Recorder) -> None:
    chat_id, _, _ = await _active_chat(lc)
    page = await lc.agent.list_threads(chat_id, limit=2)
    assert recorder.last("list_threads").body == {"chat_id": chat_id, "limit": 2}
    assert 1 <= len(page.threads) <= 2
    with pytest.raises(NotFound):
        await lc.agent.list_threads("NOSUCHCHAT")


async def test_list_archives_by_customer_and_bad_limit(lc: LiveChat, recorder: Recorder) -> None:
    _, _, customer_id = await _active_chat(lc)
    page = await lc.agent.list_archives(customer_id=customer_id, limit=50)
    assert recorder.last("list_archives").body == {"filters": {"customer_id": customer_id}, "limit": 50}
    assert page.chats and all(any(u.id == customer_id for u in c.users) for c in page.chats)
    with pytest.raises(ValidationFailed):
        await lc.agent.list_archives(limit=0)


async def test_list_archives_filter_shapes(lc: LiveChat, recorder: Recorder) -> None:
    await lc.agent.list_archives(
        query="refund",
        date_from="2026-10-01T00:00:00.000000Z",
        date_to="2026-11-20T23:59:59.999999Z",
        agent_ids=[constants.AGENT_EMAIL],
        tags=["support"],
        group_ids=[0],
    )
    assert recorder.last("list_archives").body == {
        "filters": {
            "query": "refund",
            "from": "2026-10-01T00:00:00.000000Z",
            "to": "2026-11-20T23:59:59.999999Z",
            "group_ids": [0],
            "agents": {"values": [constants.AGENT_EMAIL]},
            "tags": {"values": ["support"]},
        }
    }


async def test_send_event_appends_and_too_long_text_is_refused(
    lc: LiveChat, sandbox: Sandbox, recorder: Recorder
) -> None:
    chat_id, _, _ = await _active_chat(lc)
    event = {"type": "message", "text": "Hello from the client test", "visibility": "all"}
    event_id = await lc.agent.send_event(chat_id, event)
    assert recorder.last("send_event").body == {"chat_id": chat_id, "event": event}
    assert event_id
    chat = await lc.agent.get_chat(chat_id)
    assert chat.thread is not None and chat.thread.events[-1].id == event_id
    assert chat.thread.events[-1].text == "Hello from the client test"
    with pytest.raises(ValidationFailed):
        await lc.agent.send_event(chat_id, {"type": "message", "text": "x" * 20_000})


async def test_add_user_to_chat_and_inactive_chat(lc: LiveChat, recorder: Recorder) -> None:
    chat_id, _, _ = await _active_chat(lc)
    await lc.agent.add_user_to_chat(chat_id, constants.NORMAL_AGENT_EMAIL, visibility="agents")
    assert recorder.last("add_user_to_chat").body == {
        "chat_id": chat_id,
        "user_id": constants.NORMAL_AGENT_EMAIL,
        "user_type": "agent",
        "visibility": "agents",
    }
    chat = await lc.agent.get_chat(chat_id)
    assert constants.NORMAL_AGENT_EMAIL in {u.id for u in chat.users}
    inactive = (await lc.agent.list_chats(active=False, limit=1)).chats_summary[0].id
    with pytest.raises(ApiError):
        await lc.agent.add_user_to_chat(inactive, constants.NORMAL_AGENT_EMAIL)


async def test_transfer_chat_to_group_and_unknown_agent(lc: LiveChat, recorder: Recorder) -> None:
    chat_id, _, _ = await _active_chat(lc)
    await lc.agent.transfer_chat(
        chat_id, target_type="group", target_ids=[1], ignore_agents_availability=True
    )
    assert recorder.last("transfer_chat").body == {
        "id": chat_id,
        "target": {"type": "group", "ids": [1]},
        "ignore_agents_availability": True,
    }
    chat = await lc.agent.get_chat(chat_id)
    assert chat.thread is not None and chat.thread.access is not None and 1 in chat.thread.access.group_ids
    with pytest.raises(ApiError):
        await lc.agent.transfer_chat(chat_id, target_type="agent", target_ids=["nobody@example.com"])


async def test_deactivate_chat_then_again(lc: LiveChat, recorder: Recorder) -> None:
    chat_id, _, _ = await _active_chat(lc)
    await lc.agent.deactivate_chat(chat_id)
    assert recorder.last("deactivate_chat").body == {"id": chat_id}
    chat = await lc.agent.get_chat(chat_id)
    assert chat.thread is not None and chat.thread.active is False
    with pytest.raises(ApiError) as err:
        await lc.agent.deactivate_chat(chat_id)
    assert err.value.type == "chat_inactive"


async def test_tag_and_untag_thread(lc: LiveChat, recorder: Recorder) -> None:
    chat_id, thread_id, _ = await _active_chat(lc)
    await lc.agent.tag_thread(chat_id, thread_id, "complaint")
    assert recorder.last("tag_thread").body == {
        "chat_id": chat_id,
        "thread_id": thread_id,
        "tag": "complaint",
    }
    thread = (await lc.agent.get_chat(chat_id, thread_id)).thread
    assert thread is not None and "complaint" in thread.tags
    await lc.agent.untag_thread(chat_id, thread_id, "complaint")
    assert recorder.last("untag_thread").body == {
        "chat_id": chat_id,
        "thread_id": thread_id,
        "tag": "complaint",
    }
    thread = (await lc.agent.get_chat(chat_id, thread_id)).thread
    assert thread is not None and "complaint" not in thread.tags
    with pytest.raises(ValidationFailed):
        await lc.agent.tag_thread(chat_id, thread_id, "no such tag")


async def test_get_customer_and_unknown(lc: LiveChat, recorder: Recorder) -> None:
    _, _, customer_id = await _active_chat(lc)
    customer = await lc.agent.get_customer(customer_id)
    assert recorder.last("get_customer").body == {"id": customer_id}
    assert customer.id == customer_id and customer.name
    with pytest.raises(NotFound):
        await lc.agent.get_customer("00000000-0000-4000-8000-000000000000")


async def test_update_customer_and_bad_phone(lc: LiveChat, recorder: Recorder) -> None:
    _, _, customer_id = await _active_chat(lc)
    await lc.agent.update_customer(customer_id, phone_number="+48123456789", session_fields=[{"plan": "pro"}])
    assert recorder.last("update_customer").body == {
        "id": customer_id,
        "phone_number": "+48123456789",
        "session_fields": [{"plan": "pro"}],
    }
    customer = await lc.agent.get_customer(customer_id)
    assert customer.phone_number == "+48123456789" and customer.session_fields == [{"plan": "pro"}]
    with pytest.raises(ValidationFailed):
        await lc.agent.update_customer(customer_id, phone_number="call me maybe")
    with pytest.raises(UserInputError):
        await lc.agent.update_customer(customer_id)


async def test_routing_status_set_list_and_forbidden(
    lc: LiveChat, as_pat: Callable[..., LiveChat], recorder: Recorder
) -> None:
    await lc.agent.set_routing_status("not_accepting_chats")
    assert recorder.last("set_routing_status").body == {"status": "not_accepting_chats"}
    statuses = await lc.agent.list_routing_statuses([0])
    assert recorder.last("list_routing_statuses").body == {"filters": {"group_ids": [0]}}
    assert {s.agent_id: s.status for s in statuses}[constants.AGENT_EMAIL] == "not_accepting_chats"
    normal = as_pat(constants.NORMAL_AGENT_ACCOUNT_ID, constants.NORMAL_AGENT_PAT)
    with pytest.raises(PermissionDenied) as err:
        await normal.agent.set_routing_status("accepting_chats", constants.AGENT_EMAIL)
    assert "agents--all:rw" in err.value.missing_scopes


async def test_list_routing_statuses_needs_agents_all_ro(as_token: Callable[..., LiveChat]) -> None:
    limited = as_token(scopes=["chats--all:ro", "agents--my:ro"])
    with pytest.raises(PermissionDenied) as err:
        await limited.agent.list_routing_statuses()
    assert err.value.missing_scopes == ("agents--all:ro",)
