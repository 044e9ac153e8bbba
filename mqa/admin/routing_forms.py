"""The routing document (SPEC §6) as forms: settings, queues with their members, rules with
their conditions.

Like the rule editor (`mqa.admin.rule_editor`), the document stays the single source of truth:
the forms are filled from it and turned back into it, and the routing service validates it
exactly as it does for the API. Its errors name paths (`rules[1].queue`,
`queues[0].members[2].capacity`) and are put on the field of the row they name. Conditions
use the rule editor's condition row and value helpers.

A queue's members and a rule's conditions are formsets of their own, prefixed
`queues-<i>-members` and `rules-<i>-when`. The blank queue and rule the page copies ("Add
queue", "Add rule") use the placeholders `__queue__`/`__queue_row__` and
`__rule__`/`__rule_row__`, so the blank member and condition rows inside them keep
`__prefix__`/`__row__` for their own "Add …" buttons.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.forms import BaseFormSet, formset_factory

from mqa.admin.rule_editor import format_value, friendly, parse_value
from mqa.admin.rule_editor.rows import RuleRows, name_fields
from mqa.admin.rule_editor.segments import ConditionForm
from mqa.scoring.operators import PRESENCE_OPS

FORMAT = "mqa.routing/v1"
Located = tuple[forms.Form | None, str | None]


def _number(value: float | None) -> float | int | None:
    return int(value) if isinstance(value, float) and value.is_integer() else value


class QueueSelect(forms.Select):
    """A select of the queue names, which also offers the value it holds (an unknown one
    stays as typed, for the routing service to name)."""

    def __init__(self, queues: list[str] | None = None) -> None:
        super().__init__()
        self.queues = queues or []

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        names = list(self.queues)
        if value and value not in names:
            names.append(value)
        self.choices = [("", "—"), *((n, n) for n in names)]
        return super().get_context(name, value, attrs)


def _queue_field(label: str) -> forms.CharField:
    return forms.CharField(required=False, label=label, widget=QueueSelect())


class WithQueues(forms.Form):
    def __init__(self, *args: Any, queues: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, QueueSelect):
                field.widget.queues = queues or []


class SettingsForm(WithQueues):
    default_queue = _queue_field("Default queue")
    abm_queue = _queue_field("ABM queue (target accounts)")
    lead_sla_hours = forms.FloatField(label="Lead SLA (hours)")
    account_sla_hours = forms.FloatField(label="Account SLA (hours)")
    recycle_cooldown_days = forms.FloatField(label="Recycle cooldown (days)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("lead_sla_hours", "account_sla_hours", "recycle_cooldown_days"):
            self.fields[name].widget.attrs["step"] = "any"


class QueueForm(forms.Form):
    name = forms.CharField(required=False, strip=False)


class MemberForm(forms.Form):
    assignee = forms.CharField(required=False, strip=False)
    active = forms.BooleanField(required=False, initial=True)
    capacity = forms.IntegerField(required=False, help_text="blank: no limit")


class RuleForm(WithQueues):
    label = forms.CharField(required=False, strip=False)
    queue = _queue_field("Queue")


class RoutingConditionForm(ConditionForm):
    """A rule's condition: a contact attribute (or `account.<field>`), an operator, a value."""

    attribute = forms.CharField(widget=forms.TextInput(attrs={"list": "attributes"}))


class Rows(RuleRows):
    """Rule-editor rows whose blank row may use other placeholders than `__prefix__`."""

    slot = "__prefix__"
    row_slot = "__row__"

    @property
    def empty_form(self) -> forms.Form:
        form = super().empty_form
        form.prefix = self.add_prefix(self.slot)
        name_fields(form, f"{self.row_name} {self.row_slot}")
        return form


def _rows(form: type[forms.Form], row_name: str, slot: str = "", **kwargs: Any) -> Any:
    attrs: dict[str, Any] = {"row_name": row_name}
    if slot:
        attrs |= {"slot": f"__{slot}__", "row_slot": f"__{slot}_row__"}
    base = type("Rows", (Rows,), attrs)
    # absolute_max bounds the nested formsets a forged form count would make
    return formset_factory(
        form, formset=base, extra=1, can_delete=True, max_num=500, absolute_max=500
    )


def _queue_names(document: dict[str, Any], data: Any) -> list[str]:
    names = [q.get("name", "") for q in document.get("queues", [])]
    if data is not None:
        total = data.get("queues-TOTAL_FORMS", "")
        count = min(int(total), 1000) if str(total).isdigit() else 0
        names = [
            data.get(f"queues-{i}-name") or ""
            for i in range(count)
            if not data.get(f"queues-{i}-DELETE")
        ]
        names = [name for name in names if name.strip()]
    return list(dict.fromkeys(names))


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


class RoutingEditor:
    """The bound or unbound forms for the routing document, and the document they make."""

    def __init__(self, document: dict[str, Any], data: Any = None) -> None:
        self.queue_names = _queue_names(document, data)
        self.settings = SettingsForm(
            data,
            prefix="settings",
            initial={key: document.get(key) for key in SettingsForm.base_fields},
            queues=self.queue_names,
        )
        queues = document.get("queues", [])
        self.queues = _rows(QueueForm, "queue", "queue")(
            data, initial=[{"name": q["name"]} for q in queues], prefix="queues"
        )
        self.members = [
            self._members(i, queues[i].get("members", []) if i < len(queues) else [], data)
            for i in range(self.queues.total_form_count())
        ]
        rules = document.get("rules", [])
        self.rules = _rows(RuleForm, "rule", "rule")(
            data,
            initial=[{"label": r.get("label", ""), "queue": r["queue"]} for r in rules],
            prefix="rules",
            form_kwargs={"queues": self.queue_names},
        )
        self.conditions = [
            self._conditions(i, rules[i].get("when", []) if i < len(rules) else [], data)
            for i in range(self.rules.total_form_count())
        ]
        # The blank queue and rule the page copies carry blank member and condition rows.
        self.empty_members = _rows(MemberForm, "queue __queue_row__ member")(
            prefix="queues-__queue__-members"
        )
        self.empty_conditions = _rows(RoutingConditionForm, "rule __rule_row__ condition")(
            prefix="rules-__rule__-when"
        )
        self.cannot_show = [
            f"Rule {i + 1} condition {j + 1}"
            for i, rule in enumerate(rules)
            for j, c in enumerate(rule.get("when", []))
            if c.get("op") not in PRESENCE_OPS
            and not _same(
                parse_value(format_value(c.get("value")), c.get("op", "")), c.get("value")
            )
        ]
        self.summary: list[str] = []
        self._kept: dict[str, list[forms.Form]] = {}

    @staticmethod
    def _members(index: int, members: list[dict[str, Any]], data: Any) -> BaseFormSet:
        return _rows(MemberForm, f"queue {index + 1} member")(
            data,
            initial=[
                {
                    "assignee": m["assignee"],
                    "active": m.get("active", True),
                    "capacity": m.get("capacity"),
                }
                for m in members
            ],
            prefix=f"queues-{index}-members",
        )

    @staticmethod
    def _conditions(index: int, when: list[dict[str, Any]], data: Any) -> BaseFormSet:
        return _rows(RoutingConditionForm, f"rule {index + 1} condition")(
            data,
            initial=[RoutingConditionForm.initial_from(c) for c in when],
            prefix=f"rules-{index}-when",
        )

    def queue_rows(self) -> list[tuple[forms.Form, BaseFormSet]]:
        return list(zip(self.queues.forms, self.members, strict=True))

    def rule_rows(self) -> list[tuple[forms.Form, BaseFormSet]]:
        return list(zip(self.rules.forms, self.conditions, strict=True))

    def is_valid(self) -> bool:
        valid = self.settings.is_valid() & self.queues.is_valid() & self.rules.is_valid()
        for formset in [*self.members, *self.conditions]:
            valid &= formset.is_valid()
        if self.cannot_show:
            self.settings.add_error(None, "These forms cannot show this document exactly.")
            valid = False
        return valid

    def _keep(
        self, key: str, formset: BaseFormSet, nested: list[BaseFormSet] | None = None
    ) -> list[int]:
        """The indexes of the rows to save: not removed, and saved before or filled in now
        (an untouched blank row is ignored) — or, for a queue or rule, holding rows to save."""
        kept = []
        for index, form in enumerate(formset.forms):
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            children = nested is not None and bool(self._rows_of(nested[index]))
            if form.has_changed() or index < formset.initial_form_count() or children:
                kept.append(index)
        self._kept[key] = [formset.forms[i] for i in kept]
        return kept

    def _rows_of(self, formset: BaseFormSet) -> list[forms.Form]:
        return [
            f
            for i, f in enumerate(formset.forms)
            if f.cleaned_data
            and not f.cleaned_data.get("DELETE")
            and (f.has_changed() or i < formset.initial_form_count())
        ]

    def document(self) -> dict[str, Any]:
        """Call after `is_valid()`: the document the forms describe."""
        s = self.settings.cleaned_data
        queues: list[dict[str, Any]] = []
        for i in self._keep("queues", self.queues, self.members):
            members = self._rows_of(self.members[i])
            self._kept[f"queues[{len(queues)}].members"] = members
            queues.append(
                {
                    "name": self.queues.forms[i].cleaned_data["name"],
                    "members": [
                        {
                            "assignee": m.cleaned_data["assignee"],
                            "active": m.cleaned_data["active"],
                            "capacity": m.cleaned_data["capacity"],
                        }
                        for m in members
                    ],
                }
            )
        rules: list[dict[str, Any]] = []
        for i in self._keep("rules", self.rules, self.conditions):
            conditions = self._rows_of(self.conditions[i])
            self._kept[f"rules[{len(rules)}].when"] = conditions
            d = self.rules.forms[i].cleaned_data
            rule: dict[str, Any] = {"label": d["label"]} if d["label"] else {}
            rules.append(rule | {"when": [c.to_rule() for c in conditions], "queue": d["queue"]})  # type: ignore[attr-defined]
        return {
            "format": FORMAT,
            "queues": queues,
            "rules": rules,
            "default_queue": s["default_queue"] or None,
            "abm_queue": s["abm_queue"] or None,
            "lead_sla_hours": _number(s["lead_sla_hours"]),
            "account_sla_hours": _number(s["account_sla_hours"]),
            "recycle_cooldown_days": _number(s["recycle_cooldown_days"]),
        }

    def add_errors(self, errors: list[tuple[str, str]]) -> None:
        """Put the routing service's errors on the fields they name, and list them (each with
        its field's name: "Rule 2 queue: …") above the forms."""
        for path, message in errors:
            text = friendly(message)
            form, field = self._locate(path)
            if form is None:
                form, field = self.settings, None
                text = f"{path or 'document'}: {text}"
            form.add_error(field, text)
            name = form.fields[field].widget.attrs.get("aria-label") if field else None
            name = name or (form.fields[field].label if field else None)
            self.summary.append(f"{name}: {text}" if name else text)

    def _locate(self, path: str) -> Located:
        if path in self.settings.fields:
            return self.settings, path
        match = re.fullmatch(r"(queues|rules)\[(\d+)\](?:\.(\w+))?(?:\[(\d+)\](?:\.(\w+))?)?", path)
        if not match:
            return None, None
        kind, index, key, sub, field = match.groups()
        rows = self._kept.get(kind, [])
        if int(index) >= len(rows):
            return None, None
        if sub is None:
            form = rows[int(index)]
            return form, key if key in form.fields else None
        nested = self._kept.get(f"{kind}[{index}].{key}", [])
        if int(sub) >= len(nested):
            return rows[int(index)], None
        form = nested[int(sub)]
        return form, field if field in form.fields else None
