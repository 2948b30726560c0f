"""Writes into chats as LiveChat's rules allow, each applied at most once (over the SDK client,
both eras, against a sandbox that enforces chat membership and one public agent per chat)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mcp_livechat.sandbox import Sandbox, constants
from tests.helpers import call, fail

ME = constants.AGENT_EMAIL


def _chats(sb: Sandbox) -> list[Any]:
    return [c for c in sb.state.chats.values() if c.organization_id == constants.ORGANIZATION_ID and c.active]


def queued_nobody_joined(sb: Sandbox) -> Any:
    return next(
        c
        for c in _chats(sb)
        if c.last_thread.queue is not None and not any(u.type == "agent" for u in c.users)
    )


def served_by_another(sb: Sandbox) -> tuple[Any, Any]:
    for chat in _chats(sb):
        others = [u for u in chat.users if u.type == "agent" and u.id != ME and u.visibility == "all"]
        if others and chat.user(ME) is None:
            return chat, others[0]
    raise AssertionError("the seed has no chat served by another agent")


def texts(chat: Any) -> list[str]:
    return [str(e.get("text")) for e in chat.last_thread.events if e.get("type") == "message"]


async def test_a_reply_into_a_queued_chat_nobody_joined_is_delivered_visibly(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    chat = queued_nobody_joined(sandbox)
    async with connect() as client:
        sent = await call(client, "send_message", {"chat_id": chat.id, "text": "Hi, I can help."})
    assert sent["joined_chat"] is True and sent["joined_as"] == "all" and sent["custom_id"].startswith("mcp-")
    me = chat.user(ME)
    assert me is not None and me.visibility == "all"  # a public user of the chat now
    assert texts(chat).count("Hi, I can help.") == 1
    event = next(e for e in chat.last_thread.events if e.get("id") == sent["event_id"])
    assert event["visibility"] == "all" and event["custom_id"] == sent["custom_id"]


async def test_a_note_into_a_chat_another_agent_serves_joins_silently(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    chat, serving = served_by_another(sandbox)
    async with connect() as client:
        note = await call(
            client, "send_message", {"chat_id": chat.id, "text": "VIP, be kind", "visibility": "agents"}
        )
        seen = await call(client, "get_chat", {"chat_id": chat.id, "max_events": 1})
    assert note["joined_as"] == "agents"
    # the transcript tells the silent seat from the public one, so a public reply's refusal is no surprise
    assert any(a.endswith(f"<{ME}> (silent)") for a in seen["agents"]), seen["agents"]
    assert any(f"<{serving.id}>" in a and not a.endswith("(silent)") for a in seen["agents"]), seen["agents"]
    assert chat.user(ME).visibility == "agents" and chat.user(serving.id).visibility == "all"
    event = next(e for e in chat.last_thread.events if e.get("id") == note["event_id"])
    assert event["visibility"] == "agents"


async def test_a_public_reply_where_another_agent_serves_is_refused_and_nothing_is_sent(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    chat, serving = served_by_another(sandbox)
    before = sandbox.stats.requests["send_event"], len(chat.last_thread.events)
    async with connect() as client:
        refused = await fail(client, "send_message", {"chat_id": chat.id, "text": "Hello!"})
        # also after joining silently: a public reply stays refused while another agent serves
        await call(client, "send_message", {"chat_id": chat.id, "text": "watching", "visibility": "agents"})
        again = await fail(client, "send_message", {"chat_id": chat.id, "text": "Hello!"})
    for text in (refused, again):
        assert serving.id in text and "visibility='agents'" in text and "transfer_chat" in text
    assert "Hello!" not in texts(chat)
    assert sandbox.stats.requests["send_event"] == before[0] + 1  # only the note
    assert chat.user(ME).visibility == "agents"


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "malformed", "after_processing": True},  # applied, answered with a broken body
        {"kind": "drop", "after_processing": True},  # applied, the answer lost
    ],
    ids=["broken-body", "dropped-after-processing"],
)
async def test_an_applied_send_with_an_unclear_answer_is_reported_sent_once(
    connect: Callable[..., Any], sandbox: Sandbox, fault: dict[str, Any]
) -> None:
    chat = queued_nobody_joined(sandbox)
    async with connect() as client:
        await call(client, "send_message", {"chat_id": chat.id, "text": "first"})  # joins
        sandbox.faults.add(
            fault["kind"], count=1, methods=["send_event"], after_processing=fault["after_processing"]
        )
        sent = await call(client, "send_message", {"chat_id": chat.id, "text": "exactly once"})
    assert texts(chat).count("exactly once") == 1
    event = next(e for e in chat.last_thread.events if e.get("text") == "exactly once")
    assert sent["event_id"] == event["id"] and "found in the chat" in sent["note"]


@pytest.mark.parametrize("kind", ["server_error", "drop"])
async def test_a_send_that_did_not_happen_is_sent_once_more(
    connect: Callable[..., Any], sandbox: Sandbox, kind: str
) -> None:
    chat = queued_nobody_joined(sandbox)
    async with connect() as client:
        await call(client, "send_message", {"chat_id": chat.id, "text": "first"})
        sandbox.faults.add(kind, count=1, methods=["send_event"], after_processing=False)
        sent = await call(client, "send_message", {"chat_id": chat.id, "text": "once more"})
    assert texts(chat).count("once more") == 1 and sent["event_id"]


async def test_a_send_lost_twice_is_reported_not_sent(connect: Callable[..., Any], sandbox: Sandbox) -> None:
    chat = queued_nobody_joined(sandbox)
    async with connect() as client:
        await call(client, "send_message", {"chat_id": chat.id, "text": "first"})
        sandbox.faults.add("server_error", count=2, methods=["send_event"])
        text = await fail(client, "send_message", {"chat_id": chat.id, "text": "lost"})
    assert "it was not sent" in text and "lost" not in texts(chat)
    assert "may or may not" not in text  # it was checked: nothing is left open


async def test_a_send_that_fails_after_joining_says_the_join_stays(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    """The join that a reply needed is not undone when the message then fails: the error says
    so (you are in the chat, the customer sees you), so that nobody believes nothing happened."""
    chat = queued_nobody_joined(sandbox)
    async with connect() as client:
        sandbox.faults.add("server_error", count=2, methods=["send_event"], after_processing=False)
        text = await fail(client, "send_message", {"chat_id": chat.id, "text": "lost"})
        listed = await call(client, "get_chat", {"chat_id": chat.id})
    assert "it was not sent" in text and "lost" not in texts(chat)
    assert f"you joined chat {chat.id} publicly, and you are still in it" in text
    assert "transfer_chat" in text
    assert chat.user(ME) is not None and any(ME in a for a in listed["agents"])  # as said


async def test_the_same_text_again_within_two_minutes_is_not_sent_twice_unless_asked(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    """A call repeated after its answer was lost (the client or the model tries again) finds its
    message already there and sends nothing; repeat=true, another visibility, or two minutes on
    LiveChat's clock send it."""
    chat = queued_nobody_joined(sandbox)
    async with connect() as client:
        first = await call(client, "send_message", {"chat_id": chat.id, "text": "One moment, please."})
        again = await call(client, "send_message", {"chat_id": chat.id, "text": "One moment, please."})
        assert texts(chat).count("One moment, please.") == 1
        noted = await call(client, "send_message", {"chat_id": chat.id, "text": "One moment, please.",
                                                    "visibility": "agents"})  # fmt: skip
        meant = await call(client, "send_message", {"chat_id": chat.id, "text": "One moment, please.",
                                                    "repeat": True})  # fmt: skip
        sandbox.clock.advance(121)
        later = await call(client, "send_message", {"chat_id": chat.id, "text": "One moment, please."})
    assert again["event_id"] == first["event_id"] and "not sent again" in again["note"]
    assert "repeat=true" in again["note"] and not again["joined_chat"]
    assert len({first["event_id"], noted["event_id"], meant["event_id"], later["event_id"]}) == 4
    assert texts(chat).count("One moment, please.") == 4  # the first, the note, the repeat, 2 min on


async def test_after_joining_a_send_that_may_have_landed_is_never_advised_to_be_retried(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    """The message is applied, LiveChat answers 500, and the chat cannot be read to check: the
    error says the join stays and to check get_chat, not to retry (a retry is a new message)."""
    from tests.other_readings import Forward, OtherReading, web_error

    applied: list[bool] = []

    async def send_then_fail(body: dict[str, Any], forward: Forward) -> Any:
        await forward()
        applied.append(True)
        return web_error(500, "internal", "Internal server error")

    async def unreadable_after(body: dict[str, Any], forward: Forward) -> Any:
        return web_error(500, "internal", "Internal server error") if applied else await forward()

    chat = queued_nobody_joined(sandbox)
    reading = OtherReading(sandbox.transport(), {"/action/send_event": send_then_fail,
                                                 "/action/get_chat": unreadable_after})  # fmt: skip
    async with connect(transport=reading) as client:
        text = await fail(client, "send_message", {"chat_id": chat.id, "text": "hello once"})
    assert texts(chat).count("hello once") == 1  # it landed
    assert "may or may not" in text and f"you joined chat {chat.id} publicly" in text
    assert "Retry send_message" not in text and "get_chat" in text


async def test_no_write_tells_the_model_to_simply_retry_what_may_have_happened(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    chat = queued_nobody_joined(sandbox)
    other = next(c for c in _chats(sandbox) if c.id != chat.id and c.last_thread.queue is not None)
    async with connect() as client:
        sandbox.faults.add("drop", count=1, methods=["transfer_chat"], after_processing=True)
        moved = await fail(client, "transfer_chat", {"chat_id": chat.id, "group_id": 1})
        sandbox.faults.add("malformed", count=1, methods=["transfer_chat"], after_processing=True)
        moved_again = await fail(client, "transfer_chat", {"chat_id": chat.id, "group_id": 0})
        sandbox.faults.add("malformed", count=1, methods=["deactivate_chat"], after_processing=True)
        closed = await call(client, "close_chat", {"chat_id": other.id})
    for text in (moved, moved_again):
        assert "may or may not have been applied" in text and "retry in a moment" not in text.lower()
    assert closed["done"].startswith("closed") and "confirmed" in closed["done"]
    assert not other.active


# LiveChat documents error types but no HTTP status for any: a refusal is read from the type, so
# the explanations hold whatever status it comes with (None: the sandbox's own reading).
ANY_REFUSAL_STATUS = pytest.mark.parametrize(
    "sandbox", [None, 409, 500], indirect=True, ids=["refusal-default", "refusal-409", "refusal-500"]
)


@ANY_REFUSAL_STATUS
async def test_a_refused_transfer_names_who_can_take_it_and_can_queue_instead(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    chat = queued_nobody_joined(sandbox)
    target = next(
        a
        for a in sandbox.state.agents.values()
        if a.organization_id == constants.ORGANIZATION_ID
        and a.id != ME
        and set(a.groups) & set(chat.group_ids)
        and not a.suspended
        and not a.awaiting_approval
    )
    target.routing_status = "not_accepting_chats"
    async with connect() as client:
        refused = await fail(client, "transfer_chat", {"chat_id": chat.id, "agent_id": target.id})
        queued = await call(
            client, "transfer_chat", {"chat_id": chat.id, "agent_id": target.id, "queue_if_unavailable": True}
        )
    assert "refused the transfer" in refused and "least busy first" in refused
    assert "queue_if_unavailable=true" in refused
    assert queued["done"] == f"transferred to agent {target.id}"
    assert chat.last_thread.queue is not None  # waiting for the target, as LiveChat documents


@ANY_REFUSAL_STATUS
async def test_a_refused_transfer_of_a_closed_or_unknown_chat_names_chat_id_and_offers_no_queue(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    closed = next(
        c
        for c in sandbox.state.chats.values()
        if c.organization_id == constants.ORGANIZATION_ID and not c.active
    )
    target = next(
        a
        for a in sandbox.state.agents.values()
        if a.organization_id == constants.ORGANIZATION_ID and a.id != ME
    )
    async with connect() as client:
        was_closed = await fail(client, "transfer_chat", {"chat_id": closed.id, "agent_id": target.id})
        unknown = await fail(client, "transfer_chat", {"chat_id": "NOPE000000", "agent_id": target.id})
    assert f"Chat {closed.id} is closed" in was_closed and "Nothing changed" in was_closed
    assert "Chat NOPE000000 was not found: check chat_id" in unknown
    for text in (was_closed, unknown):
        assert "queue_if_unavailable" not in text and "least busy" not in text, text
    assert not closed.active


async def test_profile_limits_are_checked_before_anything_is_written(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    schedule = {
        "timezone": "Europe/Warsaw",
        "schedule": [{"day": "monday", "start": "16:00", "end": "24:00"}],
    }
    async with connect() as client:
        ok = await call(client, "update_agent_profile", {"work_scheduler": schedule})
        before = sandbox.stats.requests["update_agent"]
        late = {**schedule, "schedule": [{"day": "monday", "start": "16:00", "end": "24:30"}]}
        bad_end = await fail(client, "update_agent_profile", {"work_scheduler": late, "job_title": "x"})
        reversed_ = {**schedule, "schedule": [{"day": "monday", "start": "17:00", "end": "09:00"}]}
        backwards = await fail(client, "update_agent_profile", {"work_scheduler": reversed_})
        long_title = await fail(client, "update_agent_profile", {"job_title": "t" * 65})
        after = sandbox.stats.requests["update_agent"]
    assert ok["agent"]["work_scheduler"]["schedule"][0]["end"] == "24:00"
    assert "work_scheduler" in bad_end and "end" in bad_end
    assert "start 17:00 must be before end 09:00" in backwards
    assert "job_title" in long_title and "64" in long_title
    assert after == before  # nothing reached LiveChat


async def test_a_refused_name_change_after_the_settings_change_says_what_was_applied(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    async with connect(as_agent=(constants.NORMAL_AGENT_ACCOUNT_ID, constants.NORMAL_AGENT_PAT)) as client:
        result = await call(client, "update_agent_profile", {"job_title": "Night shift", "name": "Carla G"})
        only_name = await fail(client, "update_agent_profile", {"name": "Carla G"})
    assert result["changed"] == ["job_title"] and "name" in result["not_applied"]
    assert result["agent"]["job_title"] == "Night shift"
    assert "NOT applied" in result["note"] and "accounts--all:rw" in result["note"]
    assert "accounts--all:rw" in only_name  # nothing applied: a plain error naming the scope


async def test_get_chat_shows_livechat_summary_restricted_threads_and_deleted_events(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    mine = [c for c in sandbox.state.chats.values() if c.organization_id == constants.ORGANIZATION_ID]
    summarized = next((c, t) for c in mine for t in c.threads if t.summary and t.summary.get("text"))
    restricted = next((c, t) for c in mine for t in c.threads if t.restricted_access)
    deleted = next((c, t) for c in mine for t in c.threads if any(e.get("deleted") for e in t.events))
    async with connect() as client:
        s = await call(client, "get_chat", {"chat_id": summarized[0].id, "thread_id": summarized[1].id})
        r = await call(client, "get_chat", {"chat_id": restricted[0].id, "thread_id": restricted[1].id})
        d = await call(
            client, "get_chat", {"chat_id": deleted[0].id, "thread_id": deleted[1].id, "max_events": 500}
        )
    assert s["summary"] and s["summary"][:20] in summarized[1].summary["text"]
    assert r["restricted_access"] == restricted[1].restricted_access and r["lines"] == []
    assert any("[message deleted]" in line for line in d["lines"])


@pytest.mark.parametrize("refusal_status", [None, 500], ids=["refusal-default", "refusal-500"])
async def test_if_livechat_counts_silent_agents_a_refused_join_is_explained_and_nothing_is_written(
    era: str, refusal_status: int | None
) -> None:
    """The one-public-agent rule assumes silent agents do not count [UNVERIFIED]. Against a sandbox
    that counts them, a note (silent join) into a served chat and a public reply next to a silent
    agent are refused by LiveChat; the chat is read again and the answer says who is in it, that
    nothing was written, and what works instead (which it does)."""
    from mcp import Client

    from mcp_livechat.sandbox.model import ChatUserRecord
    from mcp_livechat.server import create_server
    from tests.conftest import harvest, sandbox_settings

    strict = Sandbox(silent_agents_count=True, refusal_status=refusal_status)
    served, serving = served_by_another(strict)
    served.group_ids = served.last_thread.group_ids = [0]  # so that it can be transferred to me
    quiet = queued_nobody_joined(strict)
    quiet.group_ids = quiet.last_thread.group_ids = [0]  # every agent has access
    watcher = next(a for a in ("jones@example.com", "lee@example.com") if a != ME)
    quiet.users.append(ChatUserRecord(watcher, "agent", present=True, visibility="agents"))  # sits in
    quiet.last_thread.user_ids.append(watcher)
    before = len(quiet.last_thread.events)
    server, _ = create_server(sandbox_settings(toolsets="all"), transport=strict.transport())
    try:
        async with Client(server, mode=era) as client:
            note = await fail(
                client, "send_message", {"chat_id": served.id, "text": "VIP", "visibility": "agents"}
            )
            sit_in = await fail(client, "join_chat", {"chat_id": served.id})
            reads = strict.stats.requests["get_chat"]
            reply = await fail(client, "send_message", {"chat_id": quiet.id, "text": "Hello!"})
            assert strict.stats.requests["get_chat"] == reads + 2  # read, refused, read again
            assert served.user(ME) is None and quiet.user(ME) is None  # nobody was added
            moved = await call(client, "transfer_chat", {"chat_id": served.id, "agent_id": ME})
            after = await call(
                client, "send_message", {"chat_id": served.id, "text": "VIP", "visibility": "agents"}
            )
    finally:
        harvest(strict)
    for text, chat_id, other, how in (
        (note, served.id, f"{serving.id}> (public)", "silently"),
        (sit_in, served.id, f"{serving.id}> (public)", "silently"),
        (reply, quiet.id, f"{watcher}> (silent)", "visibly"),
    ):
        assert text.startswith(f"LiveChat refused to add you to chat {chat_id} {how}"), text
        assert other in text and "nothing was written" in text and f"agent_id={ME!r}" in text, text
        assert "try again" not in text.lower(), text  # retrying the same would be refused again
    assert strict.stats.requests["send_event"] == 1  # only the note after the transfer
    assert strict.stats.requests["add_user_to_chat"] == 3  # the three refused joins, each asked once
    assert len(quiet.last_thread.events) == before
    assert moved["done"] == f"transferred to agent {ME}" and after["joined_chat"] is False


async def test_a_refusal_names_the_argument_to_fix(connect: Callable[..., Any], sandbox: Sandbox) -> None:
    closed = next(
        c
        for c in sandbox.state.chats.values()
        if c.organization_id == constants.ORGANIZATION_ID and not c.active
    )
    async with connect() as client:
        text = await fail(client, "send_message", {"chat_id": closed.id, "text": "Hello?"})
    assert "is not active" in text and text.endswith("(argument to fix: chat_id)"), text


@pytest.mark.parametrize("readd_refused", [False, True], ids=["readd-changes-visibility", "readd-refused"])
async def test_a_public_reply_after_a_note_either_upgrades_the_seat_or_says_what_to_do(
    era: str, readd_refused: bool
) -> None:
    """Whether adding a user who is already in the chat changes their visibility is not documented
    [UNVERIFIED]. After a note (a silent seat), a public reply re-adds the agent publicly; if
    LiveChat refuses that, nothing is sent, the answer says why and what works instead, and that
    works."""
    from mcp import Client

    from mcp_livechat.server import create_server
    from tests.conftest import harvest, sandbox_settings

    sb = Sandbox(readd_refused=readd_refused, refusal_status=500 if readd_refused else None)
    chat = queued_nobody_joined(sb)
    chat.group_ids = chat.last_thread.group_ids = [0]  # so that it can be transferred to me
    server, _ = create_server(sandbox_settings(toolsets="all"), transport=sb.transport())
    try:
        async with Client(server, mode=era) as client:  # type: ignore[arg-type]
            await call(client, "send_message", {"chat_id": chat.id, "text": "VIP", "visibility": "agents"})
            if not readd_refused:
                sent = await call(client, "send_message", {"chat_id": chat.id, "text": "Hello!"})
                assert sent["joined_as"] == "all" and chat.user(ME).visibility == "all"
                return
            refused = await fail(client, "send_message", {"chat_id": chat.id, "text": "Hello!"})
            assert sb.stats.requests["send_event"] == 1 and "Hello!" not in texts(chat)
            await call(client, "transfer_chat", {"chat_id": chat.id, "agent_id": ME})
            after = await call(client, "send_message", {"chat_id": chat.id, "text": "Hello!"})
    finally:
        harvest(sb)
    assert refused.startswith(f"You are in chat {chat.id} silently") and "Nothing was written" in refused
    assert f"transfer_chat with agent_id={ME!r}" in refused
    assert after["event_id"] and texts(chat).count("Hello!") == 1


async def test_a_rename_lost_in_livechats_trouble_is_unconfirmed_not_refused(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    """LiveChat applies the rename and then fails every answer to it (5xx, retried as the PATCH
    is idempotent): the result names the settings applied and says the rename is not confirmed,
    never that it was not applied; the agent shown has the name LiveChat now has."""
    import httpx2

    from tests.other_readings import Forward, OtherReading, accounts_error

    async def apply_then_fail(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        answer = await forward()
        return accounts_error(503, "service_unavailable") if "name" in body else answer

    reading = OtherReading(sandbox.transport(), {"/v2/accounts/me": apply_then_fail})
    async with connect(transport=reading) as client:
        result = await call(client, "update_agent_profile", {"job_title": "Nights", "name": "Agent Lost"})
    assert result["changed"] == ["job_title"] and not result.get("not_applied")
    assert "not confirmed" in result["note"] and "NOT applied" not in result["note"]
    assert result["agent"]["name"] == "Agent Lost"  # it did happen, as the agent shows
    assert reading.applied["/v2/accounts/me"] >= 2  # retried: a rename is safe to repeat
