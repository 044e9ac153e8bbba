from __future__ import annotations

import copy
import json

import pytest
from django.core.management import CommandError, call_command

from contacts.services import contacts_upsert, events_ingest
from mqa.models import ContactScore, ContactStatusChange, RescoreRun, ScoringModelVersion
from mqa.scoring import DocumentError
from mqa.services.model_versions import NotADraft, scoring_model_import, scoring_model_publish
from mqa.services.rescore import rescore_run_advance
from tests.factories import TEST_MODEL, mql_events

pytestmark = pytest.mark.django_db


def test_import_stores_the_canonical_document_as_the_next_draft():
    first = scoring_model_import(document=TEST_MODEL)
    second = scoring_model_import(document=TEST_MODEL)

    assert (first.version, second.version, second.state) == (1, 2, "draft")
    assert second.document["contact"]["engagement"]["cap"] == 100
    assert second.document["account"]["thresholds"]["min_mql_contacts"] == 1


def test_an_invalid_document_is_rejected_naming_each_path():
    document = copy.deepcopy(TEST_MODEL)
    document["contact"]["fit"]["rules"][1]["value"] = "200"
    document["account"]["thresholds"]["colour"] = "red"

    with pytest.raises(DocumentError) as raised:
        scoring_model_import(document=document)

    assert raised.value.errors == [
        ("contact.fit.rules[1].value", "must be a number"),
        ("account.thresholds.colour", "unknown key"),
    ]
    assert ScoringModelVersion.objects.count() == 0


def test_publishing_rescores_everything_in_chunks_with_progress(
    settings, django_capture_on_commit_callbacks
):
    settings.MQA_RESCORE_CHUNK = settings.MQA_BULK_CHUNK = settings.MQA_BULK_ACCOUNT_CHUNK = 2
    contacts_upsert(items=[{"email": f"c{i}@acme.com", "seniority": "vp"} for i in range(5)])
    events_ingest(items=mql_events("c0@acme.com"))
    version = scoring_model_import(document=TEST_MODEL)

    run = scoring_model_publish(version_id=version.id, route=False)
    assert (run.state, run.done, run.total) == ("running", 0, 5)
    assert rescore_run_advance(run_id=run.id, budget_seconds=0) is False
    run.refresh_from_db()
    assert (run.phase, run.done) == ("contacts", 2)

    assert rescore_run_advance(run_id=run.id) is True
    run.refresh_from_db()
    assert (run.state, run.done, run.total) == ("done", 5, 5)
    assert ContactScore.objects.get(contact__email="c0@acme.com").status == "mql"
    change = ContactStatusChange.objects.get()
    assert (change.cause, change.model_version_id) == ("publish", version.id)
    assert run.route is False


def test_publishing_again_supersedes_the_running_rescore_and_retires_the_old_version():
    first = scoring_model_import(document=TEST_MODEL)
    run = scoring_model_publish(version_id=first.id, route=True)
    second = scoring_model_import(document=TEST_MODEL)

    scoring_model_publish(version_id=second.id, route=True)

    run.refresh_from_db()
    first.refresh_from_db()
    assert (run.state, first.state) == ("superseded", "retired")
    assert list(
        ScoringModelVersion.objects.filter(state="active").values_list("version", flat=True)
    ) == [2]
    with pytest.raises(NotADraft):
        scoring_model_publish(version_id=first.id, route=True)


def test_a_publish_in_process_runs_the_rescore_when_it_commits(django_capture_on_commit_callbacks):
    contacts_upsert(items=[{"email": "jo@acme.com", "seniority": "vp"}])
    events_ingest(items=mql_events("jo@acme.com"))
    with django_capture_on_commit_callbacks(execute=True):
        version = scoring_model_import(document=TEST_MODEL)
        run = scoring_model_publish(version_id=version.id, route=True)

    run.refresh_from_db()
    assert (run.state, run.done, run.total) == ("done", 1, 1)
    assert ContactScore.objects.get().status == "mql"


def test_the_import_command_imports_publishes_and_reports_bad_files(tmp_path, capsys):
    good = tmp_path / "model.json"
    good.write_text(json.dumps(TEST_MODEL))
    call_command("import_scoring_model", str(good), "--publish")
    assert ScoringModelVersion.objects.get().state == "active"
    assert RescoreRun.objects.get().route is True

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**TEST_MODEL, "format": "v0"}))
    with pytest.raises(CommandError, match=r"format: must be 'mqa.scoring-model/v1'"):
        call_command("import_scoring_model", str(bad))
    assert ScoringModelVersion.objects.count() == 1


def test_the_shipped_default_model_is_valid():
    from pathlib import Path

    from mqa.scoring import parse_document

    document = json.loads((Path(__file__).parents[2] / "mqa" / "default_model.json").read_text())
    model = parse_document(document)

    assert model.name == "B2B default"
    assert model.account.thresholds.required_roles == ("decision_maker",)
