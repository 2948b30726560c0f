"""The two error dialects: Web API ``{"error": {"type", "message", "data"?}}`` and the accounts
server's OAuth style ``{"error", "error_description", "sub_error"?, "invalid_fields"?,
"request_id"?}``."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import JSONResponse

# HTTP status per Web API error type. LiveChat documents the types
# (https://platform.text.com/docs/messaging/agent-chat-api#possible-errors) but no status for any:
# each status here is our reading of the type's meaning [UNVERIFIED]. Among them:
# - chat_inactive → 422 (the request is well-formed, the chat's state forbids it) [UNVERIFIED]
# - agent_offline → 422 (same reasoning) [UNVERIFIED]
# - unsupported_version → 400 [UNVERIFIED]
STATUS = {
    "validation": 400,
    "unsupported_version": 400,
    "authentication": 401,
    "authorization": 403,
    "missing_access": 403,
    "not_found": 404,
    "group_not_found": 404,
    "request_timeout": 408,
    "already_exists": 409,
    "entity_too_large": 413,
    "misdirected_request": 421,
    "chat_inactive": 422,
    "agent_offline": 422,
    "too_many_requests": 429,
    "internal": 500,
    "service_unavailable": 503,
}
# The types that refuse a request for what it asks; `Sandbox(refusal_status=...)` answers them all
# with one status, to show that a client reads a refusal from the type.
REFUSALS = frozenset(STATUS) - {
    "authentication",
    "misdirected_request",
    "too_many_requests",
    "internal",
    "service_unavailable",
    "request_timeout",
}
DEFAULT_MESSAGES = {
    "authentication": "Invalid access token",
    "authorization": "Authorization error",
    "validation": "Wrong format of request",
    "not_found": "Not found",
    "misdirected_request": "Wrong region",
    "too_many_requests": "Too many requests",
    "internal": "Internal server error",
    "service_unavailable": "Service unavailable",
    "chat_inactive": "Chat is inactive",
    "unsupported_version": "Cannot call unsupported API versions.",  # the docs' message
}


class WebApiFault(Exception):
    """A Web API error. The HTTP status follows ``STATUS`` by type unless ``status`` overrides it
    for one case (e.g. 422 ``validation`` "Public agents in chat limit reached")."""

    def __init__(
        self,
        type_: str,
        message: str | None = None,
        data: dict[str, Any] | None = None,
        *,
        status: int | None = None,
    ) -> None:
        self.type = type_
        self.message = message if message is not None else DEFAULT_MESSAGES.get(type_, type_)
        self.data = data
        self._status = status
        super().__init__(self.message)

    @property
    def status(self) -> int:
        return self._status if self._status is not None else STATUS.get(self.type, 400)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return {"error": error}

    def response(
        self, headers: dict[str, str] | None = None, *, refusal_status: int | None = None
    ) -> JSONResponse:
        status = refusal_status if refusal_status is not None and self.type in REFUSALS else self.status
        return JSONResponse(self.body(), status_code=status, headers=headers)


def validation(message: str) -> WebApiFault:
    return WebApiFault("validation", message)


OAUTH_DESCRIPTIONS = {
    "unauthorized_client": "The client is not authorized to request a token using this method.",
    "invalid_request": (
        "The request is missing a required parameter, includes an invalid parameter value, includes a "
        "parameter more than once, or is otherwise malformed."
    ),
    "unauthorized": "The account is not authorized.",
    "access_denied": "The resource owner or authorization server denied the request.",
    "unsupported_grant_type": "The authorization grant type is not supported by the authorization server.",
    "invalid_client": "Client authentication failed.",
    "resource_not_found": "The requested resource couldn't be found.",
    "server_error": (
        "The server encountered an unexpected condition that prevented it from fulfilling the request."
    ),
    "temporarily_unavailable": (
        "The server is currently unable to handle the request due to a temporary overloading or "
        "maintenance of the server."
    ),
}


class AccountsFault(Exception):
    """An accounts server error, answered in its OAuth dialect."""

    def __init__(
        self,
        status: int,
        error: str,
        description: str | None = None,
        *,
        sub_error: str | None = None,
        invalid_fields: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.error = error
        self.description = description or OAUTH_DESCRIPTIONS.get(error, error)
        self.sub_error = sub_error
        self.invalid_fields = invalid_fields
        self.extra = extra
        super().__init__(self.description)

    def body(self) -> dict[str, Any]:
        # `request_id`, "Unique request identifier" (a UUID), is optional in the error schemas of
        # https://platform.text.com/docs/authorization/global-accounts-api; this sandbox always sends one
        out: dict[str, Any] = {
            "error": self.error,
            "error_description": self.description,
            "request_id": str(uuid.uuid4()),
        }
        if self.sub_error is not None:
            out["sub_error"] = self.sub_error
        if self.invalid_fields is not None:
            out["invalid_fields"] = self.invalid_fields
        if self.extra:
            out.update(self.extra)
        return out

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def missing_fields(fields: list[str]) -> AccountsFault:
    return AccountsFault(422, "invalid_request", invalid_fields={f: "is required" for f in fields})


def insufficient_scope() -> AccountsFault:
    return AccountsFault(403, "access_denied", sub_error="insufficient_scope")
