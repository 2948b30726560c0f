"""Drift between LiveChat's raw JSON and our models in `livechat/types.py`.

Two findings, both as paths without values (`chats_summary[].last_thread_summary.foo`; `[]` is
any list item, `*` any key of a map): fields the model rejects (a validation error, with its
type) and fields the model does not declare (it ignores them, so a rename on LiveChat's side
would silently lose data).
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from mcp_livechat.livechat.paths import child_path, known_keys, loc_path


@dataclass
class Shape:
    method: str
    unknown_fields: list[str] = field(default_factory=list)
    rejected_fields: list[str] = field(default_factory=list)
    skipped: str | None = None  # why no response was compared

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "method": self.method,
            "unknown_fields": self.unknown_fields,
            "rejected_fields": self.rejected_fields,
        }
        if self.skipped:
            out["skipped"] = self.skipped
        return out


def compare(method: str, model: type[BaseModel], data: Any, *, many: bool = False) -> Shape:
    """`data` (one object, or with `many` a bare array of them) against `model`."""
    shape = Shape(method)
    if many:
        if not isinstance(data, list):
            shape.rejected_fields.append(f"(top level): expected an array, got {_kind(data)}")
            return shape
        items, prefix = data, "[]"
    else:
        items, prefix = [data], ""
    unknown: dict[str, None] = {}
    rejected: dict[str, None] = {}
    for item in items:
        _unknown(model, item, prefix, unknown)
        try:
            model.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors(include_url=False, include_input=False, include_context=False):
                where = loc_path(model, tuple(err["loc"]), prefix) or "(top level)"
                rejected[f"{where}: {err['type']}"] = None
    shape.unknown_fields = sorted(unknown)
    shape.rejected_fields = sorted(rejected)
    return shape


def _kind(value: Any) -> str:
    names: dict[type, str] = {dict: "an object", list: "an array", str: "a string"}
    return names.get(type(value), type(value).__name__)


def _unknown(model: type[BaseModel], data: Any, path: str, out: dict[str, None]) -> None:
    if not isinstance(data, dict):
        return
    declared = known_keys(model)
    for key, value in data.items():
        where = child_path(path, str(key))
        if key not in declared:
            out[where] = None
        else:
            _walk(declared[key], value, where, out)


def _walk(annotation: Any, value: Any, path: str, out: dict[str, None]) -> None:
    """Follow `annotation` into `value` wherever it leads to a model."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        _walk(args[0], value, path, out)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        _unknown(annotation, value, path, out)
    elif origin in (Union, types.UnionType):
        models = [a for a in args if a is not type(None)]
        if models:
            _walk(models[0], value, path, out)
    elif origin in (list, tuple, set, frozenset) and isinstance(value, list):
        inner = args[0] if args else Any
        for item in value:
            _walk(inner, item, f"{path}[]", out)
    elif origin is dict and isinstance(value, dict) and len(args) == 2:
        for item in value.values():
            _walk(args[1], item, f"{path}.*", out)
