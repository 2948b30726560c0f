"""``GET|POST /v3.6/reports/<resource>/<action>``: version, method, auth, region, scope, params."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..apiauth import Ctx, authenticate
from ..errors import WebApiFault
from ..model import JSON
from ..runtime import Emulator
from ..wire import check_version, parse_body, with_faults
from . import agents, chats, greetings_forms, visitors
from .params import AGENT_DISTRIBUTIONS, CHAT_DISTRIBUTIONS, Query, nest_query, parse_query

SCOPE = "reports_read"  # "Required scopes: reports_read" on every method
Builder = Callable[[Ctx, Query], JSON]
# (builder, distributions, accepted time pairs). Ranking's distribution "will have no effect on
# the response" (https://platform.text.com/docs/data-reporting/reports-api#ranking); a value
# that is no distribution is still refused, as in the other chats reports [UNVERIFIED]. Chats
# reports take any of the three time pairs; the agents reports and tags/chat_usage document
# ``filters.from/to`` only. With filters, a time pair is then required: the agents section says
# so; the Chat Usage section (https://platform.text.com/docs/data-reporting/reports-api#chat-usage)
# does not, and demanding it there is ours [UNVERIFIED].
_CHATS = (CHAT_DISTRIBUTIONS, ("from", "greetings", "surveys"))
_FROM_ONLY = ("from",)
METHODS: dict[tuple[str, str], tuple[Builder, tuple[str, ...], tuple[str, ...]]] = {
    **{("chats", action): (chats.chat_report(action), *_CHATS) for action in chats.CHAT_REPORTS},
    ("chats", "ranking"): (agents.ranking, *_CHATS),
    ("agents", "performance"): (agents.performance, AGENT_DISTRIBUTIONS, _FROM_ONLY),
    ("agents", "availability"): (agents.availability, AGENT_DISTRIBUTIONS, _FROM_ONLY),
    ("chats", "greetings_conversion"): (greetings_forms.greetings_conversion, *_CHATS),
    # "the distribution parameter will have no effect on the response of this method"
    ("chats", "forms"): (greetings_forms.forms, *_CHATS),
    ("chats", "queued_visitors_left"): (visitors.queued_visitors_left, *_CHATS),
    # The customer reports document ``filters.from/to`` only and no distribution
    # (https://platform.text.com/docs/data-reporting/reports-api#for-the-customer-reports): any
    # distribution is ignored [UNVERIFIED]. Unique Visitors' Specifics name
    # ``customers/unique_visitors``, its request sample ``stats/unique_visitors``: both are
    # answered [UNVERIFIED].
    ("customers", "unique_visitors"): (visitors.unique_visitors, (), _FROM_ONLY),
    ("stats", "unique_visitors"): (visitors.unique_visitors, (), _FROM_ONLY),
    # chat_usage documents no distribution: any value is ignored [UNVERIFIED].
    ("tags", "chat_usage"): (chats.chat_usage, (), _FROM_ONLY),
}


async def _params(request: Request) -> JSON:
    """POST: the JSON body; GET: the query string (``filters.from=...``)."""
    if request.method == "GET":
        return nest_query(list(request.query_params.multi_items()))
    return await parse_body(request)


async def _call(rt: Emulator, request: Request) -> Response:
    check_version(request)
    method = METHODS.get((request.path_params["resource"], request.path_params["action"]))
    if method is None:
        raise WebApiFault("not_found", "Method not found")
    builder, distributions, pairs = method
    ctx = Ctx(rt, authenticate(rt, request.headers))
    ctx.require(SCOPE)
    params = await _params(request)
    if not distributions:
        params = {k: v for k, v in params.items() if k != "distribution"}
    query = parse_query(ctx, params, distributions=distributions or ("day",), pairs=pairs)
    return JSONResponse(builder(ctx, query))


async def reports_endpoint(rt: Emulator, request: Request) -> Response:
    """Faults and request stats use the name ``reports/<resource>/<action>``."""

    async def process() -> Response:
        try:
            return await _call(rt, request)
        except WebApiFault as exc:
            return exc.response(refusal_status=rt.refusal_status)

    name = f"reports/{request.path_params['resource']}/{request.path_params['action']}"
    return await with_faults(rt, request, name, "api", process)
