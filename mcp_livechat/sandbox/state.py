"""The in-memory LiveChat: organizations, agents, groups, tags, customers, chats, tokens, pages."""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import (
    AgentRecord,
    BanRecord,
    ChatRecord,
    CustomerRecord,
    GroupRecord,
    OrgRecord,
    Page,
    TagRecord,
    ThreadRecord,
)
from .tokens import TokenLedger


@dataclass
class EmulatorState:
    seed: int
    orgs: dict[str, OrgRecord] = field(default_factory=dict)
    agents: dict[str, AgentRecord] = field(default_factory=dict)  # by email (= agent id)
    groups: dict[str, dict[int, GroupRecord]] = field(default_factory=dict)  # org id -> group id -> group
    tags: dict[str, dict[str, TagRecord]] = field(default_factory=dict)  # org id -> name -> tag
    customers: dict[str, CustomerRecord] = field(default_factory=dict)
    chats: dict[str, ChatRecord] = field(default_factory=dict)
    thread_chat: dict[str, str] = field(default_factory=dict)  # thread id -> chat id
    customer_chats: dict[str, list[str]] = field(default_factory=dict)  # customer id -> chat ids
    bans: list[BanRecord] = field(default_factory=list)
    tokens: TokenLedger = field(default_factory=TokenLedger)
    pages: dict[str, Page] = field(default_factory=dict)

    # -- indexing ----------------------------------------------------------------------------
    def add_chat(self, chat: ChatRecord) -> None:
        self.chats[chat.id] = chat
        for thread in chat.threads:
            self.thread_chat[thread.id] = chat.id
        self.customer_chats.setdefault(chat.customer_id, []).append(chat.id)

    # -- lookups -----------------------------------------------------------------------------
    def org_of(self, agent: AgentRecord) -> OrgRecord:
        return self.orgs[agent.org_id]

    def agent_by_account_id(self, account_id: str) -> AgentRecord | None:
        return next((a for a in self.agents.values() if a.account_id == account_id), None)

    def org_agents(self, org_id: str) -> list[AgentRecord]:
        return [a for a in self.agents.values() if a.org_id == org_id]

    def org_agent(self, org_id: str, agent_id: str) -> AgentRecord | None:
        agent = self.agents.get(agent_id)
        return agent if agent is not None and agent.org_id == org_id else None

    def org_customer(self, org_id: str, customer_id: str) -> CustomerRecord | None:
        customer = self.customers.get(customer_id)
        return customer if customer is not None and customer.org_id == org_id else None

    def org_chats(self, org_id: str) -> list[ChatRecord]:
        return [c for c in self.chats.values() if c.org_id == org_id]

    def thread(self, thread_id: str) -> ThreadRecord | None:
        chat_id = self.thread_chat.get(thread_id)
        return self.chats[chat_id].thread(thread_id) if chat_id is not None else None

    def chat_of_thread(self, thread_id: str) -> ChatRecord | None:
        chat_id = self.thread_chat.get(thread_id)
        return self.chats[chat_id] if chat_id is not None else None

    def customer_chat_ids(self, customer_id: str) -> list[str]:
        return list(self.customer_chats.get(customer_id, ()))

    # -- access --------------------------------------------------------------------------------
    def can_see_chat(self, chat: ChatRecord, agent: AgentRecord, *, all_chats: bool) -> bool:
        """``chats--all:*`` sees every chat of its organization; ``chats--access:*`` sees chats
        whose groups overlap the agent's groups, or where the agent is a chat user."""
        if chat.org_id != agent.org_id:
            return False
        if all_chats:
            return True
        if set(chat.group_ids) & set(agent.groups):
            return True
        return chat.user(agent.id) is not None

    def can_see_thread(
        self, chat: ChatRecord, thread: ThreadRecord, agent: AgentRecord, *, all_chats: bool
    ) -> bool:
        if chat.org_id != agent.org_id:
            return False
        if all_chats:
            return True
        if set(thread.group_ids) & set(agent.groups):
            return True
        return agent.id in thread.user_ids or chat.user(agent.id) is not None
