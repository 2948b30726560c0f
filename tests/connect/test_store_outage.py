"""When the token store is down the server fails fast and recovers by itself; when the key that
sealed its rows is missing it refuses to start, in one line, and loses nothing.

Real processes and real ports: a PostgreSQL URL at a port nothing listens on, a port that accepts
and never answers, and a proxy in front of the real PostgreSQL that the test cuts and restores.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client

from mcp_livechat.cli import free_port
from mcp_livechat.config import data_dir
from mcp_livechat.connect.identity import LOCAL, Principal
from mcp_livechat.connect.stores import open_store
from mcp_livechat.http_app import create_app
from mcp_livechat.sandbox import constants
from mcp_livechat.server import create_server
from tests.connect.flow_kit import oauth_settings, sandbox_on_port, served, serving, stored_token
from tests.connect.replica_kit import api_keys, keyed_client, pg_store_url, replicas, server_env
from tests.connect.store_kit import PG_URL, unused_port

KEY = "outage-key-0123456789abcdef"


@asynccontextmanager
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts connections and never says a word (a hung database)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        for writer in held:
            writer.close()
        server.close()


class Proxy:
    """TCP proxy to PostgreSQL on a fixed port; `cut()` drops every connection and stops listening;
    `freeze()` keeps every connection open and passes nothing on (a frozen host, a route that
    drops packets) until `thaw()`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()

    def freeze(self) -> None:
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._pipes):
            writer.transport.abort()
        self._pipes.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._pipes |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    await self._flowing.wait()
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.mark.parametrize("kind", ["refused", pytest.param("silent", marks=pytest.mark.slow)])
async def test_with_the_store_down_healthz_and_calls_answer_within_3_s(tmp_path: Path, kind: str) -> None:
    keys = api_keys(tmp_path, [(KEY, "acme", "anna")])
    async with sandbox_on_port() as (_, base, _, _), silent_port() as silent:
        port = unused_port() if kind == "refused" else silent
        store = f"postgresql://postgres@127.0.0.1:{port}/test"
        env = server_env(base, store, LIVECHAT_MCP_AUTH="api-key", LIVECHAT_MCP_API_KEYS_FILE=str(keys))
        async with replicas(tmp_path, [env]) as (server,), httpx2.AsyncClient(timeout=10) as web:
            started = time.monotonic()
            health = await web.get(f"{server.base}/healthz")
            health_seconds = time.monotonic() - started
            async with keyed_client(f"{server.base}/mcp", KEY) as client:
                started = time.monotonic()
                result = await client.call_tool("list_chats", {})
                call_seconds = time.monotonic() - started
                again = await client.call_tool("get_connection_status", {})
            still = await web.get(f"{server.base}/healthz")
            assert server.proc is not None and server.proc.poll() is None  # still serving
    assert health.status_code == 503 and health_seconds < 3, health_seconds
    body = health.json()
    assert body["status"] == "degraded" and body["store"] == "unreachable" and "token store" in body["reason"]
    assert result.is_error and call_seconds < 3, call_seconds
    text = result.content[0].text  # type: ignore[union-attr]
    assert "token store is unreachable" in text and "retry" in text
    assert again.is_error and "retry" in again.content[0].text  # type: ignore[union-attr]
    assert still.status_code == 503


async def proxied_store(pg_schema: str) -> tuple[Proxy, str]:
    """A started proxy in front of the real PostgreSQL, and the store URL (schema `pg_schema`) through it."""
    host, _, rest = PG_URL.partition("@")[2].partition(":")
    proxy = Proxy((host, int(rest.partition("/")[0])))
    await proxy.start()
    url = pg_store_url(
        pg_schema, PG_URL.replace(f"{host}:{rest.partition('/')[0]}", f"127.0.0.1:{proxy.port}")
    )
    return proxy, url


@asynccontextmanager
async def signed_in_server(
    tmp: Path, url: str, **overrides: Any
) -> AsyncIterator[tuple[str, httpx2.AsyncClient, Client, Any]]:
    """A server on the store at `url` with the owner's token stored and /healthz ok (the pool
    warm): (MCP base URL, a web client, an MCP client, the runtime)."""
    async with sandbox_on_port() as (sb, base, port, _):
        settings = oauth_settings(base, tmp, token_store=url, **overrides)
        built = create_server(settings, public_url=f"http://127.0.0.1:{port}")
        app = create_app(built, settings, transport="http", host="127.0.0.1")
        async with (
            served(app, port) as mcp,
            httpx2.AsyncClient(timeout=30) as web,
            Client(f"{mcp}/mcp") as client,
        ):
            store = built.runtime.store
            assert store is not None
            await store.put(
                LOCAL, stored_token(sb.mint_token(constants.AGENT_EMAIL), expires_at=time.time() + 28800)
            )
            assert (await web.get(f"{mcp}/healthz")).json()["status"] == "ok"
            yield mcp, web, client, built.runtime


async def recovered(web: httpx2.AsyncClient, mcp: str, within: float) -> None:
    deadline = time.monotonic() + within
    while (await web.get(f"{mcp}/healthz")).status_code != 200:
        assert time.monotonic() < deadline, "the server did not recover"
        await asyncio.sleep(0.2)


async def test_the_server_recovers_by_itself_when_the_store_comes_back(
    tmp_path: Path, pg_schema: str
) -> None:
    proxy, url = await proxied_store(pg_schema)
    async with signed_in_server(tmp_path, url) as (mcp, web, client, runtime):
        await proxy.cut()  # PostgreSQL goes away under a running server
        runtime.oauth_connections._cache.clear()  # a replica that has not cached the token yet
        started = time.monotonic()
        down = await web.get(f"{mcp}/healthz")
        failed = await client.call_tool("list_groups", {})
        outage_seconds = time.monotonic() - started

        await proxy.start()  # and comes back
        await recovered(web, mcp, 15)
        again = await client.call_tool("list_groups", {})
    await proxy.cut()
    assert down.status_code == 503 and down.json()["store"] == "unreachable"
    assert failed.is_error and "retry" in failed.content[0].text  # type: ignore[union-attr]
    assert outage_seconds < 6  # two answers, each within the store timeout (2 s) and the budget
    assert not again.is_error, again.content


@pytest.mark.slow
async def test_a_database_gone_silent_mid_statement_is_given_up_on_time(
    tmp_path: Path, pg_schema: str
) -> None:
    """Connections that stay open while nothing comes back (no refusal, no server-side timeout
    can fire): /healthz still answers within 3 s, a call that needs the store fails within the
    store's deadline (twice LIVECHAT_STORE_TIMEOUT and a second), and both recover by themselves."""
    proxy, url = await proxied_store(pg_schema)
    async with signed_in_server(tmp_path, url, store_timeout=1.0) as (mcp, web, client, runtime):
        proxy.freeze()
        runtime.oauth_connections._cache.clear()  # the token must come from the store
        started = time.monotonic()
        live = await web.get(f"{mcp}/livez")  # no I/O: a liveness probe never restarts it for this
        live_seconds = time.monotonic() - started
        started = time.monotonic()
        down = await web.get(f"{mcp}/healthz")
        health_seconds = time.monotonic() - started
        started = time.monotonic()
        failed = await client.call_tool("list_groups", {})
        call_seconds = time.monotonic() - started

        proxy.thaw()
        await recovered(web, mcp, 20)
        again = await client.call_tool("list_groups", {})
    await proxy.cut()
    assert live.status_code == 200 and live.json()["status"] == "alive" and live_seconds < 1
    assert down.status_code == 503 and health_seconds < 3, health_seconds
    assert failed.is_error and "retry" in failed.content[0].text  # type: ignore[union-attr]
    assert call_seconds < 3 + 1.5, call_seconds  # the deadline (2 x 1 s + 1 s), and some slack
    assert not again.is_error, again.content


async def test_with_the_store_down_a_cached_token_keeps_working_and_an_uncached_one_waits(
    tmp_path: Path, pg_schema: str
) -> None:
    """README: with PostgreSQL down, calls of people whose token the replica already holds keep
    working; the others are told the store is unreachable and to retry shortly."""
    anna, bob = Principal("acme", "anna"), Principal("acme", "bob")
    keys = api_keys(tmp_path, [("anna-key", anna.tenant, anna.user), ("bob-key", bob.tenant, bob.user)])
    proxy, url = await proxied_store(pg_schema)
    async with sandbox_on_port() as (sb, base, _, _):
        settings = oauth_settings(base, tmp_path, token_store=url, mcp_auth="api-key", mcp_api_keys_file=keys)
        async with serving(settings) as (mcp, runtime):
            assert runtime.store is not None
            for who, email in ((anna, constants.AGENT_EMAIL), (bob, constants.NORMAL_AGENT_EMAIL)):
                minted = sb.mint_token(email)
                await runtime.store.put(who, stored_token(minted, expires_at=time.time() + 28800))
            async with keyed_client(f"{mcp}/mcp", "anna-key") as as_anna:
                before = await as_anna.call_tool("list_groups", {})  # anna's token is now in memory
                await proxy.cut()
                during = await as_anna.call_tool("list_groups", {})
            async with keyed_client(f"{mcp}/mcp", "bob-key") as as_bob:
                uncached = await as_bob.call_tool("list_groups", {})
    assert not before.is_error, before.content
    assert not during.is_error, during.content
    assert during.structured_content == before.structured_content
    assert uncached.is_error
    text = uncached.content[0].text  # type: ignore[union-attr]
    assert "token store is unreachable" in text and text.endswith("retry shortly")


def _xdg_env(tmp: Path, base: str, **extra: str) -> dict[str, str]:
    env = server_env(base, "", XDG_DATA_HOME=str(tmp / "xdg"), **extra)
    del env["LIVECHAT_TOKEN_STORE"], env["LIVECHAT_ENCRYPTION_KEY"]
    return env


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_a_missing_key_file_beside_sealed_rows_refuses_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    store = open_store(None, keys=[], default_dir=data_dir())  # the default store and its key file
    await store.put(LOCAL, stored_token({"access_token": "a", "refresh_token": "r", "scope": "", "account_id": "x",
                                         "organization_id": "o"}, expires_at=time.time() + 3600))  # fmt: skip
    await store.close()
    key_file, db = data_dir() / "encryption.key", data_dir() / "tokens.db"
    key_file.unlink()  # lost in a move, or the database copied without it

    env = _xdg_env(tmp_path, "http://127.0.0.1:9")
    port = str(free_port())
    args = ["serve"] if transport == "stdio" else ["serve", "--transport", "http", "--port", port]
    out = subprocess.run(
        [sys.executable, "-m", "mcp_livechat", *args], input="", capture_output=True, text=True, timeout=60,
        env=env, check=False,
    )  # fmt: skip
    assert out.returncode == 2 and out.stdout == ""
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith("mcp-livechat: configuration error: LIVECHAT_ENCRYPTION_KEY: the key file")
    assert str(key_file) in line and str(db) in line
    assert not key_file.exists()  # no new key next to rows it cannot open
    assert os.path.getsize(db) > 0


async def test_a_missing_key_does_not_stop_a_start_without_rows(tmp_path: Path) -> None:
    async with sandbox_on_port() as (_, base, _, _):
        env = _xdg_env(tmp_path, base)
        async with replicas(tmp_path, [env]) as (server,), httpx2.AsyncClient() as web:
            assert (await web.get(f"{server.base}/healthz")).json()["status"] == "ok"
    assert (tmp_path / "xdg" / "mcp-livechat" / "encryption.key").exists()


def test_only_postgresqls_refusals_of_this_server_count_as_configuration() -> None:
    """Its FATAL answers about a role, password or database no wait cures stop the start; its
    FATAL answers of a server starting, recovering or full are outages, waited out."""
    from mcp_livechat.connect.postgres_store import refusal_of

    at = 'connection failed: connection to server at "db", port 5432 failed: '
    refused = [
        'FATAL:  database "mcp" does not exist',
        'FATAL:  role "mcp" does not exist',
        'FATAL:  password authentication failed for user "mcp"',
        'FATAL:  no pg_hba.conf entry for host "10.0.0.5", user "mcp", database "mcp", no encryption',
        'FATAL:  permission denied for database "mcp"',
    ]
    waited = [
        "FATAL:  the database system is starting up",
        "FATAL:  the database system is in recovery mode",
        "FATAL:  sorry, too many clients already",
        "Connection refused",
        "timeout expired",
    ]
    assert all(refusal_of(at + r) == " ".join(r.split()) for r in refused)
    assert all(refusal_of(at + r) is None for r in waited)
