"""Progress notifications of `list_waiting_chats` (one per page of active chats it scans) through
the SDK client's `progress_callback`, in both protocol eras."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from mcp_livechat.sandbox import Sandbox
from mcp_livechat.tools import chats

Progress = list[tuple[float, float | None, str | None]]


async def _waiting_with_progress(connect: Callable[..., Any]) -> tuple[dict[str, Any], Progress]:
    progress: Progress = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with connect() as client:
        result = await client.call_tool("list_waiting_chats", {}, progress_callback=on_progress)
    assert not result.is_error
    assert result.structured_content is not None
    return result.structured_content, progress


def _assert_well_formed(progress: Progress, scanned: int) -> None:
    assert progress, "no progress notification"
    done = [p[0] for p in progress]
    assert done == sorted(done)  # never goes back
    totals = {p[1] for p in progress}
    assert len(totals) == 1  # one total (or none) for the whole call
    final_done, total, final_message = progress[-1]
    if total is not None:
        assert final_done == total
    assert final_message is not None
    assert re.fullmatch(rf"scanned {scanned} active chats", final_message)


async def test_list_waiting_chats_reports_progress(connect: Callable[..., Any], sandbox: Sandbox) -> None:
    result, progress = await _waiting_with_progress(connect)
    _assert_well_formed(progress, result["scanned"])
    assert len(progress) == sandbox.stats.requests["list_chats"]  # one per page


async def test_list_waiting_chats_reports_each_page(
    connect: Callable[..., Any], sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chats, "WAITING_PAGE_SIZE", 7)
    result, progress = await _waiting_with_progress(connect)
    pages = sandbox.stats.requests["list_chats"]
    assert pages >= 3
    _assert_well_formed(progress, result["scanned"])
    assert [p[0] for p in progress] == list(range(1, pages + 1))
    scanned = [int(re.findall(r"\d+", str(p[2]))[0]) for p in progress]
    assert scanned == sorted(scanned) and len(set(scanned)) == pages  # each page adds its chats
