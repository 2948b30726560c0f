"""A success answer of LiveChat that is valid JSON but not what it used to be (a changed API, a
proxy) never makes a write tool fail with an internal error, send its write twice, or deny a
change LiveChat made (hypothesis).

For each tool that writes, with valid arguments taken from the seeded sandbox, two kinds of run on
the seeded state show the answers the tool reads: a clean one (which must succeed), and one per
write action of the tool where every answer to that write is unreadable (JSON nested past the
parser's stack: the only success body the writes' plain-JSON decoding refuses), which takes the
tool down its checking path (reading back the chat, the tags, the bans, the customer, the agent or
the routing status, looking a message up).
Hypothesis picks one of those runs, then one to three of its answers (the write's own among
them) and, for each, a path into it and a mutation (tests/answer_fuzz_kit.py, as for the
read-only tools in tests/tools/test_answer_fuzz.py). Every example starts from the same seeded
state (`Sandbox.reset`, ~30 ms, most of an example's time). Whatever the answers:

1. the result is a normal result or an `is_error` one, never "internal error in the server", nor
   a call that raises (the SDK client checks structured content against the output schema); and
   a clean call on the seeded state succeeds afterwards (the server keeps serving);
2. no write action is sent twice in one call (the transport repeats an idempotent one only after
   a 5xx or a lost answer, and every answer changed here is a 200);
3. when LiveChat applied every write the tool sent (the sandbox answered each 200), the result,
   `is_error` or not, never says that a change did not happen (unless it also says LiveChat may
   still apply it); and an `is_error` result of a tool that is not idempotent (`idempotentHint`
   false) whose write was applied says the change may or may not have been applied
   (`MAYBE_APPLIED`);
4. a result that is not `is_error` has structured content (which the client validated);
5. a message reported sent is the one event in the sandbox's chat with its `custom_id`, and the
   event id reported is that event's (or one a changed answer gave for it).

Reads are repeated where the tool is built to: a chat read back after an unclear answer, once more
when it does not show the change yet (`delivery._read_back`), a message looked up once per send.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from mcp import Client

from mcp_livechat import server as server_module
from mcp_livechat.errors import MAYBE_APPLIED
from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.server import create_server
from mcp_livechat.tools import delivery
from tests.answer_fuzz_kit import (
    DEEP,
    INTERNAL,
    KINDS,
    MARKERS,
    Change,
    Crashes,
    EveryAnswer,
    Path,
    changed_answer,
    mutate,
    result_text,
    shapes,
)
from tests.conftest import FAST_RETRY, sandbox_settings
from tests.other_readings import Forward

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))  # per case (a write example costs a reset too)
ME = constants.AGENT_EMAIL
ORG = constants.ORGANIZATION_ID
ACCOUNTS_ME = "/accounts/v2/accounts/me"
# LiveChat's write actions (agent_chat.py, configuration.py, accounts.py)
WRITES = frozenset({
    "send_event", "add_user_to_chat", "remove_user_from_chat", "transfer_chat", "deactivate_chat", "unfollow_chat",
    "ban_customer", "create_tag", "delete_tag", "unban_customer", "tag_thread", "untag_thread", "update_customer",
    "set_routing_status", "follow_chat", "update_agent", f"PATCH {ACCOUNTS_ME}", "DELETE /accounts/v2/token",
})  # fmt: skip
# what a text says when it claims the change did not happen; and what hedges such a claim
DENIES = re.compile(r"nothing (was sent|changed|was written)|was not (sent|applied)|not been applied|"
                    r"were not (added|removed)|NOT applied|has not taken effect", re.IGNORECASE)  # fmt: skip
HEDGES = (MAYBE_APPLIED, "may still apply it")
READS = ("get_", "list_", "GET ")  # the actions that leave the sandbox's state as it is
KIND = st.sampled_from(KINDS)


def action(where: dict[str, Any]) -> str:
    """`send_event`, `get_chat`, ... for the APIs; `GET /accounts/v2/accounts/me` for the accounts server."""
    path = str(where["path"])
    return path.rsplit("/action/", 1)[1] if "/action/" in path else f"{where['method']} {path}"


# ------------------------------------------------------------------ what the wrapper sees and changes


@dataclass
class Seen:
    action: str
    status: int  # the sandbox's own
    doc: Any  # the sandbox's own answer, decoded (None unless a 200 with a body)
    changed: Any = None  # what the server was answered instead (None: the sandbox's own answer)


@dataclass
class Holder:
    """What the rule reads: the changes of the current example; and what it saw."""

    changes: tuple[Change, ...] = ()
    unreadable: str | None = None  # every 200 answer to this action is JSON nested too deep to read
    seen: list[Seen] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)

    def start(self, changes: tuple[Change, ...], unreadable: str | None) -> None:
        self.changes, self.unreadable, self.seen, self.applied = changes, unreadable, [], []

    def actions(self) -> list[str]:
        return [s.action for s in self.seen]

    def count(self) -> Counter[str]:
        return Counter(self.actions())

    def said(self) -> set[str]:
        """Every string in the changed answers (an id a changed answer gave is LiveChat's word)."""
        found: set[str] = set()

        def walk(node: Any) -> None:
            if isinstance(node, str):
                found.add(node)
            for child in node.values() if isinstance(node, dict) else node if isinstance(node, list) else ():
                walk(child)

        for s in self.seen:
            walk(s.changed)
        return found

    def done(self, write: str) -> bool:
        """Whether LiveChat (the sandbox) applied `write` in this call."""
        return any(s.action == write and s.status == 200 for s in self.seen)


def mutating_rule(holder: Holder) -> Callable[[dict[str, Any], Forward], Any]:
    async def rule(where: dict[str, Any], forward: Forward) -> httpx2.Response:
        response = await forward()
        raw = await response.aread()
        index, name = len(holder.seen), action(where)
        doc = json.loads(raw) if response.status_code == 200 and raw else None
        seen = Seen(name, response.status_code, doc)
        holder.seen.append(seen)
        mine = [c for c in holder.changes if c.call == index]
        if response.status_code == 200 and name == holder.unreadable:
            seen.changed = DEEP
            holder.applied.append(f"#{index} {name}: unreadable")
            return changed_answer(response, DEEP)
        if doc is None or not mine:
            return httpx2.Response(response.status_code, headers=response.headers, content=raw)
        for change in mine:
            doc = mutate(doc, change.path, change.kind)
            holder.applied.append(f"{name} {change}")
        seen.changed = doc
        return changed_answer(response, doc)

    return rule


# ------------------------------------------------------------------ the tools and their arguments


@dataclass(frozen=True)
class Case:
    tool: str
    args: dict[str, Any]
    writes: tuple[str, ...]  # the write actions it sends on a clean run, the one it is named after first


def cases(sb: Sandbox) -> dict[str, Case]:
    """case id -> the tool, valid arguments from the seeded state, and what it writes."""
    chats = [c for c in sb.state.chats.values() if c.organization_id == ORG]
    active = [c for c in chats if c.active]

    def agents(chat: Any) -> list[Any]:
        return [u for u in chat.users if u.type == "agent"]

    mine = next(c for c in active if [(u.id, u.visibility) for u in agents(c)] == [(ME, "all")]
                and not c.followers)  # fmt: skip
    free = next(c for c in active if not agents(c) and c.last_thread.queue is None)
    served = next(c for c in active if agents(c) and c.user(ME) is None and not c.followers)
    followed = next(c for c in active if ME in c.followers and c.user(ME) is None)
    thread = mine.last_thread
    tag = next(n for n, t in sb.state.tags[ORG].items() if set(t.group_ids) >= set(thread.group_ids))
    tagged = next((c, t) for c in chats for t in c.threads if t.tags)
    customers = [c for c in sb.state.customers.values() if c.organization_id == ORG]
    banned = {b.customer_id for b in sb.state.bans if b.org_id == ORG}
    customer = next(c for c in customers if c.id not in banned and c.email)
    ban = next(b for b in sb.state.bans if b.org_id == ORG and b.customer_id)
    ip_ban = next(b for b in sb.state.bans if b.org_id == ORG and b.customer_id is None)
    other = next(a for a in sb.state.agents.values() if a.org_id == ORG and a.id != ME and a.role == "normal"
                 and not a.suspended and not a.awaiting_approval)  # fmt: skip
    taker = next(u.id for c in active for u in agents(c) if u.id != ME)  # an agent who serves chats now
    in_group = next(g for g in sorted(sb.state.groups[ORG]) if g not in mine.group_ids)
    delete = next(n for n, t in sb.state.tags[ORG].items() if n != tag)
    return {
        "send_message": Case("send_message", {"chat_id": mine.id, "text": "Fuzzed reply"}, ("send_event",)),
        "send_message#join": Case("send_message", {"chat_id": free.id, "text": "Fuzzed hello"},
                                  ("send_event", "add_user_to_chat")),
        "send_message#note": Case("send_message", {"chat_id": served.id, "text": "Fuzzed note", "visibility": "agents"},
                                  ("send_event", "add_user_to_chat")),
        "transfer_chat#agent": Case("transfer_chat", {"chat_id": mine.id, "agent_id": taker}, ("transfer_chat",)),
        "transfer_chat#group": Case("transfer_chat", {"chat_id": mine.id, "group_id": in_group,
                                                      "queue_if_unavailable": True}, ("transfer_chat",)),
        "close_chat": Case("close_chat", {"chat_id": mine.id}, ("deactivate_chat",)),
        "tag_thread": Case("tag_thread", {"chat_id": mine.id, "thread_id": thread.id, "tag": tag}, ("tag_thread",)),
        "untag_thread": Case("untag_thread", {"chat_id": tagged[0].id, "thread_id": tagged[1].id,
                                              "tag": tagged[1].tags[0]}, ("untag_thread",)),
        "update_customer": Case("update_customer", {"customer_id": customer.id, "name": "Fuzzed Name",
                                                    "session_fields": {"plan": "pro"}}, ("update_customer",)),
        "update_agent_profile": Case("update_agent_profile", {"job_title": "Fuzzer", "max_chats_count": 4},
                                     ("update_agent",)),
        "update_agent_profile#other": Case("update_agent_profile", {"agent_id": other.id, "max_chats_count": 3},
                                           ("update_agent",)),
        "update_agent_profile#name": Case("update_agent_profile", {"name": "Agent Fuzz", "job_title": "Fuzzer"},
                                          ("update_agent", f"PATCH {ACCOUNTS_ME}")),
        "set_routing_status": Case("set_routing_status", {"status": "not_accepting_chats"}, ("set_routing_status",)),
        "set_routing_status#other": Case("set_routing_status", {"status": "not_accepting_chats", "agent_id": other.id},
                                         ("set_routing_status",)),
        "join_chat": Case("join_chat", {"chat_id": served.id}, ("add_user_to_chat",)),
        "join_chat#visible": Case("join_chat", {"chat_id": free.id, "visibility": "all"}, ("add_user_to_chat",)),
        "leave_chat": Case("leave_chat", {"chat_id": mine.id}, ("remove_user_from_chat",)),
        "follow_chat": Case("follow_chat", {"chat_id": served.id}, ("follow_chat",)),
        "unfollow_chat": Case("unfollow_chat", {"chat_id": followed.id}, ("unfollow_chat",)),
        "create_tag": Case("create_tag", {"name": "fuzzed-tag", "group_ids": [0, 1]}, ("create_tag",)),
        "delete_tag": Case("delete_tag", {"name": delete}, ("delete_tag",)),
        "ban_customer": Case("ban_customer", {"customer_id": customer.id, "days": 3}, ("ban_customer",)),
        "unban_customer": Case("unban_customer", {"customer_id": ban.customer_id}, ("unban_customer",)),
        "unban_customer#ip": Case("unban_customer", {"ip": ip_ban.ip}, ("unban_customer",)),
        # a PAT cannot be revoked from here: the tool only reads /v2/accounts/me (OAuth's DELETE
        # /v2/token is not covered by this file)
        "disconnect_livechat": Case("disconnect_livechat", {}, ()),
    }  # fmt: skip


CASES = sorted(cases(Sandbox()))


# ------------------------------------------------------------------ the server


@dataclass
class Live:
    portal: BlockingPortal
    client: Client
    sandbox: Sandbox
    holder: Holder
    services: list[Any]
    crashes: Crashes
    cases: dict[str, Case]
    idempotent: dict[str, bool]  # the write tools' idempotentHint

    def call(self, tool: str, args: dict[str, Any], changes: tuple[Change, ...] = (),
             unreadable: str | None = None) -> Any:  # fmt: skip
        if not self.holder.seen or not all(s.action.startswith(READS) for s in self.holder.seen):
            # every example starts from the seeded state (a call that only read left it as it was);
            # a collection during the reset would walk every object of the process: it waits
            gc.disable()
            try:
                self.sandbox.reset()
            finally:
                gc.enable()
        for services in self.services:
            services.me_cache.clear()  # a changed /v2/accounts/me must not be remembered
        self.crashes.records.clear()
        self.holder.start(changes, unreadable)

        async def call() -> Any:
            with anyio.fail_after(30):  # a changed answer must not make a tool hang either
                return await self.client.call_tool(tool, args)

        return self.portal.call(call)


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    """One sandbox, server and client for the module (a portal runs them on a private loop); the
    sandbox is reset before each call."""
    sandbox = Sandbox()
    holder = Holder()
    reading = EveryAnswer(sandbox.transport(), dict.fromkeys(MARKERS, mutating_rule(holder)))
    made: list[Any] = []  # the servers' `Services`, whose agent-id cache each example empties
    original = server_module.Runtime.services

    def services(self: Any) -> Any:
        made.append(original(self))
        made[-1].http.retry = FAST_RETRY  # the transport's repeats, without its pauses
        return made[-1]

    crashes = Crashes()
    logging.getLogger("mcp_livechat").addHandler(crashes)
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:
            for name in [n for n in os.environ if n.startswith("LIVECHAT_")]:
                monkeypatch.delenv(name)  # as tests/conftest.py's `_clean_env`, which is per test
            monkeypatch.setattr(server_module.Runtime, "services", services)
            monkeypatch.setattr(delivery, "LOOKUP_PAUSE", 0.0)  # the second look after an unclear answer
            server, _ = create_server(sandbox_settings(toolsets="all"), transport=reading)
            with (
                start_blocking_portal() as portal,
                portal.wrap_async_context_manager(Client(server, mode="legacy")) as client,
            ):
                tools = portal.call(client.list_tools).tools
                idempotent = {t.name: bool(t.annotations and t.annotations.idempotent_hint) for t in tools
                              if not (t.annotations and t.annotations.read_only_hint)}  # fmt: skip
                yield Live(portal, client, sandbox, holder, made, crashes, cases(sandbox), idempotent)
    finally:
        logging.getLogger("mcp_livechat").removeHandler(crashes)


def check(live: Live, case: Case, changes: tuple[Change, ...], unreadable: str | None) -> Any:
    """The properties of the module's docstring, for one call."""
    try:
        result = live.call(case.tool, case.args, changes, unreadable)
    except Exception as exc:  # e.g. the client refusing a result that breaks the output schema
        raise AssertionError(
            f"{case.tool}{case.args}: {live.holder.applied} -> the call raised {type(exc).__name__}: "
            f"{str(exc)[:300]}"
        ) from None
    holder, text = live.holder, result_text(result)
    what = f"{case.tool}{case.args}: {holder.applied} -> {text[:300]}"
    assert INTERNAL not in text, f"{what}\n{live.crashes.last()}"
    for write, times in holder.count().items():
        assert write not in WRITES or times == 1, f"{what}\n{write} sent {times} times: {holder.actions()}"
    writes = [s for s in holder.seen if s.action in case.writes]
    if writes and all(s.status == 200 for s in writes) and not any(h in text for h in HEDGES):
        assert not DENIES.search(text), f"{what}\nit says a change did not happen; LiveChat applied it"
    if result.is_error and case.writes and holder.done(case.writes[0]) and not live.idempotent[case.tool]:
        assert MAYBE_APPLIED in text, f"{what}\nit does not say the change may have been applied"
    if not result.is_error:
        assert result.structured_content is not None, what
    if case.tool == "send_message" and not result.is_error:
        sent = result.structured_content
        chat = live.sandbox.state.chats[case.args["chat_id"]]
        ids = [e["id"] for t in chat.threads for e in t.events if e.get("custom_id") == sent.get("custom_id")]
        assert len(ids) == 1 and sent["event_id"] in {*ids, *holder.said()}, (
            f"{what}\nthe chat holds {ids} with that custom_id"
        )
    return result


def baselines(live: Live, case: Case) -> dict[str | None, list[tuple[int, list[Path]]]]:
    """For the clean run (None) and for each write made unreadable: (index, paths) of each answer
    there is to change (not the unreadable ones)."""
    found = {}
    for unreadable in (None, *case.writes):
        result = check(live, case, (), unreadable)
        if unreadable is None:
            assert not result.is_error, result_text(result)  # the arguments are valid
            sent = live.holder.actions()
            assert set(case.writes) <= set(sent), f"{case.tool} did not send {case.writes}: {sent}"
        found[unreadable] = [(i, shapes(s.doc)) for i, s in enumerate(live.holder.seen)
                             if s.doc is not None and s.action != unreadable]  # fmt: skip
    return found


def test_every_write_tool_has_cases(live: Live) -> None:
    assert {c.tool for c in live.cases.values()} == set(live.idempotent)


@pytest.mark.parametrize("case_id", CASES)
def test_a_changed_answer_to_a_write_tool(live: Live, case_id: str) -> None:
    case = live.cases[case_id]
    runs = baselines(live, case)

    def changes_of(run: str | None) -> st.SearchStrategy[tuple[str | None, tuple[Change, ...]]]:
        answers = runs[run]
        if not answers:  # the unreadable write was the last thing the tool asked
            return st.just((run, ()))
        change = st.sampled_from(answers).flatmap(
            lambda answer: st.builds(Change, st.just(answer[0]), st.sampled_from(answer[1]), KIND)
        )
        least = 1 if run is None else 0
        return st.tuples(st.just(run), st.lists(change, min_size=least, max_size=3, unique=True).map(tuple))

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip
    @given(example=st.sampled_from(list(runs)).flatmap(changes_of))
    def changed(example: tuple[str | None, tuple[Change, ...]]) -> None:
        unreadable, changes = example
        result = check(live, case, changes, unreadable)
        event("is_error" if result.is_error else "result")
        for name, times in live.holder.count().items():
            if times > 1:
                event(f"{name} sent {times} times")

    try:
        changed()
    finally:
        again = live.call(case.tool, case.args)  # the server keeps serving
        assert not again.is_error, result_text(again)


# Found by this file: (case, the write made unreadable or None, changes of answer #call). Those
# in PENDING are findings not fixed yet (strict: fixing one makes its test fail until removed).
KNOWN: dict[str, tuple[str, str | None, tuple[Change, ...]]] = {
    "a renamed account whose account_id is not a string": (
        "update_agent_profile#name", None, (Change(2, ("account_id",), "negative"),)),
    "a renamed account whose roles are not a list": (
        "update_agent_profile#name", None, (Change(2, ("roles",), "str"),)),
    "an unreadable answer to a rename": ("update_agent_profile#name", f"PATCH {ACCOUNTS_ME}", ()),
    "a message looked up in a chat whose events lack custom_id": (
        "send_message", "send_event", (Change(3, ("thread", "events", "*", "custom_id"), "drop"),)),
    "a note looked up in a chat whose events lack custom_id": (
        "send_message#note", "send_event", (Change(4, ("thread", "events", "*", "custom_id"), "drop"),)),
    "a message looked up in a chat without its thread": (
        "send_message", "send_event", (Change(3, ("thread",), "drop"),)),
    "a sent message's event_id null": ("send_message", None, (Change(2, ("event_id",), "null"),)),
    "a sent message without event_id": ("send_message", None, (Change(2, ("event_id",), "drop"),)),
    "1e400 in a session field read after the update": (
        "update_customer", None, (Change(1, ("session_fields", "*", "plan"), "overflow"),)),
    "a message looked up in a chat whose events are emptied": (
        "send_message", "send_event", (Change(3, ("thread", "events"), "empty"),)),
    "a message looked up in a chat whose events' custom_id changed": (
        "send_message", "send_event", (Change(3, ("thread", "events", "*", "custom_id"), "str"),)),
    "a message looked up in a chat whose events' ids are empty": (
        "send_message", "send_event", (Change(3, ("thread", "events", "*", "id"), "empty_str"),)),
}  # fmt: skip
PENDING: dict[str, str] = {}  # finding -> what is wrong, while it is not fixed


@pytest.mark.parametrize(
    "known",
    [pytest.param(v, id=k, marks=[pytest.mark.xfail(strict=True, reason=PENDING[k])] if k in PENDING else [])
     for k, v in KNOWN.items()],
)  # fmt: skip
def test_the_known_changes(live: Live, known: tuple[str, str | None, tuple[Change, ...]]) -> None:
    case_id, unreadable, changes = known
    case = live.cases[case_id]
    check(live, case, changes, unreadable)
    assert live.holder.applied, "the change found nothing at its path"
    assert not live.call(case.tool, case.args).is_error  # the server keeps serving
