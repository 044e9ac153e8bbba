"""Every page a team works in passes axe-core's WCAG 2.1 AA checks with no serious or critical
violation, and none is wider than the window at a phone's 390 px or a desktop's 1,400 px —
checked in real Chromium over the demo data."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from accounts.models import Account
from mqa.models import RoutingSettings, ScoringModelVersion
from mqa.services.model_versions import scoring_model_draft_from_active
from tests.browser.test_review_flow import log_in

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (390, 1400)
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def pages(live_server: Any) -> dict[str, str]:
    mqa = Account.objects.filter(score__status="mqa", is_target=True).order_by("domain").first()
    assert mqa is not None, "the demo has an MQA target account"
    active = ScoringModelVersion.objects.get(state="active")
    draft = scoring_model_draft_from_active()
    routing = RoutingSettings.objects.get()
    cutoff = timezone.now() - timedelta(days=60)
    return {
        "accounts": "/review/",
        "account": f"/review/accounts/{mqa.domain}/",
        "leads": "/review/leads/",
        "funnel": "/review/funnel/?kind=lead&group_by=lead_source",
        "calibration": "/review/calibration/",
        "backtest": "/review/calibration/?"
        + urlencode(
            {
                "cutoff": f"{cutoff:%Y-%m-%d %H:%M}",
                "horizon_days": 60,
                "label": "sql",
                "goal": "f1",
                "min_conversions": 1,
                "max_interval_width": 1,
            }
        ),
        "model versions": "/admin/mqa/scoringmodelversion/",
        "active model": f"/admin/mqa/scoringmodelversion/{active.pk}/change/",
        "rule editor": f"/admin/mqa/scoringmodelversion/{draft.pk}/change/",
        "routing": f"/admin/mqa/routingsettings/{routing.pk}/change/",
        "new webhook": "/admin/mqa/webhooksubscription/add/",
        "handoffs": "/admin/mqa/handoff/",
    }


def serious(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page, options=WCAG_AA).response["violations"]
    return sorted(
        f"{v['id']} ({v['impact']}): {node['target']}"
        for v in found
        if v["impact"] in ("serious", "critical")
        for node in v["nodes"]
    )


def overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than its window (0 when it fits)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def test_every_page_is_accessible_and_fits_the_window(live_server, browser, demo):
    paths = pages(live_server)
    found: dict[str, Any] = {}
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        log_in(page, live_server, "/review/")
        for name, path in paths.items():
            answer = page.goto(live_server.url + path)
            assert answer is not None and answer.status == 200, (name, path)
            page.wait_for_load_state("networkidle")
            if too_wide := overflow(page):
                found[f"{name} at {width} px: wider by"] = too_wide
            if width == WIDTHS[-1] and (violations := serious(page)):
                found[f"{name}: axe"] = violations
        context.close()
    assert found == {}, json.dumps(found, indent=1)
