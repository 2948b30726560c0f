"""``/sandbox/*`` control endpoints (JSON), for scripts and out-of-process tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .clock import rfc3339
from .minting import mint_token
from .runtime import Emulator
from .wire import json_object


class ControlError(Exception):
    pass


async def _json(request: Request) -> dict[str, Any]:
    return await json_object(request, lambda problem: ControlError(f"body {problem}"))


def _fail(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


async def health(rt: Emulator, request: Request) -> Response:
    return JSONResponse({"status": "ok", "seed": rt.seed, "now": rfc3339(rt.clock.now())})


async def stats(rt: Emulator, request: Request) -> Response:
    return JSONResponse(rt.stats.snapshot())


async def faults(rt: Emulator, request: Request) -> Response:
    if request.method == "DELETE":
        rt.faults.clear()
        return JSONResponse({})
    if request.method == "GET":
        return JSONResponse({"pending": [f.describe() for f in rt.faults.pending]})
    body = await _json(request)
    kind = body.pop("kind", None)
    if not isinstance(kind, str):
        raise ControlError("`kind` is required")
    try:
        fault = rt.faults.add(kind, **body)
    except (TypeError, ValueError) as exc:
        raise ControlError(str(exc)) from None
    return JSONResponse(fault.describe())


async def reset(rt: Emulator, request: Request) -> Response:
    seed = (await _json(request)).get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ControlError("`seed` must be an integer")
    rt.reset(seed)
    return JSONResponse({"seed": rt.seed})


async def clock(rt: Emulator, request: Request) -> Response:
    advance = (await _json(request)).get("advance", 0)
    if isinstance(advance, bool) or not isinstance(advance, int | float) or advance < 0:
        raise ControlError("`advance` must be a non-negative number of seconds")
    return JSONResponse({"now": rfc3339(rt.clock.advance(float(advance)))})


async def tokens(rt: Emulator, request: Request) -> Response:
    body = await _json(request)
    email = body.pop("email", None)
    if not isinstance(email, str):
        raise ControlError("`email` is required")
    try:
        return JSONResponse(mint_token(rt, email, **body))
    except (TypeError, ValueError) as exc:
        raise ControlError(str(exc)) from None


async def expire_refresh(rt: Emulator, request: Request) -> Response:
    """Expire refresh tokens now (all, or ``email``'s): the next refresh is ``invalid_grant``."""
    email = (await _json(request)).get("email")
    if email is not None and (not isinstance(email, str) or email not in rt.state.agents):
        raise ControlError("`email` must be a seeded agent's email or null")
    return JSONResponse({"expired": rt.state.tokens.expire_refresh(rt.clock.now(), email)})


async def browser(rt: Emulator, request: Request) -> Response:
    email = (await _json(request)).get("email")
    if email is not None and (not isinstance(email, str) or email not in rt.state.agents):
        raise ControlError("`email` must be a seeded agent's email or null")
    rt.browser_account = email
    return JSONResponse({"email": email})


async def consent(rt: Emulator, request: Request) -> Response:
    granted = (await _json(request)).get("granted")
    if not isinstance(granted, bool):
        raise ControlError("`granted` must be a boolean")
    rt.consent = granted
    return JSONResponse({"granted": granted})


ENDPOINTS: dict[str, tuple[Callable[[Emulator, Request], Awaitable[Response]], list[str]]] = {
    "health": (health, ["GET"]),
    "stats": (stats, ["GET"]),
    "faults": (faults, ["GET", "POST", "DELETE"]),
    "reset": (reset, ["POST"]),
    "clock": (clock, ["POST"]),
    "tokens": (tokens, ["POST"]),
    "expire_refresh": (expire_refresh, ["POST"]),
    "browser": (browser, ["POST"]),
    "consent": (consent, ["POST"]),
}


async def guarded(
    handler: Callable[[Emulator, Request], Awaitable[Response]], rt: Emulator, request: Request
) -> Response:
    try:
        return await handler(rt, request)
    except ControlError as exc:
        return _fail(str(exc))
