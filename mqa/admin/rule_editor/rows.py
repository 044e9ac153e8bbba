"""Rule-list formsets whose every field carries its accessible name — the list, the row and
the column, e.g. "Contact fit rule 3 attribute" — and whose blank row (`empty_form`, numbered
`__row__`) the page copies when "Add …" is pressed (`mqa/static/mqa/admin/rule_rows.js`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms import BaseFormSet, formset_factory

ROW_PLACEHOLDER = "__row__"  # the blank row's number, replaced with the new row's by the page


def _column(name: str, field: forms.Field) -> str:
    return str(field.label or name.replace("_", " ")).lower()


def name_fields(form: forms.Form, row: str) -> None:
    """Give each widget of `form` an aria-label: `<row> <column>`."""
    for name, field in form.fields.items():
        text = f"{row} {_column(name, field)}"
        field.widget.attrs["aria-label"] = text[:1].upper() + text[1:]


class RuleRows(BaseFormSet):
    """A formset of rows named `<row_name> <n>` (1-based)."""

    row_name = "rule"

    def _construct_form(self, i: int, **kwargs: Any) -> forms.Form:
        form = super()._construct_form(i, **kwargs)  # type: ignore[misc]
        name_fields(form, f"{self.row_name} {i + 1}")
        return form

    @property
    def empty_form(self) -> forms.Form:
        form = super().empty_form
        name_fields(form, f"{self.row_name} {ROW_PLACEHOLDER}")
        return form

    @property
    def add_label(self) -> str:
        return f"Add {self.row_name}"


def rule_rows(form: type[forms.Form], row_name: str) -> type[BaseFormSet]:
    """A formset class of `form` rows named `row_name` (one blank row, rows deletable)."""
    base = type("RuleRows", (RuleRows,), {"row_name": row_name})
    return formset_factory(form, formset=base, extra=1, can_delete=True)
