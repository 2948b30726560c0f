"""Operator commands on the token store, with the server's own configuration variables (SQLite or
PostgreSQL alike):

- `mcp-livechat connections [--json] [--tenant T]`: one row per person (tenant, user, LiveChat
  account and agent e-mail when known, state `connected` / `expiring` / `needs_reconnect` with
  the reason, access-token expiry, last check and its outcome), then the count per state. The
  rows come from the store's clear columns: no token is ever opened or shown.
- `mcp-livechat rotate-key`: re-seals every row under the first key of LIVECHAT_ENCRYPTION_KEY
  (`reseal_all`: short batches, compare-and-swap, so it is safe while servers run and resumable
  if interrupted), with a progress bar on a terminal and one summary line. When no row is left
  under another key, the old keys can be removed from the variable.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from typing import IO, Any

from mcp_livechat.config import Settings, data_dir
from mcp_livechat.connect.connections import REFRESH_MARGIN
from mcp_livechat.connect.health import STATES, grant_counts, grant_state
from mcp_livechat.connect.store import GrantInfo, ResealReport, TokenStore
from mcp_livechat.errors import ConfigurationError

__all__ = ["connections_command", "rotate_key_command"]

_COLUMNS = ("tenant", "user", "account", "agent", "state", "expires", "last check", "outcome")


def _store(settings: Settings) -> TokenStore:
    from mcp_livechat.connect.stores import open_store

    return open_store(
        settings.token_store,
        keys=settings.encryption_keys(),
        default_dir=data_dir(),
        timeout=settings.store_timeout,
    )


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ----------------------------------------------------------------------------- connections


def connections_command(settings: Settings, *, json_output: bool, tenant: str | None) -> str:
    """The text (or JSON) `connections` prints."""
    grants = asyncio.run(_list(settings, tenant))
    now = time.time()
    horizon = now + (settings.health_interval or REFRESH_MARGIN)
    rows = [_row(g, grant_state(g, horizon)) for g in grants]
    counts = grant_counts(grants, horizon)
    if json_output:
        return json.dumps({"connections": rows, "counts": counts}, separators=(",", ":"))
    return _table(rows, counts)


async def _list(settings: Settings, tenant: str | None) -> list[GrantInfo]:
    from mcp_livechat.connect.stores import sqlite_path

    path = sqlite_path(settings.token_store, data_dir())
    if path is not None and not path.exists():
        return []  # nobody ever connected here; listing creates nothing
    store = _store(settings)
    try:
        await store.open()
        return await store.list_grants(tenant)
    finally:
        await store.close()


def _row(grant: GrantInfo, state: str) -> dict[str, Any]:
    return {
        "tenant": grant.tenant,
        "user": grant.user,
        "account_id": grant.account_id,
        "agent_email": grant.agent_email,
        "state": state,
        "reason": grant.state_reason,
        "state_since": _iso(grant.state_at),
        "expires_at": _iso(grant.expires_at),
        "last_check_at": _iso(grant.last_check_at),
        "last_outcome": grant.last_outcome,
        "last_error_type": grant.last_error_type,
    }


def _table(rows: list[dict[str, Any]], counts: dict[str, int]) -> str:
    def cells(r: dict[str, Any]) -> tuple[str, ...]:
        state = r["state"] + (f" ({r['reason']})" if r["reason"] and r["state"] == "needs_reconnect" else "")
        outcome = (r["last_outcome"] or "-") + (f" ({r['last_error_type']})" if r["last_error_type"] else "")
        return (
            r["tenant"], r["user"], r["account_id"] or "-", r["agent_email"] or "-", state,
            r["expires_at"] or "-", r["last_check_at"] or "never", outcome,
        )  # fmt: skip

    table = [_COLUMNS, *(cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(_COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in table]
    total = ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in STATES)
    return "\n".join([*lines, f"{len(rows)} people: {total}"])


# ----------------------------------------------------------------------------- rotate-key


def rotate_key_command(settings: Settings, *, progress: IO[str] | None = None) -> tuple[int, str]:
    """(exit code, the summary line). `progress`: where the bar goes (stderr when it is a terminal)."""
    keys = settings.encryption_keys()
    if not keys:
        raise ConfigurationError(
            "LIVECHAT_ENCRYPTION_KEY: rotate-key re-seals every row under the first key of this variable;"
            " set it to the new key followed by the old one(s): <new>,<old>"
        )
    stream = progress if progress is not None else (sys.stderr if sys.stderr.isatty() else None)
    bar = _Bar(stream) if stream is not None else None
    primary, report = asyncio.run(_reseal(settings, bar))
    if bar is not None:
        bar.done()
    line = (
        f"rotate-key: {report.resealed} row(s) re-sealed under key {primary}, {report.current} already"
        f" under it, {report.unopenable} that no configured key opens"
    )
    if report.unopenable:
        return 1, (
            f"{line}; those stay as they are (configure the key that sealed them and run again, or the"
            " people concerned reconnect): keep the old keys until then"
        )
    return 0, f"{line}; the old key(s) can now be removed from LIVECHAT_ENCRYPTION_KEY"


async def _reseal(settings: Settings, bar: _Bar | None) -> tuple[str, ResealReport]:
    from mcp_livechat.connect.crypto import Sealer

    store = _store(settings)
    try:
        await store.open()
        report = await store.reseal_all(bar.update if bar is not None else None, batch=100)
    finally:
        await store.close()
    return Sealer(settings.encryption_keys()).primary_key_id, report


class _Bar:
    """A one-line progress bar, redrawn in place."""

    WIDTH = 30

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.drawn = False

    def update(self, done: int, total: int) -> None:
        filled = self.WIDTH * done // total if total else self.WIDTH
        self.stream.write(f"\rre-sealing [{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total} rows")
        self.stream.flush()
        self.drawn = True

    def done(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
