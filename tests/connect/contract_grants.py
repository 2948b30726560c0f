"""The second half of the token-store contract: grant health, bounded pending rows, resumable
re-seal, the sweep lock, and refusing a store no configured key opens."""

from __future__ import annotations

import asyncio
import time

import pytest

from mcp_livechat.connect.crypto import Sealer, SealError
from mcp_livechat.connect.identity import Principal
from mcp_livechat.connect.store import ResealReport, StoredToken
from mcp_livechat.connect.store_base import PENDING_PER_PRINCIPAL, BaseTokenStore
from mcp_livechat.errors import ConfigurationError
from tests.connect.store_kit import (
    ALICE,
    ALICE_ELSEWHERE,
    BOB,
    KEY_A,
    KEY_B,
    KEY_C,
    Backend,
    make_pending,
    make_token,
)


class _Stop(Exception):
    pass


async def _people(store: BaseTokenStore, count: int, tag: str = "old") -> dict[Principal, StoredToken]:
    tokens = {Principal("acme", f"p{i:02}"): make_token(tag) for i in range(count)}
    for principal, token in tokens.items():
        await store.put(principal, token)
    return tokens


class GrantsContract:
    # -- grant health ------------------------------------------------------------------------

    async def test_list_grants_shows_the_health_columns_and_no_secret(self, backend: Backend) -> None:
        store = await backend.make()
        before = time.time()
        alice, bob, elsewhere = make_token("a"), make_token("b", account_id=None), make_token("c")
        for who, token in ((BOB, bob), (ALICE_ELSEWHERE, elsewhere), (ALICE, alice)):
            await store.put(who, token)
        grants = await store.list_grants()
        assert [(g.tenant, g.user) for g in grants] == [
            ("acme", "alice"),
            ("acme", "bob"),
            ("globex", "alice"),
        ]
        first = grants[0]
        assert first.principal == ALICE and (first.account_id, first.agent_email) == ("acc-1", None)
        assert (first.state, first.state_reason) == ("connected", None)
        assert before - 0.01 <= first.state_at <= time.time() + 0.01
        assert (first.last_check_at, first.last_outcome, first.last_error_type) == (None, None, None)
        assert first.expires_at == alice.expires_at
        assert first.key_id == Sealer([KEY_A]).primary_key_id
        assert before - 0.01 <= first.updated_at <= time.time() + 0.01
        assert grants[1].account_id is None
        assert [(g.tenant, g.user) for g in await store.list_grants("globex")] == [("globex", "alice")]
        assert await store.list_grants("nobody") == []
        text = repr(grants)
        for token in (alice, bob, elsewhere):
            assert token.access_token not in text and str(token.refresh_token) not in text

    async def test_mark_and_put_keep_the_state_and_since_when(self, backend: Backend) -> None:
        store = await backend.make()
        await store.put(ALICE, make_token())
        (connected,) = await store.list_grants()
        await asyncio.sleep(0.01)
        assert await store.mark(ALICE, state="needs_reconnect", reason="cannot be decrypted") is True
        (marked,) = await store.list_grants()
        assert (marked.state, marked.state_reason) == ("needs_reconnect", "cannot be decrypted")
        assert marked.state_at > connected.state_at
        await asyncio.sleep(0.01)
        assert await store.mark(ALICE, state="needs_reconnect", reason="refresh refused") is True
        (again,) = await store.list_grants()
        assert again.state_reason == "refresh refused" and again.state_at == marked.state_at  # same state
        await store.put(ALICE, make_token("reconnected"))
        (back,) = await store.list_grants()
        assert (back.state, back.state_reason) == ("connected", None) and back.state_at > marked.state_at
        await asyncio.sleep(0.01)
        await store.put(ALICE, make_token("refreshed"))
        (refreshed,) = await store.list_grants()
        assert refreshed.state_at == back.state_at and refreshed.updated_at > back.updated_at
        assert await store.mark(BOB, state="needs_reconnect") is False
        with pytest.raises(ValueError, match="unknown grant state"):
            await store.mark(ALICE, state="revoked")  # type: ignore[arg-type]
        await store.mark(ALICE, state="needs_reconnect", reason="x" * 1000)
        assert len((await store.list_grants())[0].state_reason or "") == 200  # short text only

    async def test_record_check_and_set_identity(self, backend: Backend) -> None:
        store = await backend.make()
        await store.put(ALICE, make_token())
        assert await store.record_check(ALICE, outcome="dead", error_type="invalid_grant", at=1_800_000_000.0)
        assert await store.set_identity(ALICE, account_id="acc-1", agent_email="alice@example.com")
        (grant,) = await store.list_grants()
        assert (grant.last_check_at, grant.last_outcome, grant.last_error_type) == (
            1_800_000_000.0,
            "dead",
            "invalid_grant",
        )
        assert (grant.account_id, grant.agent_email) == ("acc-1", "alice@example.com")
        before = time.time()
        assert await store.record_check(ALICE, outcome="ok") is True
        (grant,) = await store.list_grants()
        assert (grant.last_outcome, grant.last_error_type) == ("ok", None)
        assert grant.last_check_at is not None and grant.last_check_at >= before - 0.01
        await store.put(ALICE, make_token("refreshed"))  # the same account: who it is stays
        assert (await store.list_grants())[0].agent_email == "alice@example.com"
        await store.put(ALICE, make_token("other", account_id="acc-2"))  # reconnected as someone else
        (grant,) = await store.list_grants()
        assert (grant.account_id, grant.agent_email) == ("acc-2", None)
        assert grant.last_outcome == "ok"  # the last check stays what it was
        assert await store.record_check(BOB, outcome="ok") is False
        assert await store.set_identity(BOB, account_id="x", agent_email=None) is False

    async def test_grant_reads_one_row_as_list_grants_shows_it(self, backend: Backend) -> None:
        store = await backend.make()
        await store.put(ALICE, make_token())
        await store.put(ALICE_ELSEWHERE, make_token("other"))
        await store.mark(ALICE, state="needs_reconnect", reason="refresh refused")
        one = await store.grant(ALICE)
        listed = [g for g in await store.list_grants() if g.principal == ALICE]
        assert one is not None and [one] == listed
        assert (one.state, one.state_reason) == ("needs_reconnect", "refresh refused")
        assert (await store.grant(ALICE_ELSEWHERE)).state == "connected"  # type: ignore[union-attr]
        assert await store.grant(BOB) is None

    async def test_a_row_that_does_not_open_is_kept_for_marking(self, backend: Backend) -> None:
        store = await backend.make()
        await store.put(ALICE, make_token())
        await backend.move_token(ALICE, BOB)
        with pytest.raises(SealError):
            await store.get(BOB)
        assert await store.mark(BOB, state="needs_reconnect", reason="cannot be decrypted") is True
        (grant,) = await store.list_grants()
        assert (grant.user, grant.state, grant.state_reason) == (
            "bob",
            "needs_reconnect",
            "cannot be decrypted",
        )
        assert await store.delete(BOB) is True
        assert await store.list_grants() == []

    # -- pending authorizations -------------------------------------------------------------

    async def test_live_pending_is_the_callers_newest_unexpired_link(self, backend: Backend) -> None:
        store = await backend.make()
        now = time.time()
        first, second = make_pending(ALICE, expires_at=now + 600), make_pending(ALICE, expires_at=now + 300)
        bobs = make_pending(BOB)
        await store.put_pending(first)
        await asyncio.sleep(0.01)
        await store.put_pending(second)
        await store.put_pending(bobs)
        assert await store.live_pending(ALICE) == second  # the newest, though it expires first
        assert await store.live_pending(BOB) == bobs
        assert await store.live_pending(ALICE_ELSEWHERE) is None
        assert await store.live_pending(ALICE, now=now + 400) == first  # the newest one has expired
        assert await store.live_pending(ALICE, now=now + 700) is None
        assert await store.take_pending(second.state) == second
        assert await store.live_pending(ALICE) == first

    async def test_a_pending_row_under_another_principal_is_not_handed_out(self, backend: Backend) -> None:
        store = await backend.make()
        await store.put_pending(make_pending(ALICE))
        await backend.move_pending(BOB)
        assert await store.live_pending(BOB) is None
        assert await store.live_pending(ALICE) is None

    async def test_put_pending_purges_expired_rows_and_caps_each_caller(self, backend: Backend) -> None:
        store = await backend.make()
        now = time.time()
        for _ in range(3):
            await store.put_pending(make_pending(BOB, expires_at=now - 1))
        assert await backend.pending_count() == {"bob": 1}  # each insert dropped the expired one before
        bobs = make_pending(BOB)
        await store.put_pending(bobs)
        assert await backend.pending_count() == {"bob": 1}
        links = [make_pending(ALICE) for _ in range(PENDING_PER_PRINCIPAL + 3)]
        for link in links:
            await store.put_pending(link)
        assert await backend.pending_count() == {"alice": PENDING_PER_PRINCIPAL, "bob": 1}
        for dropped in links[:3]:
            assert await store.peek_pending(dropped.state) is None  # the oldest went first
        assert await store.peek_pending(links[3].state) == links[3]
        assert await store.live_pending(ALICE) == links[-1]
        assert await store.peek_pending(bobs.state) == bobs  # another caller's link is untouched

    # -- re-seal -----------------------------------------------------------------------------

    async def test_reseal_all_works_in_batches_and_reports(self, backend: Backend) -> None:
        old = await backend.make([KEY_A])
        tokens = await _people(old, 7)
        people = sorted(tokens, key=lambda p: p.user)
        for who in people[:3]:
            await old.put_pending(make_pending(who))
        await backend.move_token(people[6], Principal("acme", "zz"))  # a row that no longer opens
        rotated = await backend.make([KEY_B, KEY_A])
        calls: list[tuple[int, int]] = []
        report = await rotated.reseal_all(progress=lambda done, total: calls.append((done, total)), batch=2)
        assert report == ResealReport(resealed=9, current=0, unopenable=1)
        assert calls == [(2, 10), (4, 10), (6, 10), (7, 10), (9, 10), (10, 10)]
        assert await rotated.reseal_all(batch=2) == ResealReport(resealed=0, current=9, unopenable=1)
        new_only = await backend.make([KEY_B])
        for who in people[:6]:
            assert await new_only.get(who) == tokens[who]
        with pytest.raises(ValueError, match="batch"):
            await rotated.reseal_all(batch=0)

    async def test_an_interrupted_reseal_resumes(self, backend: Backend) -> None:
        await _people(await backend.make([KEY_A]), 5)
        rotated = await backend.make([KEY_B, KEY_A])
        id_b = Sealer([KEY_B]).primary_key_id

        def stop(done: int, total: int) -> None:
            raise _Stop

        with pytest.raises(_Stop):
            await rotated.reseal_all(progress=stop, batch=2)
        assert list((await backend.token_key_ids()).values()).count(id_b) == 2  # the first batch committed
        assert await rotated.reseal_all(batch=2) == ResealReport(resealed=3, current=2, unopenable=0)
        assert set((await backend.token_key_ids()).values()) == {id_b}

    async def test_reseal_leaves_a_row_a_server_rewrote_meanwhile(self, backend: Backend) -> None:
        await (await backend.make([KEY_A])).put(ALICE, make_token("old"))
        rotated, newer = await backend.make([KEY_B, KEY_A]), make_token("newer")
        sealer = Sealer([KEY_B])
        commit = await backend.hold_rewrite(
            ALICE, sealer.seal(ALICE, newer.to_bytes()), sealer.primary_key_id
        )
        resealing = asyncio.create_task(rotated.reseal_all())  # reads the old blob, then waits to swap it
        await backend.wait_until_writer_blocked()
        await commit()
        assert await asyncio.wait_for(resealing, 10) == ResealReport(resealed=0, current=1, unopenable=0)
        assert await rotated.get(ALICE) == newer  # the server's write stands

    async def test_reseal_never_undoes_a_concurrent_write(self, backend: Backend) -> None:
        old = await backend.make([KEY_A])
        latest = await _people(old, 30)
        rotated, server = await backend.make([KEY_B, KEY_A]), await backend.make([KEY_B, KEY_A])

        async def serve() -> None:  # in the order re-seal walks the rows, so their steps interleave
            for round_ in range(3):
                for who in sorted(latest, key=lambda p: p.user):
                    latest[who] = make_token(f"new-{round_}")
                    await server.put(who, latest[who])

        report, _ = await asyncio.gather(rotated.reseal_all(batch=1), serve())
        assert report.unopenable == 0
        for who, token in latest.items():
            assert await rotated.get(who) == token, who

    # -- sweep lock --------------------------------------------------------------------------

    async def test_one_sweep_lock_holder_across_instances(self, backend: Backend) -> None:
        first, second = await backend.make(), await backend.make()
        async with first.sweep_lock() as mine:
            assert mine is True
            async with second.sweep_lock() as theirs, first.sweep_lock() as again:
                assert (theirs, again) == (False, False)
        async with second.sweep_lock() as theirs:
            assert theirs is True
        holding = peak = wins = 0

        async def attempt(store: BaseTokenStore) -> None:
            nonlocal holding, peak, wins
            async with store.sweep_lock() as held:
                if held:
                    holding, wins = holding + 1, wins + 1
                    peak = max(peak, holding)
                    await asyncio.sleep(0.01)
                    holding -= 1

        await asyncio.wait_for(asyncio.gather(*(attempt(s) for s in [first, second] * 10)), 30)
        assert peak == 1 and wins >= 1

    # -- keys --------------------------------------------------------------------------------

    async def test_a_store_no_configured_key_opens_is_refused(self, backend: Backend) -> None:
        await (await backend.make([KEY_A])).put(ALICE, make_token())
        with pytest.raises(ConfigurationError) as info:
            await backend.make([KEY_C])
        message = str(info.value)
        assert f"key id {Sealer([KEY_A]).primary_key_id}" in message
        assert Sealer([KEY_C]).primary_key_id in message and "\n" not in message
        assert await (await backend.make([KEY_C, KEY_A])).get(ALICE) is not None  # the old key among them

    async def test_live_pending_rows_count_for_the_key_check(self, backend: Backend) -> None:
        await (await backend.make([KEY_A])).put_pending(make_pending(BOB))
        with pytest.raises(ConfigurationError, match=Sealer([KEY_A]).primary_key_id):
            await backend.make([KEY_C])
