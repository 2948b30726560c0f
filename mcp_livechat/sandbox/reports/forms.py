"""``filters.forms``: the threads whose filled pre-chat or post-chat forms match.

The docs (https://platform.text.com/docs/data-reporting/reports-api#available-parameters-and-filters,
footnote 4, and its "Sample survey filter") make ``filters.forms`` an array of ``<form>`` objects:
``type`` (``pre_chat`` | ``post_chat``), ``values`` / ``exclude_values`` (answer ids), ``from`` /
``to`` (RFC 3339), ``exists`` ("will return only surveys with `survey_id`") and ``groups``
(``<integer_filter_type>``). The docs do not say how these combine; the sandbox reads them as
follows [UNVERIFIED]:

- a form of the entry's ``type`` is a ``filled_form`` event whose ``form_type`` is ``prechat`` /
  ``postchat`` (https://platform.text.com/docs/messaging/agent-chat-api/data-structures#filled-form);
  without ``type``, any filled form;
- ``from`` / ``to`` bound the form's ``created_at`` (both edges inclusive, like ``filters.from/to``);
- an answer id is ``<field id>:<answer id>`` of a choice field's answer, as the sample's
  ``"163672098710307655:0"`` reads; ``values`` wants a form with one of them, ``exclude_values``
  drops a thread whose form has one of them;
- ``exists: true`` wants such a form, ``exists: false`` wants none;
- ``groups`` filters the thread's groups;
- a thread must match every entry of the array.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from ..clock import parse_rfc3339
from ..errors import validation
from ..model import JSON
from ..validate import optional_bool, optional_obj, str_list
from .facts import Facts
from .params import moment
from .predicates import Check, value_filter

_TYPES = {"pre_chat": "prechat", "post_chat": "postchat"}
_KEYS = {"type", "values", "exclude_values", "from", "to", "exists", "groups"}


def form_checks(filters: JSON) -> list[Check]:
    entries = filters.get("forms")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise validation("`filters.forms` must be an array of form filters")
    return [_entry(entry, f"filters.forms[{i}]") for i, entry in enumerate(entries)]


def _entry(entry: object, path: str) -> Check:
    if not isinstance(entry, dict):
        raise validation(f"`{path}` must be an object")
    # An unknown key in an entry is refused, where an unknown filter is ignored: a misspelt key
    # of a form would widen what it selects [UNVERIFIED: LiveChat's answer is not documented].
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise validation(f"`{path}.{unknown[0]}` is not a form filter; use: {', '.join(sorted(_KEYS))}")
    kind = entry.get("type")
    if kind is not None and (not isinstance(kind, str) or kind not in _TYPES):
        raise validation(f"`{path}.type` must be one of: {', '.join(_TYPES)}")
    wanted = _answers(entry, "values", path)
    refused = _answers(entry, "exclude_values", path) or set()
    exists = optional_bool(entry, "exists", f"{path}.exists")
    if ("from" in entry) != ("to" in entry):
        raise validation(f"`{path}` needs both `from` and `to`, or neither")
    window = (moment(entry, "from", path), moment(entry, "to", path)) if "from" in entry else None
    groups_path = f"{path}.groups"
    groups = value_filter(optional_obj(entry, "groups", groups_path), groups_path, _groups, ints=True)
    form_type = _TYPES.get(kind) if isinstance(kind, str) else None

    def check(facts: Facts) -> bool:
        forms = list(_forms(facts, form_type, window))
        if exists is not None and bool(forms) != exists:
            return False
        answers = {a for form in forms for a in _answer_ids(form)}
        if wanted is not None and not wanted & answers:
            return False
        if refused & answers:
            return False
        return groups is None or groups(facts)

    return check


def _answers(entry: JSON, key: str, path: str) -> set[str] | None:
    value = entry.get(key)
    return None if value is None else set(str_list(value, f"{path}.{key}"))


def _groups(facts: Facts) -> list[int]:
    return facts.thread.group_ids


def _forms(facts: Facts, form_type: str | None, window: tuple[datetime, datetime] | None) -> Iterator[JSON]:
    for event in facts.thread.events:
        if event.get("type") != "filled_form":
            continue
        if form_type is not None and event.get("form_type") != form_type:
            continue
        if window is not None and not window[0] <= parse_rfc3339(str(event["created_at"])) <= window[1]:
            continue
        yield event


def _answer_ids(form: JSON) -> Iterator[str]:
    for field in form.get("fields") or []:
        if isinstance(field, dict):
            yield from (f"{field.get('id')}:{answer['id']}" for answer in chosen(field))


def chosen(field: JSON) -> list[JSON]:
    """A filled form field's chosen answers with an id (radio, select: ``answer``; checkbox:
    ``answers``), https://platform.text.com/docs/messaging/agent-chat-api/data-structures#filled-form-fields."""
    many = field.get("answers")
    answers = many if isinstance(many, list) else [field.get("answer")]
    return [a for a in answers if isinstance(a, dict) and a.get("id") is not None]
