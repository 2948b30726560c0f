"""Who is calling: a `Principal` is one person of one tenant.

stdio and `LIVECHAT_MCP_AUTH=none` (loopback only) have one local principal. Over HTTP:

- `jwt`: a bearer token from the gateway's identity provider, verified against its JWKS (signature,
  issuer, audience, expiry); principal = (tenant claim, or the issuer; `sub`); with an e-mail claim
  configured, the caller's e-mail too (a connect link then completes only for that LiveChat agent).
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
    """A verified HTTP caller: who, until when the credential is good (None: no expiry), and the
    e-mail its identity provider vouches for (None: not configured or not in the token)."""

    principal: Principal
    expires_at: int | None = None
    email: str | None = None


# Asymmetric algorithms only: never `none`, never HMAC with a public key.
_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


# Which `alg` a key of each JWK type may verify (RFC 7518 section 3.1): a token whose header names
# another is refused before any key is used (an EC algorithm over an RSA key would fail inside the
# library instead).
_FAMILIES = {"RSA": ("RS", "PS"), "EC": ("ES",), "OKP": ("EdDSA",)}


@dataclass(frozen=True)
class _Key:
    """One key of the JWKS: the PyJWK and the `alg` its JWK declares, if any."""

    jwk: Any
    declared: str | None

    def fits(self, algorithm: str) -> bool:
        """Whether it may verify `algorithm`: the declared `alg`, else its type's family (for EC,
        the algorithm of its curve)."""
        if self.declared:
            return self.declared == algorithm
        if self.jwk.key_type == "EC":
            return bool(self.jwk.algorithm_name == algorithm)
        return algorithm.startswith(_FAMILIES.get(self.jwk.key_type, ()))


class JwtVerifier:
    """Verifies the gateway's bearer JWTs against its JWKS: fetched, cached for `max_age` seconds
    (a key the identity provider removed stops being trusted then), refetched early on a new kid
    (at most once every `refetch_after` seconds). While the JWKS cannot be fetched the last keys
    stay in use, for at most `max_stale` seconds after the last fetch that succeeded."""

    def __init__(
        self,
        *,
        jwks_url: str,
        issuer: str,
        audience: str,
        tenant_claim: str | None = None,
        email_claim: str | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        leeway: float = 30.0,
        refetch_after: float = 30.0,
        max_age: float = 300.0,
        max_stale: float = 86400.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.jwks_url, self.issuer, self.audience, self.tenant_claim = (
            jwks_url,
            issuer,
            audience,
            tenant_claim,
        )
        self.email_claim = email_claim
        self._transport = transport
        self._leeway = leeway
        self._refetch_after = refetch_after
        self._max_age = max_age
        self._max_stale = max_stale
        self._clock = clock
        self._keys: dict[str, _Key] = {}
        self._fetched_at = -1e18  # the last fetch that succeeded
        self._tried_at = -1e18  # the last fetch
        self._fetch_lock = asyncio.Lock()

    async def verify(self, token: str) -> Caller | None:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
            algorithm = header.get("alg")
            if algorithm not in _ALGORITHMS:
                return None
            key = await self._key(str(header.get("kid") or ""))
            if key is None or not key.fits(algorithm):
                return None
            claims: dict[str, Any] = jwt.decode(
                token,
                key.jwk.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "sub", "aud"]},
            )
        except (jwt.PyJWTError, TypeError, ValueError) as exc:  # a forged header is a refusal, never a 500
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
        email = claims.get(self.email_claim) if self.email_claim else None
        # OpenID Connect's `email_verified` speaks of its `email` claim: false (or "false", as some
        # providers send it) is an e-mail nobody proved
        # (https://openid.net/specs/openid-connect-core-1_0.html#StandardClaims)
        if self.email_claim == "email" and str(claims.get("email_verified")).lower() == "false":
            email = None
        return Caller(
            Principal(str(tenant), subject),
            int(exp) if isinstance(exp, int | float) else None,
            email.strip() if isinstance(email, str) and email.strip() else None,
        )

    async def _key(self, kid: str) -> _Key | None:
        if kid in self._keys and self._clock() - self._fetched_at < self._max_age:
            return self._keys[kid]
        async with self._fetch_lock:
            now = self._clock()
            stale = now - self._fetched_at >= self._max_age
            if (stale or kid not in self._keys) and now - self._tried_at >= self._refetch_after:
                await self._fetch()
        if self._clock() - self._fetched_at >= self._max_stale:
            return None  # the JWKS could not be fetched for too long: its keys are trusted no more
        if kid:
            return self._keys.get(kid)
        return next(iter(self._keys.values())) if len(self._keys) == 1 else None

    async def _fetch(self) -> None:
        import jwt

        self._tried_at = self._clock()
        try:
            async with httpx2.AsyncClient(transport=self._transport, timeout=10.0) as client:
                response = await client.get(self.jwks_url)
                response.raise_for_status()
                body = response.json()
            listed = body.get("keys") if isinstance(body, dict) else None
            if not isinstance(listed, list):
                raise ValueError("no keys")
        except (httpx2.HTTPError, ValueError) as exc:
            # the keys last fetched stay in use: the identity provider being away is no reason to
            # refuse every caller (retried every `refetch_after` seconds)
            logger.warning("could not load the JWKS at %s: %s", self.jwks_url, type(exc).__name__)
            return
        keys: dict[str, _Key] = {}
        for data in listed:
            if not isinstance(data, dict) or data.get("use", "sig") != "sig":
                continue
            try:
                jwk = jwt.PyJWK(data)
            except jwt.PyJWTError:  # a key type or curve we cannot use: the others still count
                continue
            declared = data.get("alg")
            keys[jwk.key_id or ""] = _Key(jwk, declared if isinstance(declared, str) else None)
        self._keys = keys  # replaced whole: a removed key is trusted no more
        self._fetched_at = self._tried_at


_API_KEY_LINE = re.compile(r"^([0-9a-fA-F]{64})\s+(\S+)\s+(\S+)\s*$")
_FORMAT = "'<sha256 hex of the key> <tenant> <user>'"


class ApiKeys:
    """`<sha256 hex of key> <tenant> <user>` per line (`#` comments); re-read when the file changes.

    It fails closed. At start a file that cannot be read, or a malformed line, stops the server with
    one line naming the problem. While serving, the file is looked at every `check_every`
    seconds (a change of its modification time, size or inode reloads it): a malformed line is
    skipped with a warning while the rest of the file applies, removals included; a file that
    disappears or cannot be read or decoded rejects every key until it is fixed (logged once).
    """

    def __init__(
        self, path: Path, *, check_every: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.path = path
        self._check_every = check_every
        self._clock = clock
        self._signature: tuple[int, int, int] | None = None
        self._checked = clock()
        self._broken: str | None = None  # why every key is refused right now (logged once)
        self._by_hash: dict[str, Principal] = {}
        self._by_hash, problems = self._parse(self._read())
        if problems:
            raise ConfigurationError(f"LIVECHAT_MCP_API_KEYS_FILE: {problems[0]}")

    def verify(self, key: str) -> Caller | None:
        now = self._clock()
        if now - self._checked >= self._check_every:
            self._checked = now
            self._reload()
        principal = self._by_hash.get(hashlib.sha256(key.encode()).hexdigest())
        return Caller(principal) if principal else None

    def _reload(self) -> None:
        try:
            text = self._read()
        except ConfigurationError as exc:
            self._by_hash, self._signature = {}, None  # fail closed until the file is back
            if self._broken != str(exc):
                self._broken = str(exc)
                logger.error("every API key is refused until the file is fixed: %s", exc)
            return
        if text is None:
            return  # unchanged
        self._by_hash, problems = self._parse(text)
        if self._broken is not None:
            logger.warning("LIVECHAT_MCP_API_KEYS_FILE: %s is readable again", self.path)
            self._broken = None
        for problem in problems:
            logger.warning("LIVECHAT_MCP_API_KEYS_FILE: %s; the line is skipped", problem)

    def _read(self) -> str | None:
        """The file's text, or None if it did not change since the last read."""
        try:
            stat = self.path.stat()
            signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            if signature == self._signature:
                return None
            text = self.path.read_bytes().decode("utf-8")
        except OSError as exc:
            raise ConfigurationError(
                f"LIVECHAT_MCP_API_KEYS_FILE: cannot read {self.path} ({exc.strerror or type(exc).__name__})"
            ) from None
        except UnicodeDecodeError:
            raise ConfigurationError(f"LIVECHAT_MCP_API_KEYS_FILE: {self.path} is not UTF-8 text") from None
        self._signature = signature
        return text

    def _parse(self, text: str | None) -> tuple[dict[str, Principal], list[str]]:
        """The entries that parse, and what is wrong with the others (a hash listed twice with
        different people is refused altogether: it is not clear whose it is)."""
        entries: dict[str, Principal] = {}
        problems: list[str] = []
        ambiguous: set[str] = set()
        for number, raw in enumerate((text or "").splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            match = _API_KEY_LINE.match(line)
            if match is None:
                problems.append(f"line {number} of {self.path} is not {_FORMAT}")
                continue
            digest, principal = match.group(1).lower(), Principal(match.group(2), match.group(3))
            if entries.get(digest, principal) != principal:
                problems.append(f"line {number} of {self.path} repeats a key hash for another person")
                ambiguous.add(digest)
            entries.setdefault(digest, principal)
        return {k: v for k, v in entries.items() if k not in ambiguous}, problems
