"""Everything the routes share: settings, clock, stats, faults, the state, the browser session."""

from __future__ import annotations

from dataclasses import dataclass

from . import constants
from .clock import Clock
from .faults import FaultInjector
from .seed import seeded_state
from .state import EmulatorState
from .stats import Stats


@dataclass(frozen=True)
class RegisteredClient:
    """An OAuth client registered with the emulated accounts server (a Developer Console app)."""

    client_id: str
    secret: str | None  # None = public client (PKCE, rotating refresh tokens)
    redirect_uris: tuple[str, ...]

    @property
    def public(self) -> bool:
        return self.secret is None


class Emulator:
    """One emulated LiveChat: what every route of the sandbox app shares."""

    def __init__(
        self,
        *,
        seed: int,
        redirect_uris: tuple[str, ...],
        code_lifetime: int,
        redirect_limit: tuple[int, float] | None,
        refresh_lifetime: int | None = None,
        silent_agents_count: bool = False,
        refusal_status: int | None = None,
        readd_refused: bool = False,
    ) -> None:
        self.seed = seed
        self.silent_agents_count = silent_agents_count  # membership.check_agent_limit
        self.refusal_status = refusal_status  # errors.WebApiFault.response
        self.readd_refused = readd_refused  # chat_users.add_user_to_chat
        self.code_lifetime = code_lifetime
        # LiveChat documents no refresh-token lifetime: None = they never expire on their own.
        self.refresh_lifetime = refresh_lifetime
        self.redirect_limit = redirect_limit
        self.clients = {
            constants.CLIENT_ID: RegisteredClient(
                constants.CLIENT_ID, constants.CLIENT_SECRET, redirect_uris
            ),
            constants.PUBLIC_CLIENT_ID: RegisteredClient(
                constants.PUBLIC_CLIENT_ID, None, redirect_uris + constants.PUBLIC_EXTRA_REDIRECT_URIS
            ),
        }
        self.clock = Clock()
        self.stats = Stats()
        self.faults = FaultInjector()
        self.state: EmulatorState = seeded_state(seed)
        self.browser_account: str | None = constants.AGENT_EMAIL
        self.consent = True

    def reset(self, seed: int | None = None) -> None:
        """Re-seed the data and forget tokens, codes, page ids, faults, stats and the browser
        session settings. The clock keeps running."""
        if seed is not None:
            self.seed = seed
        self.state = seeded_state(self.seed)
        self.stats.reset()
        self.faults.clear()
        self.browser_account = constants.AGENT_EMAIL
        self.consent = True
