"""`mcp-livechat doctor`: a read-only check of the configured credential against LiveChat.

Who the credential acts as, its region, which scopes it holds and which tools a missing one
disables, whether the accounts server, the Agent Chat and Configuration APIs and the Reports API
answer (and how fast), and whether LiveChat's JSON still fits our models. Exit 0 unless the
credential or a service fails; drift and missing scopes are warnings. Never writes at LiveChat
and never shows a token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import httpx2

from mcp_livechat.config import Settings
from mcp_livechat.doctor import needs
from mcp_livechat.doctor.checks import AGENT, CONFIGURATION, Checks
from mcp_livechat.doctor.probe import Probe
from mcp_livechat.doctor.report import Report, Who, as_json, as_text
from mcp_livechat.doctor.session import NO_CREDENTIAL, CredentialRefused, Session, open_session
from mcp_livechat.errors import ConfigurationError

logger = logging.getLogger("mcp_livechat.doctor")

__all__ = ["Report", "command", "run_doctor"]


async def run_doctor(settings: Settings, *, transport: httpx2.AsyncBaseTransport | None = None) -> Report:
    """Check `settings`' credential; `transport` replaces the network (tests, the sandbox)."""
    from mcp_livechat.server import Runtime

    report = Report(Who(settings.credential_mode))
    if settings.credential_mode == "none":
        report.problem(NO_CREDENTIAL)
        report.configuration_error = True
        return report
    probe = Probe(transport or httpx2.AsyncHTTPTransport(retries=0))
    try:
        async with Runtime(settings, transport=probe, background=False) as runtime:
            await _examine(settings, runtime, probe, report)
    except ConfigurationError as exc:
        report.problem(str(exc))
        report.configuration_error = True
    except Exception as exc:
        logger.debug("doctor failed", exc_info=True)
        report.problem(
            f"The doctor could not start ({type(exc).__name__}); rerun with LIVECHAT_LOG_LEVEL=DEBUG."
        )
    return report


async def _examine(settings: Settings, runtime: Any, probe: Probe, report: Report) -> None:
    try:
        session = await open_session(settings, runtime)
        report.secrets += session.secrets
        checks = Checks(settings, runtime.http.bind(session.provider), probe, report)
        stages: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("accounts", partial(checks.who, session)),
            ("Agent Chat", checks.agent_chat),
            ("Configuration", checks.configuration),
            ("Reports", checks.reports),
        ]
        for name, stage in stages:
            try:
                await stage()
            except CredentialRefused:
                raise
            except Exception as exc:  # a bug of ours: say so, keep checking the rest
                logger.debug("doctor: the %s checks stopped", name, exc_info=True)
                report.warn(f"The {name} checks stopped early: unexpected {type(exc).__name__} in the doctor")
    except CredentialRefused as exc:
        report.problem(exc.line)
        return
    steps: list[Callable[[], None]] = [
        partial(_region, report, checks, session),
        partial(_scopes, report, checks.results),
    ]
    for step in steps:
        try:
            step()
        except Exception as exc:
            logger.debug("doctor: a summary step failed", exc_info=True)
            report.warn(f"Part of the summary is missing: unexpected {type(exc).__name__} in the doctor")


def _region(report: Report, checks: Checks, session: Session) -> None:
    """The `X-Region` of the last API answer: the token's prefix, or what `misdirected_request`
    taught the client (https://platform.text.com/docs/messaging/agent-chat-api#errors)."""
    answered = checks.probe.answered(checks.urls[AGENT], checks.urls[CONFIGURATION])
    who, prefix = report.credential, session.credential.region
    if not answered:
        who.region, who.region_source = (prefix, "token prefix") if prefix else (None, None)
        return
    sent = answered[-1].region
    if sent is None:
        who.region, who.region_source = "dal", "default: no X-Region needed"
    elif sent == prefix:
        who.region, who.region_source = sent, "token prefix"
    else:
        who.region, who.region_source = sent, "learned from misdirected_request"


def _scopes(report: Report, results: dict[str, bool]) -> None:
    scopes, needed = report.scopes, needs.needed_scopes()
    if scopes.source.startswith("token info"):
        missing = {s for s in needed if not needs.granted(scopes.held, s)}
        why = "not granted to this sign-in"
    else:
        scopes.source = "proven by reads; writes not checked"
        proven = {p for a, ok in results.items() if ok and (p := needs.proven_by(a))}
        scopes.held = sorted(proven)
        refused = {s for a, ok in results.items() if not ok for s in needs.scopes_of(a)}
        missing = set(refused)
        if report.credential.role == "normal":
            missing |= {s for s in needs.ADMIN_SCOPES & needed if not needs.granted(proven, s)}
        either = {part for p in proven for part in p.split(" or ")}
        scopes.not_checked = sorted(s for s in needed - missing - either if not needs.granted(proven, s))
        why = ""
    scopes.missing = sorted(missing)
    impact = needs.impact(missing)
    report.tools_disabled, report.tools_limited = impact.disabled, impact.limited
    lines = [
        _scope_line(s, why or _reason(s, results, report.credential.role), impact) for s in scopes.missing
    ]
    report.warnings[:0] = lines  # first: they matter more than shape drift


def _reason(scope: str, results: dict[str, bool], role: str | None) -> str:
    refused = sorted(a for a, ok in results.items() if not ok and scope in needs.scopes_of(a))
    if refused:
        return f"LiveChat refused {', '.join(refused)}"
    return f"a {role} agent cannot hold it"


def _scope_line(scope: str, reason: str, impact: needs.Impact) -> str:
    parts = []
    if impact.disabled.get(scope):
        parts.append("disables " + ", ".join(impact.disabled[scope]))
    if impact.limited.get(scope):
        parts.append("limits " + ", ".join(impact.limited[scope]))
    return f"missing scope {scope} ({reason}): " + ("; ".join(parts) or "no tool needs it alone")


def command(*, json_output: bool) -> tuple[int, str, str | None]:
    """What `mcp-livechat doctor` prints, its exit code, and the configuration problem that stopped
    it (one line for stderr), if one did."""
    from mcp_livechat import logs
    from mcp_livechat.config import load_settings

    try:
        settings = load_settings()
    except ConfigurationError as exc:
        logs.configure("WARNING")
        report = Report(Who("none"), configuration_error=True)
        report.problem(f"Configuration error: {exc}")
    else:
        logs.configure(settings.log_level, settings.log_format)
        report = asyncio.run(run_doctor(settings))
    text = as_json(report) if json_output else as_text(report)
    problem = report.problems[0] if report.configuration_error and report.problems else None
    return report.exit_code, text, problem.removeprefix("Configuration error: ") if problem else None
