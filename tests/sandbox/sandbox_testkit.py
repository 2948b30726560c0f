"""Helpers shared by the sandbox tests (module name kept unique across the test tree)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2

from mcp_livechat.sandbox import Sandbox, constants

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
AGENT_API = FIXTURES / "messaging" / "v3.6" / "agent-chat-api"
CONFIG_API = FIXTURES / "management" / "v3.6" / "configuration-api" / "responses"
CALLBACK = constants.DEFAULT_REDIRECT_URIS[0]


def fixture(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def bearer(token: str, region: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if region is not None:
        headers["X-Region"] = region
    return headers


def basic(account_id: str, pat: str) -> dict[str, str]:
    blob = base64.b64encode(f"{account_id}:{pat}".encode()).decode()
    return {"Authorization": f"Basic {blob}"}


SMITH_PAT = basic(constants.ACCOUNT_ID, constants.PAT)
NORMAL_PAT = basic(constants.NORMAL_AGENT_ACCOUNT_ID, constants.NORMAL_AGENT_PAT)
FRA_PAT = {**basic(constants.FRA_ACCOUNT_ID, constants.FRA_PAT), "X-Region": "fra"}


async def call(
    client: httpx2.AsyncClient,
    method: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    api: str = "agent",
    version: str = "v3.6",
) -> httpx2.Response:
    return await client.post(
        f"/{version}/{api}/action/{method}",
        json={} if body is None else body,
        headers=SMITH_PAT if headers is None else headers,
    )


async def ok(client: httpx2.AsyncClient, method: str, body: Any = None, **kwargs: Any) -> Any:
    response = await call(client, method, body, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


async def error(
    client: httpx2.AsyncClient, method: str, body: Any = None, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    response = await call(client, method, body, **kwargs)
    assert response.status_code != 200, response.text
    payload = response.json()
    assert set(payload) == {"error"}
    assert {"type", "message"} <= set(payload["error"])
    return response.status_code, payload["error"]


def pkce(verifier: str = "v3rifier-" + "x" * 40, method: str = "S256") -> tuple[str, str]:
    if method == "plain":
        return verifier, verifier
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def authorize(client: httpx2.AsyncClient, **params: str) -> httpx2.Response:
    query = {"response_type": "code", "client_id": constants.CLIENT_ID, "redirect_uri": CALLBACK} | params
    return await client.get("/accounts/", params=query)


async def get_code(client: httpx2.AsyncClient, **params: str) -> str:
    response = await authorize(client, **params)
    assert response.status_code == 302, response.text
    return query_of(response.headers["location"])["code"]


async def exchange(client: httpx2.AsyncClient, code: str, **params: str | None) -> httpx2.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": constants.CLIENT_ID,
        "client_secret": constants.CLIENT_SECRET,
        "redirect_uri": CALLBACK,
    } | params
    return await client.post("/accounts/v2/token", data={k: v for k, v in form.items() if v is not None})


async def login(client: httpx2.AsyncClient) -> dict[str, Any]:
    """The confidential S256 code flow as smith; the token response."""
    verifier, challenge = pkce()
    code = await get_code(client, code_challenge=challenge, code_challenge_method="S256", state="s")
    response = await exchange(client, code, code_verifier=verifier)
    assert response.status_code == 200, response.text
    token: dict[str, Any] = response.json()
    return token


def active_chat_of(sb: Sandbox, email: str = constants.AGENT_EMAIL) -> str:
    """An active chat (assigned, visibility all) where ``email`` is a chat user."""
    for chat in sb.state.chats.values():
        user = chat.user(email)
        if chat.active and user is not None and user.visibility == "all":
            return chat.id
    raise AssertionError("no such chat")


# -- JSON shape comparison -------------------------------------------------------------------
def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(type(value))


def assert_shape(
    actual: Any,
    sample: Any,
    *,
    optional: frozenset[str] = frozenset(),
    opaque: frozenset[str] = frozenset(),
    path: str = "$",
) -> None:
    """Every key of ``sample`` is in ``actual`` (unless its dotted path or bare name is in
    ``optional``) with the same JSON type, recursively. Keys named in ``opaque`` are compared by
    type only (their own keys are data, e.g. property namespaces). Arrays: every actual item is
    compared with the sample's first item."""
    assert json_type(actual) == json_type(sample), f"{path}: {json_type(actual)} != {json_type(sample)}"
    if isinstance(sample, dict):
        for key, sample_value in sample.items():
            sub = f"{path}.{key}"
            if key not in actual:
                assert key in optional or sub in optional, f"{sub} missing"
                continue
            if key in opaque:
                assert json_type(actual[key]) == json_type(sample_value), f"{sub}: type"
                continue
            assert_shape(actual[key], sample_value, optional=optional, opaque=opaque, path=sub)
    elif isinstance(sample, list) and sample and actual:
        for index, item in enumerate(actual):
            assert_shape(item, sample[0], optional=optional, opaque=opaque, path=f"{path}[{index}]")
