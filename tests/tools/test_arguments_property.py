"""Strict, bounded arguments, proven over every tool with generated input (hypothesis): an argument
a tool does not take, a missing required one, or a value of the wrong type or out of range, is an
`is_error` result that names the argument the model sent (and, for unknown ones, the accepted
ones), is capped at `MAX_ERROR_CHARS` whatever the input, never shows a traceback or the
validator's internals, and the server keeps serving after every case.

Which generated values are invalid is decided by the tool's own argument model (the same model
the adapter validates with): the property is that every value it refuses comes back as a good
error, through the real MCP client and server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from mcp import Client
from pydantic import ValidationError

from mcp_livechat.sandbox import Sandbox
from mcp_livechat.server import create_server, selection_for
from mcp_livechat.tools.adapter import MAX_ERROR_CHARS, _Signature
from mcp_livechat.tools.catalogue import all_tools
from tests.conftest import sandbox_settings
from tests.helpers import fail

SETTINGS = {"toolsets": "all", "read_only": False}
INTERNALS = re.compile(
    r"Traceback|File \"|validation error for|errors\.pydantic\.dev|Arguments\b|\binternal error\b"
)


def _specs() -> dict[str, Any]:
    return {spec.name: spec for spec in selection_for(sandbox_settings(**SETTINGS)).enabled}


SPECS = _specs()
SIGNATURES = {name: _Signature(spec) for name, spec in SPECS.items()}
SCHEMAS = {name: sig.meta.arg_model.model_json_schema(by_alias=True) for name, sig in SIGNATURES.items()}


VALUES: dict[str, Any] = {"string": "PJ0MRSHTDG", "integer": 1, "boolean": True, "array": [], "object": {}}
FORMATS = {"date": "2026-11-01", "date-time": "2026-11-01T00:00:00Z"}


def _valid(prop: dict[str, Any]) -> Any:
    """A value the schema `prop` accepts (the first branch of an `anyOf`, a day for a date)."""
    if "enum" in prop:
        return prop["enum"][0]
    if "anyOf" in prop:
        return _valid(prop["anyOf"][0])
    if prop.get("format") in FORMATS:
        return FORMATS[prop["format"]]
    return VALUES.get(prop.get("type", "string"), "x")


def baseline(tool: str) -> dict[str, Any]:
    """Valid values for the required arguments (never sent as they are)."""
    schema = SCHEMAS[tool]
    return {name: _valid(schema["properties"][name]) for name in schema.get("required", [])}


def refused(tool: str, args: dict[str, Any]) -> bool:
    """Whether the tool's own argument model (or the adapter's unknown-name check) refuses `args`."""
    signature = SIGNATURES[tool]
    if any(k not in signature.accepted for k in args):
        return True
    try:
        signature.meta.arg_model.model_validate(signature.meta.pre_parse_json(args))
    except ValidationError:
        return True
    return False


def test_the_cases_cover_every_tool_from_a_valid_baseline() -> None:
    """Every tool is drawn from, and its baseline passes its own model (else a "value" or "unknown"
    case would be refused for the baseline, not for the argument it names)."""
    assert set(SPECS) == {spec.name for spec in all_tools()}
    assert [tool for tool in sorted(SPECS) if refused(tool, baseline(tool))] == []


# JSON values: no NaN or infinity (JSON has neither; a client serializes them as null, which is
# no bad value)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=300),
    lambda inner: st.lists(inner, max_size=30) | st.dictionaries(st.text(max_size=20), inner, max_size=8),
    max_leaves=60,
)  # fmt: skip


@st.composite
def bad_call(draw: st.DrawFn) -> tuple[str, dict[str, Any], str]:
    """(tool, arguments, the argument name the error must mention)."""
    tool = draw(st.sampled_from(sorted(SPECS)))
    args = baseline(tool)
    names = sorted(SIGNATURES[tool].accepted)
    how = draw(st.sampled_from(["value", "unknown", "missing"] if args else ["value", "unknown"]))
    if how == "unknown" or not names:
        typo = draw(st.sampled_from(names)) if names and draw(st.booleans()) else None
        key = typo[:-1] + "z" if typo else draw(st.text(min_size=1, max_size=80))
        if key in SIGNATURES[tool].accepted:
            key += "_"
        args[key] = draw(JSON)
        return tool, args, key
    if how == "missing":
        name = draw(st.sampled_from(sorted(args)))
        del args[name]
        return tool, args, name
    name = draw(st.sampled_from(names))
    args[name] = draw(JSON)
    return tool, args, name


@pytest.fixture
def live_client() -> Iterator[tuple[BlockingPortal, Client]]:
    """One server and client for all generated cases (a portal runs them on a private loop)."""
    sandbox = Sandbox()
    server, _ = create_server(sandbox_settings(**SETTINGS), transport=sandbox.transport())
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(Client(server, mode="legacy")) as client,
    ):
        yield portal, client


@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=bad_call())
def test_every_refused_argument_is_a_short_error_naming_it(
    live_client: tuple[BlockingPortal, Client], case: tuple[str, dict[str, Any], str]
) -> None:
    tool, args, name = case
    if not refused(tool, args):
        event("valid (not sent)")
        return  # a lucky valid value: nothing to prove here (and it would act in LiveChat)
    portal, client = live_client
    result = portal.call(client.call_tool, tool, args)
    assert result.is_error, (tool, args)
    text = result.content[0].text
    assert len(text) <= MAX_ERROR_CHARS
    assert not INTERNALS.search(text), text
    shown = name if len(name) <= 60 else name[:59]
    assert shown in text or json.dumps(shown)[1:-1] in text or repr(shown)[1:-1] in text, (name, text)
    if name not in SIGNATURES[tool].accepted:
        assert "It accepts:" in text and all(a in text for a in SIGNATURES[tool].accepted)


def test_the_server_keeps_serving_after_generated_garbage(live_client: tuple[BlockingPortal, Client]) -> None:
    portal, client = live_client
    for _ in range(3):
        portal.call(client.call_tool, "list_chats", {"limit": {"deep": [[[[["x"] * 50]]]]}, "x" * 5000: None})
    ok = portal.call(client.call_tool, "list_chats", {"limit": 2})
    assert not ok.is_error and len(ok.structured_content["chats"]) == 2  # type: ignore[index]


async def test_a_misspelled_argument_is_refused_by_name(connect: Any) -> None:
    async with connect() as client:
        text = await fail(client, "list_chats", {"limt": 1})
    assert (
        text
        == "list_chats does not take the argument(s) limt. It accepts: status, group_ids, limit, page_id."
    )


async def test_a_thousand_bad_values_make_a_short_error(connect: Any) -> None:
    async with connect() as client:
        many = await fail(
            client, "update_agent_profile", {"groups": [{"id": "x" * 100, "priority": 7}] * 1000}
        )
        unknown = await fail(
            client, "get_chat", {f"arg{i}": i for i in range(1000)} | {"chat_id": "PJ0MRSHTDG"}
        )
    assert len(many) <= MAX_ERROR_CHARS and "groups.0.id" in many and "more problem" in many
    assert len(unknown) <= MAX_ERROR_CHARS and "and 995 more" in unknown and "It accepts: chat_id" in unknown


async def test_errors_name_the_argument_the_model_sent_not_a_livechat_field(connect: Any) -> None:
    async with connect() as client:
        customer = await fail(client, "update_customer", {"customer_id": "not-a-uuid", "name": "Ann"})
        group = await fail(client, "list_chats", {"group_ids": [-1]})
    assert customer.startswith("customer_id 'not-a-uuid' is not a customer id") and "`id`" not in customer
    assert "group_ids.0" in group
