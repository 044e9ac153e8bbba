"""The calibration page learns from outcomes (issue 16): per-rule evidence, the attribute
values no rule uses, the suggestion and the held-out comparison equal to what the service
returns, and one button that creates exactly the suggested draft — or nothing when refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils.html import escape

from contacts.services import contacts_upsert
from mqa.models import ScoringModelVersion
from mqa.reports.suggest import calibration_suggestion
from mqa.scoring import dump_document, parse_document
from tests.reports import test_suggest
from tests.reports.test_evidence import T, won

pytestmark = pytest.mark.django_db
PAGE = "/review/calibration/"
BUTTON = "/review/calibration/suggestion-draft"
QUERY = {"cutoff": T.strftime("%Y-%m-%d %H:%M"), "horizon_days": 30, "label": "won", "goal": "f1"}
TOO_FEW = (
    "32 conversions in the backtest; a suggestion needs at least 100 (a later cut-off, a longer"
    " horizon or the 'sql' label may give more)"
)
world = test_suggest.world  # 90 contacts, 32 of them converted within 30 days of T


def email(i: int) -> str:
    return f"c{i}@big.io" if i % 2 else f"c{i}@small.io"


@pytest.fixture
def webinar(world) -> None:
    """Forty webinar leads, thirty of whom converted: a value with lift no rule uses."""
    converted = [i for i in range(90) if (i % 3 == 0 and i % 5 < 2) or i % 4 == 1]
    rest = [i for i in range(90) if i not in converted]
    chosen = converted[:30] + rest[:10]
    contacts_upsert(items=[{"email": email(i), "lead_source": "webinar"} for i in chosen])


def pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}%"


def evidence_row(e: dict[str, Any]) -> str:
    low, high = e["interval"] or (None, None)
    interval = f"{pct(low)}–{pct(high)}" if e["interval"] else "—"
    lift = "—" if e["lift"] is None else f"{e['lift']:.2f}×"
    weak = f'<span class="weak">weak evidence: {e["weak"]}</span>' if e["weak"] else "sound"
    return (
        f'<tr><th scope="row">{e["rule"]}</th><td>{e["matched"]}</td><td>{e["converted"]}</td>'
        f"<td>{pct(e['conversion_rate'])}</td><td>{pct(e['rest_conversion_rate'])}</td>"
        f"<td>{lift}</td><td>{interval}</td><td>{pct(e['conversion_share'])}</td><td>{weak}</td></tr>"
    )


def test_the_page_shows_the_evidence_the_suggestion_and_the_comparison(
    admin_client, webinar, settings
):
    settings.MQA_CALIBRATION_MIN_CONVERSIONS = 10
    settings.MQA_CALIBRATION_MAX_INTERVAL_WIDTH = 1.0  # a small world

    page = admin_client.get(PAGE, QUERY)

    assert page.status_code == 200
    content = page.content.decode()
    expected = calibration_suggestion(cutoff=T, horizon_days=30)
    for e in expected["evidence"]:
        assert evidence_row(e) in content, e["rule"]
    # the same figures, written out
    assert (
        '<tr><th scope="row">Big account</th><td>45</td><td>26</td><td>57.78%</td><td>13.33%</td>'
        "<td>1.62×</td><td>43.30%–71.03%</td><td>81.25%</td><td>sound</td></tr>"
    ) in content
    assert (
        '<tr><th scope="row">Pricing</th><td>90</td><td>32</td><td>35.56%</td><td>—</td><td>1.00×</td>'
        '<td>26.44%–45.85%</td><td>100.00%</td><td><span class="weak">weak evidence: it matched'
        " every record: there is no rest to compare with</span></td></tr>"
    ) in content
    assert content.index('id="evidence-fit"') < content.index('id="evidence-engagement"')
    assert content.index('id="evidence-engagement"') < content.index('id="evidence-disqualifier"')

    [unused] = expected["unused_values"]
    assert unused["text"] == "`lead_source = webinar`: 2.1× lift, 40 leads, no rule"
    assert f"<li>{unused['text']} " in content

    rules = {r["rule"]: r for r in expected["suggestion"]["rules"]}
    assert (rules["Big account"]["points"], rules["Big account"]["suggested"]) == (20, 40)
    assert (
        '<tr><th scope="row">Big account</th><td>fit</td><td>20</td><td>40</td><td>1.6160</td></tr>'
    ) in content
    assert (
        '<tr><th scope="row">Senior</th><td>fit</td><td>30</td><td>30 <span class="weak">kept:'
        " weak evidence (only 20 records matched (fewer than 30))</span></td><td>0.7131</td></tr>"
    ) in content
    threshold = expected["suggestion"]["threshold"]
    assert (threshold["current"], threshold["suggested"]) == (70, 80)
    assert (
        '<tr id="suggestion-total"><th scope="row"><code>contact.thresholds.total</code></th>'
        "<td>threshold</td><td>70</td><td>80</td>"
    ) in content

    version, suggestion = (expected["comparison"][k] for k in ("version", "suggestion"))
    assert (version["roc_auc"], suggestion["roc_auc"]) == (0.8235, 0.8706)
    rows = {
        "ROC AUC": (f"{version['roc_auc']:.4f}", f"{suggestion['roc_auc']:.4f}"),
        "PR AUC (average precision)": (f"{version['pr_auc']:.4f}", f"{suggestion['pr_auc']:.4f}"),
        "precision of the top 3 (the version&#x27;s MQL volume)": ("100.00%", "66.67%"),
        "recall of the top 3": ("30.00%", "20.00%"),
        "MQLs at its own threshold": ("3", "7"),
        "conversion rate at its threshold": ("100.00%", "71.43%"),
        "recall at its threshold": ("30.00%", "50.00%"),
        "F1 at its threshold": (f"{version['at_threshold']['f1']:.4f}", "0.5882"),
    }
    for name, (a, b) in rows.items():
        assert f'<tr><th scope="row">{name}</th><td>{a}</td><td>{b}</td></tr>' in content, name
    assert suggestion["same_volume"] == {"volume": 3, "precision": 0.6667, "recall": 0.2}
    assert (
        "The version against the suggestion on the held-out 30% (27 records, 10 converted; seed 16)"
    ) in content
    assert "(seed 16: 63 records, 22 converted)" in content
    assert 'id="suggestion-draft"' in content and "Create a draft from the suggestion" in content


def test_the_button_creates_exactly_the_suggested_draft(admin_client, world, settings):
    settings.MQA_CALIBRATION_MIN_CONVERSIONS = 10
    settings.MQA_CALIBRATION_MAX_INTERVAL_WIDTH = 1.0  # a small world
    page = admin_client.get(PAGE, QUERY)
    expected = calibration_suggestion(cutoff=T, horizon_days=30)["suggestion"]["document"]

    response = admin_client.post(BUTTON, {"suggestion": page.context["learning"]["token"]})

    draft = ScoringModelVersion.objects.get(state=ScoringModelVersion.State.DRAFT)
    assert ScoringModelVersion.objects.count() == 2
    assert response.status_code == 302
    assert response["Location"] == f"/admin/mqa/scoringmodelversion/{draft.pk}/change/"
    assert draft.document == dump_document(parse_document(expected))
    assert draft.document["contact"]["thresholds"]["total"] == 80
    assert [r["points"] for r in draft.document["contact"]["fit"]["rules"]] == [30, 40]


def test_too_few_conversions_show_the_reason_keep_the_evidence_and_offer_no_button(
    admin_client, world, settings
):
    settings.MQA_CALIBRATION_MIN_CONVERSIONS = 100
    settings.MQA_CALIBRATION_MAX_INTERVAL_WIDTH = 1.0  # a small world

    content = admin_client.get(PAGE, QUERY).content.decode()

    assert f'<p class="error" id="no-suggestion">No suggestion: {escape(TOO_FEW)}.</p>' in content
    assert '<tr><th scope="row">Big account</th><td>45</td><td>26</td><td>57.78%</td>' in content
    assert 'id="suggestion-draft"' not in content and 'id="comparison"' not in content
    assert "Create a draft from the suggestion" not in content


def test_the_button_is_refused_below_the_minimum_and_creates_nothing(admin_client, world, settings):
    settings.MQA_CALIBRATION_MIN_CONVERSIONS = 10
    settings.MQA_CALIBRATION_MAX_INTERVAL_WIDTH = 1.0  # a small world
    token = admin_client.get(PAGE, QUERY).context["learning"]["token"]
    settings.MQA_CALIBRATION_MIN_CONVERSIONS = 100
    settings.MQA_CALIBRATION_MAX_INTERVAL_WIDTH = 1.0  # a small world

    response = admin_client.post(BUTTON, {"suggestion": token})

    assert (response.status_code, response.content.decode()) == (
        400,
        f"Cannot create the draft: {TOO_FEW}",
    )
    assert ScoringModelVersion.objects.count() == 1


def test_a_forged_post_creates_nothing(admin_client, world):
    response = admin_client.post(BUTTON, {"suggestion": "forged"})

    assert (response.status_code, response.content) == (
        400,
        b"Cannot create the draft: run the backtest first: the button comes from its page",
    )
    assert ScoringModelVersion.objects.count() == 1


def test_outcomes_recorded_since_the_page_was_shown_refuse_the_draft(admin_client, world, settings):
    settings.MQA_CALIBRATION_MIN_CONVERSIONS = 10
    settings.MQA_CALIBRATION_MAX_INTERVAL_WIDTH = 1.0  # a small world
    token = admin_client.get(PAGE, QUERY).context["learning"]["token"]
    for i in (2, 6, 8, 14, 22):  # five more conversions change what is learned
        won(email(i), T + timedelta(days=12))

    response = admin_client.post(BUTTON, {"suggestion": token})

    assert response.status_code == 409
    assert response.content.decode() == (
        "Cannot create the draft: the outcomes changed since the page was shown;"
        " run the backtest again"
    )
    assert ScoringModelVersion.objects.count() == 1


def test_only_staff_can_create_the_draft(client, admin_client, world, settings):
    settings.MQA_CALIBRATION_MIN_CONVERSIONS = 10
    settings.MQA_CALIBRATION_MAX_INTERVAL_WIDTH = 1.0  # a small world
    token = admin_client.get(PAGE, QUERY).context["learning"]["token"]

    response = client.post(BUTTON, {"suggestion": token})

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert ScoringModelVersion.objects.count() == 1
