"""The ISO 3166-2 code of a region's name, as the DB-IP city database writes it (English names, e.g.
`Bavaria`, `Hesse`, `North Holland`, `England`), from pycountry's ISO 3166-2 data (iso-codes).

ISO 3166-2 names subdivisions in their official language (`Bayern`, `Hessen`, `Noord-Holland`): a name is
compared as a key, folded to lower-case ASCII words without punctuation, asides in brackets and generic
words (`oblast`, `province`, `län`, `sheng`, ...), in sorted order. It matches
1. a subdivision of its country whose ISO name or English translation (iso-codes' `en` catalogue) has the
   same key; a key shared by two subdivisions of one country is ambiguous and matches neither, unless only
   one of them is first-level (DB-IP's `state1` is the first-level division);
2. else the one first-level subdivision whose key is spelt closely (difflib's ratio at least
   CLOSE_SPELLING, the same number of words, no other within 0.05 of it: `Hesse` -> `Hessen`, `Lombardy`
   -> `Lombardia`, `Stockholm` -> `Stockholms län`), never a name that is the country's own (`Taiwan`).
A name without a match has no code: the request's region is unknown (app.serving.geo).
"""

from __future__ import annotations

import functools
import gettext
import re
import unicodedata
from difflib import SequenceMatcher
from typing import NamedTuple

import pycountry

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
        "kray",
        "lan",
        "land",
        "metropolitan",
        "municipality",
        "oblast",
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


def key(name: str) -> str:
    """`name` as it is compared: its lower-case ASCII words, in order, without asides in brackets and
    generic words (`Rivnenska oblast'` -> `rivnenska`, `Madrid, Comunidad de` -> `madrid`); all its words
    when nothing else is left (`Capital Region` -> `capital region`)."""
    name = _ASIDE.sub(" ", name).replace("'", "").replace("\u2019", "")  # d'Azur (either apostrophe): dazur
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = _WORD.findall(ascii_name.lower())
    return " ".join(sorted(w for w in words if w not in GENERIC_WORDS)) or " ".join(sorted(words))


@functools.cache
def _english() -> gettext.NullTranslations:
    return gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["en"], fallback=True)


class _Country(NamedTuple):
    codes: dict[str, str]  # key -> ISO 3166-2 code, of any level
    first_level: dict[str, str]  # key -> code, first-level subdivisions only, for close spellings
    own_name: frozenset[str]  # keys of the country's own names


@functools.cache
def _country(country_code: str) -> _Country:
    """The keys of one country's subdivisions (ISO 3166-1 alpha-2 code, upper case)."""
    english = _english()
    found: dict[str, set[str]] = {}
    first_level: dict[str, str] = {}
    for subdivision in pycountry.subdivisions.get(country_code=country_code) or ():
        for name in {subdivision.name, english.gettext(subdivision.name)}:
            found.setdefault(key(name), set()).add(subdivision.code)
            if subdivision.parent_code is None:
                first_level[key(name)] = subdivision.code
    codes = {}
    for name_key, matches in found.items():
        if len(matches) > 1:  # ambiguous among divisions of different levels: the first-level one, if alone
            matches = matches & set(first_level.values())
        if len(matches) == 1:
            codes[name_key] = next(iter(matches))
    country = pycountry.countries.get(alpha_2=country_code)
    names = (
        {getattr(country, field, "") for field in ("name", "common_name", "official_name")}
        if country
        else set()
    )
    return _Country(codes, first_level, frozenset(key(name) for name in names if name))


def _closely_spelt(country: _Country, name_key: str) -> str | None:
    words = name_key.count(" ")
    scored = sorted(
        (
            (SequenceMatcher(None, name_key, other).ratio(), code)
            for other, code in country.first_level.items()
            if other.count(" ") == words
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
    """The ISO 3166-2 code (`DE-BY`) of the region `name` of the country `country_code`; None without a
    match. Memoised: the database has a few thousand distinct names."""
    if not country_code or not name:
        return None
    country, name_key = _country(country_code), key(name)
    code = country.codes.get(name_key)
    if code is None and name_key not in country.own_name:
        code = _closely_spelt(country, name_key)
    return code
