"""The one seam between our tool specs and the MCP SDK (public API only).

`sdk_tools` turns each selected `ToolSpec` into an SDK `Tool`:

- its input schema and output schema come from the spec's signature and return model through
  `CompactJsonSchema` (no auto titles, `T | None = None` shown as `T`, no
  `additionalProperties: false`, single-use `$defs` inlined): what the model reads stays small;
- the SDK hands the raw arguments through; `_arguments` validates them against the spec's own
  argument model, refuses unknown ones by name, and keeps every error short;
- the single error boundary (`_boundary`): every `LiveChatError` becomes an `is_error` result
  whose text says what to do next; a caller with no LiveChat connection is offered the connect
  link in the way their client can take it (URL elicitation on 2025-11-25, `InputRequiredResult`
  on 2026-07-28, else text); anything unexpected is logged with its traceback and reported
  without details;
- every call is counted there (when the server has metrics): tool, outcome (`ok`, `refused`,
  `error`, `not_connected`, `cancelled`, `internal`) and duration; never who called; and logged,
  one line a call, with the call's context (`logs.call_context`).

`ToolGuard` answers a call of a tool this server does not offer with `-32602` (the reason, when the
configuration hides it), as the specification says for unknown tools.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import secrets
import time
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal

from mcp import MCPError, UrlElicitationRequiredError
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata, func_metadata
from mcp.types import (
    INVALID_PARAMS,
    CallToolResult,
    ElicitRequest,
    ElicitRequestURLParams,
    InputRequiredResult,
    TextContent,
    ToolAnnotations,
)
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from mcp_livechat import logs
from mcp_livechat.errors import LiveChatError, NotConnected, UserInputError, refusal
from mcp_livechat.livechat import CredentialProvider, LiveChat
from mcp_livechat.tools import schemas
from mcp_livechat.tools.context import LazyCredentials, Services, ToolContext
from mcp_livechat.tools.schemas import CompactJsonSchema, Schemas
from mcp_livechat.tools.spec import Selection, ToolSpec

logger = logging.getLogger("mcp_livechat.tools")
# refused: an argument or a request LiveChat turned down (the model's to fix); error: LiveChat
# or the network failed it
Outcome = Literal["ok", "refused", "error", "not_connected", "cancelled", "internal"]

MODERN = "2026-07-28"
MAX_ERROR_CHARS = 2_000  # every error result is capped: the first problems, then "and N more"
MAX_PROBLEMS = 5


# ----------------------------------------------------------------------------- arguments


class _RawArguments(ArgModelBase):
    """What the SDK validates: nothing. The raw arguments reach `_arguments` untouched."""

    model_config = ConfigDict(extra="forbid")
    raw: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _wrap(cls, data: Any) -> Any:
        return {"raw": data if isinstance(data, dict) else {}}


class _Signature:
    """A spec's own argument model (from its signature) and what it accepts, built on first use:
    a start-up with precomputed schemas builds no argument model at all."""

    def __init__(self, spec: ToolSpec) -> None:
        self.spec = spec
        self._meta: FuncMetadata | None = None

    @property
    def meta(self) -> FuncMetadata:
        if self._meta is None:
            first = next(iter(inspect.signature(self.spec.fn).parameters))  # the ToolContext
            # structured_output=False: the SDK need not build an output schema we make ourselves
            self._meta = func_metadata(self.spec.fn, skip_names=[first], structured_output=False)
        return self._meta

    @property
    def accepted(self) -> dict[str, str]:
        return {f.alias or n: n for n, f in self.meta.arg_model.model_fields.items()}

    def validate(self, tool: str, raw: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(k for k in raw if k not in self.accepted)
        if unknown:
            names = ", ".join(_short(k) for k in unknown[:MAX_PROBLEMS])
            more = f" and {len(unknown) - MAX_PROBLEMS} more" if len(unknown) > MAX_PROBLEMS else ""
            accepted = ", ".join(self.accepted) or "none"
            raise ArgumentsRefused(
                f"{tool} does not take the argument(s) {names}{more}. It accepts: {accepted}."
            )
        try:
            model = self.meta.arg_model.model_validate(self.meta.pre_parse_json(raw))
        except ValidationError as exc:
            raise ArgumentsRefused(_validation_text(tool, exc)) from None
        return model.model_dump_one_level()


class ArgumentsRefused(Exception):
    """The model's arguments do not fit the tool: the text says which and why."""


def _short(text: object, limit: int = 60) -> str:
    s = str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _validation_text(tool: str, exc: ValidationError) -> str:
    """Which argument is wrong and why, without echoing the (possibly huge) value."""
    problems = []
    for err in exc.errors(include_url=False, include_input=False)[:MAX_PROBLEMS]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "arguments"
        problems.append(f"{_short(where, 80)}: {_short(err.get('msg', 'invalid'), 200)}")
    extra = exc.error_count() - len(problems)
    more = f"; and {extra} more problem(s)" if extra > 0 else ""
    return f"Invalid arguments for {tool}: " + "; ".join(problems) + more + "."


# ----------------------------------------------------------------------------- SDK tools


def sdk_tools(selection: Selection) -> list[Tool]:
    precomputed = schemas.load()
    return [sdk_tool(spec, precomputed.get(spec.name)) for spec in selection.enabled]


def tool_schemas(spec: ToolSpec, signature: _Signature | None = None) -> Schemas:
    """The spec's input and output schemas, generated from its signature and return model."""
    output_model = typing.get_type_hints(spec.fn).get("return")
    if output_model is None:
        raise TypeError(f"tool {spec.name} must return a pydantic model")
    parameters = (signature or _Signature(spec)).meta.arg_model.model_json_schema(
        by_alias=True, schema_generator=CompactJsonSchema
    )
    return Schemas(parameters, TypeAdapter(output_model).json_schema(schema_generator=CompactJsonSchema))


def sdk_tool(spec: ToolSpec, precomputed: Schemas | None = None) -> Tool:
    """One spec as an SDK tool, through the SDK's public constructors."""
    signature = _Signature(spec)
    parameters, output_schema = precomputed or tool_schemas(spec, signature)

    async def call(ctx: Context[Services], raw: dict[str, Any]) -> CallToolResult | InputRequiredResult:
        started = time.perf_counter()
        outcome: Outcome = "internal"
        detail = ""
        call_id = secrets.token_hex(6)
        with logs.call_context(**_log_context(ctx, spec.name, call_id)):
            try:
                try:
                    kwargs = signature.validate(spec.name, raw)
                except ArgumentsRefused as exc:
                    outcome = "refused"
                    return error_result(str(exc))
                outcome, result, detail = await _boundary(spec, ctx, kwargs, call_id)
                return result
            except UrlElicitationRequiredError:
                outcome = "not_connected"  # the 2025-11-25 way to offer the connect link
                raise
            except asyncio.CancelledError:
                outcome = "cancelled"  # the client cancelled the request, or the server is stopping
                raise
            finally:
                seconds = time.perf_counter() - started
                _count(ctx, spec.name, outcome, seconds)
                ms = round(seconds * 1000, 1)
                # one line a call (an access log of the tools), with the call's context fields
                logger.info(
                    "tool %s %s%s in %.0f ms", spec.name, outcome, detail and f" ({detail})", ms,
                    extra={"outcome": outcome, "duration_ms": ms},
                )  # fmt: skip

    call.__name__ = spec.name
    return Tool(
        fn=call,
        name=spec.name,
        title=spec.title,
        description=spec.description,
        parameters=parameters,
        # A published schema without a model: our result is built from the validated model
        # already, so the SDK does not validate it a second time.
        fn_metadata=FuncMetadata(arg_model=_RawArguments, output_schema=output_schema),
        is_async=True,
        context_kwarg="ctx",
        annotations=ToolAnnotations(
            title=spec.title,
            read_only_hint=spec.read_only,
            destructive_hint=spec.destructive,
            idempotent_hint=spec.idempotent,
            open_world_hint=spec.open_world,
        ),
    )


async def tool_context(ctx: Context[Services], *, needs_livechat: bool = True) -> ToolContext:
    """Who is calling, and a LiveChat client acting as them (raises `NotConnected`)."""
    services: Services = ctx.request_context.lifespan_context
    principal = services.principal_of(get_access_token())
    if needs_livechat:
        provider: CredentialProvider = await services.connections.credentials(principal)
    else:
        provider = LazyCredentials(services.connections, principal)
    livechat = LiveChat(services.http.bind(provider))
    # report_progress is a no-op when the client sent no progress token
    return ToolContext(principal, livechat, services, progress=ctx.report_progress)


def _log_context(ctx: Context[Services], tool: str, call_id: str) -> dict[str, str | None]:
    """What every log record of this call carries: our reference, the tool, the JSON-RPC id and,
    over HTTP, the gateway's `X-Request-ID`; and the trace id of the call's span (`TraceParent`:
    the caller's W3C `traceparent`, https://www.w3.org/TR/trace-context/#traceparent-header, or a
    new trace when this process exports traces), each cleaned and bounded."""
    headers = ctx.headers or {}
    request_id = headers.get("x-request-id")
    span = trace.get_current_span().get_span_context()
    return {
        "call_id": call_id,
        "tool": tool,
        "rpc_id": logs.clean_field(ctx.request_id),
        "http_request_id": logs.clean_field(request_id, 128) if request_id else None,
        "trace_id": trace.format_trace_id(span.trace_id) if span.is_valid else None,
    }


def _http_headers(ctx: ServerRequestContext[Any, Any]) -> Mapping[str, str] | None:
    """The headers of the HTTP request that carried the message (every HTTP transport and era
    attaches the request); None on stdio and in memory."""
    headers = getattr(ctx.request, "headers", None)
    return headers if isinstance(headers, Mapping) else None


class TraceParent:
    """Outermost server middleware: an HTTP request's W3C `traceparent` (and `tracestate`), as a
    gateway sends it, parents the SDK's span of the message when its `_meta` carries no trace
    context of its own (the SDK reads `_meta` only). Read by OpenTelemetry's propagators
    (`OTEL_PROPAGATORS`; W3C trace context by default), which refuse a malformed header."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        headers = _http_headers(ctx)
        if not headers or "traceparent" not in headers or "traceparent" in (ctx.meta or {}):
            return await call_next(ctx)
        parent = propagate.extract(headers)
        if not trace.get_current_span(parent).get_span_context().is_valid:
            return await call_next(ctx)
        token = otel_context.attach(parent)
        try:
            return await call_next(ctx)
        finally:
            otel_context.detach(token)


async def _boundary(
    spec: ToolSpec, ctx: Context[Services], kwargs: dict[str, Any], call_id: str
) -> tuple[Outcome, CallToolResult | InputRequiredResult, str]:
    """The outcome, the result, and for the log line the error's class (never its text)."""
    try:
        tc = await tool_context(ctx, needs_livechat=spec.needs_livechat)
        result = await spec.fn(tc, **kwargs)
    except NotConnected as exc:
        return "not_connected", _offer_connection(ctx, exc), ""
    except LiveChatError as exc:
        # what a tool adds to an error on its way out (`add_note`): what it had already done
        text = " ".join([str(exc), *getattr(exc, "__notes__", ())])
        if isinstance(exc, UserInputError) and exc.argument and exc.argument not in text:
            text += f" (argument to fix: {exc.argument})"
        return ("refused" if refusal(exc) else "error"), error_result(text), type(exc).__name__
    except Exception as exc:
        logger.exception("tool %s failed unexpectedly", spec.name)
        return "internal", error_result(
            f"{spec.name} failed because of an internal error in the server (the server log has the"
            f" details under reference {call_id}). Retrying will probably not help; tell the user,"
            " with that reference."
        ), type(exc).__name__  # fmt: skip
    return "ok", model_result(result), ""


def _count(ctx: Context[Services], tool: str, outcome: Outcome, seconds: float) -> None:
    services: Services = ctx.request_context.lifespan_context
    metrics = services.metrics
    if metrics is not None:
        metrics.tool_call(tool, outcome, seconds)


def error_result(text: str) -> CallToolResult:
    if len(text) > MAX_ERROR_CHARS:
        text = text[: MAX_ERROR_CHARS - 1] + "…"
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def model_result(model: BaseModel) -> CallToolResult:
    # one pass to JSON in pydantic-core, one C pass back to the dict: cheaper than dump + dumps
    text = model.model_dump_json(exclude_none=True)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=json.loads(text))


def _offer_connection(ctx: Context[Services], exc: NotConnected) -> CallToolResult | InputRequiredResult:
    """Ask the client to open the connect link, in whichever way it declared it can."""
    url = exc.connect_url
    caps = ctx.client_capabilities
    takes_urls = bool(url and caps and caps.elicitation and caps.elicitation.url is not None)
    if takes_urls and url:
        message = "Connect your LiveChat account to continue (opens LiveChat's sign-in page)."
        if ctx.protocol_version == MODERN:
            if ctx.request_state == "connect-livechat" and ctx.input_responses:
                # The person came back but the connection is still missing: say so plainly.
                return error_result(str(exc) + " (the connection did not complete; open the link again)")
            params = ElicitRequestURLParams(message=message, url=url)
            return InputRequiredResult(
                input_requests={"connect_livechat": ElicitRequest(params=params)},
                request_state="connect-livechat",
            )
        raise UrlElicitationRequiredError(
            [
                ElicitRequestURLParams(
                    message=message, url=url, elicitation_id=f"connect-livechat-{abs(hash(url))}"
                )
            ]
        )
    return error_result(str(exc))


class ToolGuard:
    """`tools/call` of a tool this server does not offer is a protocol error, `-32602`, in both
    protocol eras: "Unknown tools" are among the errors a server reports as JSON-RPC errors, with
    `-32602` in the specification's example
    (https://modelcontextprotocol.io/specification/2025-11-25/server/tools#error-handling); bad
    arguments to a known tool stay `is_error` results the model can correct. A tool this
    configuration hides is not in `tools/list`, so to the client it is unknown too: the same code,
    with the reason in the message and in `data`, so a person can change the configuration.

    `why` gives the reasons for every tool, loading toolsets the start-up skipped; it is asked
    once, the first time a name that is neither offered nor known to be hidden is called.
    """

    def __init__(
        self,
        offered: set[str] | frozenset[str],
        hidden: dict[str, str],
        *,
        why: Callable[[], dict[str, str]] | None = None,
    ) -> None:
        self.hidden = hidden
        self.offered = offered
        self._why = why

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/call" and ctx.params is not None:
            name = ctx.params.get("name")
            if isinstance(name, str) and name not in self.offered and name not in self.hidden and self._why:
                self.hidden, self._why = {**self._why(), **self.hidden}, None
            if isinstance(name, str) and name in self.hidden:
                raise MCPError(
                    INVALID_PARAMS,
                    f"Unknown tool: {name!r} is not available on this server: {self.hidden[name]}.",
                    {"tool": name, "reason": self.hidden[name]},
                )
            if not isinstance(name, str) or name not in self.offered:
                shown = _short(name, 60) if isinstance(name, str) else type(name).__name__
                raise MCPError(
                    INVALID_PARAMS, f"Unknown tool: {shown!r}; tools/list shows the tools offered."
                )
        return await call_next(ctx)
