"""The rule editor's forms: rule rows, settings, and the tables that tie each to its place in
the document; values typed the way a marketer writes them; parser messages in plain words."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms

from mqa.scoring.attributes import ACCOUNT_FIELDS, CONTACT_FIELDS
from mqa.scoring.operators import OPERATORS, PRESENCE_OPS

# A blank first choice keeps an untouched extra row unchanged (so it is not validated).
OP_CHOICES = [("", "—"), *((op, op.replace("_", " ")) for op in OPERATORS)]
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
CONTACT_ATTRIBUTES = sorted(CONTACT_FIELDS) + [f"account.{f}" for f in sorted(ACCOUNT_FIELDS)]
ACCOUNT_ATTRIBUTES = sorted(ACCOUNT_FIELDS)


def _scalar(text: str) -> Any:
    text = text.strip()
    if NUMBER.fullmatch(text) or text in ("true", "false") or text.startswith('"'):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return text


def parse_value(text: str, op: str) -> Any:
    """What a marketer types → a JSON value: `200`, `vp, c_level`, `200, 5000`, `/pricing`."""
    text = (text or "").strip()
    if op in PRESENCE_OPS:
        return None
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    if op in ("in", "not_in", "between"):
        return [_scalar(part) for part in re.split(r",|\s+and\s+", text) if part.strip()]
    if op in ("eq", "neq", "gt", "gte", "lt", "lte"):
        return _scalar(text)
    return text


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        if any(isinstance(v, str) and "," in v for v in value):
            return json.dumps(value)  # commas inside values: keep the list unambiguous
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and _scalar(value) != value:
        return json.dumps(value)  # "250" stays text when quoted
    return str(value)


def parse_where(text: str) -> list[dict[str, Any]]:
    """One condition per line: `<property> <operator> <value>`, e.g. `url contains /pricing`."""
    conditions = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = line.strip().split(None, 2)
        key = parts[0]
        op = parts[1].replace(" ", "_") if len(parts) > 1 else ""
        condition: dict[str, Any] = {"property": key, "op": op}
        if op not in PRESENCE_OPS:
            condition["value"] = parse_value(parts[2] if len(parts) > 2 else "", op)
        conditions.append(condition)
    return conditions


def format_where(conditions: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{c['property']} {c['op']} {format_value(c.get('value'))}".rstrip() for c in conditions
    )


def _number(required: bool = False, **kwargs: Any) -> forms.FloatField:
    return forms.FloatField(
        required=required, widget=forms.NumberInput(attrs={"step": "any"}), **kwargs
    )


class FitRuleForm(forms.Form):
    label = forms.CharField(required=False)
    attribute = forms.CharField(widget=forms.TextInput(attrs={"list": "attributes"}))
    op = forms.ChoiceField(choices=OP_CHOICES, label="Operator")
    value = forms.CharField(required=False, help_text="e.g. 200 · vp, c_level · 200, 5000")
    points = forms.IntegerField()

    def to_rule(self) -> dict[str, Any]:
        d = self.cleaned_data
        rule = {"attribute": d["attribute"].strip(), "op": d["op"], "points": d["points"]}
        if d["op"] not in PRESENCE_OPS:
            rule["value"] = parse_value(d["value"], d["op"])
        return ({"label": d["label"]} if d["label"] else {}) | rule

    @staticmethod
    def initial_from(rule: dict[str, Any]) -> dict[str, Any]:
        return {**rule, "value": format_value(rule.get("value"))}


class DisqualifierForm(FitRuleForm):
    points = None  # type: ignore[assignment]
    label = None  # type: ignore[assignment]
    reason = forms.CharField()

    def to_rule(self) -> dict[str, Any]:
        d = self.cleaned_data
        rule = {"attribute": d["attribute"].strip(), "op": d["op"], "reason": d["reason"].strip()}
        if d["op"] not in PRESENCE_OPS:
            rule["value"] = parse_value(d["value"], d["op"])
        return rule


class ActivityRuleForm(forms.Form):
    label = forms.CharField(required=False)
    type = forms.CharField(help_text="event type, e.g. page_view")
    where = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 30}),
        help_text="one condition per line: url contains /pricing",
    )
    points = forms.IntegerField()
    max_count = forms.IntegerField(required=False, min_value=1)
    window_days = _number(min_value=0)
    half_life_days = _number(min_value=0)
    type_key = "event_type"

    def to_rule(self) -> dict[str, Any]:
        d = self.cleaned_data
        rule: dict[str, Any] = {self.type_key: d["type"], "points": d["points"]}
        if d["label"]:
            rule["label"] = d["label"]
        if d["where"].strip():
            rule["where"] = parse_where(d["where"])
        for key in ("max_count", "window_days", "half_life_days"):
            if d[key] is not None:
                value = d[key]
                rule[key] = int(value) if isinstance(value, float) and value.is_integer() else value
        return rule

    @classmethod
    def initial_from(cls, rule: dict[str, Any]) -> dict[str, Any]:
        return {
            **rule,
            "type": rule.get(cls.type_key),
            "where": format_where(rule.get("where", [])),
        }


class SignalRuleForm(ActivityRuleForm):
    type_key = "signal_type"


class RoleWeightForm(forms.Form):
    role = forms.CharField()
    weight = _number(required=True, min_value=0)


class SettingsForm(forms.Form):
    name = forms.CharField()
    contact_fit_cap = forms.IntegerField(min_value=0, label="Contact fit cap")
    contact_engagement_cap = forms.IntegerField(min_value=0, label="Contact engagement cap")
    contact_fit_floor = _number(required=True, label="MQL: fit at least")
    contact_engagement_floor = _number(required=True, label="MQL: engagement at least")
    contact_total = _number(required=True, label="MQL: fit + engagement at least")
    contact_engaged = _number(required=True, label="Engaged: engagement at least")
    account_fit_cap = forms.IntegerField(min_value=0, label="Account fit cap")
    account_fit_floor = _number(required=True, label="MQA: account fit at least")
    account_engagement = _number(required=True, label="MQA: account engagement at least")
    account_min_engaged_contacts = forms.IntegerField(
        min_value=1, label="MQA: engaged contacts at least"
    )
    account_min_roles = forms.IntegerField(min_value=0, label="MQA: distinct roles at least")
    account_required_roles = forms.CharField(
        required=False,
        label="MQA: required roles",
        help_text="comma-separated, e.g. decision_maker",
    )
    account_min_mql_contacts = forms.IntegerField(min_value=0, label="MQA: MQL contacts at least")
    default_role_weight = _number(required=True, min_value=0, label="Weight of other roles")


FORMSETS: dict[str, tuple[type[forms.Form], tuple[str, ...], str]] = {
    # prefix: (form, path in the document, title)
    "contact_fit": (FitRuleForm, ("contact", "fit", "rules"), "Contact fit rules"),
    "engagement": (ActivityRuleForm, ("contact", "engagement", "rules"), "Engagement rules"),
    "contact_disq": (DisqualifierForm, ("contact", "disqualifiers"), "Contact disqualifiers"),
    "account_fit": (FitRuleForm, ("account", "fit", "rules"), "Account fit rules"),
    "signals": (SignalRuleForm, ("account", "signals", "rules"), "Account signal rules"),
    "account_disq": (DisqualifierForm, ("account", "disqualifiers"), "Account disqualifiers"),
    "role_weights": (RoleWeightForm, ("account", "role_weights"), "Buying-role weights"),
}
# What one row of each list is called (its fields' accessible names start with it).
ROW_NAMES = {
    "contact_fit": "contact fit rule",
    "engagement": "engagement rule",
    "contact_disq": "contact disqualifier",
    "account_fit": "account fit rule",
    "signals": "account signal rule",
    "account_disq": "account disqualifier",
    "role_weights": "buying-role weight",
}
# Each setting's path in the document and its field in SettingsForm: the form's initial values
# and the document it makes are both read off this table.
SETTINGS_PATHS = {
    "name": "name",
    "contact.fit.cap": "contact_fit_cap",
    "contact.engagement.cap": "contact_engagement_cap",
    "contact.thresholds.fit_floor": "contact_fit_floor",
    "contact.thresholds.engagement_floor": "contact_engagement_floor",
    "contact.thresholds.total": "contact_total",
    "contact.thresholds.engaged": "contact_engaged",
    "account.fit.cap": "account_fit_cap",
    "account.thresholds.fit_floor": "account_fit_floor",
    "account.thresholds.engagement": "account_engagement",
    "account.thresholds.min_engaged_contacts": "account_min_engaged_contacts",
    "account.thresholds.min_roles": "account_min_roles",
    "account.thresholds.required_roles": "account_required_roles",
    "account.thresholds.min_mql_contacts": "account_min_mql_contacts",
    "account.default_role_weight": "default_role_weight",
}
FRIENDLY = [
    (re.compile(r"^must be a number$"), "Enter a number."),
    (
        re.compile(r"^must be a list \[low, high\] of two numbers$"),
        "Enter two numbers, like 200, 5000.",
    ),
    (
        re.compile(r"^low must not be greater than high$"),
        "The first number must not be larger than the second.",
    ),
    (
        re.compile(r"^must be a list of strings, numbers or booleans$"),
        "Enter values separated by commas.",
    ),
    (re.compile(r"^must be a string$"), "Enter some text."),
    (re.compile(r"^must be a string, number or boolean$"), "Enter one value."),
    (
        re.compile(r"^unknown attribute '(.*)'$"),
        "“\\1” is not a field rules can use: pick one from the list, or custom.<key>.",
    ),
    (re.compile(r"^unknown operator.*$"), "Pick an operator from the list."),
    (re.compile(r"^must be between (-?\d+) and (-?\d+)$"), "Enter a whole number from \\1 to \\2."),
    (re.compile(r"^must be greater than 0$"), "Enter a number above 0."),
    (
        re.compile(r"^must hold at least one condition$"),
        "Add at least one condition the account must match.",
    ),
    (re.compile(r"^repeats the name of segments\[(\d+)\]$"), "Another segment has this name."),
    (
        re.compile(r"^must be a type name.*$"),
        "Use lower-case letters, digits, '_', '.' or '-' (e.g. page_view).",
    ),
]


def friendly(message: str) -> str:
    for pattern, text in FRIENDLY:
        if pattern.match(message):
            return pattern.sub(text, message)
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def get_path(document: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = document
    for key in path:
        value = value.get(key, {}) if isinstance(value, dict) else {}
    return value


def put_path(document: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        document = document.setdefault(key, {})
    document[path[-1]] = value


# The one setting that is a list in the document and comma-separated text in the form.
LISTED = "account_required_roles"


def shown(field: str, value: Any) -> Any:
    return ", ".join(value) if field == LISTED else value


def parsed(field: str, value: Any) -> Any:
    if field == LISTED:
        return [role.strip() for role in (value or "").split(",") if role.strip()]
    return value
