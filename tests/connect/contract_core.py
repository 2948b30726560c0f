"""The first half of the token-store contract: what the store did before grant health existed."""

from __future__ import annotations

import asyncio
import time

import pytest

from mcp_livechat.connect.crypto import Sealer, SealError
from mcp_livechat.connect.store import ResealReport
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


class CoreContract:
    """Tokens, pending authorizations, sealing, rotation, the refresh lock, ping and close."""

    async def test_get_put_delete_roundtrip(self, backend: Backend) -> None:
        store = await backend.make()
        token = make_token()
        assert await store.get(ALICE) is None
        await store.put(ALICE, token)
        assert await store.get(ALICE) == token
        assert await store.get(BOB) is None
        assert await store.get(ALICE_ELSEWHERE) is None
        assert await store.delete(ALICE) is True
        assert await store.get(ALICE) is None
        assert await store.delete(ALICE) is False

    async def test_put_is_an_upsert(self, backend: Backend) -> None:
        store = await backend.make()
        first, second = make_token("first"), make_token("second", expires_at=2_100_000_000.0)
        await store.put(ALICE, first)
        await store.put(BOB, first)
        await store.put(ALICE, second)
        assert await store.get(ALICE) == second
        assert await store.get(BOB) == first
        assert sorted(await backend.token_key_ids()) == ["alice", "bob"]

    async def test_nothing_secret_is_stored_in_clear(self, backend: Backend) -> None:
        store = await backend.make()
        token = make_token()
        pending = make_pending()
        await store.put(ALICE, token)
        await store.put_pending(pending)
        secrets = [token.access_token, token.refresh_token, pending.state, pending.code_verifier]
        raw = await backend.dump()
        assert b"alice" in raw, "the dump misses the rows: the test would prove nothing"
        for secret in secrets:
            assert secret is not None
            assert secret.encode() not in raw
            assert secret[-32:].encode() not in raw  # not even the random part
        await store.close()  # SQLite: the checkpoint moves the WAL into the main file
        raw = await backend.dump()
        for secret in secrets:
            assert secret is not None
            assert secret.encode() not in raw

    async def test_a_row_copied_to_another_principal_does_not_open(self, backend: Backend) -> None:
        store = await backend.make()
        await store.put(ALICE, make_token())
        await backend.move_token(ALICE, BOB)
        with pytest.raises(SealError) as info:
            await store.get(BOB)
        assert "cannot be decrypted" in str(info.value)
        await backend.move_token(BOB, ALICE_ELSEWHERE)  # same user id, another tenant
        with pytest.raises(SealError):
            await store.get(ALICE_ELSEWHERE)
        await backend.move_token(ALICE_ELSEWHERE, ALICE)
        assert await store.get(ALICE) is not None

    async def test_a_pending_row_copied_to_another_principal_does_not_open(self, backend: Backend) -> None:
        store = await backend.make()
        pending = make_pending(ALICE)
        await store.put_pending(pending)
        await backend.move_pending(BOB)
        with pytest.raises(SealError):
            await store.take_pending(pending.state)

    async def test_a_row_under_an_unknown_key_raises_seal_error_and_is_kept(self, backend: Backend) -> None:
        with_c, with_a = await backend.make([KEY_C]), await backend.make([KEY_A])  # both open an empty store
        await with_c.put(BOB, make_token())  # so that KEY_C alone may open it later
        await with_a.put(ALICE, make_token())
        only_c = await backend.make([KEY_C])
        with pytest.raises(SealError):
            await only_c.get(ALICE)
        assert [g.user for g in await only_c.list_grants()] == ["alice", "bob"]  # not deleted

    async def test_key_rotation_and_reseal_all(self, backend: Backend) -> None:
        old = await backend.make([KEY_A])
        alice_token, bob_token = make_token("alice"), make_token("bob")
        await old.put(ALICE, alice_token)
        pending = make_pending(BOB)
        await old.put_pending(pending)
        id_a, id_b = Sealer([KEY_A]).primary_key_id, Sealer([KEY_B]).primary_key_id

        rotated = await backend.make([KEY_B, KEY_A])
        assert await rotated.get(ALICE) == alice_token  # old rows still open
        await rotated.put(BOB, bob_token)  # new rows are sealed with the new key
        assert await backend.token_key_ids() == {"alice": id_a, "bob": id_b}
        with pytest.raises(SealError):
            await old.get(BOB)  # a store that only knows the old key cannot read them

        report = await rotated.reseal_all()  # alice's token and bob's pending authorization
        assert report == ResealReport(resealed=2, current=1, unopenable=0)  # bob's token was current
        assert await backend.token_key_ids() == {"alice": id_b, "bob": id_b}
        assert await rotated.reseal_all() == ResealReport(resealed=0, current=3, unopenable=0)

        new_only = await backend.make([KEY_B])  # the old key can now be retired
        assert await new_only.get(ALICE) == alice_token
        assert await new_only.get(BOB) == bob_token
        assert await new_only.take_pending(pending.state) == pending

    async def test_pending_is_single_use(self, backend: Backend) -> None:
        store = await backend.make()
        pending = make_pending()
        await store.put_pending(pending)
        assert await store.take_pending("some-other-state") is None
        taken = await store.take_pending(pending.state)
        assert taken == pending
        assert await store.take_pending(pending.state) is None

    async def test_peek_pending_reads_without_consuming(self, backend: Backend) -> None:
        store = await backend.make()
        now = time.time()
        pending = make_pending(expires_at=now + 60)
        await store.put_pending(pending)
        assert await store.peek_pending("some-other-state") is None
        assert await store.peek_pending(pending.state) == pending
        assert await store.peek_pending(pending.state) == pending  # still there
        assert await store.peek_pending(pending.state, now=now + 61) is None  # expired
        assert await store.take_pending(pending.state) == pending
        assert await store.peek_pending(pending.state) is None  # taken

    async def test_expired_pending_is_none_and_deleted(self, backend: Backend) -> None:
        store = await backend.make()
        now = time.time()
        pending = make_pending(expires_at=now + 60)
        await store.put_pending(pending)
        assert await store.take_pending(pending.state, now=now + 61) is None
        assert await store.take_pending(pending.state, now=now) is None  # it was deleted, not skipped

    async def test_purge_expired(self, backend: Backend) -> None:
        store = await backend.make()
        now = time.time()
        short, long = make_pending(expires_at=now + 100), make_pending(expires_at=now + 1000)
        await store.put_pending(short)
        await store.put_pending(long)
        assert await store.purge_expired(now=now + 500) == 1
        assert await store.purge_expired(now=now + 500) == 0
        assert await store.take_pending(short.state, now=now) is None
        assert await store.take_pending(long.state, now=now) == long

    async def test_concurrent_take_pending_has_one_winner(self, backend: Backend) -> None:
        stores = [await backend.make(), await backend.make()]
        pending = make_pending()
        await stores[0].put_pending(pending)
        results = await asyncio.gather(*(stores[i % 2].take_pending(pending.state) for i in range(20)))
        assert [r for r in results if r is not None] == [pending]

    async def test_refresh_lock_excludes_another_instance_for_the_same_principal_only(
        self, backend: Backend
    ) -> None:
        first, second = await backend.make(), await backend.make()
        order: list[str] = []
        bob_entered = asyncio.Event()

        async def second_alice() -> None:
            async with second.refresh_lock(ALICE):
                order.append("second:alice")

        async def second_bob() -> None:
            async with second.refresh_lock(BOB):
                order.append("second:bob")
                bob_entered.set()

        async with first.refresh_lock(ALICE):
            order.append("first:alice in")
            waiter = asyncio.create_task(second_alice())
            await backend.wait_until_blocked(second, ALICE)
            other = asyncio.create_task(second_bob())
            await asyncio.wait_for(bob_entered.wait(), 10)  # another principal is not blocked
            order.append("first:alice out")
        await asyncio.wait_for(asyncio.gather(waiter, other), 10)
        assert order == ["first:alice in", "second:bob", "first:alice out", "second:alice"]

    async def test_refresh_lock_serializes_coroutines_of_one_instance(self, backend: Backend) -> None:
        store = await backend.make()
        order: list[str] = []

        async def critical(name: str) -> None:
            async with store.refresh_lock(ALICE):
                order.append(f"{name} in")
                await asyncio.sleep(0)
                await asyncio.sleep(0)
                order.append(f"{name} out")

        await asyncio.wait_for(asyncio.gather(*(critical(str(i)) for i in range(5))), 10)
        assert all(order[i].split()[0] == order[i + 1].split()[0] for i in range(0, 10, 2))

    async def test_refresh_lock_is_released_when_the_body_raises(self, backend: Backend) -> None:
        first, second = await backend.make(), await backend.make()
        with pytest.raises(RuntimeError, match="boom"):
            async with first.refresh_lock(ALICE):
                raise RuntimeError("boom")
        async with asyncio.timeout(10), second.refresh_lock(ALICE):
            pass

    async def test_ping_and_close(self, backend: Backend) -> None:
        store = await backend.make()
        assert await store.ping() is True and await store.unreachable() is None
        await store.close()
        assert await store.ping() is False
        assert await store.unreachable() == "the token store failed (RuntimeError)"  # closed
        with pytest.raises(RuntimeError, match="closed"):
            await store.get(ALICE)

    async def test_reprs_show_no_secret(self, backend: Backend) -> None:
        token, pending = make_token(), make_pending()
        text = repr(token) + repr(pending) + repr(await backend.make())
        for secret in (token.access_token, token.refresh_token, pending.state, pending.code_verifier):
            assert secret is not None
            assert secret not in text
        assert "acme" in text  # but still says whose it is
