"""Who is calling: a `Principal` is one person of one tenant.

stdio and `LIVECHAT_MCP_AUTH=none` (loopback only) have one local principal. Over HTTP:

- `jwt`: a bearer token from the gateway's identity provider, verified against its JWKS (signature,
  issuer, audience, expiry); principal = (tenant claim, or the issuer; `sub`).
- `api-key`: a file of `<sha256 hex of key> <tenant> <user>` lines; the key is the bearer token.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from mcp_livechat.errors import ConfigurationError

logger = logging.getLogger("mcp_livechat.connect")


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


@dataclass(frozen=True, slots=True)
class Caller:
    """A verified HTTP caller: who, and until when the credential is good (None: no expiry)."""

    principal: Principal
    expires_at: int | None = None


# Asymmetric algorithms only: never `none`, never HMAC with a public key.
_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class JwtVerifier:
    """Verifies the gateway's bearer JWTs against its JWKS (fetched, cached, refetched on a new kid)."""

    def __init__(
        self,
        *,
        jwks_url: str,
        issuer: str,
        audience: str,
        tenant_claim: str | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        leeway: float = 30.0,
        refetch_after: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.jwks_url, self.issuer, self.audience, self.tenant_claim = (
            jwks_url,
            issuer,
            audience,
            tenant_claim,
        )
        self._transport = transport
        self._leeway = leeway
        self._refetch_after = refetch_after
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at = -1e18
        self._fetch_lock = asyncio.Lock()

    async def verify(self, token: str) -> Caller | None:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
            algorithm = header.get("alg")
            if algorithm not in _ALGORITHMS:
                return None
            key = await self._key(str(header.get("kid") or ""))
            if key is None:
                return None
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "sub", "aud"]},
            )
        except jwt.PyJWTError as exc:
            logger.info("bearer JWT refused: %s", type(exc).__name__)
            return None
        tenant = claims.get(self.tenant_claim) if self.tenant_claim else claims.get("iss")
        subject = claims.get("sub")
        if (
            not isinstance(tenant, str | int)
            or not str(tenant)
            or not isinstance(subject, str)
            or not subject
        ):
            return None
        exp = claims.get("exp")
        return Caller(Principal(str(tenant), subject), int(exp) if isinstance(exp, int | float) else None)

    async def _key(self, kid: str) -> Any:
        if kid in self._keys:
            return self._keys[kid]
        async with self._fetch_lock:
            if kid not in self._keys and self._clock() - self._fetched_at >= self._refetch_after:
                await self._fetch()
        if kid:
            return self._keys.get(kid)
        return next(iter(self._keys.values())) if len(self._keys) == 1 else None

    async def _fetch(self) -> None:
        import jwt

        self._fetched_at = self._clock()
        try:
            async with httpx2.AsyncClient(transport=self._transport, timeout=10.0) as client:
                response = await client.get(self.jwks_url)
                response.raise_for_status()
                keys = jwt.PyJWKSet.from_dict(response.json())
        except (httpx2.HTTPError, ValueError, jwt.PyJWTError) as exc:
            logger.warning("could not load the JWKS at %s: %s", self.jwks_url, type(exc).__name__)
            return
        self._keys = {k.key_id or "": k.key for k in keys.keys}


_API_KEY_LINE = re.compile(r"^([0-9a-fA-F]{64})\s+(\S+)\s+(\S+)\s*$")


class ApiKeys:
    """`<sha256 hex of key> <tenant> <user>` per line (`#` comments); re-read when the file changes."""

    def __init__(
        self, path: Path, *, check_every: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.path = path
        self._check_every = check_every
        self._clock = clock
        self._mtime = -1.0
        self._checked = -1e18
        self._by_hash: dict[str, Principal] = {}
        self._load()

    def verify(self, key: str) -> Caller | None:
        now = self._clock()
        if now - self._checked >= self._check_every:
            self._checked = now
            try:
                self._load()
            except ConfigurationError as exc:  # keep serving with the keys we have
                logger.warning("API keys not reloaded: %s", exc)
        principal = self._by_hash.get(hashlib.sha256(key.encode()).hexdigest())
        return Caller(principal) if principal else None

    def _load(self) -> None:
        try:
            mtime = self.path.stat().st_mtime
        except OSError as exc:
            raise ConfigurationError(
                f"LIVECHAT_MCP_API_KEYS_FILE: cannot read {self.path} ({exc.strerror})"
            ) from None
        if mtime == self._mtime:
            return
        entries: dict[str, Principal] = {}
        for number, raw in enumerate(self.path.read_text().splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            match = _API_KEY_LINE.match(line)
            if match is None:
                raise ConfigurationError(
                    f"LIVECHAT_MCP_API_KEYS_FILE: line {number} of {self.path} is not "
                    "'<sha256 hex of the key> <tenant> <user>'"
                )
            entries[match.group(1).lower()] = Principal(match.group(2), match.group(3))
        self._by_hash, self._mtime = entries, mtime
