"""`manage.py import_csv`: mapped columns land as API items would; any bad row stores nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Account
from contacts.models import Contact, EngagementEvent
from mqa.models import Handoff

pytestmark = pytest.mark.django_db

ACCOUNTS = (
    "Website,Company,Employees,Target\nhttps://www.Acme.com/,Acme,250,yes\nbeta.io,Beta,,no\n"
)
LEADS = (
    "lead_id,first_contact,origin,page\n"
    "L1,2026-01-10 09:30:00,paid_search,p-7\n"
    "L2,2026-01-11,email,p-8\n"
)
DEALS = "lead_id,won_date\nL1,2026-02-01 12:00:00\n"
EMAIL = {"template": "{lead_id}@leads.example"}
MAPPING = {
    "format": "mqa.csv-mapping/v1",
    "timezone": "UTC",
    "accounts": {
        "file": "accounts.csv",
        "columns": {"domain": "Website", "name": "Company", "employee_count": "Employees", "is_target": "Target"},
    },
    "contacts": {
        "file": "leads.csv",
        "columns": {"email": EMAIL, "lead_source": "origin", "custom.first_page": "page"},
    },
    "events": {
        "file": "leads.csv",
        "columns": {
            "email": EMAIL,
            "id": "lead_id",
            "source": {"value": "csv"},
            "type": {"value": "first_contact"},
            "occurred_at": "first_contact",
            "properties.page": "page",
        },
    },
    "outcomes": {
        "file": "deals.csv",
        "columns": {"email": EMAIL, "outcome": {"value": "won"}, "at": "won_date"},
    },
}  # fmt: skip


def files(tmp_path: Path, mapping=None, **texts: str) -> Path:
    contents = {"accounts.csv": ACCOUNTS, "leads.csv": LEADS, "deals.csv": DEALS}
    contents |= {f"{name}.csv": text for name, text in texts.items()}
    for name, text in contents.items():
        (tmp_path / name).write_text(text)
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(mapping or MAPPING))
    return path


def run(path: Path, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_csv", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def nothing_stored() -> bool:
    return not (
        Account.objects.exists()
        or Contact.objects.exists()
        or EngagementEvent.objects.exists()
        or Handoff.objects.exists()
    )


def test_it_imports_every_section_through_the_mapping(tmp_path):
    out, err = run(files(tmp_path))

    assert out.splitlines() == [
        "accounts: 2 rows read; created 2, updated 0",
        "contacts: 2 rows read; created 2, updated 0, suppressed 0",
        "events: 2 rows read; accepted 2, duplicates 0, conflicts 0, suppressed 0",
        "outcomes: 1 rows read; created 1, updated 0, unchanged 0",
        "imported; 0 rows rejected",
    ]
    assert err == ""
    assert list(
        Account.objects.order_by("domain").values_list(
            "domain", "name", "employee_count", "is_target"
        )
    ) == [
        ("acme.com", "Acme", 250, True),
        ("beta.io", "Beta", None, False),
    ]
    assert list(
        Contact.objects.order_by("email").values_list("email", "lead_source", "custom")
    ) == [
        ("l1@leads.example", "paid_search", {"first_page": "p-7"}),
        ("l2@leads.example", "email", {"first_page": "p-8"}),
    ]
    assert list(
        EngagementEvent.objects.order_by("external_id").values_list(
            "contact__email", "type", "occurred_at", "properties", "source"
        )
    ) == [
        (
            "l1@leads.example",
            "first_contact",
            datetime(2026, 1, 10, 9, 30, tzinfo=UTC),
            {"page": "p-7"},
            "csv",
        ),
        (
            "l2@leads.example",
            "first_contact",
            datetime(2026, 1, 11, tzinfo=UTC),
            {"page": "p-8"},
            "csv",
        ),
    ]
    won = Handoff.objects.get()
    assert (won.kind, won.contact.email, won.status, won.outcome, won.outcome_at, won.created_at, won.accepted_at) == (
        "lead", "l1@leads.example", "accepted", "won",
        datetime(2026, 2, 1, 12, tzinfo=UTC), datetime(2026, 2, 1, 12, tzinfo=UTC), None,
    )  # fmt: skip


def test_one_bad_row_stores_nothing_and_every_bad_row_is_named(tmp_path):
    accounts = ACCOUNTS + "gamma.io,Gamma,many,no\n"
    leads = LEADS + "L3,yesterday,ads,p-1\n" + "L4,2026-01-12,ads,p-1\n"
    mapping = json.loads(json.dumps(MAPPING))
    mapping["contacts"]["columns"]["country"] = {"value": "Germany"}

    with pytest.raises(CommandError, match="6 rows rejected: nothing was imported"):
        run(files(tmp_path, mapping, accounts=accounts, leads=leads))

    assert nothing_stored()


def test_the_report_names_file_row_and_field(tmp_path, capsys):
    leads = LEADS + "L3,yesterday,ads,p-1\n"
    path = files(tmp_path, leads=leads, accounts=ACCOUNTS + "gamma.io,Gamma,many,no\n")
    err = StringIO()

    with pytest.raises(CommandError):
        call_command("import_csv", str(path), stdout=StringIO(), stderr=err)

    assert err.getvalue().splitlines() == [
        "rejected: accounts.csv: employee_count: is not an integer — 1 row (first: 4); "
        "values: 'many' (1)",
        "rejected: leads.csv: occurred_at: is not an ISO 8601 date or time — 1 row (first: 4); "
        "values: 'yesterday' (1)",
    ]
    assert nothing_stored()


def test_skip_invalid_stores_the_valid_rows_and_reports_the_rest(tmp_path):
    leads = LEADS + "L3,yesterday,ads,p-1\n"

    out, err = run(files(tmp_path, leads=leads), "--skip-invalid")

    assert (
        "events: 3 rows read; accepted 2, duplicates 0, conflicts 0, suppressed 0"
        in out.splitlines()
    )
    assert err.splitlines() == [
        "rejected: leads.csv: occurred_at: is not an ISO 8601 date or time — 1 row (first: 4); "
        "values: 'yesterday' (1)"
    ]
    assert EngagementEvent.objects.count() == 2
    assert Contact.objects.count() == 3  # L3's contact row itself is valid


def test_an_outcome_for_an_unknown_lead_rolls_everything_back(tmp_path):
    with pytest.raises(CommandError, match="1 rows rejected"):
        run(files(tmp_path, deals=DEALS + "L9,2026-02-02\n"))

    assert nothing_stored()


def test_naive_times_need_the_mapping_timezone(tmp_path):
    mapping = {k: v for k, v in MAPPING.items() if k != "timezone"}
    err = StringIO()

    with pytest.raises(CommandError, match="3 rows rejected"):
        call_command("import_csv", str(files(tmp_path, mapping)), stdout=StringIO(), stderr=err)

    assert err.getvalue().splitlines() == [
        'rejected: leads.csv: occurred_at: has no time zone (set "timezone" in the mapping) '
        "— 2 rows (first: 2, 3); values: '2026-01-10 09:30:00' (1), '2026-01-11' (1)",
        'rejected: deals.csv: at: has no time zone (set "timezone" in the mapping) '
        "— 1 row (first: 2); values: '2026-02-01 12:00:00' (1)",
    ]
    assert nothing_stored()


def test_an_outcome_moves_the_open_handoff_forward(tmp_path):
    contact = Contact.objects.create(email="l1@leads.example", email_domain="leads.example")
    open_one = Handoff.objects.create(
        kind="lead", contact=contact, created_at=datetime(2026, 1, 20, tzinfo=UTC)
    )
    mapping = {"format": "mqa.csv-mapping/v1", "timezone": "UTC", "outcomes": MAPPING["outcomes"]}

    out, _ = run(files(tmp_path, mapping))

    assert "outcomes: 1 rows read; created 0, updated 1, unchanged 0" in out
    open_one.refresh_from_db()
    assert (open_one.status, open_one.outcome, open_one.outcome_at) == (
        "accepted",
        "won",
        datetime(2026, 2, 1, 12, tzinfo=UTC),
    )
    assert Handoff.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "v0"}, "format: must be 'mqa.csv-mapping/v1'"),
        ({"deals": {}}, "deals: unknown key"),
        ({"contacts": {"file": "leads.csv", "columns": {"colour": "origin"}}}, "contacts.columns.colour: contacts have no field 'colour'"),
        ({"contacts": {"file": "leads.csv", "columns": {"email": {"column": "a", "value": 1}}}},
         "contacts.columns.email: must be a column name or one of column / template / value"),
        ({"timezone": "Mars/Olympus"}, "timezone: is not an IANA time zone such as 'UTC'"),
    ],
)  # fmt: skip
def test_a_bad_mapping_is_refused_with_its_path(tmp_path, change, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(files(tmp_path, MAPPING | change))

    assert nothing_stored()


def test_a_column_missing_from_the_file_is_reported(tmp_path):
    err = StringIO()

    with pytest.raises(CommandError):
        call_command(
            "import_csv",
            str(files(tmp_path, deals="lead,won_date\nL1,2026-02-01\n")),
            stdout=StringIO(),
            stderr=err,
        )

    assert err.getvalue().splitlines() == [
        "rejected: deals.csv: lead_id: is not a column of the file — 1 row (first: 1)"
    ]
    assert nothing_stored()


def test_outcomes_of_one_lead_in_one_file_move_its_handoff_forward(tmp_path):
    deals = "lead_id,stage,at\nL1,sql,2026-01-20\nL1,won,2026-02-01\n"
    mapping = json.loads(json.dumps(MAPPING))
    mapping["outcomes"]["columns"] |= {"outcome": "stage", "at": "at"}

    out, _ = run(files(tmp_path, mapping, deals=deals))

    assert "outcomes: 2 rows read; created 1, updated 1, unchanged 0" in out.splitlines()
    handoff = Handoff.objects.get()
    assert (handoff.contact.email, handoff.outcome, handoff.outcome_at, handoff.created_at) == (
        "l1@leads.example",
        "won",
        datetime(2026, 2, 1, tzinfo=UTC),
        datetime(2026, 1, 20, tzinfo=UTC),
    )


def handoff_rows() -> list[tuple[object, ...]]:
    return list(
        Handoff.objects.order_by("id").values_list(
            "id", "contact__email", "status", "outcome", "outcome_at", "created_at"
        )
    )


def test_importing_the_same_outcomes_again_adds_nothing_and_the_funnel_stays(tmp_path, api):
    # given two leads' outcomes, one moving forward twice, imported once
    deals = "lead_id,stage,at\nL1,sql,2026-01-20\nL1,won,2026-02-01\nL2,won,2026-02-03\n"
    mapping = json.loads(json.dumps(MAPPING))
    mapping["outcomes"]["columns"] |= {"outcome": "stage", "at": "at"}
    path = files(tmp_path, mapping, deals=deals)
    run(path)
    rows = handoff_rows()
    funnel = api.get("/api/v1/reports/funnel").json()
    assert len(rows) == 2
    assert funnel["totals"]["stages"] == {
        "mql": 2,
        "accepted": 2,
        "sql": 2,
        "opportunity": 2,
        "won": 2,
    }

    # when the same files are imported again
    out, _ = run(path)

    # then every outcome is counted as unchanged, and nothing was added or changed
    assert "outcomes: 3 rows read; created 0, updated 0, unchanged 3" in out.splitlines()
    assert handoff_rows() == rows
    assert api.get("/api/v1/reports/funnel").json() == funnel


COUNTRY_LEADS = "lead_id,first_contact,origin,page,country\n" + "".join(
    f"L{n},2026-01-{n:02},ads,p-1,{country}\n"
    for n, country in enumerate(
        ["Germany", "DE", "Germany", "Germany", "France", "Germany", "Germany", "Germany"], 1
    )
)


def country_mapping() -> dict:
    mapping = json.loads(json.dumps(MAPPING))
    mapping["contacts"]["columns"]["country"] = "country"
    return mapping


def test_errors_are_grouped_by_field_and_message_with_counts_and_first_rows(tmp_path):
    # given 7 country names where codes belong (6 'Germany', 1 'France') and one bad size
    path = files(
        tmp_path,
        country_mapping(),
        leads=COUNTRY_LEADS,
        accounts=ACCOUNTS + "gamma.io,Gamma,many,no\n",
    )
    err = StringIO()

    # when it is imported
    with pytest.raises(CommandError) as refused:
        call_command("import_csv", str(path), stdout=StringIO(), stderr=err)

    # then one line per field and message, biggest first, with its count, first rows and values
    assert err.getvalue().splitlines() == [
        "rejected: leads.csv: country: must be an ISO 3166 alpha-2 code such as 'DE' "
        "— 7 rows (first: 2, 4, 5, 6, 7, …); values: 'Germany' (6), 'France' (1)",
        "rejected: accounts.csv: employee_count: is not an integer — 1 row (first: 4); "
        "values: 'many' (1)",
    ]
    assert str(refused.value) == (
        "8 rows rejected: nothing was imported (fix them, or use --skip-invalid to import the rest)"
    )
    assert nothing_stored()


def test_missing_files_are_listed_first_with_the_folder_searched(tmp_path):
    # given a mapping whose outcomes file is not there, and rows with errors
    mapping = country_mapping()
    mapping["outcomes"]["file"] = "won.csv"
    path = files(tmp_path, mapping, leads=COUNTRY_LEADS)
    err = StringIO()

    # when it is imported, even with --skip-invalid
    with pytest.raises(CommandError) as refused:
        call_command("import_csv", str(path), "--skip-invalid", stdout=StringIO(), stderr=err)

    # then the missing file comes first, naming the folder, and nothing is stored
    assert err.getvalue().splitlines() == [
        f"missing file: won.csv (searched {tmp_path.resolve()})",
        "rejected: leads.csv: country: must be an ISO 3166 alpha-2 code such as 'DE' "
        "— 7 rows (first: 2, 4, 5, 6, 7, …); values: 'Germany' (6), 'France' (1)",
    ]
    assert str(refused.value) == "1 file missing, 7 rows rejected: nothing was imported"
    assert nothing_stored()


def test_a_missing_file_is_searched_in_the_data_dir(tmp_path):
    path = files(tmp_path)
    elsewhere = tmp_path / "data"
    elsewhere.mkdir()
    err = StringIO()

    with pytest.raises(CommandError, match="3 files missing, 0 rows rejected"):
        call_command(
            "import_csv", str(path), "--data-dir", str(elsewhere), stdout=StringIO(), stderr=err
        )

    assert err.getvalue().splitlines() == [
        f"missing file: accounts.csv (searched {elsewhere.resolve()})",
        f"missing file: leads.csv (searched {elsewhere.resolve()})",
        f"missing file: deals.csv (searched {elsewhere.resolve()})",
    ]
    assert nothing_stored()
