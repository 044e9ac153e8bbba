"""The funnel report against hand-computed figures on a small, explicit set of handoffs."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import Account
from contacts.models import Contact
from mqa.models import AccountScore, ContactScore, Handoff, ScoringModelVersion
from mqa.models.routing import RejectReason
from mqa.reports.funnel import REASONS, csv_text, percentile
from tests.problems import problem

pytestmark = pytest.mark.django_db

NO_REASONS = dict.fromkeys(REASONS, 0)


def at(day: str, hours: float = 0) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(hours=hours)


def lead(contact: Contact, created: datetime, **fields) -> Handoff:
    return Handoff.objects.create(kind="lead", contact=contact, created_at=created, **fields)


@pytest.fixture
def handoffs() -> None:
    software = Account.objects.create(domain="a.io", industry="software", tier="1")
    other = Account.objects.create(domain="b.io")
    c1 = Contact.objects.create(email="c1@a.io", lead_source="webinar", account=software)
    c2 = Contact.objects.create(email="c2@a.io", lead_source="webinar", account=software)
    c3 = Contact.objects.create(email="c3@b.io", lead_source="ads", account=other)
    c4 = Contact.objects.create(email="c4@gmail.com")
    v1 = ScoringModelVersion.objects.create(version=1, name="m", document={})
    v2 = ScoringModelVersion.objects.create(version=2, name="m", document={})
    t1, t2, t3 = at("2026-01-05", 10), at("2026-01-10"), at("2026-01-20")
    lead(
        c1, t1, model_version=v1, due_at=t1 + timedelta(hours=24), status="accepted",
        accepted_at=t1 + timedelta(hours=2), outcome="won",
    )  # fmt: skip
    lead(
        c2, t2, model_version=v1, due_at=t2 + timedelta(hours=24), status="accepted",
        accepted_at=t2 + timedelta(hours=30), sla_breached_at=t2 + timedelta(hours=24),
        outcome="sql",
    )  # fmt: skip
    lead(c3, t3, model_version=v1, due_at=t3 + timedelta(hours=24), status="rejected",
         reason="timing")  # fmt: skip
    t4, t5 = at("2026-03-02"), at("2026-03-15")
    lead(c4, t4, model_version=v2, due_at=t4 + timedelta(hours=24), sla_breached_at=t4)
    lead(c3, t5, model_version=v2, status="accepted", accepted_at=t5 + timedelta(hours=10),
         outcome="lost")  # fmt: skip
    Handoff.objects.create(
        kind="account", account=software, created_at=t1, status="accepted",
        accepted_at=t1 + timedelta(hours=5), outcome="won",
    )  # fmt: skip
    Handoff.objects.create(kind="account", account=other, created_at=t4)


def figures(
    stages, conversion, *, rejected=0, reasons=None, speed=(0, None, None), sla=(0, 0, None)
):
    return {
        "stages": stages,
        "conversion": conversion,
        "rejected": rejected,
        "rejection_reasons": NO_REASONS | (reasons or {}),
        "speed_to_lead_hours": dict(zip(("count", "median", "p90"), speed, strict=True)),
        "sla": dict(zip(("due", "breached", "rate"), sla, strict=True)),
    }


TOTALS = figures(
    {"mql": 5, "accepted": 3, "sql": 3, "opportunity": 2, "won": 1},
    {"accepted": 0.6, "sql": 1.0, "opportunity": 0.6667, "won": 0.5, "overall": 0.2},
    rejected=1,
    reasons={"timing": 1},
    speed=(3, 10.0, 30.0),
    sla=(4, 2, 0.5),
)
NO_RATES = {"accepted": None, "sql": None, "opportunity": None, "won": None, "overall": None}


def test_the_lead_funnel_by_month_counts_every_stage_and_keeps_the_empty_month(api, handoffs):
    response = api.get(
        "/api/v1/reports/funnel", {"group_by": "month", "from": "2026-01-01", "to": "2026-03-31"}
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["kind"], body["stages"]) == (
        "lead",
        ["mql", "accepted", "sql", "opportunity", "won"],
    )
    assert body["totals"] == TOTALS
    assert body["groups"] == [
        {"group": "2026-01"} | figures(
            {"mql": 3, "accepted": 2, "sql": 2, "opportunity": 1, "won": 1},
            {"accepted": 0.6667, "sql": 1.0, "opportunity": 0.5, "won": 1.0, "overall": 0.3333},
            rejected=1, reasons={"timing": 1}, speed=(2, 16.0, 30.0), sla=(3, 1, 0.3333),
        ),
        {"group": "2026-02"} | figures(
            {"mql": 0, "accepted": 0, "sql": 0, "opportunity": 0, "won": 0}, NO_RATES
        ),
        {"group": "2026-03"} | figures(
            {"mql": 2, "accepted": 1, "sql": 1, "opportunity": 1, "won": 0},
            {"accepted": 0.5, "sql": 1.0, "opportunity": 1.0, "won": 0.0, "overall": 0.0},
            speed=(1, 10.0, 10.0), sla=(1, 1, 1.0),
        ),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("group_by", "expected"),
    [
        ("lead_source", [("ads", 2, 1), ("webinar", 2, 2), (None, 1, 0)]),
        ("industry", [("software", 2, 2), (None, 3, 1)]),
        ("tier", [("1", 2, 2), (None, 3, 1)]),
        ("region", [(None, 5, 3)]),
        ("model_version", [("1", 3, 2), ("2", 2, 1)]),
        ("none", [(None, 5, 3)]),
    ],
)
def test_the_lead_funnel_groups_by_segment_source_and_version(api, handoffs, group_by, expected):
    body = api.get("/api/v1/reports/funnel", {"group_by": group_by}).json()

    assert [
        (g["group"], g["stages"]["mql"], g["stages"]["accepted"]) for g in body["groups"]
    ] == expected
    assert body["totals"] == TOTALS


def made_in(segment: str | None) -> dict:
    """A handoff's context as routing stores it: the breakdown names the record's segment."""
    return {"version": 1, "breakdown": {"segment": segment, "fit": []}}


@pytest.fixture
def segmented_handoffs() -> None:
    big = Account.objects.create(domain="big.io")
    small = Account.objects.create(domain="small.io")
    AccountScore.objects.create(account=big, segment="smb")  # moved since its handoff
    AccountScore.objects.create(account=small, segment="smb")
    c1 = Contact.objects.create(email="c1@big.io", account=big)
    c2 = Contact.objects.create(email="c2@small.io", account=small)
    c3 = Contact.objects.create(email="c3@gmail.com")
    ContactScore.objects.create(contact=c1, segment="smb")
    ContactScore.objects.create(contact=c2, segment="smb")
    t = at("2026-01-05")
    lead(c1, t, context=made_in("enterprise"), status="accepted", accepted_at=t, outcome="won")
    lead(c1, t + timedelta(days=1), context=made_in("enterprise"), status="rejected",
         reason="timing")  # fmt: skip
    lead(c2, t, context=made_in(None))  # in no segment then, though smb now
    lead(c2, t + timedelta(days=2), status="accepted", accepted_at=t)  # made before segments
    lead(c3, t)  # no score, no segment
    Handoff.objects.create(kind="account", account=big, created_at=t, context=made_in("enterprise"))
    Handoff.objects.create(kind="account", account=small, created_at=t)


def test_the_funnel_groups_by_the_segment_at_handoff_time(api, segmented_handoffs):
    leads = api.get("/api/v1/reports/funnel", {"group_by": "segment"})
    accounts = api.get("/api/v1/reports/funnel", {"kind": "account", "group_by": "segment"})

    assert (leads.status_code, accounts.status_code) == (200, 200)
    assert [
        (g["group"], g["stages"]["mql"], g["stages"]["accepted"], g["stages"]["won"], g["rejected"])
        for g in leads.json()["groups"]
    ] == [("enterprise", 2, 1, 1, 1), ("smb", 1, 1, 0, 0), (None, 2, 0, 0, 0)]
    assert [(g["group"], g["stages"]["mqa"]) for g in accounts.json()["groups"]] == [
        ("enterprise", 1), ("smb", 1),
    ]  # fmt: skip


def test_the_funnel_by_segment_downloads_as_csv_and_is_offered_on_the_page(
    admin_client, segmented_handoffs
):
    download = admin_client.get("/review/funnel.csv", {"kind": "lead", "group_by": "segment"})
    page = admin_client.get("/review/funnel/", {"kind": "lead", "group_by": "segment"})

    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert [(r["group"], r["mql"], r["won"]) for r in rows] == [
        ("enterprise", "2", "1"), ("smb", "1", "0"), ("", "2", "0"), ("(total)", "5", "1"),
    ]  # fmt: skip
    assert page.status_code == 200
    assert page.context["charts"]["by_group"]["labels"] == ["enterprise", "smb", "(none)"]
    assert b'<option value="segment" selected>segment</option>' in page.content


def test_the_date_range_includes_both_days(api, handoffs):
    march = api.get("/api/v1/reports/funnel", {"from": "2026-03-15", "to": "2026-03-15"}).json()
    before = api.get("/api/v1/reports/funnel", {"from": "2026-03-03", "to": "2026-03-14"}).json()

    assert march["totals"]["stages"] == {
        "mql": 1,
        "accepted": 1,
        "sql": 1,
        "opportunity": 1,
        "won": 0,
    }
    assert before["totals"]["stages"]["mql"] == 0
    assert before["totals"]["conversion"] == NO_RATES
    assert before["groups"] == [{"group": None} | before["totals"]]


def test_the_account_funnel_is_mqa_accepted_won(api, handoffs):
    body = api.get("/api/v1/reports/funnel", {"kind": "account", "group_by": "industry"}).json()

    assert body["stages"] == ["mqa", "accepted", "won"]
    assert body["totals"] == figures(
        {"mqa": 2, "accepted": 1, "won": 1},
        {"accepted": 0.5, "won": 1.0, "overall": 0.5},
        speed=(1, 5.0, 5.0),
    )
    assert [(g["group"], g["stages"]["mqa"]) for g in body["groups"]] == [
        ("software", 1),
        (None, 1),
    ]


def test_no_handoffs_at_all_gives_zeros_and_null_rates(api):
    body = api.get("/api/v1/reports/funnel", {"kind": "account"}).json()

    assert body["totals"] == figures(
        {"mqa": 0, "accepted": 0, "won": 0}, {"accepted": None, "won": None, "overall": None}
    )
    assert body["groups"] == [{"group": None} | body["totals"]]


def test_the_funnel_downloads_as_csv(api, handoffs):
    response = api.get("/api/v1/reports/funnel", {"group_by": "lead_source", "format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="funnel.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["group"], r["mql"], r["won"], r["overall_rate"]) for r in rows] == [
        ("ads", "2", "0", "0.0"),
        ("webinar", "2", "1", "0.5"),
        ("", "1", "0", "0.0"),
        ("(total)", "5", "1", "0.2"),
    ]
    assert rows[-1]["rejected_timing"] == "1"
    assert rows[-1]["speed_to_lead_p90_hours"] == "30.0"
    assert rows[-1]["sla_breach_rate"] == "0.5"


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"kind": "deal"}, "kind", '"deal" is not a valid choice.'),
        ({"group_by": "colour"}, "group_by", '"colour" is not a valid choice.'),
        ({"from": "2026-13-01"}, "from", "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."),
        ({"kind": "account", "group_by": "lead_source"}, "group_by",
         "group_by for account must be one of none, industry, tier, region, model_version, month, "
         "segment"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "from", "from must not be after to"),
        ({"format": "xml"}, "format", "format must be json or csv"),
    ],
)  # fmt: skip
def test_bad_parameters_are_named(api, params, field, message):
    response = api.get("/api/v1/reports/funnel", params)

    assert (response.status_code, response.json()) == (
        400,
        problem(400, f"{field}: {message}", [{"field": field, "message": message}]),
    )
    assert response["Content-Type"] == "application/problem+json"


def test_the_funnel_needs_the_read_scope(client_for, handoffs):
    assert client_for("ingest").get("/api/v1/reports/funnel").status_code == 403


def test_percentile_is_nearest_rank():
    assert percentile([], 90) is None
    assert percentile([5.0], 90) == 5.0
    assert percentile([float(v) for v in range(1, 11)], 90) == 9.0
    assert percentile([float(v) for v in range(1, 12)], 90) == 10.0


def test_the_report_knows_every_rejection_reason():
    assert list(REASONS) == RejectReason.values


def test_the_review_page_shows_the_funnel_and_its_csv_matches_the_api(admin_client, api, handoffs):
    params = {"kind": "lead", "group_by": "lead_source", "start": "", "end": ""}

    page = admin_client.get("/review/funnel/", params)
    download = admin_client.get("/review/funnel.csv", params)

    assert page.status_code == 200
    total = page.context["rows"][-1]
    assert (total["group"], [s["count"] for s in total["stages"]]) == ("All", [5, 3, 3, 2, 1])
    assert page.context["charts"]["by_group"] == {
        "labels": ["ads", "webinar", "(none)"],
        "volume": [2, 2, 1],
        "rate": [0.0, 0.5, 0.0],
    }
    assert b'id="funnel-chart"' in page.content
    assert download.status_code == 200
    api_csv = api.get("/api/v1/reports/funnel", {"group_by": "lead_source", "format": "csv"})
    assert download.content == api_csv.content


def test_the_review_page_names_a_bad_range(admin_client):
    page = admin_client.get(
        "/review/funnel/", {"kind": "lead", "start": "2026-02-01", "end": "2026-01-01"}
    )

    assert page.status_code == 400
    assert page.context["report"] is None
    assert b"from must not be after to" in page.content


def test_the_review_pages_need_staff(client, handoffs):
    response = client.get("/review/funnel.csv")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_quoted():
    rows = [['=HYPERLINK("http://x")', "+1", "-2", "@a", -2, None, "ok"]]
    assert csv_text(rows) == '"\'=HYPERLINK(""http://x"")",\'+1,\'-2,\'@a,-2,,ok\n'
