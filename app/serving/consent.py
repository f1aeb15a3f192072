"""Whether a request's identifiers may be used: the one rule for the IFA, the IP address and the user agent.

`identifiers_allowed` is False, and no identifier is used to cap frequency, stored with an event, or put in a
beacon, when any of these holds:
- `coppa=1`: the request is directed at children (OpenRTB 2.6 §3.2.3 `regs.coppa`; the US COPPA rule forbids
  persistent identifiers without a parent's consent);
- `lmt=1`: the user limited ad tracking (OpenRTB 2.6 §3.2.18 `device.lmt`);
- a US opt-out: the IAB US Privacy string's third character `Y` (US Privacy String v1.0, "Opt-Out Sale"), or
  in an applicable GPP section the same string (section 6, `uspv1`), or a US section, national (7, `usnat`)
  or a state's (8 `usca` to 27 `usri`, `US_SECTIONS`), with any of its opt-outs (SaleOptOut, SharingOptOut,
  TargetedAdvertisingOptOut: those the section has) set to 1, "opted out" (IAB GPP "US National Privacy
  Technical Specification" and "Sections/US-States/..." specifications);
- an applicable GPP section the server does not read: the deprecated EU TCF v1 (1), Canada's TCF (5), or an
  id the IAB defined after this table (above 27): what it says cannot be known, so it is taken as an
  unreadable signal is;
- GDPR applies (`gdpr=1`, OpenRTB `regs.gdpr`; or the GPP EU TCF v2 section, id 2, applies) and no TC string
  grants consent to Purpose 1, "Store and/or access information on a device" (IAB TCF v2.2 Policies,
  Appendix A; the TC string's core segment `PurposesConsent` bit 1). The TC string is `gdpr_consent`, else
  the GPP string's section 2;
- a privacy signal was sent that could not be read (the caller cannot be assumed to allow anything).

A GPP section applies when its id is in `gpp_sid` (OpenRTB 2.6 `regs.gpp_sid`, the sections in force for the
transaction); without `gpp_sid`, every section of the string applies.

Decoding: TC strings through the `iab_tcf` library's base64 and bit reader. Only the core segment's header,
up to PurposesConsent (30 characters), is read: a full decode walks every vendor bit (tens of milliseconds
for a crafted 4 KB string), too slow for /vast. No maintained GPP decoder exists for Python (PyPI has
none; the IAB's own are for JavaScript and Java), so GPP strings are split here (IAB GPP Consent String
Specification v1.0: a header section listing the section ids as a Fibonacci-coded range, then the sections
in that order, joined by `~`), and only what the rule needs is read: the section ids, the `uspv1` string,
each US section's opt-outs (their bit positions in `US_SECTIONS`, from the IAB's layouts as its
@iabgpp/cmpapi 3.2.0 library encodes them) and the `tcfeuv2` TC string's Purpose 1. Each distinct string is
decoded once per worker (LRU caches): players send the same strings request after request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from iab_tcf import Reader, base64_decode

# GPP section ids (IAB GPP "Section Information"): EU TCF v2, the header, US Privacy, US National.
TCF_EU_V2 = 2
GPP_HEADER = 3
US_PRIVACY_V1 = 6
US_NATIONAL = 7


@dataclass(frozen=True, slots=True)
class UsSection:
    """A GPP US section: its API prefix, and where its opt-outs are in its core segment (bit offsets of
    2-bit fields: 0 not applicable, 1 opted out, 2 did not opt out)."""

    name: str
    opt_outs: tuple[int, ...]


# The opt-outs of each US section, in the order of its core segment (IAB GPP US National v1/v2 and
# "Sections/US-States/..." layouts, as @iabgpp/cmpapi 3.2.0 encodes them). Before them: Version, 6 bits
# (MspaVersion in 24-27, then MspaCoveredTransaction and MspaMode), then the section's notices, 2 bits each.
US_SECTIONS: dict[int, UsSection] = {
    US_NATIONAL: UsSection("usnat", (18, 20, 22)),  # SaleOptOut, SharingOptOut, TargetedAdvertisingOptOut
    8: UsSection("usca", (12, 14)),  # SaleOptOut, SharingOptOut
    9: UsSection("usva", (12, 14)),  # from here on SaleOptOut, TargetedAdvertisingOptOut
    10: UsSection("usco", (12, 14)),
    11: UsSection("usut", (14, 16)),  # after a fourth notice, SensitiveDataProcessingOptOutNotice
    12: UsSection("usct", (12, 14)),
    13: UsSection("usfl", (12, 14)),
    14: UsSection("usmt", (12, 14)),
    15: UsSection("usor", (12, 14)),
    16: UsSection("ustx", (12, 14)),
    17: UsSection("usde", (12, 14)),
    18: UsSection("usia", (14, 16)),  # after a fourth notice, SensitiveDataOptOutNotice
    19: UsSection("usne", (12, 14)),
    20: UsSection("usnh", (12, 14)),
    21: UsSection("usnj", (12, 14)),
    22: UsSection("ustn", (12, 14)),
    23: UsSection("usmn", (12, 14)),
    24: UsSection("usmd", (16, 18)),  # MspaVersion, MspaCoveredTransaction, MspaMode, three notices
    25: UsSection("usin", (16, 18)),
    26: UsSection("usky", (16, 18)),
    27: UsSection("usri", (16, 18)),
}
# The sections the rule reads; any other in force withholds identifiers (the module's docstring).
READ_SECTIONS = frozenset({TCF_EU_V2, US_PRIVACY_V1, *US_SECTIONS})
# A decoded string is kept per worker; players send a handful of distinct ones.
CACHED_STRINGS = 4096
_BASE64URL = re.compile(r"[A-Za-z0-9_\-]+")
_US_PRIVACY = re.compile(r"1[nNyY-]{3}")
# The TC string core segment's bits up to the end of PurposesConsent (TCF v2 "TC String Format"): Version 6,
# Created 36, LastUpdated 36, CmpId 12, CmpVersion 12, ConsentScreen 6, ConsentLanguage 12,
# VendorListVersion 12, TcfPolicyVersion 6, IsServiceSpecific 1, UseNonStandardTexts 1,
# SpecialFeatureOptIns 12, PurposesConsent 24.
_TCF_HEADER_BITS = (6, 36, 36, 12, 12, 6, 12, 12, 6, 1, 1, 12)
_TCF_CORE_CHARACTERS = 30  # 180 bits, of which 176 are read
_OPTED_OUT = 1


class Unreadable(ValueError):
    """A consent string that does not decode as its specification says."""


def _reader(segment: str) -> Reader:
    """A bit reader over a base64url segment without padding (zero bits complete the last group)."""
    if not _BASE64URL.fullmatch(segment):
        raise Unreadable("not base64url")
    return Reader(base64_decode(segment + "A" * (-len(segment) % 4)))


@lru_cache(maxsize=CACHED_STRINGS)
def tcf_purpose_one(tc_string: str) -> bool:
    """Whether a TCF v2 TC string grants consent to Purpose 1 (store and/or access information on a
    device). Standard base64 (`+`, `/`, `=`) is read as base64url. Raises Unreadable for anything that is not
    a version 2 TC string."""
    core = tc_string.partition(".")[0].replace("+", "-").replace("/", "_").rstrip("=")
    if len(core) < _TCF_CORE_CHARACTERS:
        raise Unreadable("too short for a TC string")
    reader = _reader(core[:_TCF_CORE_CHARACTERS])
    if reader.read_int(6) != 2:
        raise Unreadable("not a TCF v2 string")
    for width in _TCF_HEADER_BITS[1:]:
        reader.read_bits(width)
    return reader.read_bool()  # PurposesConsent, bit 1


@dataclass(frozen=True, slots=True)
class GppString:
    """What the rule needs of a GPP string: its section ids in order, those of its US sections (and its
    `uspv1`) that say the user opted out, and its EU TCF section's consent to Purpose 1 (None without that
    section)."""

    section_ids: tuple[int, ...]
    us_opt_outs: frozenset[int] = frozenset()
    tcf_purpose_one: bool | None = None
    tcf_string: str | None = None  # section 2, the TC string
    us_privacy: str | None = None  # section 6, the US Privacy string

    def applicable(self, sids: tuple[int, ...] | None) -> frozenset[int]:
        """The sections in force: those of `sids` (gpp_sid) the string has, else all of them."""
        present = frozenset(self.section_ids)
        return present if sids is None else present & frozenset(sids)

    def us_opt_out(self, sids: tuple[int, ...] | None) -> bool:
        """Whether a US section in force says the user opted out of sale, sharing or targeted ads."""
        return not self.us_opt_outs.isdisjoint(self.applicable(sids))

    def unread_in_force(self, sids: tuple[int, ...] | None) -> bool:
        """Whether a section in force is one the rule does not read (not in READ_SECTIONS)."""
        return not self.applicable(sids) <= READ_SECTIONS


def us_privacy_opt_out(us_privacy: str) -> bool:
    """The US Privacy string's "Opt-Out Sale" (its third character) is Y; Unreadable for no such string."""
    if not _US_PRIVACY.fullmatch(us_privacy):
        raise Unreadable("not a US Privacy string")
    return us_privacy[2] in "yY"


def us_section_opt_out(sid: int, section: str) -> bool:
    """Whether US section `sid` (a key of US_SECTIONS) says the user opted out: any of its opt-outs is 1.
    Raises Unreadable when its core segment (before any `.`) is not base64url or too short to hold them."""
    core = section.partition(".")[0]
    offsets = US_SECTIONS[sid].opt_outs
    if len(core) * 6 < offsets[-1] + 2:
        raise Unreadable(f"{US_SECTIONS[sid].name} section too short")
    reader, at = _reader(core), 0
    opted_out = False
    for offset in offsets:
        reader.read_bits(offset - at)
        opted_out |= reader.read_int(2) == _OPTED_OUT
        at = offset + 2
    return opted_out


def _fibonacci(reader: Reader) -> int:
    """A Fibonacci-coded integer (GPP "Fibonacci Integer"): bits weighted 1, 2, 3, 5, 8... ended by `11`."""
    weights, value, previous = [1, 2], 0, False
    for index in range(32):  # beyond any section id
        bit = reader.read_bool()
        if bit and previous:
            return value
        if len(weights) <= index:
            weights.append(weights[-1] + weights[-2])
        value += weights[index] if bit else 0
        previous = bit
    raise Unreadable("Fibonacci integer not terminated")


@lru_cache(maxsize=CACHED_STRINGS)
def decode_gpp(gpp: str) -> GppString:
    """The GPP string's header, and the sections the rule reads. Raises Unreadable when the header is not a
    GPP v1 header, the sections do not match its ids, or a section the rule reads does not decode."""
    header, *sections = gpp.split("~")
    reader = _reader(header)
    if reader.read_int(6) != GPP_HEADER or reader.read_int(6) != 1:
        raise Unreadable("not a GPP v1 header")
    ids: list[int] = []
    previous = 0
    for _ in range(reader.read_int(12)):  # Range (Fibonacci): each entry an id, or a range of them
        is_range = reader.read_bool()
        start = previous + _fibonacci(reader)
        end = start + _fibonacci(reader) if is_range else start
        if end - start > 64:
            raise Unreadable("section range too long")
        ids.extend(range(start, end + 1))
        previous = end
    if not ids or len(ids) != len(sections):
        raise Unreadable(f"{len(ids)} section ids for {len(sections)} sections")
    by_id = dict(zip(ids, sections, strict=True))
    opted_out = {sid for sid in by_id.keys() & US_SECTIONS if us_section_opt_out(sid, by_id[sid])}
    if US_PRIVACY_V1 in by_id and us_privacy_opt_out(by_id[US_PRIVACY_V1]):
        opted_out.add(US_PRIVACY_V1)
    tcf_string = by_id.get(TCF_EU_V2)
    return GppString(
        section_ids=tuple(ids),
        us_opt_outs=frozenset(opted_out),
        tcf_purpose_one=None if tcf_string is None else tcf_purpose_one(tcf_string),
        tcf_string=tcf_string,
        us_privacy=by_id.get(US_PRIVACY_V1),
    )


def _tcf_in_force(gdpr: int | None, decoded: GppString | None, gpp_sid: tuple[int, ...] | None) -> bool:
    """GDPR applies: `gdpr=1`, or the GPP EU TCF section in force (in the string, or named by gpp_sid)."""
    return (
        gdpr == 1
        or TCF_EU_V2 in (gpp_sid or ())
        or (decoded is not None and TCF_EU_V2 in decoded.applicable(gpp_sid))
    )


def tc_string(
    *, gdpr_consent: str | None = None, gpp: str | None = None, gpp_sid: tuple[int, ...] | None = None
) -> str | None:
    """The TC string the rule reads (VAST [GDPRCONSENT]): `gdpr_consent`, else the GPP string's EU TCF
    section (2) when in force; None when there is neither (or the GPP string is unreadable)."""
    if gdpr_consent:
        return gdpr_consent
    try:
        decoded = decode_gpp(gpp) if gpp else None
    except Unreadable:
        return None
    if decoded is None or TCF_EU_V2 not in decoded.applicable(gpp_sid):
        return None
    return decoded.tcf_string


# The value of each GPP US section in [REGULATIONS]: California's is ccpa (CCPA/CPRA, as the US Privacy
# string's), the others their GPP API prefix.
_CALIFORNIA = 8


def regulations(
    *,
    gdpr: int | None = None,
    coppa: int | None = None,
    us_privacy: str | None = None,
    gpp: str | None = None,
    gpp_sid: tuple[int, ...] | None = None,
) -> tuple[str, ...]:
    """The regulations in force from every signal (VAST 4.1 macro [REGULATIONS], "list of applicable
    regulations": `gdpr`, `coppa`), in this order: `gdpr` (gdpr=1, or the GPP EU TCF section in force),
    `coppa` (coppa=1), `ccpa` (a US Privacy string that applies, not `1---`, sent as `us_privacy` or as GPP
    section 6; or the GPP California section, 8), then the GPP prefix of every other US section in force
    (`usnat`, `usva`, ... US_SECTIONS), by id. The spec names no US value: `ccpa` is what the US Privacy
    string has always been written as here, the prefixes what GPP names its sections."""
    try:
        decoded = decode_gpp(gpp) if gpp else None
    except Unreadable:
        decoded = None
    names = []
    if _tcf_in_force(gdpr, decoded, gpp_sid):
        names.append("gdpr")
    if coppa == 1:
        names.append("coppa")
    in_force = sorted(decoded.applicable(gpp_sid)) if decoded is not None else []
    gpp_usp = decoded.us_privacy if decoded is not None and US_PRIVACY_V1 in in_force else None
    if any(usp and usp[1:] != "---" for usp in (us_privacy, gpp_usp)) or _CALIFORNIA in in_force:
        names.append("ccpa")
    names.extend(US_SECTIONS[sid].name for sid in in_force if sid in US_SECTIONS and sid != _CALIFORNIA)
    return tuple(names)


def identifiers_allowed(
    *,
    coppa: int | None = None,
    lmt: int | None = None,
    us_privacy: str | None = None,
    gdpr: int | None = None,
    gdpr_consent: str | None = None,
    gpp: str | None = None,
    gpp_sid: tuple[int, ...] | None = None,
    unreadable: bool = False,
) -> bool:
    """The rule of this module's docstring, for signals already parsed (app.serving.request): each None
    when not sent; `unreadable` when one was sent that could not be read."""
    if unreadable or coppa == 1 or lmt == 1:
        return False
    try:
        if us_privacy and us_privacy_opt_out(us_privacy):
            return False
        decoded = decode_gpp(gpp) if gpp else None
        if decoded is not None and (decoded.us_opt_out(gpp_sid) or decoded.unread_in_force(gpp_sid)):
            return False
        if not _tcf_in_force(gdpr, decoded, gpp_sid):
            return True
        if gdpr_consent:
            return tcf_purpose_one(gdpr_consent)
        gpp_tcf = decoded is not None and TCF_EU_V2 in decoded.applicable(gpp_sid)
        return gpp_tcf and bool(decoded.tcf_purpose_one)
    except Unreadable:
        return False
