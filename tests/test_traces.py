"""OpenTelemetry traces: what a real `mcp-livechat serve` exports over OTLP/HTTP to a collector
(a real HTTP receiver decoding OTLP protobuf here), how the caller's trace context parents the
spans (a gateway's `traceparent` header, a client's `_meta`), what spans never carry, and which
OTEL_* settings are refused with a warning instead of a failed start."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from mcp_livechat import logs, telemetry
from mcp_livechat.cli import free_port
from mcp_livechat.sandbox import Sandbox, constants
from mcp_livechat.server import create_server
from tests.conftest import sandbox_settings
from tests.helpers import interrupt
from tests.test_serve import running

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
CLIENT_TRACE = "0af7651916cd43dd8448eb211c80319c"
CLIENT_PARENT = "b7ad6b7169203331"


@dataclass
class Span:
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]
    error: bool


@dataclass
class Collector:
    """The spans posted to `/v1/traces`, and the resources they came with."""

    url: str
    spans: list[Span] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


def _value(v: Any) -> Any:
    return getattr(v, v.WhichOneof("value")) if v.WhichOneof("value") else None


@contextmanager
def collector() -> Iterator[Collector]:
    """An OTLP/HTTP receiver on a free port (protobuf, as the SDK's exporter sends it)."""
    port = free_port()
    got = Collector(f"http://127.0.0.1:{port}")

    class Receive(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            got.paths.append(self.path)
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            for rs in request.resource_spans:
                got.resources.append({a.key: _value(a.value) for a in rs.resource.attributes})
                for ss in rs.scope_spans:
                    for s in ss.spans:
                        got.spans.append(Span(
                            s.name, s.kind, s.trace_id.hex(), s.span_id.hex(), s.parent_span_id.hex(),
                            {a.key: _value(a.value) for a in s.attributes}, s.status.code == 2,
                        ))  # fmt: skip
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Receive)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield got
    finally:
        server.shutdown()
        server.server_close()


def _env(endpoint: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVECHAT_", "OTEL_"))}
    return {**env, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100", **extra}


@pytest.mark.parametrize("mode", ["auto", "legacy", "sse"], ids=["2026-07-28", "2025-11-25", "legacy-sse"])
async def test_a_call_is_a_server_span_parented_by_the_gateway_with_a_client_span_per_livechat_request(
    mode: str,
) -> None:
    """Over HTTP (both eras, and the legacy SSE transport) the gateway's `traceparent` header
    parents the SDK's `tools/call` span; each request to LiveChat is a CLIENT span under it with
    the HTTP semantic conventions and LiveChat's action; the log line of the call names the same
    trace and the gateway's `X-Request-ID`; no span carries the PAT, the arguments or a header."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    transport = "sse" if mode == "sse" else "http"
    with collector() as got:
        env = _env(got.url, LIVECHAT_LOG_FORMAT="json", LIVECHAT_LOG_LEVEL="INFO", OTEL_SERVICE_NAME="lc-gw")
        with running(
            "serve", "--transport", transport, "--port", str(port), "--sandbox", ready_url=f"{base}/healthz", env=env
        ) as proc:  # fmt: skip
            headers = {"traceparent": f"00-{TRACE}-{PARENT}-01", "X-Request-ID": "gw-7"}
            async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
                if mode == "sse":
                    client = Client(sse_client(f"{base}/sse", headers=headers))
                else:
                    client = Client(streamable_http_client(f"{base}/mcp", http_client=http), mode=mode)  # type: ignore[arg-type]
                async with client:
                    assert not (await client.call_tool("list_chats", {"limit": 1})).is_error
                    assert (await client.call_tool("get_chat", {"chat_id": "NOSUCHCHAT"})).is_error
            interrupt(proc)  # the exporter flushes at exit
            stderr = proc.stderr.read() if proc.stderr else ""
    calls = [s for s in got.spans if s.name.startswith("tools/call ")]
    assert [s.name for s in calls] == ["tools/call list_chats", "tools/call get_chat"]
    assert all((s.trace_id, s.parent_id, s.kind) == (TRACE, PARENT, 2) for s in calls)  # 2: SERVER
    livechat = [s for s in got.spans if s.attributes.get("livechat.api")]
    by_parent = {c.span_id: [s for s in livechat if s.parent_id == c.span_id] for c in calls}
    listed, fetched = (by_parent[c.span_id] for c in calls)
    assert [s.name for s in listed] == ["POST /v3.6/agent/action/list_chats"]
    span = listed[0]
    assert span.kind == 3 and span.trace_id == TRACE and not span.error  # 3: CLIENT
    assert span.attributes["http.request.method"] == "POST"
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["livechat.action"] == "list_chats"
    assert span.attributes["url.full"].endswith("/v3.6/agent/action/list_chats")
    refused = next(s for s in fetched if s.attributes["livechat.action"] == "get_chat")
    assert refused.error and refused.attributes["livechat.error.type"] == "not_found"
    assert refused.attributes["error.type"] == str(refused.attributes["http.response.status_code"])
    assert got.resources and all(r["service.name"] == "lc-gw" for r in got.resources)
    assert all(p == "/v1/traces" for p in got.paths)
    exported = json.dumps([s.attributes for s in got.spans])
    assert constants.PAT not in exported and "NOSUCHCHAT" not in exported and "Authorization" not in exported
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    logged = [e for e in lines if e.get("message", "").startswith("tool ")]
    assert [(e["trace_id"], e["http_request_id"]) for e in logged] == [(TRACE, "gw-7")] * 2


async def test_over_stdio_a_clients_meta_trace_context_parents_the_spans_and_stdout_stays_json_rpc(
    tmp_path: Any,
) -> None:
    """A client's `_meta.traceparent` (SEP-414) parents the call and its LiveChat request; the
    stdio stream carries JSON-RPC only (the client would fail on anything else)."""
    with collector() as got:
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "mcp_livechat", "serve", "--sandbox"], env=_env(got.url)
        )
        with (tmp_path / "stderr.txt").open("w+") as errlog:
            async with Client(stdio_client(params, errlog=errlog)) as client:
                meta: Any = {"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_PARENT}-01"}
                result = await client.call_tool("list_groups", {}, meta=meta)
                assert not result.is_error
            # leaving the client closes stdin: the server exits and flushes its spans
    call = next(s for s in got.spans if s.name == "tools/call list_groups")
    assert (call.trace_id, call.parent_id) == (CLIENT_TRACE, CLIENT_PARENT)
    under = [s for s in got.spans if s.parent_id == call.span_id and s.attributes.get("livechat.api")]
    assert [s.attributes["livechat.action"] for s in under] == ["list_groups"]
    assert under[0].attributes["livechat.api"] == "configuration"


class Headers(httpx2.AsyncBaseTransport):
    """The sandbox, noting the headers of every request LiveChat gets."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.seen: list[dict[str, str]] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append({k.lower(): v for k, v in request.headers.items()})
        return await self.inner.handle_async_request(request)


async def test_the_callers_trace_reaches_the_log_but_never_livechat(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """Without any exporter (the API's no-op spans), a client's `_meta.traceparent` is the log's
    `trace_id`; no request to LiveChat carries trace context (it is a third party's API)."""
    seen = Headers(sandbox.transport())
    server, _ = create_server(sandbox_settings(), transport=seen)
    context = logs.ContextFilter()
    caplog.handler.addFilter(context)
    caplog.set_level(logging.INFO, logger="mcp_livechat")
    try:
        async with Client(server) as client:
            meta: Any = {"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_PARENT}-01", "tracestate": "gw=1"}
            assert not (await client.call_tool("list_chats", {"limit": 1}, meta=meta)).is_error
            assert not (await client.call_tool("list_groups", {})).is_error
    finally:
        caplog.handler.removeFilter(context)
    lines = [r for r in caplog.records if r.getMessage().startswith("tool ")]
    assert [getattr(r, "trace_id", None) for r in lines] == [CLIENT_TRACE, None]
    assert seen.seen and not [h for h in seen.seen if {"traceparent", "tracestate", "baggage"} & set(h)]


def test_without_otel_variables_nothing_is_exported_and_the_sdk_is_not_loaded() -> None:
    code = (
        "import sys, mcp_livechat.server, mcp_livechat.telemetry as t;"
        "print(t.configure({}), [m for m in ('opentelemetry.sdk', 'opentelemetry.exporter') if m in sys.modules])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "False []"


@pytest.mark.parametrize(
    ("env", "reason", "warning"),
    [
        ({}, None, None),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT", None),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
         None),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, "OTEL_TRACES_EXPORTER", None),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, None, None),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, None, None),
        ({"OTEL_TRACES_EXPORTER": "console"}, None, "OTEL_TRACES_EXPORTER=console is not supported"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, None,
         "OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
          "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, "OTEL_EXPORTER_OTLP_ENDPOINT", None),
    ],
)  # fmt: skip
def test_which_settings_ask_for_traces(
    env: dict[str, str], reason: str | None, warning: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    """A console exporter would write spans to stdout, a stdio server's JSON-RPC stream: refused,
    like gRPC (not installed by the extra), with a warning that names the variable."""
    caplog.set_level(logging.WARNING, logger="mcp_livechat.telemetry")
    assert telemetry.wanted(env) == reason
    warnings = [r.getMessage() for r in caplog.records]
    assert (
        (warnings[0].startswith(warning) and "no traces are exported" in warnings[0])
        if warning
        else not warnings
    )


def test_without_the_extra_a_request_for_traces_is_a_warning_naming_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)  # as if not installed: import fails
    caplog.set_level(logging.WARNING, logger="mcp_livechat.telemetry")
    assert telemetry.configure({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) is False
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("OTEL_EXPORTER_OTLP_ENDPOINT is set") and "mcp-livechat[otel]" in line
