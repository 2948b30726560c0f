"""The doctor's findings, as one JSON object (stable keys) or a short aligned text report.

Nothing here holds a token: the report is built from names, ids, scope names, URLs and error
messages the client already made safe; `scrub` removes any configured secret once more.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mcp_livechat.doctor.shapes import Shape
from mcp_livechat.logs import redact
from mcp_livechat.version import __version__


@dataclass
class Who:
    mode: str
    agent: str | None = None
    name: str | None = None
    account_id: str | None = None
    organization_id: str | None = None
    region: str | None = None
    region_source: str | None = None  # token prefix | learned from misdirected_request | default
    role: str | None = None


@dataclass
class Scopes:
    source: str = "not checked"
    held: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)


@dataclass
class Service:
    name: str
    url: str
    ok: bool
    ms: int | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "url": self.url, "ok": self.ok, "ms": self.ms}
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class Report:
    credential: Who
    scopes: Scopes = field(default_factory=Scopes)
    tools_disabled: dict[str, list[str]] = field(default_factory=dict)
    tools_limited: dict[str, list[str]] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    shapes: list[Shape] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    configuration_error: bool = False
    secrets: list[str] = field(default_factory=list, repr=False)  # scrubbed from any output

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def exit_code(self) -> int:
        """0 when nothing failed (warnings allowed); 2 for settings that cannot work; else 1."""
        if self.ok:
            return 0
        return 2 if self.configuration_error else 1

    def problem(self, line: str) -> None:
        if line not in self.problems:
            self.problems.append(line)

    def warn(self, line: str) -> None:
        if line not in self.warnings:
            self.warnings.append(line)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "version": __version__,
            "credential": vars(self.credential).copy(),
            "scopes": vars(self.scopes).copy(),
            "tools_disabled": self.tools_disabled,
            "tools_limited": self.tools_limited,
            "services": [s.to_json() for s in self.services],
            "shapes": [s.to_json() for s in self.shapes],
            "problems": self.problems,
            "warnings": self.warnings,
        }


def public_url(url: str) -> str:
    """`url` without any user:password part."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def scrub(text: str, secrets: list[str]) -> str:
    """`text` without any of `secrets`, nor anything that looks like a token."""
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, "<redacted>")
    return redact(text)


def as_json(report: Report) -> str:
    return scrub(json.dumps(report.to_json(), indent=2, ensure_ascii=False), report.secrets)


def as_text(report: Report) -> str:
    lines = [
        f"mcp-livechat {__version__} doctor: a read-only check of the configured LiveChat credential",
        "",
    ]
    lines += _section("Credential", _who(report.credential))
    if report.services:
        lines += _section("Services", _services(report.services))
    if report.scopes.source != "not checked":
        lines += _section(f"Scopes ({report.scopes.source})", _scopes(report.scopes))
    if report.shapes:
        lines += _section("Response shapes (LiveChat's JSON against our models)", _shapes(report.shapes))
    for title, items in (("Problems", report.problems), ("Warnings", report.warnings)):
        if items:
            lines += [title] + [f"  - {item}" for item in items] + [""]
    if report.ok:
        suffix = f" ({len(report.warnings)} warning{'s' * (len(report.warnings) != 1)})"
        lines.append("Result: OK" + (suffix if report.warnings else ""))
    else:
        lines.append(f"Result: FAILED ({len(report.problems)} problem{'s' * (len(report.problems) != 1)})")
    return scrub("\n".join(lines), report.secrets)


def _section(title: str, rows: list[tuple[str, str]]) -> list[str]:
    width = max((len(k) for k, _ in rows), default=0)
    return [title] + [f"  {k.ljust(width)}  {v}".rstrip() for k, v in rows] + [""]


def _who(who: Who) -> list[tuple[str, str]]:
    agent = who.agent or "unknown"
    if who.name:
        agent += f" ({who.name})"
    region = who.region or "unknown"
    if who.region_source:
        region += f" ({who.region_source})"
    mode = {"pat": "pat (Personal Access Token: LIVECHAT_PAT)", "oauth": "oauth (stored sign-in)"}
    rows = [("mode", mode.get(who.mode, who.mode)), ("agent", agent)]
    rows += [
        ("account id", who.account_id or "unknown"),
        ("organization id", who.organization_id or "unknown"),
        ("role", who.role or "unknown"),
        ("region", region),
    ]
    return rows


def _services(services: list[Service]) -> list[tuple[str, str]]:
    rows = []
    for s in services:
        state = f"ok     {s.ms} ms" if s.ok and s.ms is not None else ("ok" if s.ok else "FAILED")
        rows.append((s.name, f"{state.ljust(14)} {s.url}" + (f"  ({s.error})" if s.error else "")))
    return rows


def _scopes(scopes: Scopes) -> list[tuple[str, str]]:
    rows = [("held", ", ".join(scopes.held) or "-"), ("missing", ", ".join(scopes.missing) or "-")]
    if scopes.not_checked:
        rows.append(("not checked", ", ".join(scopes.not_checked)))
    return rows


def _shapes(shapes: list[Shape]) -> list[tuple[str, str]]:
    rows = []
    for s in shapes:
        if s.skipped:
            rows.append((s.method, f"skipped: {s.skipped}"))
            continue
        found = []
        if s.rejected_fields:
            found.append(f"{len(s.rejected_fields)} rejected field{'s' * (len(s.rejected_fields) != 1)}")
        if s.unknown_fields:
            found.append(f"{len(s.unknown_fields)} unknown field{'s' * (len(s.unknown_fields) != 1)}")
        rows.append((s.method, ", ".join(found) or "ok"))
    return rows
