"""Stored scores and status history of contacts and accounts.

Scores live beside (not inside) accounts and contacts: they are outputs of the engine,
rewritten when a rescore changes them, while history rows are appended and never rewritten
(SPEC §4). A score's `model_version` and `computed_at` name the computation that last wrote it:
the full rescore after a publish leaves a row alone when its values come out unchanged.
"""

from django.db import models

from mqa.models.model_versions import ScoringModelVersion


class RecordKind(models.TextChoices):
    """The two kinds of scored record: the work queue, the stores and the transitions say which."""

    CONTACT = "contact"
    ACCOUNT = "account"


class ContactStatus(models.TextChoices):
    NONE = "none"
    ENGAGED = "engaged"
    MQL = "mql"
    DISQUALIFIED = "disqualified"


class AccountStatus(models.TextChoices):
    NONE = "none"
    ENGAGED = "engaged"
    MQA = "mqa"
    DISQUALIFIED = "disqualified"


class Cause(models.TextChoices):
    INGEST = "ingest"
    PUBLISH = "publish"
    TIME = "time"


class ScoreStamp(models.Model):
    """When a score's status last changed, and which model version computed it when.

    A score table's other fields (after its key and `status`) are what the engine computes:
    the one definition of its columns, from which both stores derive what they write
    (`computed_fields`). Its number fields are what a history row keeps as `scores`; its list
    fields join the breakdown in the history row's `explanation`.
    """

    status_since = models.DateTimeField(null=True, blank=True)
    # Not indexed: a rescore changes it on every row it rewrites, and an indexed column
    # would make each such update a non-HOT one (new entries in every index of the table).
    model_version = models.ForeignKey(
        ScoringModelVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    computed_at = models.DateTimeField(null=True, blank=True)
    # Stamped by the database on every write (`mqa.feed`); not indexed, as model_version.
    feed_position = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True


class ContactScore(ScoreStamp):
    contact = models.OneToOneField(
        "contacts.Contact", on_delete=models.CASCADE, primary_key=True, related_name="score"
    )
    status = models.CharField(
        max_length=12, choices=ContactStatus.choices, default=ContactStatus.NONE, db_index=True
    )
    fit = models.IntegerField(default=0)
    engagement = models.FloatField(default=0)
    total = models.FloatField(default=0)
    disqualified_reasons = models.JSONField(default=list)
    breakdown = models.JSONField(default=dict)
    # The segment of the model that computed it (SPEC §3), null for none.
    segment = models.CharField(max_length=255, null=True, blank=True, default=None)

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.status}"


class AccountScore(ScoreStamp):
    account = models.OneToOneField(
        "accounts.Account", on_delete=models.CASCADE, primary_key=True, related_name="score"
    )
    status = models.CharField(
        max_length=12, choices=AccountStatus.choices, default=AccountStatus.NONE, db_index=True
    )
    fit = models.IntegerField(default=0)
    engagement = models.FloatField(default=0)
    signal_score = models.FloatField(default=0)
    engaged_contacts = models.IntegerField(default=0)
    mql_contacts = models.IntegerField(default=0)
    roles_covered = models.JSONField(default=list)
    missing = models.JSONField(default=list)
    disqualified_reasons = models.JSONField(default=list)
    breakdown = models.JSONField(default=dict)
    segment = models.CharField(max_length=255, null=True, blank=True, default=None, db_index=True)

    def __str__(self) -> str:
        return f"{self.account_id}: {self.status}"


class StatusChange(models.Model):
    """Fields shared by the two history tables; rows are only ever inserted."""

    from_status = models.CharField(max_length=12)
    to_status = models.CharField(max_length=12)
    changed_at = models.DateTimeField(db_index=True)
    model_version = models.ForeignKey(
        ScoringModelVersion, on_delete=models.PROTECT, related_name="+"
    )
    cause = models.CharField(max_length=10, choices=Cause.choices)
    scores = models.JSONField()
    explanation = models.JSONField()

    class Meta:
        abstract = True
        ordering = ["-changed_at", "-id"]


class ContactStatusChange(StatusChange):
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="status_changes"
    )

    class Meta(StatusChange.Meta):
        indexes = [models.Index(fields=["contact", "-changed_at"])]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.from_status} → {self.to_status}"


class AccountStatusChange(StatusChange):
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="status_changes"
    )

    class Meta(StatusChange.Meta):
        indexes = [models.Index(fields=["account", "-changed_at"])]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.from_status} → {self.to_status}"


STAMP_FIELDS = frozenset(
    {"status", "status_since", "model_version", "computed_at", "feed_position"}
)


def computed_fields(table: type[ScoreStamp]) -> list[models.Field]:
    """The columns of a score table that a rescore computes, in table order."""
    return [
        f
        for f in table._meta.concrete_fields
        if isinstance(f, models.Field) and not f.primary_key and f.name not in STAMP_FIELDS
    ]


def is_number(field: models.Field) -> bool:
    return isinstance(field, models.IntegerField | models.FloatField)


def is_list(field: models.Field) -> bool:
    return isinstance(field, models.JSONField) and field.default is list


# Per kind of record: its score table and its history table.
SCORED: dict[
    RecordKind,
    tuple[
        type[ContactScore] | type[AccountScore],
        type[ContactStatusChange] | type[AccountStatusChange],
    ],
] = {
    RecordKind.CONTACT: (ContactScore, ContactStatusChange),
    RecordKind.ACCOUNT: (AccountScore, AccountStatusChange),
}
