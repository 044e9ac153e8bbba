"""`import_csv` mapping transforms: value maps, country names, placeholders, row filters, count
columns turned into events, and a contact's creation time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from contacts.models import Contact, EngagementEvent

pytestmark = pytest.mark.django_db

LEADS = (
    "Lead Number,Lead Origin,Lead Source,Country,TotalVisits,Created\n"
    "1,API,Google,Germany,3,2026-01-05 10:00:00\n"
    "2,Landing Page Submission,google,DEU,0,2026-01-06 11:00:00\n"
    "3,API,Olark Chat,United Kingdom,2.0,2026-01-07 12:00:00\n"
    "4,Lead Import,Select,Select,,2026-01-08 13:00:00\n"
    "5,API,N/A,,1,2026-01-09 14:00:00\n"
)
EMAIL = {"template": "lead{Lead Number}@leads.example"}


def mapping(**sections: dict) -> dict:
    return {"format": "mqa.csv-mapping/v1", "timezone": "UTC", **sections}


def contacts(**columns: object) -> dict:
    return {"file": "leads.csv", "columns": {"email": EMAIL, **columns}}


def run(tmp_path: Path, document: dict, leads: str = LEADS) -> tuple[str, str]:
    (tmp_path / "leads.csv").write_text(leads)
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(document))
    out, err = StringIO(), StringIO()
    call_command("import_csv", str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def stored(*fields: str) -> list[tuple[object, ...]]:
    return list(Contact.objects.order_by("email").values_list("email", *fields))


def test_a_value_map_replaces_the_listed_values_and_keeps_the_others(tmp_path):
    document = mapping(
        contacts=contacts(
            lead_source={
                "column": "Lead Source",
                "map": {"Google": "paid_search", "google": "paid_search", "N/A": None},
            }
        )
    )

    run(tmp_path, document)

    assert stored("lead_source") == [
        ("lead1@leads.example", "paid_search"),
        ("lead2@leads.example", "paid_search"),
        ("lead3@leads.example", "Olark Chat"),
        ("lead4@leads.example", "Select"),
        ("lead5@leads.example", None),
    ]


def test_country_names_and_alpha_3_codes_become_iso_alpha_2(tmp_path):
    leads = "Lead Number,Country\n1,Germany\n2,DEU\n3,united kingdom\n4,Russia\n5,de\n6,UK\n"
    document = mapping(contacts=contacts(country={"column": "Country", "transform": "country"}))

    run(tmp_path, document, leads)

    assert stored("country") == [
        ("lead1@leads.example", "DE"),
        ("lead2@leads.example", "DE"),
        ("lead3@leads.example", "GB"),
        ("lead4@leads.example", "RU"),
        ("lead5@leads.example", "DE"),
        ("lead6@leads.example", "GB"),
    ]


def test_an_unknown_country_name_is_a_grouped_error_and_nothing_is_stored(tmp_path):
    leads = "Lead Number,Country\n1,Germany\n2,Atlantis\n3,Atlantis\n4,Asia/Pacific Region\n"
    document = mapping(contacts=contacts(country={"column": "Country", "transform": "country"}))

    with pytest.raises(CommandError) as refused:
        run(tmp_path, document, leads)

    assert str(refused.value).startswith("3 rows rejected: nothing was imported")
    assert Contact.objects.count() == 0


def test_an_unknown_country_name_is_reported_once_with_its_rows_and_values(tmp_path):
    leads = "Lead Number,Country\n1,Germany\n2,Atlantis\n3,Atlantis\n4,Asia/Pacific Region\n"
    document = mapping(contacts=contacts(country={"column": "Country", "transform": "country"}))
    (tmp_path / "leads.csv").write_text(leads)
    (tmp_path / "mapping.json").write_text(json.dumps(document))
    err = StringIO()

    with pytest.raises(CommandError):
        call_command("import_csv", str(tmp_path / "mapping.json"), stdout=StringIO(), stderr=err)

    assert err.getvalue().splitlines() == [
        "rejected: leads.csv: country: is not a country name or ISO 3166 code — 3 rows "
        "(first: 3, 4, 5); values: 'Atlantis' (2), 'Asia/Pacific Region' (1)"
    ]


def test_placeholders_are_missing_values_for_every_column_or_one(tmp_path):
    # given "Select" as a placeholder everywhere and "N/A" only for the lead source
    document = mapping(
        missing=["select"],
        contacts=contacts(
            lead_source={"column": "Lead Source", "missing": ["N/A"]},
            country={"column": "Country", "transform": "country"},
        ),
    )

    run(tmp_path, document)

    # then those cells leave their field out instead of being stored or refused
    assert stored("lead_source", "country") == [
        ("lead1@leads.example", "Google", "DE"),
        ("lead2@leads.example", "google", "DE"),
        ("lead3@leads.example", "Olark Chat", "GB"),
        ("lead4@leads.example", None, None),
        ("lead5@leads.example", None, None),
    ]


@pytest.mark.parametrize(
    ("where", "kept", "filtered"),
    [
        ([{"column": "Lead Origin", "equals": "API"}], [1, 3, 5], 2),
        ([{"column": "Lead Origin", "in": ["API", "Lead Import"]}], [1, 3, 4, 5], 1),
        ([{"column": "Lead Origin", "not_in": ["API"]}], [2, 4], 3),
        ([{"column": "TotalVisits", "not_empty": True}], [1, 2, 3, 5], 1),
        ([{"column": "Lead Source", "not_empty": True}], [1, 2, 3], 2),
        (
            [{"column": "Lead Origin", "equals": "API"}, {"column": "Country", "not_empty": True}],
            [1, 3],
            3,
        ),
    ],
)
def test_a_row_filter_keeps_only_the_matching_rows(tmp_path, where, kept, filtered):
    document = mapping(missing=["Select", "N/A"], contacts=contacts() | {"where": where})

    out, _ = run(tmp_path, document)

    assert out.splitlines()[0] == (
        f"contacts: 5 rows read, {filtered} filtered out; "
        f"created {len(kept)}, updated 0, suppressed 0"
    )
    assert [email for (email,) in stored()] == [f"lead{n}@leads.example" for n in kept]


def test_a_count_column_becomes_that_many_events_at_the_rows_time(tmp_path):
    # given visits per lead (3, 0, 2.0, empty, 1) and the lead's creation time as the row's time
    document = mapping(
        events={
            "file": "leads.csv",
            "count": "TotalVisits",
            "columns": {
                "email": EMAIL,
                "id": "Lead Number",
                "type": {"value": "page_view"},
                "occurred_at": "Created",
                "source": {"value": "leads-csv"},
            },
        }
    )

    out, _ = run(tmp_path, document)

    assert out.splitlines()[0] == (
        "events: 5 rows read; accepted 6, duplicates 0, conflicts 0, suppressed 0"
    )
    assert list(
        EngagementEvent.objects.order_by("external_id").values_list(
            "contact__email", "external_id", "type", "occurred_at", "source"
        )
    ) == [
        ("lead1@leads.example", "1-1", "page_view", datetime(2026, 1, 5, 10, tzinfo=UTC), "leads-csv"),
        ("lead1@leads.example", "1-2", "page_view", datetime(2026, 1, 5, 10, tzinfo=UTC), "leads-csv"),
        ("lead1@leads.example", "1-3", "page_view", datetime(2026, 1, 5, 10, tzinfo=UTC), "leads-csv"),
        ("lead3@leads.example", "3-1", "page_view", datetime(2026, 1, 7, 12, tzinfo=UTC), "leads-csv"),
        ("lead3@leads.example", "3-2", "page_view", datetime(2026, 1, 7, 12, tzinfo=UTC), "leads-csv"),
        ("lead5@leads.example", "5-1", "page_view", datetime(2026, 1, 9, 14, tzinfo=UTC), "leads-csv"),
    ]  # fmt: skip


def test_a_count_that_is_not_a_whole_number_is_a_grouped_error(tmp_path):
    leads = "Lead Number,TotalVisits,Created\n1,2.5,2026-01-05\n2,-1,2026-01-05\n3,2,2026-01-05\n"
    document = mapping(
        events={
            "file": "leads.csv",
            "count": "TotalVisits",
            "columns": {"email": EMAIL, "id": "Lead Number", "type": {"value": "page_view"},
                        "occurred_at": "Created"},
        }
    )  # fmt: skip
    (tmp_path / "leads.csv").write_text(leads)
    (tmp_path / "mapping.json").write_text(json.dumps(document))
    err = StringIO()

    with pytest.raises(CommandError, match="2 rows rejected"):
        call_command("import_csv", str(tmp_path / "mapping.json"), stdout=StringIO(), stderr=err)

    assert err.getvalue().splitlines() == [
        "rejected: leads.csv: count: is not a whole number from 0 to 10,000 — 2 rows "
        "(first: 2, 3); values: '2.5' (1), '-1' (1)"
    ]
    assert EngagementEvent.objects.count() == 0


def test_a_contacts_creation_time_is_taken_from_its_column(tmp_path):
    # given a contact that already exists, and two new ones
    Contact.objects.create(email="lead1@leads.example", email_domain="leads.example")
    leads = "Lead Number,Created\n1,2025-11-02 08:00:00\n2,2025-12-24\n3,\n"
    document = mapping(contacts=contacts(created_at="Created"))
    before = datetime.now(tz=UTC)

    out, _ = run(tmp_path, document, leads)

    # then the mapped times are stored; without one the contact is created now
    assert out.splitlines()[0] == "contacts: 3 rows read; created 2, updated 1, suppressed 0"
    rows = stored("created_at")
    assert rows[:2] == [
        ("lead1@leads.example", datetime(2025, 11, 2, 8, tzinfo=UTC)),
        ("lead2@leads.example", datetime(2025, 12, 24, tzinfo=UTC)),
    ]
    assert rows[2][0] == "lead3@leads.example"
    assert rows[2][1] >= before


@pytest.mark.parametrize(
    ("columns", "extra", "message"),
    [
        ({"country": {"column": "Country", "transform": "flag"}}, {},
         "contacts.columns.country.transform: must be one of country"),
        ({"country": {"value": "DE", "transform": "country"}}, {},
         "contacts.columns.country.transform: applies to a column or template, not a value"),
        ({"lead_source": {"column": "Lead Source", "map": {"a": 1}}}, {},
         'contacts.columns.lead_source.map: must map cell values to values or null: {"from": "to"}'),
        ({"lead_source": {"column": "Lead Source", "missing": "Select"}}, {},
         "contacts.columns.lead_source.missing: must be a list of strings"),
        ({"created_at": {"column": "Created", "transform": "country"}}, {},
         "contacts.columns.created_at.transform: 'country' makes text, not datetime"),
        ({}, {"where": [{"column": "Lead Origin", "like": "API"}]},
         "contacts.where[0]: must have a column and one of equals / in / not_in / not_empty"),
        ({}, {"where": [{"column": "Lead Origin", "in": "API"}]},
         "contacts.where[0].in: must be a list of strings"),
        ({}, {"where": [{"column": "Lead Origin", "not_empty": False}]},
         "contacts.where[0].not_empty: must be true"),
        ({}, {"count": "TotalVisits"}, "contacts.count: unknown key"),
    ],
)  # fmt: skip
def test_a_bad_transform_is_refused_with_its_path(tmp_path, columns, extra, message):
    document = mapping(contacts=contacts(**columns) | extra)

    with pytest.raises(CommandError) as refused:
        run(tmp_path, document)

    assert str(refused.value) == f"{tmp_path / 'mapping.json'}: {message}"
    assert Contact.objects.count() == 0


def test_a_count_column_needs_an_event_id(tmp_path):
    document = mapping(
        events={"file": "leads.csv", "count": "TotalVisits",
                "columns": {"email": EMAIL, "type": {"value": "page_view"}, "occurred_at": "Created"}}
    )  # fmt: skip

    with pytest.raises(CommandError) as refused:
        run(tmp_path, document)

    assert str(refused.value) == (
        f"{tmp_path / 'mapping.json'}: "
        "events.count: needs an id column (each item's id is suffixed)"
    )
