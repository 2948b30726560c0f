"""``POST /v3.6/{agent|configuration}/action/<method>``: version, method, auth, region, body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import agent_read, agent_write, bans, chat_users, config_api, config_tags, customers, transfer
from .apiauth import Ctx, authenticate
from .errors import WebApiFault
from .model import JSON
from .runtime import Emulator
from .wire import check_version, parse_body, with_faults

Handler = Callable[[Ctx, JSON], Any]

AGENT_METHODS: dict[str, Handler] = {
    "list_chats": agent_read.list_chats,
    "list_threads": agent_read.list_threads,
    "get_chat": agent_read.get_chat,
    "list_archives": agent_read.list_archives,
    "get_customer": agent_read.get_customer,
    "list_routing_statuses": agent_read.list_routing_statuses,
    "send_event": agent_write.send_event,
    "add_user_to_chat": chat_users.add_user_to_chat,
    "remove_user_from_chat": chat_users.remove_user_from_chat,
    "follow_chat": chat_users.follow_chat,
    "unfollow_chat": chat_users.unfollow_chat,
    "transfer_chat": transfer.transfer_chat,
    "list_agents_for_transfer": transfer.list_agents_for_transfer,
    "deactivate_chat": agent_write.deactivate_chat,
    "tag_thread": agent_write.tag_thread,
    "untag_thread": agent_write.untag_thread,
    "set_routing_status": agent_write.set_routing_status,
    "update_customer": customers.update_customer,
    "ban_customer": bans.ban_customer,
}
CONFIG_METHODS: dict[str, Handler] = {
    "get_agent": config_api.get_agent,
    "list_agents": config_api.list_agents,
    "update_agent": config_api.update_agent,
    "list_groups": config_api.list_groups,
    "get_group": config_api.get_group,
    "list_tags": config_api.list_tags,
    "create_tag": config_tags.create_tag,
    "update_tag": config_tags.update_tag,
    "delete_tag": config_tags.delete_tag,
    "list_customer_bans": bans.list_customer_bans,
    "unban_customer": bans.unban_customer,
}
APIS = {"agent": AGENT_METHODS, "configuration": CONFIG_METHODS}


async def _call(rt: Emulator, request: Request) -> Response:
    check_version(request)
    table = APIS.get(request.path_params["api"])
    handler = table.get(request.path_params["method"]) if table is not None else None
    if handler is None:
        # An unknown method is `not_found`, answered before the credential is checked (so even
        # without one) [UNVERIFIED: the docs give neither the error nor the order].
        raise WebApiFault("not_found", "Method not found")
    requester = authenticate(rt, request.headers)
    body = await parse_body(request)
    result = handler(Ctx(rt, requester), body)
    return JSONResponse(result)


async def api_endpoint(rt: Emulator, request: Request) -> Response:
    async def process() -> Response:
        try:
            return await _call(rt, request)
        except WebApiFault as exc:
            return exc.response(refusal_status=rt.refusal_status)

    return await with_faults(rt, request, request.path_params["method"], "api", process)
