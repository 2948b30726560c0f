"""Request-body validation helpers. Every failure is a ``validation`` WebApiFault whose message
names the field (LiveChat style: "`id` is required"; other wordings are [UNVERIFIED])."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from .clock import parse_rfc3339
from .errors import validation
from .model import JSON


def require_str(body: Mapping[str, Any], key: str, path: str | None = None) -> str:
    name = path or key
    value = body.get(key)
    if value is None:
        raise validation(f"`{name}` is required")
    if not isinstance(value, str) or not value:
        raise validation(f"`{name}` must be a non-empty string")
    return value


def optional_str(body: Mapping[str, Any], key: str, path: str | None = None) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise validation(f"`{path or key}` must be a string")
    return value


def optional_bool(body: Mapping[str, Any], key: str, path: str | None = None) -> bool | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise validation(f"`{path or key}` must be a boolean")
    return value


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def optional_int(
    body: Mapping[str, Any], key: str, *, default: int, low: int, high: int, path: str | None = None
) -> int:
    value = body.get(key)
    if value is None:
        return default
    if not is_int(value) or not low <= value <= high:
        raise validation(f"`{path or key}` must be an integer between {low} and {high}")
    return int(value)


def require_int(body: Mapping[str, Any], key: str, path: str | None = None) -> int:
    value = body.get(key)
    if value is None:
        raise validation(f"`{path or key}` is required")
    if not is_int(value):
        raise validation(f"`{path or key}` must be an integer")
    return int(value)


def optional_obj(body: Mapping[str, Any], key: str, path: str | None = None) -> JSON:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise validation(f"`{path or key}` must be an object")
    return value


def one_of(value: object, allowed: Iterable[str], path: str) -> str:
    options = tuple(allowed)
    if not isinstance(value, str) or value not in options:
        raise validation(f"`{path}` must be one of: {', '.join(options)}")
    return value


def sort_order(body: Mapping[str, Any]) -> str:
    value = body.get("sort_order")
    return "desc" if value is None else one_of(value, ("asc", "desc"), "sort_order")


def int_list(value: object, path: str, *, max_len: int) -> list[int]:
    if not isinstance(value, list) or not all(is_int(v) for v in value):
        raise validation(f"`{path}` must be an array of integers")
    if len(value) > max_len:
        raise validation(f"`{path}` can contain at most {max_len} items")
    return [int(v) for v in value]


def str_list(value: object, path: str, *, max_len: int | None = None) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise validation(f"`{path}` must be an array of strings")
    if max_len is not None and len(value) > max_len:
        raise validation(f"`{path}` can contain at most {max_len} items")
    return [str(v) for v in value]


def timestamp(body: Mapping[str, Any], key: str, path: str) -> datetime | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise validation(f"`{path}` must be an RFC 3339 date")
    try:
        return parse_rfc3339(value)
    except ValueError:
        raise validation(f"`{path}` must be an RFC 3339 date") from None


def fields_list(body: Mapping[str, Any], allowed: Iterable[str]) -> list[str]:
    value = body.get("fields")
    if value is None:
        return []
    options = tuple(allowed)
    names = str_list(value, "fields")
    for name in names:
        if name not in options:
            raise validation(f"`fields` must contain only: {', '.join(options)}")
    return names
