"""The public contract: the `tools/list` snapshot, registry rules, and tool selection policy.

Update the snapshot deliberately with `UPDATE_SNAPSHOTS=1 pytest tests/tools/test_catalogue.py`;
every change to what the model sees is then a reviewed diff of `snapshots/tools_list.json`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import MCPError

from mcp_livechat.errors import ConfigurationError
from mcp_livechat.tools.catalogue import ALL_TOOLS
from mcp_livechat.tools.spec import TOOLSETS, select

SNAPSHOT = Path(__file__).parent / "snapshots" / "tools_list.json"
SPEC_TOOLS = {
    "list_chats", "get_chat", "search_archives", "send_message", "transfer_chat", "close_chat",
    "tag_thread", "untag_thread", "get_customer", "update_customer", "get_my_profile", "list_agents",
    "get_agent", "update_agent_profile", "set_routing_status", "list_routing_statuses", "list_groups",
    "list_tags", "get_connection_status", "connect_livechat", "disconnect_livechat",
    "search", "fetch", "list_threads", "list_waiting_chats",
}  # fmt: skip
OPT_IN_TOOLS = {
    "join_chat", "leave_chat", "follow_chat", "unfollow_chat", "list_agents_for_transfer",
    "create_tag", "delete_tag", "ban_customer", "list_customer_bans", "unban_customer",
}  # fmt: skip


def _wire(tools: list[Any]) -> list[dict[str, Any]]:
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]


async def test_tools_list_matches_the_snapshot(connect: Callable[..., Any]) -> None:
    """Every tool of every toolset (the default selection is checked by name below)."""
    async with connect(toolsets="all") as client:
        listed = _wire((await client.list_tools()).tools)
    current = json.dumps(listed, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or (not SNAPSHOT.exists() and not os.environ.get("CI")):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(current)
    assert SNAPSHOT.exists(), (
        "the tools/list snapshot is missing (CI never writes it): run UPDATE_SNAPSHOTS=1"
    )
    assert current == SNAPSHOT.read_text(), "tools/list changed: review, then UPDATE_SNAPSHOTS=1 to accept"


async def test_every_spec_tool_is_listed(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert names == SPEC_TOOLS


def test_declaration_rules() -> None:
    names = [spec.name for spec in ALL_TOOLS]
    assert len(names) == len(set(names))
    assert set(names) == SPEC_TOOLS | OPT_IN_TOOLS | {s.name for s in ALL_TOOLS if s.toolset == "reports"}
    for spec in ALL_TOOLS:
        name = spec.name
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", name), f"{name}: not verb_noun"
        assert spec.toolset in TOOLSETS
        assert spec.fn.__module__ == f"mcp_livechat.tools.{spec.toolset}", (
            f"{name}: module is not its toolset"
        )
        assert 40 <= len(spec.description) <= 1024, f"{name}: description length {len(spec.description)}"
        assert spec.title and spec.title[0].isupper()
        assert not (spec.read_only and spec.destructive), f"{name}: read-only and destructive"
        assert not spec.read_only or spec.idempotent, f"{name}: a read is idempotent"


def test_a_declaration_without_every_hint_is_a_type_error(tmp_path: Path) -> None:
    """`@tool` has no defaults for the hints: mypy rejects a declaration that leaves one out."""
    from mypy import api

    source = tmp_path / "partial_tool.py"
    source.write_text(
        "from pydantic import BaseModel\n"
        "from mcp_livechat.tools.spec import tool\n\n\n"
        "class Out(BaseModel):\n    ok: bool\n\n\n"
        '@tool(toolset="chats", title="Partial", read_only=True, destructive=False, idempotent=True)\n'
        "async def partial(tc: object) -> Out:\n    return Out(ok=True)\n"
    )
    stdout, _, status = api.run(
        ["--no-incremental", "--follow-imports=silent", "--ignore-missing-imports", str(source)]
    )
    assert status != 0 and 'Missing named argument "open_world"' in stdout, stdout


async def test_all_four_hints_reach_the_wire(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        for tool in _wire((await client.list_tools()).tools):
            assert set(tool["annotations"]) >= {
                "readOnlyHint",
                "destructiveHint",
                "idempotentHint",
                "openWorldHint",
            }
            assert tool["outputSchema"]["type"] == "object"
            assert not _schema_titles(tool["inputSchema"]), f"{tool['name']}: auto titles left in the schema"


def _schema_titles(node: Any, in_properties: bool = False) -> list[str]:
    """Schema-keyword `title`s (not properties named title) anywhere in a JSON schema."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "title" and not in_properties:
                found.append(str(value))
            found += _schema_titles(value, key in ("properties", "$defs"))
    elif isinstance(node, list):
        for item in node:
            found += _schema_titles(item)
    return found


async def test_read_only_hides_and_refuses_writes(connect: Callable[..., Any]) -> None:
    writes = {s.name for s in ALL_TOOLS if not s.read_only}
    assert {"send_message", "close_chat", "update_agent_profile"} <= writes
    async with connect(read_only=True) as client:
        listed = {t.name for t in (await client.list_tools()).tools}
        assert listed and not listed & writes
        with pytest.raises(MCPError) as refused:  # not in tools/list: an unknown tool, -32602, with why
            await client.call_tool("close_chat", {"chat_id": "PJ0MRSHTDG"})
        assert refused.value.code == -32602
        assert "not available" in refused.value.message and "read-only" in refused.value.message
        ok = await client.call_tool("list_groups", {})
        assert not ok.is_error  # the server keeps serving


async def test_exclude_and_toolsets(connect: Callable[..., Any]) -> None:
    async with connect(
        toolsets="customers,account", tools="get_chat", exclude_tools="update_customer"
    ) as client:
        listed = {t.name for t in (await client.list_tools()).tools}
        with pytest.raises(MCPError) as refused:
            await client.call_tool("update_customer", {"customer_id": "x", "name": "y"})
        with pytest.raises(MCPError) as hidden:
            await client.call_tool("list_chats", {})
    assert listed == {"get_customer", "get_chat", "list_groups", "list_tags", "get_connection_status",
                      "connect_livechat", "disconnect_livechat"}  # fmt: skip
    assert refused.value.code == -32602 and "LIVECHAT_EXCLUDE_TOOLS" in refused.value.message
    assert hidden.value.code == -32602 and "toolset" in hidden.value.message
    data = hidden.value.error.data
    assert data["tool"] == "list_chats" and "LIVECHAT_TOOLSETS" in data["reason"]


def test_unknown_names_stop_the_start() -> None:
    specs = ALL_TOOLS
    with pytest.raises(ConfigurationError, match=r"LIVECHAT_TOOLS: unknown tool.*list_chatz"):
        select(specs, tools=["list_chatz"])
    with pytest.raises(ConfigurationError, match=r"LIVECHAT_TOOLSETS: unknown toolset.*chat\b"):
        select(specs, toolsets=["chat"])
    with pytest.raises(ConfigurationError, match="LIVECHAT_EXCLUDE_TOOLS"):
        select(specs, exclude=["nope"])


def test_exclude_and_read_only_win_over_tools() -> None:
    chosen = select(ALL_TOOLS, tools=["send_message", "get_chat"], exclude=["get_chat"], read_only=True)
    assert [s.name for s in chosen.enabled] == []
    assert "read-only" in chosen.hidden["send_message"] and "EXCLUDE" in chosen.hidden["get_chat"]


def test_the_bundle_manifest_matches_the_catalogue() -> None:
    from mcp_livechat.version import __version__

    manifest = json.loads((Path(__file__).parents[2] / "manifest.json").read_text())
    assert manifest["manifest_version"] == "0.4" and manifest["version"] == __version__
    assert {"name", "version", "description", "author", "server"} <= set(manifest)
    assert [(t["name"], t["description"]) for t in manifest["tools"]] == [
        (s.name, s.description) for s in ALL_TOOLS
    ]  # every toolset; the toolset choice is in user_config
    assert "${user_config.toolsets}" in manifest["server"]["mcp_config"]["env"].values()
    server = manifest["server"]
    # the rule: the manifest lists every tool the server can offer (all toolsets); the bundle's
    # `toolsets` setting (LIVECHAT_TOOLSETS) chooses which are offered, the default ones when empty
    assert {t["name"] for t in manifest["tools"]} == {spec.name for spec in ALL_TOOLS}
    assert server["mcp_config"]["env"]["LIVECHAT_TOOLSETS"] == "${user_config.toolsets}"
    assert server["type"] == "uv" and (Path(__file__).parents[2] / server["entry_point"]).exists()
    referenced = {v.split(".", 1)[1].rstrip("}") for v in server["mcp_config"]["env"].values()}
    assert referenced == set(manifest["user_config"])
    assert manifest["user_config"]["pat"]["sensitive"] is True
    for name in server["mcp_config"]["env"]:
        assert name.startswith("LIVECHAT_")


def _bytes(tools: list[dict[str, Any]]) -> int:
    listed = [{k: v for k, v in t.items() if k != "outputSchema"} for t in tools]
    return len(json.dumps(listed, separators=(",", ":"), ensure_ascii=False).encode())


async def test_the_catalogue_stays_within_the_context_budget(connect: Callable[..., Any]) -> None:
    """The default selection at most 16,000 B of compact tools/list (no outputSchema), every toolset
    together at most 700 B per tool (the figures bench/catalogue_size.py prints)."""
    async with connect() as client:
        default = _wire((await client.list_tools()).tools)
    async with connect(toolsets="all") as client:
        everything = _wire((await client.list_tools()).tools)
    assert _bytes(default) <= 16_000, _bytes(default)
    assert _bytes(everything) / len(everything) <= 700, _bytes(everything) / len(everything)


def test_the_precomputed_schemas_are_current() -> None:
    """`tools/schemas.json` (what a start-up reads instead of generating) equals a fresh generation
    for every tool, and its key matches this checkout; UPDATE_SNAPSHOTS=1 rewrites it."""
    from mcp_livechat.tools import schemas
    from mcp_livechat.tools.adapter import tool_schemas

    current = schemas.render({spec.name: tool_schemas(spec) for spec in ALL_TOOLS})
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or (not schemas.FILE.exists() and not os.environ.get("CI")):
        schemas.FILE.write_text(current)
    assert schemas.FILE.exists(), "tools/schemas.json is missing: run UPDATE_SNAPSHOTS=1"
    assert current == schemas.FILE.read_text(), "tool schemas changed: UPDATE_SNAPSHOTS=1 regenerates them"
    loaded = schemas.load()
    assert set(loaded) == {spec.name for spec in ALL_TOOLS}


async def test_precomputed_and_generated_schemas_list_the_same(
    connect: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Byte for byte, in order (argument order is what a model reads first)."""
    from mcp_livechat.tools import schemas

    async with connect(toolsets="all") as client:
        shipped = json.dumps(_wire((await client.list_tools()).tools))
    monkeypatch.setattr(schemas, "load", dict)  # as if the file did not match: generate everything
    async with connect(toolsets="all") as client:
        generated = json.dumps(_wire((await client.list_tools()).tools))
    assert shipped == generated
