"""The connection health monitor: a background sweep that keeps stored grants working before people
call, and finds dead ones before people do.

Every `interval` seconds (jittered), in every server process; one sweeper across replicas at a time
(`TokenStore.sweep_lock`: a PostgreSQL advisory lock, or the SQLite file lock). A sweep:

1. drops expired pending sign-ins;
2. refreshes the grants whose access token is due before the next sweep, once across replicas
   (the same single-flight refresh as a call), so no person's first call waits on a refresh;
3. validates the others not checked within half an interval with token info (`GET /v2/info`,
   https://platform.text.com/docs/authorization/oauth-authorization#validating-the-access-token):
   it creates no token, so it never eats into LiveChat's 25-token cap
   (https://platform.text.com/docs/authorization/oauth-authorization#token-limitations). An access
   token refused before its expiry is renewed; a grant LiveChat declares dead is marked
   `needs_reconnect` with the reason (never deleted);
4. records per grant when it was checked, the outcome and LiveChat's error type.

Its work is bounded: at most `max_checks` grants per sweep (soonest expiry first, then the least
recently checked), `concurrency` at a time. On `too_many_requests`
(https://platform.text.com/docs/messaging/agent-chat-api#rate-limits) the sweep stops and the next
one waits twice as long (up to 8 intervals, and at least `Retry-After`). A replica that does not
get the lock only refreshes its counts (`grant_counts`), so every replica's metrics agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from mcp_livechat.connect.connections import REFRESH_MARGIN, OAuthConnections
from mcp_livechat.connect.store import CONNECTED, NEEDS_RECONNECT, GrantInfo, StoreUnavailable
from mcp_livechat.connect.verdicts import AppRefused, GrantDead
from mcp_livechat.errors import (
    ApiError,
    ConfigurationError,
    LiveChatError,
    RateLimited,
    TransportError,
)
from mcp_livechat.livechat import LiveChat, StaticCredentials, bearer

__all__ = ["STATES", "HealthMonitor", "SweepReport", "grant_counts", "grant_state"]

logger = logging.getLogger("mcp_livechat.connect.health")

ConnectionState = Literal["connected", "expiring", "needs_reconnect"]
STATES: tuple[ConnectionState, ...] = ("connected", "expiring", "needs_reconnect")
MAX_BACKOFF = 8  # intervals


def grant_state(grant: GrantInfo, horizon: float) -> ConnectionState:
    """What an operator sees: `needs_reconnect`, `expiring` (its access token expires before
    `horizon`, the next sweep: it is due for a refresh), or `connected`."""
    if grant.state == NEEDS_RECONNECT:
        return "needs_reconnect"
    return "expiring" if grant.expires_at <= horizon else "connected"


def grant_counts(grants: Iterable[GrantInfo], horizon: float) -> dict[str, int]:
    counts = Counter(grant_state(g, horizon) for g in grants)
    return {state: counts.get(state, 0) for state in STATES}


@dataclass(slots=True)
class SweepReport:
    started_at: float
    ended_at: float = 0.0
    grants: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    deferred: int = 0  # due or unchecked, left for the next sweep (bound reached, or rate limited)
    purged: int = 0
    rate_limited: float | None = None  # seconds LiveChat asked to wait (0: unknown)
    counts: Mapping[str, int] = field(default_factory=dict)

    def line(self) -> str:
        outcomes = ", ".join(f"{n} {k}" for k, n in sorted(self.outcomes.items())) or "nothing checked"
        return (
            f"health sweep from {self.started_at:.3f} to {self.ended_at:.3f}: {self.grants} grants;"
            f" {outcomes}; {self.deferred} deferred; {self.purged} expired links purged"
        )


class _Stop(Exception):
    """LiveChat asked us to slow down: end this sweep."""

    def __init__(self, retry_after: float | None) -> None:
        self.retry_after = retry_after


class HealthMonitor:
    """Runs `sweep` every `interval` seconds until `stop`."""

    def __init__(
        self,
        connections: OAuthConnections,
        *,
        interval: float,
        max_checks: int = 250,
        concurrency: int = 4,
        on_counts: Callable[[Mapping[str, int]], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.connections = connections
        self.store = connections.store
        self.interval = interval
        self.max_checks = max_checks
        self.concurrency = concurrency
        self.on_counts = on_counts
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._backoff = 0
        self._identity_tried: set[tuple[str, str]] = set()
        self.last: SweepReport | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="mcp-livechat-health")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        delay = min(self.interval, 30.0) * random.uniform(0.5, 1.0)  # noqa: S311 (jitter)
        while True:
            await asyncio.sleep(delay)
            report = None
            try:
                report = await self.sweep()
            except StoreUnavailable as exc:
                logger.warning("health sweep skipped: %s", exc)
            except ConfigurationError as exc:  # e.g. rows sealed with a key this process lacks
                logger.error("health sweep failed: %s", exc)  # one line, the operator's to fix
            except Exception:
                logger.exception("health sweep failed")
            delay = self._next_delay(report)

    def _next_delay(self, report: SweepReport | None) -> float:
        if report is not None and report.rate_limited is not None:
            self._backoff = min(self._backoff + 1, 3)
            wait = self.interval * 2**self._backoff
            return float(max(min(wait, self.interval * MAX_BACKOFF), report.rate_limited))
        self._backoff = 0
        return self.interval * random.uniform(0.9, 1.1)  # noqa: S311 (jitter: replicas drift apart)

    # ------------------------------------------------------------------ one sweep

    async def sweep(self) -> SweepReport | None:
        """One sweep if this process gets the store-wide lock; None (counts refreshed) otherwise."""
        async with self.store.sweep_lock() as held:
            if not held:
                await self._publish(await self.store.list_grants())
                logger.debug("health sweep skipped: another process holds the sweep lock")
                return None
            report = SweepReport(started_at=self._clock())
            report.purged = await self.store.purge_expired(report.started_at)
            grants = await self.store.list_grants()
            report.grants = len(grants)
            work = self._plan(grants, report.started_at)
            report.deferred = max(0, len(work) - self.max_checks)
            await self._check_all(work[: self.max_checks], report)
            report.counts = await self._publish(await self.store.list_grants())
            report.ended_at = self._clock()
        self.last = report
        logger.info("%s", report.line())
        return report

    def _plan(self, grants: list[GrantInfo], now: float) -> list[GrantInfo]:
        """Due for a refresh (soonest first), then the least recently checked; dead grants wait."""
        horizon = now + self.interval + REFRESH_MARGIN  # may be due by then (`OAuthConnections.due`)
        live = [g for g in grants if g.state == CONNECTED]
        due = sorted((g for g in live if g.expires_at < horizon), key=lambda g: g.expires_at)
        recent = now - self.interval / 2
        stale = sorted(
            (g for g in live if g.expires_at >= horizon and (g.last_check_at or 0.0) < recent),
            key=lambda g: g.last_check_at or 0.0,
        )
        return due + stale

    async def _check_all(self, work: list[GrantInfo], report: SweepReport) -> None:
        """`concurrency` workers over `work`; a rate limit stops them all, so does a store outage."""
        queue = list(reversed(work))
        until = report.started_at + self.interval
        failed: list[StoreUnavailable] = []

        async def worker() -> None:
            while queue and report.rate_limited is None and not failed:
                grant = queue.pop()
                try:
                    report.outcomes[await self._check(grant, until)] += 1
                except _Stop as stop:
                    report.rate_limited = stop.retry_after or 0.0
                    report.outcomes["rate_limited"] += 1
                except StoreUnavailable as exc:
                    failed.append(exc)
                except Exception:
                    logger.exception("health check of %s failed unexpectedly", grant.principal)
                    report.outcomes["internal"] += 1
            report.deferred += len(queue)
            queue.clear()

        await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(work)))))
        if failed:
            raise failed[0]

    async def _check(self, grant: GrantInfo, until: float) -> str:
        """Refresh or validate one grant; record and return the outcome. `StoreUnavailable` ends the sweep."""
        principal = grant.principal
        outcome, error_type = "ok", None
        try:
            outcome = await self._renew_or_validate(grant, until)
        except GrantDead as dead:
            outcome, error_type = "dead", dead.error_type
        except AppRefused as exc:
            outcome, error_type = "app_refused", exc.reason
        except RateLimited as exc:
            await self.store.record_check(principal, outcome="rate_limited", error_type=exc.type)
            raise _Stop(exc.retry_after) from None
        except StoreUnavailable:
            raise
        except TimeoutError:
            outcome = "busy"  # another replica held this grant's refresh lock for too long
        except ApiError as exc:
            outcome, error_type = "error", exc.type
        except TransportError:
            outcome = "unreachable"
        except LiveChatError:
            outcome = "error"
        if outcome != "gone":
            await self.store.record_check(principal, outcome=outcome, error_type=error_type)
        return outcome

    async def _renew_or_validate(self, grant: GrantInfo, until: float) -> str:
        conns, principal = self.connections, grant.principal
        token = await conns.ensure_fresh(principal, until=until, reread=True)
        if token is None:
            return "gone"  # disconnected meanwhile
        if abs(token.expires_at - grant.expires_at) > 1.0:  # (PostgreSQL keeps microseconds)
            return "refreshed"  # by this sweep, or by a call or another replica meanwhile
        livechat = LiveChat(conns.http.bind(StaticCredentials(bearer(token.access_token))))
        if await livechat.accounts.token_refused(token.access_token):
            # Refused before its expiry (a 4xx LiveChat described, of any status: undocumented):
            # revoked, or capped out. The refresh's documented answer tells which (GrantDead).
            await conns.ensure_fresh(principal, rejected=token.access_token)
            return "refreshed"
        await self._learn_identity(grant, livechat)
        return "ok"

    async def _learn_identity(self, grant: GrantInfo, livechat: LiveChat) -> None:
        """The agent e-mail for `connections`, once per grant per process (`GET /v2/accounts/me`)."""
        key = (grant.tenant, grant.user)
        if grant.agent_email is not None or key in self._identity_tried:
            return
        self._identity_tried.add(key)
        try:
            me = await livechat.accounts.get_me()
        except LiveChatError as exc:
            logger.debug("could not learn whose grant %s is: %s", grant.principal, type(exc).__name__)
            return
        await self.store.set_identity(
            grant.principal, account_id=grant.account_id or me.account_id, agent_email=me.email
        )

    async def _publish(self, grants: list[GrantInfo]) -> dict[str, int]:
        now = self._clock()
        counts = grant_counts(grants, now + self.interval)
        if self.on_counts is not None:
            self.on_counts(counts)
        return counts
