"""The review pages on the demo data set: right content, a fixed number of queries, timed;
and junk in their parameters and posts answered without a 500."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.utils import timezone

from accounts.models import Account
from contacts.models import Contact
from mqa.demo import demo_data_build, demo_data_load
from mqa.models import AccountScore, Handoff
from mqa.review.selectors import review_lead_queue
from mqa.services.model_versions import scoring_model_import, scoring_model_publish
from mqa.services.rescore import rescore_run_advance
from mqa.services.routing import routing_document_put

pytestmark = pytest.mark.django_db
DEFAULT_MODEL = Path(__file__).parents[2] / "mqa" / "default_model.json"


@pytest.fixture
def demo() -> None:
    now = timezone.now()
    routing_document_put(
        document={
            "format": "mqa.routing/v1",
            "queues": [{"name": "q", "members": [{"assignee": "sdr@v.io"}]}],
            "default_queue": "q",
        }
    )
    demo_data_load(data=demo_data_build(seed=7, now=now, accounts=400), now=now)
    run = scoring_model_publish(
        version_id=scoring_model_import(document=json.loads(DEFAULT_MODEL.read_text())).id,
        route=True,
    )
    rescore_run_advance(run_id=run.id)


def timed(client, url: str, runs: int = 5) -> tuple[float, object]:
    client.get(url)  # warm up
    times, response = [], None
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), response


def test_review_pages_render_the_demo_data_with_few_queries(
    admin_client, demo, django_assert_num_queries, capsys
):
    mqa = (
        AccountScore.objects.filter(status="mqa", account__is_target=True)
        .select_related("account")
        .first()
    )
    lead = review_lead_queue().first()
    assert mqa is not None and lead is not None
    pages = {
        "accounts": ("/review/", 8),
        "accounts, filtered": ("/review/?target=yes&status=engaged&q=systems&tier=tier+2", 8),
        "account": (f"/review/accounts/{mqa.account.domain}/", 13),
        "inbound MQLs": ("/review/leads/", 4),
    }
    timings = {}
    for name, (url, queries) in pages.items():
        with django_assert_num_queries(queries):
            response = admin_client.get(url)
        assert response.status_code == 200, name
        timings[name], _ = timed(admin_client, url)

    listing = admin_client.get("/review/").content.decode()
    assert f"{Account.objects.count()} accounts" in listing
    mqa_count = AccountScore.objects.filter(status="mqa").count()
    assert listing.count('class="status status-mqa"') == min(
        mqa_count, 50
    )  # readiness order: MQAs first
    second = admin_client.get("/review/?page=2").content.decode()
    assert second.count('class="status status-mqa"') == max(0, mqa_count - 50)
    assert 'class="status status-engaged"' in second
    account = admin_client.get(f"/review/accounts/{mqa.account.domain}/").content.decode()
    assert "Nothing — every criterion is met." in account and "engagement-chart" in account
    assert lead.contact.email in admin_client.get("/review/leads/").content.decode()

    # The demo puts accounts in both segments of the default model and in none.
    by_segment = {
        name: AccountScore.objects.filter(segment=name).count()
        for name in ("Enterprise", "SMB", None)
    }
    assert all(by_segment.values()), by_segment
    for name, query in (("Enterprise", "Enterprise"), ("SMB", "SMB"), (None, "-")):
        listed = admin_client.get(f"/review/?segment={query}").content.decode()
        assert f"{by_segment[name]} accounts" in listed, name
        cells = listed.count('<span class="segment">')
        assert (
            listed.count(f'<span class="segment">{name or "no segment"}</span>')
            == cells
            == min(by_segment[name], 50)
        )
    enterprise = AccountScore.objects.filter(segment="Enterprise").select_related("account")[0]
    page = admin_client.get(f"/review/accounts/{enterprise.account.domain}/").content.decode()
    assert "segment Enterprise: judged by its thresholds" in page
    with capsys.disabled():
        print(
            "\nreview page server time (median of 5, ms): "
            + ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
        )


def test_review_pages_need_a_staff_login(client, db):
    response = client.get("/review/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_junk_parameters_and_posts_get_a_page_or_a_message_never_a_500(admin_client, db):
    # given one open lead handoff and one accepted one
    contact = Contact.objects.create(email="jo@acme.com")
    at = timezone.now()
    open_one = Handoff.objects.create(kind="lead", contact=contact, created_at=at)
    done = Handoff.objects.create(
        kind="lead", contact=contact, created_at=at, status="accepted", outcome="won"
    )
    junk = ["", "x" * 5000, "-", "--fit", "\u0000", "1e9", "-1", "%00", "<script>"]
    # when the pages are asked for with junk filters, sorts and pages
    for value in junk:
        for page in ("/review/", "/review/accounts.csv", "/review/leads/"):
            for name in ("sort", "handoff", "status", "page", "segment", "q", "target"):
                response = admin_client.get(page, {name: value})
                # then each answers, by filtering what it can and ignoring the rest; a NUL,
                # which PostgreSQL refuses in a query, is refused in words before any query
                assert response.status_code == (400 if "\x00" in value else 200), (page, name)
        for page in ("/review/funnel/", "/review/funnel.csv", "/review/calibration/"):
            for name in ("kind", "group_by", "start", "cutoff", "horizon_days", "version"):
                response = admin_client.get(page, {name: value, "kind": "lead"})
                assert response.status_code in (200, 400), (page, name, value)
        if value:
            account = admin_client.get(f"/review/accounts/{quote(value)}/")
            assert account.status_code == (400 if "\x00" in value else 404), value
    nul = admin_client.get("/admin/mqa/handoff/", {"q": "a\x00b"})
    assert (nul.status_code, nul.content) == (
        400,
        b"the query parameter 'q' must not contain NUL characters.\n",
    )
    # and posts with junk are refused in words, changing nothing
    for value in ["", " ", "x" * 300]:
        answer = admin_client.post(
            f"/review/handoffs/{open_one.id}/assign", {"assignee": value}, HTTP_HX_REQUEST="true"
        )
        assert answer.status_code == 200 and b"Name whom to assign it to." in answer.content
    for value in ["", "maybe", "won\u0000"]:
        answer = admin_client.post(
            f"/review/handoffs/{open_one.id}/outcome", {"outcome": value}, HTTP_HX_REQUEST="true"
        )
        assert b"Pick an outcome." in answer.content
    answer = admin_client.post(
        f"/review/handoffs/{done.id}/outcome", {"outcome": "sql"}, HTTP_HX_REQUEST="true"
    )
    assert b"is accepted with outcome won" in answer.content
    assert admin_client.post("/review/handoffs/999999/assign", {"assignee": "a"}).status_code == 404
    open_one.refresh_from_db()
    done.refresh_from_db()
    assert (open_one.assignee, open_one.outcome, done.outcome) == (None, None, "won")
