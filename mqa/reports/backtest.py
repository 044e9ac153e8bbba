"""Calibration backtest: score every contact and account as of a cut-off T with only what
happened before T, label who converted within the horizon after T, and summarise thresholds.

* Scores come from the pure engine (`mqa.scoring`) with `now = T`; events and signals are
  loaded with `occurred_at < T`, so nothing at or after T can change a score.
* Attributes (fit, disqualifiers) are the records' current values: the service keeps no
  history of field changes.
* The population is every contact that existed by T (created before T, or with an event
  before T) and every account that did (created before T, or with a linked contact of the
  population or a signal before T), minus those that had already converted by T.
* Converted: an outcome of the chosen label (`won`, or `sql` = sql, opportunity, won or lost)
  recorded after T and no later than T + horizon. A lead handoff's outcome labels its contact
  and the contact's account; an account handoff's outcome labels the account.
* Segments (SPEC §3): each record is scored with its segment's effective model, and every
  criterion other than the threshold under study (`qualifies_otherwise`, the floors held
  fixed in a floor's curve) is judged by the record's own thresholds. The overall summaries
  move one threshold for everyone; `segments` has, when the model has segments, one entry per
  segment in document order and one for no segment (last), each over its own records and
  moving that segment's threshold from its current effective value, with the document path
  a recommendation would be written to (`segments[i].contact.thresholds.total`, or the top
  level's `contact.thresholds.total` for no segment; the same for the account engagement).
* Guardrails (`mqa.reports.calibration.guarded`): no summary recommends a threshold or floor
  from fewer than `min_conversions` conversions among its records (default the setting
  `MQA_CALIBRATION_MIN_CONVERSIONS`, 30) or when the 95% interval of the conversion rate at
  the recommended point is wider than `max_interval_width` (default 0.2); `refused` says why.
* `left_out` counts the records outside the population and why: `created_after_cutoff`
  (contacts created at or after T with no event before it; accounts created at or after T
  with no contact of the population and no signal before it) and `converted_before_cutoff`.
  No record is left out for want of a label: one with no outcome in the horizon (or a later
  one) is a record that did not convert.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Min, Q

from accounts.models import Account, AccountSignal
from contacts.models import Contact, EngagementEvent
from mqa.models import Handoff, ScoringModelVersion
from mqa.reports.calibration import MAX_INTERVAL_WIDTH, Scored, calibration_summary
from mqa.reports.funnel import REACHES
from mqa.scoring import CommitteeMember
from mqa.scoring.segments import account_model, contact_model
from mqa.scoring.types import (
    AccountResult,
    ContactResult,
    ContactThresholds,
    ScoringModel,
    Segment,
)
from mqa.selectors import scoring_model_of
from mqa.services.dry_run import accounts_scored, committee_member, contacts_scored

LABELS = {"won": REACHES["won"], "sql": REACHES["sql"]}
GOALS = ("f1", "rate")


class BacktestError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _first_conversions(label: str) -> tuple[dict[int, datetime], dict[int, datetime]]:
    """When each contact and account first reached the label."""
    rows = (
        Handoff.objects.filter(status=Handoff.Status.ACCEPTED, outcome__in=LABELS[label])
        .exclude(outcome_at__isnull=True)
        .values("kind", "contact_id", "contact__account_id", "account_id")
        .annotate(first=Min("outcome_at"))
    )
    contacts: dict[int, datetime] = {}
    accounts: dict[int, datetime] = {}

    def keep(into: dict[int, datetime], key: int | None, at: datetime) -> None:
        if key is not None and (key not in into or at < into[key]):
            into[key] = at

    for row in rows:
        keep(contacts, row["contact_id"], row["first"])
        keep(accounts, row["account_id"] or row["contact__account_id"], row["first"])
    return contacts, accounts


Floors = dict[str, tuple[float, Callable[[Scored, float], bool], list[float]]]


def _contact_floors(
    records: Sequence[Scored],
    current: ContactThresholds,
    own: Callable[[Scored], ContactThresholds],
) -> Floors:
    """The fit and engagement floor curves: one floor moves, every other criterion is the
    record's own (`own`, its segment's thresholds); `current` marks the floor in use."""
    return {
        "fit_floor": (
            current.fit_floor,
            lambda r, f: (
                r.eligible
                and r.fit >= f
                and r.engagement >= own(r).engagement_floor
                and r.score >= own(r).total
            ),
            [r.fit for r in records],
        ),
        "engagement_floor": (
            current.engagement_floor,
            lambda r, e: (
                r.eligible
                and r.fit >= own(r).fit_floor
                and r.engagement >= e
                and r.score >= own(r).total
            ),
            [r.engagement for r in records],
        ),
    }


def _by_segment(
    model: ScoringModel,
    contacts: Sequence[Scored],
    accounts: Sequence[Scored],
    *,
    own: Callable[[Scored], ContactThresholds],
    summary: Callable[..., dict[str, Any]],
) -> list[dict[str, Any]]:
    """One summary per segment of the model (document order), then no segment; none at all
    when the model has no segments (the overall summaries are then exactly no segment's)."""
    if not model.segments:
        return []
    entries: list[tuple[int | None, Segment | None]] = [*enumerate(model.segments), (None, None)]
    out = []
    for index, segment in entries:
        name = segment.name if segment else None
        prefix = "" if index is None else f"segments[{index}]."
        t = contact_model(model, segment).thresholds
        mine = [r for r in contacts if r.segment == name]
        its_accounts = [r for r in accounts if r.segment == name]
        out.append(
            {
                "segment": name,
                "index": index,
                "contacts": {
                    "threshold": f"{prefix}contact.thresholds.total",
                    **summary(mine, current=t.total, floors=_contact_floors(mine, t, own)),
                },
                "accounts": {
                    "threshold": f"{prefix}account.thresholds.engagement",
                    **summary(
                        its_accounts, current=account_model(model, segment).thresholds.engagement
                    ),
                },
            }
        )
    return out


def _label(first: datetime | None, cutoff: datetime, end: datetime) -> bool | None:
    """True / False for the population, None for records already converted by the cut-off."""
    if first is None:
        return False
    if first <= cutoff:
        return None
    return first <= end


@dataclass(frozen=True)
class Backtested:
    """A record of a backtest's population, scored as of the cut-off: a contact (with its
    result) or an account (with its rollup), and whether it converted in the horizon — None
    when it had already converted by the cut-off."""

    key: str
    result: ContactResult | AccountResult
    converted: bool | None
    contact: Contact | None = None
    account: Account | None = None

    @property
    def contact_result(self) -> ContactResult:
        assert isinstance(self.result, ContactResult)
        return self.result

    @property
    def account_result(self) -> AccountResult:
        assert isinstance(self.result, AccountResult)
        return self.result


def backtest_population(
    *, model: ScoringModel, cutoff: datetime, horizon_days: int, label: str
) -> Iterator[Backtested]:
    """Every contact, then every account, that existed by the cut-off (see the module
    docstring), scored with `model` as of the cut-off with only earlier activities, and
    labelled; accounts roll up their contacts' scores as of the cut-off."""
    end = cutoff + timedelta(days=horizon_days)
    converted_contacts, converted_accounts = _first_conversions(label)
    committees: dict[int, list[CommitteeMember]] = defaultdict(list)
    existing = Contact.objects.filter(
        Q(created_at__lt=cutoff)
        | Q(pk__in=EngagementEvent.objects.filter(occurred_at__lt=cutoff).values("contact_id"))
    )
    for contact, result in contacts_scored(model, existing, cutoff, before=cutoff):
        if contact.account_id:
            committees[contact.account_id].append(committee_member(contact, result))
        converted = _label(converted_contacts.get(contact.id), cutoff, end)
        yield Backtested(contact.email, result, converted, contact=contact)
    existing_accounts = Account.objects.filter(
        Q(created_at__lt=cutoff)
        | Q(pk__in=list(committees))
        | Q(pk__in=AccountSignal.objects.filter(occurred_at__lt=cutoff).values("account_id"))
    )
    for account, rollup in accounts_scored(
        model, existing_accounts, committees, cutoff, before=cutoff
    ):
        converted = _label(converted_accounts.get(account.id), cutoff, end)
        yield Backtested(account.domain, rollup, converted, account=account)


def backtest_version(version_id: int | None) -> tuple[ScoringModelVersion, ScoringModel]:
    """The version a backtest scores with (the active one unless named) and its model."""
    versions = ScoringModelVersion.objects.all()
    version = (
        versions.filter(pk=version_id).first()
        if version_id is not None
        else versions.filter(state=ScoringModelVersion.State.ACTIVE).first()
    )
    if version is None:
        raise BacktestError(
            "version", "no such scoring model version" if version_id else "no active model"
        )
    return version, scoring_model_of(version)


def calibration_backtest(
    *,
    cutoff: datetime,
    horizon_days: int,
    label: str = "won",
    goal: str = "f1",
    target_rate: float | None = None,
    version_id: int | None = None,
    min_conversions: int | None = None,
    max_interval_width: float = MAX_INTERVAL_WIDTH,
) -> dict[str, Any]:
    if min_conversions is None:
        min_conversions = settings.MQA_CALIBRATION_MIN_CONVERSIONS
    if label not in LABELS:
        raise BacktestError("label", f"label must be one of {', '.join(LABELS)}")
    if goal not in GOALS:
        raise BacktestError("goal", f"goal must be one of {', '.join(GOALS)}")
    if goal == "rate" and (target_rate is None or not 0 < target_rate <= 1):
        raise BacktestError("target_rate", "goal 'rate' needs a target_rate in (0, 1]")
    if horizon_days < 1:
        raise BacktestError("horizon_days", "must be at least 1")
    if min_conversions < 1:
        raise BacktestError("min_conversions", "must be at least 1")
    if not 0 < max_interval_width <= 1:
        raise BacktestError("max_interval_width", "must be in (0, 1]")
    version, model = backtest_version(version_id)
    thresholds = {None: model.contact.thresholds} | {
        s.name: s.contact.thresholds for s in model.segments
    }
    contacts: list[Scored] = []
    accounts: list[Scored] = []
    seen = {"contacts": 0, "accounts": 0}
    converted_before = {"contacts": 0, "accounts": 0}
    for record in backtest_population(
        model=model, cutoff=cutoff, horizon_days=horizon_days, label=label
    ):
        kind = "contacts" if record.contact else "accounts"
        seen[kind] += 1
        if record.converted is None:
            converted_before[kind] += 1
            continue
        eligible = record.result.status != "disqualified"
        if record.contact is not None:
            result = record.contact_result
            its = thresholds[result.segment]
            contacts.append(
                Scored(
                    key=record.key,
                    score=result.total,
                    qualifies_otherwise=eligible
                    and result.fit >= its.fit_floor
                    and result.engagement >= its.engagement_floor,
                    converted=record.converted,
                    fit=result.fit,
                    engagement=result.engagement,
                    eligible=eligible,
                    segment=result.segment,
                )
            )
        else:
            rollup = record.account_result
            accounts.append(
                Scored(
                    key=record.key,
                    score=rollup.engagement,
                    qualifies_otherwise=eligible
                    and all(m["criterion"] == "engagement" for m in rollup.missing),
                    converted=record.converted,
                    fit=rollup.fit,
                    engagement=rollup.engagement,
                    eligible=eligible,
                    segment=rollup.segment,
                )
            )

    t = model.contact.thresholds

    def own(r: Scored) -> ContactThresholds:
        return thresholds[r.segment]

    def summary(records: Sequence[Scored], **kwargs: Any) -> dict[str, Any]:
        return calibration_summary(
            records,
            goal=goal,
            target_rate=target_rate,
            min_conversions=min_conversions,
            max_interval_width=max_interval_width,
            **kwargs,
        )

    totals = {"contacts": Contact.objects.count(), "accounts": Account.objects.count()}
    return {
        "cutoff": cutoff,
        "horizon_days": horizon_days,
        "label": label,
        "goal": goal,
        "target_rate": target_rate,
        "model_version": version.version,
        "version_id": version.id,
        "guardrails": {
            "min_conversions": min_conversions,
            "max_interval_width": max_interval_width,
        },
        "left_out": {
            kind: {
                "created_after_cutoff": totals[kind] - seen[kind],
                "converted_before_cutoff": converted_before[kind],
            }
            for kind in ("contacts", "accounts")
        },
        "contacts": {
            "threshold": "contact.thresholds.total",
            **summary(contacts, current=t.total, floors=_contact_floors(contacts, t, own)),
        },
        "accounts": {
            "threshold": "account.thresholds.engagement",
            **summary(accounts, current=model.account.thresholds.engagement),
        },
        "segments": _by_segment(model, contacts, accounts, own=own, summary=summary),
    }
