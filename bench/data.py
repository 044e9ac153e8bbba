"""Bench data at scale S: 100k·S accounts (10% targets), 1M·S contacts, 10M·S events over 180
days, 500k·S account signals. Accounts and contacts are COPYed from Python; events and
signals are generated server-side (INSERT … SELECT over generate_series), which loads
millions of rows in seconds. Deterministic: the same scale gives the same data."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import psycopg

INDUSTRIES = [
    "software",
    "financial services",
    "healthcare",
    "manufacturing",
    "retail",
    "logistics",
]
SENIORITY = ["c_level", "vp", "director", "manager", "individual", "individual", "intern"]
ROLES = [
    "decision_maker",
    "economic_buyer",
    "champion",
    "technical_evaluator",
    "influencer",
    "user",
    "user",
    "",
]
FUNCTIONS = ["marketing", "sales", "it", "engineering", "finance", "operations"]


def counts(scale: float) -> dict[str, int]:
    return {
        "accounts": max(10, int(100_000 * scale)),
        "contacts": max(50, int(1_000_000 * scale)),
        "events": max(500, int(10_000_000 * scale)),
        "signals": max(25, int(500_000 * scale)),
    }


def load(conn: psycopg.Connection[Any], scale: float, now: datetime) -> dict[str, int]:
    n = counts(scale)
    rng = random.Random(20261124)
    with conn.cursor() as cur:
        cur.execute(
            "TRUNCATE accounts_account, contacts_contact, contacts_engagementevent, accounts_accountsignal, "
            "mqa_contactscore, mqa_accountscore, mqa_contactstatuschange, mqa_accountstatuschange, "
            "mqa_pendingwork, mqa_rescorerun, mqa_handoff, mqa_scoringmodelaudit, mqa_scoringmodelversion RESTART IDENTITY CASCADE"
        )
        with cur.copy(
            "COPY accounts_account (id, domain, name, industry, employee_count, annual_revenue, country, region, tier, "
            "is_target, owner, external_id, custom, created_at, updated_at) FROM STDIN"
        ) as copy:
            for i in range(1, n["accounts"] + 1):
                employees = rng.choice([20, 80, 150, 300, 800, 2500, 9000])
                copy.write_row(
                    (
                        i,
                        f"acct{i}.example",
                        f"Account {i}",
                        rng.choice(INDUSTRIES),
                        employees,
                        employees * 150_000.0,
                        "US",
                        "NA",
                        rng.choice(["tier 1", "tier 2", "tier 3"]),
                        i % 10 == 0,
                        None,
                        f"crm-{i}",
                        "{}",
                        now,
                        now,
                    )
                )
        with cur.copy(
            "COPY contacts_contact (id, email, email_domain, first_name, last_name, title, seniority, job_function, "
            "buying_role, country, lead_source, account_domain, custom, account_id, created_at, updated_at) FROM STDIN"
        ) as copy:
            for i in range(1, n["contacts"] + 1):
                account = (i - 1) % n["accounts"] + 1
                role = rng.choice(ROLES) or None
                copy.write_row(
                    (
                        i,
                        f"c{i}@acct{account}.example",
                        f"acct{account}.example",
                        "Pat",
                        f"C{i}",
                        None,
                        rng.choice(SENIORITY),
                        rng.choice(FUNCTIONS),
                        role,
                        "US",
                        "organic",
                        None,
                        "{}",
                        account,
                        now,
                        now,
                    )
                )
        cur.execute(
            "INSERT INTO mqa_contactscore (contact_id, status, fit, engagement, total, disqualified_reasons, breakdown, status_since) "
            "SELECT id, 'none', 0, 0, 0, '[]', '{}', %s FROM contacts_contact",
            [now],
        )
        cur.execute(
            "INSERT INTO mqa_accountscore (account_id, status, fit, engagement, signal_score, engaged_contacts, mql_contacts, "
            "roles_covered, missing, disqualified_reasons, breakdown, status_since) "
            "SELECT id, 'none', 0, 0, 0, 0, 0, '[]', '[]', '[]', '{}', %s FROM accounts_account",
            [now],
        )
        # Events: a skewed choice of contact (a fifth of the contacts get most of the events).
        cur.execute(
            """
            INSERT INTO contacts_engagementevent (contact_id, type, occurred_at, properties, source, external_id, received_at)
            SELECT CASE WHEN r1 < 0.7 THEN 1 + floor(r2 * %(c)s / 5)::bigint ELSE 1 + floor(r2 * %(c)s)::bigint END,
                   t.type, %(now)s - (r3 * 180) * interval '1 day',
                   CASE WHEN t.type = 'page_view' THEN jsonb_build_object('url',
                        CASE WHEN r4 < 0.15 THEN '/pricing' WHEN r4 < 0.45 THEN '/product/scoring' ELSE '/blog/post' END)
                        ELSE '{}'::jsonb END,
                   'bench', 'e' || g, %(now)s
            FROM (SELECT g, random() r1, random() r2, random() r3, random() r4, random() r5
                  FROM generate_series(1, %(e)s) g) s
            CROSS JOIN LATERAL (SELECT CASE WHEN r5 < 0.6 THEN 'page_view' WHEN r5 < 0.8 THEN 'email_click'
                                            WHEN r5 < 0.9 THEN 'content_download' WHEN r5 < 0.95 THEN 'webinar_attended'
                                            WHEN r5 < 0.97 THEN 'demo_request' ELSE 'unsubscribe' END AS type) t
            """,
            {"c": n["contacts"], "e": n["events"], "now": now},
        )
        cur.execute(
            """
            INSERT INTO accounts_accountsignal (account_id, type, occurred_at, properties, source, external_id, received_at)
            SELECT 1 + floor(random() * %(a)s)::bigint,
                   CASE WHEN random() < 0.3 THEN 'intent_surge' ELSE 'web_visit' END,
                   %(now)s - (random() * 60) * interval '1 day', '{}'::jsonb, 'bench', 's' || g, %(now)s
            FROM generate_series(1, %(s)s) g
            """,
            {"a": n["accounts"], "s": n["signals"], "now": now},
        )
        for table in (
            "accounts_account",
            "contacts_contact",
            "contacts_engagementevent",
            "accounts_accountsignal",
        ):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        cur.execute("ANALYZE")
    conn.commit()
    return n


def employee_bands(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Accounts per segment of the shipped model (`mqa/default_model.json`): SMB under 200
    employees, Enterprise from 2,000, and between them none (the top-level model)."""
    smb, neither, enterprise = conn.execute(
        "SELECT count(*) FILTER (WHERE employee_count < 200), "
        "count(*) FILTER (WHERE employee_count >= 200 AND employee_count < 2000), "
        "count(*) FILTER (WHERE employee_count >= 2000) FROM accounts_account"
    ).fetchone() or (0, 0, 0)
    return {"SMB": smb, "none": neither, "Enterprise": enterprise}
