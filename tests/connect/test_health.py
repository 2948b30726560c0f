"""The connection health monitor in one process: what one sweep does to each kind of grant, what it
asks LiveChat (token info, never a new token), its bounds, its back-off on rate limits, one
sweeper per store, and the loop a server runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp_livechat.connect.connections import OAuthConnections
from mcp_livechat.connect.health import HealthMonitor, grant_counts
from mcp_livechat.connect.identity import Principal
from mcp_livechat.connect.store import GrantInfo
from mcp_livechat.connect.store_base import BaseTokenStore
from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.server import Runtime
from tests.conftest import SANDBOX_URL
from tests.connect.flow_kit import oauth_settings, stored_token
from tests.connect.store_kit import Backend, SqliteBackend

DUE, FINE, REVOKED, MARKED, COPIED = (
    Principal("acme", n) for n in ("due", "fine", "revoked", "marked", "copied")
)


@asynccontextmanager
async def connections(
    sandbox: Sandbox, tmp: Path, store: BaseTokenStore, **overrides: Any
) -> AsyncIterator[OAuthConnections]:
    settings = oauth_settings(SANDBOX_URL, tmp, **overrides)
    async with Runtime(settings, store=store, transport=sandbox.transport(), background=False) as rt:
        yield rt.oauth_connections


def _put_minted(sandbox: Sandbox, email: str = constants.AGENT_EMAIL, *, expires_in: float = 28800) -> Any:
    minted = sandbox.mint_token(email)
    return minted, stored_token(minted, expires_at=time.time() + expires_in)


async def _grants(store: BaseTokenStore) -> dict[str, GrantInfo]:
    return {g.user: g for g in await store.list_grants()}


async def test_one_sweep_refreshes_the_due_validates_the_rest_and_marks_the_dead(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    store = await SqliteBackend(tmp_path / "tokens.db").make()
    _, due = _put_minted(sandbox, expires_in=20)  # due before the next sweep
    _, fine = _put_minted(sandbox, constants.NORMAL_AGENT_EMAIL)
    revoked_minted, revoked = _put_minted(sandbox, constants.FRA_AGENT_EMAIL)
    for who, token in ((DUE, due), (FINE, fine), (REVOKED, revoked), (MARKED, fine), (COPIED, fine)):
        await store.put(who, token)
    await store.mark(MARKED, state="needs_reconnect", reason="refresh refused (invalid_grant)")
    sandbox.state.tokens.revoke(str(revoked_minted["access_token"]))  # the person revoked the app
    SqliteBackend(tmp_path / "tokens.db").execute(  # another person's row copied over this one's
        "UPDATE tokens SET sealed = (SELECT sealed FROM tokens WHERE user_id = 'due') WHERE user_id = 'copied'"
    )
    published: list[Mapping[str, int]] = []
    minted_before = sandbox.stats.counter("token_minted")
    async with connections(sandbox, tmp_path, store) as conns:
        monitor = HealthMonitor(conns, interval=60, on_counts=published.append)
        report = await monitor.sweep()
        info_calls = sandbox.stats.requests["info"]
        again = await monitor.sweep()  # everything was just checked: nothing to ask LiveChat
    assert report is not None and again is not None
    assert dict(report.outcomes) == {"refreshed": 1, "ok": 1, "dead": 2}
    assert sandbox.stats.counter("token_refreshed") == 1  # the due one only
    assert sandbox.stats.counter("token_minted") == minted_before  # a check never creates a token
    assert info_calls == 2 and sandbox.stats.requests["info"] == 2 and not again.outcomes
    grants = await _grants(store)
    assert grants["due"].expires_at > time.time() + 28000 and grants["due"].last_outcome == "refreshed"
    assert grants["fine"].last_outcome == "ok" and grants["fine"].agent_email == constants.NORMAL_AGENT_EMAIL
    assert (grants["revoked"].state, grants["revoked"].state_reason) == (
        "needs_reconnect",
        "refresh refused (invalid_grant)",
    )
    assert (grants["revoked"].last_outcome, grants["revoked"].last_error_type) == ("dead", "invalid_grant")
    assert (grants["copied"].state, grants["copied"].state_reason) == (
        "needs_reconnect",
        "cannot be decrypted",
    )
    assert grants["marked"].last_check_at is None  # already dead: left alone, kept
    assert published[-1] == {"connected": 2, "expiring": 0, "needs_reconnect": 3}
    assert report.counts == published[-1]
    await store.close()


async def test_the_work_of_a_sweep_is_bounded_and_the_rest_waits_its_turn(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    store = await SqliteBackend(tmp_path / "tokens.db").make()
    people = [Principal("acme", f"p{i}") for i in range(5)]
    for who in people:
        await store.put(who, _put_minted(sandbox)[1])
    async with connections(sandbox, tmp_path, store) as conns:
        monitor = HealthMonitor(conns, interval=60, max_checks=2, concurrency=1)
        first = await monitor.sweep()
        second = await monitor.sweep()
        third = await monitor.sweep()
    assert first and second and third
    assert (sum(first.outcomes.values()), first.deferred) == (2, 3)
    assert (sum(second.outcomes.values()), second.deferred) == (2, 1)
    assert (sum(third.outcomes.values()), third.deferred) == (1, 0)
    assert all(g.last_outcome == "ok" for g in await store.list_grants())  # each one checked once
    assert sandbox.stats.requests["info"] == 5
    await store.close()


async def test_too_many_requests_ends_the_sweep_and_backs_off(sandbox: Sandbox, tmp_path: Path) -> None:
    store = await SqliteBackend(tmp_path / "tokens.db").make()
    for i in range(6):
        await store.put(Principal("acme", f"p{i}"), _put_minted(sandbox)[1])
    sandbox.faults.add("rate_limit", count=100, methods=["info"], retry_after=0)
    async with connections(sandbox, tmp_path, store) as conns:
        monitor = HealthMonitor(conns, interval=10, concurrency=1)
        report = await monitor.sweep()
        assert report is not None
        delays = [monitor._next_delay(report) for _ in range(5)]
        calm = monitor._next_delay(None)
    assert report.rate_limited == 0.0 and report.outcomes["rate_limited"] == 1 and report.deferred == 5
    assert sandbox.stats.requests["info"] == 3  # one grant, the transport's three attempts, then stop
    assert delays == [20, 40, 80, 80, 80]  # doubling, up to 8 intervals
    assert 9 <= calm <= 11
    limited = [g for g in await store.list_grants() if g.last_outcome]
    assert [(g.last_outcome, g.last_error_type) for g in limited] == [
        ("rate_limited", "temporarily_unavailable")
    ]
    await store.close()


async def test_a_refusal_of_the_app_keeps_the_grant(sandbox: Sandbox, tmp_path: Path) -> None:
    store = await SqliteBackend(tmp_path / "tokens.db").make()
    await store.put(DUE, _put_minted(sandbox, expires_in=20)[1])
    async with connections(sandbox, tmp_path, store, client_secret="not-the-secret") as conns:
        report = await HealthMonitor(conns, interval=60).sweep()
    assert report is not None and dict(report.outcomes) == {"app_refused": 1}
    grant = (await _grants(store))["due"]
    assert (grant.state, grant.last_outcome, grant.last_error_type) == (
        "connected",
        "app_refused",
        "unauthorized_client",
    )
    await store.close()


async def test_one_sweeper_at_a_time_across_stores(
    sandbox: Sandbox, tmp_path: Path, postgres_backend: Backend
) -> None:
    first, second = await postgres_backend.make(), await postgres_backend.make()
    for i in range(8):
        await first.put(Principal("acme", f"p{i}"), _put_minted(sandbox)[1])
    sandbox.faults.add("latency", count=100, methods=["info"], latency_ms=30)
    counts: list[Mapping[str, int]] = []
    async with connections(sandbox, tmp_path, first) as one, connections(sandbox, tmp_path, second) as two:
        a = HealthMonitor(one, interval=60)
        b = HealthMonitor(two, interval=60, on_counts=counts.append)
        reports = await asyncio.gather(a.sweep(), b.sweep())
    assert sorted(r is None for r in reports) == [False, True]  # one swept, the other stood aside
    assert sandbox.stats.requests["info"] == 8  # each grant checked once
    assert counts and counts[0]["connected"] == 8  # the one that stood aside still reports counts


async def test_a_server_runtime_runs_the_monitor_and_stops_it(sandbox: Sandbox, tmp_path: Path) -> None:
    store = await SqliteBackend(tmp_path / "tokens.db").make()
    await store.put(FINE, _put_minted(sandbox)[1])
    settings = oauth_settings(SANDBOX_URL, tmp_path, health_interval=1)
    async with Runtime(settings, store=store, transport=sandbox.transport()) as rt:
        assert rt.monitor is not None
        for _ in range(80):
            if rt.monitor.last is not None:
                break
            await asyncio.sleep(0.05)
        health = await rt.healthy()
        assert rt.monitor.last is not None and rt.monitor.last.outcomes["ok"] == 1
        assert health["last_sweep_at"] >= rt.monitor.last.started_at
    assert rt.monitor is None  # stopped with the runtime
    off = oauth_settings(SANDBOX_URL, tmp_path, health_interval=0)
    async with Runtime(off, store=store, transport=sandbox.transport()) as rt:
        assert rt.monitor is None
    await store.close()


def test_grant_counts_by_state() -> None:
    def grant(state: str, expires_at: float) -> GrantInfo:
        return GrantInfo("t", "u", None, None, state, None, 0.0, None, None, None, expires_at, 0.0, "k")  # type: ignore[arg-type]

    grants = [grant("connected", 2000), grant("connected", 1000), grant("needs_reconnect", 5000)]
    assert grant_counts(grants, horizon=1500) == {"connected": 1, "expiring": 1, "needs_reconnect": 1}
