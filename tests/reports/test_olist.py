"""The real Olist leads (../shared/data/olist, not in the repository): the import of
docs/olist/mapping.json and the backtest figures quoted in docs/calibration-olist.md."""

from __future__ import annotations

import json
import os
from datetime import datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from contacts.models import Contact, EngagementEvent
from mqa.models import Handoff
from mqa.reports.backtest import calibration_backtest
from mqa.services.model_versions import scoring_model_import

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("MQA_OLIST_DIR", ROOT.parent / "shared" / "data" / "olist"))
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not DATA.is_dir(), reason=f"no Olist data at {DATA}"),
]


def test_the_olist_import_and_backtest_match_the_doc():
    out = StringIO()

    call_command(
        "import_csv", str(ROOT / "docs/olist/mapping.json"), "--data-dir", str(DATA), stdout=out
    )

    assert out.getvalue().splitlines() == [
        "contacts: 8000 rows read; created 8000, updated 0, suppressed 0",
        "events: 8000 rows read; accepted 8000, duplicates 0, conflicts 0, suppressed 0",
        "outcomes: 842 rows read; created 842, updated 0, unchanged 0",
        "imported; 0 rows rejected",
    ]
    assert (Contact.objects.count(), EngagementEvent.objects.count()) == (8000, 8000)
    assert Handoff.objects.filter(status="accepted", outcome="won").count() == 842
    assert Contact.objects.filter(lead_source="paid_search").count() == 1586

    version = scoring_model_import(
        document=json.loads((ROOT / "docs/olist/model.json").read_text())
    )
    result = calibration_backtest(
        cutoff=datetime.fromisoformat("2018-03-01T00:00:00-03:00"),
        horizon_days=90,
        version_id=version.id,
    )
    contacts = result["contacts"]
    assert (contacts["population"], contacts["converted"]) == (3982, 110)
    assert contacts["current"] == {
        "threshold": 50.0, "volume": 342, "converted": 32, "conversion_rate": 0.0936,
        "captured": 0.2909, "lift": 3.3871, "f1": 0.1416,
    }  # fmt: skip
    assert (contacts["recommended"]["threshold"], contacts["recommended"]["volume"]) == (57.0, 230)
