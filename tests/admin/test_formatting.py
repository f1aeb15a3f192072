"""How figures read on the pages, and where the console sends the browser next."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from app import create_app
from app.admin import formatting
from app.admin.navigation import local_page
from app.reporting.money import format_money


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("1500.00", "USD", "$1,500.00"),
        ("0.0123456", "USD", "$0.0123456"),
        (Decimal("12.5000"), "EUR", "€12.50"),
        ("0", "USD", "$0.00"),
        ("1500", "JPY", "¥1,500"),
        ("0.0000123", "JPY", "¥0.0000123"),
        ("-3.1", "GBP", "-£3.10"),
        (None, "USD", ""),
    ],
)
def test_money_keeps_every_significant_decimal_in_its_currency(amount, currency, shown):
    assert format_money(amount, currency) == shown


def test_the_console_shows_money_in_the_account_currency(make_settings):
    app = create_app(make_settings(account_currency="EUR"))
    with app.app_context():
        assert formatting.money("1500") == "€1,500.00"


@pytest.mark.parametrize(
    ("size", "shown"), [(999, "999 bytes"), (2048, "2.0 KiB"), (104_857_600, "100.0 MiB")]
)
def test_file_sizes(size, shown):
    assert formatting.file_size(size) == shown


def test_dates_read_in_utc():
    moment = datetime(2026, 3, 1, 12, 30, 5, tzinfo=timezone(timedelta(hours=2)))
    assert formatting.utc(moment) == "2026-03-01 10:30 UTC"
    assert formatting.utc(moment, zone=False) == "2026-03-01 10:30"
    assert formatting.utc(None) == ""
    assert formatting.form_datetime(moment) == "2026-03-01T10:30:05"
    assert [formatting.percent(ratio) for ratio in (0.12345, 0.0004, 0)] == ["12.3 %", "0.04 %", "0.0 %"]
    assert formatting.seconds(14.96) == "15.0 s"
    assert datetime.fromisoformat(formatting.form_datetime(moment) + "+00:00") == moment.astimezone(UTC)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/admin/campaigns?status=draft", "/admin/campaigns?status=draft"),
        (None, "/admin/"),
        ("", "/admin/"),
        ("https://evil.example/admin/", "/admin/"),
        ("//evil.example/admin/", "/admin/"),
        ("/api/v1/campaigns", "/admin/"),
        ("/vast", "/admin/"),
        # Dot segments, encoded or not, backslashes and repeated slashes are resolved before the check.
        ("/admin/..//x", "/admin/"),
        ("/admin/%2e%2e//x", "/admin/"),
        ("/admin/%2E%2E/%2e%2E//evil.example", "/admin/"),
        ("/admin/%252e%252e//x", "/admin/"),  # encoded twice
        ("/admin/%25252e%25252e//x", "/admin/"),  # still encoded after three decodings
        ("/admin\\..\\x", "/admin/"),
        ("/admin/%5c..%5c..%5cx", "/admin/"),
        ("/admin/campaigns/../../x", "/admin/"),
        ("/admin/..", "/admin/"),
        ("/admin", "/admin/"),
        ("//evil.example", "/admin/"),
        ("///evil.example/admin/", "/admin/"),
        ("/\\evil.example/admin/", "/admin/"),
        ("\\\\evil.example/admin/", "/admin/"),
        ("https:/admin/", "/admin/"),
        ("javascript:alert(1)//admin/", "/admin/"),
        ("admin/campaigns", "/admin/"),
        # Characters a browser drops or a header refuses.
        ("/\t/evil.example/admin/", "/admin/"),
        ("/admin/%0a/x", "/admin/"),
        ("/admin/campaigns\r\nSet-Cookie: x=1", "/admin/"),
        # Console pages come back normalised, with their query.
        ("/admin/./campaigns//new", "/admin/campaigns/new"),
        ("/admin/campaigns/x/../new", "/admin/campaigns/new"),
        ("/admin/campaigns?status=draft&page=2#top", "/admin/campaigns?status=draft&page=2"),
        ("/admin/campaigns?q=a\\b", "/admin/campaigns?q=a%5Cb"),
        ("/admin/%2F%2Fevil.example", "/admin/evil.example"),
    ],
)
def test_next_pages_stay_in_the_console(app, target, expected):
    with app.test_request_context():
        assert local_page(target, "/admin/") == expected
