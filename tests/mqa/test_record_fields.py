"""One definition of a record's fields (`mqa.scoring.attributes`): the tables, the ingest
schemas and the facts the engine reads all hold exactly those fields, typed alike."""

from __future__ import annotations

from django.db import models

from accounts.models import Account
from accounts.schemas import AccountIn
from contacts.models import Contact
from contacts.schemas import ContactIn
from mqa.scoring.attributes import ACCOUNT_FIELDS, BOOLEAN_FIELDS, CONTACT_FIELDS, NUMBER_FIELDS
from mqa.services.facts import ACCOUNT_FACTS, CONTACT_FACTS


def columns(table: type[models.Model]) -> dict[str, models.Field]:
    return {f.name: f for f in table._meta.concrete_fields if isinstance(f, models.Field)}


def test_every_account_field_rules_see_is_a_column_an_ingest_field_and_a_fact():
    assert ACCOUNT_FIELDS | {"custom"} <= columns(Account).keys()
    assert set(AccountIn.__struct_fields__) == ACCOUNT_FIELDS | {"custom"}
    assert set(ACCOUNT_FACTS) == ACCOUNT_FIELDS | {"custom"}


def test_every_contact_field_rules_see_is_a_column_an_ingest_field_and_a_fact():
    derived = {"email_domain"}  # from the email, at ingest
    assert CONTACT_FIELDS | {"custom", "account_domain"} <= columns(Contact).keys()
    assert set(ContactIn.__struct_fields__) == CONTACT_FIELDS - derived | {
        "account_domain",
        "custom",
    }
    assert set(CONTACT_FACTS) == CONTACT_FIELDS - derived | {"custom"}


def test_typed_fields_are_typed_columns_and_every_other_field_is_text():
    account = columns(Account)
    assert {n for n in ACCOUNT_FIELDS if isinstance(account[n], models.BooleanField)} == (
        BOOLEAN_FIELDS
    )
    assert {
        n for n in ACCOUNT_FIELDS if isinstance(account[n], models.IntegerField | models.FloatField)
    } == NUMBER_FIELDS
    contact = columns(Contact)
    assert all(isinstance(contact[n], models.CharField) for n in CONTACT_FIELDS)
