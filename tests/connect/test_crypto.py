"""AES-256-GCM sealing: AAD binding, tampering, rotation, and the key file of the SQLite default."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from mcp_livechat.connect.crypto import Sealer, SealError, key_id, load_or_create_key_file
from mcp_livechat.connect.identity import Principal
from mcp_livechat.errors import ConfigurationError, LiveChatError
from tests.connect.store_kit import ALICE, ALICE_ELSEWHERE, BOB, KEY_A, KEY_B, KEY_C

SECRET = b"dal:the-access-token"


def test_roundtrip() -> None:
    sealer = Sealer([KEY_A])
    blob = sealer.seal(ALICE, SECRET)
    assert SECRET not in blob
    assert blob[0] == 1
    assert len(blob) == 1 + 8 + 12 + len(SECRET) + 16
    assert sealer.open(ALICE, blob) == SECRET
    assert Sealer([KEY_A]).open(ALICE, blob) == SECRET  # a fresh instance derives the same key


def test_nonces_differ_across_seals() -> None:
    sealer = Sealer([KEY_A])
    blobs = {sealer.seal(ALICE, SECRET) for _ in range(50)}
    assert len(blobs) == 50
    assert len({b[9:21] for b in blobs}) == 50


@pytest.mark.parametrize("other", [BOB, ALICE_ELSEWHERE, Principal("acm", "e|alice")], ids=str)
def test_a_blob_is_bound_to_its_principal(other: Principal) -> None:
    sealer = Sealer([KEY_A])
    blob = sealer.seal(ALICE, SECRET)
    with pytest.raises(SealError):
        sealer.open(other, blob)


def test_tampering_is_detected() -> None:
    sealer = Sealer([KEY_A])
    blob = sealer.seal(ALICE, SECRET)
    for index in [0, 5, 10, 25, len(blob) - 1]:  # version, key id, nonce, ciphertext, tag
        tampered = bytearray(blob)
        tampered[index] ^= 0x01
        with pytest.raises(SealError):
            sealer.open(ALICE, bytes(tampered))
    for size in (0, 1, 20, 36):
        with pytest.raises(SealError):
            sealer.open(ALICE, blob[:size])


def test_wrong_key_fails_with_a_generic_message() -> None:
    blob = Sealer([KEY_A]).seal(ALICE, SECRET)
    with pytest.raises(SealError) as info:
        Sealer([KEY_C]).open(ALICE, blob)
    assert isinstance(info.value, LiveChatError)
    assert str(info.value) == "stored credential cannot be decrypted: wrong key or tampered row"


def test_rotation_opens_old_blobs_and_seals_with_the_first_key() -> None:
    old_blob = Sealer([KEY_A]).seal(ALICE, SECRET)
    rotated = Sealer([KEY_B, KEY_A])
    assert rotated.open(ALICE, old_blob) == SECRET
    assert rotated.needs_reseal(old_blob)
    new_blob = rotated.seal(ALICE, SECRET)
    assert key_id(new_blob) == rotated.primary_key_id == Sealer([KEY_B]).primary_key_id
    assert key_id(old_blob) == Sealer([KEY_A]).primary_key_id
    assert not rotated.needs_reseal(new_blob)
    assert Sealer([KEY_B]).open(ALICE, new_blob) == SECRET
    with pytest.raises(SealError):
        Sealer([KEY_A]).open(ALICE, new_blob)
    assert rotated.key_ids == (Sealer([KEY_B]).primary_key_id, Sealer([KEY_A]).primary_key_id)


def test_key_id_reveals_nothing_and_repr_shows_no_key() -> None:
    sealer = Sealer([KEY_A, KEY_B])
    assert len(sealer.primary_key_id) == 16
    assert KEY_A.hex() not in repr(sealer)
    assert KEY_A.hex()[:16] != sealer.primary_key_id
    assert repr(sealer) == f"Sealer(primary_key_id={sealer.primary_key_id!r}, keys=2)"


@pytest.mark.parametrize("keys", [[], [b"short"], [KEY_A, b"x" * 33]], ids=["none", "short", "second-long"])
def test_bad_keys_are_configuration_errors(keys: list[bytes]) -> None:
    with pytest.raises(ConfigurationError, match="LIVECHAT_ENCRYPTION_KEY"):
        Sealer(keys)


def test_tenants_get_different_data_keys() -> None:
    sealer = Sealer([KEY_A])
    assert sealer._derive(KEY_A, "acme") != sealer._derive(KEY_A, "globex")
    assert sealer._derive(KEY_A, "acme") != KEY_A


# ------------------------------------------------------------------------- key file


def test_key_file_is_created_0600_and_reread(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "encryption.key"
    key = load_or_create_key_file(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert base64.b64decode(path.read_bytes().strip()) == key
    assert load_or_create_key_file(path) == key
    assert [p.name for p in path.parent.iterdir()] == ["encryption.key"]  # no temp file left


def test_group_readable_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "encryption.key"
    load_or_create_key_file(path)
    path.chmod(0o640)
    with pytest.raises(ConfigurationError, match="readable by group or others"):
        load_or_create_key_file(path)


@pytest.mark.parametrize(
    "content", [b"not base64!!", base64.b64encode(b"x" * 31), b""], ids=["junk", "31", "empty"]
)
def test_malformed_key_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "encryption.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, content)
    os.close(fd)
    with pytest.raises(ConfigurationError, match="base64 of 32 bytes"):
        load_or_create_key_file(path)
