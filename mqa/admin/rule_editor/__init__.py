"""The scoring-model rule editor: one formset per rule kind, assembled into the JSON document.

The document stays the single source of truth: the forms are filled from it, turned back
into it on save, and validated by the same parser as API imports. Its errors (which name
paths such as `contact.engagement.rules[1].where[0].op` or
`segments[0].contact.thresholds.total`) are put back on the form field they belong to, in
words a marketer understands. Segments (SPEC §3) are edited with the same rule rows and
settings fields as the top level; see `segments`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.forms import BaseFormSet, BoundField

from mqa.admin.rule_editor.rows import rule_rows
from mqa.admin.rule_editor.rule_forms import (
    ACCOUNT_ATTRIBUTES,
    CONTACT_ATTRIBUTES,
    FORMSETS,
    ROW_NAMES,
    SETTINGS_PATHS,
    SettingsForm,
    format_value,
    format_where,
    friendly,
    get_path,
    parse_value,
    parse_where,
    parsed,
    put_path,
    shown,
)
from mqa.admin.rule_editor.segments import (
    OVERRIDES,
    ConditionForm,
    Override,
    SegmentForm,
    nested_prefix,
    rules_source,
    segment_formset,
)

__all__ = [
    "ACCOUNT_ATTRIBUTES",
    "CONTACT_ATTRIBUTES",
    "RuleEditor",
    "format_value",
    "format_where",
    "friendly",
    "parse_value",
    "parse_where",
]

Located = tuple[forms.Form | None, str | None]


@dataclass(frozen=True)
class OverrideRow:
    """One key a segment may give, as the page shows it: its checkbox and what it carries."""

    override: Override
    checkbox: BoundField
    fields: list[BoundField]
    formsets: list[tuple[str, str, BaseFormSet]]


@dataclass(frozen=True)
class SegmentSection:
    index: int
    form: SegmentForm
    when: BaseFormSet
    rows: list[OverrideRow]
    is_new: bool


def _rule_formset(
    kind: str, prefix: str, found: Any, data: Any, segment: int | None = None
) -> BaseFormSet:
    form = FORMSETS[kind][0]
    row_name = ROW_NAMES[kind] if segment is None else f"segment {segment + 1} {ROW_NAMES[kind]}"
    factory = rule_rows(form, row_name)
    if kind == "role_weights":
        initial = [{"role": k, "weight": v} for k, v in (found or {}).items()]
    else:
        initial = [form.initial_from(rule) for rule in found or []]  # type: ignore[attr-defined]
    return factory(data, initial=initial, prefix=prefix)


class RuleEditor:
    """The bound or unbound forms for one draft, and the document they make."""

    def __init__(self, document: dict[str, Any], data: Any = None) -> None:
        self.formsets: dict[str, BaseFormSet] = {}
        for kind, (_, path, _) in FORMSETS.items():
            self.formsets[kind] = _rule_formset(kind, kind, get_path(document, path), data)
        self.settings = SettingsForm(
            data,
            prefix="settings",
            initial={
                field: shown(field, get_path(document, tuple(path.split("."))))
                for path, field in SETTINGS_PATHS.items()
            },
        )
        self.segments = segment_formset(document, data)
        self.formsets["segments"] = self.segments
        saved = document.get("segments") or []
        for index in range(self.segments.total_form_count()):
            segment = saved[index] if index < len(saved) else {}
            when = rule_rows(ConditionForm, f"segment {index + 1} condition")(
                data,
                initial=[ConditionForm.initial_from(c) for c in segment.get("when", [])],
                prefix=nested_prefix(index, "when"),
            )
            self.formsets[nested_prefix(index, "when")] = when
            for kind in FORMSETS:
                found = rules_source(document, segment, kind)
                rules = _rule_formset(kind, nested_prefix(index, kind), found, data, index)
                self.formsets[nested_prefix(index, kind)] = rules
        self._sources: dict[str, list[forms.Form]] = {}
        self._segment_sources: list[tuple[SegmentForm, int]] = []

    def sections(self) -> list[tuple[str, str, BaseFormSet]]:
        """The top-level rule lists."""
        return [(kind, title, self.formsets[kind]) for kind, (_, _, title) in FORMSETS.items()]

    def segment_sections(self) -> list[SegmentSection]:
        sections = []
        for index, form in enumerate(self.segments.forms):
            rows = [
                OverrideRow(
                    override=o,
                    checkbox=form[o.field],
                    fields=[form[SETTINGS_PATHS[path]] for path in o.settings],
                    formsets=[
                        (kind, FORMSETS[kind][2], self.formsets[nested_prefix(index, kind)])
                        for kind in o.formsets
                    ],
                )
                for o in OVERRIDES
            ]
            when = self.formsets[nested_prefix(index, "when")]
            is_new = index >= self.segments.initial_form_count()
            sections.append(SegmentSection(index, form, when, rows, is_new))
        return sections

    def _in_use(self, index: int, form: forms.Form) -> bool:
        """Not removed, and saved before or filled in now (an untouched new one is ignored)."""
        if form["DELETE"].value():
            return False
        return index < self.segments.initial_form_count() or form.has_changed()

    def _nested(self, index: int, form: SegmentForm) -> list[BaseFormSet]:
        """A segment's conditions and the rule lists it overrides (the others are not read)."""
        kinds = ["when", *(kind for o in form.overrides() for kind in o.formsets)]
        return [self.formsets[nested_prefix(index, kind)] for kind in kinds]

    def is_valid(self) -> bool:
        valid = self.settings.is_valid() & self.segments.is_valid()
        for kind in FORMSETS:
            valid &= self.formsets[kind].is_valid()
        for index, form in enumerate(self.segments.forms):
            if self._in_use(index, form):
                for formset in self._nested(index, form):
                    valid &= formset.is_valid()
        return valid

    def _kept(self, prefix: str) -> list[forms.Form]:
        formset = self.formsets[prefix]
        kept = [
            f
            for f in formset.forms
            if f.cleaned_data
            and not f.cleaned_data.get("DELETE")
            and f.has_changed() | bool(f.initial)
        ]
        self._sources[prefix] = kept
        return kept

    def _value(self, prefix: str, kind: str) -> Any:
        if kind == "role_weights":
            return {
                f.cleaned_data["role"].strip(): f.cleaned_data["weight"] for f in self._kept(prefix)
            }
        return [f.to_rule() for f in self._kept(prefix)]  # type: ignore[attr-defined]

    def _segment(self, form: forms.Form) -> dict[str, Any]:
        index = self.segments.forms.index(form)
        d = form.cleaned_data
        when = [f.to_rule() for f in self._kept(nested_prefix(index, "when"))]  # type: ignore[attr-defined]
        segment: dict[str, Any] = {"name": d["name"], "when": when}
        for o in OVERRIDES:
            if not d[o.field]:
                continue
            for path in o.settings:
                field = SETTINGS_PATHS[path]
                put_path(segment, tuple(path.split(".")), parsed(field, d[field]))
            for kind in o.formsets:
                put_path(segment, FORMSETS[kind][1], self._value(nested_prefix(index, kind), kind))
        self._segment_sources.append((form, index))  # type: ignore[arg-type]
        return segment

    def document(self) -> dict[str, Any]:
        """Call after `is_valid()`: the document the forms describe."""
        s = self.settings.cleaned_data
        document: dict[str, Any] = {"format": "mqa.scoring-model/v1"}
        for kind, (_, path, _) in FORMSETS.items():
            put_path(document, path, self._value(kind, kind))
        for dotted, field in SETTINGS_PATHS.items():
            put_path(document, tuple(dotted.split(".")), parsed(field, s[field]))
        self._segment_sources = []
        document["segments"] = [self._segment(form) for form in self.segments.ordered_forms]
        return document

    def add_errors(self, errors: list[tuple[str, str]]) -> None:
        """Put document errors on the fields they name."""
        for path, message in errors:
            text = friendly(message)
            form, field = self._locate(path)
            if form is None:
                self.settings.add_error(None, f"{path}: {text}")
            else:
                form.add_error(field, text)

    def _locate(self, path: str) -> Located:
        segment = re.match(r"segments\[(\d+)\](?:\.(.+))?$", path)
        if not segment:
            return self._locate_in(path, lambda kind: kind, self.settings)
        number, rest = int(segment.group(1)), segment.group(2) or ""
        if number >= len(self._segment_sources):
            return None, None
        form, index = self._segment_sources[number]
        if rest in ("", "when"):
            return form, None
        when = re.match(r"when\[(\d+)\](?:\.(\w+))?$", rest)
        if when:
            return self._row(nested_prefix(index, "when"), int(when.group(1)), when.group(2))
        return self._locate_in(rest, lambda kind: nested_prefix(index, kind), form)

    def _locate_in(
        self, path: str, prefix_of: Callable[[str], str], settings: forms.Form
    ) -> Located:
        """A path of the top level (or of a segment, relative to it) → its form and field."""
        for kind, (_, base, _) in FORMSETS.items():
            dotted = ".".join(base)
            if kind == "role_weights" and path.startswith(dotted + "."):
                role = path[len(dotted) + 1 :]
                for form in self._sources.get(prefix_of(kind), []):
                    if form.cleaned_data["role"].strip() == role:
                        return form, "weight"
            match = re.match(re.escape(dotted) + r"\[(\d+)\](?:\.(\w+))?", path)
            if match:
                found = self._row(prefix_of(kind), int(match.group(1)), match.group(2))
                if found[0] is not None:
                    return found
        key = re.sub(r"\[\d+\]$", "", path)
        if key in SETTINGS_PATHS:
            return settings, SETTINGS_PATHS[key]
        return None, None

    def _row(self, prefix: str, index: int, field: str | None) -> Located:
        kept = self._sources.get(prefix, [])
        if index >= len(kept):
            return None, None
        field = {"event_type": "type", "signal_type": "type"}.get(field or "", field)
        form = kept[index]
        return form, field if field in form.fields else None
