"""Submitted forms, loaded through the API's own schemas: a page shows every message at once, field by field,
in plain words (`plain_words`: "Required." for an empty required input, never a validator's wording)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import marshmallow as ma
from werkzeug.datastructures import MultiDict

from app.admin.formatting import form_datetime
from app.admin.targeting_form import form_errors, targeting_from_form
from app.campaigns.caps import parse_lines
from app.campaigns.schemas import CampaignInputSchema
from app.errors import flatten_messages
from app.exceptions import Invalid, ServiceError

CAMPAIGN_DATES = ("start_date", "end_date")


# A validator's wording -> plain words, for a person filling in a form (the API keeps the exact wording).
_PLAIN = (
    (re.compile(r"Missing data for required field\."), "Required."),
    (re.compile(r"Length must be between 1 and (\d+)\."), r"At most \1 characters."),
    (re.compile(r"Longer than maximum length (\d+)\."), r"At most \1 characters."),
    (re.compile(r"Not a valid (number|decimal)\."), "Enter a number, such as 1500.00."),
    (re.compile(r"Not a valid integer\."), "Enter a whole number."),
    (re.compile(r"Not a valid datetime\."), "Enter a date and time."),
    (re.compile(r"Not a valid UUID\."), "Choose one of the list."),
    (re.compile(r"Must be after start_date\."), "End must be after start."),
    (re.compile(r"Must not exceed budget_total\."), "Must not exceed the budget."),
    (re.compile(r"Must not exceed impression_goal\."), "Must not exceed the impression goal."),
)
FLIGHT_DAYS = 30  # a new campaign's flight, by default: from the next hour, for 30 days


def plain_words(details: dict[str, str]) -> dict[str, str]:
    """Each field's message as a form says it: "Required.", "End must be after start.", "At most 255
    characters." rather than a validator's wording."""
    plain = {}
    for name, text in details.items():
        for pattern, replacement in _PLAIN:
            text = pattern.sub(replacement, text)
        plain[name] = text
    return plain


def flight_defaults(now: datetime) -> dict[str, str]:
    """A new campaign form's flight: from the next full hour (UTC), for FLIGHT_DAYS days."""
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return {
        "start_date": form_datetime(start),
        "end_date": form_datetime(start + timedelta(days=FLIGHT_DAYS)),
    }


def load_form(schema: ma.Schema, form: MultiDict, message: str) -> dict:
    """The schema's fields found in the form (the CSRF token and buttons are not data). An empty optional
    input means "not given": None where the field takes it, else absent; an empty required one is missing.
    Raises Invalid with every message at once, in plain words."""
    data = {}
    for name, field in schema.fields.items():
        if name not in form:
            continue
        value = form[name]
        if isinstance(value, str) and not value.strip():
            if field.required or not field.allow_none:
                continue
            value = None
        data[name] = value
    try:
        return schema.load(data)
    except ma.ValidationError as exc:
        raise Invalid(message, plain_words(flatten_messages({"form": exc.messages}))) from None


def load_campaign_form(form: MultiDict) -> dict:
    """The dates come from <input type="datetime-local">, without a timezone: the form says they are UTC.
    An unticked checkbox is not sent at all: category_exclusive and server_side_unwrap are false unless
    they are there. The first choice (empty) of the pacing menu is even, of the kind menu direct. The
    targeting inputs make one `targeting` (app.admin.targeting_form)."""
    values = MultiDict(form)
    for name in CAMPAIGN_DATES:
        if _naive_iso(values.get(name, "")):
            values[name] = values[name] + "Z"
    values["category_exclusive"] = "true" if values.get("category_exclusive") else "false"
    values["pacing"] = values.get("pacing") or "even"
    values["kind"] = values.get("kind") or "direct"
    values["server_side_unwrap"] = "true" if values.get("server_side_unwrap") else "false"
    targeting = targeting_from_form(form)
    if targeting is not None:
        values["targeting"] = targeting
    try:
        return load_with_caps(CampaignInputSchema(), values, "Invalid campaign")
    except Invalid as exc:  # the targeting's messages by the input they concern
        raise Invalid(exc.message, form_errors(exc.details)) from None


def load_with_caps(schema: ma.Schema, form: MultiDict, message: str) -> dict:
    """load_form for a form with a frequency caps textarea: one rule a line (app.campaigns.caps.parse_lines),
    an empty one for none; a refused rule is named by its number, beside the textarea."""
    values = MultiDict(form)
    if "frequency_caps" in values:
        rules = parse_lines(values["frequency_caps"])
        if isinstance(rules, str):
            raise Invalid(message, {"frequency_caps": rules})
        values["frequency_caps"] = rules
    try:
        return load_form(schema, values, message)
    except Invalid as exc:
        details: dict[str, str] = {}
        for name, text in exc.details.items():
            if name.startswith("frequency_caps."):
                number = name.split(".")[1]
                text = f"Rule {int(number) + 1}: {text}" if number.isdigit() else text
                name = "frequency_caps"
            details[name] = f"{details[name]} {text}" if name in details else text
        raise Invalid(message, details) from None


def _naive_iso(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is None
    except ValueError:
        return False


def refusal(error: ServiceError) -> str:
    """A service's refusal in one line, for a flash message: its message, then each field's."""
    return " ".join([error.message, *error.details.values()])
