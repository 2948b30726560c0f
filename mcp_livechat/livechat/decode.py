"""How a success body becomes data: plain JSON, or one pydantic model or list of models validated
straight from the bytes in one pass. A body that is not JSON raises `Malformed`, which the
transport turns into LiveChat's error for that call."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

Decode = Callable[[bytes], T]


def as_json(content: bytes) -> Any:
    """Decode a success body as plain JSON (`{}` for an empty one); `Malformed` if it is not JSON."""
    if not content:
        return {}
    try:
        return json.loads(content)
    except ValueError:
        raise Malformed() from None


def as_model(model: type[M]) -> Decode[M]:
    """Validate a success body straight from its bytes (one pass, no intermediate dicts)."""

    def decode(content: bytes) -> M:
        try:
            return model.model_validate_json(content or b"{}")
        except ValidationError as exc:
            if any(e["type"] == "json_invalid" for e in exc.errors(include_url=False)):
                raise Malformed() from None
            raise

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
                if any(e["type"] == "json_invalid" for e in exc.errors(include_url=False)):
                    raise Malformed() from None
                raise
        data = as_json(content)
        if isinstance(data, dict):
            data = next((v for v in data.values() if isinstance(v, list)), [])
        return adapter.validate_python(data if isinstance(data, list) else [])

    return decode


@functools.cache
def _list_adapter(item: type[M]) -> TypeAdapter[list[M]]:
    return TypeAdapter(list[item])  # type: ignore[valid-type]


class Malformed(Exception):
    """A success status whose body is not JSON."""
