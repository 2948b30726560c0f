"""Customer bans: Agent Chat API ``ban_customer``; Configuration API ``list_customer_bans`` and
``unban_customer`` (https://platform.text.com/docs/management/configuration-api#customer-bans:
"Banning is only possible via the Agent Chat API")."""

from __future__ import annotations

from datetime import timedelta

from .agent_write import close_thread
from .apiauth import Ctx
from .clock import rfc3339
from .errors import WebApiFault, validation
from .model import JSON, BanRecord, CustomerRecord
from .validate import is_int, optional_str, require_str


def _days(body: JSON) -> float:
    ban = body.get("ban")
    if ban is None:
        raise validation("`ban` is required")
    if not isinstance(ban, dict):
        raise validation("`ban` must be an object")
    days = ban.get("days")
    if days is None:
        raise validation("`ban.days` is required")
    if not (is_int(days) or isinstance(days, float)) or days <= 0:
        # "ban.days: number"; positive only is our call [UNVERIFIED].
        raise validation("`ban.days` must be a positive number")
    return float(days)


def _latest_thread(ctx: Ctx, customer: CustomerRecord) -> str | None:
    threads = [t for c in ctx.state.customer_chat_ids(customer.id) for t in ctx.state.chats[c].threads]
    return max(threads, key=lambda t: t.created_at).id if threads else None


def _end_active_chats(ctx: Ctx, customer: CustomerRecord, days: float) -> None:
    """ban_customer "immediately disconnects all active sessions of this customer": each active
    chat of the customer in the organization (whoever can see it) is deactivated with the
    ``customer_banned`` system message, "Chat archived because customer was banned by %agent% for
    %duration% day(s)", generated when "Chat ended becaus customer was banned via the **Ban
    Customer** request"
    (https://platform.text.com/docs/messaging/references/system-activities#customer_banned).
    ``text_vars`` keyed by the placeholder names, ``agent`` the requester's name and ``duration``
    the days as given (``3``, ``0.5``) [UNVERIFIED: the docs give the text only]."""
    duration = str(int(days)) if days.is_integer() else repr(days)
    text = f"Chat archived because customer was banned by {ctx.agent.name} for {duration} day(s)"
    text_vars = {"agent": ctx.agent.name, "duration": duration}
    for chat_id in ctx.state.customer_chat_ids(customer.id):
        chat = ctx.state.chats[chat_id]
        if chat.org_id == ctx.org_id and chat.active:
            close_thread(ctx, chat, "customer_banned", text, dict(text_vars))


def ban_customer(ctx: Ctx, body: JSON) -> JSON:
    """https://platform.text.com/docs/messaging/agent-chat-api#ban-customer: scope
    ``customers.ban:rw``; request ``id``, ``ban.days``; no response payload. The ban records the
    customer's last known IP and latest thread, as list_customer_bans' sample entries do; a new
    ban replaces the customer's active one [UNVERIFIED]. The customer's active chats end
    (``_end_active_chats``); that the ban refuses the customer's new chats is not emulated (the
    sandbox has no Customer Chat API)."""
    ctx.require("customers.ban:rw")
    customer_id = require_str(body, "id")
    days = _days(body)
    customer = ctx.state.org_customer(ctx.org_id, customer_id)
    if customer is None:
        raise WebApiFault("not_found", "Customer not found")
    now = ctx.now()
    ctx.state.bans = [b for b in ctx.state.bans if not (b.customer_id == customer.id and b.expires_at > now)]
    ip = customer.visit.get("ip") if customer.visit else None
    ctx.state.bans.append(
        BanRecord(
            org_id=ctx.org_id,
            agent_id=ctx.agent.id,
            created_at=now,
            expires_at=now + timedelta(days=days),
            ip=str(ip) if ip else None,
            customer_id=customer.id,
            thread_id=_latest_thread(ctx, customer),
        )
    )
    _end_active_chats(ctx, customer, days)
    return {}


def ban_json(ban: BanRecord) -> JSON:
    """The list_customer_bans sample's keys, in its order; ``ip``, ``customer_id`` and
    ``thread_id`` only when known."""
    out: JSON = {}
    if ban.ip is not None:
        out["ip"] = ban.ip
    if ban.customer_id is not None:
        out["customer_id"] = ban.customer_id
    out["agent_id"] = ban.agent_id
    if ban.thread_id is not None:
        out["thread_id"] = ban.thread_id
    out["created_at"] = rfc3339(ban.created_at)
    out["expires_at"] = rfc3339(ban.expires_at)
    return out


def _active(ctx: Ctx) -> list[BanRecord]:
    now = ctx.now()
    return [b for b in ctx.state.bans if b.org_id == ctx.org_id and b.expires_at > now]


def list_customer_bans(ctx: Ctx, body: JSON) -> list[JSON]:
    """https://platform.text.com/docs/management/configuration-api#list-customer-bans: scope
    ``banlist_read``; "Empty request payload"; "Returns all active bans" as a bare array."""
    ctx.require("banlist_read")
    return [ban_json(b) for b in sorted(_active(ctx), key=lambda b: b.created_at)]


def unban_customer(ctx: Ctx, body: JSON) -> JSON:
    """https://platform.text.com/docs/management/configuration-api#unban-customer: scope
    ``banlist_write``; "Exactly one of `ip` and `customer_id` is required"; response ``{}``. Every
    active ban matching the value is lifted; none is ``not_found`` [UNVERIFIED]."""
    ctx.require("banlist_write")
    ip = optional_str(body, "ip")
    customer_id = optional_str(body, "customer_id")
    if (ip is None) == (customer_id is None) or not (ip or customer_id):
        raise validation("Exactly one of `ip` and `customer_id` is required")
    matching = [b for b in _active(ctx) if (b.ip == ip if ip is not None else b.customer_id == customer_id)]
    if not matching:
        raise WebApiFault("not_found", "Ban not found")  # [UNVERIFIED] type and wording
    ctx.state.bans = [b for b in ctx.state.bans if all(b is not m for m in matching)]
    return {}
