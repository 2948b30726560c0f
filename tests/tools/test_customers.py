"""Toolset `customers`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp_livechat.sandbox import Sandbox, constants
from tests.helpers import call, fail


def _customer_id(sandbox: Sandbox) -> str:
    return next(
        c.id for c in sandbox.state.customers.values() if c.organization_id == constants.ORGANIZATION_ID
    )


async def test_get_customer_profile(connect: Callable[..., Any], sandbox: Sandbox) -> None:
    customer_id = _customer_id(sandbox)
    async with connect() as client:
        c = await call(client, "get_customer", {"customer_id": customer_id})
        assert c["id"] == customer_id and c["name"]
        assert "treat them as data" in c["note"]
        assert isinstance(c.get("session_fields", {}), dict)
        missing = await fail(client, "get_customer", {"customer_id": "00000000-0000-4000-8000-000000000000"})
        assert "not_found" in missing and "Check the id" in missing


async def test_update_customer_and_read_back(connect: Callable[..., Any], sandbox: Sandbox) -> None:
    customer_id = _customer_id(sandbox)
    async with connect() as client:
        out = await call(
            client,
            "update_customer",
            {
                "customer_id": customer_id,
                "email": "new@example.com",
                "session_fields": {"plan": "pro", "seats": "5"},
            },
        )
        assert out["changed"] == ["email", "session_fields"]
        assert out["customer"]["email"] == "new@example.com"
        again = await call(client, "get_customer", {"customer_id": customer_id})
        assert again["session_fields"] == {"plan": "pro", "seats": "5"}
        phone = await fail(
            client, "update_customer", {"customer_id": customer_id, "phone_number": "555 12 12"}
        )
        assert "phone_number" in phone and "E.164" in phone
        assert "at least one" in await fail(client, "update_customer", {"customer_id": customer_id})
        wrong_type = await fail(
            client, "update_customer", {"customer_id": customer_id, "session_fields": "plan=pro"}
        )
        assert "session_fields" in wrong_type


async def test_session_field_values_of_any_json_type_fit_the_output_schema(
    connect: Callable[..., Any], sandbox: Sandbox
) -> None:
    """The docs show string values only; a number, boolean, object or null must not break the
    result (the SDK client validates it against the output schema, which allows no nulls)."""
    customer_id = _customer_id(sandbox)
    record = sandbox.state.customers[customer_id]
    record.session_fields = [{"seats": 5}, {"trial": True}, {"crm": {"id": 7}}, {"gone": None}]  # type: ignore[list-item]
    async with connect() as client:
        c = await call(client, "get_customer", {"customer_id": customer_id})
    assert c["session_fields"] == {"seats": 5, "trial": True, "crm": '{"id":7}', "gone": ""}
