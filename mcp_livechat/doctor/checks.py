"""The checks: one read per method, each caught and turned into a line; never a write.

Reads go through `Transport.call` / `Transport.accounts` with the bodies the tools send, so the
raw JSON can be compared with our models (`shapes`) and a refusal names the missing scope.
Methods: https://platform.text.com/docs/messaging/agent-chat-api#list-chats (and #get-chat,
#list-threads, #list-agents-for-transfer, #list-archives, #get-customer, #list-routing-statuses),
https://platform.text.com/docs/management/configuration-api#get-agent (and #list-agents,
#list-groups, #list-tags, #list-customer-bans), one small report
(https://platform.text.com/docs/data-reporting/reports-api#total-chats: yesterday, per day, UTC),
`GET /v2/accounts/me` (https://platform.text.com/docs/authorization/global-accounts-api) and
token info (https://platform.text.com/docs/authorization/oauth-authorization#validating-the-access-token).
The Reports API shares the API host: when both other APIs there failed, its read is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel

from mcp_livechat.config import Settings
from mcp_livechat.doctor.probe import Probe
from mcp_livechat.doctor.report import Report, Service, public_url
from mcp_livechat.doctor.session import CredentialRefused, Session, refused_line
from mcp_livechat.doctor.shapes import Shape, compare
from mcp_livechat.errors import (
    AuthenticationFailed,
    LiveChatError,
    Misdirected,
    NotConnected,
    PermissionDenied,
    ServerError,
    TransportError,
)
from mcp_livechat.livechat import AGENT_FIELDS, Transport
from mcp_livechat.livechat import types as lc
from mcp_livechat.livechat.report_types import TotalChatsReport
from mcp_livechat.livechat.reports import ReportQuery, report_body

logger = logging.getLogger("mcp_livechat.doctor")

ACCOUNTS, AGENT, CONFIGURATION = "accounts server", "Agent Chat API", "Configuration API"
REPORTS, REPORT = "Reports API", "chats/total_chats"
ME, INFO = "GET /v2/accounts/me", "GET /v2/info"
# Token info answers with the token strings themselves; our model never keeps them, by design.
_NOT_MODELLED = {INFO: {"access_token", "refresh_token"}}


class Checks:
    def __init__(self, settings: Settings, transport: Transport, probe: Probe, report: Report) -> None:
        self.settings = settings
        self.t = transport
        self.probe = probe
        self.report = report
        base = f"{settings.api_url}/v{settings.api_version}"
        self.urls = {
            ACCOUNTS: settings.accounts_url,
            AGENT: f"{base}/agent",
            CONFIGURATION: f"{base}/configuration",
            REPORTS: f"{base}/reports",
        }
        self.results: dict[str, bool] = {}  # action -> answered (True) or refused for a scope (False)
        self.down: set[str] = set()

    # ------------------------------------------------------------------ one read

    async def read(
        self,
        service: str,
        method: str,
        send: Callable[[], Awaitable[Any]],
        model: type[BaseModel],
        *,
        many: bool = False,
    ) -> Any:
        """`send()`'s raw JSON, its shape compared with `model`; None when it failed (noted)."""
        if service in self.down:
            return self._skip(method, f"the {service} failed")
        mark = self.probe.mark()
        try:
            data = await send()
        except (AuthenticationFailed, NotConnected):
            self._reached(service, mark)
            raise CredentialRefused(refused_line(self.settings)) from None
        except PermissionDenied:
            self._reached(service, mark)
            self.results[method] = False
            return self._skip(method, "refused: the credential lacks the scope")
        except (TransportError, ServerError, Misdirected) as exc:
            self._failed(service, method, mark, exc)
            return self._skip(method, "no usable answer")
        except LiveChatError as exc:
            self._reached(service, mark)
            self.report.warn(f"{method}: {exc}")
            return self._skip(method, "LiveChat answered with an error")
        except Exception as exc:  # a bug of ours must not end the whole check
            logger.debug("doctor: %s failed", method, exc_info=True)
            self.report.warn(f"{method}: unexpected {type(exc).__name__} in the doctor itself")
            return self._skip(method, "unexpected error")
        self._reached(service, mark)
        self.results[method] = True
        self._shape(compare(method, model, data, many=many))
        return data

    def _shape(self, shape: Shape) -> None:
        ignored = _NOT_MODELLED.get(shape.method, set())
        shape.unknown_fields = [f for f in shape.unknown_fields if f not in ignored]
        self.report.shapes.append(shape)
        for path in shape.rejected_fields:
            self.report.warn(f"{shape.method}: our model rejects {path}")
        if shape.unknown_fields:  # one line per method: our models ignore these by design
            count = len(shape.unknown_fields)
            self.report.warn(
                f"{shape.method}: {count} field{'s' * (count != 1)} not in our model: "
                + ", ".join(shape.unknown_fields)
            )

    def _skip(self, method: str, why: str) -> None:
        self.report.shapes.append(Shape(method, skipped=why))
        return None

    def _answer_ms(self, mark: int) -> int | None:
        answered = [e for e in self.probe.since(mark) if e.status is not None]
        return round(answered[-1].ms) if answered else None

    def _reached(self, service: str, mark: int) -> None:
        if not any(s.name == service for s in self.report.services):
            url = public_url(self.urls[service])
            self.report.services.append(Service(service, url, True, self._answer_ms(mark)))

    def _failed(self, service: str, method: str, mark: int, exc: LiveChatError) -> None:
        if any(s.name == service for s in self.report.services):
            self.report.warn(f"{method}: {exc}")  # it answered before: a passing failure
            return
        url = public_url(self.urls[service])
        self.down.add(service)
        self.report.services.append(Service(service, url, False, self._answer_ms(mark), str(exc)))
        self.report.problem(f"The {service} at {url} failed: {exc}")

    # ------------------------------------------------------------------ the reads

    async def who(self, session: Session) -> None:
        self.report.credential.account_id = session.account_id
        me = await self.read(
            ACCOUNTS, ME, lambda: self.t.accounts("GET", "/v2/accounts/me", idempotent=True), lc.Account
        )
        cred = self.report.credential
        cred.account_id = session.account_id
        cred.organization_id = session.organization_id
        if isinstance(me, dict):
            cred.agent = _text(me.get("email"))
            cred.name = _text(me.get("name"))
            cred.account_id = _text(me.get("account_id")) or cred.account_id
            cred.organization_id = _text(me.get("default_organization_id")) or cred.organization_id
            cred.role = _livechat_role(me.get("roles"))
        token = session.access_token
        if token is not None:
            info = await self.read(
                ACCOUNTS,
                INFO,
                lambda: self.t.accounts("GET", "/v2/info", token=token, idempotent=True),
                lc.TokenInfo,
            )
            if isinstance(info, dict):
                self.report.scopes.held = _scope_list(info.get("scope"))
                self.report.scopes.source = "token info, /v2/info"
                cred.organization_id = cred.organization_id or _text(info.get("organization_id"))

    async def agent_chat(self) -> None:
        chats = await self.read(
            AGENT, "list_chats", self._call("agent", "list_chats", {"limit": 5}), lc.ChatsPage
        )
        chat_id, customer_id = _first_chat(chats)
        if chat_id:
            customer_id = await self._one_chat(chat_id) or customer_id
        else:
            for method in ("get_chat", "list_threads", "list_agents_for_transfer"):
                self._skip(method, "no chat to read")
        await self.read(
            AGENT, "list_archives", self._call("agent", "list_archives", {"limit": 1}), lc.ArchivesPage
        )
        if customer_id:
            body = {"id": customer_id}
            await self.read(AGENT, "get_customer", self._call("agent", "get_customer", body), lc.Customer)
        else:
            self._skip("get_customer", "no customer seen in a chat")
        await self.read(
            AGENT,
            "list_routing_statuses",
            self._call("agent", "list_routing_statuses", {}),
            lc.RoutingStatus,
            many=True,
        )

    async def _one_chat(self, chat_id: str) -> str | None:
        """Read one chat three ways (as `get_chat`, `list_threads`, `transfer_chat` do); its customer."""
        body = {"chat_id": chat_id}
        chat = await self.read(AGENT, "get_chat", self._call("agent", "get_chat", body), lc.Chat)
        threads = self._call("agent", "list_threads", {**body, "limit": 1, "sort_order": "desc"})
        await self.read(AGENT, "list_threads", threads, lc.ThreadsPage)
        await self.read(
            AGENT,
            "list_agents_for_transfer",
            self._call("agent", "list_agents_for_transfer", body),
            lc.TransferCandidate,
            many=True,
        )
        return _customer_in(chat)

    async def configuration(self) -> None:
        cred = self.report.credential
        fields = list(AGENT_FIELDS)
        if cred.agent:
            await self._my_agent(cred.agent, fields)
        agents = await self.read(
            CONFIGURATION,
            "list_agents",
            self._call("configuration", "list_agents", {"fields": fields}),
            lc.Agent,
            many=True,
        )
        if not cred.agent:
            cred.agent = _agent_of(agents, cred.account_id)
            if cred.agent:
                await self._my_agent(cred.agent, fields)
            else:
                self._skip("get_agent", "our agent id (email) is unknown")
        body = {"fields": ["agent_priorities", "routing_status"]}
        await self.read(
            CONFIGURATION,
            "list_groups",
            self._call("configuration", "list_groups", body),
            lc.Group,
            many=True,
        )
        await self.read(
            CONFIGURATION, "list_tags", self._call("configuration", "list_tags", {}), lc.Tag, many=True
        )
        bans = self._call("configuration", "list_customer_bans", {})
        await self.read(CONFIGURATION, "list_customer_bans", bans, lc.CustomerBan, many=True)

    async def reports(self, today: date | None = None) -> None:
        """Yesterday's total chats per day in UTC: a tiny report, the body the report tools send."""
        if {AGENT, CONFIGURATION} <= self.down:
            self._skip(REPORT, "the Agent Chat and Configuration APIs on its host failed")
            return
        day = (today or datetime.now(UTC).date()) - timedelta(days=1)
        start, end = datetime.combine(day, time.min, UTC), datetime.combine(day, time.max, UTC)
        query = ReportQuery(start.isoformat(), end.isoformat(), distribution="day", timezone="UTC")
        body = report_body("chats", query)
        await self.read(REPORTS, REPORT, self._call("reports", REPORT, body), TotalChatsReport)

    async def _my_agent(self, agent_id: str, fields: list[str]) -> None:
        body = {"id": agent_id, "fields": fields}
        agent = await self.read(
            CONFIGURATION, "get_agent", self._call("configuration", "get_agent", body), lc.Agent
        )
        if isinstance(agent, dict) and _text(agent.get("role")):
            self.report.credential.role = _text(agent.get("role"))

    def _call(self, api: Any, action: str, body: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
        return lambda: self.t.call(api, action, body, idempotent=True)


# ---------------------------------------------------------------------- reading raw JSON


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _scope_list(value: Any) -> list[str]:
    return sorted({s for s in str(value or "").replace(" ", ",").split(",") if s})


def _livechat_role(roles: Any) -> str | None:
    """`/v2/accounts/me` `roles[]` (with `accounts.roles--all:ro`): the LiveChat product's role."""
    for role in roles if isinstance(roles, list) else []:
        if isinstance(role, dict) and role.get("product") == "LiveChat":
            return _text(role.get("role"))
    return None


def _first_chat(page: Any) -> tuple[str | None, str | None]:
    """A chat to read (one with a thread first) and a customer seen in the listing."""
    listed = page.get("chats_summary") if isinstance(page, dict) else None
    chats = [c for c in listed if isinstance(c, dict)] if isinstance(listed, list) else []
    chats.sort(key=lambda c: not c.get("last_thread_summary"))
    chat_id = _text(chats[0].get("id")) if chats else None
    customer = next((u for c in chats for u in _customers(c)), None)
    return chat_id, customer


def _customers(chat: Any) -> list[str]:
    users = chat.get("users") if isinstance(chat, dict) else None
    found = []
    for user in users if isinstance(users, list) else []:
        if isinstance(user, dict) and user.get("type") == "customer" and _text(user.get("id")):
            found.append(str(user["id"]))
    return found


def _customer_in(chat: Any) -> str | None:
    found = _customers(chat)
    return found[0] if found else None


def _agent_of(agents: Any, account_id: str | None) -> str | None:
    for agent in agents if isinstance(agents, list) and account_id else []:
        if isinstance(agent, dict) and agent.get("account_id") == account_id:
            return _text(agent.get("id"))
    return None
