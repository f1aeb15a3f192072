"""The device's region: DB-IP's city database (installed by `make assets`) read on real addresses, its
region names coded in ISO 3166-2 (test_regions.py), and a server without the database (every region unknown,
never an error)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from app.serving.geo import REGION_FILES, RegionDatabase
from app.settings import Settings


@pytest.fixture(scope="module")
def regions() -> RegionDatabase:
    directory = Path(Settings().region_database_dir)
    missing = [name for name in REGION_FILES if not (directory / name).exists()]
    if missing:
        pytest.fail(f"{directory} lacks {', '.join(missing)}: run `make assets`")
    return RegionDatabase(directory)


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("8.8.8.8", "US-CA"),  # the database: Mountain View, California
        ("1.1.1.1", "AU-NSW"),  # Sydney, New South Wales
        ("81.2.69.160", "GB-ENG"),  # London, England
        ("193.0.6.139", "NL-NH"),  # RIPE NCC, Amsterdam, "North Holland" (ISO: Noord-Holland)
        ("2a00:1450:4001::1", "DE-HE"),  # Frankfurt am Main, "Hesse" (ISO: Hessen)
        ("2001:4860:4860::8888", "CA-QC"),  # Montreal, Quebec
        ("::ffff:8.8.8.8", "US-CA"),  # IPv4 written as IPv6: looked up in the IPv4 file
        ("2003::1", "DE-NW"),  # Bonn, "North Rhine-Westphalia" (ISO: Nordrhein-Westfalen)
        ("10.1.2.3", None),  # private
        ("::1", None),
        ("::ffff:zz", None),
        ("not an address", None),
        ("", None),
        (None, None),
    ],
)
def test_region_of_an_address(regions, ip, expected):
    assert regions.available and regions.problem is None
    assert regions.region(ip) == expected


def test_without_the_database_every_region_is_unknown_and_it_is_said_once(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="app.serving.geo"):
        regions = RegionDatabase(tmp_path / "missing")
    assert not regions.available and "FileNotFoundError" in regions.problem
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "region database unavailable" in caplog.records[0].getMessage()
    regions.warm()  # nothing to warm
    assert regions.region("8.8.8.8") is None


def test_an_unreadable_database_is_no_database(tmp_path):
    for name in REGION_FILES:
        (tmp_path / name).write_bytes(b"not an mmdb file")
    regions = RegionDatabase(tmp_path)
    assert not regions.available and "InvalidDatabaseError" in regions.problem
    assert regions.region("8.8.8.8") is None
