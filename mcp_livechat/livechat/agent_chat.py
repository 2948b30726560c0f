"""Agent Chat Web API v3.6 actions (https://platform.text.com/docs/messaging/agent-chat-api).
Methods are named after LiveChat's actions.

Reads and idempotent writes may be retried by the transport; `send_event`, `add_user_to_chat`,
`transfer_chat` and `deactivate_chat` never are once they may have reached LiveChat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from mcp_livechat.errors import UserInputError
from mcp_livechat.livechat._transport import Transport
from mcp_livechat.livechat.decode import Decode, T, as_list, as_model
from mcp_livechat.livechat.types import (
    ArchivesPage,
    Chat,
    ChatsPage,
    Customer,
    RoutingStatus,
    SentEvent,
    ThreadsPage,
    TransferCandidate,
)

SortOrder = Literal["asc", "desc"]


def _compact(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def _page(page_id: str | None, first: dict[str, Any]) -> dict[str, Any]:
    """LiveChat continues a listing from `page_id` alone; anything else beside it is refused."""
    if page_id is None:
        return first
    if first:
        raise UserInputError(
            "page_id continues an earlier listing and must be sent alone: drop "
            + ", ".join(sorted(first))
            + " (the listing keeps the filters of its first page)",
            argument="page_id",
        )
    return {"page_id": page_id}


class AgentChat:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def _read(self, action: str, body: dict[str, Any], decode: Decode[T]) -> T:
        result: T = await self._t.call("agent", action, body, idempotent=True, decode=decode)
        return result

    async def list_chats(
        self,
        *,
        active: bool | None = None,
        group_ids: Sequence[int] | None = None,
        include_chats_without_threads: bool | None = None,
        limit: int | None = None,
        sort_order: SortOrder | None = None,
        page_id: str | None = None,
    ) -> ChatsPage:
        filters = _compact(
            active=active,
            group_ids=list(group_ids) if group_ids else None,  # [] means no filter, as in list_archives
            include_chats_without_threads=include_chats_without_threads,
        )
        body = _page(page_id, _compact(filters=filters or None, limit=limit, sort_order=sort_order))
        return await self._read("list_chats", body, as_model(ChatsPage))

    async def get_chat(self, chat_id: str, thread_id: str | None = None) -> Chat:
        return await self._read("get_chat", _compact(chat_id=chat_id, thread_id=thread_id), as_model(Chat))

    async def list_threads(
        self,
        chat_id: str,
        *,
        limit: int | None = None,
        sort_order: SortOrder | None = None,
        min_events_count: int | None = None,
        page_id: str | None = None,
    ) -> ThreadsPage:
        first = _compact(limit=limit, sort_order=sort_order, min_events_count=min_events_count)
        body = {"chat_id": chat_id, **_page(page_id, first)}
        return await self._read("list_threads", body, as_model(ThreadsPage))

    async def list_archives(
        self,
        *,
        query: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        chat_ids: Sequence[str] | None = None,
        group_ids: Sequence[int] | None = None,
        agent_ids: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        customer_id: str | None = None,
        customer_email: str | None = None,
        limit: int | None = None,
        sort_order: SortOrder | None = None,
        page_id: str | None = None,
    ) -> ArchivesPage:
        filters = _compact(
            query=query,
            **{"from": date_from, "to": date_to},
            chat_ids=list(chat_ids) if chat_ids else None,
            group_ids=list(group_ids) if group_ids else None,
            agents={"values": list(agent_ids)} if agent_ids else None,
            tags={"values": list(tags)} if tags else None,
            customer_id=customer_id,
            customer_email=customer_email,
        )
        body = _page(page_id, _compact(filters=filters or None, limit=limit, sort_order=sort_order))
        return await self._read("list_archives", body, as_model(ArchivesPage))

    async def send_event(self, chat_id: str, event: Mapping[str, Any]) -> str:
        """Send one event (e.g. `{"type": "message", "text": ..., "visibility": "all"}`); its id."""
        sent: SentEvent = await self._t.call(
            "agent", "send_event", {"chat_id": chat_id, "event": dict(event)}, idempotent=False,
            decode=as_model(SentEvent),
        )  # fmt: skip
        return sent.event_id  # an answer without one is unclear: the sender looks the event up

    async def add_user_to_chat(
        self,
        chat_id: str,
        user_id: str,
        *,
        user_type: Literal["agent", "customer"] = "agent",
        visibility: Literal["all", "agents"] = "all",
        ignore_requester_presence: bool | None = None,
    ) -> None:
        body = _compact(
            chat_id=chat_id,
            user_id=user_id,
            user_type=user_type,
            visibility=visibility,
            ignore_requester_presence=ignore_requester_presence,
        )
        await self._t.call("agent", "add_user_to_chat", body, idempotent=False)

    async def remove_user_from_chat(
        self,
        chat_id: str,
        user_id: str,
        *,
        user_type: Literal["agent"] = "agent",
        ignore_requester_presence: bool | None = None,
    ) -> None:
        """https://platform.text.com/docs/messaging/agent-chat-api#remove-user-from-chat"""
        body = _compact(
            chat_id=chat_id,
            user_id=user_id,
            user_type=user_type,
            ignore_requester_presence=ignore_requester_presence,
        )
        await self._t.call("agent", "remove_user_from_chat", body, idempotent=False)

    async def follow_chat(self, chat_id: str) -> None:
        """https://platform.text.com/docs/messaging/agent-chat-api#follow-chat"""
        await self._t.call("agent", "follow_chat", {"id": chat_id}, idempotent=True)

    async def unfollow_chat(self, chat_id: str) -> None:
        """https://platform.text.com/docs/messaging/agent-chat-api#unfollow-chat: not repeated by the
        transport (whether unfollowing an unfollowed chat is accepted is not documented); an unclear
        answer is settled by the chat's `is_followed`."""
        await self._t.call("agent", "unfollow_chat", {"id": chat_id}, idempotent=False)

    async def list_agents_for_transfer(self, chat_id: str) -> list[TransferCandidate]:
        """Agents who can take the chat, least busy first; needs no scope
        (https://platform.text.com/docs/messaging/agent-chat-api#list-agents-for-transfer)."""
        return await self._read("list_agents_for_transfer", {"chat_id": chat_id}, as_list(TransferCandidate))

    async def transfer_chat(
        self,
        chat_id: str,
        *,
        target_type: Literal["agent", "group"] | None = None,
        target_ids: Sequence[str | int] | None = None,
        ignore_agents_availability: bool | None = None,
        ignore_requester_presence: bool | None = None,
    ) -> None:
        target = {"type": target_type, "ids": list(target_ids or [])} if target_type else None
        body = _compact(
            id=chat_id,
            target=target,
            ignore_agents_availability=ignore_agents_availability,
            ignore_requester_presence=ignore_requester_presence,
        )
        await self._t.call("agent", "transfer_chat", body, idempotent=False)

    async def deactivate_chat(self, chat_id: str, *, ignore_requester_presence: bool | None = None) -> None:
        body = _compact(id=chat_id, ignore_requester_presence=ignore_requester_presence)
        await self._t.call("agent", "deactivate_chat", body, idempotent=False)

    async def tag_thread(self, chat_id: str, thread_id: str, tag: str) -> None:
        body = {"chat_id": chat_id, "thread_id": thread_id, "tag": tag}
        await self._t.call("agent", "tag_thread", body, idempotent=True)

    async def untag_thread(self, chat_id: str, thread_id: str, tag: str) -> None:
        body = {"chat_id": chat_id, "thread_id": thread_id, "tag": tag}
        await self._t.call("agent", "untag_thread", body, idempotent=True)

    async def ban_customer(self, customer_id: str, days: int) -> None:
        """https://platform.text.com/docs/messaging/agent-chat-api#ban-customer: not repeated by the
        transport (what LiveChat answers to banning a banned customer is not documented); an
        unclear answer is settled by the ban list."""
        body = {"id": customer_id, "ban": {"days": days}}
        await self._t.call("agent", "ban_customer", body, idempotent=False)

    async def get_customer(self, customer_id: str) -> Customer:
        return await self._read("get_customer", {"id": customer_id}, as_model(Customer))

    async def update_customer(
        self,
        customer_id: str,
        *,
        name: str | None = None,
        email: str | None = None,
        avatar: str | None = None,
        phone_number: str | None = None,
        session_fields: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        changes = _compact(
            name=name,
            email=email,
            avatar=avatar,
            phone_number=phone_number,
            session_fields=[dict(f) for f in session_fields] if session_fields is not None else None,
        )
        if not changes:
            raise UserInputError(
                "update_customer needs at least one of name, email, avatar, phone_number, session_fields"
            )
        await self._t.call("agent", "update_customer", {"id": customer_id, **changes}, idempotent=True)

    async def set_routing_status(
        self,
        status: Literal["accepting_chats", "not_accepting_chats", "offline"],
        agent_id: str | None = None,
    ) -> None:
        body = _compact(status=status, agent_id=agent_id)
        await self._t.call("agent", "set_routing_status", body, idempotent=True)

    async def list_routing_statuses(self, group_ids: Sequence[int] | None = None) -> list[RoutingStatus]:
        body = {"filters": {"group_ids": list(group_ids)}} if group_ids else {}
        return await self._read("list_routing_statuses", body, as_list(RoutingStatus))
