"""Reading README.md as a user reads it: its sections, fenced code blocks, the client snippets under
"Use it from your client", and the labelled messages under "Troubleshooting"."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```$", re.S | re.M)
LABEL = re.compile(r"^\*\*(?P<label>[^*]+)\*\*", re.M)
PLACEHOLDER = re.compile(r"<[^<>\n]+>")  # `<your token>`, `<link>`: stands for any text


def section(title: str, text: str | None = None) -> str:
    """The body of the `## title` section (up to the next `## `)."""
    text = README.read_text() if text is None else text
    match = re.search(rf"^## {re.escape(title)}\n(?P<body>.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"README has no section {title!r}"
    return match["body"]


def blocks(text: str) -> list[tuple[str, str]]:
    return [(m["lang"], m["body"]) for m in FENCE.finditer(text)]


@dataclass
class Launch:
    """One MCP server entry of a client's configuration: what the client would spawn."""

    client: str
    command: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)


def client_launches() -> list[Launch]:
    """Every stdio server the README's client snippets configure, parsed as each client does."""
    launches: list[Launch] = []
    for lang, body in blocks(section("Use it from your client")):
        if lang == "json":
            launches.append(_from_json(json.loads(body)))
        elif lang == "sh":
            launches.extend(_from_shell(line) for line in body.splitlines() if line.strip())
        else:
            raise AssertionError(f"unexpected {lang!r} block under 'Use it from your client'")
    return launches


def _from_json(config: dict[str, Any]) -> Launch:
    if "mcpServers" in config:  # Claude Desktop, Cursor
        entry = config["mcpServers"]["livechat"]
        client = "Claude Desktop / Cursor"
    else:  # VS Code: `servers`, an explicit type, and `${input:...}` prompts declared in `inputs`
        entry = config["servers"]["livechat"]
        assert entry["type"] == "stdio"
        inputs = {i["id"]: i for i in config.get("inputs", [])}
        for value in entry.get("env", {}).values():
            for ref in re.findall(r"\$\{input:([^}]+)\}", value):
                assert inputs[ref]["type"] == "promptString", ref
        client = "VS Code"
    return Launch(client, entry["command"], list(entry["args"]), dict(entry.get("env", {})))


def _from_shell(line: str) -> Launch:
    """`claude mcp add <name> [--env K=V]... -- <command> <args>...`, split as a POSIX shell would;
    a `<`, `>`, `|`, `;` or `&` left unquoted would be the shell's, not the command's."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words = list(lexer)
    assert not [w for w in words if set(w) <= set("<>|;&()")], f"shell operators in: {line}"
    assert words[:3] == ["claude", "mcp", "add"] and "--" in words, line
    split = words.index("--")
    options, (command, *args) = words[3:split], words[split + 1 :]
    assert options[0] == "livechat", options
    env: dict[str, str] = {}
    rest = options[1:]
    while rest:
        flag, value, *rest = rest
        assert flag in ("--env", "-e"), flag
        key, _, val = value.partition("=")
        env[key] = val
    return Launch("Claude Code", command, args, env)


@dataclass(frozen=True)
class Case:
    """A troubleshooting case: its bold label and the messages quoted under it."""

    label: str
    messages: tuple[str, ...]


def troubleshooting_cases() -> list[Case]:
    body = section("Troubleshooting")
    labels = list(LABEL.finditer(body))
    cases = []
    for here, after in zip(labels, [*labels[1:], None], strict=True):
        text = body[here.end() : after.start() if after else len(body)]
        quoted = tuple(b.strip() for lang, b in blocks(text) if lang == "text")
        cases.append(Case(here["label"].strip().rstrip("."), quoted))
    return cases


def pattern(quoted: str) -> re.Pattern[str]:
    """A quoted message as a regular expression: literal text, `<placeholders>` match anything."""
    parts = PLACEHOLDER.split(quoted)
    return re.compile(".+?".join(re.escape(p) for p in parts), re.S)
