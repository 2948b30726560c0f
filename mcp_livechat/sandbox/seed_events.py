"""Writes the events of one seeded thread: a support conversation plus the other event types."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from . import corpus
from .clock import rfc3339
from .model import JSON, AgentRecord, CustomerRecord, OrgRecord

DELETED_TEXTS = (
    "Sorry, wrong chat window!",
    "Oops, that was meant for a colleague.",
    "Please ignore this, I pasted the wrong order number.",
)


# The options of the documented pre-chat form's choice fields; the chat purpose adds two to the
# sample's one "Support", so that answers differ between chats
# (https://platform.text.com/docs/messaging/agent-chat-api/data-structures#form).
_PURPOSES = ({"id": "0", "label": "Support"}, {"id": "1", "label": "Sales"}, {"id": "2", "label": "Billing"})
_COUNTRIES = ({"id": "0", "label": "USA"}, {"id": "1", "label": "UK"})
_INDUSTRIES = ({"id": "0", "label": "automotive"}, {"id": "1", "label": "it"})


class EventWriter:
    def __init__(
        self, rng: random.Random, thread_id: str, start: datetime, customer: CustomerRecord, org: OrgRecord
    ) -> None:
        self.rng = rng
        self.thread_id = thread_id
        self.t = start
        self.customer = customer
        self.org = org
        self.events: list[JSON] = []
        self.next_no = 1
        topic = rng.choice(corpus.TOPICS)
        self.topic = topic
        self.vars = {
            "order": f"#{rng.randint(10000, 99999)}",
            "product": rng.choice(corpus.PRODUCTS),
        }

    # -- primitives ----------------------------------------------------------------------------
    def _event(
        self,
        kind: str,
        author: str | None,
        *,
        step: tuple[float, float] = (4, 150),
        rng: random.Random | None = None,
        **fields: object,
    ) -> JSON:
        draw = rng or self.rng
        self.t += timedelta(seconds=draw.uniform(*step), microseconds=draw.randrange(1_000_000))
        event: JSON = {"id": f"{self.thread_id}_{self.next_no}", "created_at": rfc3339(self.t), "type": kind}
        self.next_no += 1
        if author is not None:
            event["author_id"] = author
        event["visibility"] = "all"
        event.update(fields)
        self.events.append(event)
        return event

    def _fmt(self, text: str, agent: AgentRecord | None = None) -> str:
        return text.format(agent=agent.name if agent else "", **self.vars)

    def message(self, author: str, text: str, *, visibility: str = "all") -> JSON:
        event = self._event("message", author, text=text)
        if author == self.customer.id and self.rng.random() < 0.3:
            event["custom_id"] = f"{self.rng.getrandbits(44):x}"
        event["visibility"] = visibility
        return event

    def system_message(self, kind: str, text: str, agent: AgentRecord | None) -> JSON:
        event = self._event(
            "system_message", None, step=(1, 5), text=self._fmt(text, agent), system_message_type=kind
        )
        if agent is not None and "{agent}" in text:
            event["text_vars"] = {"agent": agent.name}
        return event

    @contextmanager
    def _left_out(self, leave_out: bool) -> Iterator[None]:
        """Writes the block's events and, if ``leave_out``, takes them back: the block's draws
        are made either way, so the values seeded after it stay as they were."""
        mark = len(self.events), self.t, self.next_no
        yield
        if leave_out:
            del self.events[mark[0] :]
            self.t, self.next_no = mark[1], mark[2]

    # -- the conversation ----------------------------------------------------------------------
    def conversation(
        self,
        *,
        mode: str,
        agent: AgentRecord | None,
        supervisor: AgentRecord | None,
        active: bool,
        showcase: bool,
        hostile_text: str | None,
        proactive: random.Random | None = None,
        queue_wait: float | None = None,
    ) -> None:
        """``queue_wait``: seconds the customer waited in the queue before the agent joined (the
        routing message and everything after it come that much later).

        ``proactive`` (a generator of the thread's own): the agent started the chat. The
        Reports API counts chats "started by an agent"
        (https://platform.text.com/docs/data-reporting/reports-api#engagement); the agent's
        message comes first, and the customer saw no pre-chat form and no routing message
        [UNVERIFIED: the docs do not list such a thread's events]."""
        rng = self.rng
        cid = self.customer.id
        _, openers, replies, followups, resolutions = self.topic
        started_by_agent = proactive is not None and mode == "assigned" and agent is not None
        if started_by_agent and proactive is not None and agent is not None:
            text = self._fmt(proactive.choice(corpus.AGENT_OPENERS))
            self._event("message", agent.id, step=(1, 20), rng=proactive, text=text)
        with self._left_out(started_by_agent):
            if showcase or rng.random() < 0.4:
                self.filled_form()
            if mode == "assigned" and agent is not None:
                self.t += timedelta(seconds=queue_wait or 0)
                self.system_message("routing.assigned", "{agent} joined the chat", agent)
        self.message(cid, self._fmt(rng.choice(openers)))
        if hostile_text is not None:
            self.message(cid, hostile_text)
        if showcase or rng.random() < 0.04:
            self.cdp_order()
        if mode != "assigned" or agent is None:
            if rng.random() < 0.5 or mode == "queued":
                self.message(cid, rng.choice(corpus.QUEUED_FOLLOWUPS))
            if not active:
                kind, text, _ = corpus.SYSTEM_CLOSINGS[0]
                self.system_message(kind, text, None)
            return
        aid = agent.id
        self.message(aid, self._fmt(rng.choice(replies)))
        if showcase or rng.random() < 0.1:
            self.file(cid)
        self.message(cid, self._fmt(rng.choice(followups)))
        if supervisor is not None or showcase or rng.random() < 0.06:
            note_author = supervisor.id if supervisor is not None else aid
            self.message(note_author, rng.choice(corpus.INTERNAL_NOTES), visibility="agents")
        if showcase or rng.random() < 0.05:
            self.deleted(rng.choice((aid, cid)))
        if active and rng.random() < 0.5:
            return  # still going: the customer is waiting for the agent's answer
        self.message(aid, self._fmt(rng.choice(resolutions)))
        if showcase or rng.random() < 0.08:
            self.rich_message(aid)
        if showcase or rng.random() < 0.05:
            self.custom(aid)
        if active:
            return
        self.message(cid, rng.choice(corpus.CUSTOMER_THANKS))
        self.message(aid, rng.choice(corpus.AGENT_CLOSERS))
        if showcase or rng.random() < 0.04:
            self.form(aid)
        kind, text, _needs_agent = rng.choice(corpus.SYSTEM_CLOSINGS[1:])
        self.system_message(kind, text, agent)

    # -- other event types -----------------------------------------------------------------------
    def filled_form(self) -> None:
        """A pre-chat form with the documented sample's fields
        (https://platform.text.com/docs/messaging/agent-chat-api/data-structures#filled-form).
        The chat purpose, country and industries are taken from the bits of the ``custom_id``,
        so the seed's other random draws stay as they were."""
        name = self.customer.name or ""
        email = self.customer.email or ""
        bits = self.rng.getrandbits(40)
        purpose = dict(_PURPOSES[bits % len(_PURPOSES)])
        country = dict(_COUNTRIES[(bits >> 4) % len(_COUNTRIES)])
        industries = [dict(option) for k, option in enumerate(_INDUSTRIES) if bits >> (8 + k) & 1]
        fields: list[JSON] = [
            {"type": "name", "id": "154417206262603539", "label": "Your name", "answer": name},
            {"type": "email", "id": "154417206262601584", "label": "Your email", "answer": email},
            {"type": "radio", "id": "154417206262602571", "label": "Chat purpose", "answer": purpose},
            {"type": "select", "id": "154417206262602572", "label": "Country", "answer": country},
        ]
        if industries:
            fields.append(
                {
                    "type": "checkbox",
                    "id": "154417206262604640",
                    "label": "Company industry",
                    "answers": industries,
                }
            )
        self._event(
            "filled_form",
            self.customer.id,
            step=(0, 2),
            custom_id=f"{bits:x}",
            properties={},
            form_id="1473433500211",
            form_type="prechat",
            fields=fields,
        )

    def file(self, author: str) -> None:
        size = self.rng.randint(20_000, 900_000)
        base = f"https://cdn.files-text.com/api/sandbox/{self.org.license_id}/{self.thread_id.lower()}"
        self._event(
            "file",
            author,
            name="screenshot.png",
            url=f"{base}/screenshot.png",
            thumbnail_url=f"{base}/thumbnail.png",
            thumbnail2x_url=f"{base}/thumbnail2x.png",
            content_type="image/png",
            size=size,
            width=1280,
            height=800,
            alternative_text="Screenshot sent by the customer",
        )

    def rich_message(self, author: str) -> None:
        self._event(
            "rich_message",
            author,
            template_id="quick_replies",
            elements=[
                {
                    "title": "Did this solve your problem?",
                    "buttons": [
                        {"type": "message", "text": "Yes", "postback_id": "solved_yes", "user_ids": []},
                        {"type": "message", "text": "No", "postback_id": "solved_no", "user_ids": []},
                    ],
                }
            ],
        )

    def custom(self, author: str) -> None:
        self._event(
            "custom",
            author,
            custom_id=f"order-card-{self.rng.randint(1000, 9999)}",
            content={
                "order": {"id": self.vars["order"], "status": "shipped", "items": self.rng.randint(1, 4)}
            },
        )

    def form(self, author: str) -> None:
        self._event(
            "form",
            author,
            form_id="1473433500299",
            form_type="postchat",
            fields=[
                {
                    "type": "rating",
                    "id": "154417206262609001",
                    "label": "How would you rate this chat?",
                    "required": False,
                },
                {"type": "textarea", "id": "154417206262609002", "label": "Comments", "required": False},
            ],
        )

    def cdp_order(self) -> None:
        order = {
            "store": {"id": "acme-store", "platform": "shopify", "name": f"{self.org.name} Store"},
            "order": {
                "id": self.vars["order"],
                "currency": "USD",
                "total_price": self.rng.randint(20, 400) + 0.99,
            },
        }
        event = self._event(
            "system",
            None,
            custom_id=f"shopify_{int(self.t.timestamp())}",
            source="cdp",
            subtype="store_order_was_created",
            version=1,
            details=json.dumps(order, separators=(",", ":")),
        )
        event.pop("author_id", None)

    def deleted(self, author: str) -> None:
        """A deleted message: stored whole, with ``deleted: true``; render.event_json hides its
        text from normal agents (data-structures "Deleted event"). The text is picked without the
        RNG so that the rest of the seed stays as it was."""
        text = DELETED_TEXTS[self.next_no % len(DELETED_TEXTS)]
        self._event("message", author, text=text, deleted=True)
