"""Fixtures for the sandbox's own tests: a fresh seeded Sandbox and an in-process client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest

from mcp_livechat.sandbox import Sandbox


@pytest.fixture
def sb() -> Sandbox:
    return Sandbox(seed=7)


@pytest.fixture
async def client(sb: Sandbox) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=sb.transport(), base_url="http://sandbox") as http:
        yield http
