"""Accounts server OAuth 2.1: the authorize page and ``POST /v2/token``
(https://platform.text.com/docs/authorization/oauth-authorization#authorization-code-grant)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
from datetime import timedelta
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from . import constants, scopes
from .errors import AccountsFault, missing_fields
from .model import AgentRecord, IssuedAccessToken, IssuedAuthCode
from .runtime import Emulator, RegisteredClient
from .tokens import new_code

_PKCE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def accounts_base(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}{request.scope.get('root_path', '')}/accounts"


def redirect_allowed(requested: str, whitelist: tuple[str, ...]) -> bool:
    """https://platform.text.com/docs/authorization/oauth-authorization#redirect-uris: scheme
    and host:port exact (a whitelisted URI without a port means the scheme's
    default port, loopback hosts included), the whitelisted path is a prefix, no ``..`` segments."""
    try:
        req = urlsplit(requested)
        req_port = req.port
    except ValueError:
        return False
    segments = unquote(req.path).split("/")
    if req.scheme not in ("http", "https") or not req.hostname or req.username or req.fragment:
        return False
    if ".." in segments or "." in segments:
        return False
    defaults = {"http": 80, "https": 443}
    for entry in whitelist:
        allowed = urlsplit(entry)
        if allowed.scheme != req.scheme or allowed.hostname != req.hostname:
            continue
        if (allowed.port or defaults[allowed.scheme]) != (req_port or defaults[req.scheme]):
            continue
        if req.path.startswith(allowed.path):
            return True
    return False


def ooops(request: Request, exception: str, details: str | None = None) -> RedirectResponse:
    query = {"oauth_exception": exception} | ({"exception_details": details} if details else {})
    return RedirectResponse(f"{accounts_base(request)}/ooops?{urlencode(query)}", status_code=302)


def _back(redirect_uri: str, params: dict[str, str], *, fragment: bool = False) -> RedirectResponse:
    encoded = urlencode(params)  # percent-encodes the region colon: code=dal%3A...
    if fragment:
        return RedirectResponse(f"{redirect_uri}#{encoded}", status_code=302)
    glue = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{glue}{encoded}", status_code=302)


LOGIN_PAGE = """<!doctype html><html><head><title>Log in to LiveChat (sandbox)</title></head>
<body><h1>Log in to LiveChat</h1><p>The sandbox browser has no logged-in account.
Set one with POST /sandbox/browser.</p></body></html>"""


def authorize(rt: Emulator, request: Request) -> Response:
    rt.stats.count_request("authorize")
    q = request.query_params
    client = rt.clients.get(q.get("client_id") or "")
    if client is None:
        return ooops(request, "unauthorized_client", "client_id_not_found")  # code [UNVERIFIED]
    redirect_uri = q.get("redirect_uri")
    if not redirect_uri:
        return ooops(request, "invalid_request", "redirect_uri_not_set")
    if not redirect_allowed(redirect_uri, client.redirect_uris):
        return ooops(request, "invalid_request", "invalid_redirect_uri")
    response_type = q.get("response_type")
    if response_type not in ("code", "token"):
        return ooops(request, "unsupported_response_type")
    challenge = q.get("code_challenge")
    method = (q.get("code_challenge_method") or "plain").lower()
    if (challenge is not None and not _PKCE.match(challenge)) or method not in ("plain", "s256"):
        return ooops(request, "invalid_request")
    requested = scopes.parse_requested(q.get("scope"))
    if requested is not None and any(s not in constants.APP_SCOPES for s in requested):
        # "scope not found" / "scope name not found" → invalid_scope
        # (https://platform.text.com/docs/authorization/troubleshooting#invalid_scope).
        return ooops(request, "invalid_scope")
    granted = constants.APP_SCOPES if requested is None else tuple(dict.fromkeys(requested))
    agent = rt.state.agents.get(rt.browser_account or "")
    if agent is None:
        return HTMLResponse(LOGIN_PAGE)
    if not _within_redirect_limit(rt, client, agent):
        return ooops(request, "invalid_request", "too_many_redirects")  # oauth_exception [UNVERIFIED]
    if agent.role == "normal" and scopes.admin_only(granted):
        # "an app requires the `administrator` scopes, but instead, an `agent` user was logged in"
        # → invalid_scope (troubleshooting page above), not a silently reduced grant. Omitting
        # `scope` requests all the app's scopes, admin ones included.
        return ooops(request, "invalid_scope")
    state_param = {"state": q["state"]} if "state" in q else {}
    if not rt.consent:
        # [UNVERIFIED] https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1 style; LiveChat's
        # denial flow is not documented.
        params = {"error": "access_denied"} | state_param
        return _back(redirect_uri, params, fragment=response_type == "token")
    region = rt.state.org_of(agent).region
    now = rt.clock.now()
    if response_type == "token":
        token = rt.state.tokens.issue_access(
            region=region, client_id=client.client_id, agent_id=agent.id, scopes=granted, now=now
        )
        _count_issued(rt, client.client_id, agent.id)
        params = {"access_token": token.token, "token_type": "Bearer", "expires_in": str(_lifetime(token))}
        return _back(redirect_uri, params | state_param, fragment=True)
    code = IssuedAuthCode(
        code=new_code(region),
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        agent_id=agent.id,
        scopes=granted,
        challenge=challenge,
        method=method,
        expires_at=now + timedelta(seconds=rt.code_lifetime),
    )
    rt.state.tokens.codes[code.code] = code
    return _back(redirect_uri, {"code": code.code} | state_param)


def _within_redirect_limit(rt: Emulator, client: RegisteredClient, agent: AgentRecord) -> bool:
    if rt.redirect_limit is None:
        return True
    allowed, window = rt.redirect_limit
    now = rt.clock.now()
    key = (client.client_id, agent.id)
    recent = [t for t in rt.state.tokens.authorizations.get(key, []) if now - t < timedelta(seconds=window)]
    if len(recent) >= allowed:
        rt.state.tokens.authorizations[key] = recent
        return False
    rt.state.tokens.authorizations[key] = [*recent, now]
    return True


def _lifetime(token: IssuedAccessToken) -> int:
    return int((token.expires_at - token.issued_at).total_seconds())


def _count_issued(rt: Emulator, client_id: str, agent_id: str) -> None:
    for name in ("token_issued", f"token_issued:{client_id}", f"token_issued:{agent_id}"):
        rt.stats.incr(name)


def token_response(rt: Emulator, access: IssuedAccessToken, refresh_token: str) -> dict[str, object]:
    agent = rt.state.agents[access.agent_id]
    return {
        "access_token": access.token,
        "account_id": agent.account_id,
        "expires_in": _lifetime(access),
        "organization_id": agent.org_id,
        "refresh_token": refresh_token,
        "scope": scopes.join(access.scopes),
        "token_type": "Bearer",
    }


async def read_params(request: Request) -> dict[str, str]:
    """Form or JSON body, with query-string parameters as a fallback."""
    merged = {k: v for k, v in request.query_params.items() if v}
    raw = await request.body()
    if not raw.strip():
        return merged
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json" or raw.lstrip().startswith(b"{"):
        try:
            data = json.loads(raw)
        except ValueError:
            raise AccountsFault(422, "invalid_request", "The request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise AccountsFault(422, "invalid_request", "The request body must be a JSON object.")
        body = {str(k): str(v) for k, v in data.items() if isinstance(v, str | int | float) and v != ""}
    else:
        body = {k: v for k, v in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True) if v}
    return merged | body


def _unauthorized_client() -> AccountsFault:
    return AccountsFault(401, "unauthorized_client")


def _authenticate_client(rt: Emulator, params: dict[str, str], required: list[str]) -> RegisteredClient:
    client = rt.clients.get(params.get("client_id", ""))
    missing = [f for f in required if not params.get(f)]
    if client is not None and not client.public and not params.get("client_secret"):
        missing.append("client_secret")
    if missing:
        raise missing_fields(missing)
    if client is None:
        raise _unauthorized_client()
    if client.secret is not None and not hmac.compare_digest(client.secret, params["client_secret"]):
        raise _unauthorized_client()
    return client


def _pkce_ok(code: IssuedAuthCode, verifier: str) -> bool:
    if not _PKCE.match(verifier) or code.challenge is None:
        return False
    if code.method == "plain":
        return hmac.compare_digest(code.challenge, verifier)
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return hmac.compare_digest(code.challenge, digest)


async def token_endpoint(rt: Emulator, request: Request) -> Response:
    try:
        params = await read_params(request)
        grant = params.get("grant_type")
        if not grant:
            raise missing_fields(["grant_type"])
        if grant in ("authorization_code", "code"):
            body = _exchange_code(rt, params)
        elif grant == "refresh_token":
            body = _refresh(rt, params)
        else:
            raise AccountsFault(403, "unsupported_grant_type")  # status [UNVERIFIED]
    except AccountsFault as exc:
        return exc.response(NO_STORE)
    return JSONResponse(body, headers=NO_STORE)


def _exchange_code(rt: Emulator, params: dict[str, str]) -> dict[str, object]:
    client = _authenticate_client(rt, params, ["code", "client_id", "redirect_uri"])
    tokens = rt.state.tokens
    code = tokens.codes.get(params["code"])
    now = rt.clock.now()
    if code is None or code.used or code.expires_at <= now or code.client_id != client.client_id:
        raise _unauthorized_client()
    if code.redirect_uri != params["redirect_uri"]:
        raise _unauthorized_client()
    if code.challenge is not None:
        if not params.get("code_verifier"):
            raise missing_fields(["code_verifier"])
        if not _pkce_ok(code, params["code_verifier"]):
            raise _unauthorized_client()
    elif client.public:
        raise _unauthorized_client()  # a public client proves itself only through PKCE
    code.used = True
    region = rt.state.org_of(rt.state.agents[code.agent_id]).region
    refresh = tokens.issue_refresh(
        client_id=client.client_id,
        agent_id=code.agent_id,
        scopes=code.scopes,
        now=now,
        lifetime=rt.refresh_lifetime,
    )
    access = tokens.issue_access(
        region=region,
        client_id=client.client_id,
        agent_id=code.agent_id,
        scopes=code.scopes,
        now=now,
        refresh=refresh,
    )
    _count_issued(rt, client.client_id, code.agent_id)
    return token_response(rt, access, refresh.token)


def _refresh(rt: Emulator, params: dict[str, str]) -> dict[str, object]:
    """The documented refresh request takes ``grant_type``, ``refresh_token``, ``client_id`` and
    ``client_secret`` (https://platform.text.com/docs/authorization/oauth-authorization#using-the-refresh-token).
    Errors (https://platform.text.com/docs/authorization/troubleshooting#authorization-errors):
    a ``scope`` → 422 ``invalid_request`` [UNVERIFIED: the strictness and the status]; a wrong
    client secret or a refresh token never issued ("refresh token not found") → 401
    ``unauthorized_client``; "using refresh token with wrong client id" → 401 ``invalid_client``;
    a refresh token LiveChat issued but that was revoked (by the person, by a `DELETE /v2/token`
    of its pair, or silently by the 25-token cap) or expired → ``invalid_grant``, whose
    description reads "refresh token is invalid, expired, revoked"
    (https://platform.text.com/docs/authorization/troubleshooting#invalid_grant) (401 [UNVERIFIED])."""
    if "scope" in params:
        raise AccountsFault(
            422,
            "invalid_request",
            "A refresh token request takes no `scope`.",
            invalid_fields={"scope": "is not allowed"},
        )
    client = _authenticate_client(rt, params, ["refresh_token", "client_id"])
    tokens = rt.state.tokens
    refresh = tokens.valid_refresh(params["refresh_token"])
    if refresh is None:
        if params["refresh_token"] in tokens.refresh:  # issued once, revoked since
            raise AccountsFault(401, "invalid_grant", "The refresh token was revoked.")
        raise _unauthorized_client()  # "refresh token not found"
    if refresh.client_id != client.client_id:
        raise AccountsFault(401, "invalid_client")
    now = rt.clock.now()
    if tokens.expired(refresh, now):
        raise AccountsFault(401, "invalid_grant", "The refresh token expired.")
    if client.public:  # single-use refresh tokens: rotate
        refresh.revoked = True
        refresh = tokens.issue_refresh(
            client_id=client.client_id,
            agent_id=refresh.agent_id,
            scopes=refresh.scopes,
            now=now,
            lifetime=rt.refresh_lifetime,
        )
    region = rt.state.org_of(rt.state.agents[refresh.agent_id]).region
    access = tokens.issue_access(
        region=region,
        client_id=client.client_id,
        agent_id=refresh.agent_id,
        scopes=refresh.scopes,
        now=now,
        refresh=refresh,
    )
    email = refresh.agent_id
    for name in ("token_refreshed", f"token_refreshed:{client.client_id}", f"token_refreshed:{email}"):
        rt.stats.incr(name)
    return token_response(rt, access, refresh.token)


def ooops_page(request: Request) -> HTMLResponse:
    exception = html.escape(request.query_params.get("oauth_exception", "unknown"))
    details = html.escape(request.query_params.get("exception_details", ""))
    return HTMLResponse(
        "<!doctype html><html><head><title>Ooops! (LiveChat sandbox)</title></head><body>"
        f"<h1>Ooops!</h1><p>oauth_exception: <code>{exception}</code></p>"
        f"<p>exception_details: <code>{details}</code></p></body></html>"
    )
