"""A success answer of LiveChat that is valid JSON but not what it used to be (a changed API, a
proxy) never makes a read-only tool fail with an internal error (hypothesis).

For each read-only tool with valid arguments taken from the seeded sandbox, the sandbox gives its
real answer (`forward()`), and one of the answers the tool reads is mutated deep in its structure:
a key dropped, a value set to null, its type changed (string, number, bool, list, object), a list
or object emptied, an unknown key added, an item repeated. Hypothesis chooses which answer, the
path into it and the mutation. The result must be a normal result or an `is_error` result saying
what LiveChat did, never "internal error in the server", and the server keeps serving. The
mutations and the transport wrapper that applies them are in tests/answer_fuzz_kit.py.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from mcp import Client

from mcp_livechat import server as server_module
from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.server import create_server
from tests.answer_fuzz_kit import (
    INTERNAL,
    KINDS,
    MARKERS,
    Change,
    Crashes,
    EveryAnswer,
    Holder,
    Path,
    mutating_rule,
    shapes,
)
from tests.answer_fuzz_kit import result_text as _text
from tests.conftest import sandbox_settings

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))  # per case; more for a deeper search
WEEK = {"date_from": "2026-11-01", "date_to": "2026-11-07"}
METRICS = ("total_chats", "duration", "response_time", "first_response_time", "ratings", "ranking",
           "engagement", "tags", "groups", "queued_visitors")  # fmt: skip


# ------------------------------------------------------------------ the tools and their arguments


def _org_chats(sb: Sandbox) -> list[Any]:
    return [c for c in sb.state.chats.values() if c.organization_id == constants.ORGANIZATION_ID]


def cases(sb: Sandbox) -> dict[str, tuple[str, dict[str, Any]]]:
    """case id -> (tool, valid arguments), from the seeded state."""
    chats = _org_chats(sb)
    chat = next(c for c in chats if len(c.threads) > 1)
    active = next(c for c in chats if c.active)
    customer = next(c for c in sb.state.customers.values()
                    if c.organization_id == constants.ORGANIZATION_ID and c.email
                    and any(ch.customer_id == c.id for ch in chats))  # fmt: skip
    thread = chat.threads[-1]
    found = {
        "list_chats": ("list_chats", {}),
        "get_chat": ("get_chat", {"chat_id": chat.id}),
        "get_chat#event": ("get_chat", {"chat_id": chat.id, "thread_id": thread.id, "event": 1}),
        "search_archives": ("search_archives", {**WEEK, "limit": 10}),
        "search": ("search", {"query": "order"}),
        "search#email": ("search", {"query": customer.email}),
        "fetch#chat": ("fetch", {"id": f"chat:{chat.id}:{thread.id}"}),
        "fetch#customer": ("fetch", {"id": f"customer:{customer.id}"}),
        "list_threads": ("list_threads", {"chat_id": chat.id}),
        "list_waiting_chats": ("list_waiting_chats", {}),
        "get_customer": ("get_customer", {"customer_id": customer.id}),
        "get_my_profile": ("get_my_profile", {}),
        "list_agents": ("list_agents", {"include_suspended": True}),
        "get_agent": ("get_agent", {"agent_id": constants.AGENT_EMAIL}),
        "list_routing_statuses": ("list_routing_statuses", {}),
        "list_groups": ("list_groups", {}),
        "list_tags": ("list_tags", {}),
        "get_connection_status": ("get_connection_status", {}),
        "connect_livechat": ("connect_livechat", {}),
        "list_agents_for_transfer": ("list_agents_for_transfer", {"chat_id": active.id}),
        "list_customer_bans": ("list_customer_bans", {}),
        "agent_report": ("agent_report", WEEK),
        "tag_report": ("tag_report", WEEK),
    }
    for metric in METRICS:
        found[f"chat_report#{metric}"] = ("chat_report", {"metric": metric, **WEEK})
    return found


CASES = sorted(cases(Sandbox()))


# ------------------------------------------------------------------ the server


@dataclass
class Live:
    portal: BlockingPortal
    client: Client
    holder: Holder
    services: list[Any]
    crashes: Crashes
    cases: dict[str, tuple[str, dict[str, Any]]]

    def call(self, tool: str, args: dict[str, Any], changes: tuple[Change, ...] = ()) -> Any:
        for services in self.services:
            services.me_cache.clear()  # a changed /v2/accounts/me must not be remembered
        self.crashes.records.clear()
        self.holder.start(changes)

        async def call() -> Any:
            with anyio.fail_after(30):  # a changed answer must not make a tool hang either
                return await self.client.call_tool(tool, args)

        return self.portal.call(call)


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    """One sandbox, server and client per test (a portal runs them on a private loop)."""
    sandbox = Sandbox()
    holder = Holder()
    reading = EveryAnswer(sandbox.transport(), dict.fromkeys(MARKERS, mutating_rule(holder)))
    made: list[Any] = []  # the servers' `Services`, whose agent-id cache each example empties
    original = server_module.Runtime.services

    def services(self: Any) -> Any:
        made.append(original(self))
        return made[-1]

    monkeypatch.setattr(server_module.Runtime, "services", services)
    crashes = Crashes()
    logging.getLogger("mcp_livechat").addHandler(crashes)
    server, _ = create_server(sandbox_settings(toolsets="all"), transport=reading)
    try:
        with (
            start_blocking_portal() as portal,
            portal.wrap_async_context_manager(Client(server, mode="legacy")) as client,
        ):
            yield Live(portal, client, holder, made, crashes, cases(sandbox))
    finally:
        logging.getLogger("mcp_livechat").removeHandler(crashes)


def check(live: Live, tool: str, args: dict[str, Any], changes: tuple[Change, ...]) -> Any:
    """A normal result or an `is_error` one, never an internal error (nor a call that raises)."""
    try:
        result = live.call(tool, args, changes)
    except Exception as exc:  # e.g. the client refusing a result that breaks the output schema
        raise AssertionError(
            f"{tool}{args}: {live.holder.applied} -> the call raised {type(exc).__name__}: {str(exc)[:300]}"
        ) from None
    text = _text(result)
    assert INTERNAL not in text, f"{tool}{args}: {live.holder.applied} -> {text[:120]}\n{live.crashes.last()}"
    return result


@pytest.mark.parametrize("case", CASES)
def test_a_changed_answer_is_never_an_internal_error(live: Live, case: str) -> None:
    tool, args = live.cases[case]
    clean = live.call(tool, args)
    assert not clean.is_error, _text(clean)  # the arguments are valid
    answers = [(i, shapes(doc)) for i, doc in enumerate(live.holder.answers) if doc is not None]
    assert answers, f"{tool} read no answer of LiveChat"
    change = st.sampled_from(answers).flatmap(
        lambda answer: st.builds(
            Change, st.just(answer[0]), st.sampled_from(answer[1]), st.sampled_from(KINDS)
        )
    )

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip
    @given(changes=st.lists(change, min_size=1, max_size=3, unique=True).map(tuple))
    def changed(changes: tuple[Change, ...]) -> None:
        event("is_error" if check(live, tool, args, changes).is_error else "result")

    try:
        changed()
    finally:
        again = live.call(tool, args)  # the server keeps serving
        assert not again.is_error, _text(again)


# Found by this file (and by an exhaustive sweep of every path x every kind): each was an internal
# error, or (`total`) a result whose structured content breaks the tool's output schema.
KNOWN = {
    "rich message buttons not a list": ("get_chat", ("thread", "events", "*", "elements", "*", "buttons"), "negative"),
    "1e400 in a day's duration": ("chat_report#duration", ("records", "2026-11-01", "duration"), "overflow"),
    "1e400 in a queue's max": ("chat_report#queued_visitors", ("records", "2026-11-03", "queued", "max"), "overflow"),
    "1e400 as a report's total": ("chat_report#total_chats", ("total",), "overflow"),
    "1e400 in the team's first response": ("agent_report", ("summary", "first_response_time"), "overflow"),
    "1e400 in an agent's first response": ("agent_report", ("records", "smith@example.com", "first_response_time"),
                                           "overflow"),
    "1e400 in an agent's chatting time": ("agent_report", ("records", "smith@example.com", "chatting_time"),
                                          "overflow"),
    "an object nested past the parser's stack for a list": ("list_groups", (), "deep"),
    "nesting past the parser's stack in a chat": ("get_chat", ("thread", "events", "*", "text"), "deep"),
}  # fmt: skip


@pytest.mark.parametrize("known", KNOWN.values(), ids=list(KNOWN))
def test_the_known_changes(live: Live, known: tuple[str, Path, str]) -> None:
    case, path, kind = known
    tool, args = live.cases[case]
    check(live, tool, args, (Change(0, path, kind),))
    assert live.holder.applied, "the change found nothing at its path"
    assert not live.call(tool, args).is_error  # the server keeps serving
