"""`StoreContract`: every behaviour a token store must have, run against each backend by
`test_sqlite_store.py` and `test_postgres_store.py` (each provides a `backend` fixture)."""

from __future__ import annotations

from tests.connect.contract_core import CoreContract
from tests.connect.contract_grants import GrantsContract
from tests.connect.contract_held import HeldContract


class StoreContract(CoreContract, GrantsContract, HeldContract):
    """Tokens, pending authorizations, locks, sealing and rotation; grant health, bounded pending
    rows, resumable re-seal, the sweep lock and the key check; held grants awaiting confirmation."""
