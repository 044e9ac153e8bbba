"""How the review pages name and colour things: one colour and one name per event and signal
type on every page and chart (page views are the same blue on every account), and the SPEC's
criteria in words. Known types have fixed colours (told apart by colour-blind readers, after
Okabe & Ito); any other type hashes to a stable one of the rest."""

from __future__ import annotations

import zlib

KNOWN = {
    "page_view": "#0072b2",
    "demo_request": "#d55e00",
    "content_download": "#009e73",
    "webinar_attended": "#cc79a7",
    "email_click": "#56b4e9",
    "form_submit": "#e69f00",
    "unsubscribe": "#5a5a5a",
    "intent_surge": "#8a3ffc",
    "web_visit": "#1b9e77",
}
OTHERS = ("#a6761d", "#7570b3", "#e7298a", "#66a61e", "#386cb0", "#bf5b17", "#666666")


def event_colour(type_: str) -> str:
    return KNOWN.get(type_) or OTHERS[zlib.crc32(type_.encode()) % len(OTHERS)]


def event_label(type_: str) -> str:
    """`page_view` → "Page view"."""
    return type_.replace("_", " ").replace(".", " ").strip().capitalize() or type_


# The MQL and MQA criteria (SPEC §3 `missing`) as a reader says them.
CRITERIA = {
    "fit_floor": "Fit",
    "engagement_floor": "Engagement floor",
    "total": "Total score",
    "min_engaged_contacts": "Engaged contacts",
    "min_roles": "Roles covered",
    "required_roles": "Required roles",
    "engagement": "Engagement",
    "min_mql_contacts": "MQL contacts",
}


def criterion_label(criterion: str) -> str:
    return CRITERIA.get(criterion, criterion.replace("_", " ").capitalize())
