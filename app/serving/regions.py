"""The ISO 3166-2 code of a region's name, as the DB-IP city database writes it (English names, e.g.
`Bavaria`, `North Rhine-Westphalia`, `Rivne`, `England`), from pycountry's ISO 3166-2 data (iso-codes).

ISO 3166-2 names subdivisions in their official language (`Bayern`, `Nordrhein-Westfalen`,
`Rivnenska oblast`): a name matches a subdivision of its country when their keys agree, the key being the
name folded to lower-case ASCII with punctuation and generic words (`oblast`, `province`, `region`, ...)
left out, tried against the subdivision's ISO name and its English translation (iso-codes' `en` catalogue).
A key shared by two subdivisions of one country is ambiguous and matches neither, unless one of them is
top-level (DB-IP's `state1` is the first-level division). A name without a match has no code: the request's
region is unknown (see app.serving.geo).
"""

from __future__ import annotations

import functools
import gettext
import re
import unicodedata

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
_WORD = re.compile(r"[a-z0-9]+")
_ASIDE = re.compile(r"\[[^\]]*\]|\([^)]*\)")  # `Stockholms län [SE-01]`, `Guyane (française)`


def key(name: str) -> str:
    """`name` as it is compared: its lower-case ASCII words, in order, without asides in brackets and
    generic words (`Rivnenska oblast'` -> `rivnenska`, `Madrid, Comunidad de` -> `madrid`); all its words
    when nothing else is left (`Capital Region` -> `capital region`)."""
    ascii_name = unicodedata.normalize("NFKD", _ASIDE.sub(" ", name)).encode("ascii", "ignore").decode()
    words = _WORD.findall(ascii_name.lower())
    return " ".join(sorted(w for w in words if w not in GENERIC_WORDS)) or " ".join(sorted(words))


@functools.cache
def _english() -> gettext.NullTranslations:
    return gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["en"], fallback=True)


@functools.cache
def _codes_of(country_code: str) -> dict[str, str]:
    """key -> ISO 3166-2 code for the subdivisions of one country (ISO 3166-1 alpha-2, upper case)."""
    english = _english()
    found: dict[str, set[str]] = {}
    top_level: set[str] = set()
    for subdivision in pycountry.subdivisions.get(country_code=country_code) or ():
        if subdivision.parent_code is None:
            top_level.add(subdivision.code)
        for name in {subdivision.name, english.gettext(subdivision.name)}:
            found.setdefault(key(name), set()).add(subdivision.code)
    codes = {}
    for name_key, matches in found.items():
        if len(matches) > 1:  # ambiguous among divisions of different levels: the top-level one, if alone
            matches &= top_level
        if len(matches) == 1:
            codes[name_key] = next(iter(matches))
    return codes


@functools.cache
def region_code(country_code: str, name: str) -> str | None:
    """The ISO 3166-2 code (`DE-BY`) of the region `name` of the country `country_code`; None without a
    match. Memoised: the database has a few thousand distinct names."""
    if not country_code or not name:
        return None
    return _codes_of(country_code).get(key(name))
