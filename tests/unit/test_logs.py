"""Log lines: no IP address in clear, whatever wrote it (app.logs)."""

from __future__ import annotations

import json
import logging
import sys

import pytest
import sqlalchemy as sa

from app.logs import JsonFormatter, mask_ips, truncate_ip
from app.serving.request import parse_ad_request
from app.tracking.dead_letters import _describe


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:85a3:1234::8a2e:370:7334", "2001:db8:85a3::/48"),
        ("fe80::1%eth0", "fe80::/48"),
        ("not an address", None),
    ],
)
def test_addresses_are_truncated_to_their_network(address, network):
    assert truncate_ip(address) == network


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("login failed: client=203.0.113.77", "login failed: client=203.0.113.0/24"),
        ("Key (ip)=(198.51.100.23) exists", "Key (ip)=(198.51.100.0/24) exists"),
        ("from [2001:db8:85a3:1::7]:443", "from [2001:db8:85a3::/48]:443"),
        ("mapped ::ffff:203.0.113.9 here", "mapped ::/48 here"),
        # Not addresses: versions, times, ids.
        ("Roku/DVP-12.0 (12.0.0.4182-88) at 02:52:03.123", "Roku/DVP-12.0 (12.0.0.4182-88) at 02:52:03.123"),
        ("campaign 6d92078a-8246-4ba4-ae5b-76104861e7dc", "campaign 6d92078a-8246-4ba4-ae5b-76104861e7dc"),
    ],
)
def test_addresses_in_text_are_masked(text, masked):
    assert mask_ips(text) == masked


def test_a_log_line_carries_no_address_in_its_message_extras_or_traceback():
    try:
        raise ValueError("refused 2001:db8:85a3:1::7")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "adserver", logging.WARNING, __file__, 1, "login failed: client=%s", ("203.0.113.77",), exc_info
    )
    record.client = "203.0.113.77"
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "203.0.113.77" not in line and "2001:db8:85a3:1::7" not in line
    assert entry["message"] == "login failed: client=203.0.113.0/24"
    assert entry["client"] == "203.0.113.0/24"
    assert "refused 2001:db8:85a3::/48" in entry["exc"]


def test_a_dead_lettered_events_error_shows_no_address():
    class Refused(Exception):
        pass

    error = sa.exc.IntegrityError(
        "INSERT ...", {"ip": "198.51.100.23"}, Refused("DETAIL: Key (ip)=(198.51.100.23)")
    )
    described = _describe(error)
    assert described == "Refused: DETAIL: Key (ip)=(198.51.100.0/24)"


def test_the_warnings_header_names_no_identifier():
    ifa = "6D92078A-8246-4BA4-AE5B-76104861E7DC" * 4
    query = {"ifa": ifa, "ip": "203.0.113.999", "ua": "Roku/" + "x" * 1100, "vast_version": "9"}
    ad_request = parse_ad_request(query, {"X-Device-IP": "198.51.100.300"}, "203.0.113.7")
    header = ad_request.warnings_header()
    assert set(ad_request.warnings) == {"ifa", "ip", "ua", "vast_version", "X-Device-IP"}
    for value in ("6D92078A-8246-4BA4", "203.0.113", "198.51.100", "Roku"):
        assert value not in header
