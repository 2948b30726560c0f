"""Fault injection (each kind) and the /sandbox control endpoints."""

from __future__ import annotations

import asyncio
import json
import time

import httpx2
import pytest

from mcp_livechat.sandbox import Sandbox, constants
from tests.sandbox.sandbox_testkit import authorize, bearer, call, exchange, get_code, ok, query_of


def send_body(sb: Sandbox) -> dict[str, object]:
    chat_id = next(c.id for c in sb.state.chats.values() if c.active and c.user(constants.AGENT_EMAIL))
    return {"chat_id": chat_id, "event": {"type": "message", "text": "fault test"}}


async def test_rate_limit(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    sb.faults.add("rate_limit", count=2, methods=["list_chats"])
    assert (await call(client, "list_groups", api="configuration")).status_code == 200
    first = await call(client, "list_chats")
    assert first.status_code == 429
    assert first.json() == {"error": {"type": "too_many_requests", "message": "Too many requests"}}
    assert "retry-after" not in first.headers
    assert (await call(client, "list_chats")).status_code == 429
    assert (await call(client, "list_chats")).status_code == 200
    sb.faults.add("rate_limit", retry_after=2)
    limited = await call(client, "get_agent", {"id": constants.AGENT_EMAIL}, api="configuration")
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "2")
    assert sb.stats.counter("faults_applied") == sb.stats.faults_applied == 3
    assert sb.stats.counter("faults_applied:rate_limit") == 3
    assert sb.stats.requests["list_chats"] == 3


async def test_server_errors_are_not_processed(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    sb.faults.add("server_error", methods=["send_event"])
    sb.faults.add("server_error", status=503, methods=["send_event"])
    first = await call(client, "send_event", send_body(sb))
    assert (first.status_code, first.json()["error"]["type"]) == (500, "internal")
    second = await call(client, "send_event", send_body(sb))
    assert (second.status_code, second.json()["error"]["type"]) == (503, "service_unavailable")
    assert sb.stats.counter("events_sent") == 0
    assert (await call(client, "send_event", send_body(sb))).status_code == 200


async def test_latency(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    sb.faults.add("latency", latency_ms=60)
    started = time.perf_counter()
    response = await call(client, "list_groups", api="configuration")
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.05


async def test_latency_times_out_the_client_but_the_server_goes_on(sb: Sandbox) -> None:
    sb.faults.add("latency", latency_ms=150, methods=["send_event"])
    async with httpx2.AsyncClient(
        transport=sb.transport(), base_url="http://sandbox", timeout=0.03
    ) as client:
        with pytest.raises(httpx2.ReadTimeout):
            await call(client, "send_event", send_body(sb))
        assert sb.stats.events_sent == 0
        for _ in range(100):
            if sb.stats.events_sent:
                break
            await asyncio.sleep(0.01)
        assert sb.stats.events_sent == 1  # like a real server, it finished the abandoned request
        assert (await call(client, "list_groups", api="configuration")).status_code == 200


@pytest.mark.parametrize(("after_processing", "recorded"), [(True, 1), (False, 0)])
async def test_drop(sb: Sandbox, client: httpx2.AsyncClient, after_processing: bool, recorded: int) -> None:
    sb.faults.add("drop", methods=["send_event"], after_processing=after_processing)
    with pytest.raises(httpx2.RemoteProtocolError):
        await call(client, "send_event", send_body(sb))
    assert sb.stats.counter("events_sent") == recorded
    assert sb.stats.counter("faults_applied:drop") == 1


async def test_malformed(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    sb.faults.add("malformed", methods=["list_chats"], after_processing=False)
    response = await call(client, "list_chats")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == b'{"chats_summary": ['
    sb.faults.add("malformed", methods=["send_event"])
    processed = await call(client, "send_event", send_body(sb))
    with pytest.raises(json.JSONDecodeError):
        json.loads(processed.content)
    assert sb.stats.counter("events_sent") == 1


async def test_html_proxy_page(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    sb.faults.add("html")
    response = await call(client, "list_chats")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "<html>" in response.text


async def test_token_endpoint_faults(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    sb.faults.add("server_error")  # methods=None: API methods only
    sb.faults.add("rate_limit", methods=["token"])
    limited = await exchange(client, await get_code(client))
    assert (limited.status_code, limited.json()["error"]) == (429, "temporarily_unavailable")
    assert len(sb.faults.pending) == 1
    sb.faults.clear()
    sb.faults.add("drop", methods=["token"])
    code = await get_code(client)
    with pytest.raises(httpx2.RemoteProtocolError):
        await exchange(client, code)
    assert sb.stats.counter("token_issued") == 1  # processed, then the answer was lost
    assert (await exchange(client, code)).status_code == 401  # and the code is spent


def test_fault_injector_rejects_bad_input(sb: Sandbox) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        sb.faults.add("explode")
    with pytest.raises(ValueError, match="count"):
        sb.faults.add("drop", count=0)


async def test_control_endpoints(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    health = await client.get("/sandbox/health")
    assert health.json()["status"] == "ok"
    added = await client.post(
        "/sandbox/faults", json={"kind": "rate_limit", "methods": ["list_chats"], "count": 1}
    )
    assert added.json()["kind"] == "rate_limit"
    assert len((await client.get("/sandbox/faults")).json()["pending"]) == 1
    assert (await call(client, "list_chats")).status_code == 429
    await client.post("/sandbox/faults", json={"kind": "html"})
    assert (await client.delete("/sandbox/faults")).json() == {}
    assert (await call(client, "list_chats")).status_code == 200
    assert (await client.post("/sandbox/faults", json={"kind": "nope"})).status_code == 400
    assert (await client.post("/sandbox/faults", json={"kind": "drop", "bogus": 1})).status_code == 400
    stats = (await client.get("/sandbox/stats")).json()
    assert stats["requests"]["list_chats"] == 2
    assert stats["faults_applied"] == 1
    minted = (
        await client.post(
            "/sandbox/tokens", json={"email": constants.NORMAL_AGENT_EMAIL, "scopes": ["chats--access:ro"]}
        )
    ).json()
    assert minted["scope"] == "chats--access:ro"
    assert (await call(client, "list_chats", headers=bearer(minted["access_token"]))).status_code == 200
    assert (await client.post("/sandbox/tokens", json={"email": "ghost@example.com"})).status_code == 400
    before = sb.clock.now()
    moved = await client.post("/sandbox/clock", json={"advance": 3600})
    assert moved.status_code == 200
    assert (sb.clock.now() - before).total_seconds() >= 3600
    assert (await client.post("/sandbox/clock", json={"advance": -5})).status_code == 400
    await client.post("/sandbox/consent", json={"granted": False})
    assert query_of((await authorize(client)).headers["location"])["error"] == "access_denied"
    await client.post("/sandbox/consent", json={"granted": True})
    await client.post("/sandbox/browser", json={"email": constants.NORMAL_AGENT_EMAIL})
    normal_scopes = ",".join(constants.NORMAL_SCOPES)  # all the app's scopes would be invalid_scope
    token = (await exchange(client, await get_code(client, scope=normal_scopes))).json()
    assert token["account_id"] == constants.NORMAL_AGENT_ACCOUNT_ID
    assert (await client.post("/sandbox/browser", json={"email": "ghost@example.com"})).status_code == 400


async def test_reset(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    body = send_body(sb)
    chat_id = str(body["chat_id"])
    events = len(sb.state.chats[chat_id].last_thread.events)
    await ok(client, "send_event", body)
    token = sb.mint_token(constants.AGENT_EMAIL)
    sb.faults.add("html")
    response = await client.post("/sandbox/reset", json={})
    assert response.json() == {"seed": 7}
    assert len(sb.state.chats[chat_id].last_thread.events) == events
    assert sb.stats.counter("events_sent") == 0
    assert sb.faults.pending == []
    assert (await call(client, "list_chats", headers=bearer(str(token["access_token"])))).status_code == 401
    assert (await call(client, "list_chats")).status_code == 200  # PATs are seeded
    other = await client.post("/sandbox/reset", json={"seed": 8})
    assert other.json() == {"seed": 8}
    assert chat_id not in sb.state.chats


def test_describe(sb: Sandbox) -> None:
    described = sb.describe("http://127.0.0.1:8123/")
    assert described == {
        "api_url": "http://127.0.0.1:8123",
        "accounts_url": "http://127.0.0.1:8123/accounts",
        "client_id": constants.CLIENT_ID,
        "client_secret": constants.CLIENT_SECRET,
        "redirect_uri": constants.DEFAULT_REDIRECT_URIS[0],
        "account_id": constants.ACCOUNT_ID,
        "pat": constants.PAT,
    }
