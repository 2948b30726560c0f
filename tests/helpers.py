"""Helpers shared by the tool tests (imported, never collected)."""

from __future__ import annotations

import json
from typing import Any


async def call(client: Any, name: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, args)
    text = result.content[0].text if result.content else ""
    assert not result.is_error, f"{name} failed: {text}"
    data = result.structured_content
    assert data is not None
    # the text is the same data as compact JSON: no whitespace between tokens, no nulls
    assert text == json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    assert ":null" not in text
    return data


async def fail(client: Any, name: str, args: dict[str, Any]) -> str:
    result = await client.call_tool(name, args)
    assert result.is_error, f"{name} should have failed"
    return str(result.content[0].text)


async def raw_report(sandbox: Any, sent: Any) -> bytes:
    """LiveChat's raw answer to a recorded request (a `Sent`), replayed against `sandbox` as is."""
    import httpx2

    async with httpx2.AsyncClient(transport=sandbox.transport(), base_url="http://sandbox.test") as http:
        response = await http.request(
            sent.method, sent.path, json=sent.body, headers={"Authorization": sent.headers["authorization"]}
        )
    assert response.status_code == 200, response.text
    return response.content
