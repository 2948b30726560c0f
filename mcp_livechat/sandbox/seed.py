"""Deterministic seed: same seed → identical organizations, agents, customers and chats."""

from __future__ import annotations

import functools
import pickle
import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

from . import constants, corpus
from .clock import rfc3339
from .model import AgentRecord, CustomerRecord, GroupRecord, OrgRecord, TagRecord
from .seed_chats import build_chats
from .seed_extras import seed_extras
from .seed_ratings import seed_ratings
from .state import EmulatorState

BASE = constants.BASE_DATE
AVATAR_BASE = "https://cdn.livechat-files.com/api/file/lc/avatars"


@dataclass(frozen=True)
class AgentSpec:
    email: str
    name: str
    role: str
    groups: dict[int, str]
    job_title: str
    max_chats: int
    routing: str
    account_id: str | None = None
    pat: str | None = None
    suspended: bool = False
    awaiting: bool = False
    mobile: str | None = None


@dataclass(frozen=True)
class OrgSpec:
    org: OrgRecord
    agents: tuple[AgentSpec, ...]
    groups: tuple[tuple[int, str, str], ...]
    tags: tuple[tuple[str, tuple[int, ...], str], ...]
    customers: int
    chats: int
    active: int
    email_domain: str


_ALL_A = (0, 1, 2, 3, 4)
ACME = OrgSpec(
    org=OrgRecord(
        constants.ORGANIZATION_ID, constants.ORGANIZATION_NAME, constants.REGION, constants.LICENSE_ID
    ),
    agents=(
        AgentSpec(
            constants.AGENT_EMAIL,
            constants.AGENT_NAME,
            "owner",
            {0: "first", 1: "normal", 2: "normal", 3: "normal", 4: "normal"},
            "Support Lead",
            6,
            "accepting_chats",
            constants.ACCOUNT_ID,
            constants.PAT,
            mobile="+14155550100",
        ),
        AgentSpec(
            "jones@example.com",
            "Jessica Jones",
            "viceowner",
            {0: "normal", 1: "first", 2: "normal"},
            "Head of Sales",
            5,
            "accepting_chats",
        ),
        AgentSpec(
            "brown@example.com",
            "Emily Brown",
            "administrator",
            {0: "normal", 3: "first", 4: "first"},
            "Technical Support Engineer",
            8,
            "not_accepting_chats",
        ),
        AgentSpec(
            "lee@example.com",
            "Daniel Lee",
            "administrator",
            {0: "normal", 3: "supervisor", 4: "normal"},
            "Support Team Manager",
            4,
            "accepting_chats",
        ),
        AgentSpec(
            constants.NORMAL_AGENT_EMAIL,
            "Carlos Garcia",
            "normal",
            {0: "normal", 1: "normal"},
            "Sales Associate",
            4,
            "accepting_chats",
            constants.NORMAL_AGENT_ACCOUNT_ID,
            constants.NORMAL_AGENT_PAT,
        ),
        AgentSpec(
            "miller@example.com",
            "Olivia Miller",
            "normal",
            {0: "normal", 2: "first", 3: "normal"},
            "Billing Specialist",
            6,
            "offline",
        ),
        AgentSpec(
            constants.SUSPENDED_AGENT_EMAIL,
            "Noah Wilson",
            "normal",
            {0: "last", 3: "normal"},
            "Support Agent",
            3,
            "offline",
            suspended=True,
        ),
        AgentSpec(
            constants.AWAITING_AGENT_EMAIL,
            "Ava Taylor",
            "normal",
            {0: "normal"},
            "Support Agent (trainee)",
            2,
            "offline",
            awaiting=True,
        ),
    ),
    # Group 0 is an ordinary group here, under every rule (access, routing, tags, transfer): the
    # docs' samples use it (`"group_ids": [0]`) but give it no rule of its own [UNVERIFIED
    # whether LiveChat treats its default group specially].
    groups=(
        (0, "General", "en"),
        (1, "Sales", "en"),
        (2, "Billing", "en"),
        (3, "Technical Support", "en"),
        (4, "VIP", "en"),
        (5, "Soporte", "es"),
    ),
    tags=(
        ("docs_feedback", (0, 3), constants.AGENT_EMAIL),
        ("positive feedback", _ALL_A, ""),
        ("support", _ALL_A, ""),
        ("complaint", _ALL_A, ""),
        ("sales", (0, 1), ""),
        ("spam", (*_ALL_A, 5), ""),
        ("billing", (2,), "miller@example.com"),
        ("refund", (2,), "miller@example.com"),
        ("bug", (3,), "brown@example.com"),
        ("feature request", (0, 3), "brown@example.com"),
        ("vip", (4,), constants.AGENT_EMAIL),
        ("lead", (1,), "jones@example.com"),
    ),
    customers=220,
    chats=320,
    active=30,
    email_domain="acme.example",
)
GLOBEX = OrgSpec(
    org=OrgRecord(
        constants.FRA_ORGANIZATION_ID,
        constants.FRA_ORGANIZATION_NAME,
        constants.FRA_REGION,
        constants.FRA_LICENSE_ID,
    ),
    agents=(
        AgentSpec(
            constants.FRA_AGENT_EMAIL,
            "Anna Müller",
            "owner",
            {0: "first", 1: "normal", 2: "normal"},
            "Teamleiterin Support",
            6,
            "accepting_chats",
            constants.FRA_ACCOUNT_ID,
            constants.FRA_PAT,
        ),
        AgentSpec(
            "schmidt@globex.example",
            "Lukas Schmidt",
            "administrator",
            {0: "normal", 2: "first"},
            "Support Engineer",
            5,
            "accepting_chats",
        ),
        AgentSpec(
            "fischer@globex.example",
            "Mia Fischer",
            "normal",
            {0: "normal", 1: "first"},
            "Vertrieb",
            4,
            "accepting_chats",
        ),
        AgentSpec(
            "wagner@globex.example",
            "Felix Wagner",
            "normal",
            {0: "normal", 2: "normal"},
            "Kundendienst",
            4,
            "not_accepting_chats",
        ),
    ),
    groups=((0, "Allgemein", "de"), (1, "Vertrieb", "de"), (2, "Kundendienst", "de")),
    tags=(
        ("support", (0, 1, 2), ""),
        ("sales", (0, 1), ""),
        ("complaint", (0, 1, 2), ""),
        ("positive feedback", (0, 1, 2), ""),
        ("spam", (0, 1, 2), ""),
        ("vip", (2,), constants.FRA_AGENT_EMAIL),
    ),
    customers=32,
    chats=42,
    active=6,
    email_domain="globex.example",
)


def rng_uuid(rng: random.Random) -> str:
    """A UUID-v4-shaped string drawn from the seeded RNG (never uuid4())."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def seeded_state(seed: int) -> EmulatorState:
    """The data of ``seed``, a copy of the caller's own: a process builds each seed once (about
    0.2 s) and unpickles a fresh copy for every sandbox (about 0.02 s), so one sandbox's writes
    never reach another's. The same seed gives the same data either way (``build_state``)."""
    state: EmulatorState = pickle.loads(_pickled(seed))  # noqa: S301 (our own bytes, made below)
    return state


@functools.lru_cache(maxsize=4)
def _pickled(seed: int) -> bytes:
    return pickle.dumps(build_state(seed), protocol=pickle.HIGHEST_PROTOCOL)


def build_state(seed: int) -> EmulatorState:
    """Seeds the data of ``seed`` from scratch."""
    state = EmulatorState(seed=seed)
    rng = random.Random(seed)
    for spec in (ACME, GLOBEX):
        org = spec.org
        state.orgs[org.id] = OrgRecord(org.id, org.name, org.region, org.license_id)
        state.groups[org.id] = {gid: GroupRecord(gid, org.id, name, lang) for gid, name, lang in spec.groups}
        for agent in _agents(rng, spec):
            state.agents[agent.id] = agent
        state.tags[org.id] = {
            name: TagRecord(name, org.id, list(gids), author, rfc3339(BASE - timedelta(days=400 + 7 * i)))
            for i, (name, gids, author) in enumerate(spec.tags)
        }
        customers = [_customer(rng, org.id, spec.email_domain, i) for i in range(spec.customers)]
        for customer in customers:
            state.customers[customer.id] = customer
        build_chats(rng, state, org.id, customers, n_chats=spec.chats, n_active=spec.active)
    seed_ratings(state)
    seed_extras(state)
    return state


def _agents(rng: random.Random, spec: OrgSpec) -> list[AgentRecord]:
    agents = []
    for i, a in enumerate(spec.agents):
        created = BASE - timedelta(days=900 - 60 * i, seconds=rng.randrange(86400))
        scopes = constants.NORMAL_SCOPES if a.role == "normal" else constants.APP_SCOPES
        agents.append(
            AgentRecord(
                id=a.email,
                account_id=a.account_id or rng_uuid(rng),
                org_id=spec.org.id,
                name=a.name,
                role=a.role,
                avatar=f"{AVATAR_BASE}/{spec.org.license_id}/{i + 1}.png",
                job_title=a.job_title,
                max_chats_count=a.max_chats,
                groups=dict(a.groups),
                routing_status=a.routing,
                notifications=["new_visitor", "incoming_chat", "queued_visitor", "unassigned_chats"][
                    : 2 + i % 3
                ],
                email_subscriptions=["daily_summary", "weekly_summary"][: 1 + i % 2] if i % 3 else [],
                work_scheduler=_work_scheduler(
                    i, "Europe/Berlin" if spec.org.region == "fra" else "America/New_York"
                ),
                created_at=created,
                updated_at=created + timedelta(days=30 + i),
                mobile=a.mobile,
                suspended=a.suspended,
                awaiting_approval=a.awaiting,
                last_logout=None if a.routing != "offline" else rfc3339(BASE - timedelta(hours=6 + 5 * i)),
                pat=a.pat,
                pat_scopes=scopes if a.pat else (),
                email_verified=not a.awaiting,
                mfa=a.role in ("owner", "viceowner"),
                login_status="accepting chats" if a.routing == "accepting_chats" else "not accepting chats",
            )
        )
    return agents


def _work_scheduler(i: int, timezone: str) -> dict[str, object]:
    start = ("08:00", "09:00", "10:00", "07:30")[i % 4]
    end = ("16:00", "17:00", "18:00", "15:30")[i % 4]
    return {
        "timezone": timezone,
        "schedule": [
            {"day": day, "enabled": day not in ("saturday", "sunday"), "start": start, "end": end}
            for day in constants.WEEKDAYS
        ],
    }


def _customer(rng: random.Random, org_id: str, domain: str, index: int) -> CustomerRecord:
    first, last = rng.choice(corpus.FIRST_NAMES), rng.choice(corpus.LAST_NAMES)
    anonymous = rng.random() < 0.08 and index > 0  # the first customer always has a full profile
    created = BASE - timedelta(days=rng.uniform(62, 400))
    customer = CustomerRecord(id=rng_uuid(rng), org_id=org_id, created_at=rfc3339(created))
    customer.priv_id = f"S{rng.randrange(10**9, 10**10)}.{rng.getrandbits(40):010x}"
    if not anonymous:
        customer.name = f"{first} {last}"
        local = (first + "." + last).lower().replace("'", "").replace("ó", "o").replace("í", "i")
        customer.email = f"{local}{index}@{rng.choice(corpus.EMAIL_DOMAINS)}"
        customer.email_verified = rng.random() < 0.4
    if rng.random() < 0.3:
        customer.phone_number = f"+1{rng.randrange(2, 10)}{rng.randrange(10**8, 10**9)}"
    if rng.random() < 0.15:
        customer.avatar = f"https://cdn.{domain}/avatars/{index}.png"
    if rng.random() < 0.45:
        picks = rng.sample(corpus.SESSION_FIELD_CHOICES, rng.randint(1, 3))
        customer.session_fields = [{key: rng.choice(values)} for key, values in picks]
    tickets = rng.choice((0, 0, 0, 1, 2))
    customer.tickets = [
        {"ticket_id": rng_uuid(rng), "created_at": rfc3339(created + timedelta(days=rng.uniform(1, 50)))}
        for _ in range(tickets)
    ]
    visits = rng.randint(1, 14)
    shown = rng.randint(0, 5)
    customer.statistics = {
        "visits_count": visits,
        "page_views_count": visits * rng.randint(1, 9),
        "greetings_shown_count": shown,
        "greetings_accepted_count": rng.randint(0, shown),
        "tickets_count": tickets,
    }
    if rng.random() < 0.05:
        customer.address = {
            "address": "1600 Pennsylvania Avenue NW",
            "city": "Washington",
            "country": "United States",
            "state": "DC",
            "postal_code": "20500",
        }
    if rng.random() < 0.88:
        customer.visit = _visit(rng, domain)
    return customer


def _visit(rng: random.Random, domain: str) -> dict[str, object]:
    country, code, region, city, tz, lat, lon = rng.choice(corpus.LOCATIONS)
    started = BASE - timedelta(days=rng.uniform(0, 60))
    pages = rng.sample(corpus.PAGES, rng.randint(1, 3))
    opened = [started + timedelta(seconds=30 * k + rng.randrange(30)) for k in range(len(pages))]
    return {
        "started_at": rfc3339(started),
        "ended_at": rfc3339(opened[-1] + timedelta(seconds=rng.randint(20, 900))),
        "referrer": rng.choice(corpus.REFERRERS),
        "ip": f"{rng.choice(('203.0.113', '198.51.100', '192.0.2'))}.{rng.randint(1, 254)}",
        "user_agent": rng.choice(corpus.USER_AGENTS),
        "geolocation": {
            "country": country,
            "country_code": code,
            "region": region,
            "city": city,
            "timezone": tz,
            "latitude": lat,
            "longitude": lon,
        },
        "last_pages": [
            {"opened_at": rfc3339(t), "url": f"https://www.{domain}{path}", "title": f"{title} | {domain}"}
            for t, (path, title) in zip(opened, pages, strict=True)
        ],
    }
