"""Tokens issued directly (tests, scripts), bypassing the browser flow."""

from __future__ import annotations

from collections.abc import Iterable

from . import constants
from . import scopes as scope_rules
from .oauth import token_response
from .runtime import Emulator


def mint_token(
    rt: Emulator,
    email: str,
    *,
    scopes: Iterable[str] | str | None = None,
    expires_in: int = constants.ACCESS_TOKEN_LIFETIME,
    client_id: str = constants.CLIENT_ID,
) -> dict[str, object]:
    """A token response (the 7 keys of ``POST /v2/token``) for a seeded agent.

    ``scopes=None`` grants every app scope the agent's role allows; explicit scopes (a list or a
    comma/space-separated string) are granted as given, even admin ones, so tests can build any
    token they need. Counted as ``token_minted`` (not ``token_issued``).
    """
    agent = rt.state.agents.get(email)
    if agent is None:
        raise ValueError(f"unknown agent {email!r}")
    if client_id not in rt.clients:
        raise ValueError(f"unknown client_id {client_id!r}")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
        raise ValueError("expires_in must be a positive integer")
    if scopes is None:
        granted = scope_rules.allowed_for_role(agent.role, constants.APP_SCOPES)
    else:
        parsed = scope_rules.parse_loose(scopes) if isinstance(scopes, str) else list(scopes)
        granted = tuple(dict.fromkeys(parsed or ()))
    now = rt.clock.now()
    tokens = rt.state.tokens
    refresh = tokens.issue_refresh(
        client_id=client_id, agent_id=agent.id, scopes=granted, now=now, lifetime=rt.refresh_lifetime
    )
    access = tokens.issue_access(
        region=rt.state.org_of(agent).region,
        client_id=client_id,
        agent_id=agent.id,
        scopes=granted,
        now=now,
        expires_in=expires_in,
        refresh=refresh,
    )
    rt.stats.incr("token_minted")
    return token_response(rt, access, refresh.token)
