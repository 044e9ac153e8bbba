"""Tracking-API messages read into what they do (SPEC §9). Ground layer: no database.

A message is validated whole, as the bulk items are (`mqa.batch`): the contact fields, the
account and the event it maps to are converted with the same schemas and cleaners as the bulk
endpoints', and a complaint names the message's own field (`traits.firstName`,
`traits.employees`, `event`, `timestamp`). Any invalid message refuses the whole batch.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from accounts.schemas import AccountIn, clean_account
from contacts.schemas import ContactIn, EventIn, clean_contact, email_or_invalid, event_cleaner
from mqa.batch import BatchError, Invalid, ItemError, has_nul
from mqa.ingest import canonical
from mqa.schemas import occurred_at_or_invalid

SOURCE = "segment"
TYPES = ("identify", "track", "page", "screen", "group", "alias")
MAX_MESSAGE_BYTES = 32 * 1024
MAX_ID_LENGTH = 255
# Set by the sender per request, not per message: a retried message carries new ones.
VOLATILE = ("sentAt", "receivedAt", "writeKey", "_metadata", "requestId")

# identify traits → contact fields (SPEC §9); the first spelling present wins.
CONTACT_TRAITS = {
    "first_name": ("firstName", "first_name"),
    "last_name": ("lastName", "last_name"),
    "title": ("title",),
    "seniority": ("seniority",),
    "job_function": ("jobFunction", "job_function"),
    "buying_role": ("buyingRole", "buying_role"),
    "country": ("country",),
    "lead_source": ("leadSource", "lead_source"),
}
# group traits → account fields; `domain` (else `website`) is the account's key.
ACCOUNT_TRAITS = {
    "name": ("name",),
    "industry": ("industry",),
    "employee_count": ("employees",),
    "annual_revenue": ("annual_revenue", "annualRevenue"),
    "country": ("country",),
}
_NOT_IN_TYPE = re.compile(r"[^a-z0-9_.-]+")


@dataclass
class Message:
    """What one message does. `contact` holds contact fields (no email) and `event` an event
    (no email) — applied to `email` once the message has one."""

    index: int
    message_id: str
    type: str
    digest: str
    user_id: str | None
    anonymous_id: str | None
    previous_id: str | None
    email: str | None
    contact: dict[str, Any] | None
    account: dict[str, Any] | None
    event: dict[str, Any] | None
    # The event as checked here (`EventIn`, its email and id still to be set): the request
    # that read the message stores it without reading it again.
    event_in: EventIn | None = None


def event_type(name: Any) -> str:
    """`"Demo Requested"` → `demo_requested` (SPEC §9)."""
    if not isinstance(name, str):
        raise Invalid("event", "must be a string")
    slug = _NOT_IN_TYPE.sub("_", name.lower()).strip("_")
    if not slug:
        raise Invalid("event", "must contain a letter or digit")
    if len(slug) > 100:
        raise Invalid("event", "is longer than 100 characters once made a type")
    return slug


def messages_parse(
    messages: list[Any], *, now: datetime, sent_at: Any = None, context: Any = None
) -> list[Message]:
    """Every message read, or `BatchError` naming each invalid one (its `index`, its field).

    `sent_at` and `context` are a batch's own (`{"batch": [...], "sentAt", "context"}`): the
    batch's context is under each message's, its `sentAt` the time of a message without one.
    """
    parsed, errors = [], []
    for index, raw in enumerate(messages):
        try:
            parsed.append(_message(index, raw, now=now, sent_at=sent_at, context=context))
        except Invalid as error:
            errors.append(ItemError(index, error.field, str(error)))
    if errors:
        raise BatchError(errors)
    return parsed


def _message(index: int, raw: Any, *, now: datetime, sent_at: Any, context: Any) -> Message:
    if not isinstance(raw, dict):
        raise Invalid("message", "must be an object")
    if len(msgspec.json.encode(raw)) > MAX_MESSAGE_BYTES:
        raise Invalid("message", f"is larger than {MAX_MESSAGE_BYTES} bytes")
    nul = next((key for key, value in raw.items() if has_nul(key) or has_nul(value)), None)
    if nul is not None:
        raise Invalid(str(nul), "must not contain NUL (\\u0000) characters")
    kind = raw.get("type")
    if kind not in TYPES:
        raise Invalid("type", f"must be one of {', '.join(TYPES)}")
    message_id = _identifier(raw, "messageId")
    if message_id is None:
        raise Invalid("messageId", "is required")
    user_id, anonymous_id = _identifier(raw, "userId"), _identifier(raw, "anonymousId")
    previous_id = None
    if kind == "alias":
        previous_id = _identifier(raw, "previousId")
        if previous_id is None or user_id is None:
            raise Invalid("previousId" if previous_id is None else "userId", "is required")
    elif user_id is None and anonymous_id is None:
        raise Invalid("userId", "userId or anonymousId is required")
    ctx = {**_object(context, "context"), **_object(raw.get("context"), "context")}
    traits = _object(raw.get("traits"), "traits")
    if kind == "identify" and "traits" not in raw:
        traits = _object(ctx.get("traits"), "context.traits")  # where RudderStack's SDK puts them
    email_field, email = (
        ("traits.email", traits.get("email"))
        if kind == "identify" and "email" in traits
        else ("context.traits.email", _object(ctx.get("traits"), "context.traits").get("email"))
    )
    if email is not None:
        email = _valid(email_field, lambda: email_or_invalid(_text(email_field, email)))
    at = _time(raw, now=now, sent_at=sent_at)
    contact = account = event = event_in = None
    if kind == "identify":
        contact = _contact_fields(traits)
    elif kind == "group":
        account = _account_item(traits)
        contact = {"account_domain": account["domain"]}
    elif kind in ("track", "page", "screen"):
        event, event_in = _event(kind, raw, ctx, at, now=now)
    volatile_free = {key: value for key, value in raw.items() if key not in VOLATILE}
    return Message(
        index=index,
        message_id=message_id,
        type=kind,
        digest=hashlib.sha256(canonical(volatile_free).encode()).hexdigest(),
        user_id=user_id,
        anonymous_id=anonymous_id,
        previous_id=previous_id,
        email=email,
        contact=contact,
        account=account,
        event=event,
        event_in=event_in,
    )


def _identifier(raw: dict[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Invalid(name, "must be a string")
    text = str(value).strip()
    if not text:
        return None if name != "messageId" else _raise(name, "must not be blank")
    if len(text) > MAX_ID_LENGTH:
        raise Invalid(name, f"is longer than {MAX_ID_LENGTH} characters")
    return text


def _raise(field: str, message: str) -> Any:
    raise Invalid(field, message)


def _object(value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid(field, "must be an object")
    return value


def _text(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid(field, "must be a string")
    return value


def _valid(field: str, clean: Callable[[], Any]) -> Any:
    try:
        return clean()
    except Invalid as error:
        raise Invalid(field, str(error)) from error


def _time(raw: dict[str, Any], *, now: datetime, sent_at: Any) -> datetime:
    """`timestamp`, else `originalTimestamp`, else `sentAt`, else the time of receipt."""
    for field, value in (
        ("timestamp", raw.get("timestamp")),
        ("originalTimestamp", raw.get("originalTimestamp")),
        ("sentAt", raw.get("sentAt")),
        ("sentAt", sent_at),
    ):
        if value is None:
            continue
        try:
            at = datetime.fromisoformat(_text(field, value))
        except ValueError as error:
            raise Invalid(field, "is not an ISO 8601 date-time") from error
        if at.tzinfo is None:
            raise Invalid(field, "has no timezone")
        try:
            return occurred_at_or_invalid(at, now)
        except Invalid as error:
            raise Invalid(field, str(error)) from error
    return now


def _pick(traits: dict[str, Any], names: tuple[str, ...]) -> tuple[str, Any] | None:
    return next(((name, traits[name]) for name in names if name in traits), None)


def _contact_fields(traits: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    origin = {"account_domain": "traits.company.domain"}  # field → the trait it came from
    used = {"email", "company"}
    for name, spellings in CONTACT_TRAITS.items():
        used |= set(spellings)
        if (found := _pick(traits, spellings)) is not None:
            fields[name], origin[name] = found[1], f"traits.{found[0]}"
    company = traits.get("company")
    if isinstance(company, dict):
        found = _pick(company, ("domain", "website"))
        if found is not None and found[1] is not None:
            origin["account_domain"] = f"traits.company.{found[0]}"
            fields["account_domain"] = _text(origin["account_domain"], found[1])
    elif company is not None:
        raise Invalid("traits.company", "must be an object")
    custom = {key: value for key, value in traits.items() if key not in used}
    if custom:
        fields["custom"] = custom
    _check(ContactIn, clean_contact, {"email": "x@example.com", **fields}, origin)
    return fields


def _account_item(traits: dict[str, Any]) -> dict[str, Any]:
    found = _pick(traits, ("domain", "website"))
    if found is None or found[1] is None:
        raise Invalid("traits.domain", "a group needs traits.domain or traits.website")
    origin = {"domain": f"traits.{found[0]}"}
    item: dict[str, Any] = {"domain": _text(origin["domain"], found[1])}
    used = {"domain", "website"}
    for name, spellings in ACCOUNT_TRAITS.items():
        used |= set(spellings)
        if (picked := _pick(traits, spellings)) is not None:
            item[name], origin[name] = picked[1], f"traits.{picked[0]}"
    custom = {key: value for key, value in traits.items() if key not in used}
    if custom:
        item["custom"] = custom
    item["domain"] = _check(AccountIn, clean_account, item, origin).domain
    return item


def _event(
    kind: str, raw: dict[str, Any], ctx: dict[str, Any], at: datetime, *, now: datetime
) -> tuple[dict[str, Any], EventIn]:
    """The event a track, page or screen message makes, as stored with a pending message, and
    as checked by the bulk endpoints' schema."""
    properties = dict(_object(raw.get("properties"), "properties"))
    if kind == "track":
        type_ = event_type(raw.get("event"))
    elif kind == "page":
        type_ = "page_view"
        page = _object(ctx.get("page"), "context.page")
        for name in ("url", "path"):
            if properties.get(name) is None and page.get(name) is not None:
                properties[name] = page[name]
    else:
        type_ = "screen_view"
    event = {"type": type_, "occurred_at": at.isoformat(), "properties": properties}
    check = {**event, "email": "pending@example.com", "id": "pending", "source": SOURCE}
    checked = _check(
        EventIn, event_cleaner(now), check, {"occurred_at": "timestamp", "type": "event"}
    )
    return event, checked


def _check(
    schema: type[Any], clean: Callable[[Any], Any], item: dict[str, Any], origin: dict[str, str]
) -> Any:
    """Convert and clean `item` as the bulk endpoints would; a complaint names the message's
    field that `origin` says the item's field came from."""

    def field_of(field: str) -> str:
        return origin.get(field, field)

    try:
        return clean(msgspec.convert(item, schema))
    except msgspec.ValidationError as error:
        text = str(error)
        match = re.search(r"at `\$\.([^`\[]+)", text)
        field = field_of(match.group(1)) if match else "message"
        raise Invalid(field, text.split(" - at `")[0]) from error
    except Invalid as error:
        raise Invalid(field_of(error.field), str(error)) from error
