"""One line for every configuration error, for every command and transport: a real process with a
bad configuration exits with code 2 and exactly one line on stderr, no traceback, promptly, even
over stdio with its input still open (it never starts answering)."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mcp_livechat.cli import free_port

PY = sys.executable
COMMANDS = [
    ["serve"],
    ["serve", "--transport", "http"],
    ["serve", "--transport", "sse"],
    ["login", "--no-browser"],
    ["logout"],
    ["status"],
    ["doctor"],
]


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVECHAT_")}
    return {
        **env,
        "LIVECHAT_CLIENT_ID": "app",
        "LIVECHAT_CLIENT_SECRET": "secret",
        "LIVECHAT_TOKEN_STORE": f"sqlite:///{tmp / 'tokens.db'}",
        **extra,
    }


def run(args: list[str], env: dict[str, str]) -> tuple[int, str, str, float]:
    if args[0] == "serve" and len(args) > 1:
        args = [*args, "--port", str(free_port())]
    started = time.monotonic()
    proc = subprocess.Popen(
        [PY, "-m", "mcp_livechat", *args], env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out, err, time.monotonic() - started


def run_with_stdin_open(args: list[str], env: dict[str, str]) -> tuple[int, str, float]:
    """Like a client would: stdin stays open; the process must exit by itself."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [PY, "-m", "mcp_livechat", *args], env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        code = proc.wait(timeout=20)
        assert proc.stderr is not None
        return code, proc.stderr.read(), time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err[-2000:]
    assert "Traceback" not in err and lines[0].startswith("mcp-livechat: configuration error: ")
    return lines[0]


@pytest.fixture
def open_key_file(tmp_path: Path) -> Path:
    key = tmp_path / "encryption.key"
    key.write_text(base64.b64encode(os.urandom(32)).decode())
    key.chmod(0o644)
    return key


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_a_key_file_others_can_read_stops_every_command(
    args: list[str], tmp_path: Path, open_key_file: Path
) -> None:
    code, out, err, _ = run(args, _env(tmp_path))
    assert code == 2
    assert "LIVECHAT_ENCRYPTION_KEY" in one_line(err) and "chmod 600" in err
    if args[0] != "doctor":
        assert out == ""
    else:
        assert "chmod 600" in out  # doctor's report says it too, on stdout


def test_over_stdio_the_server_exits_promptly_without_answering(tmp_path: Path, open_key_file: Path) -> None:
    code, err, elapsed = run_with_stdin_open(["serve"], _env(tmp_path))
    assert code == 2 and "LIVECHAT_ENCRYPTION_KEY" in one_line(err)
    assert elapsed < 15


def test_a_garbled_key_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "encryption.key").write_bytes(b"\x00\xffnot base64 at all")
    (tmp_path / "encryption.key").chmod(0o600)
    for args in (["serve"], ["status"]):
        code, _, err, _ = run(args, _env(tmp_path))
        assert code == 2 and "LIVECHAT_ENCRYPTION_KEY" in one_line(err)


def test_an_api_keys_file_with_a_bad_line_is_one_line(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"{hashlib.sha256(b'k').hexdigest()} acme ann\nann's key is k\n")
    env = _env(tmp_path, LIVECHAT_ENCRYPTION_KEY=base64.b64encode(b"k" * 32).decode(),
               LIVECHAT_MCP_AUTH="api-key", LIVECHAT_MCP_API_KEYS_FILE=str(keys))  # fmt: skip
    code, _, err, _ = run(["serve", "--transport", "http"], env)
    assert code == 2 and "line 2" in one_line(err)
    keys.unlink()
    code, _, err, _ = run(["serve", "--transport", "http"], env)
    assert code == 2 and "cannot read" in one_line(err)


@pytest.mark.parametrize(
    "args",
    [["sandbox", "--port", "99999"], ["sandbox", "--redirect-uri", "not a url"], ["serve", "--port", "x"],
     ["serve", "--transport", "carrier-pigeon"]],
    ids=["port range", "redirect uri", "port text", "transport"],
)  # fmt: skip
def test_bad_flags_are_one_line(args: list[str], tmp_path: Path) -> None:
    code, out, err, _ = run(args, _env(tmp_path))
    assert code == 2 and out == ""
    one_line(err)


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for args in (
            ["sandbox", "--port", port],
            ["serve", "--sandbox", "--transport", "http", "--port", port],
        ):
            started = time.monotonic()
            proc = subprocess.run([PY, "-m", "mcp_livechat", *args], env=_env(tmp_path), text=True,
                                  capture_output=True, timeout=30, check=False)  # fmt: skip
            assert proc.returncode == 2 and proc.stdout == "", proc.stdout  # no URLs printed for a dead port
            assert "--port" in one_line(proc.stderr) and time.monotonic() - started < 15


def test_a_database_that_refuses_this_server_stops_the_start(tmp_path: Path) -> None:
    """PostgreSQL answering "no such database" (or role, or a wrong password) is a configuration
    error, named as such, not an outage to wait out; a database that is merely down is not."""
    from tests.connect.store_kit import PG_URL

    key = base64.b64encode(b"k" * 32).decode()
    wrong = PG_URL.rsplit("/", 1)[0] + "/no_such_database_here"
    code, _, err, _ = run(["serve", "--transport", "http"],
                          _env(tmp_path, LIVECHAT_TOKEN_STORE=wrong, LIVECHAT_ENCRYPTION_KEY=key))  # fmt: skip
    line = one_line(err)
    assert code == 2 and "LIVECHAT_TOKEN_STORE: PostgreSQL refused the connection" in line
    assert '"no_such_database_here" does not exist' in line
