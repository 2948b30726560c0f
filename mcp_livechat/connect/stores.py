"""`open_store`: the token store LIVECHAT_TOKEN_STORE names, with its keys (the only module that knows
both backends; `store` imports neither).

Without LIVECHAT_ENCRYPTION_KEY, SQLite uses (creating it if needed) a 0600 key file,
``encryption.key``, next to the database, but never creates one beside a database that already
holds sealed rows: a new key would silently orphan every stored sign-in (the key file was lost or
the database copied without it), so that is refused with both paths named.

PostgreSQL keeps its tables in the schema the URL's search path names first
(``?options=-csearch_path%3Dmcp`` puts them in ``mcp``; the store creates it), else ``public``:
several deployments can share one database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from mcp_livechat.connect.store import TokenStore
from mcp_livechat.errors import ConfigurationError

__all__ = ["open_store", "postgres_schema", "sqlite_path"]

_SEARCH_PATH = re.compile(r"-c\s*search_path\s*=\s*(\S+)")


def open_store(
    url: str | None, *, keys: Sequence[bytes], default_dir: Path, timeout: float = 2.0
) -> TokenStore:
    """Build the store named by LIVECHAT_TOKEN_STORE.

    - None / "" -> SQLite at ``default_dir / "tokens.db"``;
    - ``sqlite:///abs/path.db`` -> SQLite at ``/abs/path.db``; ``sqlite:relative.db`` or
      ``sqlite://relative/path.db`` -> relative to the working directory; ``~`` is expanded;
    - ``postgresql://...`` / ``postgres://...`` -> PostgreSQL (a libpq URL); it needs keys, and
      connects on first use (or `await open()`), so a server starts while the database is down.

    `timeout` (seconds) bounds each store operation (SQLite's busy timeout; PostgreSQL's connect,
    pool and statement timeouts).
    """
    url = (url or "").strip()
    db_path = sqlite_path(url, default_dir)
    if db_path is not None:
        return _sqlite(db_path, keys, timeout)
    scheme = url.partition(":")[0].lower() if ":" in url else ""
    if scheme in ("postgresql", "postgres"):
        if not keys:
            raise ConfigurationError(
                "LIVECHAT_ENCRYPTION_KEY is required with a PostgreSQL token store (LIVECHAT_TOKEN_STORE): "
                "set it to base64 of 32 random bytes, shared by every replica"
            )
        from mcp_livechat.connect.crypto import Sealer
        from mcp_livechat.connect.postgres_store import PostgresTokenStore

        return PostgresTokenStore(url, Sealer(keys), schema=postgres_schema(url), timeout=timeout)
    raise ConfigurationError(
        f"LIVECHAT_TOKEN_STORE: unsupported scheme {scheme or '(none)'!r}; "
        "use sqlite:///path/to/tokens.db or postgresql://user@host/db"
    )


def sqlite_path(url: str | None, default_dir: Path) -> Path | None:
    """The SQLite file LIVECHAT_TOKEN_STORE names (see `open_store`), None for another scheme."""
    url = (url or "").strip()
    if not url:
        return Path(default_dir).expanduser() / "tokens.db"
    if url.partition(":")[0].lower() == "sqlite" and ":" in url:
        return _sqlite_path(url)
    return None


def _sqlite(db_path: Path, keys: Sequence[bytes], timeout: float) -> TokenStore:
    from mcp_livechat.connect.crypto import Sealer, load_or_create_key_file
    from mcp_livechat.connect.sqlite_store import SqliteTokenStore, sealed_key_ids

    if keys:
        return SqliteTokenStore(db_path, Sealer(keys), timeout=timeout)
    key_path = db_path.parent / "encryption.key"
    if not key_path.exists() and sealed_key_ids(db_path):
        raise ConfigurationError(
            f"LIVECHAT_ENCRYPTION_KEY: the key file {key_path} is missing but {db_path} holds sealed"
            " sign-ins; restore the key file or set LIVECHAT_ENCRYPTION_KEY (a new key would make every"
            " stored sign-in unreadable)"
        )
    return SqliteTokenStore(db_path, Sealer([load_or_create_key_file(key_path)]), timeout=timeout)


def _sqlite_path(url: str) -> Path:
    rest = url.split(":", 1)[1]
    if rest.startswith("//"):
        rest = rest[2:]
        if rest.startswith("/"):
            rest = "/" + rest.lstrip("/")
    if not rest or "?" in rest or rest in (":memory:", "/:memory:"):
        raise ConfigurationError(
            "LIVECHAT_TOKEN_STORE: a SQLite store needs a file path, e.g. sqlite:///var/lib/mcp-livechat/tokens.db"
        )
    return Path(rest).expanduser()


def postgres_schema(url: str) -> str:
    """The first schema of the search path in the URL's ``options`` (libpq's ``-c search_path=...``),
    skipping ``"$user"``; ``public`` when there is none."""
    for option in parse_qs(urlsplit(url).query).get("options", []):
        found = _SEARCH_PATH.search(option)
        if found:
            for name in found.group(1).split(","):
                name = name.strip().strip('"')
                if name and name != "$user":
                    return name
    return "public"
