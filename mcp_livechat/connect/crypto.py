"""AES-256-GCM sealing of stored credentials.

A sealed blob is ``version (1 byte) | key id (8 bytes) | nonce (12 bytes) | ciphertext + tag (16)``.

- The master key is never used directly: each tenant gets a data key derived with HKDF-SHA256
  (salt = a fixed label, info = ``b"tenant:" + tenant``), so one tenant's key cannot open another's.
- The associated data is ``principal.key``: a blob copied to another person's row does not open.
- The key id is the first 8 bytes of SHA-256 of the master key. It says which configured key sealed
  a blob (rotation: the first key seals, every key opens) and reveals nothing about the key.

`cryptography` is imported on first use, so a process that never seals does not pay for it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cachetools import LRUCache

from mcp_livechat.connect.identity import Principal
from mcp_livechat.errors import ConfigurationError, LiveChatError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["SealError", "Sealer", "key_id", "load_or_create_key_file", "make_private_dirs"]

VERSION = 1
KEY_SIZE = 32
KEY_ID_SIZE = 8
NONCE_SIZE = 12
TAG_SIZE = 16
HEADER_SIZE = 1 + KEY_ID_SIZE + NONCE_SIZE
HKDF_SALT = b"mcp-livechat/token-store/v1"
# Derived keys kept, per (key id, tenant): the process-wide LRU rule of `livechat.cache` (not imported
# from there: opening a store must not load the LiveChat client); a miss costs one HKDF (~20 us).
_CACHE_SIZE = 10_000
_GENERIC = "stored credential cannot be decrypted: wrong key or tampered row"


class SealError(LiveChatError):
    """A sealed blob did not open: unknown key, tampered or truncated data, or another principal's row.

    The message is deliberately generic; it never carries key material or plaintext.
    """

    def __init__(self, message: str = _GENERIC) -> None:
        super().__init__(message)


def _key_id_of(master: bytes) -> bytes:
    return hashlib.sha256(master).digest()[:KEY_ID_SIZE]


def key_id(blob: bytes) -> str:
    """The hex id of the master key that sealed `blob` (raises `SealError` if it is not a blob)."""
    if len(blob) < HEADER_SIZE + TAG_SIZE or blob[0] != VERSION:
        raise SealError()
    return blob[1 : 1 + KEY_ID_SIZE].hex()


class Sealer:
    """Seals and opens byte strings for one principal. Thread-safe; derived keys are cached."""

    __slots__ = ("_cache", "_lock", "_masters", "_primary")

    def __init__(self, keys: Sequence[bytes], *, cache_size: int = _CACHE_SIZE) -> None:
        if not keys:
            raise ConfigurationError("LIVECHAT_ENCRYPTION_KEY: at least one 32-byte key is required")
        masters: dict[bytes, bytes] = {}
        for position, key in enumerate(keys, start=1):
            if len(key) != KEY_SIZE or not isinstance(key, bytes):
                raise ConfigurationError(
                    f"LIVECHAT_ENCRYPTION_KEY: key #{position} must be base64 of exactly 32 bytes "
                    f"(it decodes to {len(key)} bytes)"
                )
            masters.setdefault(_key_id_of(key), key)
        self._masters = masters
        self._primary = _key_id_of(keys[0])
        self._cache: LRUCache[tuple[bytes, str], AESGCM] = LRUCache(maxsize=cache_size)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Sealer(primary_key_id={self.primary_key_id!r}, keys={len(self._masters)})"

    @property
    def primary_key_id(self) -> str:
        """Hex id of the key that seals new blobs."""
        return self._primary.hex()

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Hex ids of every configured key (the primary first)."""
        return (self.primary_key_id, *(k.hex() for k in self._masters if k != self._primary))

    def seal(self, principal: Principal, plaintext: bytes) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        aead = self._aead(self._primary, principal.tenant)
        sealed = aead.encrypt(nonce, plaintext, principal.key.encode())
        return bytes([VERSION]) + self._primary + nonce + sealed

    def open(self, principal: Principal, blob: bytes) -> bytes:
        """The plaintext; `SealError` if the blob was not sealed for `principal` with a known key."""
        from cryptography.exceptions import InvalidTag

        if len(blob) < HEADER_SIZE + TAG_SIZE or blob[0] != VERSION:
            raise SealError()
        kid = bytes(blob[1 : 1 + KEY_ID_SIZE])
        if kid not in self._masters:
            raise SealError()
        nonce = blob[1 + KEY_ID_SIZE : HEADER_SIZE]
        try:
            return self._aead(kid, principal.tenant).decrypt(
                nonce, blob[HEADER_SIZE:], principal.key.encode()
            )
        except InvalidTag:
            raise SealError() from None

    def needs_reseal(self, blob: bytes) -> bool:
        """True when `blob` was sealed with a key other than the primary one."""
        return key_id(blob) != self.primary_key_id

    def _aead(self, kid: bytes, tenant: str) -> AESGCM:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        cache_key = (kid, tenant)
        with self._lock:  # an LRUCache reorders on every read: not safe across threads unguarded
            aead = self._cache.get(cache_key)
        if aead is None:
            aead = AESGCM(self._derive(self._masters[kid], tenant))
            with self._lock:
                self._cache[cache_key] = aead
        return aead

    @staticmethod
    def _derive(master: bytes, tenant: str) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        hkdf = HKDF(
            algorithm=hashes.SHA256(), length=KEY_SIZE, salt=HKDF_SALT, info=b"tenant:" + tenant.encode()
        )
        return hkdf.derive(master)


def load_or_create_key_file(path: Path) -> bytes:
    """The 32-byte key stored (base64) in `path`, creating the file (mode 0600) when it is missing.

    Used by the embedded SQLite store when LIVECHAT_ENCRYPTION_KEY is not set. An existing file
    that group or others can read, or that does not hold base64 of 32 bytes, is refused.
    """
    path = Path(path).expanduser()
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        pass
    make_private_dirs(path.parent)
    encoded = base64.b64encode(os.urandom(KEY_SIZE)) + b"\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    _write_exclusive(tmp, encoded)
    try:
        os.link(tmp, path)  # atomic, fails if another process created the key first
    except FileExistsError:
        pass
    except OSError:  # no hard links on this filesystem: create the final file directly
        with contextlib.suppress(FileExistsError):
            _write_exclusive(path, encoded)
    finally:
        tmp.unlink(missing_ok=True)
    return _read_key_file(path)


def _read_key_file(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if os.name == "posix" and mode & 0o077:
            raise ConfigurationError(
                f"LIVECHAT_ENCRYPTION_KEY: the key file {path} is readable by group or others "
                f"(mode {mode & 0o777:o}); run `chmod 600 {path}`"
            )
        data = handle.read(1024)
    try:
        key = base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_SIZE:
        raise ConfigurationError(
            f"LIVECHAT_ENCRYPTION_KEY: the key file {path} does not hold base64 of 32 bytes"
        )
    return key


def _write_exclusive(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def make_private_dirs(directory: Path) -> None:
    """Create `directory` and missing parents with mode 0700 (existing ones are left alone)."""
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for item in reversed(missing):
        with contextlib.suppress(FileExistsError):
            item.mkdir(mode=0o700)
