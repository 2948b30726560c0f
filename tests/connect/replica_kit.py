"""Real server processes for the shared-store tests: `mcp-livechat serve --transport http` replicas
(and one-shot commands) with the server's environment variables, API-key callers, and a
PostgreSQL schema of their own. Each process's stderr goes to a file, read back to look for the
log lines a test needs and audited for the sandbox's secrets."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_livechat.cli import free_port
from mcp_livechat.sandbox import Sandbox, constants
from tests.connect.flow_kit import KEY_1
from tests.connect.store_kit import PG_URL
from tests.helpers import interrupt

PY = sys.executable


def pg_store_url(schema: str, url: str = PG_URL) -> str:
    """LIVECHAT_TOKEN_STORE for a PostgreSQL schema of its own (the store creates it)."""
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def api_keys(tmp: Path, people: Iterable[tuple[str, str, str]]) -> Path:
    """A LIVECHAT_MCP_API_KEYS_FILE for (key, tenant, user) triples."""
    path = tmp / "api-keys"
    path.write_text("".join(f"{hashlib.sha256(k.encode()).hexdigest()} {t} {u}\n" for k, t, u in people))
    return path


def server_env(sandbox_base: str, store: str, **extra: str) -> dict[str, str]:
    """The environment of one replica: the sandbox as LiveChat, an OAuth app, a shared store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVECHAT_")}
    env.update(
        LIVECHAT_CLIENT_ID=constants.CLIENT_ID,
        LIVECHAT_CLIENT_SECRET=constants.CLIENT_SECRET,
        LIVECHAT_API_URL=sandbox_base,
        LIVECHAT_ACCOUNTS_URL=f"{sandbox_base}/accounts",
        LIVECHAT_TOKEN_STORE=store,
        LIVECHAT_ENCRYPTION_KEY=KEY_1,
    )
    env.update(extra)
    return env


def keyed_client(url: str, key: str, **kw: Any) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30)
    return Client(streamable_http_client(url, http_client=http), **kw)


@dataclass
class Replica:
    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    args: Sequence[str] = field(default_factory=tuple)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as err:
            self.proc = subprocess.Popen(
                [
                    PY,
                    "-m",
                    "mcp_livechat",
                    "serve",
                    "--transport",
                    "http",
                    "--port",
                    str(self.port),
                    *self.args,
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=self.env,
            )

    async def ready(self, deadline: float = 30.0) -> None:
        async with httpx2.AsyncClient(timeout=5.0) as web:
            until = time.monotonic() + deadline
            while True:
                try:
                    await web.get(f"{self.base}/healthz")
                    return
                except httpx2.TransportError:
                    pass
                assert self.proc is not None
                if self.proc.poll() is not None or time.monotonic() > until:
                    raise AssertionError(f"replica on {self.port} did not start: {self.stderr()[-2000:]}")
                await asyncio.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            interrupt(self.proc)

    def stderr(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@asynccontextmanager
async def replicas(
    tmp: Path, envs: Sequence[dict[str, str]], ports: Sequence[int] | None = None
) -> AsyncIterator[list[Replica]]:
    """Start one server process per environment (in parallel), wait until each answers."""
    ports = list(ports or [free_port() for _ in envs])
    group = [
        Replica(p, env, tmp / f"replica-{i}.log") for i, (p, env) in enumerate(zip(ports, envs, strict=True))
    ]
    try:
        for replica in group:
            replica.start()
        await asyncio.gather(*(r.ready() for r in group))
        yield group
    finally:
        for replica in group:
            replica.stop()


def command(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """A one-shot `mcp-livechat` command with the servers' environment."""
    return subprocess.run(
        [PY, "-m", "mcp_livechat", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def connections_json(env: dict[str, str], *args: str) -> dict[str, Any]:
    out = command(env, "connections", "--json", *args)
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


SEEDED_SECRETS = frozenset(
    {constants.PAT, constants.NORMAL_AGENT_PAT, constants.FRA_PAT, constants.CLIENT_SECRET}
)


def assert_no_secret_in(texts: Iterable[str], sandbox: Sandbox | None = None) -> None:
    """No seeded PAT, the client secret, or access token, refresh token or code `sandbox` issued
    appears in these logs."""
    tokens = sandbox.state.tokens if sandbox else None
    issued = {*tokens.access, *tokens.refresh, *tokens.codes} if tokens else set()
    secrets = issued | SEEDED_SECRETS
    blob = "\n".join(texts)
    leaked = [s[:8] for s in secrets if s and s in blob]
    assert not leaked, f"secrets in server logs: {leaked}"
