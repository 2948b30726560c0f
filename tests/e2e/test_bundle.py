"""The MCP Bundle as a user gets it: `mcpb validate` accepts `manifest.json`, `mcpb pack` of this
checkout (with its `.venv` and caches, as the README sets it up) makes a small bundle of the
package alone, and the bundle `mcpb unpack` gives back starts with its own `mcp_config` (`uv run
--frozen` on the shipped `uv.lock`) against a sandbox on a real port, as a host would launch it."""

from __future__ import annotations

import json
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from mcp_livechat.sandbox import constants
from mcp_livechat.tools.catalogue import ALL_TOOLS
from mcp_livechat.tools.spec import DEFAULT_TOOLSETS
from tests.e2e.toolchain import BIN, REPO, Toolchain, as_a_host_would, run
from tests.helpers import sandbox_process

MCPB = "@anthropic-ai/mcpb"
BUNDLE_FILES = {"manifest.json", "pyproject.toml", "uv.lock", "README.md", "LICENSE"}
MAX_BUNDLE = 1_000_000


def _mcpb(toolchain: Toolchain, home: Path, *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return run(toolchain.command(MCPB, *args), env=toolchain.env(home), timeout=120, cwd=cwd)


def test_mcpb_validate_accepts_the_manifest(toolchain: Toolchain, tool_home: Path) -> None:
    out = _mcpb(toolchain, tool_home, "validate", str(REPO / "manifest.json"))
    assert out.returncode == 0 and "validation passes" in out.stdout, out.stdout + out.stderr


def test_the_lock_is_up_to_date_with_pyproject() -> None:
    out = subprocess.run(
        [str(BIN / "uv"), "lock", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, f"uv.lock is stale: run `.venv/bin/uv lock` and commit it\n{out.stderr}"


@pytest.fixture(scope="module")
def packed(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("mcpb-home")
    target = tmp_path_factory.mktemp("bundle") / "mcp-livechat.mcpb"
    out = _mcpb(toolchain, home, "pack", str(REPO), str(target))
    assert out.returncode == 0 and target.exists(), out.stdout + out.stderr
    return target


def test_the_bundle_holds_the_package_only(packed: Path) -> None:
    names = zipfile.ZipFile(packed).namelist()
    top = {n.split("/", 1)[0] for n in names}
    assert top == BUNDLE_FILES | {"mcp_livechat"}, top  # no .venv, tests, bench, docs, build output
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
    source = {
        p.relative_to(REPO).as_posix()
        for p in (REPO / "mcp_livechat").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    }
    assert source <= set(names), sorted(source - set(names))[:5]  # the whole package, nothing left out
    assert packed.stat().st_size < MAX_BUNDLE, f"{packed.stat().st_size} bytes"
    manifest = json.loads(zipfile.ZipFile(packed).read("manifest.json"))
    assert manifest == json.loads((REPO / "manifest.json").read_text())


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    """A LiveChat stand-in on a real port, which the bundle's server talks HTTP to."""
    with sandbox_process() as url:
        yield url


@pytest.fixture(scope="module")
def unpacked(packed: Path, toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("mcpb-home")
    target = tmp_path_factory.mktemp("installed") / "mcp-livechat"
    out = _mcpb(toolchain, home, "unpack", str(packed), str(target), cwd=target.parent)
    assert out.returncode == 0 and (target / "manifest.json").exists(), out.stdout + out.stderr
    return target


async def _works(params: StdioServerParameters) -> None:
    async with Client(params) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        me = await client.call_tool("get_my_profile", {})
        chats = await client.call_tool("list_chats", {"limit": 2})
    assert tools == {s.name for s in ALL_TOOLS if s.toolset in DEFAULT_TOOLSETS}
    assert not me.is_error and (me.structured_content or {})["agent_id"] == constants.AGENT_EMAIL
    assert not chats.is_error and len((chats.structured_content or {})["chats"]) == 2


async def test_the_unpacked_bundle_starts_with_its_own_mcp_config(unpacked: Path, sandbox_url: str) -> None:
    params = as_a_host_would(unpacked, sandbox_url)
    assert params.command == "uv" and "--frozen" in params.args  # the lock decides every version
    await _works(params)
    assert (unpacked / ".venv").is_dir()  # uv made the bundle's own environment
    lock = (REPO / "uv.lock").read_text()
    assert (unpacked / "uv.lock").read_text() == lock  # --frozen: used as shipped, never re-resolved


async def test_the_entry_point_starts_the_server_too(unpacked: Path, sandbox_url: str) -> None:
    """A host that runs `server.entry_point` with uv itself (the uv type leaves that to the host)."""
    manifest = json.loads((unpacked / "manifest.json").read_text())
    params = as_a_host_would(unpacked, sandbox_url)
    entry = manifest["server"]["entry_point"]
    assert (unpacked / entry).is_file()
    params.args = ["run", "--directory", str(unpacked), "--frozen", entry]
    await _works(params)
