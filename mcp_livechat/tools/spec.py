"""Tool declarations and selection, free of side effects and of the MCP SDK.

A tool is a plain `async def name(tc: ToolContext, arg: Annotated[T, Field(...)] = ...) -> Model`
in the module of its toolset, decorated with `@tool(...)`, which returns a frozen `ToolSpec`
(the function stays reachable as `spec.fn`). Its signature is its input schema, its return model
its output schema, its docstring its description. Every annotation hint is a required keyword
argument of `@tool`, so a declaration that leaves one out does not type-check. Each toolset
module exports its `TOOLS` tuple; `tools.catalogue` lists them all. Which tools a server offers
is a pure function of that list (`select`).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from pydantic import BaseModel

from mcp_livechat.errors import ConfigurationError

Toolset = Literal["chats", "customers", "agents", "account", "supervisor", "admin", "reports"]
TOOLSETS: tuple[Toolset, ...] = get_args(Toolset)
DEFAULT_TOOLSETS: tuple[Toolset, ...] = ("chats", "customers", "agents", "account")

ToolFn = Callable[..., Awaitable[BaseModel]]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One tool as declared: what the SDK adapter turns into an MCP tool."""

    name: str
    title: str
    toolset: Toolset
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

    async def __call__(self, *args: Any, **kwargs: Any) -> BaseModel:
        return await self.fn(*args, **kwargs)


def tool(
    *,
    toolset: Toolset,
    title: str,
    read_only: bool,
    destructive: bool,
    idempotent: bool,
    open_world: bool,
    needs_livechat: bool = True,
) -> Callable[[ToolFn], ToolSpec]:
    """Declare a tool. All four hints are stated; none is left to a default.

    `needs_livechat=False` lets a tool run for a caller who has not connected LiveChat yet (the
    connection tools); its `tc.livechat` then raises `NotConnected` when used.
    """
    if read_only and destructive:
        raise ValueError("a read-only tool cannot be destructive")
    if read_only and not idempotent:
        raise ValueError("a read-only tool is idempotent")

    def declare(fn: ToolFn) -> ToolSpec:
        return ToolSpec(
            fn.__name__, title, toolset, fn, read_only, destructive, idempotent, open_world, needs_livechat
        )

    return declare


@dataclass(frozen=True)
class Selection:
    enabled: tuple[ToolSpec, ...]
    hidden: dict[str, str]  # tool name -> why it is not offered


def select(
    specs: Sequence[ToolSpec],
    *,
    toolsets: Sequence[str] = (),
    tools: Sequence[str] = (),
    exclude: Sequence[str] = (),
    read_only: bool = False,
) -> Selection:
    """Toolsets and tools choose (union; nothing chosen = the default toolsets; `all` = every
    toolset); exclude and read-only always win."""
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"tool(s) declared twice: {', '.join(twice)}")
    sets = {s.lower() for s in toolsets}
    bad_sets = sorted(sets - set(TOOLSETS) - {"all"})
    if bad_sets:
        raise ConfigurationError(
            f"LIVECHAT_TOOLSETS: unknown toolset(s) {', '.join(bad_sets)}; "
            f"choose from {', '.join(TOOLSETS)} or all"
        )
    for var, given in (("LIVECHAT_TOOLS", tools), ("LIVECHAT_EXCLUDE_TOOLS", exclude)):
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise ConfigurationError(
                f"{var}: unknown tool(s) {', '.join(unknown)}; see the tool table in README.md"
            )
    chosen = set(tools)
    if "all" in sets:
        sets = set(TOOLSETS)
    elif not sets and not chosen:
        sets = set(DEFAULT_TOOLSETS)
    enabled, hidden = [], {}
    for spec in specs:
        if spec.name in exclude:
            hidden[spec.name] = "it is excluded by LIVECHAT_EXCLUDE_TOOLS"
        elif read_only and not spec.read_only:
            hidden[spec.name] = "the server runs read-only"
        elif spec.toolset in sets or spec.name in chosen:
            enabled.append(spec)
        else:
            hidden[spec.name] = (
                f"its toolset {spec.toolset!r} is not enabled (add it to LIVECHAT_TOOLSETS or --toolsets)"
            )
    return Selection(tuple(enabled), hidden)
