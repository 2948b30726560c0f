"""How a success body becomes data: plain JSON, or one pydantic model or list of models validated
straight from the bytes in one pass. A body that is not JSON raises `Malformed`, and JSON of
another shape than the model's `Malformed` with `shape` saying where (field paths and pydantic's
reason, never a value: a body may hold customers' words); the transport turns either into
LiveChat's error for that call."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from mcp_livechat.livechat.paths import loc_path

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

Decode = Callable[[bytes], T]


def _where(model: type[BaseModel], loc: tuple[Any, ...], many: bool) -> str:
    if many and loc and isinstance(loc[0], int):  # a bare array's item: `[]`, not its index
        return loc_path(model, loc[1:], "[]")
    return loc_path(model, loc, "") or "(body)"


def as_json(content: bytes) -> Any:
    """Decode a success body as plain JSON (`{}` for an empty one); `Malformed` if it is not JSON."""
    if not content:
        return {}
    try:
        return json.loads(content)
    except ValueError:
        raise Malformed() from None
    except RecursionError:  # valid JSON nested deeper than the parser's stack (~1,000 levels)
        raise Malformed("the body is nested too deeply to read") from None


def as_model(model: type[M]) -> Decode[M]:
    """Validate a success body straight from its bytes (one pass, no intermediate dicts)."""

    def decode(content: bytes) -> M:
        try:
            return model.model_validate_json(content or b"{}")
        except ValidationError as exc:
            raise Malformed.of(model, exc) from None

    return decode


def as_list(item: type[M]) -> Decode[list[M]]:
    """A bare-array body (`list_agents`, `list_tags`, ...) validated in one pass; an object that
    wraps the array is tolerated, should LiveChat ever add one."""
    adapter = _list_adapter(item)

    def decode(content: bytes) -> list[M]:
        stripped = content.lstrip()
        if stripped[:1] == b"[":
            try:
                return adapter.validate_json(content)
            except ValidationError as exc:
                raise Malformed.of(item, exc, many=True) from None
        data = as_json(content)
        if isinstance(data, dict):
            data = next((v for v in data.values() if isinstance(v, list)), [])
        try:
            return adapter.validate_python(data if isinstance(data, list) else [])
        except ValidationError as exc:
            raise Malformed.of(item, exc, many=True) from None

    return decode


@functools.cache
def _list_adapter(item: type[M]) -> TypeAdapter[list[M]]:
    return TypeAdapter(list[item])  # type: ignore[valid-type]


class Malformed(Exception):
    """A success status whose body is not JSON (`shape` None), or not of the expected shape."""

    def __init__(self, shape: str | None = None) -> None:
        super().__init__(shape or "not JSON")
        self.shape = shape

    @classmethod
    def of(cls, model: type[BaseModel], exc: ValidationError, *, many: bool = False) -> Malformed:
        """Where and why, from pydantic's errors: field paths with map keys as `*` and its
        message (which quotes no input), never a value."""
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        if any(e["type"] == "json_invalid" for e in errors):
            return cls()
        where = "; ".join(f"{_where(model, tuple(e['loc']), many)}: {e['msg']}" for e in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        name = f"list of {model.__name__}" if many else model.__name__
        return cls(f"{name}: {where[:300]}{more}")
