"""The embedded SQLite store: the shared contract on a real file, plus what only SQLite does."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from mcp_livechat.connect.crypto import Sealer
from mcp_livechat.connect.postgres_store import PostgresTokenStore
from mcp_livechat.connect.sqlite_store import SCHEMA_VERSION, SqliteTokenStore
from mcp_livechat.connect.store import open_store
from mcp_livechat.errors import ConfigurationError
from tests.connect.conftest import ALICE, KEY_A, SqliteBackend, StoreContract, make_token


class TestSqliteContract(StoreContract):
    @pytest.fixture
    def backend(self, sqlite_backend: SqliteBackend) -> SqliteBackend:
        return sqlite_backend


async def test_file_and_directory_are_private(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "tokens.db"
    store = SqliteTokenStore(path, Sealer([KEY_A]))
    await store.put(ALICE, make_token())
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for file in (path, Path(f"{path}-wal")):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    await store.close()


async def test_schema_is_versioned_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "tokens.db"
    await SqliteTokenStore(path, Sealer([KEY_A])).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ConfigurationError, match="newer"):
        SqliteTokenStore(path, Sealer([KEY_A]))


def test_unusable_path_is_a_configuration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigurationError, match="LIVECHAT_TOKEN_STORE"):
        SqliteTokenStore(blocker / "tokens.db", Sealer([KEY_A]))


async def test_lock_wait_times_out(sqlite_backend: SqliteBackend) -> None:
    holder = await sqlite_backend.make()
    waiter = await sqlite_backend.make(lock_timeout=0.05)
    async with holder.refresh_lock(ALICE):
        with pytest.raises(TimeoutError):
            async with waiter.refresh_lock(ALICE):
                pass


async def test_a_cancelled_acquire_gives_the_lease_back(sqlite_backend: SqliteBackend) -> None:
    store = await sqlite_backend.make()  # 30 s lease: a leaked row would outlive the other's patience
    other = await sqlite_backend.make(lock_timeout=5)

    async def enter() -> None:
        async with store.refresh_lock(ALICE):
            raise AssertionError("should have been cancelled first")

    task = asyncio.create_task(enter())
    await asyncio.sleep(0)  # it is now waiting for its first lease attempt, which runs in a thread
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with other.refresh_lock(ALICE):
        pass


_HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from mcp_livechat.connect.crypto import Sealer
    from mcp_livechat.connect.identity import Principal
    from mcp_livechat.connect.sqlite_store import SqliteTokenStore

    async def main():
        store = SqliteTokenStore(sys.argv[1], Sealer([bytes(32)]), lease=float(sys.argv[2]))
        async with store.refresh_lock(Principal("acme", "alice")):
            sys.stdout.write("held\\n")
            sys.stdout.flush()
            await asyncio.to_thread(sys.stdin.readline)
        await store.close()

    asyncio.run(main())
    """
)


async def _spawn_holder(path: Path, lease: float) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _HOLDER,
        str(path),
        str(lease),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=Path(__file__).parents[2],
    )
    assert proc.stdout is not None
    assert await asyncio.wait_for(proc.stdout.readline(), 20) == b"held\n"
    return proc


async def test_refresh_lock_excludes_another_process(sqlite_backend: SqliteBackend) -> None:
    store = await sqlite_backend.make()
    proc = await _spawn_holder(sqlite_backend.path, lease=30)
    order: list[str] = []

    async def enter() -> None:
        async with store.refresh_lock(ALICE):
            order.append("parent in")

    task = asyncio.create_task(enter())
    await asyncio.sleep(0.15)  # several poll rounds
    order.append("child releases")
    assert proc.stdin is not None
    proc.stdin.write(b"\n")
    await proc.stdin.drain()
    await asyncio.wait_for(task, 10)
    assert await proc.wait() == 0
    assert order == ["child releases", "parent in"]


async def test_a_crashed_holder_blocks_only_until_its_lease_expires(sqlite_backend: SqliteBackend) -> None:
    store = await sqlite_backend.make(lease=0.3)
    proc = await _spawn_holder(sqlite_backend.path, lease=0.3)
    proc.send_signal(signal.SIGKILL)
    assert await proc.wait() == -signal.SIGKILL
    async with asyncio.timeout(10), store.refresh_lock(ALICE):
        pass


# ------------------------------------------------------------------------- open_store


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (None, "default/tokens.db"),
        ("", "default/tokens.db"),
        ("sqlite:///{tmp}/abs/x.db", "abs/x.db"),
        ("sqlite:////{tmp}/abs/x.db", "abs/x.db"),
        ("SQLITE:///{tmp}/abs/x.db", "abs/x.db"),
    ],
)
async def test_open_store_sqlite_urls(tmp_path: Path, url: str | None, expected: str) -> None:
    store = open_store(
        url.format(tmp=str(tmp_path).lstrip("/")) if url else url,
        keys=[KEY_A],
        default_dir=tmp_path / "default",
    )
    assert isinstance(store, SqliteTokenStore)
    assert store.path == tmp_path / expected
    await store.close()


async def test_open_store_relative_sqlite_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for url in ("sqlite:rel/a.db", "sqlite://rel/b.db"):
        store = open_store(url, keys=[KEY_A], default_dir=tmp_path / "unused")
        assert isinstance(store, SqliteTokenStore)
        await store.put(ALICE, make_token())
        await store.close()
    assert sorted(p.name for p in (tmp_path / "rel").iterdir() if p.suffix == ".db") == ["a.db", "b.db"]


async def test_open_store_creates_a_key_file_without_keys(tmp_path: Path) -> None:
    default = tmp_path / "default"
    token = make_token()
    store = open_store(None, keys=[], default_dir=default)
    await store.put(ALICE, token)
    await store.close()
    key_file = default / "encryption.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = open_store(None, keys=[], default_dir=default)
    assert await again.get(ALICE) == token  # same key the second time
    await again.close()

    explicit = tmp_path / "elsewhere" / "t.db"
    await open_store(f"sqlite://{explicit}", keys=[], default_dir=default).close()
    assert (explicit.parent / "encryption.key").exists()


@pytest.mark.parametrize("url", ["mysql://db/x", "sqlite://", "sqlite:///:memory:", "tokens.db", "redis://x"])
def test_open_store_rejects_other_urls(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigurationError, match="LIVECHAT_TOKEN_STORE"):
        open_store(url, keys=[KEY_A], default_dir=tmp_path)


def test_open_store_postgres_needs_a_key(tmp_path: Path) -> None:
    for url in ("postgresql://u@h/db", "postgres://u@h/db"):
        with pytest.raises(ConfigurationError, match="LIVECHAT_ENCRYPTION_KEY is required"):
            open_store(url, keys=[], default_dir=tmp_path)
        assert isinstance(open_store(url, keys=[KEY_A], default_dir=tmp_path), PostgresTokenStore)
    assert not os.listdir(tmp_path)  # nothing written, nothing connected
