"""The audit trail's diff: rules matched by their label, not their position."""

from __future__ import annotations

import copy

from mqa.scoring import dump_document, parse_document
from mqa.scoring.diff import change_summary, document_changes
from tests.factories import TEST_MODEL


def sixteen_rules() -> dict:
    document = copy.deepcopy(TEST_MODEL)
    document["contact"]["fit"]["rules"] = [
        {"label": f"Title {n}", "attribute": "title", "op": "eq", "value": f"t{n}", "points": n}
        for n in range(16)
    ]
    return dump_document(parse_document(document))


def test_deleting_one_rule_of_sixteen_is_one_removal():
    before = sixteen_rules()
    after = copy.deepcopy(before)
    removed = after["contact"]["fit"]["rules"].pop(3)

    assert document_changes(before, after) == [
        {"path": "contact.fit.rules[3]", "before": removed, "after": None}
    ]


def test_an_edited_rule_is_matched_by_its_label_after_a_removal():
    before = sixteen_rules()
    after = copy.deepcopy(before)
    del after["contact"]["fit"]["rules"][0]
    after["contact"]["fit"]["rules"][4]["points"] = 50  # "Title 5", now fifth

    changes = document_changes(before, after)

    assert changes == [
        {
            "path": "contact.fit.rules[0]",
            "before": before["contact"]["fit"]["rules"][0],
            "after": None,
        },
        {
            "path": "contact.fit.rules[4]",
            "before": before["contact"]["fit"]["rules"][5],
            "after": after["contact"]["fit"]["rules"][4],
        },
    ]
    assert [change_summary(c) for c in changes] == [
        {
            "section": "contact.fit.rules",
            "name": "Title 0",
            "verb": "removed",
            "fields": [
                {"key": "label", "before": '"Title 0"', "after": "—"},
                {"key": "attribute", "before": '"title"', "after": "—"},
                {"key": "op", "before": '"eq"', "after": "—"},
                {"key": "value", "before": '"t0"', "after": "—"},
                {"key": "points", "before": "0", "after": "—"},
            ],
        },
        {
            "section": "contact.fit.rules",
            "name": "Title 5",
            "verb": "changed",
            "fields": [{"key": "points", "before": "5", "after": "50"}],
        },
    ]


def test_an_added_rule_and_a_reordering_are_told_apart():
    before = sixteen_rules()
    after = copy.deepcopy(before)
    rules = after["contact"]["fit"]["rules"]
    rules.reverse()
    new = {
        "label": "Director",
        "attribute": "seniority",
        "op": "eq",
        "value": "director",
        "points": 7,
    }
    rules.insert(2, new)

    assert document_changes(before, after) == [
        {"path": "contact.fit.rules[2]", "before": None, "after": new}
    ]


def test_unlabelled_or_duplicate_rules_fall_back_to_content_then_position():
    before = copy.deepcopy(TEST_MODEL)
    before["contact"]["disqualifiers"] = [
        {"attribute": "seniority", "op": "eq", "value": "student", "reason": "junior"},
        {"attribute": "seniority", "op": "eq", "value": "intern", "reason": "junior"},
        {"attribute": "title", "op": "contains", "value": "test", "reason": "junior"},
    ]
    after = copy.deepcopy(before)
    del after["contact"]["disqualifiers"][0]
    after["contact"]["disqualifiers"][1]["value"] = "qa"

    changes = document_changes(before, after)

    assert changes == [
        {
            "path": "contact.disqualifiers[0]",
            "before": before["contact"]["disqualifiers"][0],
            "after": None,
        },
        {
            "path": "contact.disqualifiers[1]",
            "before": before["contact"]["disqualifiers"][2],
            "after": after["contact"]["disqualifiers"][1],
        },
    ]
    assert change_summary(changes[1]) == {
        "section": "contact.disqualifiers",
        "name": "junior",
        "verb": "changed",
        "fields": [{"key": "value", "before": '"test"', "after": '"qa"'}],
    }


def test_settings_are_reported_key_by_key():
    before = dump_document(parse_document(TEST_MODEL))
    after = copy.deepcopy(before)
    after["contact"]["thresholds"]["total"] = 80
    after["account"]["role_weights"]["user"] = 0.5
    del after["account"]["role_weights"]["champion"]

    changes = document_changes(before, after)

    assert changes == [
        {"path": "contact.thresholds.total", "before": 70, "after": 80},
        {"path": "account.role_weights.champion", "before": 1.5, "after": None},
        {"path": "account.role_weights.user", "before": None, "after": 0.5},
    ]
    assert [change_summary(c) for c in changes] == [
        {
            "section": "contact.thresholds.total",
            "name": "",
            "verb": "changed",
            "fields": [{"key": "", "before": "70", "after": "80"}],
        },
        {
            "section": "account.role_weights.champion",
            "name": "",
            "verb": "removed",
            "fields": [{"key": "", "before": "1.5", "after": "—"}],
        },
        {
            "section": "account.role_weights.user",
            "name": "",
            "verb": "added",
            "fields": [{"key": "", "before": "—", "after": "0.5"}],
        },
    ]
