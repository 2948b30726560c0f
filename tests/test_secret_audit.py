"""The suite-wide secret audit (tests/conftest.py) can fail: it finds a token however it is written."""

from __future__ import annotations

import logging

from mcp_livechat.sandbox import Sandbox, constants
from tests.conftest import SecretAudit


def test_the_audit_finds_tokens_written_any_way() -> None:
    sb = Sandbox()
    token = sb.mint_token(constants.AGENT_EMAIL)
    access, refresh = str(token["access_token"]), str(token["refresh_token"])
    secrets = {access, refresh, constants.PAT}
    audit = SecretAudit()
    logger = logging.getLogger("audit-self-test")
    logger.propagate = False  # these planted secrets must not reach the suite-wide audit
    logger.addHandler(audit)
    try:
        logger.warning("clean line with no secret: list_chats -> 200 in 3 ms")
        assert audit.leaks(secrets) == set()
        logger.warning("Authorization: Bearer %s", access)
        logger.warning("GET /cb?code=x&token=%s&state=y", access.replace(":", "%3A"))
        logger.warning('{"refresh_token":"%s"}', refresh)
        logger.warning("basic user:%s", constants.PAT)
    finally:
        logger.removeHandler(audit)
    assert audit.leaks(secrets) == secrets
