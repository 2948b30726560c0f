"""The token-store contract for held grants: a pending row that holds the tokens of a finished
consent while the person confirms (`PendingAuthorization.held`)."""

from __future__ import annotations

import dataclasses
import time

from mcp_livechat.connect.store import HeldGrant, PendingAuthorization
from mcp_livechat.connect.store_base import PENDING_PER_PRINCIPAL
from tests.connect.store_kit import ALICE, BOB, Backend, make_pending, make_token


def holding(pending: PendingAuthorization, *, email: str = "victim@example.com") -> PendingAuthorization:
    held = HeldGrant(make_token("held"), email, "acc-victim", csrf=f"CSRF-{pending.state[6:30]}")
    return dataclasses.replace(pending, held=held, expected_email="bob@example.com")


class HeldContract:
    """Held rows round-trip sealed, are never handed out as links, survive the purges of plain
    links, and are handed over exactly once when they expire (so their tokens get revoked)."""

    async def test_a_held_grant_round_trips_sealed(self, backend: Backend) -> None:
        store = await backend.make()
        pending = holding(make_pending(BOB))
        await store.put_pending(pending)
        assert await store.peek_pending(pending.state) == pending
        raw = await backend.dump()
        assert pending.held is not None
        for secret in (pending.held.token.access_token, pending.held.token.refresh_token, pending.held.csrf):
            assert secret is not None and secret.encode() not in raw
        assert b"victim@example.com" not in raw and b"bob@example.com" not in raw  # who, sealed too
        assert await store.take_pending(pending.state) == pending
        assert await store.peek_pending(pending.state) is None

    async def test_a_held_row_is_never_handed_out_as_a_link(self, backend: Backend) -> None:
        store = await backend.make()
        link = make_pending(BOB)
        await store.put_pending(link)
        held = holding(make_pending(BOB))
        await store.put_pending(held)  # the newer one
        assert await store.live_pending(BOB) == link
        await store.take_pending(link.state)
        assert await store.live_pending(BOB) is None

    async def test_purges_and_the_per_caller_cap_leave_held_rows_alone(self, backend: Backend) -> None:
        store = await backend.make()
        now = time.time()
        expired = holding(make_pending(BOB, expires_at=now - 1))
        live = holding(make_pending(BOB))
        await store.put_pending(expired)
        await store.put_pending(live)
        for _ in range(PENDING_PER_PRINCIPAL + 2):
            await store.put_pending(make_pending(BOB))  # Bob asks for many links meanwhile
        assert await store.purge_expired(now=now + 1) == 0
        assert await backend.pending_count() == {"bob": PENDING_PER_PRINCIPAL + 2}
        assert await store.peek_pending(live.state) == live
        assert await store.take_pending(expired.state, now=0.0) == expired  # now=0.0: expired too

    async def test_take_abandoned_hands_each_expired_held_row_over_once(self, backend: Backend) -> None:
        store = await backend.make()
        now = time.time()
        gone = holding(make_pending(BOB, expires_at=now + 60))
        other = holding(make_pending(ALICE, expires_at=now + 30))
        waiting = holding(make_pending(BOB, expires_at=now + 600))
        plain = make_pending(BOB, expires_at=now + 60)
        for row in (gone, other, waiting, plain):
            await store.put_pending(row)
        assert await store.take_abandoned(now=now) == []
        taken = await store.take_abandoned(now=now + 120)
        assert sorted(p.state for p in taken) == sorted([gone.state, other.state])
        assert {p.held for p in taken} == {gone.held, other.held}
        assert await store.take_abandoned(now=now + 120) == []  # once
        assert await store.peek_pending(waiting.state) == waiting
        assert await store.purge_expired(now=now + 120) == 1  # the plain link

    async def test_take_held_of_hands_over_a_persons_other_held_rows_once(self, backend: Backend) -> None:
        store = await backend.make()
        now = time.time()
        older = holding(make_pending(BOB, expires_at=now + 300))
        newer = holding(make_pending(BOB, expires_at=now + 500))
        newest = holding(make_pending(BOB, expires_at=now + 600))  # started after `newer`
        alices, plain = holding(make_pending(ALICE, expires_at=now + 100)), make_pending(BOB)
        for row in (older, newer, newest, alices, plain):
            await store.put_pending(row)
        taken = await store.take_held_of(BOB, besides=newer.state, expiring_before=newer.expires_at)
        assert [p.state for p in taken] == [older.state] and taken[0].held == older.held
        assert await store.take_held_of(BOB, besides=newer.state, expiring_before=newer.expires_at) == []
        assert await store.peek_pending(older.state) is None
        for kept in (newer, newest, alices, plain):  # itself, a later one, another person's, a plain link
            assert await store.peek_pending(kept.state) == kept
