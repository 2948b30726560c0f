"""Configuration API v3.6: agents, groups, tags.

Changes are visible immediately (real LiveChat may take up to 2 minutes to propagate them).
"""

from __future__ import annotations

from typing import Any

from . import agent_limits, constants
from .apiauth import Ctx
from .errors import WebApiFault, validation
from .model import JSON, AgentRecord
from .render import agent_json, group_json, tag_json
from .validate import (
    fields_list,
    int_list,
    one_of,
    optional_bool,
    optional_obj,
    require_int,
    require_str,
    str_list,
)

REMOVED_IN_36 = ("name", "avatar", "avatar_path")


def _target(ctx: Ctx, agent_id: str, perm: str) -> AgentRecord:
    ctx.require(f"agents--my:{perm}" if agent_id == ctx.agent.id else f"agents--all:{perm}")
    agent = ctx.state.org_agent(ctx.org_id, agent_id)
    if agent is None:
        raise WebApiFault("not_found", "Agent not found")
    return agent


def get_agent(ctx: Ctx, body: JSON) -> JSON:
    agent_id = require_str(body, "id")
    fields = fields_list(body, constants.AGENT_FIELDS)
    return agent_json(_target(ctx, agent_id, "ro"), fields, listing=False)


def list_agents(ctx: Ctx, body: JSON) -> list[JSON]:
    ctx.require("agents--all:ro")
    fields = fields_list(body, constants.AGENT_FIELDS)
    filters = optional_obj(body, "filters")
    groups = filters.get("group_ids")
    group_ids = set(int_list(groups, "filters.group_ids", max_len=200)) if groups is not None else None
    suspended = optional_bool(filters, "suspended", "filters.suspended")
    return [
        agent_json(a, fields, listing=True)
        for a in ctx.state.org_agents(ctx.org_id)
        if (group_ids is None or bool(group_ids & set(a.groups)))
        and (suspended is None or a.suspended == suspended)
    ]


def _subset(value: object, allowed: tuple[str, ...], path: str) -> list[str]:
    items = str_list(value, path)
    for item in items:
        if item not in allowed:
            raise validation(f"`{path}` must contain only: {', '.join(allowed)}")
    return list(dict.fromkeys(items))


def update_agent(ctx: Ctx, body: JSON) -> JSON:
    """https://platform.text.com/docs/management/configuration-api#update-agent; the limits live
    in agent_limits.py."""
    agent_id = require_str(body, "id")
    for key in REMOVED_IN_36:
        if key in body:
            # [UNVERIFIED] LiveChat's exact answer; v3.6 dropped these fields from update_agent.
            raise validation(f"`{key}` is not supported in v3.6; use the Global Accounts API")
    agent = _target(ctx, agent_id, "rw")
    changes: dict[str, Any] = {}
    if body.get("role") is not None:
        ctx.require("accounts.roles.lc--all:rw")
        changes["role"] = one_of(body["role"], ("viceowner", "administrator", "normal"), "role")
        if agent.role == "owner":
            raise validation("The owner's role cannot be changed")  # [UNVERIFIED]
    if body.get("login_status") is not None:
        # The default status after login; the live routing status is set_routing_status's.
        changes["login_status"] = one_of(body["login_status"], constants.LOGIN_STATUSES, "login_status")
    for key in agent_limits.TEXT_LIMITS:
        if body.get(key) is not None:
            changes[key] = agent_limits.text(key, body[key])
    if body.get("max_chats_count") is not None:
        changes["max_chats_count"] = agent_limits.max_chats_count(body["max_chats_count"])
    if body.get("groups") is not None:
        changes["groups"] = _groups(ctx, body["groups"])
    if body.get("notifications") is not None:
        changes["notifications"] = _subset(body["notifications"], constants.NOTIFICATIONS, "notifications")
    if body.get("email_subscriptions") is not None:
        changes["email_subscriptions"] = _subset(
            body["email_subscriptions"], constants.EMAIL_SUBSCRIPTIONS, "email_subscriptions"
        )
    if body.get("work_scheduler") is not None:
        changes["work_scheduler"] = agent_limits.work_scheduler(body["work_scheduler"], agent.work_scheduler)
    for key, value in changes.items():
        setattr(agent, key, value)
    if changes:
        agent.updated_at = ctx.now()
    return {}


def _groups(ctx: Ctx, value: object) -> dict[int, str]:
    if not isinstance(value, list):
        raise validation("`groups` must be an array")
    known = ctx.state.groups[ctx.org_id]
    out: dict[int, str] = {}
    for item in value:
        if not isinstance(item, dict):
            raise validation("`groups` items must be objects with `id` and `priority`")
        gid = require_int(item, "id", "groups.id")
        priority = one_of(item.get("priority"), agent_limits.PRIORITIES, "groups.priority")
        if gid not in known:
            raise WebApiFault("group_not_found", f"Group {gid} not found")
        out[gid] = priority
    return out


def list_groups(ctx: Ctx, body: JSON) -> list[JSON]:
    ctx.require("groups--all:ro")
    fields = fields_list(body, constants.GROUP_FIELDS)
    groups = ctx.state.groups[ctx.org_id]
    return [group_json(ctx.state, groups[gid], fields) for gid in sorted(groups)]


def get_group(ctx: Ctx, body: JSON) -> JSON:
    gid = require_int(body, "id")
    fields = fields_list(body, constants.GROUP_FIELDS)
    ctx.require("groups--my:ro" if gid in ctx.agent.groups else "groups--all:ro")
    group = ctx.state.groups[ctx.org_id].get(gid)
    if group is None:
        raise WebApiFault("group_not_found", "Group not found")
    return group_json(ctx.state, group, fields)


def list_tags(ctx: Ctx, body: JSON) -> list[JSON]:
    granted = ctx.require("tags--all:ro", "tags--groups:ro")
    filters = optional_obj(body, "filters")
    groups = filters.get("group_ids")
    if body.get("filters") is not None and groups is None:
        raise validation("`filters.group_ids` is required")  # "Yes" inside the optional `filters`
    group_ids = set(int_list(groups, "filters.group_ids", max_len=200)) if groups is not None else None
    mine = set(ctx.agent.groups)
    return [
        tag_json(t)
        for t in ctx.state.tags[ctx.org_id].values()
        if (group_ids is None or bool(group_ids & set(t.group_ids)))
        and (granted == "tags--all:ro" or bool(mine & set(t.group_ids)))
    ]
