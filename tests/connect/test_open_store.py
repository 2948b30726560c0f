"""`open_store`: which backend a LIVECHAT_TOKEN_STORE URL names, the SQLite key file, and never
losing stored sign-ins to a lost or wrong key; `config.data_dir()`, where the default lives."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from mcp_livechat.config import data_dir
from mcp_livechat.connect.crypto import Sealer
from mcp_livechat.connect.postgres_store import PostgresTokenStore
from mcp_livechat.connect.sqlite_store import SqliteTokenStore
from mcp_livechat.connect.stores import open_store
from mcp_livechat.errors import ConfigurationError
from tests.connect.store_kit import ALICE, KEY_A, KEY_B, make_pending, make_token


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


async def test_no_new_key_file_beside_a_database_that_holds_sign_ins(tmp_path: Path) -> None:
    default = tmp_path / "default"
    store = open_store(None, keys=[], default_dir=default)
    await store.put(ALICE, make_token())
    await store.close()
    key_file, db_file = default / "encryption.key", default / "tokens.db"
    key_file.rename(tmp_path / "backup.key")  # lost, or the database was copied without it
    with pytest.raises(ConfigurationError) as info:
        open_store(None, keys=[], default_dir=default)
    message = str(info.value)
    assert str(key_file) in message and str(db_file) in message and "\n" not in message
    assert "restore the key file or set LIVECHAT_ENCRYPTION_KEY" in message
    assert not key_file.exists()  # nothing was created

    (tmp_path / "backup.key").rename(key_file)  # restored: everything is there again
    again = open_store(None, keys=[], default_dir=default)
    assert await again.get(ALICE) is not None
    await again.close()


async def test_a_live_pending_row_also_keeps_the_key_file_from_being_replaced(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    store = open_store(url, keys=[], default_dir=tmp_path / "unused")
    await store.put_pending(make_pending())
    await store.close()
    (tmp_path / "encryption.key").unlink()
    with pytest.raises(ConfigurationError, match=r"encryption\.key is missing"):
        open_store(url, keys=[], default_dir=tmp_path / "unused")


async def test_keys_that_sealed_none_of_the_rows_are_refused(tmp_path: Path) -> None:
    store = open_store(None, keys=[KEY_A], default_dir=tmp_path)
    await store.put(ALICE, make_token())
    await store.close()
    with pytest.raises(ConfigurationError, match=f"key id {Sealer([KEY_A]).primary_key_id}"):
        open_store(None, keys=[KEY_B], default_dir=tmp_path)
    rotated = open_store(None, keys=[KEY_B, KEY_A], default_dir=tmp_path)  # a rotation is fine
    assert await rotated.get(ALICE) is not None
    await rotated.close()


@pytest.mark.parametrize("url", ["mysql://db/x", "sqlite://", "sqlite:///:memory:", "tokens.db", "redis://x"])
def test_open_store_rejects_other_urls(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigurationError, match="LIVECHAT_TOKEN_STORE"):
        open_store(url, keys=[KEY_A], default_dir=tmp_path)


def test_open_store_postgres_needs_a_key_and_connects_on_first_use(tmp_path: Path) -> None:
    for url in ("postgresql://u@h/db", "postgres://u@h/db"):
        with pytest.raises(ConfigurationError, match="LIVECHAT_ENCRYPTION_KEY is required"):
            open_store(url, keys=[], default_dir=tmp_path)
        assert isinstance(open_store(url, keys=[KEY_A], default_dir=tmp_path), PostgresTokenStore)
    assert not os.listdir(tmp_path)  # nothing written, nothing connected


@pytest.mark.parametrize(
    ("url", "schema"),
    [
        ("postgresql://u@h/db", "public"),
        ("postgresql://u@h/db?options=-csearch_path%3Dmcp", "mcp"),
        (
            "postgresql://u@h/db?sslmode=require&options=-c%20search_path%3D%22%24user%22%2Ctenant_a",
            "tenant_a",
        ),
        ("postgresql://u@h/db?options=-cstatement_timeout%3D5s", "public"),
    ],
)
def test_the_postgresql_schema_is_the_first_of_the_urls_search_path(url: str, schema: str) -> None:
    store = open_store(url, keys=[KEY_A], default_dir=Path("/nonexistent"))
    assert isinstance(store, PostgresTokenStore) and store.schema == schema


def test_a_search_path_that_is_no_schema_name_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="schema"):
        open_store("postgresql://u@h/db?options=-csearch_path%3Dx;drop", keys=[KEY_A], default_dir=Path("/x"))


@pytest.mark.skipif(sys.platform != "linux", reason="the XDG base directories are Linux's")
def test_data_dir_is_the_xdg_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_dir() == tmp_path / "xdg" / "mcp-livechat"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert data_dir() == tmp_path / "home" / ".local" / "share" / "mcp-livechat"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/path")  # the XDG spec says: ignore it
    assert data_dir() == tmp_path / "home" / ".local" / "share" / "mcp-livechat"
    assert not (tmp_path / "home").exists()  # asking creates nothing
