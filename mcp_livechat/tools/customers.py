"""Toolset `customers`: look a customer up, correct their details."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field

from mcp_livechat import models as m
from mcp_livechat.errors import LiveChatError, UserInputError
from mcp_livechat.livechat import types as lc
from mcp_livechat.tools import delivery, project
from mcp_livechat.tools.args import Stripped
from mcp_livechat.tools.context import ToolContext
from mcp_livechat.tools.spec import ToolSpec, tool

CustomerId = Annotated[
    str,
    Stripped,
    Field(min_length=1, max_length=64, description="Customer id (a UUID)"),
]

_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
# update_customer's `id`: "The UUID v4 format is required."
# (https://platform.text.com/docs/messaging/agent-chat-api#update-customer)
_UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@tool(
    toolset="customers",
    title="Look up a customer",
    read_only=True,
    destructive=False,
    idempotent=True,
    open_world=True,
)
async def get_customer(tc: ToolContext, customer_id: CustomerId) -> m.Customer:
    """A customer's profile: contact, location, visit statistics, last pages, session fields, chat
    ids."""
    return project.customer(await tc.livechat.agent.get_customer(customer_id))


@tool(
    toolset="customers",
    title="Update a customer",
    read_only=False,
    destructive=True,
    idempotent=True,
    open_world=True,
)
async def update_customer(
    tc: ToolContext,
    customer_id: CustomerId,
    # No length limits here: update_customer documents none (its name and email are strings), so
    # LiveChat judges them (the 191 / 128 of the Global Accounts API are agents' accounts').
    name: Annotated[str | None, Field(min_length=1)] = None,
    email: str | None = None,
    phone_number: Annotated[str | None, Field(description="E.164, e.g. +18008529001")] = None,
    session_fields: Annotated[
        dict[str, str] | None, Field(description='Replaces all session fields, e.g. {"plan": "pro"}')
    ] = None,
) -> m.CustomerUpdated:
    """Correct a customer's name, e-mail, phone or session fields (at least one). Returns the
    profile after."""
    if not _UUID4.match(customer_id):
        raise UserInputError(
            f"customer_id {customer_id[:64]!r} is not a customer id: LiveChat's are UUIDs (version 4), e.g. "
            "the customer.id of a chat, or one found with search_archives",
            argument="customer_id",
        )
    if email is not None and not _EMAIL.match(email):
        raise UserInputError(f"email {email[:60]!r} is not an email address", argument="email")
    if phone_number is not None and not _E164.match(phone_number):
        raise UserInputError(
            f"phone_number {phone_number[:30]!r} must be in E.164 form: + then country code and number, "
            "no spaces (e.g. +18008529001)",
            argument="phone_number",
        )
    changes = {"name": name, "email": email, "phone_number": phone_number, "session_fields": session_fields}
    changed = [k for k, v in changes.items() if v is not None]
    if not changed:
        raise UserInputError("give at least one of name, email, phone_number, session_fields")
    agent = tc.livechat.agent
    fields = [{k: v} for k, v in session_fields.items()] if session_fields is not None else None
    try:
        await agent.update_customer(
            customer_id, name=name, email=email, phone_number=phone_number, session_fields=fields
        )
    except LiveChatError as exc:
        read: list[lc.Customer] = []

        async def updated() -> bool:  # an answer that cannot be read: the profile says whether it took
            read.append(await agent.get_customer(customer_id))
            return _shows(read[-1], {**changes, "session_fields": fields})

        await delivery.confirm_by_reading(exc, updated)
        customer = read[-1]
    else:
        customer = await agent.get_customer(customer_id)
    return m.CustomerUpdated(customer=project.customer(customer), changed=changed)


def _shows(customer: lc.Customer, changes: dict[str, Any]) -> bool:
    """Whether the profile read back (https://platform.text.com/docs/messaging/agent-chat-api#get-customer)
    holds every change asked for, as sent (#update-customer): the session fields exactly, in order
    ("Respects the order of items"), since they replace the old ones."""
    now = {"name": customer.name, "email": customer.email, "phone_number": customer.phone_number,
           "session_fields": customer.session_fields}  # fmt: skip
    return all(now[k] == v for k, v in changes.items() if v is not None)


TOOLS: tuple[ToolSpec, ...] = (
    get_customer,
    update_customer,
)
