"""Money as the reports show it: exact decimal text for the API and CSV, and one display form (with the
account's currency, ACCOUNT_CURRENCY) for every page and every display field.

Amounts are never rounded: spend is kept in units of 10⁻⁷ (app.serving.money), and a CPM of 0.0123 makes
impressions worth 0.0000123 each, so a display keeps every significant decimal past the currency's own
(two for USD and EUR, none for JPY).
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision, is_currency

from app.serving.money import UNITS_PER_CURRENCY, units_to_currency

DISPLAY_LOCALE = "en_US"  # grouping and decimal marks of the console: "1,500.00"
_MAX_PLACES = len(str(UNITS_PER_CURRENCY)) - 1  # 7: the places money units hold


def money_text(units: int) -> str:
    """Exact, with at least two decimals: "12.50", "0.0123456" (the API's and the CSV's amounts)."""
    amount = units_to_currency(units)
    if amount == amount.quantize(Decimal("0.01")):
        return f"{amount:.2f}"
    return format(amount.normalize(), "f")


def known_currency(code: str) -> bool:
    """An ISO 4217 code that the display knows (upper case, e.g. "USD")."""
    return code.isupper() and is_currency(code)


@lru_cache(maxsize=16)
def _pattern(currency: str) -> str:
    places = get_currency_precision(currency)
    return "¤#,##0" + ("." if places < _MAX_PLACES else "") + "0" * places + "#" * (_MAX_PLACES - places)


def format_money(amount: str | Decimal | None, currency: str) -> str:
    """`amount` (exact decimal or its text) in `currency`: "$1,500.00", "€0.0123456", "¥1,500"; "" for None.
    The currency's decimals at least, every significant decimal kept (never rounded)."""
    if amount is None:
        return ""
    return format_currency(
        Decimal(amount), currency, format=_pattern(currency), locale=DISPLAY_LOCALE, currency_digits=False
    )
