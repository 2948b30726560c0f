"""Seeded chats: multi-thread histories, every documented event type, queues, odd texts."""

from __future__ import annotations

import random
import string
from datetime import timedelta

from . import constants, corpus
from .clock import parse_rfc3339, rfc3339
from .model import JSON, AgentRecord, ChatRecord, ChatUserRecord, CustomerRecord, ThreadRecord
from .seed_events import EventWriter
from .state import EmulatorState

BASE = constants.BASE_DATE
_ID_CHARS = string.ascii_uppercase + string.digits


def new_id(rng: random.Random, used: set[str]) -> str:
    """A chat / thread id: 10 uppercase alphanumerics starting with a letter."""
    while True:
        value = rng.choice(string.ascii_uppercase) + "".join(rng.choice(_ID_CHARS) for _ in range(9))
        if value not in used:
            used.add(value)
            return value


def _eligible(agents: list[AgentRecord], group_id: int) -> list[AgentRecord]:
    return [
        a
        for a in agents
        if group_id in a.groups
        and a.groups[group_id] != "supervisor"
        and not a.suspended
        and not a.awaiting_approval
    ]


def build_chats(
    rng: random.Random,
    state: EmulatorState,
    org_id: str,
    customers: list[CustomerRecord],
    *,
    n_chats: int,
    n_active: int,
) -> None:
    agents = state.org_agents(org_id)
    groups = sorted(state.groups[org_id])
    weights = [3.0 if g == 0 else (2.0 if _eligible(agents, g) else 0.4) for g in groups]
    cust_weights = [5.0 if i < len(customers) // 10 else 1.0 for i in range(len(customers))]
    active_order = rng.sample(range(1, n_chats), n_active)
    active_modes = ["unassigned"] * 2 + ["queued"] * max(2, n_active // 4)
    active_modes += ["assigned"] * (n_active - len(active_modes))
    rng.shuffle(active_modes)
    mode_of = dict(zip(active_order, active_modes, strict=True))
    used: set[str] = set(state.thread_chat) | set(state.chats)
    active_customers: set[str] = set()
    hostile = list(corpus.HOSTILE_TEXTS) if state.orgs[org_id].region == constants.REGION else []
    forced_smith = 6
    for index in range(n_chats):
        active = index in mode_of
        group_id = rng.choices(groups, weights)[0]
        customer = rng.choices(customers, cust_weights)[0]
        if active:
            while customer.id in active_customers:
                customer = rng.choice(customers)
            active_customers.add(customer.id)
        mode = mode_of.get(index, "assigned" if index == 0 or rng.random() < 0.9 else "missed")
        pool = _eligible(agents, group_id) or _eligible(agents, 0)
        if mode == "assigned" and not pool:
            mode = "missed"
        agent = rng.choice(pool) if pool else None
        text = None
        if active and mode == "assigned":
            owner = state.agents.get(constants.AGENT_EMAIL)
            if forced_smith > 0 and owner is not None and owner.org_id == org_id:
                agent, forced_smith = owner, forced_smith - 1
                group_id = group_id if group_id in owner.groups else 0
                text = hostile.pop(0) if hostile else None
        chat = _chat(rng, state, used, org_id, index, customer, group_id, mode, agent, active, text)
        state.add_chat(chat)
    _number_queues(state, org_id)


def _chat(
    rng: random.Random,
    state: EmulatorState,
    used: set[str],
    org_id: str,
    index: int,
    customer: CustomerRecord,
    group_id: int,
    mode: str,
    agent: AgentRecord | None,
    active: bool,
    hostile_text: str | None,
) -> ChatRecord:
    n_threads = rng.choices((1, 2, 3, 4), (50, 30, 15, 5))[0]
    if active:
        last_start = BASE - timedelta(minutes=rng.uniform(3, 50))
    else:
        last_start = BASE - timedelta(days=rng.uniform(0.05, 59))
    starts = [last_start]
    for _ in range(n_threads - 1):
        earlier = starts[0] - timedelta(hours=rng.uniform(6, 240))
        if earlier < BASE - timedelta(days=61):
            break
        starts.insert(0, earlier)
    chat = ChatRecord(
        id=new_id(rng, used),
        org_id=org_id,
        customer_id=customer.id,
        users=[],
        threads=[],
        group_ids=[group_id],
        properties={"routing": {"pinned": rng.random() < 0.05}} if rng.random() < 0.5 else {},
        followers={state.org_agents(org_id)[0].id} if rng.random() < 0.1 else set(),  # the org's owner
    )
    tags = [t for t in state.tags[org_id].values() if group_id in t.group_ids]
    supervisor = _supervisor(state, org_id, group_id)
    for k, start in enumerate(starts):
        last = k == len(starts) - 1
        t_mode = mode if last else ("assigned" if rng.random() < 0.9 else "missed")
        t_agent = agent if last else (agent or next(iter(_eligible(state.org_agents(org_id), 0)), None))
        if t_mode == "assigned" and t_agent is None:
            t_mode = "missed"
        thread_id = new_id(rng, used)
        writer = EventWriter(rng, thread_id, start, customer, state.orgs[org_id])
        agents_in = [t_agent] if t_mode == "assigned" and t_agent is not None else []
        with_supervisor = supervisor is not None and t_mode == "assigned" and rng.random() < 0.08
        showcase = index == 0 and last
        finished_and_served = bool(agents_in) and not (active and last) and not showcase
        proactive = _proactive(thread_id) if finished_and_served else None
        queue_wait = _queue_wait(thread_id) if finished_and_served and proactive is None else None
        writer.conversation(
            mode=t_mode,
            agent=agents_in[0] if agents_in else None,
            supervisor=supervisor if with_supervisor else None,
            active=active and last,
            showcase=showcase,
            hostile_text=hostile_text if last else None,
            proactive=proactive,
            queue_wait=queue_wait,
        )
        thread = ThreadRecord(
            id=writer.thread_id,
            created_at=rfc3339(start),
            active=active and last,
            user_ids=[customer.id]
            + [a.id for a in agents_in]
            + ([supervisor.id] if with_supervisor and supervisor else []),
            events=writer.events,
            group_ids=[group_id],
            properties=_thread_properties(rng, t_mode, thread_id, customer_started=proactive is None),
            next_event_no=writer.next_no,
        )
        if tags and not (active and last) and rng.random() < 0.45:
            thread.tags = sorted({t.name for t in rng.sample(tags, min(len(tags), rng.randint(1, 2)))})
        if t_mode == "queued":
            thread.queue = {"position": 0, "wait_time": 0, "queued_at": thread.created_at}
        if queue_wait is not None:
            thread.queued_for = _until_joined(thread)
        chat.threads.append(thread)
        if last:
            chat.users = _chat_users(chat, thread, customer, active, with_supervisor, supervisor)
    return chat


def _supervisor(state: EmulatorState, org_id: str, group_id: int) -> AgentRecord | None:
    for agent in state.org_agents(org_id):
        if agent.groups.get(group_id) == "supervisor" or (
            agent.role == "administrator" and group_id in agent.groups
        ):
            return agent
    return None


def _proactive(thread_id: str) -> random.Random | None:
    """About 3% of the finished threads an agent served were started by that agent. LiveChat's
    engagement example has such chats on most days, 0 to 3 among hundreds
    (https://platform.text.com/docs/data-reporting/reports-api#engagement); the sandbox's rate is
    its own, higher so that a month's report has some [UNVERIFIED]. The choice and the agent's
    first message come from a generator of the thread's own, so every other thread and the rest
    of the seed stay as they were."""
    aside = random.Random(f"{thread_id}/started by")
    return aside if aside.random() < 0.03 else None


def _queue_wait(thread_id: str) -> float | None:
    """About 15% of the finished customer-started threads an agent served waited in the queue
    first: 20 s to 15 min more than the seconds their pre-chat form took, so that the Reports
    API's queued visitors, "visitors who waited in the queue and entered a chat"
    (https://platform.text.com/docs/data-reporting/reports-api#queued-visitors), have some; the
    rate and the waits are the sandbox's own [UNVERIFIED]. Drawn from a generator of the
    thread's own, so every other seeded value stays as it was."""
    aside = random.Random(f"{thread_id}/queued")
    return aside.uniform(20, 900) if aside.random() < 0.15 else None


def _until_joined(thread: ThreadRecord) -> float:
    """Seconds from the thread's start, when it joined the queue, to the agent joining it."""
    start = parse_rfc3339(thread.created_at)
    joined = next(e for e in thread.events if e.get("system_message_type") == "routing.assigned")
    return (parse_rfc3339(str(joined["created_at"])) - start).total_seconds()


def _thread_properties(rng: random.Random, mode: str, thread_id: str, *, customer_started: bool) -> JSON:
    """Some threads are continuous (Messaging Mode, the `routing.continuous` property of
    https://platform.text.com/docs/messaging/references/default-properties#continuous) and some
    began with an accepted greeting (`lc2.greeting_id`, ...#greeting_id), as in the Reports
    API's examples, where most days have continuous chats. Those come from a generator of the
    thread's own, so every other seeded value stays as it was.

    A thread the agent started (``customer_started=False``) did not begin with a greeting, and
    has no ``start_url``, "on what page a customer started a chat" (...#start_url) [UNVERIFIED:
    the docs do not say what such a thread carries]; the values are drawn and left out, so the
    draws after them stay the same."""
    aside = random.Random(thread_id)
    properties: JSON = {}
    if aside.random() < 0.15:
        unique = "".join(aside.choice(_ID_CHARS) for _ in range(10))
        greeting = {"greeting_id": aside.randint(1, 4), "greeting_unique_id": unique}
        if customer_started:
            properties["lc2"] = greeting
    if rng.random() < 0.3:
        return properties
    start_url = "https://www.example.com" + rng.choice(corpus.PAGES)[0]
    properties["routing"] = {
        "continuous": aside.random() < 0.3,
        "idle": False,
        "unassigned": mode == "unassigned",
    } | ({"start_url": start_url} if customer_started else {})
    return properties


def _chat_users(
    chat: ChatRecord,
    thread: ThreadRecord,
    customer: CustomerRecord,
    active: bool,
    with_sup: bool,
    supervisor: AgentRecord | None,
) -> list[ChatUserRecord]:
    last_event = thread.events[-1]["created_at"] if thread.events else thread.created_at
    seen = rfc3339(parse_rfc3339(last_event) - timedelta(seconds=2))
    users = [ChatUserRecord(customer.id, "customer", present=active, events_seen_up_to=seen)]
    for user_id in thread.user_ids[1:]:
        visibility = "agents" if with_sup and supervisor is not None and user_id == supervisor.id else "all"
        users.append(
            ChatUserRecord(
                user_id, "agent", present=active, visibility=visibility, events_seen_up_to=last_event
            )
        )
    return users


def _number_queues(state: EmulatorState, org_id: str) -> None:
    queued = [c for c in state.org_chats(org_id) if c.active and c.last_thread.queue is not None]
    by_group: dict[int, list[ChatRecord]] = {}
    for chat in queued:
        by_group.setdefault(chat.group_ids[0], []).append(chat)
    for chats in by_group.values():
        chats.sort(key=lambda c: c.last_thread.created_at)
        for position, chat in enumerate(chats, start=1):
            queue = chat.last_thread.queue
            assert queue is not None
            queued_at = parse_rfc3339(str(queue["queued_at"]))
            queue["position"] = position
            queue["wait_time"] = int((BASE - queued_at).total_seconds())
