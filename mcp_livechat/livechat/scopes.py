"""The scopes each LiveChat action needs: named in `PermissionDenied`, read by the doctor."""

from __future__ import annotations

# Scopes each action needs (any one of them), from each method's "Required scopes" in
# https://platform.text.com/docs/messaging/agent-chat-api,
# https://platform.text.com/docs/management/configuration-api and
# https://platform.text.com/docs/authorization/global-accounts-api; named in PermissionDenied.
# Reports are keyed `<resource>/<action>`: every method of
# https://platform.text.com/docs/data-reporting/reports-api requires `reports_read`.
REPORT_ACTIONS = (
    *(
        f"chats/{a}"
        for a in (
            "total_chats", "duration", "response_time", "first_response_time", "ratings", "ranking",
            "engagement", "tags", "groups", "queued_visitors",
        )
    ),
    "agents/performance",
    "agents/availability",
    "tags/chat_usage",
)  # fmt: skip
REQUIRED_SCOPES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        ("list_chats", "get_chat", "list_threads", "list_archives"), ("chats--all:ro", "chats--access:ro")
    ),
    **dict.fromkeys(
        (
            "send_event",
            "add_user_to_chat",
            "remove_user_from_chat",
            "transfer_chat",
            "deactivate_chat",
            "tag_thread",
            "untag_thread",
        ),
        ("chats--all:rw", "chats--access:rw"),
    ),
    **dict.fromkeys(("follow_chat",), ("chats--all:ro", "chats--access:ro")),
    "list_agents_for_transfer": (),  # "Required scopes: -"
    "unfollow_chat": (),
    "get_customer": ("customers:ro",),
    "ban_customer": ("customers.ban:rw",),
    **dict.fromkeys(("create_tag", "update_tag", "delete_tag"), ("tags--all:rw", "tags--groups:rw")),
    "list_customer_bans": ("banlist_read",),
    "unban_customer": ("banlist_write",),
    "update_customer": ("customers:rw",),
    "set_routing_status": ("agents--my:rw", "agents--all:rw"),
    "list_routing_statuses": ("agents--all:ro",),
    "get_agent": ("agents--my:ro", "agents--all:ro"),
    "list_agents": ("agents--all:ro",),
    "update_agent": ("agents--my:rw", "agents--all:rw"),
    "list_groups": ("groups--all:ro",),
    "get_group": ("groups--my:ro", "groups--all:ro"),
    "list_tags": ("tags--all:ro", "tags--groups:ro"),
    "GET /v2/accounts/me": ("accounts--my:ro",),
    # https://platform.text.com/docs/authorization/global-accounts-api lists accounts--all:rw
    "PATCH /v2/accounts/me": ("accounts--all:rw",),
    **dict.fromkeys(REPORT_ACTIONS, ("reports_read",)),
}
