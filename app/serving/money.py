"""Money in integer units of 10⁻⁷: exact for every CPM (4 decimals) divided by 1000, and addable in Redis."""

from decimal import Decimal

UNITS_PER_CURRENCY = 10_000_000


def currency_to_units(amount: Decimal) -> int:
    units = amount * UNITS_PER_CURRENCY
    if units != units.to_integral_value():
        raise ValueError(f"{amount} has more precision than money units hold")
    return int(units)


def units_to_currency(units: int) -> Decimal:
    return Decimal(units) / UNITS_PER_CURRENCY
