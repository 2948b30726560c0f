"""Every statement of the PostgreSQL token store, with the schema-qualified names composed safely once.

Schema versions 2 and 3 are version 1 plus columns, added with ``ADD COLUMN IF NOT EXISTS``
(defaults that need no table rewrite), so a fresh schema and an older one take the same path, and
older replicas still running keep working against it (their statements name only their columns;
a version-2 replica does not know `held` and may purge an unconfirmed grant without revoking it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from psycopg.sql import Composed

__all__ = ["Queries"]

_TOKEN_COLUMNS = (
    "account_id text",
    "agent_email text",
    "state text NOT NULL DEFAULT 'connected'",
    "state_reason text",
    "state_at timestamptz NOT NULL DEFAULT now()",
    "last_check_at timestamptz",
    "last_outcome text",
    "last_error_type text",
)


class Queries:
    def __init__(self, schema: str) -> None:
        from psycopg import sql

        names = {
            "schema": sql.Identifier(schema),
            "tokens": sql.Identifier(schema, "livechat_tokens"),
            "pending": sql.Identifier(schema, "livechat_pending"),
            "meta": sql.Identifier(schema, "livechat_meta"),
        }

        def q(text: str, **fragments: str) -> Composed:
            """`text` with the table names and fixed SQL `fragments` (never data: those are parameters)."""
            return sql.SQL(text).format(**names, **{k: sql.SQL(v) for k, v in fragments.items()})

        self.create_schema = q("CREATE SCHEMA IF NOT EXISTS {schema}")
        self.create_v1 = [
            q("CREATE TABLE IF NOT EXISTS {meta} (name text PRIMARY KEY, value text NOT NULL)"),
            q(
                "CREATE TABLE IF NOT EXISTS {tokens} ("
                " tenant text NOT NULL, user_id text NOT NULL, sealed bytea NOT NULL, key_id text NOT NULL,"
                " expires_at timestamptz NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(),"
                " PRIMARY KEY (tenant, user_id))"
            ),
            q(
                "CREATE TABLE IF NOT EXISTS {pending} ("
                " state_hash text PRIMARY KEY, tenant text NOT NULL, user_id text NOT NULL,"
                " sealed bytea NOT NULL, key_id text NOT NULL, expires_at timestamptz NOT NULL)"
            ),
            q("CREATE INDEX IF NOT EXISTS livechat_pending_expires_at ON {pending} (expires_at)"),
        ]
        self.schema_version = q("SELECT value FROM {meta} WHERE name = 'schema_version'")
        self.migrate = [  # to the current version, from any older one
            q("ALTER TABLE {tokens} " + ", ".join(f"ADD COLUMN IF NOT EXISTS {c}" for c in _TOKEN_COLUMNS)),
            q("ALTER TABLE {pending} ADD COLUMN IF NOT EXISTS created_at timestamptz NOT NULL DEFAULT now()"),
            q(
                "CREATE INDEX IF NOT EXISTS livechat_pending_principal"
                " ON {pending} (tenant, user_id, created_at)"
            ),
            q("ALTER TABLE {pending} ADD COLUMN IF NOT EXISTS held boolean NOT NULL DEFAULT false"),
        ]
        self.backfill_state_at = q("UPDATE {tokens} SET state_at = updated_at")
        self.set_version = q(
            "INSERT INTO {meta} (name, value) VALUES ('schema_version', %s)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value"
        )
        self.key_ids = q(
            "SELECT key_id FROM {tokens} UNION SELECT key_id FROM {pending} WHERE expires_at > now()"
        )

        self.get_token = q("SELECT sealed FROM {tokens} WHERE tenant = %s AND user_id = %s")
        self.put_token = q(
            "INSERT INTO {tokens} AS t (tenant, user_id, sealed, key_id, expires_at, updated_at, account_id,"
            " state, state_at) VALUES (%s, %s, %s, %s, to_timestamp(%s), to_timestamp(%s), %s, 'connected',"
            " to_timestamp(%s)) ON CONFLICT (tenant, user_id) DO UPDATE SET"
            " sealed = excluded.sealed, key_id = excluded.key_id, expires_at = excluded.expires_at,"
            " updated_at = excluded.updated_at, account_id = coalesce(excluded.account_id, t.account_id),"
            " agent_email = CASE WHEN excluded.account_id IS NULL"
            " OR excluded.account_id IS NOT DISTINCT FROM t.account_id THEN t.agent_email END,"
            " state_at = CASE WHEN t.state = 'connected' THEN t.state_at ELSE excluded.state_at END,"
            " state = 'connected', state_reason = NULL"
        )
        self.delete_token = q("DELETE FROM {tokens} WHERE tenant = %s AND user_id = %s")
        self.set_state = q(
            "UPDATE {tokens} SET state_at = CASE WHEN state = %s THEN state_at ELSE to_timestamp(%s) END,"
            " state = %s, state_reason = %s WHERE tenant = %s AND user_id = %s"
        )
        self.set_check = q(
            "UPDATE {tokens} SET last_check_at = to_timestamp(%s), last_outcome = %s, last_error_type = %s"
            " WHERE tenant = %s AND user_id = %s"
        )
        self.set_identity = q(
            "UPDATE {tokens} SET account_id = %s, agent_email = %s WHERE tenant = %s AND user_id = %s"
        )
        grant_columns = ", ".join(
            f"extract(epoch FROM {c})::float8" if c.endswith("_at") else c
            for c in (
                "tenant", "user_id", "account_id", "agent_email", "state", "state_reason", "state_at",
                "last_check_at", "last_outcome", "last_error_type", "expires_at", "updated_at", "key_id",
            )
        )  # fmt: skip
        self.grant = q(
            "SELECT {columns} FROM {tokens} WHERE tenant = %s AND user_id = %s", columns=grant_columns
        )
        self.grants = q("SELECT {columns} FROM {tokens} ORDER BY tenant, user_id", columns=grant_columns)
        self.grants_of = q(
            "SELECT {columns} FROM {tokens} WHERE tenant = %s ORDER BY user_id", columns=grant_columns
        )

        # One statement, so one transaction: drop expired rows and the principal's surplus, insert.
        self.put_pending = q(
            "WITH expired AS (DELETE FROM {pending} WHERE expires_at <= to_timestamp(%(now)s) AND NOT held),"
            " surplus AS (DELETE FROM {pending} WHERE tenant = %(tenant)s AND user_id = %(user)s AND NOT held"
            " AND expires_at > to_timestamp(%(now)s) AND state_hash <> %(digest)s AND state_hash NOT IN"
            " (SELECT state_hash FROM {pending} WHERE tenant = %(tenant)s AND user_id = %(user)s AND NOT held"
            " AND expires_at > to_timestamp(%(now)s) AND state_hash <> %(digest)s"
            " ORDER BY created_at DESC LIMIT %(keep)s))"
            " INSERT INTO {pending} (state_hash, tenant, user_id, sealed, key_id, expires_at, created_at,"
            " held) VALUES (%(digest)s, %(tenant)s, %(user)s, %(sealed)s, %(key_id)s,"
            " to_timestamp(%(expires_at)s), to_timestamp(%(now)s), %(held)s) ON CONFLICT (state_hash)"
            " DO UPDATE SET tenant = excluded.tenant, user_id = excluded.user_id, sealed = excluded.sealed,"
            " key_id = excluded.key_id,"
            " expires_at = excluded.expires_at, created_at = excluded.created_at, held = excluded.held"
        )
        row = "tenant, user_id, sealed, extract(epoch FROM expires_at)::float8"
        self.take_pending = q("DELETE FROM {pending} WHERE state_hash = %s RETURNING {row}", row=row)
        self.peek_pending = q("SELECT {row} FROM {pending} WHERE state_hash = %s", row=row)
        self.live_pending = q(
            "SELECT sealed FROM {pending} WHERE tenant = %s AND user_id = %s"
            " AND expires_at > to_timestamp(%s) AND NOT held ORDER BY created_at DESC LIMIT %s"
        )
        self.purge_pending = q("DELETE FROM {pending} WHERE expires_at <= to_timestamp(%s) AND NOT held")
        self.take_abandoned = q(
            "DELETE FROM {pending} WHERE state_hash IN (SELECT state_hash FROM {pending}"
            " WHERE held AND expires_at <= to_timestamp(%s) ORDER BY expires_at LIMIT %s"
            " FOR UPDATE SKIP LOCKED) RETURNING state_hash, {row}",
            row=row,
        )
        self.take_held = q(
            "DELETE FROM {pending} WHERE held AND tenant = %s AND user_id = %s AND state_hash <> %s"
            " AND expires_at < to_timestamp(%s) RETURNING state_hash, {row}",
            row=row,
        )

        self.key_counts = q(
            "SELECT (SELECT count(*) FROM {tokens} WHERE key_id <> %(p)s)"
            " + (SELECT count(*) FROM {pending} WHERE key_id <> %(p)s),"
            " (SELECT count(*) FROM {tokens} WHERE key_id = %(p)s)"
            " + (SELECT count(*) FROM {pending} WHERE key_id = %(p)s)"
        )
        tokens = "SELECT tenant, user_id, tenant, user_id, sealed FROM {tokens} WHERE key_id <> %s {after}"
        pending = "SELECT state_hash, tenant, user_id, sealed FROM {pending} WHERE key_id <> %s {after}"
        self.stale = {
            ("token", False): q(tokens + " ORDER BY tenant, user_id LIMIT %s", after=""),
            ("token", True): q(
                tokens + " ORDER BY tenant, user_id LIMIT %s", after="AND (tenant, user_id) > (%s, %s)"
            ),
            ("pending", False): q(pending + " ORDER BY state_hash LIMIT %s", after=""),
            ("pending", True): q(pending + " ORDER BY state_hash LIMIT %s", after="AND state_hash > %s"),
        }
        self.swap = {
            "token": q(
                "UPDATE {tokens} SET sealed = %s, key_id = %s"
                " WHERE tenant = %s AND user_id = %s AND sealed = %s"
            ),
            "pending": q(
                "UPDATE {pending} SET sealed = %s, key_id = %s WHERE state_hash = %s AND sealed = %s"
            ),
        }
