"""The admin: scoring model editing, routing and handoffs, webhooks, computed outputs."""

from mqa.admin import outputs, routing, scoring, webhooks

__all__ = ["outputs", "routing", "scoring", "webhooks"]
