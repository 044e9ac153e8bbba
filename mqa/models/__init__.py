"""The scoring app's tables, one module per concern; import them from `mqa.models`."""

from mqa.models.api import ApiKey
from mqa.models.routing import Handoff, RoutingQueueState, RoutingSettings
from mqa.models.scoring import (
    AccountScore,
    AccountStatus,
    AccountStatusChange,
    Cause,
    Checkpoint,
    ContactScore,
    ContactStatus,
    ContactStatusChange,
    PendingWork,
    RescoreChunk,
    RescoreRun,
    ScoringModelAudit,
    ScoringModelVersion,
    StatusChange,
)
from mqa.models.webhooks import WebhookDelivery, WebhookSubscription

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
