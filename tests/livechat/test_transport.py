"""The transport: retries (which, how many, Retry-After), never re-sending a write, regions,
credential renewal, bad bodies, timeouts and what reaches the logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from mcp_livechat.errors import (
    ApiError,
    AuthenticationFailed,
    RateLimited,
    ServerError,
    TransportError,
    ValidationFailed,
)
from mcp_livechat.livechat import (
    Credential,
    LiveChat,
    LiveChatHttp,
    StaticCredentials,
    basic,
    bearer,
    default_http_client,
)
from mcp_livechat.sandbox import Sandbox, constants
from tests.conftest import FAST_RETRY, SANDBOX_URL, Recorder
from tests.other_readings import Forward, OtherReading


async def _chat_with_owner(lc: LiveChat) -> str:
    page = await lc.agent.list_chats(active=True, limit=100)
    return next(c.id for c in page.chats_summary if constants.AGENT_EMAIL in {u.id for u in c.users})


async def test_read_is_retried_through_a_429_burst(lc: LiveChat, sandbox: Sandbox) -> None:
    sandbox.faults.add("rate_limit", count=2, methods=["list_chats"])
    page = await lc.agent.list_chats(limit=3)
    assert len(page.chats_summary) == 3
    assert sandbox.stats.requests["list_chats"] == 3


async def test_rate_limit_outlasting_the_attempts_is_reported(lc: LiveChat, sandbox: Sandbox) -> None:
    sandbox.faults.add("rate_limit", count=5, methods=["list_chats"])
    with pytest.raises(RateLimited) as err:
        await lc.agent.list_chats()
    assert sandbox.stats.requests["list_chats"] == 3  # at most 3 attempts
    assert "retry" in str(err.value).lower()


async def test_retry_after_is_honoured_and_a_long_one_is_not_waited(lc: LiveChat, sandbox: Sandbox) -> None:
    sandbox.faults.add("rate_limit", count=1, methods=["get_customer"], retry_after=0.05)
    customer_id = next(iter(sandbox.state.customers))
    assert (await lc.agent.get_customer(customer_id)).id == customer_id
    sandbox.faults.add("rate_limit", count=1, methods=["get_customer"], retry_after=120)
    with pytest.raises(RateLimited) as err:
        await lc.agent.get_customer(customer_id)
    assert err.value.retry_after == 120
    assert "120" in str(err.value)


async def test_server_errors_are_retried_for_reads(lc: LiveChat, sandbox: Sandbox) -> None:
    sandbox.faults.add("server_error", count=1, methods=["list_groups"])
    sandbox.faults.add("server_error", count=1, methods=["list_groups"], status=503)
    groups = await lc.configuration.list_groups()
    assert groups and sandbox.stats.requests["list_groups"] == 3


async def test_idempotent_write_is_retried(lc: LiveChat, sandbox: Sandbox) -> None:
    sandbox.faults.add("server_error", count=1, methods=["update_agent"], status=503)
    await lc.configuration.update_agent(constants.AGENT_EMAIL, job_title="Retried")
    assert sandbox.stats.requests["update_agent"] == 2
    assert (await lc.configuration.get_agent(constants.AGENT_EMAIL, ["job_title"])).job_title == "Retried"


async def test_a_refusal_of_a_repeat_says_it_answers_a_repeat(lc: LiveChat, sandbox: Sandbox) -> None:
    chat = next(c for c in sandbox.state.chats.values() if c.organization_id == constants.ORGANIZATION_ID)
    thread = chat.last_thread
    with pytest.raises(ApiError) as first:
        await lc.agent.tag_thread(chat.id, thread.id, "no such tag")
    sandbox.faults.add("drop", count=1, methods=["tag_thread"], after_processing=False)
    with pytest.raises(ApiError) as again:
        await lc.agent.tag_thread(chat.id, thread.id, "no such tag")
    sandbox.faults.add("rate_limit", count=1, methods=["tag_thread"])  # not processed: no repeat of a write
    with pytest.raises(ApiError) as limited:
        await lc.agent.tag_thread(chat.id, thread.id, "no such tag")
    sandbox.faults.add("server_error", count=1, methods=["tag_thread"])  # a 5xx may have been applied
    with pytest.raises(ApiError) as after_5xx:
        await lc.agent.tag_thread(chat.id, thread.id, "no such tag")
    assert (first.value.repeated, again.value.repeated, limited.value.repeated) == (False, True, False)
    assert after_5xx.value.repeated
    assert sandbox.stats.requests["tag_thread"] == 7


async def test_a_request_that_never_left_is_no_repeat(sandbox: Sandbox) -> None:
    attempts = {"n": 0}

    async def refuse_to_connect(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise httpx2.ConnectError("connection refused")
        return await forward()

    transport = OtherReading(sandbox.transport(), {"/action/tag_thread": refuse_to_connect})
    chat = next(c for c in sandbox.state.chats.values() if c.organization_id == constants.ORGANIZATION_ID)
    async with default_http_client(transport=transport) as client:
        http = LiveChatHttp(client, SANDBOX_URL, f"{SANDBOX_URL}/accounts", "3.6", FAST_RETRY)
        lc = LiveChat(http.bind(StaticCredentials(basic(constants.ACCOUNT_ID, constants.PAT))))
        with pytest.raises(ApiError) as refused:
            await lc.agent.tag_thread(chat.id, chat.last_thread.id, "no such tag")
    assert attempts["n"] == 2 and not refused.value.repeated


async def test_an_error_without_livechats_body_is_marked_undescribed(lc: LiveChat, sandbox: Sandbox) -> None:
    with pytest.raises(ApiError) as described:
        await lc.agent.get_customer("not-a-customer")
    sandbox.faults.add("html", count=1, methods=["get_customer"], status=403)
    with pytest.raises(ApiError) as bare:
        await lc.agent.get_customer("not-a-customer")
    assert described.value.described and not bare.value.described
    assert bare.value.status == 403 and bare.value.type == "authorization"


async def test_send_event_is_not_resent_after_a_dropped_connection(lc: LiveChat, sandbox: Sandbox) -> None:
    chat_id = await _chat_with_owner(lc)
    before = sandbox.stats.events_sent
    sandbox.faults.add("drop", count=1, methods=["send_event"], after_processing=True)
    with pytest.raises(TransportError) as err:
        await lc.agent.send_event(chat_id, {"type": "message", "text": "only once"})
    assert "may or may not have been applied" in str(err.value)
    assert sandbox.stats.requests["send_event"] == 1
    assert sandbox.stats.events_sent == before + 1  # LiveChat got it once; we did not send it again
    texts = [e.text for e in (await lc.agent.get_chat(chat_id)).thread.events]  # type: ignore[union-attr]
    assert texts.count("only once") == 1


async def test_send_event_is_not_resent_after_a_server_error(lc: LiveChat, sandbox: Sandbox) -> None:
    chat_id = await _chat_with_owner(lc)
    sandbox.faults.add("server_error", count=1, methods=["send_event"])
    with pytest.raises(ServerError) as err:
        await lc.agent.send_event(chat_id, {"type": "message", "text": "hi"})
    assert sandbox.stats.requests["send_event"] == 1
    assert "may or may not have been applied" in str(err.value)


async def test_send_event_is_not_resent_after_a_429(lc: LiveChat, sandbox: Sandbox) -> None:
    chat_id = await _chat_with_owner(lc)
    sandbox.faults.add("rate_limit", count=1, methods=["send_event"])
    with pytest.raises(RateLimited):
        await lc.agent.send_event(chat_id, {"type": "message", "text": "hi"})
    assert sandbox.stats.requests["send_event"] == 1


async def test_a_dropped_read_is_retried(lc: LiveChat, sandbox: Sandbox) -> None:
    sandbox.faults.add("drop", count=1, methods=["list_tags"])
    assert await lc.configuration.list_tags()
    assert sandbox.stats.requests["list_tags"] == 2


@pytest.mark.parametrize("kind", ["malformed", "html"])
async def test_unusable_bodies_are_retried_then_reported(lc: LiveChat, sandbox: Sandbox, kind: str) -> None:
    sandbox.faults.add(kind, count=1, methods=["list_chats"])
    assert (await lc.agent.list_chats(limit=1)).chats_summary
    sandbox.faults.add(kind, count=3, methods=["list_chats"])
    with pytest.raises(ServerError) as err:
        await lc.agent.list_chats(limit=1)
    assert "<" not in str(err.value)  # no raw upstream body in the message


async def test_timeouts_apply_to_every_call(sandbox: Sandbox) -> None:
    sandbox.faults.add("latency", count=1, methods=["list_groups"], latency_ms=400)
    async with default_http_client(timeout=0.1, transport=sandbox.transport()) as client:
        http = LiveChatHttp(client, SANDBOX_URL, f"{SANDBOX_URL}/accounts", "3.6", FAST_RETRY)
        lc = LiveChat(http.bind(StaticCredentials(basic(constants.ACCOUNT_ID, constants.PAT))))
        assert await lc.configuration.list_groups()  # first attempt timed out, the retry did not
        sandbox.faults.add("latency", count=3, methods=["list_groups"], latency_ms=400)
        with pytest.raises(TransportError, match="timed out"):
            await lc.configuration.list_groups()


async def test_misdirected_request_is_retried_once_in_the_named_region(
    lc_http: LiveChatHttp, recorder: Recorder
) -> None:
    fra = LiveChat(lc_http.bind(StaticCredentials(basic(constants.FRA_ACCOUNT_ID, constants.FRA_PAT))))
    agents = await fra.configuration.list_agents()
    assert constants.FRA_AGENT_EMAIL in {a.id for a in agents}
    first, second = recorder.sent[-2:]
    assert "x-region" not in first.headers and second.headers["x-region"] == "fra"
    await fra.configuration.list_groups()  # the region is remembered for this credential
    assert recorder.sent[-1].headers["x-region"] == "fra" and len(recorder.sent) == 3


async def test_accounts_do_not_see_each_other(as_pat: Callable[..., LiveChat]) -> None:
    dal, fra = as_pat(), as_pat(constants.FRA_ACCOUNT_ID, constants.FRA_PAT)
    dal_chats = {c.id for c in (await dal.agent.list_chats(limit=100)).chats_summary}
    fra_chats = {c.id for c in (await fra.agent.list_chats(limit=100)).chats_summary}
    assert dal_chats and fra_chats and not dal_chats & fra_chats


class _Renewing:
    """Starts with a dead token; renews to a good one once, counting renewals."""

    def __init__(self, dead: str, good: str | None) -> None:
        self.dead, self.good, self.renewals = bearer(dead), bearer(good) if good else None, 0

    async def get(self) -> Credential:
        return self.dead

    async def renew(self, rejected: Credential) -> Credential | None:
        self.renewals += 1
        assert rejected == self.dead
        return self.good


async def test_a_refused_credential_is_renewed_once(lc_http: LiveChatHttp, sandbox: Sandbox) -> None:
    good = sandbox.mint_token(constants.AGENT_EMAIL)["access_token"]
    provider = _Renewing("dal:expired-or-revoked-token", good)
    lc = LiveChat(lc_http.bind(provider))
    assert await lc.configuration.list_groups()
    assert provider.renewals == 1 and sandbox.stats.requests["list_groups"] == 2

    gives_up = _Renewing("dal:expired-or-revoked-token", None)
    with pytest.raises(AuthenticationFailed):
        await LiveChat(lc_http.bind(gives_up)).configuration.list_groups()
    assert gives_up.renewals == 1


async def test_debug_logs_carry_no_secret(
    lc: LiveChat, as_token: Callable[..., LiveChat], sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token_client = as_token()
    sandbox.faults.add("rate_limit", count=1, methods=["list_chats"])
    await lc.agent.list_chats(limit=2)
    await token_client.agent.list_chats(limit=2)
    with pytest.raises(AuthenticationFailed):
        await LiveChat(
            lc.transport.shared.bind(StaticCredentials(bearer("dal:not-a-real-token")))
        ).agent.list_chats()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "list_chats" in text  # the transport did log the calls
    secrets = [
        constants.PAT,
        token_client.transport.credentials.__dict__["_credential"].secret,
        "not-a-real-token",
    ]
    for secret in secrets:
        assert secret not in text


async def test_each_attempt_is_one_debug_event(
    lc_http: LiveChatHttp, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG every request LiveChat gets, retries included, is one record with the
    API, the action, which attempt of the call it was, how long it took and the status or the
    transport's error."""
    caplog.set_level(logging.DEBUG, logger="mcp_livechat.livechat")
    lc = LiveChat(lc_http.bind(StaticCredentials(basic(constants.ACCOUNT_ID, constants.PAT))))
    sandbox.faults.add("server_error", count=1, methods=["list_chats"])
    sandbox.faults.add("drop", count=1, methods=["list_agents"], after_processing=False)
    await lc.agent.list_chats(limit=1)
    await lc.configuration.list_agents()
    await lc.accounts.get_me()
    fields = ("livechat_api", "livechat_action", "attempt", "livechat_status", "livechat_error")
    events = [tuple(getattr(r, f, None) for f in fields) for r in caplog.records
              if r.levelno == logging.DEBUG and hasattr(r, "attempt")]  # fmt: skip
    assert events == [
        ("agent", "list_chats", 1, 500, None),
        ("agent", "list_chats", 2, 200, None),
        ("configuration", "list_agents", 1, None, "RemoteProtocolError"),
        ("configuration", "list_agents", 2, 200, None),
        ("accounts", "GET /v2/accounts/me", 1, 200, None),
    ]
    durations = [r.duration_ms for r in caplog.records if hasattr(r, "attempt")]  # type: ignore[attr-defined]
    assert all(isinstance(ms, int) and 0 <= ms < 30_000 for ms in durations)
    first = next(r for r in caplog.records if hasattr(r, "attempt"))
    assert re.fullmatch(r"livechat list_chats -> 500 in \d+ ms", first.getMessage())


async def test_the_observer_hears_every_attempt(lc_http: LiveChatHttp, sandbox: Sandbox) -> None:
    heard: list[tuple[str, str, str, str | None]] = []
    lc_http.observer = lambda *event: heard.append(event)
    lc = LiveChat(lc_http.bind(StaticCredentials(basic(constants.ACCOUNT_ID, constants.PAT))))
    sandbox.faults.add("server_error", count=1, methods=["list_chats"])
    sandbox.faults.add("drop", count=1, methods=["list_agents"], after_processing=False)
    await lc.agent.list_chats(limit=1)
    await lc.configuration.list_agents()
    await lc.accounts.get_me()
    with pytest.raises(AuthenticationFailed):
        await LiveChat(lc_http.bind(StaticCredentials(bearer("dal:nope")))).agent.list_chats()
    assert heard == [
        ("agent", "list_chats", "error", "internal"),
        ("agent", "list_chats", "ok", None),
        ("configuration", "list_agents", "unreachable", None),
        ("configuration", "list_agents", "ok", None),
        ("accounts", "GET /v2/accounts/me", "ok", None),
        ("agent", "list_chats", "error", "authentication"),
    ]


async def test_an_observer_that_fails_never_fails_the_call(lc_http: LiveChatHttp) -> None:
    def broken(*event: object) -> None:
        raise RuntimeError("counting is broken")

    lc_http.observer = broken
    lc = LiveChat(lc_http.bind(StaticCredentials(basic(constants.ACCOUNT_ID, constants.PAT))))
    assert len((await lc.agent.list_chats(limit=2)).chats_summary) == 2


def test_a_retry_after_is_never_cut_short_and_is_spread() -> None:
    """The calls one 429 stopped come back over up to a tenth of the wait (at most 1 s more), never
    before it."""
    from mcp_livechat.livechat._transport import RetryPolicy

    policy = RetryPolicy()
    for asked, spread in ((0.0, 0.0), (5.0, 0.5), (30.0, 1.0)):
        waits = [policy.delay(1, asked) for _ in range(500)]
        assert all(asked <= w <= asked + spread for w in waits), asked
        assert spread == 0 or max(waits) - min(waits) > spread / 2  # spread, not all at once


async def test_an_error_answer_is_logged_with_what_livechat_support_traces_it_by(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """A fault on LiveChat's side is a WARNING naming the action, status, type and, when LiveChat
    sent them, its correlation ids: the accounts server's documented `request_id` and, as another
    reading of what the docs leave open, an `x-debug-id` header; a header that is no plain id is
    left out; a refusal is INFO."""

    async def with_debug_id(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        response = await forward()
        value = "4f1c-debug.77" if body.get("limit") == 1 else "not an id; " + "x" * 200
        response.headers["x-debug-id"] = value
        return response

    reading = OtherReading(sandbox.transport(), {"/action/list_chats": with_debug_id})
    caplog.set_level(logging.INFO, logger="mcp_livechat.livechat")
    async with default_http_client(transport=reading) as client:
        http = LiveChatHttp(client, SANDBOX_URL, f"{SANDBOX_URL}/accounts", "3.6", FAST_RETRY)
        lc = LiveChat(http.bind(StaticCredentials(basic(constants.ACCOUNT_ID, constants.PAT))))
        sandbox.faults.add("server_error", count=1, methods=["list_chats"], status=503)
        await lc.agent.list_chats(limit=1)  # retried, then answered
        sandbox.faults.add("server_error", count=1, methods=["list_chats"])
        await lc.agent.list_chats(limit=2)
        with pytest.raises(AuthenticationFailed):
            await LiveChat(http.bind(StaticCredentials(bearer("dal:nope")))).accounts.get_me()
    lines = [(r.levelname, r.getMessage(), r) for r in caplog.records if r.name == "mcp_livechat.livechat"]
    errors = [(level, text) for level, text, _ in lines if "->" in text]
    assert errors[0] == (
        "WARNING",
        "livechat list_chats -> 503 service_unavailable (x_debug_id=4f1c-debug.77)",
    )
    assert errors[1] == ("WARNING", "livechat list_chats -> 500 internal")  # the bad header is dropped
    level, text = errors[2]
    assert level == "INFO" and text.startswith("livechat GET /v2/accounts/me -> 401 ")
    record = next(r for _, t, r in lines if t == text)
    assert re.fullmatch(r"[0-9a-f-]{36}", record.livechat_request_id)  # type: ignore[attr-defined]
    assert record.livechat_status == 401  # type: ignore[attr-defined]


async def test_a_success_of_another_shape_is_livechats_error_not_ours_and_not_retried(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """JSON that does not fit what the client reads (LiveChat changed a field, a proxy answered)
    is an `UnexpectedResponse`: sent once, naming the model and the field paths, never a value
    nor a map's key (agents' e-mails key a ranking report), and logged for the operator."""
    from mcp_livechat.errors import UnexpectedResponse
    from mcp_livechat.livechat.reports import ReportQuery

    async def changed(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        if "filters" in body:  # the ranking, keyed by agent: a count that is no number
            return httpx2.Response(200, json={"records": {"jane.doe@customer.com": {"total": "many"}}})
        if "fields" in body:  # list_agents: the second agent's id a number
            return httpx2.Response(200, json=[{"id": "a@example.com"}, {"id": 5, "name": "Jane"}])
        return httpx2.Response(200, json=[{"chats_summary": []}])  # an array where an object belongs

    rules = {"/reports/chats/ranking": changed, "/action/list_chats": changed, "/action/list_agents": changed}
    reading = OtherReading(sandbox.transport(), rules)  # type: ignore[arg-type]
    caplog.set_level(logging.INFO, logger="mcp_livechat.livechat")
    async with default_http_client(transport=reading) as client:
        http = LiveChatHttp(client, SANDBOX_URL, f"{SANDBOX_URL}/accounts", "3.6", FAST_RETRY)
        lc = LiveChat(http.bind(StaticCredentials(basic(constants.ACCOUNT_ID, constants.PAT))))
        query = ReportQuery(date_from="2026-10-01T00:00:00+00:00", date_to="2026-10-31T23:59:59+00:00")
        with pytest.raises(UnexpectedResponse) as ranked:
            await lc.reports.ranking(query)
        with pytest.raises(UnexpectedResponse) as listed:
            await lc.agent.list_chats()
        with pytest.raises(UnexpectedResponse) as agents:
            await lc.configuration.list_agents(fields=["name"])
    assert set(reading.applied.values()) == {1} and len(reading.applied) == 3  # never re-sent
    assert "(list of Agent: [].id: Input should be a valid string" in str(agents.value), agents.value
    text = str(ranked.value)
    assert "(RankingReport: records.*.total: Input should be a valid integer" in text, text
    assert "Retrying will not help" in text and "jane" not in text and "many" not in text
    assert "(ChatsPage: (body): Input should be an object" in str(listed.value)
    assert ranked.value.type == "unexpected_response" and not ranked.value.maybe_applied  # a read
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert logged[0].startswith("livechat chats/ranking -> 200 unexpected_response (LiveChat answered")
    assert "records.*.total" in logged[0] and all("jane" not in line for line in logged)


async def test_an_error_body_nested_past_the_parsers_stack_is_still_livechats_error(sandbox: Sandbox) -> None:
    """Python's json recurses once a level: 3,000 nested arrays are valid JSON it cannot read. An
    error answer like that is LiveChat's 5xx as ever (retried for a read), not a crash."""

    async def deep(body: dict[str, Any], forward: Forward) -> httpx2.Response:
        return httpx2.Response(503, content=b'{"error": ' + b"[" * 200_000 + b"]" * 200_000 + b"}")

    reading = OtherReading(sandbox.transport(), {"/action/list_groups": deep})
    async with default_http_client(transport=reading) as client:
        http = LiveChatHttp(client, SANDBOX_URL, f"{SANDBOX_URL}/accounts", "3.6", FAST_RETRY)
        lc = LiveChat(http.bind(StaticCredentials(basic(constants.ACCOUNT_ID, constants.PAT))))
        with pytest.raises(ServerError) as err:
            await lc.configuration.list_groups()
    assert reading.applied == {"/action/list_groups": 3} and err.value.status == 503


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("Wrong format of request", "Wrong format of request. Fix the request and try again."),
        ("Chat not found.", "Chat not found. Fix the request and try again."),
        ("Is this right?", "Is this right? Fix the request and try again."),
    ],
)
def test_livechats_message_ends_its_sentence_before_the_advice(message: str, shown: str) -> None:
    exc = ValidationFailed(message, status=400, type="validation", action="list_chats")
    assert str(exc) == f"LiveChat error in list_chats (validation): {shown}"
    assert str(ApiError(message, status=400, type="other")) == f"LiveChat error (other): {message}"
