"""Who is calling: a `Principal` is one person of one tenant.

stdio and `LIVECHAT_MCP_AUTH=none` have one local principal; HTTP with `jwt` or `api-key`
derives the principal from the verified bearer (see `connect.auth`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    tenant: str
    user: str

    @property
    def key(self) -> str:
        """A stable string form, used as the store key and as AES-GCM associated data."""
        return f"{len(self.tenant)}:{self.tenant}|{self.user}"

    def __str__(self) -> str:
        return f"{self.tenant}/{self.user}"


LOCAL = Principal("local", "local")
