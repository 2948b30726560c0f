"""Configuration API v3.6 actions (https://platform.text.com/docs/management/configuration-api).
Methods are named after LiveChat's actions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mcp_livechat.livechat._transport import Transport
from mcp_livechat.livechat.agent_chat import _compact
from mcp_livechat.livechat.decode import Decode, T, as_list, as_model
from mcp_livechat.livechat.types import Agent, CustomerBan, Group, Tag

# Optional agent fields LiveChat returns only when asked for (get_agent / list_agents `fields`).
AGENT_FIELDS = (
    "job_title",
    "max_chats_count",
    "groups",
    "notifications",
    "email_subscriptions",
    "work_scheduler",
    "mobile",
    "suspended",
    "awaiting_approval",
    "last_logout",
)


class Configuration:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def _read(self, action: str, body: dict[str, Any], decode: Decode[T]) -> T:
        result: T = await self._t.call("configuration", action, body, idempotent=True, decode=decode)
        return result

    async def get_agent(self, agent_id: str, fields: Sequence[str] | None = None) -> Agent:
        body = _compact(id=agent_id, fields=list(fields) if fields else None)
        return await self._read("get_agent", body, as_model(Agent))

    async def list_agents(
        self,
        *,
        group_ids: Sequence[int] | None = None,
        suspended: bool | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[Agent]:
        filters = _compact(group_ids=list(group_ids) if group_ids else None, suspended=suspended)
        body = _compact(filters=filters or None, fields=list(fields) if fields else None)
        return await self._read("list_agents", body, as_list(Agent))

    async def update_agent(
        self,
        agent_id: str,
        *,
        job_title: str | None = None,
        mobile: str | None = None,
        max_chats_count: int | None = None,
        login_status: str | None = None,
        role: str | None = None,
        groups: Sequence[Mapping[str, Any]] | None = None,
        notifications: Sequence[str] | None = None,
        email_subscriptions: Sequence[str] | None = None,
        work_scheduler: Mapping[str, Any] | None = None,
    ) -> None:
        body = _compact(
            id=agent_id,
            job_title=job_title,
            mobile=mobile,
            max_chats_count=max_chats_count,
            login_status=login_status,
            role=role,
            groups=[dict(g) for g in groups] if groups is not None else None,
            notifications=list(notifications) if notifications is not None else None,
            email_subscriptions=list(email_subscriptions) if email_subscriptions is not None else None,
            work_scheduler=dict(work_scheduler) if work_scheduler is not None else None,
        )
        await self._t.call("configuration", "update_agent", body, idempotent=True)

    async def list_groups(self, fields: Sequence[str] | None = None) -> list[Group]:
        body = _compact(fields=list(fields) if fields else None)
        return await self._read("list_groups", body, as_list(Group))

    async def get_group(self, group_id: int, fields: Sequence[str] | None = None) -> Group:
        body = _compact(id=group_id, fields=list(fields) if fields else None)
        return await self._read("get_group", body, as_model(Group))

    async def list_tags(self, group_ids: Sequence[int] | None = None) -> list[Tag]:
        body = {"filters": {"group_ids": list(group_ids)}} if group_ids else {}
        return await self._read("list_tags", body, as_list(Tag))

    async def create_tag(self, name: str, group_ids: Sequence[int] | None = None) -> None:
        """https://platform.text.com/docs/management/configuration-api#create-tag"""
        body = _compact(name=name, group_ids=list(group_ids) if group_ids is not None else None)
        await self._t.call("configuration", "create_tag", body, idempotent=False)

    async def delete_tag(self, name: str) -> None:
        """https://platform.text.com/docs/management/configuration-api#delete-tag (case-sensitive name)"""
        # Not re-sent after an unclear answer: a second delete of a deleted tag is `not_found`,
        # which would hide that the first one worked. The tool reads the tags instead.
        await self._t.call("configuration", "delete_tag", {"name": name}, idempotent=False)

    async def list_customer_bans(self) -> list[CustomerBan]:
        """Active bans, a bare array
        (https://platform.text.com/docs/management/configuration-api#list-customer-bans)."""
        return await self._read("list_customer_bans", {}, as_list(CustomerBan))

    async def unban_customer(self, *, customer_id: str | None = None, ip: str | None = None) -> None:
        """Exactly one of `ip` and `customer_id`
        (https://platform.text.com/docs/management/configuration-api#unban-customer)."""
        body = _compact(customer_id=customer_id, ip=ip)
        await self._t.call("configuration", "unban_customer", body, idempotent=False)  # as delete_tag
