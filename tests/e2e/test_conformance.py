"""The MCP conformance suite's server scenarios, as published on npm, against our Streamable HTTP
server on the sandbox: 0.1.16 at `--spec-version 2025-11-25` and the newest 0.2 pre-release at
`--spec-version 2026-07-28`. What may fail is `conformance-baseline.json`, each entry with its why;
a scenario that newly fails or newly passes fails the test."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.toolchain import HERE, Toolchain, run

BASELINE: dict[str, Any] = json.loads((HERE / "conformance-baseline.json").read_text())
SUITES: dict[str, dict[str, Any]] = BASELINE["suites"]
RESULT_DIR = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$")
FAILING = ("FAILURE", "WARNING")  # what the suite's own --expected-failures check counts as failed
KINDS = {"fixture", "not-offered"}  # the reference server's fixture tools, or a feature we do not offer


def test_every_baseline_entry_says_why() -> None:
    for version, suite in SUITES.items():
        assert suite["scenarios"] > 0 and suite["spec_version"]
        for scenario, entry in suite["expected_failures"].items():
            assert entry["kind"] in KINDS, (version, scenario)
            assert len(entry["why"]) > 40, (version, scenario)


def _results(out_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """scenario -> its checks, from the `-o` directory (one `server-<scenario>-<time>/checks.json` each)."""
    results: dict[str, list[dict[str, Any]]] = {}
    for checks in sorted(out_dir.glob("*/checks.json")):
        match = RESULT_DIR.match(checks.parent.name)
        assert match, checks.parent.name
        results[match["scenario"]] = json.loads(checks.read_text())
    return results


def _why_failed(checks: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{c.get('id')}: {c.get('status')} {c.get('errorMessage') or ''}".strip()
        for c in checks
        if c.get("status") in FAILING
    )


@pytest.mark.parametrize("version", list(SUITES))
def test_conformance_suite_matches_the_baseline(
    version: str, toolchain: Toolchain, tool_home: Path, http_server: str, tmp_path: Path
) -> None:
    suite = SUITES[version]
    assert toolchain.version(suite["package"]) == version  # the lock installs what the baseline is for
    out = run(
        toolchain.command(
            suite["package"], "server", "--url", f"{http_server}/mcp",
            "--spec-version", suite["spec_version"], "-o", str(tmp_path),
        ),
        env=toolchain.env(tool_home), timeout=600, cwd=tmp_path,
    )  # fmt: skip
    results = _results(tmp_path)
    assert len(results) == suite["scenarios"], (
        f"{len(results)} scenarios ran, the baseline knows {suite['scenarios']}:\n{out.stdout[-3000:]}{out.stderr[-3000:]}"
    )
    failed = {name: _why_failed(checks) for name, checks in results.items() if _why_failed(checks)}
    expected = suite["expected_failures"]
    unknown = sorted(set(expected) - set(results))
    newly_failing = {name: why for name, why in failed.items() if name not in expected}
    newly_passing = sorted(name for name in expected if name in results and name not in failed)
    problems = []
    if unknown:
        problems.append(f"baseline names scenarios this suite does not run: {unknown}")
    if newly_failing:
        problems.append(
            "newly failing (a regression, or add it to conformance-baseline.json with its why):\n"
            + "\n".join(f"  {name}: {why}" for name, why in sorted(newly_failing.items()))
        )
    if newly_passing:
        problems.append(f"newly passing (drop from conformance-baseline.json): {newly_passing}")
    assert not problems, f"conformance {version} ({suite['spec_version']}):\n" + "\n".join(problems)
    # the tool's own verdict agrees: it exits non-zero exactly because some scenario failed
    assert (out.returncode != 0) == bool(failed), out.stdout[-2000:]
