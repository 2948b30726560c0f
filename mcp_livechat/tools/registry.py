"""Tool declarations, selection, registration on the MCP server, and the single error boundary.

A tool is a plain `async def name(tc: ToolContext, arg: Annotated[T, Field(...)] = ...) -> Model`
in the module of its toolset, decorated with `@tool(...)`. Its signature is its input schema,
its return model is its output schema, and its docstring is its description. `register` wraps
each selected tool so that:

- the caller's principal and bound LiveChat client arrive as `tc`;
- every `LiveChatError` becomes an `is_error` result whose text says what to do next;
- a caller with no LiveChat connection is offered the connect link in the way their client
  can take it (URL elicitation on 2025-11-25, `InputRequiredResult` on 2026-07-28, else text);
- anything unexpected is logged with its traceback and reported without details.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import typing
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from mcp import UrlElicitationRequiredError
from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import Context
from mcp.types import (
    CallToolResult,
    ElicitRequest,
    ElicitRequestURLParams,
    InputRequiredResult,
    TextContent,
    ToolAnnotations,
)
from pydantic import BaseModel

from mcp_livechat.connect.identity import Principal
from mcp_livechat.errors import ConfigurationError, LiveChatError, NotConnected
from mcp_livechat.livechat import Credential, CredentialProvider, LiveChat, LiveChatHttp
from mcp_livechat.models import ConnectionStatus

logger = logging.getLogger("mcp_livechat.tools")

MODERN = "2026-07-28"
TOOLSETS = ("chats", "customers", "agents", "account")


class ConnectionPort(Protocol):
    """What tools need from the connection layer (implemented in `connect`, plugged in by `server`)."""

    async def credentials(self, principal: Principal) -> CredentialProvider:
        """The caller's credential provider; raises `NotConnected` when there is none."""
        ...

    async def status(self, principal: Principal) -> ConnectionStatus: ...

    async def connect_url(self, principal: Principal) -> str | None:
        """A fresh link that connects LiveChat for this principal (None: not possible here)."""
        ...

    async def disconnect(self, principal: Principal) -> ConnectionStatus: ...


@dataclass
class Services:
    """Per-process objects the tools share; the server's lifespan yields one."""

    http: LiveChatHttp
    connections: ConnectionPort
    principal_of: Callable[[AccessToken | None], Principal]
    me_cache: dict[str, str] = field(default_factory=dict)  # credential hash -> agent id


@dataclass
class ToolContext:
    """What a tool body receives: who is calling and a LiveChat client acting as them."""

    principal: Principal
    livechat: LiveChat
    services: Services

    @property
    def connections(self) -> ConnectionPort:
        return self.services.connections

    async def my_agent_id(self) -> str:
        """The caller's agent id (their email), from `/v2/accounts/me`; cached per credential, so a
        person who reconnects as another LiveChat account is never mistaken for the old one."""
        credential = await self.livechat.transport.credentials.get()
        key = hashlib.sha256(credential.authorization.encode()).hexdigest()[:32]
        cached = self.services.me_cache.get(key)
        if cached:
            return cached
        me = await self.livechat.accounts.get_me()
        agent_id = me.email or ""
        if not agent_id:  # fall back to matching the account id among agents
            agents = await self.livechat.configuration.list_agents()
            agent_id = next((a.id for a in agents if a.account_id == me.account_id), "")
        if agent_id:
            if len(self.services.me_cache) > 10_000:  # tokens rotate; never grow without bound
                self.services.me_cache.clear()
            self.services.me_cache[key] = agent_id
        return agent_id

    async def require_agent_id(self) -> str:
        """`my_agent_id`, or an error saying why it cannot be known."""
        agent_id = await self.my_agent_id()
        if not agent_id:
            raise LiveChatError(
                "Could not tell which LiveChat agent you are: /v2/accounts/me gave no email and no agent "
                "has your account id. The credential needs the scope accounts--my:ro."
            )
        return agent_id


ToolFn = Callable[..., Awaitable[BaseModel]]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    toolset: str
    fn: ToolFn
    read_only: bool
    destructive: bool
    idempotent: bool
    open_world: bool
    needs_livechat: bool = True

    @property
    def description(self) -> str:
        """The docstring, each paragraph on one line (line breaks inside a paragraph are layout)."""
        paragraphs = inspect.cleandoc(self.fn.__doc__ or "").split("\n\n")
        return "\n\n".join(" ".join(p.split()) for p in paragraphs)

    @property
    def annotations(self) -> ToolAnnotations:
        return ToolAnnotations(
            title=self.title,
            read_only_hint=self.read_only,
            destructive_hint=self.destructive,
            idempotent_hint=self.idempotent,
            open_world_hint=self.open_world,
        )


SPECS: dict[str, ToolSpec] = {}


def tool(
    *,
    toolset: str,
    title: str,
    read_only: bool,
    destructive: bool = False,
    idempotent: bool = False,
    open_world: bool = True,
    needs_livechat: bool = True,
) -> Callable[[ToolFn], ToolFn]:
    """Declare a tool; every hint is stated, none defaulted by the SDK.

    `needs_livechat=False` lets a tool run for a caller who has not connected LiveChat yet (the
    connection tools); its `tc.livechat` then raises `NotConnected` when used.
    """
    if toolset not in TOOLSETS:
        raise ValueError(f"unknown toolset {toolset!r}")
    if read_only and destructive:
        raise ValueError("a read-only tool cannot be destructive")

    def decorate(fn: ToolFn) -> ToolFn:
        spec = ToolSpec(
            fn.__name__,
            title,
            toolset,
            fn,
            read_only,
            destructive,
            read_only or idempotent,
            open_world,
            needs_livechat,
        )
        if spec.name in SPECS and SPECS[spec.name].fn.__module__ != fn.__module__:
            raise ValueError(f"tool {spec.name!r} declared twice")
        SPECS[spec.name] = spec
        return fn

    return decorate


def all_specs() -> dict[str, ToolSpec]:
    """Every declared tool (importing the toolset modules registers them)."""
    from mcp_livechat.tools import account, agents, chats, customers  # noqa: F401

    return dict(SPECS)


@dataclass(frozen=True)
class Selection:
    enabled: tuple[ToolSpec, ...]
    hidden: dict[str, str]  # tool name -> why it is not offered


def select(
    specs: dict[str, ToolSpec],
    *,
    toolsets: Sequence[str] = (),
    tools: Sequence[str] = (),
    exclude: Sequence[str] = (),
    read_only: bool = False,
) -> Selection:
    """Toolsets and tools choose (union; nothing chosen = everything); exclude and read-only win."""
    sets = {s.lower() for s in toolsets}
    bad_sets = sorted(sets - set(TOOLSETS) - {"all"})
    if bad_sets:
        raise ConfigurationError(
            f"LIVECHAT_TOOLSETS: unknown toolset(s) {', '.join(bad_sets)}; choose from {', '.join(TOOLSETS)}"
        )
    for var, names in (("LIVECHAT_TOOLS", tools), ("LIVECHAT_EXCLUDE_TOOLS", exclude)):
        unknown = sorted(set(names) - set(specs))
        if unknown:
            raise ConfigurationError(
                f"{var}: unknown tool(s) {', '.join(unknown)}; see the tool table in README.md"
            )
    chosen = set(tools)
    everything = (not sets and not chosen) or "all" in sets
    enabled, hidden = [], {}
    for name, spec in specs.items():
        if name in exclude:
            hidden[name] = "it is excluded by LIVECHAT_EXCLUDE_TOOLS"
        elif read_only and not spec.read_only:
            hidden[name] = "the server runs read-only"
        elif everything or spec.toolset in sets or name in chosen:
            enabled.append(spec)
        else:
            hidden[name] = "its toolset is not enabled (LIVECHAT_TOOLSETS / LIVECHAT_TOOLS)"
    return Selection(tuple(enabled), hidden)


# ----------------------------------------------------------------------------- registration


def register(server: MCPServer[Any], selection: Selection) -> None:
    for spec in selection.enabled:
        server.add_tool(
            _wrap(spec),
            name=spec.name,
            title=spec.title,
            description=spec.description,
            annotations=spec.annotations,
        )
        registered = server._tool_manager.get_tool(spec.name)
        if registered is not None:
            registered.parameters = compact_schema(registered.parameters)
            if registered.fn_metadata.output_schema is not None:
                registered.fn_metadata.output_schema = compact_schema(registered.fn_metadata.output_schema)


def _wrap(spec: ToolSpec) -> Callable[..., Awaitable[Any]]:
    """A function MCPServer can introspect: the tool's own parameters plus an MCP `Context`."""
    hints = typing.get_type_hints(spec.fn, include_extras=True)
    params = list(inspect.signature(spec.fn).parameters.values())[1:]  # drop `tc`
    output = hints["return"]

    async def call(ctx: Context[Services], **kwargs: Any) -> Any:
        return await _boundary(spec, ctx, kwargs)

    call.__name__ = spec.name
    call.__doc__ = spec.description
    call.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
        + [p.replace(annotation=hints[p.name], kind=inspect.Parameter.KEYWORD_ONLY) for p in params],
        return_annotation=Annotated[CallToolResult, output],
    )
    call.__annotations__ = {
        "ctx": Context,
        **{p.name: hints[p.name] for p in params},
        "return": Annotated[CallToolResult, output],
    }
    return call


async def tool_context(ctx: Context[Services], *, needs_livechat: bool = True) -> ToolContext:
    """Who is calling, and a LiveChat client acting as them (raises `NotConnected`)."""
    services: Services = ctx.request_context.lifespan_context
    principal = services.principal_of(get_access_token())
    if needs_livechat:
        provider: CredentialProvider = await services.connections.credentials(principal)
    else:
        provider = _LazyCredentials(services.connections, principal)
    return ToolContext(principal, LiveChat(services.http.bind(provider)), services)


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


class _LazyCredentials:
    """For tools that may run unconnected: the credential is looked up only when first used."""

    def __init__(self, connections: ConnectionPort, principal: Principal) -> None:
        self._connections, self._principal = connections, principal

    async def get(self) -> Credential:
        return await (await self._connections.credentials(self._principal)).get()

    async def renew(self, rejected: Credential) -> Credential | None:
        return None


def error_result(text: str) -> CallToolResult:
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


# ----------------------------------------------------------------------------- schema compaction


def compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Smaller schemas for the model's context: no auto titles, `T | None = None` shown as `T`,
    no `additionalProperties: false` (the output models forbid extras; readers need not be told).

    Validation is unchanged (the argument model still accepts null); only the advertised JSON
    schema loses pydantic's redundancy.
    """
    return typing.cast(dict[str, Any], _compact(schema, in_properties=False))


def _compact(node: Any, *, in_properties: bool) -> Any:
    if isinstance(node, list):
        return [_compact(item, in_properties=False) for item in node]
    if not isinstance(node, dict):
        return node
    if in_properties:  # keys are property names, values are schemas
        return {k: _compact(v, in_properties=False) for k, v in node.items()}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" or (key == "additionalProperties" and value is False):
            continue
        out[key] = _compact(value, in_properties=key in ("properties", "$defs", "definitions"))
    options = out.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options:
        other = next(o for o in options if o != {"type": "null"})
        if "default" in out and out["default"] is None:
            del out["default"]
        del out["anyOf"]
        out = {**other, **out}
    return out
