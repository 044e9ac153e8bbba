"""The scoring app's tables, one module per concern; import them from `mqa.models`.

Ground layer: fields, constraints and choices only; nothing here imports a service.
"""

from mqa.models.api import ApiKey
from mqa.models.model_versions import ScoringModelAudit, ScoringModelVersion
from mqa.models.routing import Handoff, RoutingQueueState, RoutingSettings
from mqa.models.scores import (
    AccountScore,
    AccountStatus,
    AccountStatusChange,
    Cause,
    ContactScore,
    ContactStatus,
    ContactStatusChange,
    RecordKind,
    StatusChange,
)
from mqa.models.webhooks import WebhookDelivery, WebhookSubscription
from mqa.models.work import Checkpoint, PendingWork, RescoreChunk, RescoreRun

__all__ = [
    "AccountScore",
    "AccountStatus",
    "AccountStatusChange",
    "ApiKey",
    "Cause",
    "Checkpoint",
    "ContactScore",
    "ContactStatus",
    "ContactStatusChange",
    "Handoff",
    "PendingWork",
    "RecordKind",
    "RescoreChunk",
    "RescoreRun",
    "RoutingQueueState",
    "RoutingSettings",
    "ScoringModelAudit",
    "ScoringModelVersion",
    "StatusChange",
    "WebhookDelivery",
    "WebhookSubscription",
]
