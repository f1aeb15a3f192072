"""The device's region: DB-IP's city database (installed by `make assets`) read on real addresses, its
region names coded in ISO 3166-2, and a server without the database (every region unknown, never an error)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from app.serving.geo import REGION_FILES, RegionDatabase
from app.serving.regions import key, region_code
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
        ("2003::1", None),  # Bonn, "North Rhine-Westphalia": no ISO name spelt like it (Nordrhein-Westfalen)
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


@pytest.mark.parametrize(
    ("country", "name", "expected"),
    [
        ("US", "California", "US-CA"),  # the ISO name itself
        ("GB", "England", "GB-ENG"),
        ("DE", "Bavaria", "DE-BY"),  # iso-codes' English translation of Bayern
        ("CN", "Guangdong", "CN-GD"),  # ISO: Guangdong Sheng (a generic word)
        ("SE", "Stockholm", "SE-AB"),  # ISO: Stockholms län [SE-01], spelt closely
        ("FR", "Provence-Alpes-Cote d'Azur", "FR-PAC"),  # ISO: Provence-Alpes-Côte-d\u2019Azur
        ("IT", "Lombardy", "IT-25"),  # ISO: Lombardia, spelt closely
        ("TW", "Taiwan", None),  # the country's own name, not a region (ISO has Tainan, spelt closely)
        ("AR", "Buenos Aires F.D.", None),  # the city, not the province AR-B: more words than its name
        ("ID", "East Kalimantan", None),  # not the island's group ID-KA: more words than its name
        ("UA", "Rivne", None),  # ISO: Rivnenska oblast, too far
        ("SG", "", None),  # the database has no region there
        ("ZZ", "Nowhere", None),  # no such country
    ],
)
def test_region_names_coded_in_iso_3166_2(country, name, expected):
    assert region_code(country, name) == expected


def test_name_keys_fold_case_accents_asides_and_generic_words():
    assert key("Rivnenska oblast'") == "rivnenska"
    assert key("Västra Götalands län [SE-14]") == "gotalands vastra"  # then spelt closely to Vastra Gotaland
    assert key("Madrid, Comunidad de") == key("Comunidad de Madrid") == "madrid"
    assert key("Capital Region") == "capital region"  # only generic words: all of them


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
