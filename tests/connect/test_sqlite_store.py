"""The embedded SQLite store: the shared contract on a real file, plus what only SQLite does (file
permissions, the version-1 migration, busy timeouts, OS file locks across real processes)."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import stat
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mcp_livechat.connect.crypto import Sealer
from mcp_livechat.connect.sqlite_store import SCHEMA_VERSION, SqliteTokenStore
from mcp_livechat.connect.store import StoreUnavailable, state_hash
from mcp_livechat.errors import ConfigurationError, TransportError
from tests.connect.store_contract import StoreContract
from tests.connect.store_kit import ALICE, BOB, KEY_A, REPO, SqliteBackend, make_pending, make_token


class TestSqliteContract(StoreContract):
    @pytest.fixture
    def backend(self, sqlite_backend: SqliteBackend) -> SqliteBackend:
        return sqlite_backend


async def test_files_and_directories_are_private(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "tokens.db"
    store = SqliteTokenStore(path, Sealer([KEY_A]))
    await store.put(ALICE, make_token())
    async with store.refresh_lock(ALICE), store.sweep_lock() as held:
        assert held is True
    locks = path.with_name(".tokens.db.locks")
    for directory in (path.parent, locks):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    lock_files = sorted(p.name for p in locks.iterdir())
    assert len(lock_files) == 2 and lock_files[1] == "sweep.lock" and lock_files[0].startswith("refresh-")
    assert "alice" not in lock_files[0] and "acme" not in lock_files[0]
    for file in (path, Path(f"{path}-wal"), *locks.iterdir()):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    await store.close()


async def test_schema_is_versioned_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "tokens.db"
    await SqliteTokenStore(path, Sealer([KEY_A])).close()
    conn = sqlite3.connect(path)
    assert SCHEMA_VERSION == 3
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ConfigurationError, match="newer"):
        SqliteTokenStore(path, Sealer([KEY_A]))


_V1_SCHEMA = """
CREATE TABLE tokens (tenant TEXT NOT NULL, user_id TEXT NOT NULL, sealed BLOB NOT NULL, key_id TEXT NOT NULL,
    expires_at REAL NOT NULL, updated_at REAL NOT NULL, PRIMARY KEY (tenant, user_id));
CREATE TABLE pending (state_hash TEXT PRIMARY KEY, tenant TEXT NOT NULL, user_id TEXT NOT NULL,
    sealed BLOB NOT NULL, key_id TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE INDEX pending_expires_at ON pending (expires_at);
CREATE TABLE locks (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at REAL NOT NULL);
PRAGMA user_version = 1;
"""


async def test_a_version_1_file_is_migrated_in_place(tmp_path: Path) -> None:
    path, sealer = tmp_path / "tokens.db", Sealer([KEY_A])
    token, pending = make_token(), make_pending(ALICE)
    v1_pending = {  # what version 1 sealed: no state inside
        "v": 1,
        "state_hash": state_hash(pending.state),
        "code_verifier": pending.code_verifier,
        "redirect_uri": pending.redirect_uri,
        "expires_at": pending.expires_at,
    }
    blob, pending_blob = (
        sealer.seal(ALICE, token.to_bytes()),
        sealer.seal(ALICE, json.dumps(v1_pending).encode()),
    )
    with sqlite3.connect(path) as conn:
        conn.executescript(_V1_SCHEMA)
        conn.execute(
            "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?)",
            ("acme", "alice", blob, sealer.primary_key_id, token.expires_at, 1_700_000_000.0),
        )
        conn.execute(
            "INSERT INTO pending VALUES (?, ?, ?, ?, ?, ?)",
            (
                state_hash(pending.state),
                "acme",
                "alice",
                pending_blob,
                sealer.primary_key_id,
                pending.expires_at,
            ),
        )
        conn.execute("INSERT INTO locks VALUES ('x', 'y', 1)")
    conn.close()

    store = SqliteTokenStore(path, sealer)
    assert await store.get(ALICE) == token
    (grant,) = await store.list_grants()
    assert (grant.state, grant.state_at, grant.updated_at) == ("connected", 1_700_000_000.0, 1_700_000_000.0)
    assert (grant.account_id, grant.agent_email, grant.last_outcome) == (None, None, None)
    assert await store.live_pending(ALICE) is None  # a version-1 link cannot be handed out again...
    assert await store.peek_pending(pending.state) == pending  # ...but still completes
    await store.put(BOB, make_token())
    await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        columns = [row[1] for row in conn.execute("PRAGMA table_info(tokens)")]
    conn.close()
    assert tables == {"tokens", "pending"}  # the lease table of version 1 is gone
    assert columns[6:] == [
        "account_id", "agent_email", "state", "state_reason", "state_at", "last_check_at", "last_outcome",
        "last_error_type",
    ]  # fmt: skip
    again = SqliteTokenStore(path, sealer)  # opening a current file changes nothing
    assert [g.user for g in await again.list_grants()] == ["alice", "bob"]
    await again.close()


def test_unusable_path_is_a_configuration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigurationError, match="LIVECHAT_TOKEN_STORE"):
        SqliteTokenStore(blocker / "tokens.db", Sealer([KEY_A]))


async def test_a_writer_holding_the_file_past_the_timeout_is_store_unavailable(
    sqlite_backend: SqliteBackend,
) -> None:
    store = await sqlite_backend.make(timeout=0.2)
    blocker = sqlite3.connect(sqlite_backend.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process writing, for longer than the busy timeout
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="retry shortly") as info:
        await store.put(ALICE, make_token())
    assert time.monotonic() - started < 3
    assert isinstance(info.value, TransportError)
    blocker.execute("ROLLBACK")
    blocker.close()
    await store.put(ALICE, make_token())  # and it works again at once


async def test_lock_wait_times_out(sqlite_backend: SqliteBackend) -> None:
    holder = await sqlite_backend.make()
    waiter = await sqlite_backend.make(lock_timeout=0.05)
    async with holder.refresh_lock(ALICE):
        with pytest.raises(TimeoutError):
            async with waiter.refresh_lock(ALICE):
                pass


async def test_a_cancelled_acquire_gives_the_lock_back(sqlite_backend: SqliteBackend) -> None:
    store = await sqlite_backend.make()
    other = await sqlite_backend.make(lock_timeout=5)

    async def enter() -> None:
        async with store.refresh_lock(ALICE):
            raise AssertionError("should have been cancelled first")

    task = asyncio.create_task(enter())
    await asyncio.sleep(0)  # it is now waiting for its first attempt, which runs in a thread
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with other.refresh_lock(ALICE):
        pass


# ------------------------------------------------------------------------- other processes

_HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from mcp_livechat.connect.crypto import Sealer
    from mcp_livechat.connect.identity import Principal
    from mcp_livechat.connect.sqlite_store import SqliteTokenStore

    async def main():
        store = SqliteTokenStore(sys.argv[1], Sealer([bytes(range(32))]))
        if sys.argv[2] == "refresh":
            lock = store.refresh_lock(Principal("acme", "alice"))
        else:
            lock = store.sweep_lock()
        async with lock as held:
            sys.stdout.write(f"held {held}\\n")
            sys.stdout.flush()
            await asyncio.to_thread(sys.stdin.readline)
        await store.close()

    asyncio.run(main())
    """
)


async def _spawn(path: Path, which: str) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _HOLDER,
        str(path),
        which,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 20)
    return proc, line.decode().strip()


async def _release(proc: asyncio.subprocess.Process) -> None:
    assert proc.stdin is not None
    proc.stdin.write(b"\n")
    await proc.stdin.drain()
    assert await asyncio.wait_for(proc.wait(), 10) == 0


async def _kill(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGKILL)
    assert await proc.wait() == -signal.SIGKILL


async def test_refresh_lock_excludes_another_process(sqlite_backend: SqliteBackend) -> None:
    store = await sqlite_backend.make()
    proc, line = await _spawn(sqlite_backend.path, "refresh")
    assert line == "held None"
    order: list[str] = []

    async def enter() -> None:
        async with store.refresh_lock(ALICE):
            order.append("parent in")

    task = asyncio.create_task(enter())
    await asyncio.sleep(0.15)  # several poll rounds
    order.append("child releases")
    await _release(proc)
    await asyncio.wait_for(task, 10)
    assert order == ["child releases", "parent in"]


async def test_a_killed_holder_frees_the_refresh_lock_at_once(sqlite_backend: SqliteBackend) -> None:
    store = await sqlite_backend.make()  # waits up to 60 s: only the OS can make this fast
    impatient = await sqlite_backend.make(lock_timeout=0.2)
    proc, _ = await _spawn(sqlite_backend.path, "refresh")
    with pytest.raises(TimeoutError):
        async with impatient.refresh_lock(ALICE):
            pass  # the child really holds it
    await _kill(proc)
    started = time.monotonic()
    async with store.refresh_lock(ALICE):
        waited = time.monotonic() - started
    assert waited < 2.0, f"took {waited:.2f} s: a dead holder must not block anyone"


async def test_one_process_holds_the_sweep_lock_and_a_killed_one_frees_it(
    sqlite_backend: SqliteBackend,
) -> None:
    store = await sqlite_backend.make()
    first, line = await _spawn(sqlite_backend.path, "sweep")
    assert line == "held True"
    async with store.sweep_lock() as held:
        assert held is False
    second, line = await _spawn(sqlite_backend.path, "sweep")
    assert line == "held False"
    await _release(second)
    await _kill(first)
    async with store.sweep_lock() as held:
        assert held is True
        third, line = await _spawn(sqlite_backend.path, "sweep")
        assert line == "held False"
        await _release(third)
