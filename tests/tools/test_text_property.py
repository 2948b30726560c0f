"""Customer-written text reaches the model without invisible, bidi or terminal-control characters
(hypothesis over arbitrary text), and results that carry it say it is the customer's."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_livechat.tools.text import UNTRUSTED_NOTE, clean
from tests.helpers import call

HOSTILE = st.sampled_from(
    ["\u202e", "\u2066", "\u200b", "\ufeff", "\x1b[31m", "\x1b]0;title\x07", "\x00", "\U000e0041"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=20), HOSTILE), max_size=20).map("".join))
def test_clean_leaves_no_control_or_format_character(text: str) -> None:
    out = clean(text)
    assert "\x1b" not in out
    assert all(unicodedata.category(c) not in ("Cc", "Cf") or c in "\n\t" for c in out), repr(out)
    assert clean(out) == out  # stable: cleaning twice changes nothing


async def test_a_transcript_says_whose_text_it_is(connect: Callable[..., Any]) -> None:
    async with connect() as client:
        chat_id = (await call(client, "list_chats", {"limit": 1}))["chats"][0]["id"]
        transcript = await call(client, "get_chat", {"chat_id": chat_id})
    assert UNTRUSTED_NOTE in str(transcript)
