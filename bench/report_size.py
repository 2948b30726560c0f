"""What a 31-day daily `chat_report` costs the model, against LiveChat's raw report JSON.

    .venv/bin/python bench/report_size.py

For every metric, on the seeded sandbox (2026-10-15 to 2026-11-14, UTC): the bytes of our
result's text; the raw report as the sandbox sends it (compact), and as a bare `MCPServer` tool
that returns LiveChat's report unchanged puts it before the model (the SDK writes a returned dict
as JSON with a 2-space indent, the way LiveChat's documentation prints its examples); and, for
comparison, our result without the period label
in each row (what a table whose rows are implied by `from` and the distribution would cost); and
the floor: only the fields the issue requires (metric, from, to, timezone, total, buckets, a
16-character meaning), the buckets as one unlabelled series per column, no summary.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2
from benchkit import compact
from mcp import Client
from mcp.server import MCPServer

from mcp_livechat.cli import sandbox_settings
from mcp_livechat.config import load_settings
from mcp_livechat.livechat.reports import CHATS_REPORTS
from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.server import create_server

BASE = "http://sandbox.invalid"
RANGE = {"date_from": "2026-10-15", "date_to": "2026-11-14"}
BODY = {
    "distribution": "day",
    "timezone": "UTC",
    "filters": {"from": "2026-10-15T00:00:00+00:00", "to": "2026-11-14T23:59:59.999999+00:00"},
}


async def main() -> None:
    sb = Sandbox()
    settings = sandbox_settings(load_settings(toolsets="reports"), BASE)
    server, _ = create_server(settings, transport=sb.transport())
    bare = MCPServer("passthrough", log_level="WARNING")

    @bare.tool()
    async def raw_report(metric: str) -> dict[str, Any]:
        """A LiveChat chats report, as LiveChat answers it."""
        answer = await http.post(f"/v3.6/reports/chats/{metric}", json=_body(metric),
                                 auth=(constants.ACCOUNT_ID, constants.PAT))  # fmt: skip
        return answer.json()  # type: ignore[no-any-return]

    print(
        "| metric | ours | raw compact | ratio | raw through a bare MCPServer tool | ratio | ours without period labels "
        "| floor (required fields, unlabelled series) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    http = httpx2.AsyncClient(transport=sb.transport(), base_url=BASE)
    async with Client(server) as client, Client(bare) as passthrough, http:
        for metric in CHATS_REPORTS:
            result = await client.call_tool("chat_report", {"metric": metric, **RANGE})
            ours = len(result.content[0].text.encode())  # type: ignore[union-attr]
            data = result.structured_content or {}
            unlabelled = {**data, "buckets": [row[1:] for row in data["buckets"]]}
            raw = await http.post(f"/v3.6/reports/chats/{metric}", json=_body(metric),
                                  auth=(constants.ACCOUNT_ID, constants.PAT))  # fmt: skip
            through = await passthrough.call_tool("raw_report", {"metric": metric})
            indented = len(through.content[0].text.encode())  # type: ignore[union-attr]
            assert json.loads(through.content[0].text) == raw.json()  # type: ignore[union-attr]
            lean = compact(unlabelled) if metric != "ranking" else ours
            least = _floor(data) if metric != "ranking" else ours
            print(
                f"| {metric} | {ours} B | {len(raw.content)} B | {ours / len(raw.content):.2f} | "
                f"{indented} B | {ours / indented:.2f} | {lean} B ({lean / len(raw.content):.2f}) | "
                f"{least} B ({least / len(raw.content):.2f}) |"
            )


def _body(metric: str) -> dict[str, object]:
    """The request body: a ranking has no distribution."""
    return {k: v for k, v in BODY.items() if metric != "ranking" or k != "distribution"}


def _floor(data: dict[str, object]) -> int:
    columns = data["columns"][1:]  # type: ignore[index]
    rows = data["buckets"]
    series = {name: [row[i + 1] for row in rows] for i, name in enumerate(columns)}  # type: ignore[attr-defined]
    floor = {
        "metric": data["metric"],
        "from": RANGE["date_from"],
        "to": RANGE["date_to"],
        "timezone": data["timezone"],
        "total": data.get("total"),
        "meaning": "x" * 16,
        "buckets": series if len(series) > 1 else next(iter(series.values())),
    }
    return compact(floor)


if __name__ == "__main__":
    asyncio.run(main())
