"""Scoring model versions: import as a draft, publish (activate and rescore everything)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from accounts.models import Account
from contacts.models import Contact
from mqa.batch import has_nul
from mqa.models import RescoreRun, ScoringModelVersion
from mqa.scoring import DocumentError, dump_document, parse_document


class NotADraft(ValueError):
    """Only drafts can be published or edited."""


def scoring_model_import(*, document: Any) -> ScoringModelVersion:
    """Validate a `mqa.scoring-model/v1` document and store it as the next draft version.

    Raises `mqa.scoring.DocumentError` naming the path of every problem.
    """
    if has_nul(document):
        raise DocumentError([("(document)", "must not contain NUL (\\u0000) characters")])
    model = parse_document(document)
    with transaction.atomic():
        # Lock the newest version row so concurrent imports do not pick the same number.
        list(ScoringModelVersion.objects.select_for_update().order_by("-version")[:1])
        latest = ScoringModelVersion.objects.aggregate(v=Max("version"))["v"] or 0
        return ScoringModelVersion.objects.create(
            version=latest + 1, name=model.name, document=dump_document(model)
        )


def scoring_model_publish(
    *, version_id: int, route: bool, now: datetime | None = None
) -> RescoreRun:
    """Make a draft the active version and start rescoring every contact and account.

    `route` says whether qualifications caused by this rescore are handed to sales.
    """
    from mqa.tasks import rescore_run_advance as rescore_run_advance_task

    now = now or timezone.now()
    with transaction.atomic():
        versions = {
            v.id: v
            for v in ScoringModelVersion.objects.select_for_update()
            .filter(Q(pk=version_id) | Q(state=ScoringModelVersion.State.ACTIVE))
            .order_by("pk")
        }
        target = versions.get(version_id)
        if target is None:
            raise ScoringModelVersion.DoesNotExist(f"no scoring model version {version_id}")
        if target.state != ScoringModelVersion.State.DRAFT:
            raise NotADraft(f"version {target.version} is {target.state}, not a draft")
        parse_document(target.document)  # a draft edited since import must still be valid
        ScoringModelVersion.objects.filter(state=ScoringModelVersion.State.ACTIVE).update(
            state=ScoringModelVersion.State.RETIRED
        )
        target.state = ScoringModelVersion.State.ACTIVE
        target.published_at = now
        target.save(update_fields=["state", "published_at"])
        RescoreRun.objects.filter(state=RescoreRun.State.RUNNING).update(
            state=RescoreRun.State.SUPERSEDED, finished_at=now
        )
        run = RescoreRun.objects.create(
            model_version=target,
            route=route,
            total=Contact.objects.count() + Account.objects.count(),
            started_at=now,
            heartbeat_at=now,
        )
        transaction.on_commit(lambda: rescore_run_advance_task.delay(run.id))
    return run
