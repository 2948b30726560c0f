"""The e2e suite: every test here carries the `e2e` marker (`-m 'not e2e'` leaves them out) and
shares one installed toolchain and one HTTP server on the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_livechat.cli import free_port
from tests.e2e.toolchain import Toolchain, ensure_toolchain, serving

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def toolchain() -> Toolchain:
    return ensure_toolchain()


@pytest.fixture(scope="session")
def tool_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HOME the ecosystem's tools see (their settings and catalogs land here)."""
    return tmp_path_factory.mktemp("tool-home")


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    """`serve --transport http --sandbox` on a free loopback port; yields its base URL."""
    with serving("--transport", "http", "--sandbox", port=free_port()) as base:
        yield base


@pytest.fixture(scope="module")
def sse_server() -> Iterator[str]:
    with serving("--transport", "sse", "--sandbox", port=free_port()) as base:
        yield base
