"""Request and event counters, read by tests (``sb.stats``) and ``GET /sandbox/stats``.

Counter names:
- ``requests[<name>]``: API method name (``list_chats``, ``send_event``, ...) or accounts
  endpoint: ``authorize``, ``token``, ``info``, ``revoke``, ``accounts_me``.
- ``events_sent``, ``events_sent:<chat_id>``: events accepted by ``send_event``.
- ``token_issued``, ``token_issued:<client_id>``, ``token_issued:<agent email>``: tokens from an
  authorization code exchange or the implicit grant (not refreshes, not ``mint_token``).
- ``token_refreshed``, ``token_refreshed:<client_id>``, ``token_refreshed:<agent email>``.
- ``token_minted``: tokens made by ``Sandbox.mint_token`` / ``POST /sandbox/tokens``.
- ``token_revoked``: tokens revoked by ``DELETE /v2/token`` (a pair counts once).
- ``faults_applied``, ``faults_applied:<kind>``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any


class Stats:
    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.counters: Counter[str] = Counter()

    def count_request(self, name: str) -> None:
        self.requests[name] += 1

    def incr(self, name: str, amount: int = 1) -> None:
        self.counters[name] += amount

    def counter(self, name: str) -> int:
        return self.counters[name]

    @property
    def events_sent(self) -> int:
        return self.counters["events_sent"]

    @property
    def faults_applied(self) -> int:
        return self.counters["faults_applied"]

    @property
    def token_issued(self) -> int:
        return self.counters["token_issued"]

    @property
    def token_refreshed(self) -> int:
        return self.counters["token_refreshed"]

    def reset(self) -> None:
        self.requests.clear()
        self.counters.clear()

    def per(self, prefix: str) -> dict[str, int]:
        """``{"<suffix>": n}`` for every counter named ``<prefix>:<suffix>``."""
        head = prefix + ":"
        return {k[len(head) :]: v for k, v in self.counters.items() if k.startswith(head)}

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "counters": dict(self.counters),
            "events_sent": self.counters["events_sent"],
            "events_sent_per_chat": self.per("events_sent"),
            "token_issued": self.counters["token_issued"],
            "token_refreshed": self.counters["token_refreshed"],
            "token_refreshed_per_key": self.per("token_refreshed"),
            "faults_applied": self.counters["faults_applied"],
        }
