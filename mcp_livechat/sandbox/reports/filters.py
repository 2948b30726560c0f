"""Which threads a report counts: the time pair plus the documented chat filters.

A report counts **threads** (LiveChat's chats-in-reports), like list_archives, whose filters the
Reports API filters were aligned with in v3.4
(https://platform.text.com/docs/data-reporting/changelog). A thread belongs to the range when
``filters.from <= thread.created_at <= filters.to`` (both edges inclusive, as list_archives).
Every thread of the organization counts, whatever the requester's groups [UNVERIFIED].

Implemented (https://platform.text.com/docs/data-reporting/reports-api#available-parameters-and-filters):
``agents`` (the agents among the thread's users; ``exists: false`` = unassigned), ``tags``,
``groups`` (the thread's groups), ``customer_countries`` (the customer's visit geolocation),
``event_types``, ``properties.<ns>.<name>`` (thread properties), ``agent_response.exists`` /
``.first`` + ``.agents`` / ``.groups``, ``greetings.<filter_type>`` / ``.groups``, ``forms``
(``forms.py``), ``sales`` and ``goals``. Unknown filters are ignored [UNVERIFIED: the docs do not
say what LiveChat answers to them].
"""

from __future__ import annotations

from ..clock import parse_rfc3339
from ..errors import validation
from ..model import JSON
from ..state import EmulatorState
from ..validate import optional_bool, optional_obj
from .facts import Facts
from .forms import form_checks
from .params import Query
from .predicates import KINDS, Check, value_filter


def _property_checks(spec: JSON) -> list[Check]:
    checks: list[Check] = []
    for namespace, names in spec.items():
        if not isinstance(names, dict):
            raise validation(f"`filters.properties.{namespace}` must be an object")
        for name, rule in names.items():
            path = f"filters.properties.{namespace}.{name}"
            if not isinstance(rule, dict):
                raise validation(f"`{path}` must be an object")
            if sum(rule.get(k) is not None for k in KINDS) > 1:
                raise validation(f"`{path}` accepts only one of: `exists`, `values`, `exclude_values`")
            checks.append(_property_check(namespace, name, rule, path))
    return checks


def _property_check(namespace: str, name: str, rule: JSON, path: str) -> Check:
    exists = optional_bool(rule, "exists", f"{path}.exists")
    for key in ("values", "exclude_values"):
        if rule.get(key) is not None and not isinstance(rule[key], list):
            raise validation(f"`{path}.{key}` must be an array")
    include, exclude = rule.get("values"), rule.get("exclude_values") or []

    def check(facts: Facts) -> bool:
        holder = facts.thread.properties.get(namespace)
        present = isinstance(holder, dict) and name in holder
        value = holder.get(name) if isinstance(holder, dict) else None
        if exists is not None and present != exists:
            return False
        if include is not None and not (present and any(_same(value, v) for v in include)):
            return False
        return not (present and any(_same(value, v) for v in exclude))

    return check


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


def _agent_response(spec: JSON) -> list[Check]:
    checks: list[Check] = []
    exists = optional_bool(spec, "exists", "filters.agent_response.exists")
    first = optional_bool(spec, "first", "filters.agent_response.first") or False
    if exists is not None:
        checks.append(lambda f: (f.first_response is not None) == exists)
    # "Works only if the agent_response.first filter is set to true."; `first` is "a modifier that
    # makes the other agent_response filters operate exclusively on the agents' first response"
    # (https://platform.text.com/docs/data-reporting/reports-api#available-parameters-and-filters):
    # read here as "the threads whose first agent reply is by one of `agents`" [UNVERIFIED]
    # `groups` likewise: the threads whose first agent reply came while they were in one of
    # `groups`, read as the thread's groups [UNVERIFIED].
    agents = optional_obj(spec, "agents", "filters.agent_response.agents")
    groups = optional_obj(spec, "groups", "filters.agent_response.groups")
    for check in (
        value_filter(agents, "filters.agent_response.agents", _first_responder),
        value_filter(groups, "filters.agent_response.groups", _first_response_groups, ints=True),
    ):
        if first and check is not None:
            checks.append(check)
    return checks


def _first_response_groups(facts: Facts) -> list[int]:
    return facts.thread.group_ids if facts.first_response else []


def _greeting_groups(facts: Facts) -> list[int]:
    return facts.thread.group_ids if facts.from_greeting else []


def _greetings(spec: JSON) -> list[Check]:
    """``filters.greetings.<filter_type>`` (footnote 1: ``exists`` / ``values`` /
    ``exclude_values``), read as a filter on the greeting's id, the ``lc2.greeting_id`` thread
    property (an ``int``, https://platform.text.com/docs/messaging/references/default-properties#greeting_id),
    and ``filters.greetings.groups`` (``<integer_filter_type>``), read as the groups of a thread
    started from a greeting, a thread not started from one having none [UNVERIFIED: the docs
    name these filters without saying what they match]."""
    checks: list[Check] = []
    rule = {k: spec[k] for k in KINDS if k in spec}
    # Footnote 1 has no ``require_every_value`` (a thread has one greeting): ignored [UNVERIFIED].
    if rule:
        if sum(rule[k] is not None for k in rule) > 1:
            raise validation("`filters.greetings` accepts only one of: `exists`, `values`, `exclude_values`")
        for key in ("values", "exclude_values"):
            values = rule.get(key)
            # "an array with a specific type for property: `string`, `int` or `bool`"
            if isinstance(values, list) and not all(isinstance(v, str | int) for v in values):
                raise validation(
                    f"`filters.greetings.{key}` must be an array of strings, integers or booleans"
                )
        checks.append(_property_check("lc2", "greeting_id", rule, "filters.greetings"))
    groups = value_filter(
        optional_obj(spec, "groups", "filters.greetings.groups"),
        "filters.greetings.groups",
        _greeting_groups,
        ints=True,
    )
    return checks + ([groups] if groups is not None else [])


def _first_responder(facts: Facts) -> list[str]:
    return [facts.first_response[0]] if facts.first_response else []


def thread_checks(state: EmulatorState, query: Query, *, agent_filter: bool = True) -> list[Check]:
    """The predicates of ``query.filters``. The agents reports and ``tags/chat_usage`` get every
    one of them, though their docs list fewer filters [UNVERIFIED]: see ``agents.counted_chats``
    and ``chats.chat_usage``. The agents reports' ``filters.agents`` picks agents, not threads:
    they pass ``agent_filter=False``."""
    f = query.filters
    specs: list[Check | None] = [
        value_filter(optional_obj(f, "tags", "filters.tags"), "filters.tags", lambda x: x.thread.tags),
        value_filter(
            optional_obj(f, "groups", "filters.groups"),
            "filters.groups",
            lambda x: x.thread.group_ids,
            ints=True,
        ),
        value_filter(
            optional_obj(f, "customer_countries", "filters.customer_countries"),
            "filters.customer_countries",
            lambda x: _country(state, x),
        ),
        value_filter(
            optional_obj(f, "event_types", "filters.event_types"),
            "filters.event_types",
            lambda x: {str(e.get("type")) for e in x.thread.events},
            # Footnote 5 lists no ``exists`` for ``<event_type_filter_type>`` but then says "only
            # one of ... `exists`, `values` or `exclude_values`": refusing it is ours [UNVERIFIED]
            # (https://platform.text.com/docs/data-reporting/reports-api#available-parameters-and-filters).
            exists=False,
        ),
    ]
    if agent_filter:
        specs.append(
            value_filter(optional_obj(f, "agents", "filters.agents"), "filters.agents", lambda x: x.agents)
        )
    checks = [c for c in specs if c is not None]
    checks += _property_checks(optional_obj(f, "properties", "filters.properties"))
    checks += _agent_response(optional_obj(f, "agent_response", "filters.agent_response"))
    # `sales` and `goals` (<integer_filter_type>, read as the ids of the sales and goals a chat
    # counted toward [UNVERIFIED]): the sandbox tracks neither, so a thread has none of them, and
    # `exists: true` or `values` select nothing, `exists: false` or `exclude_values` everything.
    for name in ("sales", "goals"):
        check = value_filter(
            optional_obj(f, name, f"filters.{name}"), f"filters.{name}", lambda x: (), ints=True
        )
        checks += [check] if check is not None else []
    checks += _greetings(optional_obj(f, "greetings", "filters.greetings"))
    checks += form_checks(f)
    optional_obj(f, "surveys", "filters.surveys")
    if query.pair == "greetings":
        # "Filters chats started from a greeting": a thread with the lc2.greeting_id property
        # (https://platform.text.com/docs/messaging/references/default-properties#greeting_id).
        checks.append(lambda x: x.from_greeting)
    elif query.pair == "surveys":
        checks.append(lambda x: any(e.get("type") == "filled_form" for e in x.thread.events))  # [UNVERIFIED]
    return checks


def _country(state: EmulatorState, facts: Facts) -> set[str]:
    customer = state.customers.get(facts.chat.customer_id)
    visit = customer.visit if customer is not None else None
    code = visit.get("geolocation", {}).get("country_code") if visit else None
    return {str(code)} if code else set()


def select(state: EmulatorState, org_id: str, query: Query, *, agent_filter: bool = True) -> list[Facts]:
    """The organization's threads in the range that pass every filter, oldest first."""
    checks = thread_checks(state, query, agent_filter=agent_filter)
    out: list[Facts] = []
    for chat in state.org_chats(org_id):
        for thread in chat.threads:
            created = parse_rfc3339(thread.created_at)
            if not query.start <= created <= query.end:
                continue
            facts = Facts(state, chat, thread, created)
            if all(c(facts) for c in checks):
                out.append(facts)
    out.sort(key=lambda x: (x.created, x.thread.id))
    return out
