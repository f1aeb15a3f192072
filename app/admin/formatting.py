"""Jinja filters of the console: how figures, dates and sizes read on a page."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from flask import Blueprint, current_app

from app.campaigns.caps import caps_of
from app.reporting.money import format_money

DATETIME_FORM_FORMAT = "%Y-%m-%dT%H:%M:%S"  # what <input type="datetime-local" step="1"> shows and sends


def utc(moment: datetime | None, zone: bool = True) -> str:
    """Like "2026-03-01 10:30 UTC"; without the zone where a heading already says UTC."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") + (" UTC" if zone else "")


def form_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(DATETIME_FORM_FORMAT)


def money(amount: str | Decimal | None) -> str:
    """In the account's currency, never rounded away: "$1,500.00", "$0.0123456" (app.reporting.money)."""
    return format_money(amount, current_app.config["SETTINGS"].account_currency)


def percent(ratio: float) -> str:
    """One decimal, or two below 1 % so that a small share does not read as none: "12.3 %", "0.04 %"."""
    value = ratio * 100
    return f"{value:.2f} %" if 0 < value < 1 else f"{value:.1f} %"


def file_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


def seconds(duration: float) -> str:
    return f"{duration:.1f} s"


def frequency_caps(stored: list[dict] | None) -> str:
    """A campaign's or advertiser's frequency caps in words: `1 per hour, 3 per day`, or `none`."""
    return ", ".join(rule.describe() for rule in caps_of(stored)) or "none"


def register(bp: Blueprint) -> None:
    for function in (utc, money, percent, file_size, seconds, frequency_caps):
        bp.add_app_template_filter(function)
