"""Scope parsing and inclusion. LiveChat's general rules
(https://platform.text.com/docs/authorization/scopes#general-rules): ``rw`` ⊇ ``ro``,
``--all`` ⊇ ``--access`` ⊇ ``--my``. Not stated there, our reading [UNVERIFIED]: ``rw`` ⊇ ``rc``
⊇ ``ro``, and ``--all`` ⊇ ``--groups``."""

from __future__ import annotations

import re
from collections.abc import Iterable

from . import constants

_LEVELS = {
    "all": {"all", "access", "my", "groups"},
    "access": {"access", "my"},
    "my": {"my"},
    "groups": {"groups"},
    "": {""},
}
_PERMS = {"rw": {"rw", "ro", "rc"}, "rc": {"rc", "ro"}, "ro": {"ro"}}


def _split(scope: str) -> tuple[str, str, str]:
    name, _, perm = scope.partition(":")
    resource, _, level = name.partition("--")
    return resource, level, perm


def grants(held: str, needed: str) -> bool:
    h_res, h_level, h_perm = _split(held)
    n_res, n_level, n_perm = _split(needed)
    if h_res != n_res:
        return False
    if n_level not in _LEVELS.get(h_level, {h_level}):
        return False
    return n_perm in _PERMS.get(h_perm, {h_perm})


def has(held: Iterable[str], needed: str) -> bool:
    return any(grants(h, needed) for h in held)


def has_any(held: Iterable[str], needed: Iterable[str]) -> bool:
    held = tuple(held)
    return any(has(held, n) for n in needed)


def parse_requested(raw: str | None) -> list[str] | None:
    """Authorize ``scope``: "a comma-separated string"; absent = all the app's scopes
    (https://platform.text.com/docs/authorization/oauth-authorization#accountssdk).

    A space-separated value stays one (unknown) scope name, so it ends in ``invalid_scope``: the
    docs document only commas, and the strictness catches a client that sends the other form
    [UNVERIFIED]. Blanks around a comma are trimmed."""
    if raw is None or not raw.strip():
        return None
    return [s.strip() for s in raw.split(",") if s.strip()]


def parse_loose(raw: str) -> list[str]:
    """Comma- or space-separated scopes, for the test helpers (mint_token) only."""
    return [s for s in re.split(r"[\s,]+", raw.strip()) if s]


def admin_only(scopes: Iterable[str]) -> list[str]:
    """The scopes of ``scopes`` a normal agent cannot hold."""
    return [s for s in scopes if s in constants.ADMIN_ONLY_SCOPES]


def allowed_for_role(role: str, scopes: Iterable[str]) -> tuple[str, ...]:
    """``scopes`` without the ones ``role`` cannot hold (mint_token's default grant; the authorize
    endpoint refuses such a request with ``invalid_scope`` instead)."""
    out = []
    for scope in scopes:
        if role == "normal" and scope in constants.ADMIN_ONLY_SCOPES:
            continue
        if scope not in out:
            out.append(scope)
    return tuple(out)


def join(scopes: Iterable[str]) -> str:
    return ",".join(scopes)
