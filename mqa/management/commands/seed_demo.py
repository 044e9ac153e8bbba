"""`manage.py seed_demo`: load the demo data set, the default model, and a demo login."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import Account
from mqa.demo import DEMO_ROUTING, demo_data_build, demo_data_load, demo_handoffs_play
from mqa.selectors import scoring_model_active
from mqa.services.model_versions import scoring_model_import, scoring_model_publish
from mqa.services.routing import routing_document_put

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "default_model.json"


class Command(BaseCommand):
    help = (
        "Load the demo data set; if no model is active, set up routing, publish the default "
        "model (routed) and play sales' answers to the handoffs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--accounts", type=int, default=400)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--user", default="demo", help="demo login (password = user name)")

    def handle(self, *args: Any, accounts: int, seed: int, user: str, **options: Any) -> None:
        if not settings.DEBUG:
            # Its login's password is its user name: never on a server (make serve).
            raise CommandError("seed_demo is only for the embedded demo (DJANGO_DEBUG=true)")
        if Account.objects.exists():
            self.stdout.write("demo data already loaded; leaving it as it is")
        else:
            now = timezone.now()
            counts = demo_data_load(
                data=demo_data_build(seed=seed, now=now, accounts=accounts), now=now
            )
            self.stdout.write("loaded " + ", ".join(f"{n} {what}" for what, n in counts.items()))
        if scoring_model_active() is None:
            routing_document_put(document=DEMO_ROUTING)
            version = scoring_model_import(document=json.loads(DEFAULT_MODEL.read_text()))
            run = scoring_model_publish(version_id=version.id, route=True)
            run.refresh_from_db()
            self.stdout.write(
                f"published {version.name!r} v{version.version}: "
                f"rescore {run.state} ({run.done}/{run.total})"
            )
            played = demo_handoffs_play(now=timezone.now(), seed=seed)
            self.stdout.write(
                f"handoffs routed and answered: {sum(played.values())} ("
                + ", ".join(f"{n} {step}" for step, n in played.items())
                + ")"
            )
        users = get_user_model().objects
        if not users.filter(username=user).exists():
            users.create_superuser(user, f"{user}@example.com", user)
        self.stdout.write(f"demo login: {user} / {user}")
