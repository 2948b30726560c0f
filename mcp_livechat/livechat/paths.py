"""Where in a body a validation error is, as a dotted path that names no value: map keys and
union tags become `*` (they may be data: agents' e-mails key a ranking report's records,
https://platform.text.com/docs/data-reporting/reports-api#ranking), list items `[]`.
Used for `Malformed` answers (`decode`) and by the doctor's drift report."""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel


def child_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def known_keys(model: type[BaseModel]) -> dict[str, Any]:
    """The keys `model` reads (names and string aliases) and each one's annotation."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        out[name] = info.annotation
        for alias in (info.alias, info.validation_alias):
            if isinstance(alias, str):
                out[alias] = info.annotation
    return out


def unwrap(annotation: Any) -> Any:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return unwrap(args[0])
    if origin in (Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        return unwrap(rest[0]) if len(rest) == 1 else annotation
    return annotation


def loc_path(model: type[BaseModel], loc: tuple[Any, ...], prefix: str) -> str:
    """A validation error's location as a dotted path that names no value (map keys become `*`)."""
    path, annotation = prefix, unwrap(model)
    for part in loc:
        origin, args = get_origin(annotation), get_args(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) and isinstance(part, str):
            path = child_path(path, part)
            annotation = unwrap(known_keys(annotation).get(part, Any))
        elif origin in (list, tuple, set, frozenset) and isinstance(part, int):
            path += "[]"
            annotation = unwrap(args[0]) if args else Any
        elif origin is dict:
            path += ".*"
            annotation = unwrap(args[1]) if len(args) == 2 else Any
        elif isinstance(part, int):
            path += "[]"
        else:  # a key below `Any` or a union branch's tag: never spell it (it may be data)
            path += ".*"
            annotation = Any
    return path
