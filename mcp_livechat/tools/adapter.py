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
  without details.

`ToolGuard` answers a call of a tool this server does not offer with `-32602` (the reason, when the
configuration hides it), as the specification says for unknown tools.
"""

from __future__ import annotations

import inspect
import json
import logging
from typing import Any

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
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from mcp_livechat.errors import LiveChatError, NotConnected
from mcp_livechat.livechat import CredentialProvider, LiveChat
from mcp_livechat.tools.context import LazyCredentials, Services, ToolContext
from mcp_livechat.tools.spec import Selection, ToolSpec

logger = logging.getLogger("mcp_livechat.tools")

MODERN = "2026-07-28"
MAX_ERROR_CHARS = 2_000  # every error result is capped: the first problems, then "and N more"
MAX_PROBLEMS = 5


# ----------------------------------------------------------------------------- schemas


class CompactJsonSchema(GenerateJsonSchema):
    """pydantic's JSON schema without the redundancy a model does not need to read.

    Validation is unchanged (arguments are validated against the real model, which still
    accepts null for `T | None`); only the advertised schema is smaller.
    """

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        out = super().model_schema(schema)
        out.pop("title", None)
        if out.get("additionalProperties") is False:
            del out["additionalProperties"]  # extras are refused at validation; readers need not be told
        return out

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        out = super().default_schema(schema)
        if "default" in out and out["default"] is None:
            del out["default"]
        return out

    def union_schema(self, schema: core_schema.UnionSchema) -> JsonSchemaValue:
        out = super().union_schema(schema)
        options = out.get("anyOf")
        if isinstance(options, list) and options and all(o.get("type") == "string" for o in options):
            # e.g. a day or a time: one `type`, the formats as alternatives
            out["anyOf"] = [{k: v for k, v in o.items() if k != "type"} for o in options]
            out = {"type": "string", **out}
        return out

    def generate(self, schema: CoreSchema, mode: JsonSchemaMode = "validation") -> JsonSchemaValue:
        return inline_single_use_defs(super().generate(schema, mode))


def inline_single_use_defs(schema: JsonSchemaValue) -> JsonSchemaValue:
    """Put each `$defs` entry referenced exactly once in place of its `$ref` (fewer bytes, and no
    `$ref` for a client's validator to resolve); shared and recursive ones stay in `$defs`."""
    defs = schema.get("$defs")
    if not isinstance(defs, dict) or not defs:
        return schema
    counts: dict[str, int] = {}

    def count(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                counts[ref[8:]] = counts.get(ref[8:], 0) + 1
            for value in node.values():
                count(value)
        elif isinstance(node, list):
            for value in node:
                count(value)

    count(schema)
    single = {
        name for name, n in counts.items() if n == 1 and name in defs and not _refers_to(defs[name], name)
    }

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref[8:] in single:
                rest = {k: inline(v) for k, v in node.items() if k != "$ref"}
                return {**inline(defs[ref[8:]]), **rest}
            return {k: inline(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    out = inline(schema)
    kept = {name: inline(d) for name, d in defs.items() if name not in single}
    if kept:
        out["$defs"] = kept
    return dict(out)


def _refers_to(node: Any, name: str) -> bool:
    if isinstance(node, dict):
        return node.get("$ref") == f"#/$defs/{name}" or any(_refers_to(v, name) for v in node.values())
    if isinstance(node, list):
        return any(_refers_to(v, name) for v in node)
    return False


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
    """A spec's own argument model (from its signature) and what it accepts."""

    def __init__(self, spec: ToolSpec) -> None:
        first = next(iter(inspect.signature(spec.fn).parameters))  # the ToolContext
        self.meta = func_metadata(spec.fn, skip_names=[first], structured_output=True)
        self.accepted = {f.alias or n: n for n, f in self.meta.arg_model.model_fields.items()}

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
    return [sdk_tool(spec) for spec in selection.enabled]


def sdk_tool(spec: ToolSpec) -> Tool:
    """One spec as an SDK tool, through the SDK's public constructors."""
    signature = _Signature(spec)
    output_model = signature.meta.output_model
    if output_model is None:
        raise TypeError(f"tool {spec.name} must return a pydantic model")

    async def call(ctx: Context[Services], raw: dict[str, Any]) -> CallToolResult | InputRequiredResult:
        try:
            kwargs = signature.validate(spec.name, raw)
        except ArgumentsRefused as exc:
            return error_result(str(exc))
        return await _boundary(spec, ctx, kwargs)

    call.__name__ = spec.name
    parameters = signature.meta.arg_model.model_json_schema(by_alias=True, schema_generator=CompactJsonSchema)
    output_schema = TypeAdapter(output_model).json_schema(schema_generator=CompactJsonSchema)
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


async def _boundary(
    spec: ToolSpec, ctx: Context[Services], kwargs: dict[str, Any]
) -> CallToolResult | InputRequiredResult:
    try:
        tc = await tool_context(ctx, needs_livechat=spec.needs_livechat)
        result = await spec.fn(tc, **kwargs)
    except NotConnected as exc:
        return _offer_connection(ctx, exc)
    except LiveChatError as exc:
        logger.info("tool %s: %s", spec.name, type(exc).__name__)
        return error_result(str(exc))
    except Exception:
        logger.exception("tool %s failed unexpectedly", spec.name)
        return error_result(
            f"{spec.name} failed because of an internal error in the server (details are in the server log)."
            " Retrying will probably not help; tell the user."
        )
    return model_result(result)


def error_result(text: str) -> CallToolResult:
    if len(text) > MAX_ERROR_CHARS:
        text = text[: MAX_ERROR_CHARS - 1] + "…"
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def model_result(model: BaseModel) -> CallToolResult:
    data = model.model_dump(mode="json", exclude_none=True)
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


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
    with the reason in the message and in `data`, so a person can change the configuration."""

    def __init__(self, offered: set[str], hidden: dict[str, str]) -> None:
        self.offered = offered
        self.hidden = hidden

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/call" and ctx.params is not None:
            name = ctx.params.get("name")
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
