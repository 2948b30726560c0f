"""Accounts server: ``/v2/info``, ``DELETE /v2/token`` and ``/v2/accounts/{id|me}``."""

from __future__ import annotations

import json
import math
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import scopes
from .apiauth import Requester, resolve_credentials
from .clock import accounts_time
from .errors import AccountsFault, insufficient_scope
from .model import AgentRecord
from .runtime import Emulator

_ROLE_NS = uuid.UUID("6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")


def _presented_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query_params.get("code") or None


def info(rt: Emulator, request: Request) -> Response:
    value = _presented_token(request)
    if value is None:
        return AccountsFault(422, "invalid_request", invalid_fields={"code": "is required"}).response()
    now = rt.clock.now()
    token = rt.state.tokens.valid_access(value, now)
    if token is None:  # [UNVERIFIED] status/code for an invalid token on /info
        return AccountsFault(401, "unauthorized", "Invalid or expired access token.").response()
    agent = rt.state.agents[token.agent_id]
    body: dict[str, object] = {
        "access_token": token.token,
        "account_id": agent.account_id,
        "client_id": token.client_id,
        "expires_in": max(0, math.floor((token.expires_at - now).total_seconds())),
        "organization_id": agent.org_id,
        "scope": scopes.join(token.scopes),
        "token_type": "Bearer",
    }
    if token.refresh_token is not None:
        body["refresh_token"] = token.refresh_token
    return JSONResponse(body)


def revoke(rt: Emulator, request: Request) -> Response:
    value = _presented_token(request)
    if value is None:
        return AccountsFault(422, "invalid_request", invalid_fields={"code": "is required"}).response()
    if not rt.state.tokens.revoke(value):
        return AccountsFault(404, "resource_not_found", extra={"resource_name": "token"}).response()
    rt.stats.incr("token_revoked")
    # "OK, tokens are revoked, returns no content." (Global Accounts API spec, DELETE /v2/token)
    return Response(status_code=200)


def account_json(rt: Emulator, agent: AgentRecord, *, with_roles: bool) -> dict[str, object]:
    """Global Accounts API account (OpenAPI ``&ref_2`` + ``properties``)."""
    body: dict[str, object] = {
        "account_id": agent.account_id,
        "name": agent.name,
        "email": agent.id,
        "email_verified": agent.email_verified,
        "default_product": "LiveChat",
        "default_organization_id": agent.org_id,
        "avatar_url": None,
        "created_at": accounts_time(agent.created_at),
        "updated_at": accounts_time(agent.updated_at),
        # The spec calls the product key "productName"; "LiveChat" is our reading [UNVERIFIED].
        "properties": {
            "active": not agent.awaiting_approval,
            "mfa": agent.mfa,
            "LiveChat": {"suspended": agent.suspended},
            "avatar_url": agent.avatar,
        },
    }
    if with_roles:
        accounts_role = "owner" if agent.role == "owner" else "member"
        body["roles"] = [
            {
                "role_id": str(uuid.uuid5(_ROLE_NS, "accounts:" + accounts_role)),
                "product": "Accounts",
                "role": accounts_role,
                "type": "primary",
                "predefined": True,
            },
            {
                "role_id": str(uuid.uuid5(_ROLE_NS, "livechat:" + agent.role)),
                "product": "LiveChat",
                "role": agent.role,
                "type": "secondary",
                "predefined": True,
            },
        ]
    return body


def _target(rt: Emulator, requester: Requester, account_id: str) -> AgentRecord:
    if account_id == "me" or account_id == requester.agent.account_id:
        return requester.agent
    try:
        uuid.UUID(account_id)
    except ValueError:
        raise AccountsFault(422, "invalid_request", invalid_fields={"account_id": "invalid uuid"}) from None
    agent = rt.state.agent_by_account_id(account_id)
    if agent is None or agent.org_id != requester.agent.org_id:
        raise AccountsFault(
            404, "resource_not_found", extra={"resource_name": "account", "resource_id": account_id}
        )
    return agent


async def account(rt: Emulator, request: Request) -> Response:
    try:
        return await _account(rt, request)
    except AccountsFault as exc:
        return exc.response()


async def _account(rt: Emulator, request: Request) -> Response:
    requester = resolve_credentials(rt, request.headers.get("authorization"), rt.clock.now())
    if requester is None:
        raise AccountsFault(401, "unauthorized")
    agent = _target(rt, requester, request.path_params["account_id"])
    own = agent is requester.agent
    held = requester.scopes
    if request.method == "GET":
        if not scopes.has(held, "accounts--my:ro" if own else "accounts--all:ro"):
            raise insufficient_scope()
        return JSONResponse(account_json(rt, agent, with_roles=scopes.has(held, "accounts.roles--all:ro")))
    # The spec's PATCH /accounts/{account_id} lists `accounts--all:rw`, for `me` too
    # (https://platform.text.com/docs/authorization/global-accounts-api); `accounts--my:rw` is not
    # enough [UNVERIFIED whether LiveChat accepts it for `me`].
    if not scopes.has(held, "accounts--all:rw"):
        raise insufficient_scope()
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise AccountsFault(400, "bad_request", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise AccountsFault(400, "bad_request", "The request body must be a JSON object.")
    read_only = {k: "is read-only" for k in ("email", "roles", "account_id") if k in body}  # [UNVERIFIED]
    if read_only:
        raise AccountsFault(422, "invalid_request", invalid_fields=read_only)
    if "name" in body:
        name = body["name"]
        if not isinstance(name, str) or not name.strip():
            raise AccountsFault(422, "invalid_request", invalid_fields={"name": "is invalid"})
        if len(name) > 191:
            raise AccountsFault(422, "invalid_request", invalid_fields={"name": "value too long"})
        agent.name = name
        agent.updated_at = rt.clock.now()
    return JSONResponse(account_json(rt, agent, with_roles=scopes.has(held, "accounts.roles--all:ro")))
