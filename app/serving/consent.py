"""Whether a request's identifiers may be used: the one rule for the IFA, the IP address and the user agent.

`identifiers_allowed` is False, and no identifier is used to cap frequency, stored with an event, or put in a
beacon, when any of these holds:
- `coppa=1`: the request is directed at children (OpenRTB 2.6 §3.2.3 `regs.coppa`; the US COPPA rule forbids
  persistent identifiers without a parent's consent);
- `lmt=1`: the user limited ad tracking (OpenRTB 2.6 §3.2.18 `device.lmt`);
- a US opt-out: the IAB US Privacy string's third character `Y` (US Privacy String v1.0, "Opt-Out Sale"), or
  in an applicable GPP section the same string (section 6, `uspv1`) or the US National section (7, `usnat`,
  IAB GPP "US National Privacy Technical Specification") with SaleOptOut, SharingOptOut or
  TargetedAdvertisingOptOut set to 1 ("opted out");
- GDPR applies (`gdpr=1`, OpenRTB `regs.gdpr`; or the GPP EU TCF v2 section, id 2, applies) and no TC string
  grants consent to Purpose 1, "Store and/or access information on a device" (IAB TCF v2.2 Policies,
  Appendix A; the TC string's core segment `PurposesConsent` bit 1). The TC string is `gdpr_consent`, else
  the GPP string's section 2;
- a privacy signal was sent that could not be read (the caller cannot be assumed to allow anything).

A GPP section applies when its id is in `gpp_sid` (OpenRTB 2.6 `regs.gpp_sid`, the sections in force for the
transaction); without `gpp_sid`, every section of the string applies.

Decoding: TC strings through the `iab_tcf` library's base64 and bit reader. Only the core segment's header,
up to PurposesConsent (30 characters), is read: a full decode walks every vendor bit (tens of milliseconds
for a crafted 4 KB string), too slow for /vast. No maintained GPP decoder exists for Python, so GPP strings
are split here (IAB GPP Consent String Specification v1.0: a header section listing the section ids as a
Fibonacci-coded range, then the sections in that order, joined by `~`), and only what the rule needs is read:
the section ids, the `uspv1` string, the `usnat` opt-outs and the `tcfeuv2` TC string's Purpose 1. Each
distinct string is decoded once per worker (LRU caches): players send the same strings request after request.
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
# usnat core segment (v1 and v2): Version 6, six notices of 2 bits, then SaleOptOut, SharingOptOut and
# TargetedAdvertisingOptOut, 2 bits each (0 not applicable, 1 opted out, 2 did not opt out).
_USNAT_OPT_OUTS_AT = 18
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
    """What the rule needs of a GPP string: its section ids in order, those of its US sections that say the
    user opted out, and its EU TCF section's consent to Purpose 1 (None without that section)."""

    section_ids: tuple[int, ...]
    us_opt_outs: frozenset[int] = frozenset()
    tcf_purpose_one: bool | None = None

    def applicable(self, sids: tuple[int, ...] | None) -> frozenset[int]:
        """The sections in force: those of `sids` (gpp_sid) the string has, else all of them."""
        present = frozenset(self.section_ids)
        return present if sids is None else present & frozenset(sids)

    def us_opt_out(self, sids: tuple[int, ...] | None) -> bool:
        """Whether a US section in force says the user opted out of sale, sharing or targeted ads."""
        return not self.us_opt_outs.isdisjoint(self.applicable(sids))


def us_privacy_opt_out(us_privacy: str) -> bool:
    """The US Privacy string's "Opt-Out Sale" (its third character) is Y; Unreadable for no such string."""
    if not _US_PRIVACY.fullmatch(us_privacy):
        raise Unreadable("not a US Privacy string")
    return us_privacy[2] in "yY"


def _usnat_opt_out(section: str) -> bool:
    reader = _reader(section.partition(".")[0])
    reader.read_bits(_USNAT_OPT_OUTS_AT)
    return any(reader.read_int(2) == _OPTED_OUT for _ in range(3))


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
    opted_out = {
        sid
        for sid, read in ((US_PRIVACY_V1, us_privacy_opt_out), (US_NATIONAL, _usnat_opt_out))
        if sid in by_id and read(by_id[sid])
    }
    tcf = tcf_purpose_one(by_id[TCF_EU_V2]) if TCF_EU_V2 in by_id else None
    return GppString(section_ids=tuple(ids), us_opt_outs=frozenset(opted_out), tcf_purpose_one=tcf)


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
        if decoded is not None and decoded.us_opt_out(gpp_sid):
            return False
        gpp_tcf = decoded is not None and TCF_EU_V2 in decoded.applicable(gpp_sid)
        if not (gdpr == 1 or gpp_tcf or (gpp_sid is not None and TCF_EU_V2 in gpp_sid)):
            return True
        if gdpr_consent:
            return tcf_purpose_one(gdpr_consent)
        return gpp_tcf and bool(decoded.tcf_purpose_one)
    except Unreadable:
        return False
