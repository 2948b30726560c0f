"""Fixed values of the LiveChat sandbox (safe to quote in docs, scripts and tests).

None of these depend on the seed: the seed only shapes customers, chats and the ids of the
agents that have no constant here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

# The sandbox clock starts here (and then ticks in real time; see clock.py). Seeded chats are
# spread over the ~60 days before it.
BASE_DATE: Final = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)

API_VERSION: Final = "3.6"

# OAuth apps -------------------------------------------------------------------------------
# Confidential ("server-side") app: client_secret mandatory, refresh tokens do not rotate.
CLIENT_ID: Final = "5f1c0a9e7b3d42e8a6c4b2d0e9f8a7c6"
CLIENT_SECRET: Final = "sbx_cs_Yq8rT3wLmN5vB7xK2pD4fH6jA9sE1gC0"
# Public ("JavaScript") app: no secret, PKCE, single-use rotating refresh tokens.
PUBLIC_CLIENT_ID: Final = "0d2b4f6a8c1e3a5c7e9b1d3f5a7c9e2b"

DEFAULT_REDIRECT_URIS: Final = (
    "http://127.0.0.1:8000/integration-callback",
    "http://127.0.0.1:8765/callback",
)
# Extra whitelist entries of the public app. Host and port must match exactly
# (https://platform.text.com/docs/authorization/oauth-authorization#redirect-uris),
# so these port-less loopback roots accept only port 80, as LiveChat's matching rules say.
PUBLIC_EXTRA_REDIRECT_URIS: Final = ("http://127.0.0.1", "http://localhost")

ACCESS_TOKEN_LIFETIME: Final = 28800
TOKEN_CAP: Final = 25  # access tokens and refresh tokens, each, per (client, account)
PAGE_ID_LIFETIME: Final = 30 * 24 * 3600

# Scopes -----------------------------------------------------------------------------------
# The app's scopes; the owner's PAT holds all of them, so ``--sandbox`` mode can use every tool.
APP_SCOPES: Final[tuple[str, ...]] = (
    "chats--all:ro",
    "chats--all:rw",
    "chats--access:ro",
    "chats--access:rw",
    "customers:ro",
    "customers:rw",
    "customers.ban:rw",
    "agents--my:ro",
    "agents--my:rw",
    "agents--all:ro",
    "agents--all:rw",
    "groups--my:ro",
    "groups--all:ro",
    "tags--all:ro",
    "tags--groups:ro",
    "tags--all:rw",
    "tags--groups:rw",
    "banlist_read",
    "banlist_write",
    "accounts--my:ro",
    "accounts--my:rw",
    "accounts--all:ro",
    "accounts--all:rw",
    "accounts.roles--all:ro",
    "accounts.roles.lc--all:rw",
    # Required by every Reports API v3.x method (https://platform.text.com/docs/data-reporting/changelog).
    "reports_read",
)
# Scopes a `normal` agent cannot hold: the ones whose role is "administrator" in the scope list
# of https://platform.text.com/docs/authorization/scopes (its source:
# https://github.com/livechat/livechat-public-docs/blob/master/src/constants/index.js).
# `banlist_read` / `banlist_write` are not in that list: admin-only is our call (the ban list is
# a license setting) [UNVERIFIED]. `tags--groups:rw` and `tags--all:ro` are
# "not assigned to any role" there; we let normal agents hold them [UNVERIFIED].
ADMIN_ONLY_SCOPES: Final = frozenset(
    {
        "chats--all:ro",
        "chats--all:rw",
        "agents--all:rw",
        "tags--all:rw",
        "banlist_read",
        "banlist_write",
        "accounts--all:rw",
        "accounts.roles.lc--all:rw",
        # Not in the docs' scope list either: admin-only is our call (LiveChat shows Reports to
        # administrators and owners) [UNVERIFIED].
        "reports_read",
    }
)
NORMAL_SCOPES: Final[tuple[str, ...]] = tuple(s for s in APP_SCOPES if s not in ADMIN_ONLY_SCOPES)

# Account A: region dal, organization "Acme" -----------------------------------------------
REGION: Final = "dal"
ORGANIZATION_ID: Final = "a3f9c1e2-5b7d-4e8f-9a1c-2d3e4f5a6b7c"
ORGANIZATION_NAME: Final = "Acme"
LICENSE_ID: Final = 11442778
AGENT_EMAIL: Final = "smith@example.com"  # role owner; the default browser session
AGENT_NAME: Final = "Agent Smith"
ACCOUNT_ID: Final = "b7eff798-f8df-4364-8059-649c35c9ed0c"
PAT: Final = "sbxpat_dal_Rk2vQ8nZ5tY1wX7cM3bL9gH4"
NORMAL_AGENT_EMAIL: Final = "garcia@example.com"  # role normal, groups 0 and 1
NORMAL_AGENT_ACCOUNT_ID: Final = "2fca3315-f6b2-422f-8550-c84b649cef1a"
NORMAL_AGENT_PAT: Final = "sbxpat_dal_Ng4hT6kP2sW8yZ0cV5mR1qJ3"
SUSPENDED_AGENT_EMAIL: Final = "wilson@example.com"
AWAITING_AGENT_EMAIL: Final = "taylor@example.com"

# Account B: region fra, organization "Globex" ---------------------------------------------
FRA_REGION: Final = "fra"
FRA_ORGANIZATION_ID: Final = "6c2e8a4f-1b3d-4c5e-8f7a-9b0c1d2e3f4a"
FRA_ORGANIZATION_NAME: Final = "Globex"
FRA_LICENSE_ID: Final = 19004711
FRA_AGENT_EMAIL: Final = "mueller@globex.example"  # role owner
FRA_ACCOUNT_ID: Final = "e4d3c2b1-a0f9-4e8d-b7c6-5a4b3c2d1e0f"
FRA_PAT: Final = "sbxpat_fra_Wq7eR2tY9uI4oP6aS1dF3gH8"

# Enumerations ------------------------------------------------------------------------------
# Roles, login statuses, group priorities, notifications, email subscriptions and schedule days:
# https://platform.text.com/docs/management/configuration-api#create-agent (``owner`` from the
# list_agents sample); agent and group ``fields``: #list-agents and #list-groups there; routing
# statuses: https://platform.text.com/docs/messaging/agent-chat-api#set-routing-status; event
# types: https://platform.text.com/docs/messaging/agent-chat-api/data-structures#events.
ROLES: Final = ("owner", "viceowner", "administrator", "normal")
PRIORITIES: Final = ("first", "normal", "last", "supervisor")
ROUTING_STATUSES: Final = ("accepting_chats", "not_accepting_chats", "offline")
LOGIN_STATUSES: Final = ("accepting chats", "not accepting chats")
AGENT_FIELDS: Final = (
    "work_scheduler",
    "groups",
    "email_subscriptions",
    "notifications",
    "job_title",
    "mobile",
    "max_chats_count",
    "suspended",
    "awaiting_approval",
    "last_logout",
)
NOTIFICATIONS: Final = (
    "new_visitor",
    "incoming_chat",
    "returning_visitor",
    "queued_visitor",
    "visitor_is_typing",
    "new_goal",
    "unassigned_chats",
    "unassigned_chat_messages",
    "ticket",
    "inactive_notifications",
    "mute_all_sounds",
    "repeat_sound_notifications",
    "ticket_notifications",
    "incoming_message_for_focused_chat",
)
EMAIL_SUBSCRIPTIONS: Final = ("daily_summary", "weekly_summary")
WEEKDAYS: Final = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
GROUP_FIELDS: Final = ("agent_priorities", "routing_status")
EVENT_TYPES: Final = (
    "message",
    "system_message",
    "file",
    "rich_message",
    "custom",
    "filled_form",
    "form",
    "system",
)
MAX_EVENT_TEXT_BYTES: Final = 16384
