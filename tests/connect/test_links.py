"""One caller cannot fill the shared store with connect links: while a person's link is live,
asking again hands out the same one; a link about to expire is replaced; expired ones are purged
by the health sweep."""

from __future__ import annotations

import time
from pathlib import Path

from mcp_livechat.connect.connections import LINK_REUSE_LEFT, PENDING_TTL
from mcp_livechat.connect.health import HealthMonitor
from mcp_livechat.connect.identity import Principal
from mcp_livechat.connect.store import PendingAuthorization
from mcp_livechat.sandbox import Sandbox
from mcp_livechat.server import Runtime
from tests.conftest import SANDBOX_URL
from tests.connect.flow_kit import oauth_settings
from tests.connect.store_kit import SqliteBackend

ANNA, BEN = Principal("acme", "anna"), Principal("acme", "ben")
PUBLIC = "http://mcp.test"


async def test_a_live_link_is_handed_out_again(sandbox: Sandbox, tmp_path: Path) -> None:
    backend = SqliteBackend(tmp_path / "tokens.db")
    store = await backend.make()
    settings = oauth_settings(SANDBOX_URL, tmp_path)
    async with Runtime(settings, store=store, transport=sandbox.transport(), public_url=PUBLIC) as rt:
        conns = rt.oauth_connections
        links = [await conns.connect_url(ANNA) for _ in range(50)]
        bens = await conns.connect_url(BEN)
        statuses = [await conns.status(ANNA) for _ in range(3)]
    assert len(set(links)) == 1 and links[0].startswith(f"{PUBLIC}/connect/")
    assert bens != links[0]
    assert await backend.pending_count() == {"anna": 1, "ben": 1}  # not one row per call
    assert all(s.connected is False for s in statuses)
    await store.close()


async def test_a_link_about_to_expire_is_replaced_and_expired_ones_are_purged(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    backend = SqliteBackend(tmp_path / "tokens.db")
    store = await backend.make()
    settings = oauth_settings(SANDBOX_URL, tmp_path)
    async with Runtime(settings, store=store, transport=sandbox.transport(), public_url=PUBLIC) as rt:
        conns = rt.oauth_connections
        ending = PendingAuthorization(
            "ending-state-" + "x" * 40, ANNA, "v" * 60, conns.redirect_uri, time.time() + LINK_REUSE_LEFT - 5
        )
        await store.put_pending(ending)
        fresh = await conns.connect_url(ANNA)
        elsewhere = PendingAuthorization(
            "other-" + "y" * 40, BEN, "v" * 60, "http://old/cb", time.time() + 500
        )
        await store.put_pending(elsewhere)
        bens = await conns.connect_url(BEN)  # a link for another redirect URI is not reused
        await store.put_pending(
            PendingAuthorization("gone-" + "z" * 40, BEN, "v" * 60, conns.redirect_uri, time.time() - 1)
        )
        report = await HealthMonitor(conns, interval=60).sweep()
    assert ending.state not in fresh and fresh.startswith(f"{PUBLIC}/connect/")
    assert elsewhere.state not in bens
    assert report is not None and report.purged == 1
    assert await backend.pending_count() == {"anna": 2, "ben": 2}
    assert PENDING_TTL > LINK_REUSE_LEFT * 2
    await store.close()
