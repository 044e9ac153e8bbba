"""The admin: scoring model editing, routing and handoffs, webhooks, computed outputs."""

from mqa.admin import model_versions, outputs, routing, webhooks

__all__ = ["model_versions", "outputs", "routing", "webhooks"]
