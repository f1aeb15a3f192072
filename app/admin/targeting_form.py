"""The campaign form's targeting inputs, to and from the API's `targeting` (app.campaigns.targeting).

Each list dimension has two text inputs (`targeting_<dimension>_include`, `..._exclude`), comma-separated;
`targeting_livestream` is a choice; custom pairs are lines `key=value1,value2` (include) or `!key=value`
(exclude); the day-part is hours (`18-23`, `6,7,20-22`) and days (`sat,sun`). Supply tags are checkboxes
(`targeting_supply_tag`, one per tag: the campaign is limited to those ticked); an exclude rule set through
the API is kept as hidden inputs (`targeting_supply_tag_exclude`). The API's schema validates the result, and
its messages come back by the input they concern.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.campaigns.targeting import DAYS, LIST_DIMENSIONS

PREFIX = "targeting_"
SIDES = ("include", "exclude")
SUPPLY_TAG = "supply_tag"
TEXT_DIMENSIONS = tuple(d for d in LIST_DIMENSIONS if d != SUPPLY_TAG)  # a text input per side
SUPPLY_TAG_INPUTS = {"include": f"{PREFIX}{SUPPLY_TAG}", "exclude": f"{PREFIX}{SUPPLY_TAG}_exclude"}
LIVESTREAM_CHOICES = [("true", "Live streams only"), ("false", "Video on demand only")]


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _tag_ids(values: list[str]) -> list:
    """Tag ids as numbers; anything else is left for the schema to refuse, by its text."""
    return [int(value) if value.isdigit() else value for value in values if value]


def _hours(text: str) -> list:
    """`18-23, 6` as [18, ..., 23, 6]; an item that is not a number or a range is left for the schema to
    refuse, by its text."""
    hours: list = []
    for item in _items(text):
        low, dash, high = item.partition("-")
        if low.strip().isdigit() and (not dash or high.strip().isdigit()):
            hours += (
                range(int(low), int(high if dash else low) + 1) if int(low) <= int(high or low) else [item]
            )
        else:
            hours.append(item)
    return hours


def targeting_from_form(form: Mapping[str, str]) -> dict | None:
    """The `targeting` the form describes; None when the form has no targeting inputs at all (not shown)."""
    if not any(name.startswith(PREFIX) for name in form):
        return None
    rules: dict = {}
    for dimension in TEXT_DIMENSIONS:
        rule = {side: _items(form.get(f"{PREFIX}{dimension}_{side}", "")) for side in SIDES}
        if rule := {side: values for side, values in rule.items() if values}:
            rules[dimension] = rule
    getlist = getattr(form, "getlist", lambda name: [form[name]] if name in form else [])
    tags = {side: _tag_ids(getlist(name)) for side, name in SUPPLY_TAG_INPUTS.items()}
    if tags := {side: ids for side, ids in tags.items() if ids}:
        rules[SUPPLY_TAG] = tags
    live = form.get(f"{PREFIX}livestream", "")
    if live:
        rules["livestream"] = live
    custom: dict = {}
    for line in form.get(f"{PREFIX}custom", "").splitlines():
        line = line.strip()
        if not line:
            continue
        side = "exclude" if line.startswith("!") else "include"
        key, _, values = line.lstrip("!").partition("=")
        custom.setdefault(key.strip(), {}).setdefault(side, []).extend(_items(values) or [""])
    if custom:
        rules["custom"] = custom
    day_part = {}
    if hours := _hours(form.get(f"{PREFIX}hours", "")):
        day_part["hours"] = hours
    if days := [day.lower() for day in _items(form.get(f"{PREFIX}days", ""))]:
        day_part["days"] = days
    if day_part:
        rules["day_part"] = day_part
    return rules


def form_values(targeting: Mapping | None) -> dict[str, str]:
    """The form's inputs for a stored `targeting`."""
    targeting = targeting or {}
    values: dict = {}
    for dimension in TEXT_DIMENSIONS:
        for side in SIDES:
            values[f"{PREFIX}{dimension}_{side}"] = ", ".join(targeting.get(dimension, {}).get(side, []))
    for side, name in SUPPLY_TAG_INPUTS.items():  # lists: one checkbox (or hidden input) per tag
        values[name] = [str(tag) for tag in targeting.get(SUPPLY_TAG, {}).get(side, [])]
    live = targeting.get("livestream")
    values[f"{PREFIX}livestream"] = "" if live is None else str(live).lower()
    values[f"{PREFIX}custom"] = "\n".join(
        f"{'!' if side == 'exclude' else ''}{key}={','.join(rule[side])}"
        for key, rule in (targeting.get("custom") or {}).items()
        for side in SIDES
        if side in rule
    )
    day_part = targeting.get("day_part") or {}
    values[f"{PREFIX}hours"] = ", ".join(str(hour) for hour in day_part.get("hours", []))
    values[f"{PREFIX}days"] = ", ".join(day for day in DAYS if day in day_part.get("days", []))
    return values


def form_errors(errors: Mapping[str, str]) -> dict[str, str]:
    """The API's messages (`targeting.country.include.0`) under the input they concern."""
    named = {}
    for key, message in errors.items():
        parts = key.split(".")
        if parts[0] != "targeting" or len(parts) < 2:
            named[key] = message
            continue
        dimension = parts[1]
        if dimension == SUPPLY_TAG:
            side = parts[2] if len(parts) > 2 and parts[2] in SIDES else "include"
            name = SUPPLY_TAG_INPUTS[side]
        elif dimension in LIST_DIMENSIONS:
            side = parts[2] if len(parts) > 2 and parts[2] in SIDES else "include"
            name = f"{PREFIX}{dimension}_{side}"
        elif dimension == "day_part" and len(parts) > 2:
            name = f"{PREFIX}{parts[2]}"
        else:
            name = f"{PREFIX}{dimension}"
        named[name] = f"{named[name]} {message}" if name in named else message
    return named


def describe(
    targeting: Mapping | None, time_zone: str, tag_names: Mapping[int, str] | None = None
) -> list[str]:
    """The campaign's rules in words, one per dimension, for its page; empty when it serves every request.
    Supply tags are named by `tag_names` (id -> name) where known."""
    targeting = targeting or {}
    tag_names = tag_names or {}
    lines = []
    for dimension in LIST_DIMENSIONS:
        rule = targeting.get(dimension) or {}
        named = (
            (lambda tag: f"{tag_names[tag]} (#{tag})" if tag in tag_names else f"#{tag}")
            if dimension == SUPPLY_TAG
            else str
        )
        lines += [
            f"{dimension}: {side} {', '.join(map(named, rule[side]))}" for side in SIDES if side in rule
        ]
    if targeting.get("livestream") is not None:
        lines.append("livestream: " + ("live streams only" if targeting["livestream"] else "on demand only"))
    for key, rule in (targeting.get("custom") or {}).items():
        lines += [f"custom {key}: {side} {', '.join(rule[side])}" for side in SIDES if side in rule]
    day_part = targeting.get("day_part") or {}
    if day_part:
        hours = ", ".join(str(hour) for hour in day_part.get("hours", [])) or "all"
        days = ", ".join(day_part.get("days", [])) or "every day"
        lines.append(f"day_part: hours {hours}; {days} ({time_zone})")
    return lines
