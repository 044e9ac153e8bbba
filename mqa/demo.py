"""A realistic demo data set, generated deterministically and loaded through the ingest services.

Target accounts come in archetypes so that the demo shows every outcome of SPEC §4: full
buying committees that reach MQA, near-misses that lack exactly one criterion (the decision
maker, a third engaged contact, enough engagement, or firmographic fit), existing customers
(disqualified), plus background accounts with light engagement, students and free-mail leads.

Sales' side comes after the publish routed the qualified records (`DEMO_ROUTING`):
`demo_handoffs_play` takes the handoffs through every state of SPEC §6 — open, past their SLA,
accepted, rejected with reasons, and outcomes up to won or lost — spread over six months, so
the inbound queue, the account handoffs, the funnel and the calibration pages have data.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from accounts.services import accounts_upsert, signals_ingest
from contacts.services import contacts_upsert, events_ingest
from mqa.models import Handoff
from mqa.services.handoffs import (
    handoff_accept,
    handoff_outcome_record,
    handoff_reject,
    handoffs_mark_breached,
)

PREFIXES = [
    "Acme",
    "Aurora",
    "Beacon",
    "Bluepeak",
    "Brightline",
    "Cobalt",
    "Crescent",
    "Delta",
    "Ember",
    "Evergreen",
    "Falcon",
    "Foundry",
    "Granite",
    "Harbor",
    "Helix",
    "Horizon",
    "Ironwood",
    "Juniper",
    "Keystone",
    "Lumen",
    "Meridian",
    "Monarch",
    "Nimbus",
    "Northwind",
    "Oakridge",
    "Onyx",
    "Orbit",
    "Pinnacle",
    "Quantum",
    "Redwood",
    "Sable",
    "Sentinel",
    "Sierra",
    "Silverline",
    "Summit",
    "Tandem",
    "Titan",
    "Vantage",
    "Vertex",
    "Willow",
    "Zenith",
    "Atlas",
    "Cascade",
    "Copper",
    "Drift",
    "Fathom",
    "Glacier",
    "Kinetic",
]
SUFFIXES = [
    "Systems",
    "Labs",
    "Analytics",
    "Health",
    "Capital",
    "Robotics",
    "Logistics",
    "Software",
    "Networks",
    "Dynamics",
]
INDUSTRIES = {
    "Software": "software",
    "Analytics": "software",
    "Networks": "software",
    "Health": "healthcare",
    "Capital": "financial services",
    "Robotics": "manufacturing",
    "Dynamics": "manufacturing",
    "Logistics": "logistics",
    "Systems": "software",
    "Labs": "biotech",
}
COUNTRIES = (
    ("US", "NA"),
    ("US", "NA"),
    ("CA", "NA"),
    ("GB", "EMEA"),
    ("DE", "EMEA"),
    ("FR", "EMEA"),
    ("AU", "APAC"),
)
FIRST = [
    "Ada",
    "Ben",
    "Cara",
    "Dev",
    "Eli",
    "Fay",
    "Gus",
    "Hana",
    "Ivan",
    "Jo",
    "Kai",
    "Lena",
    "Max",
    "Nia",
    "Omar",
    "Pia",
    "Raj",
    "Sara",
    "Tom",
    "Uma",
    "Vik",
    "Wen",
    "Yara",
    "Zoe",
]
LAST = [
    "Ahmed",
    "Baker",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jensen",
    "Khan",
    "Lopez",
    "Meyer",
    "Novak",
    "Okafor",
    "Patel",
]
FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com")
FUNCTIONS = (
    "marketing",
    "sales",
    "revenue operations",
    "it",
    "engineering",
    "finance",
    "operations",
)
COMMITTEE = (
    ("decision_maker", "c_level", "Chief Revenue Officer"),
    ("economic_buyer", "vp", "VP Finance"),
    ("champion", "director", "Director of Marketing Operations"),
    ("technical_evaluator", "manager", "Engineering Manager"),
    ("influencer", "manager", "Demand Generation Manager"),
    ("user", "individual", "Marketing Specialist"),
    ("user", "individual", "Sales Development Rep"),
    ("procurement", "manager", "Procurement Manager"),
)
BLOG = ("/blog/abm-playbook", "/blog/lead-scoring-101", "/blog/intent-data", "/customers", "/about")
PRODUCT = ("/product/scoring", "/features/routing", "/integrations/salesforce", "/product/abm")

# Per-contact engagement levels → (event kind, count, days-ago range) recipes.
LEVELS: dict[str, list[tuple[str, int, tuple[float, float]]]] = {
    "hot": [
        ("demo", 1, (1, 8)),
        ("pricing", 3, (0.5, 20)),
        ("product", 4, (0.5, 10)),
        ("click", 3, (1, 10)),
    ],
    "warm": [("pricing", 2, (1, 20)), ("download", 2, (2, 20)), ("click", 4, (1, 12))],
    "light": [("download", 1, (3, 25)), ("click", 2, (1, 15))],
    "cold": [("pricing", 2, (45, 115)), ("download", 1, (70, 115)), ("click", 3, (40, 110))],
    "none": [],
}
# Target-account archetypes: committee slots (role index → level) and firmographics.
# Company sizes put them in the default model's segments: SMB below 200 employees,
# enterprise from 2,000 (which also needs the economic buyer), mid-market (no segment) between.
MID_MARKET, ENTERPRISE, SMALL = (250, 1999), (2000, 8000), (10, 150)
ARCHETYPES: dict[str, dict[str, Any]] = {
    "mqa": {"levels": {0: "hot", 2: "hot", 3: "warm", 5: "light"}, "employees": MID_MARKET},
    "enterprise_mqa": {
        "levels": {0: "hot", 1: "warm", 2: "hot", 3: "warm", 4: "light"},
        "employees": ENTERPRISE,
    },
    "enterprise_no_buyer": {
        "levels": {0: "hot", 2: "hot", 3: "warm", 4: "warm", 5: "light"},
        "employees": ENTERPRISE,
    },
    "no_decision_maker": {"levels": {0: "cold", 2: "hot", 3: "hot", 4: "warm"}, "big": True},
    "two_engaged": {"levels": {0: "hot", 2: "hot"}, "big": True},
    "low_engagement": {"levels": {0: "light", 2: "light", 5: "light"}, "big": True},
    "small_company": {"levels": {0: "hot", 2: "hot", 3: "warm", 5: "light"}, "employees": SMALL},
    "customer": {"levels": {0: "hot", 2: "hot", 3: "warm"}, "big": True, "customer": True},
}
TARGET_MIX = (
    ("mqa", 18),
    ("enterprise_mqa", 6),
    ("enterprise_no_buyer", 6),
    ("no_decision_maker", 10),
    ("two_engaged", 10),
    ("low_engagement", 10),
    ("small_company", 8),
    ("customer", 6),
)


@dataclass
class DemoData:
    accounts: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    events: list[dict[str, Any]]
    signals: list[dict[str, Any]]


class _Builder:
    def __init__(self, seed: int, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.data = DemoData([], [], [], [])
        self.event_no = 0

    def at(self, days: tuple[float, float]) -> str:
        return (self.now - timedelta(days=self.rng.uniform(*days))).isoformat()

    def event(self, email: str, type_: str, days: tuple[float, float], **properties: Any) -> None:
        self.event_no += 1
        self.data.events.append(
            {
                "email": email,
                "type": type_,
                "occurred_at": self.at(days),
                "properties": properties,
                "source": "demo",
                "id": f"demo-{self.event_no}",
            }
        )

    def engage(self, email: str, level: str) -> None:
        for kind, count, days in LEVELS[level]:
            for _ in range(count):
                if kind == "demo":
                    self.event(email, "demo_request", days, form="contact-sales")
                elif kind == "pricing":
                    self.event(email, "page_view", days, url="/pricing")
                elif kind == "product":
                    self.event(email, "page_view", days, url=self.rng.choice(PRODUCT))
                elif kind == "download":
                    self.event(email, "content_download", days, asset="abm-benchmark-report")
                else:
                    self.event(email, "email_click", days, campaign="nurture")
        for _ in range(self.rng.randint(2, 12)):  # unscored background browsing
            self.event(email, "page_view", (0, 119), url=self.rng.choice(BLOG))

    def account(
        self,
        index: int,
        *,
        target: bool,
        big: bool,
        customer: bool = False,
        size: tuple[int, int] | None = None,
    ) -> str:
        prefix, suffix = (
            PREFIXES[index % len(PREFIXES)],
            SUFFIXES[(index // len(PREFIXES)) % len(SUFFIXES)],
        )
        name = f"{prefix} {suffix}" + (f" {index // 500 + 1}" if index >= 500 else "")
        domain = f"{prefix}{suffix}{index // 500 or ''}".lower() + ".com"
        country, region = self.rng.choice(COUNTRIES)
        employees = self.rng.randint(*(size or ((250, 8000) if big else SMALL)))
        self.data.accounts.append(
            {
                "domain": domain,
                "name": name,
                "industry": INDUSTRIES[suffix] if big else "retail",
                "employee_count": employees,
                "annual_revenue": float(employees * self.rng.randint(80_000, 250_000)),
                "country": country,
                "region": region,
                "tier": ("tier 1" if employees > 2000 else "tier 2") if target else "tier 3",
                "is_target": target,
                "owner": f"ae{index % 6 + 1}@vendor.example" if target and index % 3 == 0 else None,
                "external_id": f"crm-{1000 + index}",
                "custom": {"is_customer": customer},
            }
        )
        return domain

    def person(self, domain: str, slot: int, n: int) -> str:
        role, seniority, title = COMMITTEE[slot]
        first, last = FIRST[(n * 7) % len(FIRST)], LAST[(n * 11) % len(LAST)]
        email = f"{first}.{last}{n}@{domain}".lower()
        self.data.contacts.append(
            {
                "email": email,
                "first_name": first,
                "last_name": last,
                "title": title,
                "seniority": seniority,
                "job_function": self.rng.choice(FUNCTIONS),
                "buying_role": role,
                "country": "US",
                "lead_source": self.rng.choice(
                    ("webinar", "paid_search", "organic", "event", "outbound")
                ),
            }
        )
        return email

    def build(self, accounts: int) -> DemoData:
        n = 0
        targets = [kind for kind, count in TARGET_MIX for _ in range(count)]
        for index in range(accounts):
            kind = targets[index] if index < len(targets) else None
            spec: dict[str, Any] = (
                ARCHETYPES[kind] if kind else {"big": self.rng.random() < 0.6, "levels": {}}
            )
            domain = self.account(
                index,
                target=kind is not None,
                big=bool(spec.get("big", spec.get("employees") != SMALL)),
                customer=bool(spec.get("customer", False)),
                size=spec.get("employees"),
            )
            size = len(COMMITTEE) if kind else self.rng.randint(3, 9)
            for slot in range(size):
                n += 1
                email = self.person(domain, slot % len(COMMITTEE), n)
                level = (
                    spec["levels"].get(slot)
                    if kind
                    else self.rng.choice(("none", "none", "cold", "light", "light", "warm", "hot"))
                )
                self.engage(email, level or "none")
            if kind in ("mqa", "no_decision_maker") or self.rng.random() < 0.15:
                self.signal(domain, "intent_surge", (1, 25), topic="account-based marketing")
            for _ in range(self.rng.randint(0, 6)):
                self.signal(domain, "web_visit", (0, 30), page=self.rng.choice(BLOG + PRODUCT))
        self.extras(n)
        return self.data

    def signal(self, domain: str, type_: str, days: tuple[float, float], **properties: Any) -> None:
        self.data.signals.append(
            {
                "account_domain": domain,
                "type": type_,
                "occurred_at": self.at(days),
                "properties": properties,
                "source": "demo-intent",
                "id": f"demo-sig-{len(self.data.signals) + 1}",
            }
        )

    def extras(self, n: int) -> None:
        """Free-mail inbound leads, students, and a competitor snooping on pricing."""
        for i in range(150):
            email = (
                f"{FIRST[i % len(FIRST)]}.{LAST[i % len(LAST)]}{n + i}@{FREE_MAIL[i % 4]}".lower()
            )
            student = i % 10 == 0
            self.data.contacts.append(
                {
                    "email": email,
                    "first_name": FIRST[i % len(FIRST)],
                    "seniority": "student"
                    if student
                    else self.rng.choice(("manager", "director", "vp")),
                    "job_function": self.rng.choice(FUNCTIONS),
                    "lead_source": "organic",
                }
            )
            self.engage(email, "hot" if i % 5 == 0 else self.rng.choice(("light", "warm", "cold")))
        for i in range(20):
            email = f"student{i}@state.edu"
            self.data.contacts.append(
                {"email": email, "seniority": "student", "lead_source": "webinar"}
            )
            self.engage(email, "warm")
        self.data.contacts.append(
            {"email": "analyst@rival.example", "custom": {"competitor": True}, "seniority": "vp"}
        )
        self.engage("analyst@rival.example", "hot")


def demo_data_build(*, seed: int, now: datetime, accounts: int = 400) -> DemoData:
    return _Builder(seed, now).build(accounts)


def _chunks(items: list[dict[str, Any]], size: int = 1000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def demo_data_load(*, data: DemoData, now: datetime) -> dict[str, int]:
    """Push the data set through the same services the API uses, in batches of 1000."""
    for batch in _chunks(data.accounts):
        accounts_upsert(items=batch)
    for batch in _chunks(data.contacts):
        contacts_upsert(items=batch)
    data.events.sort(key=lambda e: e["occurred_at"])
    for batch in _chunks(data.events):
        events_ingest(items=batch, now=now)
    for batch in _chunks(data.signals):
        signals_ingest(items=batch, now=now)
    return {
        "accounts": len(data.accounts),
        "contacts": len(data.contacts),
        "events": len(data.events),
        "signals": len(data.signals),
    }


DEMO_ROUTING: dict[str, Any] = {
    "format": "mqa.routing/v1",
    "queues": [
        {
            "name": "inbound",
            "members": [
                {"assignee": "ana@vendor.example", "active": True, "capacity": 25},
                {"assignee": "ben@vendor.example", "active": True, "capacity": None},
                {"assignee": "cy@vendor.example", "active": False, "capacity": None},
            ],
        },
        {"name": "emea", "members": [{"assignee": "dee@vendor.example"}]},
        {
            "name": "abm",
            "members": [{"assignee": "eli@vendor.example"}, {"assignee": "fay@vendor.example"}],
        },
    ],
    "rules": [
        {
            "label": "EMEA",
            "when": [{"attribute": "account.country", "op": "in", "value": ["DE", "FR", "GB"]}],
            "queue": "emea",
        }
    ],
    "default_queue": "inbound",
    "abm_queue": "abm",
    "lead_sla_hours": 24,
    "account_sla_hours": 48,
    "recycle_cooldown_days": 30,
}
# What sales did with the n-th handoff, in turn; the outcomes follow acceptance in order.
PLAY = ("open", "accepted", "rejected", "sql", "won", "lost", "opportunity", "breached", "won")
OUTCOMES = {
    "sql": ("sql",),
    "opportunity": ("sql", "opportunity"),
    "won": ("sql", "opportunity", "won"),
    "lost": ("sql", "opportunity", "lost"),
}
REASONS = ("wrong_fit", "timing", "no_need", "not_decision_maker", "competitor")


def demo_handoffs_play(*, now: datetime, seed: int = 7) -> dict[str, int]:
    """Take the demo's handoffs through sales' answers, backdated over six months; returns
    how many of each step were played."""
    rng = random.Random(seed)
    played: dict[str, int] = dict.fromkeys(PLAY, 0)
    for n, handoff in enumerate(Handoff.objects.order_by("id")):
        step = PLAY[n % len(PLAY)]
        played[step] += 1
        if step == "open":
            age = timedelta(hours=rng.uniform(1, 20))  # still within its SLA
        elif step == "breached":
            age = timedelta(days=rng.uniform(2, 6))  # left open past its SLA
        else:
            age = timedelta(days=rng.uniform(3, 180))
        created = now - age
        sla = (handoff.due_at - handoff.created_at) if handoff.due_at else timedelta(0)
        # History: the routing happened at that time (a demo's backdating, nothing else).
        Handoff.objects.filter(pk=handoff.pk).update(created_at=created, due_at=created + sla)
        if step in ("open", "breached"):
            continue
        answered = created + timedelta(hours=rng.uniform(1, 20))
        if step == "rejected":
            reason = REASONS[played[step] % len(REASONS)]
            handoff_reject(handoff_id=handoff.pk, reason=reason, note="demo", now=answered)
            continue
        handoff_accept(handoff_id=handoff.pk, now=answered)
        for outcome in OUTCOMES.get(step, ()):
            answered = min(now, answered + timedelta(days=rng.uniform(2, 15)))
            handoff_outcome_record(handoff_id=handoff.pk, outcome=outcome, now=answered)
    handoffs_mark_breached(now=now)
    return played
