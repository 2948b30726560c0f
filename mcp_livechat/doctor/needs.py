"""Which LiveChat actions each tool calls, and what a missing scope takes away.

`TOOL_ACTIONS` is read off `mcp_livechat/tools/*.py` (a test keeps it in step with the tool
catalogue); the scopes of each action come from the client's `REQUIRED_SCOPES` (any one of them
serves). Scope inclusion follows LiveChat's general rules
(https://platform.text.com/docs/authorization/scopes#general-rules): `rw` contains `ro`, `access`
contains `my`, `all` contains `access` and `my`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from mcp_livechat.livechat import REPORT_ACTIONS, REQUIRED_SCOPES

ME = "GET /v2/accounts/me"


@dataclass(frozen=True)
class Needs:
    """`always`: actions every call of the tool makes; `one_of`: every call makes one of these
    (an argument chooses which); `sometimes`: only some calls (a fallback, an optional detail,
    one argument)."""

    always: tuple[str, ...] = ()
    sometimes: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()

    @property
    def actions(self) -> tuple[str, ...]:
        return self.always + self.one_of + self.sometimes

    def needed(self, action: str, gone: set[str]) -> bool:
        """Whether losing the scopes `gone` stops every call from making `action`'s kind of call."""
        if action in self.always:
            return True
        return action in self.one_of and all(set(scopes_of(a)) <= gone for a in self.one_of)


TOOL_ACTIONS: dict[str, Needs] = {
    # tools/chats.py
    "list_chats": Needs(("list_chats",)),
    "get_chat": Needs(("get_chat",)),
    "search_archives": Needs(("list_archives",)),
    "send_message": Needs(("send_event", ME, "get_chat"), ("add_user_to_chat",)),
    "transfer_chat": Needs(("transfer_chat",), ("list_agents_for_transfer",)),
    "close_chat": Needs(("deactivate_chat",), ("get_chat",)),
    "tag_thread": Needs(("tag_thread",)),
    "untag_thread": Needs(("untag_thread",)),
    "search": Needs(("list_archives",), ("get_customer",)),
    "fetch": Needs((), ("get_chat", "get_customer")),
    "list_threads": Needs(("list_threads",)),
    "list_waiting_chats": Needs(("list_chats",)),
    # tools/customers.py
    "get_customer": Needs(("get_customer",)),
    "update_customer": Needs(("update_customer", "get_customer")),
    # tools/agents.py
    "get_my_profile": Needs((ME,), ("get_agent", "list_routing_statuses")),
    "list_agents": Needs(("list_agents",)),
    "get_agent": Needs(("get_agent",), ("list_routing_statuses",)),
    "update_agent_profile": Needs(
        (ME, "update_agent", "get_agent"), ("PATCH /v2/accounts/me", "list_routing_statuses")
    ),
    "set_routing_status": Needs(("set_routing_status",), (ME,)),
    "list_routing_statuses": Needs(("list_routing_statuses",)),
    # tools/account.py (the connection tools need no LiveChat scope)
    "list_groups": Needs(("list_groups",)),
    "list_tags": Needs(("list_tags",)),
    "get_connection_status": Needs(),
    "connect_livechat": Needs(),
    "disconnect_livechat": Needs(),
    # tools/supervisor.py
    "join_chat": Needs((ME, "get_chat"), ("add_user_to_chat",)),
    "leave_chat": Needs((ME, "get_chat"), ("remove_user_from_chat",)),
    "follow_chat": Needs(("follow_chat",)),
    "unfollow_chat": Needs(("unfollow_chat",)),
    "list_agents_for_transfer": Needs(("list_agents_for_transfer",)),
    # tools/admin.py
    "create_tag": Needs(("create_tag",)),
    "delete_tag": Needs(("delete_tag",)),
    "ban_customer": Needs(("ban_customer",)),
    "list_customer_bans": Needs(("list_customer_bans",)),
    "unban_customer": Needs(("unban_customer",)),
    # tools/reports.py (chat_report calls the chats report its metric names)
    "chat_report": Needs(one_of=tuple(a for a in REPORT_ACTIONS if a.startswith("chats/"))),
    "agent_report": Needs(("agents/performance", "chats/ranking")),
    "tag_report": Needs(("tags/chat_usage",)),
}

# Scopes the Scopes page gives to LiveChat's `administrator` role (its "Role" column), among the
# ones our tools use: a `normal` agent's credential cannot carry them, and a Personal Access Token
# "run[s] using that account's permissions"
# (https://platform.text.com/docs/authorization/scopes#agent-scopes,
# https://platform.text.com/docs/authorization/personal-access-tokens#how-personal-access-tokens-work).
ADMIN_SCOPES = frozenset({"chats--all:ro", "chats--all:rw", "agents--all:rw", "accounts--all:rw"})


def scopes_of(action: str) -> tuple[str, ...]:
    """The scopes that serve `action` (any one of them); () when it needs none we know of."""
    return tuple(REQUIRED_SCOPES.get(action, ()))


def needed_scopes() -> set[str]:
    """Every scope some tool can use."""
    return {s for needs in TOOL_ACTIONS.values() for a in needs.actions for s in scopes_of(a)}


def _split(scope: str) -> tuple[str, str, str]:
    name, _, perm = scope.partition(":")
    resource, _, level = name.partition("--")
    return resource, level, perm


_LEVELS = {"all": {"all", "access", "my"}, "access": {"access", "my"}}
_PERMS = {"rw": {"rw", "ro"}}


def grants(held: str, needed: str) -> bool:
    """Whether holding `held` gives `needed`, by the documented general rules only."""
    h_res, h_level, h_perm = _split(held)
    n_res, n_level, n_perm = _split(needed)
    return (
        h_res == n_res
        and n_level in _LEVELS.get(h_level, {h_level})
        and n_perm in _PERMS.get(h_perm, {h_perm})
    )


def granted(held: Iterable[str], needed: str) -> bool:
    return any(grants(h, needed) for h in held)


def proven_by(action: str) -> str | None:
    """What a successful call of `action` proves the credential holds: the alternative every
    other one contains (`chats--access:ro` for list_chats), else "a or b"; None if no scope."""
    alternatives = scopes_of(action)
    if not alternatives:
        return None
    for candidate in alternatives:
        if all(grants(other, candidate) for other in alternatives):
            return candidate
    return " or ".join(alternatives)


@dataclass
class Impact:
    """What the missing scopes take away: per scope, the tools it disables outright and the
    ones it limits (another scope still serves them, or only some calls need it)."""

    disabled: dict[str, list[str]] = field(default_factory=dict)
    limited: dict[str, list[str]] = field(default_factory=dict)


def impact(missing: Iterable[str]) -> Impact:
    gone = set(missing)
    disabled: dict[str, set[str]] = {}
    limited: dict[str, set[str]] = {}
    for tool, needs in TOOL_ACTIONS.items():
        for action in needs.actions:
            alternatives = scopes_of(action)
            lost = [s for s in alternatives if s in gone]
            whole = bool(lost) and len(lost) == len(alternatives) and needs.needed(action, gone)
            for scope in lost:
                (disabled if whole else limited).setdefault(scope, set()).add(tool)
    for scope, tools in limited.items():
        tools -= disabled.get(scope, set())
    return Impact(
        disabled={s: sorted(t) for s, t in sorted(disabled.items())},
        limited={s: sorted(t) for s, t in sorted(limited.items()) if t},
    )
