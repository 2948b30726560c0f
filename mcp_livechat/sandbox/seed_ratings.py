"""Seeded chat ratings: the customer's thumbs up / down and comment, stored as thread properties.

LiveChat keeps a chat rating in the default ``rating`` property namespace: ``rating.score`` is
``0`` (thumbs down, "bad") or ``1`` (thumbs up, "good") and ``rating.comment`` is the
customer's text; agents read them in chats, threads and events
(https://platform.text.com/docs/messaging/references/default-properties#rating). The Customer
SDK rates "the most recent chat thread"
(https://platform.text.com/docs/extending-chat-widget/customer-sdk/v3.0#ratechat), so the
sandbox puts them in ``thread.properties["rating"]``, where get_chat / list_archives show them.

The draw uses its own RNG (seeded from the state's seed), so adding ratings changes no other
seeded value: same seed → same ratings, and the same chats, customers and agents as before.
Not seeded [UNVERIFIED whether LiveChat also does it]: the ``rating.chat_rated`` /
``rating.chat_commented`` system messages
(https://platform.text.com/docs/messaging/references/system-activities#ratingchat_rated).
"""

from __future__ import annotations

import random

from .model import ChatRecord, ThreadRecord
from .state import EmulatorState

GOOD_COMMENTS = (
    "Quick and helpful, thanks!",
    "Solved my problem in minutes.",
    "Very friendly agent.",
    "Great support, as always",
    "Thanks for the patience 🙏",
    "Clear answers, no runaround.",
)
BAD_COMMENTS = (
    "Took too long to get an answer.",
    "The agent did not understand my problem.",
    "Still not fixed.",
    "I was passed around and nobody helped",
    "Too slow",
)
MISSED_COMMENTS = ("Nobody answered me.", "I waited 10 minutes and no one came", "Is anyone there??")
P_RATED_SERVED = 0.38  # a served (agent-answered) finished thread gets a rating
P_RATED_MISSED = 0.12  # a thread no agent answered: almost always a thumbs down
P_GOOD = 0.76
P_COMMENT_GOOD = 0.3
P_COMMENT_BAD = 0.55


def _served(chat: ChatRecord, thread: ThreadRecord) -> bool:
    return any(
        e.get("type") == "message" and e.get("author_id") not in (None, chat.customer_id)
        for e in thread.events
    )


def seed_ratings(state: EmulatorState) -> None:
    """Rate some finished threads of every organization (deterministic by ``state.seed``)."""
    rng = random.Random(f"sandbox-ratings:{state.seed}")
    for chat in state.chats.values():
        for thread in chat.threads:
            if thread.active:
                continue  # rated after the chat, in the sandbox [UNVERIFIED: customers may rate mid-chat]
            served = _served(chat, thread)
            if rng.random() >= (P_RATED_SERVED if served else P_RATED_MISSED):
                continue
            good = served and rng.random() < P_GOOD
            rating: dict[str, object] = {"score": 1 if good else 0}
            if rng.random() < (P_COMMENT_GOOD if good else P_COMMENT_BAD):
                rating["comment"] = rng.choice(
                    GOOD_COMMENTS if good else (BAD_COMMENTS if served else MISSED_COMMENTS)
                )
            thread.properties["rating"] = rating
