"""Configuration API v3.6 tags administration: create_tag, update_tag, delete_tag.

https://platform.text.com/docs/management/configuration-api#tags: "Letter case is ignored when
checking if a tag already exists"; "Both Update Tag and Delete Tag methods respect the letter case
when matching the tag"; "Users with the `tags--all:rw` scope can create/delete/update tags in all
license's groups. Users with the `tags--groups:rw` scope are restricted to groups they are assigned
to." ``group_ids`` "Can be empty". All three answer no payload.
"""

from __future__ import annotations

from .apiauth import Ctx
from .clock import rfc3339
from .errors import WebApiFault
from .model import JSON, TagRecord
from .validate import int_list, require_str

WRITE_SCOPES = ("tags--all:rw", "tags--groups:rw")


def _group_ids(ctx: Ctx, body: JSON) -> list[int] | None:
    if body.get("group_ids") is None:
        return None
    group_ids = list(dict.fromkeys(int_list(body["group_ids"], "group_ids", max_len=200)))
    known = ctx.state.groups[ctx.org_id]
    for gid in group_ids:
        if gid not in known:
            raise WebApiFault("group_not_found", f"Group {gid} not found")  # [UNVERIFIED] for tags
    return group_ids


def _check_groups(ctx: Ctx, granted: str, *group_sets: list[int]) -> None:
    """``tags--groups:rw``: every group touched (the tag's and the new ones) must be one of the
    requester's groups; the error is [UNVERIFIED]."""
    if granted == "tags--all:rw":
        return
    mine = set(ctx.agent.groups)
    for groups in group_sets:
        outside = sorted(set(groups) - mine)
        if outside:
            raise WebApiFault(
                "authorization", f"No access to group {outside[0]} (requires scope: tags--all:rw)"
            )


def _existing(ctx: Ctx, name: str) -> TagRecord:
    tag = ctx.state.tags[ctx.org_id].get(name)  # case-sensitive
    if tag is None:
        raise WebApiFault("not_found", "Tag not found")  # [UNVERIFIED] type and wording
    return tag


def create_tag(ctx: Ctx, body: JSON) -> JSON:
    """https://platform.text.com/docs/management/configuration-api#create-tag. A name that matches
    an existing tag case-insensitively is ``already_exists`` (a documented error type of the
    Configuration API; its use here and the wording are [UNVERIFIED])."""
    granted = ctx.require(*WRITE_SCOPES)
    name = require_str(body, "name")
    group_ids = _group_ids(ctx, body) or []
    tags = ctx.state.tags[ctx.org_id]
    if any(existing.casefold() == name.casefold() for existing in tags):
        raise WebApiFault("already_exists", "Tag already exists")
    _check_groups(ctx, granted, group_ids)
    tags[name] = TagRecord(name, ctx.org_id, group_ids, ctx.agent.id, rfc3339(ctx.now()))
    return {}


def update_tag(ctx: Ctx, body: JSON) -> JSON:
    """https://platform.text.com/docs/management/configuration-api#update-tag: ``name`` (matched
    case-sensitively) and ``group_ids`` (the new assignment; absent leaves it unchanged)."""
    granted = ctx.require(*WRITE_SCOPES)
    tag = _existing(ctx, require_str(body, "name"))
    group_ids = _group_ids(ctx, body)
    if group_ids is None:
        _check_groups(ctx, granted, tag.group_ids)
        return {}
    _check_groups(ctx, granted, tag.group_ids, group_ids)
    tag.group_ids = group_ids
    return {}


def delete_tag(ctx: Ctx, body: JSON) -> JSON:
    """https://platform.text.com/docs/management/configuration-api#delete-tag. The docs do not say
    what happens to threads already tagged: they keep the name (archives still show and filter
    it), while tag_thread no longer accepts it [UNVERIFIED]."""
    granted = ctx.require(*WRITE_SCOPES)
    tag = _existing(ctx, require_str(body, "name"))
    _check_groups(ctx, granted, tag.group_ids)
    del ctx.state.tags[ctx.org_id][tag.name]
    return {}
