"""Read-side queries for contacts: lookup by email or id with scores and what each still
lacks to be an MQL, status history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from contacts.models import Contact
from mqa.models import ContactStatusChange
from mqa.scoring.missing import contact_missing
from mqa.scoring.segments import contact_model, segment_named, segment_of
from mqa.selectors import scoring_model_active, scoring_model_of
from mqa.services.facts import CONTACT_FACTS, account_facts


def _with_scores() -> QuerySet[Contact]:
    return Contact.objects.select_related("account", "score", "score__model_version")


def missing_of(contact: Contact) -> list[dict[str, Any]]:
    """What the contact (loaded as `_with_scores`) still lacks to be an MQL, measured by the
    thresholds that judged its stored score: its model version's, of the segment it names.
    A contact not scored yet is measured as it stands (fit and engagement 0) by the active
    model, in its account's segment; with no model at all, nothing is missing."""
    score = getattr(contact, "score", None)
    if score is not None and score.model_version is not None:
        model = scoring_model_of(score.model_version)
        segment = segment_named(model, score.segment)
        fit, engagement = score.fit, score.engagement
    else:
        active = scoring_model_active()
        if active is None:
            return []
        model = active.model
        segment = segment_of(model, account_facts(contact.account) if contact.account else None)
        fit, engagement = 0, 0.0
    thresholds = contact_model(model, segment).thresholds
    return list(contact_missing(thresholds, fit=fit, engagement=engagement))


def contact_of(contact: Contact) -> dict[str, Any]:
    score = getattr(contact, "score", None)
    return {
        "id": contact.id,
        **{name: getattr(contact, name) for name in CONTACT_FACTS},
        "status": score.status if score else "none",
        "fit": score.fit if score else 0,
        "engagement": score.engagement if score else 0.0,
        "total": score.total if score else 0.0,
        "disqualified_reasons": score.disqualified_reasons if score else [],
        "breakdown": score.breakdown if score else {},
        "account_domain": contact.account.domain if contact.account else None,
        "segment": score.segment if score else None,
        "status_since": score.status_since if score else None,
        "model_version": score.model_version.version if score and score.model_version else None,
        "computed_at": score.computed_at if score else None,
        "missing": missing_of(contact),
    }


def contact_list() -> QuerySet[Contact]:
    return _with_scores()


def contacts_updated_since(contacts: QuerySet[Contact], since: datetime) -> QuerySet[Contact]:
    """Contacts whose fields or score changed at or after `since`."""
    return contacts.filter(Q(updated_at__gte=since) | Q(score__computed_at__gte=since))


def contact_get(*, contact_id: int) -> dict[str, Any] | None:
    contact = _with_scores().filter(pk=contact_id).first()
    return contact_of(contact) if contact else None


def contact_history_list(*, contact_id: int) -> QuerySet[ContactStatusChange] | None:
    if not Contact.objects.filter(pk=contact_id).exists():
        return None
    return ContactStatusChange.objects.filter(contact_id=contact_id).select_related("model_version")
