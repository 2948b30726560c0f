"""Seeded data the docs describe that the base seed lacks: thread summaries, restricted threads,
customer bans.

- ``summary``: LiveChat's own AI summary of a thread, ``{"status", "text", "updated_at"}``
  (https://platform.text.com/docs/messaging/agent-chat-api#list-threads, response sample).
- ``restricted_access``: "Contains the reason for access restriction"; ``events`` "Doesn't exists
  if `restricted_access` is present"
  (https://platform.text.com/docs/messaging/agent-chat-api/data-structures#threads). The reason is
  the docs' sample text.
- bans: the shape of https://platform.text.com/docs/management/configuration-api#list-customer-bans.

The draw uses its own RNG (seeded from the state's seed), so it changes no other seeded value.
"""

from __future__ import annotations

import random
from datetime import timedelta

from . import constants
from .clock import parse_rfc3339, rfc3339
from .model import BanRecord, ChatRecord, ThreadRecord
from .state import EmulatorState

BASE = constants.BASE_DATE
P_SUMMARY = 0.2
RESTRICTED_REASON = "You can't access threads older than 60 days on starter plan"
RESTRICTED_PER_ORG = 2


def seed_extras(state: EmulatorState) -> None:
    rng = random.Random(f"sandbox-extras:{state.seed}")
    for chat in state.chats.values():
        for thread in chat.threads:
            if not thread.active and _messages(thread) >= 3 and rng.random() < P_SUMMARY:
                thread.summary = _summary(state, chat, thread)
    for org_id in state.orgs:
        _restrict(state, org_id)
    _bans(rng, state)


def _messages(thread: ThreadRecord) -> int:
    return sum(1 for e in thread.events if e.get("type") == "message" and not e.get("deleted"))


def _summary(state: EmulatorState, chat: ChatRecord, thread: ThreadRecord) -> dict[str, str]:
    first = next(
        (str(e["text"]) for e in thread.events if e.get("author_id") == chat.customer_id and e.get("text")),
        "",
    )
    snippet = first if len(first) <= 80 else first[:77].rstrip() + "..."
    agents = [state.agents[u].name for u in thread.user_ids if u in state.agents]
    starter = next((e.get("author_id") for e in thread.events if e.get("author_id")), None)
    if agents and starter not in (None, chat.customer_id):
        lines = [f"• {agents[0]} opens the chat; the customer writes: “{snippet}”"]
        lines.append(f"• {agents[0]} answers and asks follow-up questions.")
    else:
        lines = [f"• Customer writes: “{snippet}”"]
        lines.append(
            f"• {agents[0]} answers and asks follow-up questions." if agents else "• No agent replied."
        )
    lines.append(f"• The conversation ends after {_messages(thread)} messages.")
    last = parse_rfc3339(str(thread.events[-1]["created_at"])) if thread.events else BASE
    return {"status": "ok", "text": "  \n".join(lines), "updated_at": rfc3339(last + timedelta(minutes=2))}


def _restrict(state: EmulatorState, org_id: str) -> None:
    """The oldest earlier threads (never a chat's last thread) of inactive chats."""
    candidates = [
        (thread.created_at, thread)
        for chat in state.org_chats(org_id)
        if not chat.active
        for thread in chat.threads[:-1]
    ]
    candidates.sort(key=lambda c: c[0])
    for _, thread in candidates[:RESTRICTED_PER_ORG]:
        thread.restricted_access = RESTRICTED_REASON
        thread.summary = None  # nothing of a restricted thread is readable


def _bans(rng: random.Random, state: EmulatorState) -> None:
    """Per organization: an IP-only ban by the owner, a customer ban (with the customer's IP and
    latest thread) by another agent, and one expired ban that list_customer_bans leaves out."""
    for org_id in state.orgs:
        agents = [a for a in state.org_agents(org_id) if not a.suspended and not a.awaiting_approval]
        customers = [
            c
            for c in state.customers.values()
            if c.org_id == org_id and c.visit and state.customer_chats.get(c.id)
        ]
        banned = rng.sample(customers, 2)
        owner, other = agents[0], agents[-1]
        start = BASE - timedelta(days=rng.uniform(1, 3))
        state.bans.append(
            BanRecord(
                org_id, owner.id, start, start + timedelta(days=7), ip=f"198.51.100.{rng.randint(1, 254)}"
            )
        )
        for customer, by, days_ago, days in ((banned[0], other, 0.5, 30), (banned[1], owner, 20, 3)):
            created = BASE - timedelta(days=days_ago)
            visit = customer.visit or {}
            threads = [t for c in state.customer_chat_ids(customer.id) for t in state.chats[c].threads]
            latest = max(threads, key=lambda t: t.created_at)
            state.bans.append(
                BanRecord(
                    org_id,
                    by.id,
                    created,
                    created + timedelta(days=days),
                    ip=str(visit.get("ip")) if visit.get("ip") else None,
                    customer_id=customer.id,
                    thread_id=latest.id,
                )
            )
