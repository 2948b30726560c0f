"""The version has one source, `mcp_livechat/version.py`: the package metadata (hatchling reads it; the
built wheel is checked in tests/e2e/test_distribution.py),
the MCP Bundle manifest, the changelog and the server's `serverInfo` all say the same."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from mcp import Client

from mcp_livechat.sandbox import Sandbox
from mcp_livechat.server import create_server
from mcp_livechat.version import __version__
from tests.conftest import sandbox_settings

REPO = Path(__file__).resolve().parents[1]


def test_pyproject_reads_the_version_from_version_py() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["hatch"]["version"]["path"] == "mcp_livechat/version.py"


def test_the_manifest_and_the_changelog_carry_the_same_version() -> None:
    assert json.loads((REPO / "manifest.json").read_text())["version"] == __version__
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert f"\n## [{__version__}] - " in changelog and "\n## [Unreleased]\n" in changelog


async def test_the_server_announces_it(sandbox: Sandbox) -> None:
    server, _ = create_server(sandbox_settings(), transport=sandbox.transport())
    async with Client(server, mode="legacy") as client:
        assert client.server_info is not None and client.server_info.version == __version__
