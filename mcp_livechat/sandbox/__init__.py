"""LiveChat sandbox: an in-memory emulator of LiveChat's accounts server, Agent Chat Web API v3.6
and Configuration API v3.6, served by one Starlette app. Imports nothing from the rest of
mcp_livechat.

URL layout (one app, one port; ``base`` = e.g. ``http://127.0.0.1:P``):

- accounts server, ``accounts_url = base + "/accounts"``: ``GET /accounts/`` (authorize),
  ``POST|DELETE /accounts/v2/token``, ``GET /accounts/v2/info``,
  ``GET|PATCH /accounts/v2/accounts/{me|account_id}``, ``GET /accounts/ooops``;
- APIs, ``api_url = base``: ``POST /v3.6/agent/action/<method>``,
  ``POST /v3.6/configuration/action/<method>`` (other versions: ``unsupported_version``);
- control: ``/sandbox/{health,stats,faults,reset,clock,tokens,expire_refresh,browser,consent}``.

Use ``Sandbox.transport()`` (not a bare ``httpx2.ASGITransport``) in-process: it turns ``drop``
faults into ``httpx2.RemoteProtocolError`` and enforces read timeouts. The sandbox clock starts
at ``constants.BASE_DATE`` and ticks in real time; ``sb.clock.advance()`` moves it on.
"""

from __future__ import annotations

from . import constants
from .clock import Clock
from .core import Sandbox, SandboxTransport, serve
from .faults import FaultInjector
from .stats import Stats

__all__ = ["Clock", "FaultInjector", "Sandbox", "SandboxTransport", "Stats", "constants", "serve"]
