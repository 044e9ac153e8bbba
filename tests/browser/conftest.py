"""Headless Chromium (Debian's package, installed by `make test`) driven by Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections

CHROMIUM = os.environ.get("MQA_CHROMIUM", "/usr/bin/chromium")
# Quiet flags: the machine has no network but loopback, and nothing may be downloaded.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between page actions are ordinary blocking calls, which Django must be told are fine.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        if os.environ.get("MQA_REQUIRE_SERVICES") == "1":
            pytest.fail(f"no Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield instance
        instance.close()
        # While Playwright's loop runs, the ORM keeps its connections in a context of their
        # own; close them here, or the test database cannot be dropped at the end.
        connections.close_all()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture
def demo(db: None) -> dict[str, Any]:
    """The demo data set — 100 accounts: 74 targets, the others' people inbound leads — with
    the default model published with routing and sales' answers played (what `make demo`
    shows), and a staff login `marketer`."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import override_settings

    with override_settings(DEBUG=True), open(os.devnull, "w") as quiet:
        call_command("seed_demo", "--accounts", "100", "--user", "marketer", stdout=quiet)
    user = get_user_model().objects.get(username="marketer")
    user.set_password("secret-pass")
    user.save()
    return {"user": user}
