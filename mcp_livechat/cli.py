"""`mcp-livechat`: serve | sandbox | demo | login | logout | status | doctor | connections | rotate-key.

stdout belongs to JSON-RPC when serving over stdio: everything here logs to stderr, and only the
commands meant for humans (`sandbox`, `demo`, `status`, `doctor`, `connections`, `rotate-key`) write
to stdout.

Every configuration problem, of every command and transport, ends the process with exit code 2
and exactly one line on stderr, before anything is served: settings and flags are checked first,
then the token store opens (its key file, permissions, schema, and a key for its sign-ins:
`Runtime.check_store`) and the listening socket is bound, and only then does the server answer anyone.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import socket
import sys
from collections.abc import Sequence
from typing import Any, NoReturn
from urllib.parse import urlsplit

from mcp_livechat import logs, telemetry
from mcp_livechat.config import Settings, load_settings
from mcp_livechat.errors import ConfigurationError, LiveChatError
from mcp_livechat.version import __version__

SANDBOX_BASE = "http://sandbox.invalid"


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


class _Parser(argparse.ArgumentParser):
    """Usage mistakes are configuration errors too: one line, exit 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"mcp-livechat: configuration error: {message} (see mcp-livechat --help)\n")
        raise SystemExit(2)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text[:20]!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is not between 0 and 65535")
    return port


def _http_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {text[:80]!r}")
    return text


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mcp-livechat", description="MCP server for LiveChat.")
    p.add_argument("--version", action="version", version=f"mcp-livechat {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    serve = sub.add_parser("serve", help="run the MCP server (default)")
    serve.add_argument("--transport", choices=("stdio", "http", "sse"), default="stdio")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8000)
    serve.add_argument(
        "--read-only", action="store_true", default=None, help="offer no tool that changes anything"
    )
    serve.add_argument(
        "--toolsets", help="comma list of chats,customers,agents,account,supervisor,admin,reports, or all"
    )
    serve.add_argument("--tools", help="comma list of tool names to offer (in addition to --toolsets)")
    serve.add_argument("--exclude-tools", help="comma list of tool names never to offer")
    serve.add_argument(
        "--sandbox", action="store_true", help="talk to a built-in LiveChat sandbox (no account needed)"
    )
    serve.add_argument("--log-level", help="DEBUG, INFO, WARNING (default), ERROR")
    serve.add_argument("--log-format", help="text (default) or json: one JSON object a line on stderr")

    sandbox = sub.add_parser("sandbox", help="run the LiveChat sandbox with seeded data")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=_port, default=8800, help="0 picks a free port")
    sandbox.add_argument("--seed", type=int, default=7)
    sandbox.add_argument(
        "--redirect-uri", action="append", type=_http_url, help="whitelisted redirect URI (repeatable)"
    )

    sub.add_parser("demo", help="a short scripted session against the sandbox, printed")

    login = sub.add_parser("login", help="connect your LiveChat account (opens the browser)")
    login.add_argument("--no-browser", action="store_true", help="print the link instead of opening it")
    login.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the sign-in")
    sub.add_parser("logout", help="revoke the stored sign-in at LiveChat and delete it here")
    sub.add_parser("status", help="which credential is in use, for whom, scopes and expiry")
    doctor = sub.add_parser("doctor", help="read-only check of credential, scopes, services, API shapes")
    doctor.add_argument("--json", action="store_true", help="print the report as one JSON object")
    connections = sub.add_parser("connections", help="who is connected, per person and per state (no token)")
    connections.add_argument("--json", action="store_true", help="print one JSON object")
    connections.add_argument("--tenant", help="only this tenant's people")
    sub.add_parser(
        "rotate-key", help="re-seal every stored row under the first key of LIVECHAT_ENCRYPTION_KEY"
    )
    return p


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    command = args.command or "serve"
    try:
        if command == "sandbox":
            logs.configure("WARNING")
            _sandbox(args)
        elif command == "demo":
            logs.configure("WARNING")
            asyncio.run(_demo())
        elif command == "doctor":
            from mcp_livechat.doctor import command as doctor

            code, text, problem = doctor(json_output=args.json)
            _out(text)
            if problem is not None:  # the report is on stdout; the reason it stopped, one line on stderr
                _fail(f"configuration error: {problem}", 2)
            if code:
                raise SystemExit(code)
        elif command in ("connections", "rotate-key"):
            _admin(command, args)
        elif command in ("login", "logout", "status"):
            settings = load_settings()
            logs.configure(settings.log_level, settings.log_format)
            asyncio.run(_account_command(command, settings, args))
        else:
            _serve(args if args.command else _parser().parse_args(["serve"]))
    except ConfigurationError as exc:
        _fail(f"configuration error: {exc}", 2)
    except LiveChatError as exc:
        _fail(str(exc), 1)
    except KeyboardInterrupt:
        raise SystemExit(130) from None


def _fail(line: str, code: int) -> NoReturn:
    sys.stderr.write(f"mcp-livechat: {' '.join(line.split())}\n")  # one line, whatever the message
    sys.stderr.flush()
    raise SystemExit(code)


def _admin(command: str, args: argparse.Namespace) -> None:
    from mcp_livechat.admin import connections_command, rotate_key_command

    settings = load_settings()
    logs.configure(settings.log_level, settings.log_format)
    if command == "connections":
        _out(connections_command(settings, json_output=args.json, tenant=args.tenant))
        return
    code, line = rotate_key_command(settings)
    _out(line)
    if code:
        raise SystemExit(code)


def _settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(
        read_only=args.read_only,
        toolsets=args.toolsets,
        tools=args.tools,
        exclude_tools=args.exclude_tools,
        log_level=args.log_level,
        log_format=args.log_format,
    )


def sandbox_settings(settings: Settings, base_url: str = SANDBOX_BASE) -> Settings:
    """`settings` pointed at a sandbox, with the seeded agent's PAT."""
    from pydantic import SecretStr

    from mcp_livechat.sandbox import constants

    return settings.model_copy(
        update={
            "api_url": base_url,
            "accounts_url": f"{base_url}/accounts",
            "pat": SecretStr(constants.PAT),
            "account_id": constants.ACCOUNT_ID,
            "credentials": "pat",
        }
    )


def _serve(args: argparse.Namespace) -> None:
    from mcp_livechat.server import create_server

    settings = _settings_from(args)
    logs.configure(settings.log_level, settings.log_format)
    telemetry.configure()  # OpenTelemetry's own OTEL_* variables, when an operator set them
    transport = None
    if args.sandbox:
        from mcp_livechat.sandbox import Sandbox

        settings = sandbox_settings(settings)
        transport = Sandbox().transport()
    public_url = None
    if args.transport != "stdio":
        public_url = settings.public_url or f"http://{args.host}:{args.port}"
    built = create_server(settings, transport=transport, public_url=public_url)
    asyncio.run(built.runtime.check_store())  # refuse, in one line, a store no configured key opens
    # Everything imported and built so far lives as long as the process: out of the collector's
    # sight, full collections stop walking it while serving and the exit skips ~90 ms of teardown
    # collection (bench/cold_start.py). https://docs.python.org/3/library/gc.html#gc.freeze
    gc.freeze()
    if args.transport == "stdio":
        from mcp_livechat.stdio_app import serve_stdio

        asyncio.run(serve_stdio(built))
        return
    import uvicorn

    from mcp_livechat.http_app import create_app

    app = create_app(built, settings, transport=args.transport, host=args.host)
    sock = listen(args.host, args.port)
    # SIGTERM: stop accepting, let the calls in flight finish for up to SHUTDOWN_GRACE seconds,
    # then close what is left (the token store's close takes at most ~10 s more: within
    # Kubernetes' default 30 s grace)
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
    )

    async def serve_http() -> None:
        async with built.runtime:  # the store opens before the first request is accepted
            await uvicorn.Server(config).serve(sockets=[sock])

    asyncio.run(serve_http())


SHUTDOWN_GRACE = 20


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or a `ConfigurationError` saying why not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ConfigurationError(f"--host: cannot listen on {host!r} ({exc.strerror or exc})") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ConfigurationError(f"--port: cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    return sock


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _sandbox(args: argparse.Namespace) -> None:
    from mcp_livechat.sandbox import Sandbox, serve

    sock = listen(args.host, args.port)  # bound before the URLs are printed
    port = int(sock.getsockname()[1])
    kwargs: dict[str, Any] = {"seed": args.seed}
    if args.redirect_uri:
        kwargs["redirect_uris"] = tuple(args.redirect_uri)
    sb = Sandbox(**kwargs)
    _out(json.dumps(sb.describe(f"http://{args.host}:{port}")))
    asyncio.run(serve(sb, args.host, port, sock=sock))


async def _demo() -> None:
    """Sandbox and server in-process, the SDK client in front: a short, real session, printed."""
    from mcp import Client

    from mcp_livechat.sandbox import Sandbox
    from mcp_livechat.server import create_server

    # The script calls default tools (one of them writes): the environment's tool selection and
    # read-only switch, meant for `serve`, would hide them.
    scripted = {"toolsets": [], "tools": [], "exclude_tools": [], "read_only": False}
    settings = sandbox_settings(load_settings()).model_copy(update=scripted)
    server, _ = create_server(settings, transport=Sandbox().transport())
    async with Client(server) as client:

        async def call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
            result = await client.call_tool(name, arguments)
            _out(f"\n> {name}({json.dumps(arguments)})")
            text = "".join(getattr(c, "text", "") for c in result.content)
            if result.is_error:
                raise LiveChatError(f"{name} failed: {text}")
            data = result.structured_content or {}
            _out(_preview(data))
            return data

        _out(f"mcp-livechat {__version__} demo: the server and a LiveChat sandbox, in this process.")
        tools = (await client.list_tools()).tools
        _out(f"{len(tools)} tools: {', '.join(t.name for t in tools)}")
        chats = await call("list_chats", {"status": "active", "limit": 3})
        chat = chats["chats"][0]
        await call("get_chat", {"chat_id": chat["id"], "max_events": 8})
        await call("get_customer", {"customer_id": chat["customer"]["id"]})
        await call("update_agent_profile", {"job_title": "Support Hero (demo)", "max_chats_count": 6})
        await call("get_my_profile", {})
        _out("\nDone: every call above went through MCP to the sandbox over HTTP semantics.")


def _preview(data: dict[str, Any], limit: int = 1200) -> str:
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + f"\n  ... ({len(text) - limit} more characters)"


async def _account_command(command: str, settings: Settings, args: argparse.Namespace) -> None:
    from mcp_livechat.connect.identity import LOCAL
    from mcp_livechat.server import Runtime

    async with Runtime(settings, background=False) as runtime:
        if command == "status":
            status = await runtime.connections.status(LOCAL)
            fields = status.model_dump(exclude_none=True)
            _out("\n".join(f"{k}: {', '.join(v) if isinstance(v, list) else v}" for k, v in fields.items()))
            return
        connections = runtime.oauth_connections
        if command == "logout":
            _out((await connections.disconnect(LOCAL)).message)
            return
        url = await connections.connect_url(LOCAL)  # also starts the loopback listener
        sys.stderr.write(f"Sign in to LiveChat: {url}\n")
        sys.stderr.flush()
        if not args.no_browser:
            import webbrowser

            webbrowser.open(url)
        try:
            async with asyncio.timeout(args.timeout):
                outcome = await runtime.wait_for_sign_in()
        except TimeoutError:
            raise LiveChatError(
                f"No answer from LiveChat within {args.timeout:g} s; run login again."
            ) from None
        if not outcome.ok:
            raise LiveChatError(outcome.body)
        _out(outcome.body)
