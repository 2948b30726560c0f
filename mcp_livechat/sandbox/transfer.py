"""Agent Chat Web API v3.6: transfer_chat and list_agents_for_transfer (routing emulation)."""

from __future__ import annotations

from .agent_read import visible_chat
from .agent_write import system_message
from .apiauth import Ctx
from .clock import rfc3339
from .errors import WebApiFault, validation
from .membership import public_agents, require_active, require_presence
from .model import JSON, AgentRecord, ChatRecord, ChatUserRecord
from .validate import int_list, one_of, optional_bool, optional_obj, require_str, str_list

_PRIORITY_ORDER = {"first": 0, "normal": 1, "last": 2}  # "supervisor" never gets chats routed
ONLINE = ("accepting_chats", "not_accepting_chats")


def active_chats_per_agent(ctx: Ctx) -> dict[str, int]:
    """Active chats with a customer in which each agent is a present chat user (the
    list_agents_for_transfer count: "Only chats with Customers are taken into account")."""
    load: dict[str, int] = {}
    for chat in ctx.state.org_chats(ctx.org_id):
        if not chat.active or not any(u.type == "customer" for u in chat.users):
            continue
        for user in chat.users:
            if user.type == "agent" and user.present:
                load[user.id] = load.get(user.id, 0) + 1
    return load


def has_access(agent: AgentRecord, chat: ChatRecord) -> bool:
    return bool(set(agent.groups) & set(chat.group_ids))


def _pick_agent(ctx: Ctx, group_ids: list[int], exclude: set[str]) -> AgentRecord | None:
    """Routing emulation: an accepting agent of the groups with a free slot, by priority
    (first > normal > last), then load, then id."""
    load = active_chats_per_agent(ctx)
    candidates = []
    for agent in ctx.state.org_agents(ctx.org_id):
        ranks = [
            _PRIORITY_ORDER[p] for g, p in agent.groups.items() if g in group_ids and p in _PRIORITY_ORDER
        ]
        if not ranks or agent.id in exclude or agent.suspended or agent.awaiting_approval:
            continue
        if agent.routing_status == "accepting_chats" and load.get(agent.id, 0) < agent.max_chats_count:
            candidates.append((min(ranks), load.get(agent.id, 0), agent.id, agent))
    candidates.sort(key=lambda c: c[:3])
    return candidates[0][3] if candidates else None


def _agent_targets(ctx: Ctx, chat: ChatRecord, ids: object) -> list[AgentRecord]:
    agents = []
    for agent_id in str_list(ids, "target.ids"):
        agent = ctx.state.org_agent(ctx.org_id, agent_id)
        if agent is None or agent.suspended or agent.awaiting_approval:
            raise WebApiFault("not_found", "Agent not found")
        if not has_access(agent, chat):
            # "When transferring directly to an agent, the agent must have access to the
            # transferred chat." The error is [UNVERIFIED].
            raise validation(f"Agent `{agent_id}` has no access to the chat")
        agents.append(agent)
    if not agents:
        raise validation("`target.ids` must not be empty")
    return agents


def transfer_chat(ctx: Ctx, body: JSON) -> JSON:
    """https://platform.text.com/docs/messaging/agent-chat-api#transfer-chat

    ``ignore_agents_availability`` true "allows the chat to be enqueued after the transfer"; false
    "fails when unable to immediately assign any agent from the requested groups" (``agent_offline``,
    422 [UNVERIFIED]). One agent is assigned (one public agent per chat); with several agent ids
    the least loaded accepting one [UNVERIFIED]. A target agent who is not accepting chats, with
    the flag: the previous public agents leave, the chat waits in the queue (``queue`` in
    list_chats / get_chat) and no agent is assigned [UNVERIFIED how LiveChat shows it]. Silent
    agents stay in the chat [UNVERIFIED]."""
    chat = visible_chat(ctx, require_str(body, "id"), perm="rw")
    target = optional_obj(body, "target")
    ignore_availability = optional_bool(body, "ignore_agents_availability") or False
    kind = one_of(target.get("type"), ("group", "agent"), "target.type") if target else "group"
    thread = require_active(chat)
    require_presence(ctx, chat, body)
    groups = ctx.state.groups[ctx.org_id]
    current = {u.id for u in public_agents(chat)}
    if target and kind == "agent":
        wanted = _agent_targets(ctx, chat, target.get("ids"))
        load = active_chats_per_agent(ctx)
        ready = [a for a in wanted if a.routing_status == "accepting_chats"]
        picked = min(ready, key=lambda a: load.get(a.id, 0)) if ready else None
        if picked is None and not ignore_availability:
            raise WebApiFault("agent_offline", "Agent is not accepting chats")  # [UNVERIFIED] wording
        label = ", ".join(a.name for a in wanted)
    else:
        if target:
            group_ids = int_list(target.get("ids"), "target.ids", max_len=200)
            if not group_ids:
                raise validation("`target.ids` must not be empty")
            if any(gid not in groups for gid in group_ids):
                # [UNVERIFIED] `group_not_found` is in the Configuration API's error list but not
                # in the Agent Chat API's, which has `not_found`
                # (https://platform.text.com/docs/messaging/agent-chat-api#possible-errors); kept
                # because its documented message, "Group not found", names the case.
                raise WebApiFault("group_not_found", "Group not found")
            chat.group_ids, thread.group_ids = list(group_ids), list(group_ids)
        picked = _pick_agent(ctx, chat.group_ids, current)
        if picked is None and not ignore_availability:
            raise WebApiFault(
                "agent_offline", "No agent in the target group is accepting chats"
            )  # [UNVERIFIED]
        label = ", ".join(groups[g].name for g in chat.group_ids if g in groups)
    _assign(ctx, chat, current, picked)
    # "%initiator% transferred the chat to %targets%"
    # (https://platform.text.com/docs/messaging/references/system-activities#chat_transferred).
    # `text_vars` keyed by the placeholder names, and %targets% as the target agents' or groups'
    # names joined by ", " [UNVERIFIED: the docs give the text only].
    system_message(
        ctx,
        thread,
        "chat_transferred",
        f"{ctx.agent.name} transferred the chat to {label}",
        {"initiator": ctx.agent.name, "targets": label},
    )
    return {}


def _assign(ctx: Ctx, chat: ChatRecord, leaving: set[str], picked: AgentRecord | None) -> None:
    thread = chat.last_thread
    if picked is not None:
        leaving = leaving - {picked.id}
    chat.users = [u for u in chat.users if u.id not in leaving]
    # The thread data structure documents no `user_ids` field
    # (https://platform.text.com/docs/messaging/agent-chat-api/data-structures#threads): that the
    # agents who leave are dropped from the thread's `user_ids` too (so list_archives'
    # `filters.agents` no longer finds them there) is our reading [UNVERIFIED].
    thread.user_ids = [u for u in thread.user_ids if u not in leaving]
    if picked is None:
        thread.queue = _queue(ctx, chat)
        return
    user = chat.user(picked.id)
    if user is None:
        chat.users.append(ChatUserRecord(picked.id, "agent", present=True, visibility="all"))
    else:
        user.present, user.visibility = True, "all"
    if picked.id not in thread.user_ids:
        thread.user_ids.append(picked.id)
    thread.dequeue(ctx.now())


def _queue(ctx: Ctx, chat: ChatRecord) -> JSON:
    waiting = [
        c
        for c in ctx.state.org_chats(ctx.org_id)
        if c.active
        and c.id != chat.id
        and c.last_thread.queue is not None
        and set(c.group_ids) & set(chat.group_ids)
    ]
    return {"position": len(waiting) + 1, "wait_time": 0, "queued_at": rfc3339(ctx.now())}


def list_agents_for_transfer(ctx: Ctx, body: JSON) -> list[JSON]:
    """https://platform.text.com/docs/messaging/agent-chat-api#list-agents-for-transfer

    "Required scopes: -". "It returns the Agents you can transfer a chat to" (agents with access
    to the chat: a group in common), "only ... Agents with statuses online and not accepting
    chats. Offline Agents aren't returned", "sorted ascendingly by the total number of active
    chats", counting "Only chats with Customers". A bare array of ``{agent_id,
    total_active_chats}``. The chat's own agents and the requester are not left out (the docs do
    not say so) [UNVERIFIED]; ties are ordered by agent id [UNVERIFIED]; suspended agents and
    agents awaiting approval are not listed [UNVERIFIED]. A chat of another organization is
    ``not_found``."""
    chat = ctx.state.chats.get(require_str(body, "chat_id"))
    if chat is None or chat.org_id != ctx.org_id:
        raise WebApiFault("not_found", "Chat not found")
    load = active_chats_per_agent(ctx)
    rows = [
        {"agent_id": a.id, "total_active_chats": load.get(a.id, 0)}
        for a in ctx.state.org_agents(ctx.org_id)
        if a.routing_status in ONLINE and not a.suspended and not a.awaiting_approval and has_access(a, chat)
    ]
    rows.sort(key=lambda r: (r["total_active_chats"], r["agent_id"]))
    return rows
