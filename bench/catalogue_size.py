"""How much of a model's context the tool catalogue and a typical result cost.

    .venv/bin/python bench/catalogue_size.py

Measures (1) the compact `tools/list` JSON (no nulls, no whitespace) of the full catalogue, in
total and per tool, with and without `outputSchema`; (2) for one 25-chat `list_chats` page, the
bytes of our result's text against the raw LiveChat JSON of the same page.
"""

from __future__ import annotations

import asyncio

import httpx2
from benchkit import compact
from mcp import Client

from mcp_livechat.cli import sandbox_settings
from mcp_livechat.config import load_settings
from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.server import create_server

BASE = "http://sandbox.invalid"


DEFAULT_BUDGET = 16_000  # bytes of the default selection's tools/list without outputSchema
PER_TOOL_BUDGET = 700  # bytes per tool, every toolset together


async def listed(sb: Sandbox, **selection: str) -> list[dict[str, object]]:
    server, _ = create_server(sandbox_settings(load_settings(**selection), BASE), transport=sb.transport())
    async with Client(server) as client:
        return [
            t.model_dump(mode="json", by_alias=True, exclude_none=True)
            for t in (await client.list_tools()).tools
        ]


def without_output(tools: list[dict[str, object]]) -> int:
    return compact([{k: v for k, v in t.items() if k != "outputSchema"} for t in tools])


async def main() -> None:
    sb = Sandbox()
    default, everything = await listed(sb), await listed(sb, toolsets="all")
    d, a = without_output(default), without_output(everything)
    print(
        f"default selection, {len(default)} tools: {d} B without outputSchema "
        f"(budget {DEFAULT_BUDGET}: {'ok' if d <= DEFAULT_BUDGET else 'OVER'}), {compact(default)} B with it"
    )
    print(
        f"every toolset, {len(everything)} tools: {a} B without outputSchema, {a / len(everything):.0f} B/tool "
        f"(budget {PER_TOOL_BUDGET}: {'ok' if a / len(everything) <= PER_TOOL_BUDGET else 'OVER'}), "
        f"{compact(everything)} B with it ({compact(everything) / len(everything):.0f} B/tool)"
    )
    biggest = sorted(everything, key=lambda t: -without_output([t]))[:3]
    print("largest without outputSchema:", ", ".join(f"{t['name']} {without_output([t])} B" for t in biggest))
    server, _ = create_server(sandbox_settings(load_settings(), BASE), transport=sb.transport())
    async with Client(server) as client:
        result = await client.call_tool("list_chats", {"status": "any", "limit": 25})
        ours = len(result.content[0].text.encode())  # type: ignore[union-attr]
    async with httpx2.AsyncClient(transport=sb.transport(), base_url=BASE) as http:
        raw = await http.post(
            "/v3.6/agent/action/list_chats",
            json={"limit": 25},
            auth=(constants.ACCOUNT_ID, constants.PAT),
        )
    raw_bytes = len(raw.content)
    print(
        f"list_chats, 25 chats: ours {ours} B, raw LiveChat JSON {raw_bytes} B, ratio 1/{raw_bytes / ours:.1f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
