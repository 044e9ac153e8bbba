"""`manage.py calibrate --suggest --out FILE`: the evidence, the suggestion and the comparison
printed, the suggested document written — or, with too few conversions, the reason, a non-zero
exit status and no file."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mqa.reports.suggest import calibration_suggestion
from tests.reports import test_suggest
from tests.reports.test_evidence import T

pytestmark = pytest.mark.django_db
world = test_suggest.world  # 90 contacts, 32 of them converted within 30 days of T


def suggest(*extra: str) -> list[str]:
    out = io.StringIO()
    call_command(
        "calibrate", "--cutoff", T.isoformat(), "--horizon-days", "30", "--suggest", *extra,
        stdout=out,
    )  # fmt: skip
    return out.getvalue().splitlines()


def test_it_prints_the_suggestion_and_writes_the_suggested_document(world, settings, tmp_path):
    settings.MQA_CALIBRATION_MIN_CONVERSIONS = 10
    settings.MQA_CALIBRATION_MAX_INTERVAL_WIDTH = 1.0  # a small world
    out = tmp_path / "suggested.json"

    lines = suggest("--out", str(out))

    expected = calibration_suggestion(cutoff=T, horizon_days=30)
    assert json.loads(out.read_text()) == expected["suggestion"]["document"]
    assert lines == [
        "version 1: 90 records, 32 converted",
        "evidence:",
        "  kind          rule                      matched  rate    rest    lift   95% interval   share",
        "  fit           Big account                    45   57.8%   13.3%   1.62    43.3%–71.0%   81.2%",
        "  fit           Senior                         30   53.3%   26.7%   1.50    36.1%–69.8%   50.0%",
        "  engagement    Demo                           36   52.8%   24.1%   1.48    37.0%–68.0%   59.4%",
        "  engagement    Pricing                        90   35.6%       —   1.00    26.4%–45.9%  100.0%  weak: it matched every record: there is no rest to compare with",
        "  disqualifier  student                         0       —   35.6%      —              —    0.0%  weak: only 0 records matched (fewer than 30)",
        # One account (big.io; small.io was never created), converted: everything is weak.
        "account evidence (account rules, and the MQA criteria met at the cut-off):",
        "  kind                  rule                      matched  rate    rest    lift   95% interval   share",
        "  account_fit           employee_count gte              1  100.0%       —   1.00   20.6%–100.0%  100.0%  weak: only 1 records matched (fewer than 30)",
        "  criterion             fit_floor                       1  100.0%       —   1.00   20.6%–100.0%  100.0%  weak: only 1 records matched (fewer than 30)",
        "  criterion             min_engaged_contacts            1  100.0%       —   1.00   20.6%–100.0%  100.0%  weak: only 1 records matched (fewer than 30)",
        "  criterion             engagement                      1  100.0%       —   1.00   20.6%–100.0%  100.0%  weak: only 1 records matched (fewer than 30)",
        "  criterion             min_mql_contacts                1  100.0%       —   1.00   20.6%–100.0%  100.0%  weak: only 1 records matched (fewer than 30)",
        "  signal                intent_surge                    0       —  100.0%      —              —    0.0%  weak: only 0 records matched (fewer than 30)",
        "  account_disqualifier  customer                        0       —  100.0%      —              —    0.0%  weak: only 0 records matched (fewer than 30)",
        "  criterion             min_roles                       0       —  100.0%      —              —    0.0%  weak: only 0 records matched (fewer than 30)",
        "  criterion             required_roles                  0       —  100.0%      —              —    0.0%  weak: only 0 records matched (fewer than 30)",
        "attribute values no rule uses:",
        "  none",
        "suggestion (seed 16; trained on 63 records, 22 converted):",
        "  rule                      current  suggested",
        "  Senior                         30         30  kept: weak evidence (only 20 records matched (fewer than 30))",
        "  Big account                    20         40",
        "  Demo                           40         40  kept: weak evidence (only 25 records matched (fewer than 30))",
        "  Pricing                        10         10  kept: weak evidence (it matched every record: there is no rest to compare with)",
        "  contact.thresholds.total: 70 → 80 (the highest F1 on the training part, floors held)",
        "comparison on the held-out 27 records (10 converted):",
        "  (same volume: 3 MQLs)                 version  suggestion",
        "  ROC AUC                                0.8235      0.8706",
        "  PR AUC                                 0.7738      0.7311",
        "  precision at the same volume           100.0%       66.7%",
        "  recall at the same volume               30.0%       20.0%",
        "  MQLs at its threshold                       3           7",
        "  conversion rate at its threshold       100.0%       71.4%",
        "  recall at its threshold                 30.0%       50.0%",
        "  F1 at its threshold                    0.4615      0.5882",
        f"suggested document written to {out}",
    ]  # fmt: skip
    comparison = expected["comparison"]
    assert (comparison["version"]["roc_auc"], comparison["suggestion"]["roc_auc"]) == (
        0.8235,
        0.8706,
    )
    assert expected["suggestion"]["threshold"]["suggested"] == 80


def test_too_few_conversions_exit_non_zero_and_write_nothing(world, settings, tmp_path):
    settings.MQA_CALIBRATION_MIN_CONVERSIONS = 100
    settings.MQA_CALIBRATION_MAX_INTERVAL_WIDTH = 1.0  # a small world
    out = tmp_path / "suggested.json"

    with pytest.raises(CommandError) as error:
        suggest("--out", str(out))

    assert error.value.returncode == 1
    assert str(error.value) == (
        "no suggestion: 32 conversions in the backtest; a suggestion needs at least 100 (a later"
        " cut-off, a longer horizon or the 'sql' label may give more)"
    )
    assert not out.exists()


def test_out_goes_with_suggest(world, tmp_path):
    out = tmp_path / "suggested.json"

    with pytest.raises(CommandError, match=r"^--out goes with --suggest$"):
        call_command(
            "calibrate", "--cutoff", T.isoformat(), "--horizon-days", "30", "--out", str(out)
        )

    assert not out.exists()
