"""An account week by week (`account_series_get`): what the API's `/accounts/{domain}/series`
answers and the account page charts.

* Points are a week apart, the last at `now`; each is the account as the active model scores
  it at that instant with the pure engine, seeing only the events and signals that occurred
  strictly before it (as the calibration backtest scores as of its cut-off,
  `mqa.reports.backtest`).
* As in the backtest, attributes (fit, disqualifiers, segments) and links are the records'
  current ones: the service keeps no history of field changes. A contact joins the committee
  from the time it existed: created by then, or with an event before then.
* `changes` are the account's stored status changes (SPEC §4 *History*) from the start of the
  first week on, oldest first: what really happened, under whichever model was active then.

Cheap for one account whatever the number of weeks: its contacts, their events and its
signals over the whole span are loaded once (only the rule types the model counts, from the
longest rule window before the first point), then each point filters them in memory.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Min, QuerySet
from django.utils import timezone

from accounts.models import Account, AccountSignal
from contacts.models import Contact, EngagementEvent
from mqa.models import AccountStatusChange, ScoringModelVersion
from mqa.scoring import (
    Activity,
    lookback_days,
    score_account_in_segment,
    score_contact_in_segment,
)
from mqa.scoring.segments import engagement_rules, signal_rules
from mqa.scoring.types import ActivityRule, ScoringModel
from mqa.selectors import scoring_model_of
from mqa.services.dry_run import committee_member
from mqa.services.facts import account_facts, contact_facts

WEEK = timedelta(weeks=1)
MAX_WEEKS = 104


def account_series_get(
    *, domain: str, weeks: int = 12, now: datetime | None = None
) -> dict[str, Any] | None:
    """`{"domain", "model_version", "weeks", "points": [{"at", "fit", "engagement",
    "status"}], "changes": [{"at", "from", "to", "model_version", "cause"}]}`, both oldest
    first; None for an unknown domain. Without an active model there are no points."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"weeks must be 1 to {MAX_WEEKS}")
    now = now or timezone.now()
    account = Account.objects.filter(domain=domain).first()
    if account is None:
        return None
    ends = _week_ends(weeks, now)
    active = ScoringModelVersion.objects.filter(state=ScoringModelVersion.State.ACTIVE).first()
    points = _points(account, scoring_model_of(active), ends) if active else []
    return {
        "domain": account.domain,
        "model_version": active.version if active else None,
        "weeks": weeks,
        "points": points,
        "changes": _changes(account, since=ends[0] - WEEK),
    }


def account_points(
    *, account: Account, model: ScoringModel, weeks: int, now: datetime
) -> list[dict[str, Any]]:
    """The series' `points` alone, for a caller that holds the account and the active model
    (the account page): no lookup of either, no status changes."""
    return _points(account, model, _week_ends(weeks, now))


def _week_ends(weeks: int, now: datetime) -> list[datetime]:
    return [now - WEEK * (weeks - 1 - index) for index in range(weeks)]


def _points(
    account: Account, model: ScoringModel, ends: Sequence[datetime]
) -> list[dict[str, Any]]:
    contacts = list(
        Contact.objects.filter(account=account)
        .select_related("account")
        .annotate(first_event=Min("events__occurred_at"))
        .order_by("id")
    )
    events = _activities(
        EngagementEvent.objects.filter(contact__in=[c.id for c in contacts]),
        "contact_id",
        engagement_rules(model),
        ends,
    )
    signals = _activities(
        AccountSignal.objects.filter(account=account), "account_id", signal_rules(model), ends
    )
    facts = account_facts(account)
    committee = [(contact, contact_facts(contact)) for contact in contacts]
    points = []
    for at in ends:
        members = []
        for contact, its_facts in committee:
            if _existed(contact, at):
                mine = _before(events[contact.id], at)
                result = score_contact_in_segment(model, its_facts, mine, at)
                members.append(committee_member(contact, result))
        rollup = score_account_in_segment(
            model, facts, members, _before(signals[account.id], at), at
        )
        points.append(
            {"at": at, "fit": rollup.fit, "engagement": rollup.engagement, "status": rollup.status}
        )
    return points


def _existed(contact: Contact, at: datetime) -> bool:
    first_event = getattr(contact, "first_event", None)
    return contact.created_at < at or (first_event is not None and first_event < at)


def _activities(
    rows: QuerySet[Any], owner: str, rules: Sequence[ActivityRule], ends: Sequence[datetime]
) -> defaultdict[int, list[Activity]]:
    """The activities any point may count, by owner id, each owner's sorted by time."""
    found: defaultdict[int, list[Activity]] = defaultdict(list)
    if not rules:
        return found
    rows = rows.filter(type__in={rule.type for rule in rules}, occurred_at__lt=ends[-1])
    days = lookback_days(rules)
    if days is not None:
        rows = rows.filter(occurred_at__gte=ends[0] - timedelta(days=days))
    for owner_id, kind, at, properties in rows.order_by("occurred_at").values_list(
        owner, "type", "occurred_at", "properties"
    ):
        found[owner_id].append(Activity(kind, at, properties or {}))
    return found


def _before(activities: list[Activity], at: datetime) -> list[Activity]:
    """Those that occurred strictly before `at` (the list is sorted by time)."""
    return activities[: bisect_left(activities, at, key=lambda a: a.occurred_at)]


def _changes(account: Account, *, since: datetime) -> list[dict[str, Any]]:
    rows = (
        AccountStatusChange.objects.filter(account=account, changed_at__gte=since)
        .select_related("model_version")
        .order_by("changed_at", "id")
    )
    return [
        {
            "at": change.changed_at,
            "from": change.from_status,
            "to": change.to_status,
            "model_version": change.model_version.version,
            "cause": change.cause,
        }
        for change in rows
    ]
