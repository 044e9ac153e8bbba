"""The admin shows what the Tracking API keeps, read-only."""

from __future__ import annotations

import pytest

from tracking.services import tracking_ingest

pytestmark = pytest.mark.django_db


def test_pending_messages_and_identities_are_listed_and_not_editable(admin_client):
    tracking_ingest(
        messages=[
            {"type": "track", "messageId": "m1", "anonymousId": "anon-7", "event": "Visited"},
            {"type": "identify", "messageId": "m2", "userId": "u-1", "traits": {"email": "a@b.io"}},
        ]
    )

    pending = admin_client.get("/admin/tracking/pendingmessage/")
    identities = admin_client.get("/admin/tracking/identity/")
    adding = admin_client.get("/admin/tracking/identity/add/")

    assert pending.status_code == 200 and b"anon-7" in pending.content
    assert identities.status_code == 200 and b"a@b.io" in identities.content
    assert adding.status_code == 403
