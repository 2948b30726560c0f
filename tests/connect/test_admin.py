"""The operator's commands, as real processes with the server's variables, on SQLite and
PostgreSQL: `connections [--json] [--tenant T]` (who, in which state, never a token) and
`rotate-key` (every row re-sealed under the new key, resumable, one summary line)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mcp_livechat.admin import rotate_key_command
from mcp_livechat.config import load_settings
from mcp_livechat.connect.identity import Principal
from mcp_livechat.connect.store_base import BaseTokenStore
from tests.connect.flow_kit import KEY_1, KEY_2
from tests.connect.replica_kit import command, connections_json, pg_store_url
from tests.connect.store_kit import PG_URL, Backend, PostgresBackend, SqliteBackend, make_pending, make_token

KEY_3 = base64.b64encode(b"3" * 32).decode()
ALICE, BOB, CAROL, DAN = (Principal("acme", n) for n in ("alice", "bob", "carol", "dan"))
ERIN = Principal("globex", "erin")


@pytest.fixture(params=["sqlite", "postgres"])
async def store_at(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[Backend, str]]:
    """A backend and the LIVECHAT_TOKEN_STORE that names it."""
    if request.param == "sqlite":
        path = tmp_path / "data" / "tokens.db"
        backend: Backend = SqliteBackend(path)
        url = f"sqlite:///{path}"
    else:
        schema = request.getfixturevalue("pg_schema")
        backend = PostgresBackend(request.getfixturevalue("pg_url"), schema)
        url = pg_store_url(schema, PG_URL)
    yield backend, url
    await backend.close_all()


def env_for(url: str, keys: str | None = KEY_1) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVECHAT_")}
    env["LIVECHAT_TOKEN_STORE"] = url
    if keys is not None:
        env["LIVECHAT_ENCRYPTION_KEY"] = keys
    return env


async def _people(store: BaseTokenStore) -> list[str]:
    tokens = {
        ALICE: make_token("a"),
        BOB: make_token("b"),
        CAROL: make_token("c", expires_at=time.time() + 60),
        ERIN: make_token("e", account_id=None),
    }
    for who, token in tokens.items():
        await store.put(who, token)
    await store.set_identity(ALICE, account_id="acc-1", agent_email="alice@example.com")
    await store.record_check(ALICE, outcome="ok")
    await store.mark(BOB, state="needs_reconnect", reason="refresh refused (invalid_grant)")
    await store.record_check(BOB, outcome="dead", error_type="invalid_grant")
    return [s for t in tokens.values() for s in (t.access_token, str(t.refresh_token))]


async def test_connections_lists_people_and_states_without_tokens(store_at: tuple[Backend, str]) -> None:
    backend, url = store_at
    secrets = await _people(await backend.make([base64.b64decode(KEY_1)]))
    env = env_for(url)
    view = connections_json(env)
    rows = {(r["tenant"], r["user"]): r for r in view["connections"]}
    assert list(rows) == [("acme", "alice"), ("acme", "bob"), ("acme", "carol"), ("globex", "erin")]
    alice, bob, carol = rows["acme", "alice"], rows["acme", "bob"], rows["acme", "carol"]
    assert (alice["state"], alice["account_id"], alice["agent_email"]) == (
        "connected",
        "acc-1",
        "alice@example.com",
    )
    assert alice["last_outcome"] == "ok" and alice["last_check_at"].endswith("Z")
    assert (bob["state"], bob["reason"], bob["last_error_type"]) == (
        "needs_reconnect",
        "refresh refused (invalid_grant)",
        "invalid_grant",
    )
    assert carol["state"] == "expiring" and carol["last_check_at"] is None
    assert view["counts"] == {"connected": 2, "expiring": 1, "needs_reconnect": 1}
    only = connections_json(env, "--tenant", "globex")
    assert [r["user"] for r in only["connections"]] == ["erin"] and only["counts"]["connected"] == 1

    table = command(env, "connections")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.strip().splitlines()
    assert lines[0].split() == [
        "tenant",
        "user",
        "account",
        "agent",
        "state",
        "expires",
        "last",
        "check",
        "outcome",
    ]
    assert (
        "needs_reconnect (refresh refused (invalid_grant))" in table.stdout
        and "dead (invalid_grant)" in table.stdout
    )
    assert lines[-1] == "4 people: 2 connected, 1 expiring, 1 needs reconnect"
    for secret in secrets:
        assert secret not in table.stdout and secret not in json.dumps(view)


async def test_rotate_key_reseals_every_row_under_the_new_key(store_at: tuple[Backend, str]) -> None:
    backend, url = store_at
    old = await backend.make([base64.b64decode(KEY_1)])
    await _people(old)
    pending = make_pending(DAN)
    await old.put_pending(pending)
    await old.close()

    out = command(env_for(url, f"{KEY_2},{KEY_1}"), "rotate-key")
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("\n") == 1 and out.stdout.startswith("rotate-key: 5 row(s) re-sealed under key ")
    assert "can now be removed" in out.stdout and out.stderr == ""  # no bar without a terminal

    new_only = await backend.make([base64.b64decode(KEY_2)])
    for who in (ALICE, BOB, CAROL, ERIN):
        assert await new_only.get(who) is not None
    assert await new_only.peek_pending(pending.state) is not None
    again = command(env_for(url, f"{KEY_2},{KEY_1}"), "rotate-key")
    assert (
        again.returncode == 0
        and "0 row(s) re-sealed" in again.stdout
        and "5 already under it" in again.stdout
    )


async def test_rotate_key_shows_progress_and_names_rows_it_cannot_open(tmp_path: Path) -> None:
    backend = SqliteBackend(tmp_path / "tokens.db")
    under_1 = await backend.make([base64.b64decode(KEY_1)])
    for i in range(250):
        await under_1.put(Principal("acme", f"p{i:03}"), make_token(str(i)))
    under_3 = await backend.make([base64.b64decode(KEY_3), base64.b64decode(KEY_1)])
    await under_3.put(Principal("acme", "lost"), make_token("lost"))
    await backend.close_all()

    settings = load_settings(
        token_store=f"sqlite:///{tmp_path / 'tokens.db'}", encryption_key=f"{KEY_2},{KEY_1}"
    )
    bar = io.StringIO()
    code, line = await asyncio.to_thread(rotate_key_command, settings, progress=bar)  # it runs its own loop
    assert code == 1 and "250 row(s) re-sealed" in line and "1 that no configured key opens" in line
    assert "keep the old keys" in line
    frames = bar.getvalue().split("\r")[1:]
    assert (
        len(frames) == 3 and frames[-1].startswith("re-sealing [") and frames[-1].endswith("251/251 rows\n")
    )


def test_rotate_key_needs_the_new_key_first(tmp_path: Path) -> None:
    out = command(env_for(f"sqlite:///{tmp_path / 'tokens.db'}", None), "rotate-key")
    assert out.returncode == 2 and out.stdout == ""
    (line,) = out.stderr.strip().splitlines()
    assert "LIVECHAT_ENCRYPTION_KEY" in line and "<new>,<old>" in line


def test_connections_without_a_store_lists_nobody_and_creates_nothing(tmp_path: Path) -> None:
    view = connections_json(env_for(f"sqlite:///{tmp_path / 'nowhere' / 'tokens.db'}", None))
    assert view == {"connections": [], "counts": {"connected": 0, "expiring": 0, "needs_reconnect": 0}}
    assert not (tmp_path / "nowhere").exists()
