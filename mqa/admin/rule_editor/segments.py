"""The segments of a draft in the rule editor (SPEC §3 *Segments*).

One `SegmentForm` per segment (name, order, remove) holds an "override" checkbox for each key a
segment may give and the settings fields those keys carry (named as in `SettingsForm`, so a
parser path such as `segments[0].contact.thresholds.total` finds its field the same way a
top-level one does). A segment's conditions and the rule lists it may override are formsets of
their own, prefixed `segments-<i>-when` and `segments-<i>-<rule kind>`. Fields of a key the
segment does not override show the value it inherits from the top level, so ticking
"override" starts from a copy of it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from django import forms
from django.forms import BaseFormSet

from mqa.admin.rule_editor.rule_forms import (
    FORMSETS,
    LISTED,
    SETTINGS_PATHS,
    FitRuleForm,
    SettingsForm,
    get_path,
    parse_value,
    shown,
)
from mqa.scoring.document import (
    ACCOUNT_KEYS,
    ACCOUNT_THRESHOLDS,
    CONTACT_KEYS,
    CONTACT_THRESHOLDS,
    MAX_SEGMENTS,
)
from mqa.scoring.operators import PRESENCE_OPS


@dataclass(frozen=True)
class Override:
    """A key a segment may give: `contact.engagement`, `account.thresholds.min_roles`, …"""

    key: str
    label: str
    settings: tuple[str, ...] = ()  # the SETTINGS_PATHS it carries
    formsets: tuple[str, ...] = ()  # the FORMSETS it carries

    @property
    def field(self) -> str:
        return "override_" + self.key.replace(".", "_")

    @property
    def side(self) -> str:
        return self.key.split(".", 1)[0]

    def given_in(self, segment: dict[str, Any]) -> bool:
        """Whether a segment's document gives this key."""
        side, rest = self.key.split(".", 1)
        given = segment.get(side) or {}
        if rest.startswith("thresholds."):
            return rest[len("thresholds.") :] in (given.get("thresholds") or {})
        return rest in given


_LABELS = {
    "contact.fit": ("contact fit rules", ("contact.fit.cap",), ("contact_fit",)),
    "contact.engagement": ("engagement rules", ("contact.engagement.cap",), ("engagement",)),
    "contact.disqualifiers": ("contact disqualifiers", (), ("contact_disq",)),
    "account.fit": ("account fit rules", ("account.fit.cap",), ("account_fit",)),
    "account.signals": ("account signal rules", (), ("signals",)),
    "account.disqualifiers": ("account disqualifiers", (), ("account_disq",)),
    "account.role_weights": ("buying-role weights", (), ("role_weights",)),
    "account.default_role_weight": (
        "weight of other roles",
        ("account.default_role_weight",),
        (),
    ),
}


def _overrides(side: str, keys: tuple[str, ...], thresholds: tuple[str, ...]) -> list[Override]:
    """In the order `Segment.*_overrides` names them: the side's keys, thresholds key by key."""
    out = []
    for key in keys:
        if key == "thresholds":
            out += [
                Override(
                    f"{side}.thresholds.{t}", f"{side} thresholds.{t}", (f"{side}.thresholds.{t}",)
                )
                for t in thresholds
            ]
        else:
            label, settings, formsets = _LABELS[f"{side}.{key}"]
            out.append(Override(f"{side}.{key}", label, settings, formsets))
    return out


OVERRIDES: tuple[Override, ...] = (
    *_overrides("contact", CONTACT_KEYS, CONTACT_THRESHOLDS),
    *_overrides("account", ACCOUNT_KEYS, ACCOUNT_THRESHOLDS),
)
HOLDER = {path: o for o in OVERRIDES for path in o.settings}  # settings path → its override


class ConditionForm(FitRuleForm):
    """One of a segment's `when` conditions: an account attribute, an operator, a value."""

    label = None  # type: ignore[assignment]
    points = None  # type: ignore[assignment]
    attribute = forms.CharField(widget=forms.TextInput(attrs={"list": "account-attributes"}))

    def to_rule(self) -> dict[str, Any]:
        d = self.cleaned_data
        rule = {"attribute": d["attribute"].strip(), "op": d["op"]}
        if d["op"] not in PRESENCE_OPS:
            rule["value"] = parse_value(d["value"], d["op"])
        return rule


def _setting(name: str) -> forms.Field:
    field = copy.deepcopy(SettingsForm.base_fields[name])
    field.required = False
    return field


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="e.g. Enterprise")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for o in OVERRIDES:
            if not data.get(o.field):
                continue
            for path in o.settings:
                field = SETTINGS_PATHS[path]
                if field != LISTED and data.get(field) is None and field not in self.errors:
                    self.add_error(field, "Enter the value this segment uses.")
        return data

    def overrides(self) -> list[Override]:
        """The keys ticked "override" (as submitted, or as saved)."""
        return [o for o in OVERRIDES if self[o.field].value()]

    def summary(self) -> str:
        given = self.overrides()
        if not given:
            return "Overrides nothing — inherits the whole model above."
        return f"Overrides: {', '.join(o.label for o in given)} — inherits everything else."


for _o in OVERRIDES:
    SegmentForm.base_fields[_o.field] = forms.BooleanField(required=False, label="override")
for _path, _name in SETTINGS_PATHS.items():
    if _path != "name":
        SegmentForm.base_fields[_name] = _setting(_name)


class BaseSegmentFormSet(BaseFormSet):
    """Forms past the saved segments (a new one) start from the inherited values too."""

    new_initial: dict[str, Any] = {}

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        if index is not None and index >= len(self.initial or []):
            return {"initial": self.new_initial}
        return {}


def segment_formset(document: dict[str, Any], data: Any) -> BaseSegmentFormSet:
    segments = document.get("segments") or []
    factory = forms.formset_factory(
        SegmentForm,
        formset=BaseSegmentFormSet,
        extra=1,
        can_order=True,
        can_delete=True,
        max_num=MAX_SEGMENTS,
        validate_max=True,
        absolute_max=MAX_SEGMENTS + 1,  # bounds the nested formsets a forged form count makes
    )
    formset: BaseSegmentFormSet = factory(  # type: ignore[assignment]
        data,
        initial=[segment_initial(document, segment) for segment in segments],
        prefix="segments",
    )
    formset.new_initial = segment_initial(document, {})
    return formset


def segment_initial(document: dict[str, Any], segment: dict[str, Any]) -> dict[str, Any]:
    """A segment's form: its name, which keys it gives, and each setting's effective value."""
    initial: dict[str, Any] = {"name": segment.get("name", "")}
    for o in OVERRIDES:
        initial[o.field] = o.given_in(segment)
    for path, field in SETTINGS_PATHS.items():
        if path != "name":
            source = segment if HOLDER[path].given_in(segment) else document
            initial[field] = shown(field, get_path(source, tuple(path.split("."))))
    return initial


def rules_source(document: dict[str, Any], segment: dict[str, Any], prefix: str) -> Any:
    """What a segment's rule formset starts from: its own list, else the inherited one."""
    path = FORMSETS[prefix][1]
    holder = next(o for o in OVERRIDES if prefix in o.formsets)
    return get_path(segment if holder.given_in(segment) else document, path)


def nested_prefix(index: int, kind: str) -> str:
    return f"segments-{index}-{kind}"
