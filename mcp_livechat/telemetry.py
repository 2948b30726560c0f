"""OpenTelemetry traces, when an operator asks for them with OpenTelemetry's own variables.

The MCP SDK already opens a SERVER span for every message (`tools/call list_chats`, parented on a
`traceparent` in the request's `_meta`); the transport opens a CLIENT span for every request to
LiveChat under it. Both are no-ops until a tracer provider is installed, which this module does
when `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
`OTEL_TRACES_EXPORTER=otlp` is set and the `otel` extra is installed: OTLP over HTTP/protobuf,
batched, configured further by the exporter's and SDK's standard variables
(https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/). The SDK is
imported only then: a start without them loads none of it.

Nothing ever goes to stdout (a console exporter would break a stdio server's JSON-RPC), and
spans carry no tool arguments, no message text and no credential (see SECURITY.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from mcp_livechat.version import __version__

logger = logging.getLogger(__name__)

SERVICE_NAME = "mcp-livechat"
_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def wanted(env: Mapping[str, str]) -> str | None:
    """Why traces are to be exported (the variable that asks), or None; a refusal is logged."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return None
    if exporter and exporter != "otlp":
        logger.warning("OTEL_TRACES_EXPORTER=%s is not supported here (only otlp): no traces are exported",
                       exporter[:40])  # fmt: skip
        return None
    for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):  # the first set wins
        protocol = env.get(name, "").strip()
        if protocol and protocol != "http/protobuf":
            logger.warning("%s=%s is not supported here (only http/protobuf): no traces are exported",
                           name, protocol[:40])  # fmt: skip
            return None
        if protocol:
            break
    if exporter:
        return "OTEL_TRACES_EXPORTER"
    return next((name for name in _ENDPOINTS if env.get(name, "").strip()), None)


def configure(env: Mapping[str, str] | None = None) -> bool:
    """Install a tracer provider exporting over OTLP/HTTP when the environment asks; True if so.

    Called once at start, before the server is built. Without the `otel` extra a request for
    traces is a warning naming the extra, not a failed start: tracing is never what a tool needs."""
    env = os.environ if env is None else env
    reason = wanted(env)
    if reason is None:
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        logger.warning("%s is set but the OpenTelemetry SDK is not installed: no traces are exported"
                       " (pip install 'mcp-livechat[otel]')", reason)  # fmt: skip
        return False
    resource = Resource.create({"service.version": __version__})
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))  # OTEL_SERVICE_NAME wins
    provider = TracerProvider(resource=resource)  # its sampler from OTEL_TRACES_SAMPLER; flushed at exit
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    logger.info("traces are exported over OTLP/HTTP (%s)", reason)
    return True
