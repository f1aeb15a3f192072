"""How many of the DB-IP city database's regions get an ISO 3166-2 code (app.serving.regions), by distinct
(country, region name) and by the networks they cover, and which names get none, by country, the most
networks first.

    python -m scripts.region_coverage --write   # walk the database (~6 min), rewrite NAMES_FILE, report
    python -m scripts.region_coverage           # report from NAMES_FILE (seconds)
    python -m scripts.region_coverage --matches # also every name coded otherwise than by an ISO name

NAMES_FILE (tests/unit/serving/dbip_region_names.tsv) holds each distinct (country_code, state1) of the
database with its IPv4 networks, IPv4 addresses and IPv6 networks; its header names the build of each file
(MMDB metadata build_epoch), so tests/unit/serving/test_regions.py can tell when it is stale.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import NamedTuple

import maxminddb
import pycountry

from app.serving.geo import REGION_FILES
from app.serving.regions import english, key, region_code
from app.settings import Settings

NAMES_FILE = Path(__file__).resolve().parent.parent / "tests" / "unit" / "serving" / "dbip_region_names.tsv"


class Region(NamedTuple):
    country: str
    name: str
    ipv4_networks: int
    ipv4_addresses: int
    ipv6_networks: int

    @property
    def networks(self) -> int:
        return self.ipv4_networks + self.ipv6_networks


def builds(directory: Path) -> list[int]:
    """The build_epoch of each of the database's files (REGION_FILES' order)."""
    return [maxminddb.open_database(directory / name).metadata().build_epoch for name in REGION_FILES]


def walk(directory: Path) -> list[Region]:
    """Every distinct (country, region name) of the database, with what it covers."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for ipv6, name in enumerate(REGION_FILES):
        with maxminddb.open_database(directory / name, maxminddb.MODE_MMAP_EXT) as reader:
            for network, record in reader:
                found = counts[(record.get("country_code", ""), record.get("state1", ""))]
                if ipv6:
                    found[2] += 1
                else:
                    found[0] += 1
                    found[1] += network.num_addresses
    return sorted(Region(*k, *v) for k, v in counts.items())


def write(regions: list[Region], epochs: list[int]) -> None:
    lines = [
        "# (country_code, state1) of DB-IP's city database: IPv4 networks, IPv4 addresses, IPv6 networks.",
        "# build_epoch " + " ".join(map(str, epochs)),
        "# Written by `python -m scripts.region_coverage --write`.",
    ]
    lines += ["\t".join(map(str, region)) for region in regions]
    NAMES_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read() -> tuple[list[Region], list[int]]:
    """NAMES_FILE's regions and the build epochs it was written from."""
    regions, epochs = [], []
    for line in NAMES_FILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("# build_epoch "):
            epochs = [int(epoch) for epoch in line.split()[2:]]
        elif line and not line.startswith("#"):
            country, name, *numbers = line.split("\t")
            regions.append(Region(country, name, *map(int, numbers)))
    return regions, epochs


def coverage(regions: list[Region]) -> dict[str, float]:
    """Shares (0..1) of the named regions that get a code: by distinct name, IPv4 and IPv6 networks, all
    networks and IPv4 addresses."""
    named = [r for r in regions if r.name]
    coded = [r for r in named if region_code(r.country, r.name)]
    total, hit = Counter(), Counter()
    for counter, group in ((total, named), (hit, coded)):
        for r in group:
            counter.update(
                ipv4_networks=r.ipv4_networks,
                ipv6_networks=r.ipv6_networks,
                networks=r.networks,
                ipv4_addresses=r.ipv4_addresses,
            )
    shares = {"names": len(coded) / len(named)}
    shares.update({field: hit[field] / total[field] for field in total})
    return shares


def report(regions: list[Region], countries: int, matches: bool) -> None:
    for field, share in coverage(regions).items():
        print(f"{field:15} {100 * share:5.1f} %")
    unmapped: dict[str, list[Region]] = defaultdict(list)
    for r in regions:
        if r.name and not region_code(r.country, r.name):
            unmapped[r.country].append(r)
    print(f"\nwithout a code, by country ({sum(map(len, unmapped.values()))} names): networks, names")
    for country, names in sorted(unmapped.items(), key=lambda item: -sum(r.networks for r in item[1]))[
        :countries
    ]:
        names.sort(key=lambda r: -r.networks)
        listed = "; ".join(f"{r.name} {r.networks}" for r in names[:10])
        print(f"{country} {sum(r.networks for r in names)}: {listed}{' ...' if len(names) > 10 else ''}")
    if matches:
        print("\ncoded otherwise than by an ISO name or its English translation: name -> code (ISO name)")
        for r in sorted(regions, key=lambda r: -r.networks):
            code = region_code(r.country, r.name) if r.name else None
            if code:
                iso = pycountry.subdivisions.get(code=code).name
                if key(r.name) not in {key(iso), key(english().gettext(iso))}:
                    print(f"{r.country} {r.name!r} -> {code} ({iso}) {r.networks}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--write", action="store_true", help="walk the database and rewrite NAMES_FILE")
    parser.add_argument("--matches", action="store_true", help="list the names coded by other names")
    parser.add_argument("--countries", type=int, default=40, help="countries listed without codes")
    args = parser.parse_args(argv)
    if args.write:
        directory = Path(Settings().region_database_dir)
        write(walk(directory), builds(directory))
    report(read()[0], args.countries, args.matches)
    return 0


if __name__ == "__main__":
    sys.exit(main())
