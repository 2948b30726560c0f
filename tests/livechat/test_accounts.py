"""Accounts-server calls: token info, revoke, the current account."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mcp_livechat.errors import AuthenticationFailed, PermissionDenied, ValidationFailed
from mcp_livechat.livechat import LiveChat
from mcp_livechat.sandbox import Sandbox, constants
from tests.conftest import Recorder


async def test_token_info_and_revoke(lc: LiveChat, sandbox: Sandbox, recorder: Recorder) -> None:
    token = sandbox.mint_token(constants.AGENT_EMAIL, scopes=["chats--all:ro", "accounts--my:ro"])
    info = await lc.accounts.token_info(token["access_token"])
    sent = recorder.last("/v2/info")
    assert sent.method == "GET" and sent.path == "/accounts/v2/info"
    assert sent.headers["authorization"] == f"Bearer {token['access_token']}"
    assert info.account_id == constants.ACCOUNT_ID and info.client_id == constants.CLIENT_ID
    assert set(info.scopes) == {"chats--all:ro", "accounts--my:ro"}
    assert 0 < (info.expires_in or 0) <= 28800
    assert "access_token" not in info.model_dump()  # the token itself is never kept in a model

    assert await lc.accounts.revoke_token(token["access_token"]) is True
    assert recorder.last("/v2/token").method == "DELETE"
    assert await lc.accounts.revoke_token(token["access_token"]) is False  # 404: already gone
    with pytest.raises(AuthenticationFailed):
        await lc.accounts.token_info(token["access_token"])


async def test_get_me_with_pat_and_token_without_scope(
    lc: LiveChat, as_token: Callable[..., LiveChat], recorder: Recorder
) -> None:
    me = await lc.accounts.get_me()
    assert recorder.last("/v2/accounts/me").path == "/accounts/v2/accounts/me"
    assert me.account_id == constants.ACCOUNT_ID and me.email == constants.AGENT_EMAIL
    assert me.default_organization_id == constants.ORGANIZATION_ID
    with pytest.raises(PermissionDenied) as err:
        await as_token(scopes=["chats--all:ro"]).accounts.get_me()
    assert err.value.missing_scopes == ("accounts--my:ro",)


async def test_update_me_renames_everywhere_and_rejects_long_names(lc: LiveChat, recorder: Recorder) -> None:
    await lc.accounts.update_me(name="Agent J. Smith")
    sent = recorder.last("/v2/accounts/me")
    assert sent.method == "PATCH" and sent.body == {"name": "Agent J. Smith"}
    assert (await lc.accounts.get_me()).name == "Agent J. Smith"
    assert (await lc.configuration.get_agent(constants.AGENT_EMAIL)).name == "Agent J. Smith"
    with pytest.raises(ValidationFailed) as err:
        await lc.accounts.update_me(name="x" * 192)
    assert "name" in str(err.value)
