"""What a report needs to know about one thread, derived from its users, events and properties.

Definitions (the docs name the metrics, they do not define them precisely; each rule below is
ours [UNVERIFIED] unless it quotes https://platform.text.com/docs/data-reporting/reports-api):

- a **customer message**: a ``message`` or ``file`` event by the chat's customer (not deleted);
  an **agent reply**: a ``message``, ``file`` or ``rich_message`` event by anyone else with
  visibility ``all`` (internal notes and system messages are not replies);
- **first response**: from the first customer message to the first agent reply after it
  ("the time the agents took to send a first reply to the customers' messages");
- **response times**: every agent reply that answers one or more unanswered customer messages,
  timed from the first of them;
- **duration**: from ``thread.created_at`` to the thread's last event; an agent's **chatting
  time**: from that agent's first reply (in a chat the agent started, its opener) to the
  thread's last event;
- **agents** of a thread: its users other than the customer (list_archives' ``filters.agents``);
- **rating**: the ``rating.score`` thread property, 1 = good, 0 = bad
  (https://platform.text.com/docs/messaging/references/default-properties#rating);
- **continuous**: the ``routing.continuous`` thread property is true
  (https://platform.text.com/docs/messaging/references/default-properties#continuous);
- **started by**: the author of the first event with an author; a customer-started thread is
  "from a greeting" when it has the ``lc2.greeting_id`` property;
- **queue**: ``queued`` are "visitors who waited in the queue and entered a chat", so a thread
  an agent took out of the queue counts, with the wait the sandbox kept (``queued_for``); a
  thread still waiting has entered no chat yet and is in neither bucket [UNVERIFIED]; an
  inactive thread that no agent joined counts as a visitor who "left the queue without
  starting a chat", waiting from its start to its last event [UNVERIFIED]
  (https://platform.text.com/docs/data-reporting/reports-api#queued-visitors).
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property

from ..clock import parse_rfc3339
from ..model import JSON, ChatRecord, ThreadRecord
from ..state import EmulatorState

_CUSTOMER_TYPES = ("message", "file")
_REPLY_TYPES = ("message", "file", "rich_message")


class Facts:
    def __init__(
        self, state: EmulatorState, chat: ChatRecord, thread: ThreadRecord, created: datetime
    ) -> None:
        self.state = state
        self.chat = chat
        self.thread = thread
        self.created = created

    @cached_property
    def agents(self) -> list[str]:
        return list(dict.fromkeys(u for u in self.thread.user_ids if u != self.chat.customer_id))

    @cached_property
    def _timeline(self) -> list[tuple[datetime, JSON]]:
        return [(parse_rfc3339(str(e["created_at"])), e) for e in self.thread.events if e.get("created_at")]

    def _customer_message(self, event: JSON) -> bool:
        return (
            event.get("type") in _CUSTOMER_TYPES
            and event.get("author_id") == self.chat.customer_id
            and not event.get("deleted")
        )

    def _agent_reply(self, event: JSON) -> bool:
        author = event.get("author_id")
        return (
            event.get("type") in _REPLY_TYPES
            and author is not None
            and author != self.chat.customer_id
            and event.get("visibility", "all") == "all"
            and not event.get("deleted")
        )

    @cached_property
    def responses(self) -> list[tuple[str, float]]:
        """(agent id, seconds) per agent reply that answered waiting customer messages."""
        out: list[tuple[str, float]] = []
        waiting: datetime | None = None
        for moment, event in self._timeline:
            if self._customer_message(event):
                waiting = waiting or moment
            elif waiting is not None and self._agent_reply(event):
                out.append((str(event["author_id"]), max(0.0, (moment - waiting).total_seconds())))
                waiting = None
        return out

    @property
    def first_response(self) -> tuple[str, float] | None:
        return self.responses[0] if self.responses else None

    @cached_property
    def duration(self) -> float | None:
        if not self._timeline:
            return None
        return max(0.0, (self._timeline[-1][0] - self.created).total_seconds())

    @cached_property
    def chatting(self) -> dict[str, float]:
        """Agent id → seconds from that agent's first message to the customer (a reply, or the
        opener of a chat the agent started) to the thread's last event."""
        if not self._timeline:
            return {}
        last = self._timeline[-1][0]
        out: dict[str, float] = {}
        for moment, event in self._timeline:
            if self._agent_reply(event):
                out.setdefault(str(event["author_id"]), max(0.0, (last - moment).total_seconds()))
        return out

    @property
    def rating(self) -> int | None:
        holder = self.thread.properties.get("rating")
        score = holder.get("score") if isinstance(holder, dict) else None
        return score if score in (0, 1) and not isinstance(score, bool) else None

    @property
    def continuous(self) -> bool:
        routing = self.thread.properties.get("routing")
        return isinstance(routing, dict) and routing.get("continuous") is True

    @property
    def from_greeting(self) -> bool:
        lc2 = self.thread.properties.get("lc2")
        return isinstance(lc2, dict) and lc2.get("greeting_id") is not None

    @cached_property
    def started_by(self) -> str | None:
        """``agent`` | ``customer_from_greeting`` | ``customer_without_greeting`` | None."""
        for _, event in self._timeline:
            author = event.get("author_id")
            if author is None:
                continue
            if author != self.chat.customer_id:
                return "agent"
            return "customer_from_greeting" if self.from_greeting else "customer_without_greeting"
        return None

    @cached_property
    def queue(self) -> tuple[str, float] | None:
        """("queued" | "left_queue", seconds in the queue) or None."""
        if self.thread.queue is not None:  # waiting (again, after a transfer): no chat entered yet
            return None
        if self.thread.queued_for is not None:
            return "queued", self.thread.queued_for
        if not self.thread.active and not self.agents and self.duration is not None:
            return "left_queue", self.duration
        return None
