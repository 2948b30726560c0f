"""`/metrics` over a real loopback port: the counts of a test run's calls, LiveChat requests and
errors, token refreshes and grant states, parsed with prometheus_client's own parser; no label
that names a person; off with LIVECHAT_METRICS=false; never loaded by a stdio start."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from prometheus_client.parser import text_string_to_metric_families

from mcp_livechat.connect.identity import LOCAL
from mcp_livechat.sandbox import Sandbox, constants
from tests.conftest import sandbox_settings
from tests.connect.flow_kit import oauth_settings, sandbox_on_port, serving, stored_token


async def scrape(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of `/metrics`: (name, sorted labels) -> value."""
    async with httpx2.AsyncClient() as web:
        response = await web.get(f"{base}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_the_calls_of_a_run(sandbox: Sandbox) -> None:
    async with serving(sandbox_settings(), sandbox.transport()) as (base, _), Client(f"{base}/mcp") as client:
        for _ in range(3):
            assert not (await client.call_tool("list_chats", {"limit": 2})).is_error
        assert (await client.call_tool("get_chat", {"chat_id": "NOPE0000"})).is_error  # LiveChat: not found
        assert (await client.call_tool("get_chat", {"chat": "x"})).is_error  # refused before LiveChat
        sandbox.faults.add("server_error", count=3, methods=["list_groups"])
        assert (await client.call_tool("list_groups", {})).is_error  # LiveChat's own trouble
        samples = await scrape(base)
    assert value(samples, "mcp_livechat_tool_calls_total", tool="list_chats", outcome="ok") == 3
    # the model's to fix (a wrong id, a wrong argument) apart from LiveChat failing
    assert value(samples, "mcp_livechat_tool_calls_total", tool="get_chat", outcome="refused") == 2
    assert value(samples, "mcp_livechat_tool_calls_total", tool="list_groups", outcome="error") == 1
    refused = value(samples, "mcp_livechat_livechat_requests_total", api="agent", method="get_chat",
                    outcome="refused")  # fmt: skip
    failing = value(samples, "mcp_livechat_livechat_requests_total", api="configuration",
                    method="list_groups", outcome="error")  # fmt: skip
    assert refused == 1 and failing == 3  # every attempt: the transport retries a read
    assert value(samples, "mcp_livechat_tool_call_seconds_count", tool="list_chats") == 3
    assert value(samples, "mcp_livechat_tool_call_seconds_sum", tool="list_chats") > 0
    sent = value(
        samples, "mcp_livechat_livechat_requests_total", api="agent", method="list_chats", outcome="ok"
    )
    assert sent == sandbox.stats.requests["list_chats"] == 3
    failed = sum(
        v for (name, labels), v in samples.items()
        if name == "mcp_livechat_livechat_requests_total" and dict(labels)["outcome"] in ("error", "refused")
    )  # fmt: skip
    errors = sum(v for (name, _), v in samples.items() if name == "mcp_livechat_livechat_errors_total")
    assert failed == errors >= 1
    assert any(name == "process_cpu_seconds_total" for name, _ in samples)  # the process defaults
    assert any(name.startswith("python_gc_") for name, _ in samples)
    label_names = {k for _, labels in samples for k, _ in labels}
    assert not label_names & {"tenant", "user", "principal", "email", "account_id", "chat_id"}


async def test_refreshes_not_connected_calls_and_grant_states_are_counted(tmp_path: Path) -> None:
    async with sandbox_on_port() as (sb, sandbox_base, _, _):
        settings = oauth_settings(sandbox_base, tmp_path)
        async with serving(settings) as (base, runtime), Client(f"{base}/mcp") as client:
            unconnected = await client.call_tool("list_groups", {})
            assert runtime.store is not None
            minted = sb.mint_token(constants.AGENT_EMAIL)
            await runtime.store.put(LOCAL, stored_token(minted, expires_at=time.time() - 60))  # expired
            assert not (await client.call_tool("list_groups", {})).is_error  # refreshed first
            assert runtime.monitor is not None
            await runtime.monitor.sweep()
            samples = await scrape(base)
    assert unconnected.is_error and "/connect/" in unconnected.content[0].text  # type: ignore[union-attr]
    assert value(samples, "mcp_livechat_tool_calls_total", tool="list_groups", outcome="not_connected") == 1
    assert value(samples, "mcp_livechat_tool_calls_total", tool="list_groups", outcome="ok") == 1
    assert value(samples, "mcp_livechat_token_refreshes_total", outcome="ok") == 1 == sb.stats.token_refreshed
    token_calls = value(
        samples, "mcp_livechat_livechat_requests_total", api="accounts", method="POST /v2/token", outcome="ok"
    )
    assert token_calls == 1
    info = value(
        samples, "mcp_livechat_livechat_requests_total", api="accounts", method="GET /v2/info", outcome="ok"
    )
    assert info == sb.stats.requests["info"] == 1  # the sweep's check
    assert value(samples, "mcp_livechat_connections", state="connected") == 1
    assert value(samples, "mcp_livechat_connections", state="needs_reconnect") == 0


async def test_metrics_can_be_turned_off(sandbox: Sandbox) -> None:
    off = sandbox_settings(metrics=False)
    async with serving(off, sandbox.transport()) as (base, runtime), httpx2.AsyncClient() as web:
        assert (await web.get(f"{base}/metrics")).status_code == 404
        assert (await web.get(f"{base}/healthz")).status_code == 200
    assert runtime.metrics is None


def test_a_stdio_start_does_not_load_prometheus_client() -> None:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mcp_livechat", "serve", "--sandbox"],
        input="", capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 0 and "mcp_livechat.server" in out.stderr  # it did start
    assert "prometheus_client" not in out.stderr
