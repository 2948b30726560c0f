"""Opaque, server-side page ids (https://platform.text.com/docs/messaging/agent-chat-api#pagination).

The first request carries filters / limit / sort_order ("Any filters that could be applied
should be provided in first pagination request"; "The `filters`, `limit`, and `sort_order`
parameters can't be provided along with `page_id`"). The ordered list of matching ids is
snapshotted then, so walking ``next_page_id`` returns every item exactly once even while new
events reorder the live data: the docs say the filters are remembered, not the results
[UNVERIFIED whether LiveChat's pages are frozen or re-read]. A follow-up request sends
``page_id`` alone. Page ids expire after 30 days on the sandbox clock ("The maximum duration of
the `page_id` parameter before it expires is one month").
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from . import constants
from .apiauth import Ctx
from .errors import validation
from .model import Page
from .validate import optional_int

FIRST_REQUEST_KEYS = ("filters", "limit", "sort_order")


@dataclass
class PageWindow:
    items: list[Any]
    total: int
    links: dict[str, str]  # next_page_id / previous_page_id when such pages exist


def _new_page_id() -> str:
    return base64.b64encode(secrets.token_bytes(10)).decode("ascii")


def _issue(ctx: Ctx, template: Page, offset: int) -> str:
    page_id = _new_page_id()
    ctx.state.pages[page_id] = Page(
        kind=template.kind,
        org_id=template.org_id,
        agent_id=template.agent_id,
        keys=template.keys,
        offset=offset,
        limit=template.limit,
        created_at=ctx.now(),
        chat_id=template.chat_id,
    )
    return page_id


def resume(ctx: Ctx, body: Mapping[str, Any], kind: str, extra_keys: Sequence[str] = ()) -> Page | None:
    """The stored page for ``body["page_id"]``, or None on a first request."""
    page_id = body.get("page_id")
    if page_id is None:
        return None
    if not isinstance(page_id, str):
        raise validation("`page_id` must be a string")
    # The docs name `filters`, `limit` and `sort_order`; the method's own first-request keys in
    # `extra_keys` (list_threads' `min_events_count`, list_archives' `highlights`) are refused
    # alongside `page_id` too [UNVERIFIED].
    for key in (*FIRST_REQUEST_KEYS, *extra_keys):
        if key in body:
            raise validation(f"`{key}` cannot be used together with `page_id`")
    page = ctx.state.pages.get(page_id)
    expired = page is not None and ctx.now() - page.created_at > timedelta(seconds=constants.PAGE_ID_LIFETIME)
    if (
        page is None
        or expired
        or page.kind != kind
        or page.org_id != ctx.org_id
        or page.agent_id != ctx.agent.id
    ):
        # An unknown, expired, other method's or other requester's page id: the docs give no error
        # for it; `validation` "Invalid page_id" is ours [UNVERIFIED].
        raise validation("Invalid page_id")
    return page


def paginate(
    ctx: Ctx,
    body: Mapping[str, Any],
    kind: str,
    *,
    default_limit: int,
    max_limit: int,
    build: Callable[[], list[Any]],
    chat_id: str | None = None,
    extra_keys: Sequence[str] = (),
) -> PageWindow:
    page = resume(ctx, body, kind, extra_keys)
    if page is None:
        limit = optional_int(body, "limit", default=default_limit, low=1, high=max_limit)
        page = Page(kind, ctx.org_id, ctx.agent.id, build(), 0, limit, ctx.now(), chat_id)
    end = page.offset + page.limit
    links: dict[str, str] = {}
    if end < len(page.keys):
        links["next_page_id"] = _issue(ctx, page, end)
    if page.offset > 0:
        links["previous_page_id"] = _issue(ctx, page, max(0, page.offset - page.limit))
    return PageWindow(page.keys[page.offset : end], len(page.keys), links)
