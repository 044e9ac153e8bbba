"""Scoring model versions: import as a draft, edit, publish (activate and rescore everything),
roll back (publish a copy of an earlier version).

Every change is audited with its actor: the admin user (`user`) or the REST client's key
(`api_key`); neither for the system.

Orchestration layer: publishing starts a rescore run (`mqa.services.rescore`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from mqa.batch import has_nul
from mqa.models import ApiKey, Cause, RescoreRun, ScoringModelAudit, ScoringModelVersion
from mqa.scoring import DocumentError, dump_document, parse_document
from mqa.scoring.diff import document_changes
from mqa.services.rescore import rescore_run_start


class NotADraft(ValueError):
    """Only drafts can be published or edited."""


class AlreadyActive(ValueError):
    """A rollback to the version that is active already."""


def _canonical(document: Any) -> tuple[str, dict[str, Any]]:
    """Validate a `mqa.scoring-model/v1` document; raises DocumentError naming paths."""
    if has_nul(document):
        raise DocumentError([("(document)", "must not contain NUL (\\u0000) characters")])
    model = parse_document(document)
    return model.name, dump_document(model)


def _audit(
    version: ScoringModelVersion,
    action: str,
    before: dict[str, Any] | None,
    user: Any = None,
    now: datetime | None = None,
    *,
    api_key: ApiKey | None = None,
    source: ScoringModelVersion | None = None,
) -> None:
    ScoringModelAudit.objects.create(
        version=version,
        user=user if getattr(user, "pk", None) else None,
        username=getattr(user, "username", "") or "",
        api_key_name=api_key.name if api_key is not None else "",
        at=now or timezone.now(),
        action=action,
        source=source,
        changes=document_changes(before, version.document),
    )


def _new_draft(name: str, document: dict[str, Any]) -> ScoringModelVersion:
    # Lock the newest version row so concurrent imports do not pick the same number.
    list(ScoringModelVersion.objects.select_for_update().order_by("-version")[:1])
    latest = ScoringModelVersion.objects.aggregate(v=Max("version"))["v"] or 0
    return ScoringModelVersion.objects.create(version=latest + 1, name=name, document=document)


def _active_document() -> dict[str, Any] | None:
    active = ScoringModelVersion.objects.filter(state=ScoringModelVersion.State.ACTIVE).first()
    return active.document if active else None


def scoring_model_import(
    *, document: Any, user: Any = None, api_key: ApiKey | None = None
) -> ScoringModelVersion:
    """Store a valid document as the next draft version (audited against the active one)."""
    name, canonical = _canonical(document)
    with transaction.atomic():
        version = _new_draft(name, canonical)
        _audit(
            version, ScoringModelAudit.Action.IMPORTED, _active_document(), user, api_key=api_key
        )
    return version


def scoring_model_draft_from_active(*, user: Any = None) -> ScoringModelVersion:
    """A new draft holding the active version's rules, to edit and preview before publishing."""
    with transaction.atomic():
        active = ScoringModelVersion.objects.get(state=ScoringModelVersion.State.ACTIVE)
        version = _new_draft(active.name, active.document)
        _audit(version, ScoringModelAudit.Action.DRAFTED, active.document, user)
    return version


def scoring_model_draft_with_thresholds(
    *,
    version_id: int,
    contact_total: float | None = None,
    account_engagement: float | None = None,
    segment_contact_totals: Mapping[str, float] | None = None,
    segment_account_engagements: Mapping[str, float] | None = None,
    user: Any = None,
) -> ScoringModelVersion:
    """A new draft copying a version with calibrated thresholds (the backtest's one click):
    `contact.thresholds.total` and/or `account.thresholds.engagement`, and per segment (by
    name) `segments[i].contact.thresholds.total` / `segments[i].account.thresholds.engagement`
    — the segment's own key, which then no longer inherits the top level's. A name the
    version has no segment for raises DocumentError."""
    source = ScoringModelVersion.objects.get(pk=version_id)
    document = copy.deepcopy(source.document)
    if contact_total is not None:
        document["contact"]["thresholds"]["total"] = contact_total
    if account_engagement is not None:
        document.setdefault("account", {}).setdefault("thresholds", {})
        document["account"]["thresholds"]["engagement"] = account_engagement
    segments = {s.get("name"): s for s in document.get("segments") or []}
    for part, key, values in (
        ("contact", "total", segment_contact_totals or {}),
        ("account", "engagement", segment_account_engagements or {}),
    ):
        for segment_name, value in values.items():
            if segment_name not in segments:
                raise DocumentError([("segments", f"no segment named {segment_name!r}")])
            segment = segments[segment_name]
            segment.setdefault(part, {}).setdefault("thresholds", {})[key] = value
    name, canonical = _canonical(document)
    with transaction.atomic():
        version = _new_draft(name, canonical)
        _audit(version, ScoringModelAudit.Action.DRAFTED, source.document, user)
    return version


def scoring_model_draft_update(
    *, version_id: int, document: Any, user: Any = None
) -> ScoringModelVersion:
    """Replace a draft's rules; the audit row lists each rule and setting that changed."""
    name, canonical = _canonical(document)
    with transaction.atomic():
        version = ScoringModelVersion.objects.select_for_update().get(pk=version_id)
        if version.state != ScoringModelVersion.State.DRAFT:
            raise NotADraft(f"version {version.version} is {version.state}, not a draft")
        before = version.document
        if before == canonical:
            return version
        version.name, version.document = name, canonical
        version.save(update_fields=["name", "document"])
        _audit(version, ScoringModelAudit.Action.EDITED, before, user)
    return version


def scoring_model_publish(
    *,
    version_id: int,
    route: bool,
    now: datetime | None = None,
    user: Any = None,
    api_key: ApiKey | None = None,
) -> RescoreRun:
    """Make a draft the active version and start rescoring every contact and account.

    `route` says whether qualifications caused by this rescore are handed to sales.
    """
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
        previous = _active_document()
        ScoringModelVersion.objects.filter(state=ScoringModelVersion.State.ACTIVE).update(
            state=ScoringModelVersion.State.RETIRED
        )
        target.state = ScoringModelVersion.State.ACTIVE
        target.published_at = now
        target.save(update_fields=["state", "published_at"])
        _audit(target, ScoringModelAudit.Action.PUBLISHED, previous, user, now, api_key=api_key)
        RescoreRun.objects.filter(state=RescoreRun.State.RUNNING).update(
            state=RescoreRun.State.SUPERSEDED, finished_at=now
        )
        run = rescore_run_start(version=target, route=route, cause=Cause.PUBLISH, now=now)
    return run


def scoring_model_rollback(
    *,
    version_id: int,
    route: bool,
    now: datetime | None = None,
    user: Any = None,
    api_key: ApiKey | None = None,
) -> RescoreRun:
    """Make an earlier version's rules active again, in one step: a copy of it (retired or
    draft) becomes the next version, audited as a rollback naming its source, and is
    published (`route` as for publishing). Versions are never reactivated in place, so the
    history keeps reading forwards. Raises `AlreadyActive` for the active version."""
    now = now or timezone.now()
    with transaction.atomic():
        source = ScoringModelVersion.objects.get(pk=version_id)
        if source.state == ScoringModelVersion.State.ACTIVE:
            raise AlreadyActive(
                f"version {source.version} is already active: nothing to roll back to"
            )
        name, canonical = _canonical(source.document)
        version = _new_draft(name, canonical)
        _audit(
            version,
            ScoringModelAudit.Action.ROLLED_BACK,
            _active_document(),
            user,
            now,
            api_key=api_key,
            source=source,
        )
        return scoring_model_publish(
            version_id=version.pk, route=route, now=now, user=user, api_key=api_key
        )
