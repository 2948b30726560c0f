"""Helpers for end-to-end connection tests over real loopback ports: serve an ASGI app in-process,
a browser (follows redirects, keeps cookies by the browsers' rules, submits forms), OAuth settings
for a sandbox."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import httpx2
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcp_livechat.cli import free_port
from mcp_livechat.config import Settings, load_settings
from mcp_livechat.connect.store import StoredToken
from mcp_livechat.sandbox import Sandbox, constants
from tests.conftest import harvest

# ------------------------------------------------------------------ a gateway's identity provider

ISSUER, AUDIENCE = "https://idp.example", "mcp-livechat"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks_body() -> dict[str, Any]:
    jwk = json.loads(RSAAlgorithm.to_jwk(KEY.public_key()))
    return {"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}


def token(key: Any = KEY, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "ann",
        "org": "acme",
        "iat": now,
        "exp": now + 300,
        **claims,
    }
    return jwt.encode(
        {k: v for k, v in body.items() if v is not None}, key, algorithm="RS256", headers={"kid": "k1"}
    )


def jwks_app() -> Starlette:
    async def keys(request: Any) -> JSONResponse:
        return JSONResponse(jwks_body())

    return Starlette(routes=[Route("/jwks", keys)])


KEY_1 = base64.b64encode(b"k" * 32).decode()
KEY_2 = base64.b64encode(b"K" * 32).decode()


@asynccontextmanager
async def served(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 (a free port unless given); yields the base URL."""
    port = port or free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(400):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@asynccontextmanager
async def sandbox_on_port(sandbox_kwargs: dict[str, Any] | None = None, *, callback_port: int | None = None,
                          login_port: int | None = None) -> AsyncIterator[tuple[Sandbox, str, int, int]]:  # fmt: skip
    """A sandbox on a real port whose app whitelists our callback (HTTP) and a loopback (login) URI."""
    callback_port = callback_port or free_port()
    login_port = login_port or free_port()
    uris = (
        f"http://127.0.0.1:{callback_port}/integration-callback",
        f"http://127.0.0.1:{login_port}/callback",
    )
    sb = Sandbox(redirect_uris=uris, redirect_limit=None, **(sandbox_kwargs or {}))
    try:
        async with served(sb.app) as base:
            yield sb, base, callback_port, login_port
    finally:
        harvest(sb)  # its tokens and codes join the suite-wide log audit


def oauth_settings(base: str, tmp: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "client_id": constants.CLIENT_ID,
        "client_secret": constants.CLIENT_SECRET,
        "api_url": base,
        "accounts_url": f"{base}/accounts",
        "token_store": f"sqlite:///{tmp / 'tokens.db'}",
        "encryption_key": KEY_1,
        **overrides,
    }
    return load_settings(**values)


def oauth_env(base: str, tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVECHAT_")}
    env.update(
        LIVECHAT_CLIENT_ID=constants.CLIENT_ID,
        LIVECHAT_CLIENT_SECRET=constants.CLIENT_SECRET,
        LIVECHAT_API_URL=base,
        LIVECHAT_ACCOUNTS_URL=f"{base}/accounts",
        LIVECHAT_TOKEN_STORE=f"sqlite:///{tmp / 'tokens.db'}",
        LIVECHAT_ENCRYPTION_KEY=KEY_1,
    )
    env.update(extra)
    return env


class _QuietTransport(httpx2.AsyncBaseTransport):
    """Plain HTTP/1.1 over asyncio streams, logging nothing: the simulated browser is not part of the
    system under test, and httpcore's DEBUG traces of its redirects (which carry authorization codes)
    would otherwise pollute the suite-wide secret audit."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        reader, writer = await asyncio.open_connection(url.host, url.port or 80)
        try:
            target = url.raw_path.decode("ascii")
            head = [
                f"{request.method} {target} HTTP/1.1",
                f"Host: {url.netloc.decode('ascii')}",
                "Connection: close",
            ]
            head += [
                f"{k}: {v}" for k, v in request.headers.items() if k.lower() not in ("host", "connection")
            ]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + await request.aread())
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
        header_blob, _, body = raw.partition(b"\r\n\r\n")
        status_line, *lines = header_blob.decode("latin-1").split("\r\n")
        headers = [tuple(line.split(": ", 1)) for line in lines if ": " in line]
        if any(k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in headers):
            body = _unchunk(body)
            headers = [(k, v) for k, v in headers if k.lower() != "transfer-encoding"]
        return httpx2.Response(int(status_line.split(" ")[1]), headers=headers, content=body)


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


@dataclass
class _Cookie:
    name: str
    value: str
    host: str
    path: str
    samesite: str  # "lax" (the default of current browsers), "strict" or "none"
    httponly: bool
    secure: bool
    expires: float | None


def _site(url: str) -> tuple[str, str]:
    """Schemeful site; hosts in these tests are IP literals or `localhost`, their own sites."""
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower()


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(
                {
                    "method": a.get("method", "get").lower(),
                    "action": a.get("action"),
                    "fields": {},
                    "buttons": {},
                }
            )
        elif self.forms and tag == "input" and a.get("type") == "hidden":
            self.forms[-1]["fields"][a.get("name", "")] = a.get("value", "")
        elif self.forms and tag == "button" and a.get("name"):
            self.forms[-1]["buttons"][a.get("value", "")] = a["name"]


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _serialized_origin(initiator: str, target: str, policy: str) -> str:
    """The `Origin` of a POST (https://fetch.spec.whatwg.org/#append-a-request-origin-header):
    `null` under no-referrer, under same-origin when cross-origin, and from https to http under
    the strict and downgrade policies (the default, strict-origin-when-cross-origin, included)."""
    origin = _origin_of(initiator)
    policy = policy.split(",")[-1].strip().lower() or "strict-origin-when-cross-origin"
    downgrade = initiator.startswith("https:") and not target.startswith("https:")
    if policy == "no-referrer":
        return "null"
    if policy == "same-origin" and origin != _origin_of(target):
        return "null"
    if (
        policy in ("no-referrer-when-downgrade", "strict-origin", "strict-origin-when-cross-origin")
        and downgrade
    ):
        return "null"
    return origin


def _fetch_site(initiator: str | None, target: str) -> str:
    """`Sec-Fetch-Site` (https://www.w3.org/TR/fetch-metadata/): none for a typed navigation."""
    if initiator is None:
        return "none"
    if _origin_of(initiator) == _origin_of(target):
        return "same-origin"
    return "same-site" if _site(initiator) == _site(target) else "cross-site"


class Browser:
    """A person's browser: follows redirects, and keeps cookies by the rules browsers apply
    (RFC 6265bis): host-only, Path, Secure, Max-Age, HttpOnly (hidden from scripts), SameSite (Lax
    by default: sent on a cross-site top-level GET navigation, never on a cross-site POST; Strict:
    never cross-site, a redirect chain included). Submits forms the way a click does: `Origin` as
    the Fetch standard serializes it under the page's Referrer-Policy (`null` under no-referrer,
    https://fetch.spec.whatwg.org/#append-a-request-origin-header), and `Sec-Fetch-Site`."""

    def __init__(self, *, samesite: bool = True) -> None:
        """`samesite=False`: an old browser that sends every cookie cross-site too."""
        self.transport = _QuietTransport()
        self.jar: list[_Cookie] = []
        self.samesite = samesite
        self._policy = ""

    async def open(self, url: str, *, initiator: str | None = None) -> httpx2.Response:
        """A top-level navigation (typed, or opened by the MCP client when `initiator` is None)."""
        return await self._navigate("GET", url, None, initiator, follow=True)

    async def step(self, url: str, *, initiator: str | None = None) -> httpx2.Response:
        """One request, no redirect followed (to look at or tamper with a Location)."""
        return await self._navigate("GET", url, None, initiator, follow=False)

    async def submit(self, page: httpx2.Response, button: str) -> httpx2.Response:
        """Click the button whose value is `button` in the page's form."""
        parser = _FormParser()
        parser.feed(page.text)
        form = next(f for f in parser.forms if button in f["buttons"])
        data = {**form["fields"], form["buttons"][button]: button}
        target = urljoin(str(page.url), form["action"] or str(page.url))
        assert form["method"] == "post", "the confirmation must not be a GET"
        policy = page.headers.get("referrer-policy", "")
        return await self.post(target, data, initiator=str(page.url), referrer_policy=policy)

    async def post(
        self, url: str, data: dict[str, str], *, initiator: str, referrer_policy: str = ""
    ) -> httpx2.Response:
        """A form POST navigation started by a page at `initiator` (ours, or an attacker's) that
        was served with `referrer_policy` (browsers' default when empty)."""
        self._policy = referrer_policy
        return await self._navigate("POST", url, urlencode(data).encode(), initiator, follow=True)

    def set_cookie(self, url: str, name: str, value: str, *, path: str = "/") -> None:
        """What an attacker who learnt a value could plant in their own browser."""
        host = _site(url)[1]
        self.jar = [c for c in self.jar if (c.name, c.host, c.path) != (name, host, path)]
        self.jar.append(_Cookie(name, value, host, path, "lax", False, False, None))

    def script_cookies(self, url: str) -> dict[str, str]:
        """What `document.cookie` shows a script on `url`: never an HttpOnly cookie."""
        return {c.name: c.value for c in self._matching(url, "GET", [], True) if not c.httponly}

    def cookie(self, name: str) -> _Cookie | None:
        return next((c for c in self.jar if c.name == name), None)

    async def aclose(self) -> None:
        pass

    async def _navigate(
        self, method: str, url: str, body: bytes | None, initiator: str | None, *, follow: bool
    ) -> httpx2.Response:
        chain = [initiator] if initiator else []
        for _ in range(20):
            headers = {"Accept": "text/html"}
            cookies = self._matching(url, method, chain, True)
            if cookies:
                headers["Cookie"] = "; ".join(f"{c.name}={c.value}" for c in cookies)
            if body is not None:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
                headers["Origin"] = _serialized_origin(initiator or url, url, self._policy)
                headers["Sec-Fetch-Site"] = _fetch_site(initiator, url)
            request = httpx2.Request(method, url, headers=headers, content=body)
            response = await self.transport.handle_async_request(request)
            response.request = request
            self._remember(url, response)
            location = response.headers.get("location")
            if not follow or response.status_code not in (301, 302, 303, 307, 308) or not location:
                return response
            chain.append(url)
            url = urljoin(url, location)
            if response.status_code in (301, 302, 303):
                method, body = "GET", None
        raise AssertionError("too many redirects")

    def _matching(self, url: str, method: str, chain: list[str], top_level: bool) -> list[_Cookie]:
        parts = urlsplit(url)
        host, path, now = (parts.hostname or "").lower(), parts.path or "/", time.time()
        self.jar = [c for c in self.jar if c.expires is None or c.expires > now]
        cross_site = self.samesite and any(_site(u) != _site(url) for u in chain)
        out = []
        for c in self.jar:
            if c.host != host or (c.secure and parts.scheme != "https"):
                continue
            if not (path == c.path or path.startswith(c.path.rstrip("/") + "/")):
                continue
            if cross_site and (
                c.samesite == "strict" or (c.samesite == "lax" and not (top_level and method == "GET"))
            ):
                continue
            out.append(c)
        return out

    def _remember(self, url: str, response: httpx2.Response) -> None:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        default_path = parts.path.rsplit("/", 1)[0] or "/"
        for header in response.headers.get_list("set-cookie"):
            parsed = SimpleCookie()
            parsed.load(header)
            for name, morsel in parsed.items():
                max_age = morsel["max-age"]
                expires = time.time() + int(max_age) if max_age else None
                cookie = _Cookie(
                    name, morsel.value, host, morsel["path"] or default_path,
                    (morsel["samesite"] or "lax").lower(), bool(morsel["httponly"]), bool(morsel["secure"]),
                    expires,
                )  # fmt: skip
                self.jar = [c for c in self.jar if (c.name, c.host, c.path) != (name, host, cookie.path)]
                if expires is None or expires > time.time():
                    self.jar.append(cookie)


async def connect_through(browser: Browser, link: str) -> httpx2.Response:
    """Open a connect link, consent at LiveChat, and confirm on our page: the final page."""
    page = await browser.open(link)
    assert page.status_code == 200 and "Connect LiveChat?" in page.text, page.text[:300]
    return await browser.submit(page, "confirm")


def assert_guarded(response: httpx2.Response) -> None:
    """No page of ours may be framed (clickjacking), leak its URL in a Referer to another site, or
    be cached; a page with a form posting back to us is same-origin, so that its POST carries our
    Origin (no-referrer would make it `null`)."""
    csp = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp or response.headers.get("x-frame-options") == "DENY", response.url
    policy = "same-origin" if "<form" in response.text else "no-referrer"
    assert response.headers.get("referrer-policy") == policy, response.url


def stored_token(minted: dict[str, Any], *, expires_at: float, lifetime: float = 28800) -> StoredToken:
    """A sandbox-minted token as the store holds it, expiring at `expires_at` by our clock."""
    return StoredToken(
        access_token=str(minted["access_token"]),
        refresh_token=str(minted["refresh_token"]),
        expires_at=expires_at,
        scope=str(minted["scope"]),
        account_id=str(minted["account_id"]),
        organization_id=str(minted["organization_id"]),
        client_id=constants.CLIENT_ID,
        obtained_at=expires_at - lifetime,
    )


@asynccontextmanager
async def serving(settings: Settings, transport: Any = None) -> AsyncIterator[tuple[str, Any]]:
    """Our HTTP app for `settings` on a free port (LiveChat through `transport` if given); yields
    (base URL, runtime)."""
    from mcp_livechat.http_app import create_app
    from mcp_livechat.server import create_server

    port = free_port()
    built = create_server(settings, transport=transport, public_url=f"http://127.0.0.1:{port}")
    app = create_app(built, settings, transport="http", host="127.0.0.1")
    async with served(app, port) as base:
        yield base, built.runtime
