"""`field__any=[...]` (mqa.models.lookups): the same rows as `field__in`, on both databases."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact

pytestmark = pytest.mark.django_db


def test_any_finds_what_in_finds_with_one_parameter_on_postgresql():
    for email in ("a@x.io", "b@x.io", "c@x.io"):
        Contact.objects.create(email=email, email_domain="x.io")
    wanted = ["c@x.io", "a@x.io", "nobody@x.io"]

    with CaptureQueriesContext(connection) as queries:
        found = sorted(Contact.objects.filter(email__any=wanted).values_list("email", flat=True))

    assert found == ["a@x.io", "c@x.io"]
    assert found == sorted(Contact.objects.filter(email__in=wanted).values_list("email", flat=True))
    if connection.vendor == "postgresql":
        assert "= ANY(" in queries[0]["sql"]
    assert list(Contact.objects.filter(email__any=[])) == []
    assert Contact.objects.exclude(email__any=["a@x.io"]).count() == 2
