"""Fixtures for the sandbox's own tests: a fresh seeded Sandbox and an in-process client."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

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


@pytest.fixture(autouse=True)
def _no_url_logging() -> Iterator[None]:
    """Some tests here send tokens in query strings on purpose (LiveChat's documented `?code=` forms),
    and httpx2 logs request URLs at INFO; keep those out of the suite-wide secret audit."""
    logger = logging.getLogger("httpx2")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)
