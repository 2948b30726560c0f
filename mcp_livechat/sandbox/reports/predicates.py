"""The filter types of the Reports API's footnotes 2 and 3: ``<string_filter_type>`` and
``<integer_filter_type>`` (https://platform.text.com/docs/data-reporting/reports-api#available-parameters-and-filters)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ..errors import validation
from ..model import JSON
from ..validate import is_int, optional_bool
from .facts import Facts

Check = Callable[[Facts], bool]
T = TypeVar("T")
KINDS = ("exists", "values", "exclude_values")


def _values(spec: JSON, key: str, path: str, *, ints: bool) -> set[Any] | None:
    value = spec.get(key)
    if value is None:
        return None
    ok = isinstance(value, list) and all(is_int(v) if ints else isinstance(v, str) for v in value)
    if not ok:
        raise validation(f"`{path}.{key}` must be an array of {'integers' if ints else 'strings'}")
    return set(value)


def value_filter(
    spec: JSON, path: str, have_of: Callable[[T], Iterable[Any]], *, ints: bool = False, exists: bool = True
) -> Callable[[T], bool] | None:
    """A ``string_filter_type`` / ``integer_filter_type``: one of ``exists`` / ``values`` /
    ``exclude_values``, plus ``require_every_value``."""
    if not spec:
        return None
    if sum(spec.get(k) is not None for k in KINDS) > 1:
        raise validation(f"`{path}` accepts only one of: `exists`, `values`, `exclude_values`")
    if not exists and spec.get("exists") is not None:
        raise validation(f"`{path}.exists` is not supported")
    want_exists = optional_bool(spec, "exists", f"{path}.exists")
    include = _values(spec, "values", path, ints=ints)
    exclude = _values(spec, "exclude_values", path, ints=ints)
    every = optional_bool(spec, "require_every_value", f"{path}.require_every_value") or False

    def check(item: T) -> bool:
        have = set(have_of(item))
        if want_exists is not None and bool(have) != want_exists:
            return False
        # An empty ``values: []`` matches no chat (and ``exclude_values: []`` every chat); the
        # docs don't say [UNVERIFIED].
        if include is not None and not (include <= have if every else include & have):
            return False
        # ``exclude_values`` drops a chat that has any of them, with or without
        # ``require_every_value``, as list_archives does in the sandbox [UNVERIFIED: the docs say
        # ``require_every_value`` "will return only those chats that have all elements passed in
        # `values` or `exclude_values`", which read literally returns excluded chats].
        return not exclude or not exclude & have

    return check
