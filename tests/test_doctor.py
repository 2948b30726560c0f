"""`mcp-livechat doctor`: against the sandbox in-process (PAT on both regions, a normal agent, a
stored sign-in, drift in a response, dropped connections) and as real processes against a
sandbox on a real port (the JSON report, a wrong PAT, an API nobody answers, nothing configured)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr

from mcp_livechat.cli import free_port
from mcp_livechat.config import Settings, load_settings
from mcp_livechat.connect.crypto import Sealer
from mcp_livechat.connect.identity import LOCAL
from mcp_livechat.connect.sqlite_store import SqliteTokenStore
from mcp_livechat.doctor import Report, run_doctor
from mcp_livechat.doctor.needs import TOOL_ACTIONS, grants, impact, proven_by
from mcp_livechat.doctor.report import as_json, as_text
from mcp_livechat.doctor.shapes import compare
from mcp_livechat.livechat import REQUIRED_SCOPES
from mcp_livechat.livechat import types as lc
from mcp_livechat.sandbox import Sandbox, constants
from tests.conftest import SANDBOX_URL, Recorder, sandbox_settings
from tests.connect.flow_kit import KEY_1, oauth_settings, stored_token

PY = sys.executable
ALL_SERVICES = ["accounts server", "Agent Chat API", "Configuration API", "Reports API"]


def _pat(pat: str, account_id: str) -> Settings:
    return sandbox_settings().model_copy(update={"pat": SecretStr(pat), "account_id": account_id})


def _outputs(report: Report) -> str:
    return as_text(report) + as_json(report)


def _assert_healthy(report: Report, *, refused: tuple[str, ...] = ()) -> None:
    """Every service answered, and every read was compared but the `refused` (a missing scope)."""
    assert report.problems == [] and report.ok and report.exit_code == 0
    assert [s.name for s in report.services] == ALL_SERVICES
    assert all(s.ok and s.ms is not None for s in report.services)
    skipped = {s.method: s.skipped for s in report.shapes if s.skipped}
    assert skipped == dict.fromkeys(refused, "refused: the credential lacks the scope"), skipped


# ------------------------------------------------------------------------- PAT


async def test_pat_on_account_a_is_healthy_in_dal(sandbox: Sandbox) -> None:
    report = await run_doctor(sandbox_settings(), transport=sandbox.transport())
    _assert_healthy(report)
    who = report.credential
    assert (who.mode, who.agent, who.name) == ("pat", constants.AGENT_EMAIL, constants.AGENT_NAME)
    assert (who.account_id, who.organization_id) == (constants.ACCOUNT_ID, constants.ORGANIZATION_ID)
    assert (who.role, who.region, who.region_source) == ("owner", "dal", "default: no X-Region needed")
    assert report.scopes.source == "proven by reads; writes not checked"
    assert {"chats--access:ro", "customers:ro", "agents--all:ro", "accounts--my:ro"} <= set(
        report.scopes.held
    )
    assert report.scopes.missing == [] and report.tools_disabled == {}
    assert "chats--access:rw" in report.scopes.not_checked  # writes are never tried
    methods = [s.method for s in report.shapes]
    for method in ("list_chats", "get_chat", "list_archives", "get_customer", "list_agents", "get_agent",
                   "list_groups", "list_tags", "list_routing_statuses", "GET /v2/accounts/me"):  # fmt: skip
        assert method in methods
    text = as_text(report)
    assert constants.AGENT_EMAIL in text and "Result: OK" in text and constants.PAT not in _outputs(report)


async def test_pat_on_account_b_learns_fra(sandbox: Sandbox) -> None:
    report = await run_doctor(
        _pat(constants.FRA_PAT, constants.FRA_ACCOUNT_ID), transport=sandbox.transport()
    )
    _assert_healthy(report)
    who = report.credential
    assert (who.agent, who.organization_id) == (constants.FRA_AGENT_EMAIL, constants.FRA_ORGANIZATION_ID)
    assert (who.region, who.region_source) == ("fra", "learned from misdirected_request")
    assert "fra (learned from misdirected_request)" in as_text(report)
    assert constants.FRA_PAT not in _outputs(report)


async def test_a_normal_agents_pat_warns_of_the_admin_scopes_and_the_tools_they_limit(
    sandbox: Sandbox,
) -> None:
    settings = _pat(constants.NORMAL_AGENT_PAT, constants.NORMAL_AGENT_ACCOUNT_ID)
    report = await run_doctor(settings, transport=sandbox.transport())
    _assert_healthy(report, refused=("list_customer_bans", "chats/total_chats"))  # admin scopes here
    assert (report.credential.agent, report.credential.role) == (constants.NORMAL_AGENT_EMAIL, "normal")
    assert {"agents--all:rw", "chats--all:rw"} <= set(report.scopes.missing)
    assert report.tools_limited["agents--all:rw"] == ["set_routing_status", "update_agent_profile"]
    assert "transfer_chat" in report.tools_limited["chats--all:rw"]
    line = next(w for w in report.warnings if w.startswith("missing scope agents--all:rw"))
    assert "a normal agent cannot hold it" in line and "set_routing_status" in line


async def test_a_pat_without_read_scopes_names_the_tools_it_disables(sandbox: Sandbox) -> None:
    agent = sandbox.state.agents[constants.NORMAL_AGENT_EMAIL]  # a PAT created with fewer scopes
    dropped = ("customers:ro", "customers:rw", "agents--all:ro", "agents--all:rw")
    agent.pat_scopes = tuple(s for s in agent.pat_scopes if s not in dropped)
    settings = _pat(constants.NORMAL_AGENT_PAT, constants.NORMAL_AGENT_ACCOUNT_ID)
    report = await run_doctor(settings, transport=sandbox.transport())
    assert report.ok and report.exit_code == 0 and report.problems == []
    assert {"customers:ro", "agents--all:ro"} <= set(report.scopes.missing)
    assert report.tools_disabled["customers:ro"] == ["get_customer", "update_customer"]
    assert report.tools_disabled["agents--all:ro"] == ["list_agents", "list_routing_statuses"]
    assert "customers:ro" not in report.scopes.held and "agents--my:ro" in report.scopes.held
    line = next(w for w in report.warnings if w.startswith("missing scope customers:ro"))
    assert line == (
        "missing scope customers:ro (LiveChat refused get_customer): disables get_customer, update_customer; limits fetch, search"
    )
    skipped = {s.method: s.skipped for s in report.shapes}
    assert skipped["get_customer"] == skipped["list_agents"] == "refused: the credential lacks the scope"
    assert skipped["get_agent"] is None  # one's own profile needs only agents--my:ro


async def test_a_wrong_pat_is_one_problem_that_names_the_variables(sandbox: Sandbox) -> None:
    wrong = "sbxpat_dal_ThisIsNotTheRightOne42"
    report = await run_doctor(_pat(wrong, constants.ACCOUNT_ID), transport=sandbox.transport())
    assert not report.ok and report.exit_code == 1
    assert len(report.problems) == 1
    assert "LIVECHAT_PAT" in report.problems[0] and "LIVECHAT_ACCOUNT_ID" in report.problems[0]
    assert wrong not in _outputs(report)
    assert json.loads(as_json(report))["ok"] is False


async def test_nothing_configured_says_how_to_configure(recorder: Recorder) -> None:
    report = await run_doctor(load_settings(), transport=recorder)
    assert report.exit_code == 2 and len(report.problems) == 1
    assert "LIVECHAT_PAT" in report.problems[0] and "mcp-livechat login" in report.problems[0]
    assert recorder.sent == []


async def test_dropped_api_connections_fail_both_apis(sandbox: Sandbox) -> None:
    sandbox.faults.add("drop", count=1000, after_processing=False)  # every API call, not the accounts
    report = await run_doctor(sandbox_settings(), transport=sandbox.transport())
    assert report.exit_code == 1
    down = {s.name: s for s in report.services}
    assert down["accounts server"].ok and not down["Agent Chat API"].ok and not down["Configuration API"].ok
    assert len(report.problems) == 2
    assert report.problems[0].startswith(f"The Agent Chat API at {SANDBOX_URL}/v3.6/agent failed:")
    assert "could not be reached" in report.problems[0]
    assert report.credential.agent == constants.AGENT_EMAIL  # what did work is still reported


# ------------------------------------------------------------------------- stored sign-in (OAuth)


async def _store_token(tmp: Path, minted: dict[str, Any]) -> None:
    now = time.time()
    store = SqliteTokenStore(tmp / "tokens.db", Sealer([base64.b64decode(KEY_1)]))
    await store.put(LOCAL, stored_token(minted, expires_at=now + 3600, lifetime=3600))
    await store.close()


async def test_a_stored_sign_in_reports_the_scopes_of_its_token(sandbox: Sandbox, tmp_path: Path) -> None:
    minted = sandbox.mint_token(constants.FRA_AGENT_EMAIL)
    await _store_token(tmp_path, minted)
    report = await run_doctor(oauth_settings(SANDBOX_URL, tmp_path), transport=sandbox.transport())
    _assert_healthy(report)
    who = report.credential
    assert (who.mode, who.agent, who.role) == ("oauth", constants.FRA_AGENT_EMAIL, "owner")
    assert (who.region, who.region_source) == ("fra", "token prefix")
    assert report.scopes.source == "token info, /v2/info"
    assert report.scopes.held == sorted(str(minted["scope"]).split(","))
    assert report.scopes.missing == [] and report.tools_disabled == {}
    assert "GET /v2/info" in [s.method for s in report.shapes]
    out = _outputs(report)
    for secret in (minted["access_token"], minted["refresh_token"], constants.CLIENT_SECRET):
        assert str(secret) not in out
    assert sandbox.stats.counter("token_refreshed") == 0  # a fresh token is used as it is


async def test_a_sign_in_with_few_scopes_names_the_tools_it_disables(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    scopes = ["chats--access:rw", "agents--my:ro", "accounts--my:ro", "groups--all:ro", "tags--groups:ro"]
    await _store_token(tmp_path, sandbox.mint_token(constants.AGENT_EMAIL, scopes=scopes))
    report = await run_doctor(oauth_settings(SANDBOX_URL, tmp_path), transport=sandbox.transport())
    assert report.ok and report.exit_code == 0
    assert report.tools_disabled["customers:ro"] == ["get_customer", "update_customer"]
    assert report.tools_disabled["agents--my:rw"] == ["set_routing_status", "update_agent_profile"]
    assert "list_chats" not in str(report.tools_disabled)  # chats--access:rw contains chats--access:ro
    assert "list_agents" in report.tools_disabled["agents--all:ro"]
    assert any(
        w.startswith("missing scope customers:ro (not granted to this sign-in)") for w in report.warnings
    )


async def test_no_stored_sign_in_says_to_log_in(sandbox: Sandbox, tmp_path: Path) -> None:
    report = await run_doctor(oauth_settings(SANDBOX_URL, tmp_path), transport=sandbox.transport())
    assert report.exit_code == 1 and len(report.problems) == 1
    assert "mcp-livechat login" in report.problems[0]


# ------------------------------------------------------------------------- response shapes


class EditBody(httpx2.AsyncBaseTransport):
    """The sandbox, with one action's JSON answer edited (LiveChat's API drifting)."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, action: str, edit: Any) -> None:
        self.inner, self.action, self.edit = inner, action, edit

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        if not request.url.path.endswith(f"/action/{self.action}") or response.status_code != 200:
            return response
        body = json.loads(await response.aread())
        self.edit(body)
        return httpx2.Response(200, json=body)


def _drift(body: dict[str, Any]) -> None:
    body["shoe_size"] = 44
    body.setdefault("visit", {})["moon_phase"] = "waxing"
    body["statistics"] = {"chats_count": "quite-many-CANARY"}


async def test_drift_in_a_response_is_warnings_not_a_failure(sandbox: Sandbox) -> None:
    transport = EditBody(sandbox.transport(), "get_customer", _drift)
    report = await run_doctor(sandbox_settings(), transport=transport)
    assert report.ok and report.exit_code == 0
    shape = next(s for s in report.shapes if s.method == "get_customer")
    assert "shoe_size" in shape.unknown_fields and "visit.moon_phase" in shape.unknown_fields
    assert shape.rejected_fields == ["statistics.chats_count: int_parsing"]
    assert "get_customer: our model rejects statistics.chats_count: int_parsing" in report.warnings
    assert any(w.startswith("get_customer: ") and "shoe_size" in w for w in report.warnings)
    assert "CANARY" not in _outputs(report)  # paths and error types, never values
    listed = next(s for s in json.loads(as_json(report))["shapes"] if s["method"] == "get_customer")
    assert listed["rejected_fields"] == ["statistics.chats_count: int_parsing"]


def test_shapes_of_arrays_name_items_and_map_keys_without_values() -> None:
    agents = [{"id": "a@example.com", "groups": [{"id": "x", "priority": "first", "colour": "red"}]}]
    shape = compare("list_agents", lc.Agent, agents, many=True)
    assert shape.unknown_fields == ["[].groups[].colour"]
    assert shape.rejected_fields == ["[].groups[].id: int_parsing"]
    groups = compare(
        "list_groups", lc.Group, [{"id": 1, "agent_priorities": {"a@example.com": 5}}], many=True
    )
    assert groups.rejected_fields == ["[].agent_priorities.*: string_type"]
    wrapped = compare("list_tags", lc.Tag, {"tags": []}, many=True)
    assert wrapped.rejected_fields == ["(top level): expected an array, got an object"]


# ------------------------------------------------------------------------- the tool table


def test_the_tool_table_covers_every_tool_and_names_real_actions() -> None:
    from mcp_livechat.tools.catalogue import ALL_TOOLS

    assert set(TOOL_ACTIONS) == {spec.name for spec in ALL_TOOLS}
    for tool, needs in TOOL_ACTIONS.items():
        for action in needs.actions:
            assert action in REQUIRED_SCOPES, (tool, action)


def test_scope_rules_follow_the_documented_inclusions() -> None:
    assert grants("chats--all:rw", "chats--access:ro") and grants("agents--access:ro", "agents--my:ro")
    assert not grants("chats--access:ro", "chats--all:ro") and not grants("customers:ro", "customers:rw")
    assert not grants("tags--all:ro", "tags--groups:ro")  # not one of the documented inclusions
    assert proven_by("list_chats") == "chats--access:ro"
    assert proven_by("list_tags") == "tags--all:ro or tags--groups:ro"
    effect = impact({"chats--all:ro"})
    assert effect.disabled == {} and "list_chats" in effect.limited["chats--all:ro"]


# ------------------------------------------------------------------------- real processes


def _env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("LIVECHAT_")}, **extra}


@pytest.fixture(scope="module")
def served_sandbox() -> Iterator[dict[str, str]]:
    """`python -m mcp_livechat sandbox --port 0`, until the module's tests are done."""
    proc = subprocess.Popen(
        [PY, "-m", "mcp_livechat", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(),
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        for _ in range(200):
            try:
                if httpx2.get(f"{info['api_url']}/sandbox/health", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                time.sleep(0.05)
        yield info
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _doctor(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "mcp_livechat", "doctor", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(**env),
        check=False,
    )


def _pat_env(info: dict[str, str], **extra: str) -> dict[str, str]:
    return {
        "LIVECHAT_PAT": info["pat"],
        "LIVECHAT_ACCOUNT_ID": info["account_id"],
        "LIVECHAT_API_URL": info["api_url"],
        "LIVECHAT_ACCOUNTS_URL": info["accounts_url"],
        **extra,
    }


def test_doctor_json_against_a_sandbox_process(served_sandbox: dict[str, str]) -> None:
    out = _doctor("--json", **_pat_env(served_sandbox))
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["ok"] is True and report["problems"] == []
    assert report["credential"]["agent"] == constants.AGENT_EMAIL
    assert report["credential"]["region"] == "dal"
    assert set(report) >= {"ok", "credential", "scopes", "tools_disabled", "services", "shapes", "problems",
                           "warnings"}  # fmt: skip
    assert set(report["credential"]) >= {"mode", "agent", "account_id", "organization_id", "region", "role"}
    assert set(report["scopes"]) >= {"held", "missing", "source"}
    assert [s["name"] for s in report["services"]] == ALL_SERVICES
    assert all(s["ok"] and isinstance(s["ms"], int) for s in report["services"])
    assert constants.PAT not in out.stdout + out.stderr


def test_doctor_with_a_wrong_pat_prints_one_problem_and_no_traceback(served_sandbox: dict[str, str]) -> None:
    wrong = "sbxpat_dal_NotTheOneYouAreLookingFor"
    out = _doctor(**_pat_env(served_sandbox, LIVECHAT_PAT=wrong))
    assert out.returncode == 1
    problems = out.stdout.split("Problems\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(problems) == 1 and "LIVECHAT_PAT" in problems[0]
    assert "Traceback" not in out.stdout + out.stderr
    assert wrong not in out.stdout + out.stderr


def test_doctor_with_an_api_nobody_answers_fails_clearly(served_sandbox: dict[str, str]) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    out = _doctor("--json", **_pat_env(served_sandbox, LIVECHAT_API_URL=dead))
    assert out.returncode == 1
    report = json.loads(out.stdout)
    assert report["credential"]["agent"] == constants.AGENT_EMAIL  # the accounts server still answered
    assert [s["ok"] for s in report["services"]] == [True, False, False]
    assert report["problems"][0].startswith(f"The Agent Chat API at {dead}/v3.6/agent failed:")
    assert "could not be reached" in report["problems"][0]
    assert "Traceback" not in out.stdout + out.stderr


def test_doctor_without_a_credential_says_how_to_configure_one() -> None:
    out = _doctor()
    assert out.returncode == 2
    assert "LIVECHAT_PAT and LIVECHAT_ACCOUNT_ID" in out.stdout and "Traceback" not in out.stderr


# ------------------------------------------------------------------------- the Reports API and the other reads


async def test_the_reports_api_is_reachable_and_one_tiny_report_fits_our_model(recorder: Recorder) -> None:
    from datetime import UTC, datetime, timedelta

    report = await run_doctor(sandbox_settings(), transport=recorder)
    _assert_healthy(report)
    reports = next(s for s in report.services if s.name == "Reports API")
    assert reports.ok and reports.url == f"{SANDBOX_URL}/v3.6/reports" and reports.ms is not None
    shapes = {s.method: s for s in report.shapes}
    for method in ("chats/total_chats", "list_threads", "list_agents_for_transfer", "list_customer_bans"):
        shape = shapes[method]  # read, and LiveChat's JSON fits our model (extra fields are warnings)
        assert (shape.skipped, shape.rejected_fields) == (None, []), shape
    assert shapes["chats/total_chats"].unknown_fields == []
    assert {"reports_read", "banlist_read"} <= set(report.scopes.held)
    sent = recorder.last("/v3.6/reports/chats/total_chats")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    assert sent.method == "POST" and sent.body == {
        "distribution": "day",
        "timezone": "UTC",
        "filters": {"from": f"{yesterday}T00:00:00+00:00", "to": f"{yesterday}T23:59:59.999999+00:00"},
    }
    assert {s.path.rsplit("/", 1)[1] for s in recorder.sent if "/action/" in s.path} <= {
        "list_chats", "get_chat", "list_threads", "list_agents_for_transfer", "list_archives", "get_customer",
        "list_routing_statuses", "get_agent", "list_agents", "list_groups", "list_tags", "list_customer_bans",
    }  # fmt: skip
    assert "Reports API" in as_text(report) and "chats/total_chats" in as_text(report)


async def test_a_pat_without_reports_read_says_which_report_tools_it_disables(sandbox: Sandbox) -> None:
    agent = sandbox.state.agents[constants.AGENT_EMAIL]  # the owner's PAT, created without reports_read
    agent.pat_scopes = tuple(s for s in agent.pat_scopes if s != "reports_read")
    report = await run_doctor(sandbox_settings(), transport=sandbox.transport())
    assert report.ok and report.exit_code == 0 and report.problems == []  # a missing scope is a warning
    assert report.scopes.missing == ["reports_read"]
    assert report.tools_disabled == {"reports_read": ["agent_report", "chat_report", "tag_report"]}
    assert report.warnings[0] == (
        "missing scope reports_read (LiveChat refused chats/total_chats): "
        "disables agent_report, chat_report, tag_report"
    )
    reports = next(s for s in report.services if s.name == "Reports API")
    assert reports.ok  # it answered: with a refusal
    shape = next(s for s in report.shapes if s.method == "chats/total_chats")
    assert shape.skipped == "refused: the credential lacks the scope"
    assert json.loads(as_json(report))["tools_disabled"] == report.tools_disabled


async def test_the_report_is_not_tried_when_the_api_host_is_down(sandbox: Sandbox) -> None:
    sandbox.faults.add("drop", count=1000, after_processing=False)  # every API call, reports too
    report = await run_doctor(sandbox_settings(), transport=sandbox.transport())
    assert [s.name for s in report.services] == ALL_SERVICES[:3]  # the Reports API was not asked
    assert sandbox.stats.requests["reports/chats/total_chats"] == 0
    shape = next(s for s in report.shapes if s.method == "chats/total_chats")
    assert shape.skipped == "the Agent Chat and Configuration APIs on its host failed"
