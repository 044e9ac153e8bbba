"""Change feeds (`mqa.feed`): every write stamps a position; pages go in position order, each
change once, and `next` at the end is where to poll again. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from contacts.models import Contact
from contacts.services import contacts_upsert
from mqa.batch import Invalid
from mqa.feed import FeedCursor, feed_page
from mqa.models import ContactScore

# Committed for real: on PostgreSQL a position is the id of the transaction that wrote it.
pytestmark = pytest.mark.django_db(transaction=True)


def page(after: FeedCursor, limit: int = 2) -> tuple[list[str], FeedCursor]:
    rows, last = feed_page(
        Contact.objects.select_related("score"),
        position="score__feed_position",
        key="id",
        after=after,
        limit=limit,
    )
    return [c.email for c in rows], last


def test_every_score_write_stamps_a_later_position():
    contacts_upsert(items=[{"email": "a@x.io"}, {"email": "b@x.io"}])
    first = dict(ContactScore.objects.values_list("contact__email", "feed_position"))

    ContactScore.objects.filter(contact__email="a@x.io").update(fit=5)

    later = dict(ContactScore.objects.values_list("contact__email", "feed_position"))
    assert None not in first.values()
    assert later["a@x.io"] > max(first.values())
    assert later["b@x.io"] == first["b@x.io"]


def test_pages_serve_each_change_once_and_a_record_changed_again_comes_again():
    contacts_upsert(items=[{"email": f"{n}@x.io"} for n in "abc"])

    one, after_one = page(FeedCursor())
    two, after_two = page(after_one)
    end, at_end = page(after_two)
    assert (one, two, end, at_end) == (["a@x.io", "b@x.io"], ["c@x.io"], [], after_two)

    ContactScore.objects.filter(contact__email="a@x.io").update(fit=1)

    assert page(at_end)[0] == ["a@x.io"]


def test_a_cursor_goes_and_comes_back_as_text():
    cursor = FeedCursor(1234, 56)

    assert FeedCursor.decode(cursor.encode()) == cursor
    assert FeedCursor.decode(None) == FeedCursor()
    with pytest.raises(Invalid):
        FeedCursor.decode("not a cursor")
