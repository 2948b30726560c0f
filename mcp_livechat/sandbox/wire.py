"""HTTP plumbing shared by the routes: fault application and connection drops."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from .errors import AccountsFault, WebApiFault, validation
from .faults import PROXY_PAGE, TRUNCATED_BODY, ConnectionDropped, Fault, retry_after_header, truncate_body
from .model import JSON
from .runtime import Emulator

# The ASGI scope key where SandboxApp keeps the server's own ``send`` callable.
RAW_SEND_KEY = "mcp_livechat.sandbox.raw_send"


async def drop_connection(request: Request) -> Response:
    """Close the connection without answering.

    Under uvicorn (h11) the server's ``send`` is a bound method of its request cycle, whose
    ``transport`` is the asyncio transport: abort it (TCP RST), let uvicorn notice, and return
    a response that uvicorn discards because the cycle is disconnected. Anywhere else (e.g.
    httpx2.ASGITransport) raise ConnectionDropped, which ``Sandbox.transport()`` turns into
    ``httpx2.RemoteProtocolError``.
    """
    raw_send = request.scope.get(RAW_SEND_KEY)
    cycle = getattr(raw_send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    abort = getattr(transport, "abort", None)
    if cycle is None or not callable(abort):
        raise ConnectionDropped()
    abort()
    for _ in range(50):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)
    else:
        setattr(cycle, "disconnected", True)  # noqa: B010 - uvicorn internals, see docstring
    return Response(status_code=500)


def fault_response(fault: Fault, dialect: str) -> Response:
    """The answer of a fault that replaces processing (rate_limit, server_error, html)."""
    headers = (
        {"Retry-After": retry_after_header(fault.retry_after)} if fault.retry_after is not None else None
    )
    if fault.kind == "rate_limit":
        if dialect == "oauth":
            return AccountsFault(429, "temporarily_unavailable").response(headers)
        return WebApiFault("too_many_requests", "Too many requests").response(headers)
    if fault.kind == "html":
        status = fault.status or 502
        page = PROXY_PAGE if status == 502 else PROXY_PAGE.replace("502 Bad Gateway", f"{status} Error")
        return HTMLResponse(page, status_code=status, headers=headers)
    status = fault.status or 500
    if dialect == "oauth":
        error = "temporarily_unavailable" if status == 503 else "server_error"
        return AccountsFault(status, error).response(headers)
    api_error = WebApiFault("service_unavailable" if status == 503 else "internal")
    return Response(
        content=api_error.response().body, status_code=status, headers=headers, media_type="application/json"
    )


async def with_faults(
    rt: Emulator, request: Request, name: str, dialect: str, process: Callable[[], Awaitable[Response]]
) -> Response:
    """Count the request, apply the next matching fault (if any) around ``process``."""
    rt.stats.count_request(name)
    fault = rt.faults.take(name)
    if fault is None:
        return await process()
    rt.stats.incr("faults_applied")
    rt.stats.incr(f"faults_applied:{fault.kind}")
    if fault.kind == "latency" and fault.latency_ms:
        await asyncio.sleep(fault.latency_ms / 1000)
    if not fault.processes_request:
        if fault.kind == "drop":
            return await drop_connection(request)
        if fault.kind == "malformed":
            return Response(TRUNCATED_BODY, status_code=200, media_type="application/json")
        return fault_response(fault, dialect)
    response = await process()
    if fault.kind == "drop":
        return await drop_connection(request)
    if fault.kind == "malformed":
        return Response(truncate_body(bytes(response.body)), status_code=200, media_type="application/json")
    return response


SUPPORTED_VERSIONS = ("v3.6",)
UNSUPPORTED_VERSION = "Cannot call unsupported API versions."


def check_version(request: Request) -> None:
    """The Web APIs answer only the versions this emulator implements, with the documented
    message of ``unsupported_version``, "Cannot call unsupported API versions."
    (https://platform.text.com/docs/messaging/agent-chat-api#possible-errors)."""
    version = request.path_params["version"]
    if version not in SUPPORTED_VERSIONS:
        raise WebApiFault("unsupported_version", UNSUPPORTED_VERSION)


async def parse_body(request: Request) -> JSON:
    """A Web API request body: a JSON object, or `{}` when empty (`validation` error otherwise).

    The Content-Type is not checked. The Reports API docs mark `Content-Type: application/json`
    as required for POST (https://platform.text.com/docs/data-reporting/reports-api#headers)
    but don't say what LiveChat answers without it, so the body is parsed regardless
    [UNVERIFIED]."""
    return await json_object(
        request, lambda problem: validation(f"Wrong format of request: the body {problem}")
    )


async def json_object(request: Request, refused: Callable[[str], Exception]) -> JSON:
    """The body as a JSON object (`{}` when empty); `refused("is not valid JSON")` or
    `refused("must be a JSON object")` raised otherwise, in the caller's dialect."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise refused("is not valid JSON") from None
    if not isinstance(body, dict):
        raise refused("must be a JSON object")
    return body
