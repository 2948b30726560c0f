"""An idempotent write that LiveChat answers with a success this server cannot read, or not at all.

A proxy or a changed API can answer `200` with a body that is not what the method documents
(here: JSON nested past the parser's stack, which no decoder reads and the transport never
repeats). LiveChat's word cannot be read, so the tool reads the state it changed: the agent, the
customer, the routing status, the chat's followers. When that shows the change, the call
succeeds (the write sent once); when it does not (a proxy that answered without passing the write
on), the call is an `is_error` result that says what LiveChat answered, never a success. The same
holds when every answer to the write is lost (the transport's three attempts time out). A write
that never left this server (no connection at any attempt) is not read back at all: a misspelt
tag's absence is not a deletion.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest

from mcp_livechat import server as server_module
from mcp_livechat.sandbox import Sandbox, constants
from tests.conftest import FAST_RETRY
from tests.helpers import call, fail
from tests.other_readings import Forward, OtherReading

ME = constants.AGENT_EMAIL
UNREADABLE = b"[" * 200_000 + b"]" * 200_000


@dataclass(frozen=True)
class Case:
    tool: str
    action: str
    args: Callable[[Sandbox], dict[str, Any]]
    holds: Callable[[Sandbox, dict[str, Any]], bool]  # the sandbox's state shows the change
    done: Callable[[dict[str, Any], dict[str, Any]], bool]  # the result says it


def _org(sb: Sandbox) -> str:
    return sb.state.agents[ME].org_id


def _other_agent(sb: Sandbox) -> str:
    return next(a.id for a in sb.state.agents.values() if a.org_id == _org(sb) and a.id != ME
                and a.role == "normal" and not a.suspended and not a.awaiting_approval)  # fmt: skip


def _customer(sb: Sandbox) -> str:
    return next(c.id for c in sb.state.customers.values() if c.org_id == _org(sb) and c.email)


def _chat_to_follow(sb: Sandbox) -> str:
    return next(c.id for c in sb.state.chats.values() if c.organization_id == _org(sb) and c.active
                and c.user(ME) is None and ME not in c.followers)  # fmt: skip


CASES = {
    "update_customer": Case(
        "update_customer", "update_customer",
        lambda sb: {"customer_id": _customer(sb), "name": "Ada Unread", "session_fields": {"plan": "gold"}},
        lambda sb, a: sb.state.customers[a["customer_id"]].name == "Ada Unread",
        lambda out, a: out["customer"]["name"] == "Ada Unread" and out["customer"]["session_fields"] == {"plan": "gold"},
    ),
    "set_routing_status": Case(
        "set_routing_status", "set_routing_status",
        lambda sb: {"status": "not_accepting_chats", "agent_id": _other_agent(sb)},
        lambda sb, a: sb.state.agents[a["agent_id"]].routing_status == "not_accepting_chats",
        lambda out, a: out == {"agent_id": a["agent_id"], "status": "not_accepting_chats"},
    ),
    "update_agent_profile": Case(
        "update_agent_profile", "update_agent",
        lambda sb: {"agent_id": _other_agent(sb), "job_title": "Night shift", "max_chats_count": 7,
                    "login_status": "not_accepting_chats", "groups": [{"id": 0, "priority": "first"}, {"id": 1}],
                    "notifications": ["incoming_chat", "queued_visitor"], "email_subscriptions": ["weekly_summary"],
                    "work_scheduler": {"timezone": "Europe/Warsaw", "schedule": [
                        {"day": "monday", "start": "08:00", "end": "16:00"}]}},
        lambda sb, a: sb.state.agents[a["agent_id"]].job_title == "Night shift",
        lambda out, a: out["agent"]["job_title"] == "Night shift" and out["agent"]["max_chats_count"] == 7,
    ),
    "follow_chat": Case(
        "follow_chat", "follow_chat",
        lambda sb: {"chat_id": _chat_to_follow(sb)},
        lambda sb, a: ME in sb.state.chats[a["chat_id"]].followers,
        lambda out, a: out["done"] == f"following chat {a['chat_id']} (confirmed by reading the chat)",
    ),
}  # fmt: skip


def _answers_unreadably(*, passes_it_on: bool) -> Callable[[dict[str, Any], Forward], Any]:
    async def rule(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        if passes_it_on:
            assert (await forward()).status_code == 200  # LiveChat (the sandbox) applied it
        return httpx2.Response(200, content=UNREADABLE)

    return rule


@pytest.mark.parametrize("applied", [True, False], ids=["applied", "not applied"])
@pytest.mark.parametrize("name", sorted(CASES))
async def test_a_write_answered_unreadably_is_settled_by_reading_it_back(
    connect: Callable[..., Any], sandbox: Sandbox, name: str, applied: bool
) -> None:
    """Applied: confirmed by the state read back. Not passed on: never a success."""
    case = CASES[name]
    args = case.args(sandbox)
    assert not case.holds(sandbox, args)
    reading = OtherReading(
        sandbox.transport(), {f"/action/{case.action}": _answers_unreadably(passes_it_on=applied)}
    )
    async with connect(transport=reading, toolsets="all") as client:
        if applied:
            out = await call(client, case.tool, args)
            assert case.done(out, args), out
        else:
            text = await fail(client, case.tool, args)
            assert f"LiveChat error in {case.action} (unexpected_response)" in text, text
            assert "in a shape this server does not read" in text
    assert case.holds(sandbox, args) is applied
    assert reading.applied[f"/action/{case.action}"] == 1  # sent once: never repeated


# what a proxy that changed one setting on the way (or a LiveChat that kept another value) leaves
TAMPERED: dict[str, Callable[[Any], None]] = {
    "job_title": lambda a: setattr(a, "job_title", "Day shift"),
    "max_chats_count": lambda a: setattr(a, "max_chats_count", 6),
    "groups": lambda a: setattr(a, "groups", {0: "normal", 1: "normal"}),
    "notifications": lambda a: setattr(a, "notifications", ["incoming_chat"]),
    "login_status": lambda a: setattr(a, "login_status", "accepting chats"),
    "email_subscriptions": lambda a: setattr(a, "email_subscriptions", ["weekly_summary", "daily_summary"]),
    "work_scheduler": lambda a: setattr(
        a, "work_scheduler", {**a.work_scheduler, "timezone": "Europe/Paris"}
    ),
}


@pytest.mark.parametrize("setting", sorted(TAMPERED))
async def test_an_agent_read_back_without_one_of_the_settings_leaves_the_update_unconfirmed(
    connect: Callable[..., Any], sandbox: Sandbox, setting: str
) -> None:
    """Every setting asked for is compared with the agent read back (lists as sets), so one that
    differs is enough to leave the write unconfirmed."""
    case = CASES["update_agent_profile"]
    args = case.args(sandbox)

    async def tampering(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        assert (await forward()).status_code == 200
        TAMPERED[setting](sandbox.state.agents[args["agent_id"]])
        return httpx2.Response(200, content=UNREADABLE)

    reading = OtherReading(sandbox.transport(), {"/action/update_agent": tampering})
    async with connect(transport=reading, toolsets="all") as client:
        text = await fail(client, case.tool, args)
    assert "LiveChat error in update_agent (unexpected_response)" in text, text


CUSTOMER_TAMPERED: dict[str, Callable[[Any], None]] = {
    "name": lambda c: setattr(c, "name", "Ada Read"),
    "session_fields": lambda c: setattr(c, "session_fields", [{"plan": "gold"}, {"seats": "3"}]),
    "session_fields order": lambda c: setattr(c, "session_fields", [{"seats": "3"}, {"plan": "gold"}]),
}


@pytest.mark.parametrize("tamper", sorted(CUSTOMER_TAMPERED))
async def test_a_customer_read_back_otherwise_leaves_the_update_unconfirmed(
    connect: Callable[..., Any], sandbox: Sandbox, tamper: str
) -> None:
    """The name and the session fields (exactly, in order: they replace the old ones) are compared."""
    args = {**CASES["update_customer"].args(sandbox), "session_fields": {"plan": "gold", "seats": "3"}}
    if tamper == "session_fields":  # one field asked for, two shown
        args["session_fields"] = {"plan": "gold"}

    async def tampering(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        assert (await forward()).status_code == 200
        CUSTOMER_TAMPERED[tamper](sandbox.state.customers[args["customer_id"]])
        return httpx2.Response(200, content=UNREADABLE)

    reading = OtherReading(sandbox.transport(), {"/action/update_customer": tampering})
    async with connect(transport=reading) as client:
        text = await fail(client, "update_customer", args)
    assert "LiveChat error in update_customer (unexpected_response)" in text, text


@pytest.fixture
def quick_repeats(monkeypatch: pytest.MonkeyPatch) -> None:
    """The transport's repeats of an idempotent write without their pauses (full-jitter backoff of
    0.5 s and more by default)."""
    original = server_module.Runtime.services

    def services(self: Any) -> Any:
        made = original(self)
        made.http.retry = FAST_RETRY
        return made

    monkeypatch.setattr(server_module.Runtime, "services", services)


def _answers_lost(*, passes_it_on: bool) -> Callable[[dict[str, Any], Forward], Any]:
    async def rule(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        if passes_it_on:
            assert (await forward()).status_code == 200
        raise httpx2.ReadTimeout("timed out")

    return rule


@pytest.mark.usefixtures("quick_repeats")
@pytest.mark.parametrize("applied", [True, False], ids=["applied", "not applied"])
@pytest.mark.parametrize("name", sorted(CASES))
async def test_a_write_whose_every_answer_is_lost_is_settled_by_reading_it_back(
    connect: Callable[..., Any], sandbox: Sandbox, name: str, applied: bool
) -> None:
    """An idempotent write is repeated after a lost answer (three attempts); when all are lost,
    the state LiveChat shows decides: done, or the timeout as it was."""
    case = CASES[name]
    args = case.args(sandbox)
    reading = OtherReading(
        sandbox.transport(), {f"/action/{case.action}": _answers_lost(passes_it_on=applied)}
    )
    async with connect(transport=reading, toolsets="all") as client:
        if applied:
            assert case.done(await call(client, case.tool, args), args)
        else:
            text = await fail(client, case.tool, args)
            assert f"LiveChat timed out during {case.action} (ReadTimeout)" in text, text
    assert case.holds(sandbox, args) is applied
    assert reading.applied[f"/action/{case.action}"] == FAST_RETRY.attempts


def _untag_absent(sb: Sandbox) -> dict[str, Any]:
    chat = next(c for c in sb.state.chats.values() if c.organization_id == _org(sb) and c.active
                and c.user(ME) is not None)  # fmt: skip
    thread = chat.last_thread
    return {"chat_id": chat.id, "thread_id": thread.id, "tag": "no-such-tag-typo"}


NEVER_SENT = {
    "delete_tag": ("delete_tag", lambda sb: {"name": "no-such-tag-typo"}, "list_tags"),
    "untag_thread": ("untag_thread", _untag_absent, "get_chat"),
}


@pytest.mark.usefixtures("quick_repeats")
@pytest.mark.parametrize("tool", sorted(NEVER_SENT))
async def test_a_write_that_never_left_this_server_is_not_confirmed_by_the_state_it_finds(
    connect: Callable[..., Any], sandbox: Sandbox, tool: str
) -> None:
    """A misspelt tag is absent from the tags and from the thread; a removal that could not be sent
    at all (no connection, at each attempt) must not read that absence as its own doing."""
    action, make_args, read_back = NEVER_SENT[tool]
    args = make_args(sandbox)

    async def unreachable(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused")

    reading = OtherReading(sandbox.transport(), {f"/action/{action}": unreachable})
    async with connect(transport=reading, toolsets="all") as client:
        before = sandbox.stats.requests[read_back]
        text = await fail(client, tool, args)
    assert f"LiveChat could not be reached during {action} (ConnectError). Retry in a moment." in text, text
    assert "confirmed" not in text
    assert sandbox.stats.requests[read_back] == before  # nothing was read back: nothing was sent
