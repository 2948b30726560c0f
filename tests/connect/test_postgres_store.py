"""The PostgreSQL store: the shared contract on the real database (a throwaway schema per test), the
version-1 migration, failing fast while the database is away and recovering when it is back (through
a loopback forwarder that can go away; the machine's PostgreSQL is never stopped), advisory locks."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mcp_livechat.connect.crypto import Sealer
from mcp_livechat.connect.postgres_store import PostgresTokenStore
from mcp_livechat.connect.store import StoreUnavailable
from mcp_livechat.connect.stores import open_store
from mcp_livechat.errors import ConfigurationError, TransportError
from tests.connect.store_contract import StoreContract
from tests.connect.store_kit import (
    ALICE,
    BOB,
    KEY_A,
    REPO,
    PostgresBackend,
    make_token,
    unused_port,
)


class TestPostgresContract(StoreContract):
    @pytest.fixture
    def backend(self, postgres_backend: PostgresBackend) -> PostgresBackend:
        return postgres_backend


async def test_tables_live_in_the_given_schema(postgres_backend: PostgresBackend) -> None:
    store = await postgres_backend.make()
    await store.put(ALICE, make_token())
    rows = await postgres_backend.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = %s ORDER BY table_name, ordinal_position",
        (postgres_backend.schema,),
    )
    columns = {(t, c): d for t, c, d in rows}
    assert {t for t, _ in columns} == {"livechat_meta", "livechat_pending", "livechat_tokens"}
    assert columns["livechat_tokens", "sealed"] == "bytea"
    assert columns["livechat_tokens", "state_at"] == "timestamp with time zone"
    assert columns["livechat_pending", "state_hash"] == "text"
    assert ("livechat_pending", "created_at") in columns
    assert await postgres_backend.execute("SELECT value FROM {schema}.livechat_meta") == [("3",)]


_V1_DDL = [
    "CREATE SCHEMA {schema}",
    "CREATE TABLE {schema}.livechat_meta (name text PRIMARY KEY, value text NOT NULL)",
    "CREATE TABLE {schema}.livechat_tokens (tenant text NOT NULL, user_id text NOT NULL, sealed bytea NOT NULL,"
    " key_id text NOT NULL, expires_at timestamptz NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (tenant, user_id))",
    "CREATE TABLE {schema}.livechat_pending (state_hash text PRIMARY KEY, tenant text NOT NULL,"
    " user_id text NOT NULL, sealed bytea NOT NULL, key_id text NOT NULL, expires_at timestamptz NOT NULL)",
    "CREATE INDEX livechat_pending_expires_at ON {schema}.livechat_pending (expires_at)",
    "INSERT INTO {schema}.livechat_meta (name, value) VALUES ('schema_version', '1')",
]


async def test_a_version_1_schema_is_migrated_in_place(postgres_backend: PostgresBackend) -> None:
    for statement in _V1_DDL:
        await postgres_backend.execute(statement)
    sealer, token = Sealer([KEY_A]), make_token()
    await postgres_backend.execute(
        "INSERT INTO {schema}.livechat_tokens (tenant, user_id, sealed, key_id, expires_at, updated_at)"
        " VALUES ('acme', 'alice', %s, %s, to_timestamp(%s), to_timestamp(1700000000))",
        (sealer.seal(ALICE, token.to_bytes()), sealer.primary_key_id, token.expires_at),
    )
    store = await postgres_backend.make()
    assert await store.get(ALICE) == token
    (grant,) = await store.list_grants()
    assert (grant.state, grant.state_at, grant.updated_at) == ("connected", 1_700_000_000.0, 1_700_000_000.0)
    assert await postgres_backend.execute("SELECT value FROM {schema}.livechat_meta") == [("3",)]
    # a version-1 replica still running writes only version-1 columns: that keeps working
    await postgres_backend.execute(
        "INSERT INTO {schema}.livechat_tokens (tenant, user_id, sealed, key_id, expires_at)"
        " VALUES ('acme', 'bob', %s, %s, now())",
        (sealer.seal(BOB, token.to_bytes()), sealer.primary_key_id),
    )
    assert [(g.user, g.state) for g in await store.list_grants()] == [
        ("alice", "connected"),
        ("bob", "connected"),
    ]
    await postgres_backend.make()  # a second opening changes nothing


async def test_replicas_opening_together_create_the_schema_once(postgres_backend: PostgresBackend) -> None:
    stores = [
        PostgresTokenStore(postgres_backend.url, Sealer([KEY_A]), schema=postgres_backend.schema)
        for _ in range(4)
    ]
    postgres_backend.stores.extend(stores)
    await asyncio.gather(*(s.open() for s in stores))
    await stores[0].put(ALICE, make_token())
    assert all(await asyncio.gather(*(s.ping() for s in stores)))


async def test_a_cancelled_waiter_does_not_keep_the_lock(postgres_backend: PostgresBackend) -> None:
    holder, waiter_store, later = [await postgres_backend.make() for _ in range(3)]

    async def wait_for_lock() -> None:
        async with waiter_store.refresh_lock(ALICE):
            raise AssertionError("entered while the holder held the lock")

    async with holder.refresh_lock(ALICE):
        waiter = asyncio.create_task(wait_for_lock())
        await postgres_backend.wait_until_blocked(waiter_store, ALICE)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    async with asyncio.timeout(10), later.refresh_lock(ALICE), waiter_store.refresh_lock(BOB):
        pass


async def test_lock_wait_times_out(postgres_backend: PostgresBackend) -> None:
    holder = await postgres_backend.make()
    waiter = await postgres_backend.make(lock_timeout=0.05)
    async with holder.refresh_lock(ALICE):
        with pytest.raises(TimeoutError):
            async with waiter.refresh_lock(ALICE):
                pass


async def test_statements_are_bounded_but_the_refresh_wait_is_not(postgres_backend: PostgresBackend) -> None:
    store = await postgres_backend.make(timeout=0.3)
    holder = await postgres_backend.make()
    await store.put(ALICE, make_token())
    import psycopg

    async with await psycopg.AsyncConnection.connect(postgres_backend.url) as blocker:
        await blocker.execute(
            f'LOCK TABLE "{postgres_backend.schema}".livechat_tokens IN ACCESS EXCLUSIVE MODE'
        )
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await store.get(ALICE)  # stuck behind the lock: statement_timeout cancels it
        assert time.monotonic() - started < 3
        await blocker.rollback()
    async with holder.refresh_lock(ALICE):
        waiter = asyncio.create_task(_enter_after(store))
        await asyncio.sleep(1.0)  # longer than the store's statement timeout
        assert not waiter.done()
    assert await asyncio.wait_for(waiter, 10) == "in"


async def _enter_after(store: PostgresTokenStore) -> str:
    async with store.refresh_lock(ALICE):
        return "in"


# ------------------------------------------------------------------------- when the database is away


class Forwarder:
    """A loopback TCP forwarder to PostgreSQL on `port`: `start()` is the database coming back,
    `stop()` it going away (every forwarded connection is cut)."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers += [writer, up_writer]
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.transport.abort()


def _via(pg_url: str, port: int) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(pg_url, host="127.0.0.1", port=str(port))


def _target(pg_url: str) -> tuple[str, int]:
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(pg_url)
    return str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432)


async def test_an_unreachable_database_fails_fast_with_one_clear_error() -> None:
    store = PostgresTokenStore(f"postgresql://postgres@127.0.0.1:{unused_port()}/test", Sealer([KEY_A]))
    started = time.monotonic()
    assert await store.ping() is False
    assert "did not answer within 2 s" in (await store.unreachable() or "")
    assert time.monotonic() - started < 3
    for operation in (store.get(ALICE), store.put(ALICE, make_token()), store.list_grants(), store.open()):
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match=r"token store is unreachable.*retry shortly") as info:
            await operation
        assert time.monotonic() - started < 3
        assert isinstance(info.value, TransportError)
    started = time.monotonic()  # twenty callers at once wait for one attempt, not twenty in a row
    results = await asyncio.gather(*(store.get(ALICE) for _ in range(20)), return_exceptions=True)
    assert all(isinstance(r, StoreUnavailable) for r in results) and time.monotonic() - started < 3
    await store.close()
    secret_url = "postgresql://postgres:hunter2@127.0.0.1:1/test"
    assert "hunter2" not in repr(PostgresTokenStore(secret_url, Sealer([KEY_A])))


async def test_a_database_that_accepts_but_never_answers_fails_within_the_timeout() -> None:
    silent: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.append(writer)  # a hung server: the connection is open, nothing ever comes back

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    store = PostgresTokenStore(f"postgresql://postgres@127.0.0.1:{port}/test", Sealer([KEY_A]), timeout=0.5)
    try:
        started = time.monotonic()
        assert await store.ping() is False
        assert time.monotonic() - started < 3
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await store.get(ALICE)
        assert time.monotonic() - started < 3
    finally:
        await store.close()
        for writer in silent:
            writer.transport.abort()
        server.close()
        await server.wait_closed()


async def test_a_store_started_while_the_database_is_down_works_once_it_is_back(
    postgres_backend: PostgresBackend,
) -> None:
    forwarder = Forwarder(unused_port(), _target(postgres_backend.url))
    store = PostgresTokenStore(
        _via(postgres_backend.url, forwarder.port),
        Sealer([KEY_A]),
        schema=postgres_backend.schema,
        timeout=1.0,
    )
    postgres_backend.stores.append(store)
    with pytest.raises(StoreUnavailable):
        await store.put(ALICE, make_token())  # nothing listens yet
    await forwarder.start()
    try:
        token = make_token()
        await store.put(ALICE, token)  # the very next call connects
        assert await store.get(ALICE) == token
    finally:
        await forwarder.stop()


async def test_a_store_recovers_by_itself_after_an_outage(postgres_backend: PostgresBackend) -> None:
    forwarder = Forwarder(unused_port(), _target(postgres_backend.url))
    await forwarder.start()
    store = await postgres_backend.make(url=_via(postgres_backend.url, forwarder.port), timeout=1.0)
    token = make_token()
    await store.put(ALICE, token)
    await forwarder.stop()  # the database goes away under a running store
    try:
        started = time.monotonic()
        assert await store.ping() is False
        with pytest.raises(StoreUnavailable):
            await store.get(ALICE)
        assert time.monotonic() - started < 6  # two operations, each within about the timeout
    finally:
        await forwarder.start()
    try:
        deadline = time.monotonic() + 15
        while not await store.ping():
            assert time.monotonic() < deadline, "the store did not recover"
            await asyncio.sleep(0.1)
        assert await store.get(ALICE) == token
    finally:
        await forwarder.stop()


# ------------------------------------------------------------------------- the sweep lock

_SWEEPER = textwrap.dedent(
    """
    import asyncio, sys
    from mcp_livechat.connect.crypto import Sealer
    from mcp_livechat.connect.postgres_store import PostgresTokenStore

    async def main():
        store = PostgresTokenStore(sys.argv[1], Sealer([bytes(range(32))]), schema=sys.argv[2])
        async with store.sweep_lock() as held:
            sys.stdout.write(f"held {held}\\n")
            sys.stdout.flush()
            await asyncio.to_thread(sys.stdin.readline)
        await store.close()

    asyncio.run(main())
    """
)


async def test_a_killed_sweeper_frees_the_sweep_lock(postgres_backend: PostgresBackend) -> None:
    store = await postgres_backend.make()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _SWEEPER, postgres_backend.url, postgres_backend.schema,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=REPO,
    )  # fmt: skip
    assert proc.stdout is not None
    assert await asyncio.wait_for(proc.stdout.readline(), 20) == b"held True\n"
    async with store.sweep_lock() as held:
        assert held is False
    proc.send_signal(signal.SIGKILL)
    assert await proc.wait() == -signal.SIGKILL
    deadline = time.monotonic() + 10  # the server notices the closed session and frees its locks
    while True:
        async with store.sweep_lock() as held:
            if held:
                break
        assert time.monotonic() < deadline, "the dead sweeper's lock was never freed"
        await asyncio.sleep(0.05)
    other = await postgres_backend.make()
    async with other.sweep_lock() as theirs:  # released at exit: someone else may take it now
        assert theirs is True


# ------------------------------------------------------------------------- construction


async def test_a_malformed_url_is_a_configuration_error_that_does_not_repeat_it() -> None:
    store = PostgresTokenStore("postgresql://u:hunter2@127.0.0.1/test?no_such_option=1", Sealer([KEY_A]))
    with pytest.raises(ConfigurationError, match="LIVECHAT_TOKEN_STORE") as info:
        await store.open()
    assert "hunter2" not in str(info.value) and info.value.__suppress_context__
    await store.close()


async def test_the_operator_log_says_why_the_database_refused(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from psycopg.conninfo import make_conninfo

    store = PostgresTokenStore(make_conninfo(pg_url, user="no_such_role"), Sealer([KEY_A]))
    with pytest.raises(StoreUnavailable):
        await store.get(ALICE)
    with pytest.raises(StoreUnavailable):
        await store.get(ALICE)
    warnings = [r.getMessage() for r in caplog.records if r.name == "mcp_livechat.connect.postgres_store"]
    assert len(warnings) == 1 and "no_such_role" in warnings[0]  # once per outage, with libpq's reason
    await store.close()


def test_invalid_schema_name_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="schema"):
        PostgresTokenStore("postgresql://x/y", Sealer([KEY_A]), schema="bad; DROP TABLE x")


async def test_open_store_postgres(pg_url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="LIVECHAT_ENCRYPTION_KEY is required"):
        open_store(pg_url, keys=[], default_dir=tmp_path)
    store = open_store(pg_url, keys=[KEY_A], default_dir=tmp_path, timeout=0.5)
    assert isinstance(store, PostgresTokenStore)
    assert (store.schema, store._timeout) == ("public", 0.5)
    await store.close()  # never opened: nothing was created in public


def test_importing_the_stores_does_not_import_drivers_or_cryptography() -> None:
    code = (
        "import sys, mcp_livechat.connect.stores, mcp_livechat.connect.postgres_store,"
        " mcp_livechat.connect.sqlite_store;"
        "print(sorted(m for m in ('psycopg', 'psycopg_pool', 'cryptography', 'filelock') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"
