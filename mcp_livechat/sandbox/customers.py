"""Agent Chat Web API v3.6 update_customer."""

from __future__ import annotations

import re

from .apiauth import Ctx
from .errors import WebApiFault, validation
from .model import JSON
from .validate import optional_obj, optional_str, require_str

UPDATABLE = ("name", "email", "avatar", "phone_number", "session_fields", "omnichannel", "address")
ADDRESS_KEYS = ("address", "city", "country", "state", "postal_code")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_URL = re.compile(r"^https?://[^\s/$.?#].[^\s]*$", re.IGNORECASE)
_UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE)


def _session_fields(value: object) -> list[dict[str, str]]:
    """update_customer's ``session_fields``: "An array of custom object-enclosed key-value pairs.
    Respects the order of items."
    (https://platform.text.com/docs/messaging/agent-chat-api#update-customer). Ours [UNVERIFIED]:
    at most 100 items, one non-empty key per item, string values only; the list
    replaces the customer's."""
    if not isinstance(value, list) or len(value) > 100:
        raise validation("`session_fields` must be an array of at most 100 objects")
    out = []
    for item in value:
        if not isinstance(item, dict) or len(item) != 1:
            raise validation("`session_fields` items must be objects with exactly one key")
        key, field_value = next(iter(item.items()))
        if not isinstance(field_value, str) or not key:
            raise validation("`session_fields` values must be strings")
        out.append({str(key): field_value})
    return out


def update_customer(ctx: Ctx, body: JSON) -> JSON:
    ctx.require("customers:rw")
    customer_id = require_str(body, "id")
    if not _UUID4.match(customer_id):
        raise validation("`id` must be a UUID v4")  # documented: "UUID v4 format is required"
    if not any(body.get(k) is not None for k in UPDATABLE):
        raise validation("At least one of `" + "`, `".join(UPDATABLE) + "` is required")  # [UNVERIFIED]
    name = optional_str(body, "name")
    if name is not None and not 1 <= len(name) <= 255:
        raise validation("`name` must be 1-255 characters long")  # [UNVERIFIED] limit and wording
    email = optional_str(body, "email")
    if email is not None and (len(email) > 254 or not _EMAIL.match(email)):
        raise validation("`email` must be a valid email address")  # [UNVERIFIED] limit and wording
    avatar = optional_str(body, "avatar")
    if avatar is not None and not _URL.match(avatar):
        raise validation("`avatar` must be a URL")
    phone = optional_str(body, "phone_number")
    if phone is not None and not _E164.match(phone):
        raise validation("`phone_number` must be in E.164 format, e.g. +14155550100")
    fields = _session_fields(body["session_fields"]) if body.get("session_fields") is not None else None
    address = optional_obj(body, "address")
    for key, value in address.items():
        if key not in ADDRESS_KEYS or not isinstance(value, str):
            raise validation(f"`address` accepts only string fields: {', '.join(ADDRESS_KEYS)}")
    omnichannel = optional_obj(body, "omnichannel")
    customer = ctx.state.org_customer(ctx.org_id, customer_id)
    if customer is None:
        raise WebApiFault("not_found", "Customer not found")
    if name is not None:
        customer.name = name
    if email is not None:
        customer.email = email
    if avatar is not None:
        customer.avatar = avatar
    if phone is not None:
        customer.phone_number = phone
    if fields is not None:
        customer.session_fields = fields
    if address:
        customer.address = {k: str(v) for k, v in address.items()}
    if omnichannel:
        customer.omnichannel = omnichannel
    return {}
