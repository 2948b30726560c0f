"""Writes into a chat the way LiveChat's rules allow them, each applied at most once.

Membership is decided from the chat itself (`get_chat`: `users[]`, each agent with its
`visibility`), never from an error type or status, which LiveChat does not document:

- the sender of an event must be a user of the chat, and a user added with `visibility: agents`
  cannot send events visible to all
  (https://platform.text.com/docs/messaging/agent-chat-api#send-event);
- a chat has one public agent by default ("To learn how to add more than one agent to the chat,
  reach out to us", https://platform.text.com/docs/messaging/agent-chat-api#add-user-to-chat);
  silent agents (`visibility: agents`) are assumed not to count, which the docs do not say
  [UNVERIFIED]. So a join is never refused here on that ground: if LiveChat refuses it, the chat
  is read again and the refusal is explained from who is in it (nothing was written).

Every message carries a fresh `custom_id` (an event field LiveChat keeps and returns,
https://platform.text.com/docs/messaging/agent-chat-api/data-structures#events). When LiveChat's
answer leaves open whether it was applied (timeout, dropped connection, 5xx, a 2xx body that is
not JSON), the chat's latest events are searched for that `custom_id`: found means sent; not
found means not sent, and only then is it sent once more.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from mcp_livechat.errors import (
    MAYBE_APPLIED,
    ApiError,
    AuthenticationFailed,
    LiveChatError,
    PermissionDenied,
    TransportError,
    UserInputError,
    ambiguous,
    refusal,
)
from mcp_livechat.livechat import AgentChat
from mcp_livechat.livechat import types as lc

Visibility = Literal["all", "agents"]
LOOKUP_PAUSE = 1.0  # after a timeout LiveChat may still be processing: look again once, this much later


def new_custom_id() -> str:
    return "mcp-" + secrets.token_hex(10)


def refused_by_livechat(exc: ApiError) -> bool:
    """LiveChat turned the request down for what it asks, so a change of seat might cure it: any
    error but the credential's, the rate's, the region's (the transport handles those) and one on
    LiveChat's side. Decided by the error's class, which the transport reads from `error.type`,
    never by the HTTP status: LiveChat documents none for these APIs
    (https://platform.text.com/docs/messaging/agent-chat-api#possible-errors)."""
    return refusal(exc)


@dataclass(frozen=True)
class Seat:
    """Where the requester stands in one chat, read from the chat."""

    chat: lc.Chat
    me: str

    @property
    def active(self) -> bool:
        return bool(self.chat.thread and self.chat.thread.active)

    @property
    def mine(self) -> lc.User | None:
        return next((u for u in self.chat.users if u.id == self.me and u.type != "customer"), None)

    @property
    def public_agents(self) -> list[lc.User]:
        """Other agents who serve the chat visibly to the customer."""
        return [
            u
            for u in self.chat.users
            if u.type != "customer" and u.id != self.me and (u.visibility or "all") == "all"
        ]

    @property
    def newest_event(self) -> str | None:
        """The id of the latest thread's newest event (what a later listing must still show)."""
        events = self.chat.thread.events if self.chat.thread else []
        return events[-1].id if events and events[-1].id else None

    def just_sent(self, text: str, visibility: Visibility, now: datetime, within: float) -> lc.Event | None:
        """The requester's own message of the same text and visibility in the latest thread,
        sent less than `within` seconds before `now` (LiveChat's clock): most likely the same
        message again, after an answer that was lost on its way back."""
        events = self.chat.thread.events if self.chat.thread else []
        for event in reversed(events):
            if event.created_at is None:  # of no known age: never taken for the same message
                continue
            if (now - event.created_at).total_seconds() > within:
                return None
            if (
                event.type == "message"
                and event.author_id == self.me
                and event.text == text
                and (event.visibility or "all") == visibility
            ):
                return event
        return None

    def join_needed(self, visibility: Visibility) -> Visibility | None:
        """The visibility to join with before sending, None when already seated for it; raises
        `UserInputError` when LiveChat's rules do not allow it."""
        if not self.active:
            raise UserInputError(
                f"Chat {self.chat.id} is not active (it was closed); LiveChat accepts messages only in "
                "active chats. Nothing was sent.",
                argument="chat_id",
            )
        mine = self.mine
        if visibility == "agents":
            return None if mine is not None else "agents"
        if mine is not None and (mine.visibility or "all") == "all":
            return None
        serving = self.public_agents
        if serving:
            names = ", ".join(_who(u) for u in serving)
            raise UserInputError(
                f"Chat {self.chat.id} is served publicly by {names}, and LiveChat allows one public agent "
                "per chat, so your reply was not sent. Instead: send it as an internal note "
                "(visibility='agents') for that agent, or transfer the chat to yourself first "
                f"(transfer_chat with agent_id={self.me!r}) and then reply.",
                argument="visibility",
            )
        return "all"


def _who(user: lc.User) -> str:
    return f"{user.name} <{user.id}>" if user.name and user.name != user.id else user.id


async def read_seat(agent: AgentChat, chat_id: str, me: str) -> Seat:
    return Seat(await agent.get_chat(chat_id), me)


async def join(agent: AgentChat, seat: Seat, visibility: Visibility) -> None:
    """Add the requester to the chat with `visibility`; verified by reading the chat when the
    answer is unclear or a refusal."""
    try:
        await agent.add_user_to_chat(
            seat.chat.id,
            seat.me,
            user_type="agent",
            visibility=visibility,
            ignore_requester_presence=True,
        )
    except ApiError as exc:
        if not (ambiguous(exc) or refused_by_livechat(exc)):
            raise
        await _check_joined(agent, seat, visibility, exc)
    except TransportError as exc:
        if not exc.maybe_applied:
            raise
        await _check_joined(agent, seat, visibility, exc)


def _seated(seat: Seat, visibility: Visibility) -> bool:
    """Whether the chat lists the requester with exactly `visibility` (what a join asked for)."""
    return seat.mine is not None and (seat.mine.visibility or "all") == visibility


async def _check_joined(agent: AgentChat, seat: Seat, visibility: Visibility, exc: LiveChatError) -> None:
    try:
        now = await _read_back(agent, seat, exc, lambda s: _seated(s, visibility))
    except LiveChatError:
        if ambiguous(exc):
            raise _unconfirmed(f"joining chat {seat.chat.id}", None) from exc
        raise exc from None  # a refusal stays LiveChat's answer (e.g. the scope it names)
    if _seated(now, visibility):
        return
    if ambiguous(exc):
        shows = "does not list you" if now.mine is None else "does not list you with that visibility"
        raise _not_yet(seat.chat.id, shows, exc) from exc
    now.join_needed(visibility)  # raises the rule's refusal if someone took the chat meanwhile
    if isinstance(exc, ApiError) and now.mine is not None and not isinstance(exc, PermissionDenied):
        raise _seat_change_refused(now, exc) from exc
    others = [u for u in now.chat.users if u.type != "customer" and u.id != now.me]
    if isinstance(exc, ApiError) and others and not isinstance(exc, PermissionDenied):
        raise _join_refused(now, visibility, exc, others) from exc
    raise exc


async def _read_back(agent: AgentChat, seat: Seat, exc: LiveChatError, shows: Callable[[Seat], bool]) -> Seat:
    """The chat read again after an error answer to a write. After an unclear answer (a timeout, a
    lost answer, a 5xx) LiveChat may still be processing it, so a chat that does not yet show the
    write is read once more, `LOOKUP_PAUSE` later."""
    now = await read_seat(agent, seat.chat.id, seat.me)
    if ambiguous(exc) and not shows(now):
        await asyncio.sleep(LOOKUP_PAUSE)
        now = await read_seat(agent, seat.chat.id, seat.me)
    return now


def _not_yet(chat_id: str, shows: str, exc: LiveChatError) -> TransportError:
    """A seat change the chat, read twice, does not show after an unclear answer. It has not taken
    effect, but LiveChat may still apply it, so this never claims it failed; the tools that make
    these changes read the chat before they write, which makes calling them again safe."""
    return TransportError(
        f"LiveChat's answer was unclear ({_kind(exc)}), and chat {chat_id}, read again after a pause, "
        f"{shows}: the change has not taken effect, though LiveChat may still apply it. Nothing else "
        "was written. The tool reads the chat before it writes, so calling it again is safe.",
        maybe_applied=True,
    )


def _join_refused(seat: Seat, visibility: Visibility, exc: ApiError, others: list[lc.User]) -> UserInputError:
    """A join LiveChat refused while other agents are in the chat: its agent limit, counting silent
    agents too (the refusal the one-public-agent rule of `join_needed` did not foresee)."""
    how = "silently (visibility 'agents')" if visibility == "agents" else "visibly"
    inside = ", ".join(
        f"{_who(u)} ({'public' if (u.visibility or 'all') == 'all' else 'silent'})" for u in others
    )
    return UserInputError(
        f"LiveChat refused to add you to chat {seat.chat.id} {how}: {exc.message} ({exc.type}). You were "
        f"not added and nothing was written to the chat. It already has {inside}, and LiveChat limits the "
        "agents per chat (here it seems to count silent agents too). To write in it, transfer the chat to "
        f"yourself first (transfer_chat with agent_id={seat.me!r}).",
        argument="visibility",
    )


def _seat_change_refused(seat: Seat, exc: ApiError) -> UserInputError:
    """LiveChat refused to re-add the requester, already in the chat silently, as a public agent.
    Whether adding a user who is in the chat changes their visibility is not documented
    (https://platform.text.com/docs/messaging/agent-chat-api#add-user-to-chat) [UNVERIFIED]."""
    return UserInputError(
        f"You are in chat {seat.chat.id} silently (visibility 'agents'), and LiveChat refused to make "
        f"you visible: {exc.message} ({exc.type}). Nothing was written to the chat. Send it as an "
        "internal note (visibility='agents'), or transfer the chat to yourself first "
        f"(transfer_chat with agent_id={seat.me!r}) and then reply.",
        argument="visibility",
    )


def _kind(exc: LiveChatError) -> str:
    return exc.type if isinstance(exc, ApiError) else "no answer"


async def leave(agent: AgentChat, seat: Seat) -> bool:
    """Remove the requester (a user of the chat) from it; True when that was confirmed by reading
    the chat after an unclear answer or a refusal. LiveChat lists no "the chat must be active" rule
    for it (https://platform.text.com/docs/messaging/agent-chat-api#remove-user-from-chat; v3.3 said
    "It's always possible to remove the requester from the chat",
    https://platform.text.com/docs/messaging/agent-chat-api/v3.3#remove-user-from-chat), so a
    closed chat is asked too, and a refusal is explained from the chat read back."""
    try:
        await agent.remove_user_from_chat(seat.chat.id, seat.me, ignore_requester_presence=True)
        return False
    except (ApiError, TransportError) as exc:
        if isinstance(exc, PermissionDenied) or not (ambiguous(exc) or _refusal(exc)):
            raise
        try:
            now = await _read_back(agent, seat, exc, lambda s: s.mine is None)
        except LiveChatError:
            raise exc from None
        if now.mine is None:
            return True
        if ambiguous(exc):
            raise _not_yet(seat.chat.id, "still lists you", exc) from exc
        if isinstance(exc, ApiError) and not now.active:
            raise UserInputError(
                f"Chat {seat.chat.id} is closed, and LiveChat refused to remove you from it: {exc.message} "
                f"({exc.type}). Nothing changed: you are still listed among its users, and a closed chat "
                "sends you nothing new.",
                argument="chat_id",
            ) from exc
        raise


def _refusal(exc: LiveChatError) -> bool:
    return isinstance(exc, ApiError) and refused_by_livechat(exc)


async def retag(agent: AgentChat, chat_id: str, thread_id: str, tag: str, *, on: bool) -> bool:
    """Put `tag` on the thread (`on`) or take it off; True when that was confirmed by reading the
    thread after an error. Whether a repeat (tagging a thread that has the tag, untagging one that
    lacks it) is a no-op is not documented
    (https://platform.text.com/docs/messaging/agent-chat-api#tag-thread, #untag-thread), and the
    transport repeats these writes after a lost answer. So a refusal of such a repeat, or a
    failure after the request may have been sent, is settled by the thread's tags; a refusal of
    the first attempt is LiveChat's answer (e.g. a misspelt tag, case-sensitive) and is raised as
    it is, and so is an untag whose tag the thread holds in another case."""
    try:
        if on:
            await agent.tag_thread(chat_id, thread_id, tag)
        else:
            await agent.untag_thread(chat_id, thread_id, tag)
        return False
    except (ApiError, TransportError) as exc:
        if isinstance(exc, PermissionDenied | AuthenticationFailed):
            raise
        if not (unsettled(exc) or (isinstance(exc, ApiError) and exc.repeated)):
            raise  # a refusal of the first attempt: LiveChat's answer as it is
        try:
            chat = await agent.get_chat(chat_id, thread_id)
        except LiveChatError:
            raise exc from None
        thread = chat.thread
        if thread is None or thread.id != thread_id:
            raise
        if on and tag not in thread.tags:
            raise
        if not on and any(t.casefold() == tag.casefold() for t in thread.tags):
            raise  # absent as spelled, present in another case: likely misspelt, not removed
        return True


def _unconfirmed(
    what: str, custom_id: str | None, why: str = "the chat could not be read to check"
) -> LiveChatError:
    hint = f" Look for custom_id {custom_id!r} in get_chat before sending again." if custom_id else ""
    return TransportError(
        f"LiveChat did not confirm {what}, and {why}. {MAYBE_APPLIED}{hint}", maybe_applied=True
    )


class CannotTell(Exception):
    """LiveChat's answer about the chat cannot show that an event is absent."""


async def find_event(
    agent: AgentChat, chat_id: str, custom_id: str, *, text: str | None = None, anchor: str | None = None
) -> str | None:
    """The id of the event carrying `custom_id` in the chat's latest thread; None only when the
    answer proves it is not there, else `CannotTell`. Proof of absence: the thread still holds
    `anchor` (the newest event seen before sending: the listing reaches back past the send), and
    no event after it is a message of the same `text` whatever its `custom_id` (an answer that
    dropped or changed the field could hide ours). So an unclear send is followed by a second one
    only on that evidence, never on an empty, cut or changed listing."""
    chat = await agent.get_chat(chat_id)
    if chat.thread is None:
        raise CannotTell
    events = chat.thread.events
    found = next((e for e in reversed(events) if e.custom_id == custom_id), None)
    if found is not None:
        if not found.id:
            raise CannotTell
        return found.id
    ids = [e.id for e in events]
    if anchor is None or anchor not in ids:
        raise CannotTell
    later = events[ids.index(anchor) + 1 :]
    if text is not None and any(e.text == text for e in later):
        raise CannotTell
    return None


async def send_once(
    agent: AgentChat, chat_id: str, event: dict[str, object], *, anchor: str | None = None
) -> tuple[str, bool]:
    """Send `event` (which has a `custom_id`) so that it lands at most once; `anchor` is the
    newest event of the chat read before sending (see `find_event`; without one an unclear
    answer is reported, never followed by a second send).

    Returns (event id, whether it was confirmed by looking it up after an unclear answer).
    """
    custom_id = str(event["custom_id"])
    text = event.get("text")
    for attempt in (1, 2):
        try:
            return await agent.send_event(chat_id, event), False
        except LiveChatError as exc:
            if not ambiguous(exc):
                raise
            timed_out = isinstance(exc, TransportError) and exc.timed_out
            found = await _look_up(
                agent,
                chat_id,
                custom_id,
                text if isinstance(text, str) else None,
                anchor,
                after_timeout=timed_out,
            )
            if found is not None:
                return found, True
            if attempt == 2:
                raise TransportError(
                    "LiveChat did not confirm the message twice, and it is not in the chat: it was not "
                    "sent. LiveChat seems unwell; try again in a few minutes.",
                ) from exc
    raise AssertionError("unreachable")


async def _look_up(
    agent: AgentChat,
    chat_id: str,
    custom_id: str,
    text: str | None,
    anchor: str | None,
    *,
    after_timeout: bool,
) -> str | None:
    try:
        found = await find_event(agent, chat_id, custom_id, text=text, anchor=anchor)
        if found is None and after_timeout:
            await asyncio.sleep(LOOKUP_PAUSE)
            found = await find_event(agent, chat_id, custom_id, text=text, anchor=anchor)
    except LiveChatError as exc:
        raise _unconfirmed("the message", custom_id) from exc
    except CannotTell:
        why = "the chat as LiveChat showed it cannot prove the message absent"
        raise _unconfirmed("the message", custom_id, why) from None
    return found


def answered_ok(exc: BaseException) -> bool:
    """LiveChat answered a success status in a body this server cannot read (not JSON, or not the
    shape it expects): it says the write was done, in words that cannot be checked."""
    return isinstance(exc, ApiError) and 200 <= exc.status < 300


def unsettled(exc: BaseException) -> bool:
    """Only LiveChat's state can tell whether the write behind `exc` happened: an unclear answer
    (`ambiguous`), a success this server cannot read (`answered_ok`), or no answer to a request
    that reached LiveChat (an idempotent write whose answers were all lost is not `ambiguous`,
    since sending it again is harmless, but it may have been applied all the same). A request that
    never left this server is not: the state, whatever it is, was not made by it."""
    return ambiguous(exc) or answered_ok(exc) or (isinstance(exc, TransportError) and exc.sent)


async def confirm_by_reading(exc: LiveChatError, happened: Callable[[], Awaitable[bool]]) -> None:
    """After an answer that leaves open whether a write happened (`unsettled`), read LiveChat's
    state: return if it shows the write done; otherwise (or if the read fails) raise `exc`, which
    says what LiveChat answered (and, for a write that is not idempotent, that it may or may not
    have happened). Any other error (a refusal) is raised as it is, unread."""
    if not unsettled(exc):
        raise exc
    try:
        if await happened():
            return
    except LiveChatError:
        pass
    raise exc
