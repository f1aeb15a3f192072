"""Consent: TCF v2 and GPP strings decoded, and the one rule for using identifiers (app.serving.consent),
through the ad request's parameters as players send them."""

from __future__ import annotations

import pytest

from app.serving.consent import (
    US_SECTIONS,
    Unreadable,
    decode_gpp,
    identifiers_allowed,
    regulations,
    tc_string,
    tcf_purpose_one,
)
from app.serving.request import identifiers_allowed as body_allows
from app.serving.request import parse_ad_request

# TC strings: all purposes 1-10 consented; the TCF specification's example, no purpose consented.
TCF_CONSENT = "CPc0YAAPc0YAAAGABCENBdCgAP_AAAAAAAAAAAAAAAAA"
TCF_NO_CONSENT = "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"
# US National (usnat v1) core segments of the GPP specification's example, then with every opt-out set.
USNAT_NO_OPT_OUT = "BVQqAAAAAgA.QA"
USNAT_OPTED_OUT = "BVQVAAAAAgA.QA"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Whole GPP strings with one US section, encoded by the IAB's @iabgpp/cmpapi 3.2.0 (GppModel: setFieldValue
# then encode(), every other field at its default): (id, prefix, every opt-out 2 "did not opt out", then one
# string per opt-out of the section, that one set to 1 "opted out" and the others to 2).
US_SECTION_STRINGS = [
    (
        7,
        "usnat",
        "DBABLA~CAAqAAAAAABA.QA",
        ("DBABLA~CAAaAAAAAABA.QA", "DBABLA~CAAmAAAAAABA.QA", "DBABLA~CAApAAAAAABA.QA"),
    ),
    (8, "usca", "DBABBg~BAoAAABA.QA", ("DBABBg~BAYAAABA.QA", "DBABBg~BAkAAABA.QA")),
    (9, "usva", "DBABRg~BAoAABA", ("DBABRg~BAYAABA", "DBABRg~BAkAABA")),
    (10, "usco", "DBABJg~BAoAAEA.QA", ("DBABJg~BAYAAEA.QA", "DBABJg~BAkAAEA.QA")),
    (11, "usut", "DBABFg~BAKAAAQA", ("DBABFg~BAGAAAQA", "DBABFg~BAJAAAQA")),
    (12, "usct", "DBABVg~BAoAAAEA.QA", ("DBABVg~BAYAAAEA.QA", "DBABVg~BAkAAAEA.QA")),
    (13, "usfl", "DBABAw~BAoAAABA", ("DBABAw~BAYAAABA", "DBABAw~BAkAAABA")),
    (14, "usmt", "DBABQw~BAoAAABA.QA", ("DBABQw~BAYAAABA.QA", "DBABQw~BAkAAABA.QA")),
    (15, "usor", "DBABIw~BAoAAAABAA.QA", ("DBABIw~BAYAAAABAA.QA", "DBABIw~BAkAAAABAA.QA")),
    (16, "ustx", "DBABEw~BAoAAAQA.QA", ("DBABEw~BAYAAAQA.QA", "DBABEw~BAkAAAQA.QA")),
    (17, "usde", "DBABUw~BAoAAAABAA.QA", ("DBABUw~BAYAAAABAA.QA", "DBABUw~BAkAAAABAA.QA")),
    (18, "usia", "DBABCw~BAKAAAQA.QA", ("DBABCw~BAGAAAQA.QA", "DBABCw~BAJAAAQA.QA")),
    (19, "usne", "DBABSw~BAoAAAQA.QA", ("DBABSw~BAYAAAQA.QA", "DBABSw~BAkAAAQA.QA")),
    (20, "usnh", "DBABKw~BAoAAABA.QA", ("DBABKw~BAYAAABA.QA", "DBABKw~BAkAAABA.QA")),
    (21, "usnj", "DBABAYA~BAoAAAAAQA.QA", ("DBABAYA~BAYAAAAAQA.QA", "DBABAYA~BAkAAAAAQA.QA")),
    (22, "ustn", "DBABQYA~BAoAAAQA.QA", ("DBABQYA~BAYAAAQA.QA", "DBABQYA~BAkAAAQA.QA")),
    (23, "usmn", "DBABIYA~BAoAAAQA.QA", ("DBABIYA~BAYAAAQA.QA", "DBABIYA~BAkAAAQA.QA")),
    (24, "usmd", "DBABEYA~BQCg.QA", ("DBABEYA~BQBg.QA", "DBABEYA~BQCQ.QA")),
    (25, "usin", "DBABUYA~BQCg.AAA", ("DBABUYA~BQBg.AAA", "DBABUYA~BQCQ.AAA")),
    (26, "usky", "DBABCYA~BQCg.AAA", ("DBABCYA~BQBg.AAA", "DBABCYA~BQCQ.AAA")),
    (27, "usri", "DBABSYA~BQCg.AAA", ("DBABSYA~BQBg.AAA", "DBABSYA~BQCQ.AAA")),
]
# The same library: California with SaleOptOut and SharingOptOut 1; US National opted out of all, and not.
USCA_OPTED_OUT = "DBABBg~BQUAAABA.QA"
USNAT_GPP_OPTED_OUT = "DBABLA~CVQVAAAAAACA.QA"
USNAT_GPP_NOT_OPTED_OUT = "DBABLA~CVQqAAAAAACA.QA"


def _fibonacci(value: int) -> str:
    weights = [1, 2]
    while weights[-1] <= value:
        weights.append(weights[-1] + weights[-2])
    bits = ["0"] * len(weights)
    for index in range(len(weights) - 1, -1, -1):
        if weights[index] <= value:
            bits[index], value = "1", value - weights[index]
    return "".join(bits).rstrip("0") + "1"


def gpp(*sections: tuple[int, str]) -> str:
    """A GPP string: the header (type 3, version 1, one Fibonacci entry per section id), then the sections."""
    bits, previous = "000011" + "000001" + format(len(sections), "012b"), 0
    for sid, _ in sections:
        bits += "0" + _fibonacci(sid - previous)
        previous = sid
    bits += "0" * (-len(bits) % 6)
    header = "".join(B64[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))
    return "~".join((header, *(text for _, text in sections)))


def test_the_gpp_specifications_examples_decode():
    assert gpp((2, TCF_NO_CONSENT), (6, "1YNN")) == f"DBACNY~{TCF_NO_CONSENT}~1YNN"
    example = decode_gpp(f"DBACNY~{TCF_NO_CONSENT}~1YNN")
    assert (example.section_ids, example.us_opt_outs, example.tcf_purpose_one) == ((2, 6), frozenset(), False)
    assert decode_gpp("DBABLA~" + USNAT_NO_OPT_OUT).section_ids == (7,)
    assert decode_gpp(gpp((7, USNAT_OPTED_OUT), (28, "y"), (40, "z"))).section_ids == (7, 28, 40)
    assert decode_gpp(gpp((6, "1YYN"), (7, USNAT_OPTED_OUT))).us_opt_outs == {6, 7}
    assert decode_gpp(gpp((2, TCF_CONSENT))).tcf_purpose_one is True


def test_every_us_section_the_iab_defines_is_in_the_table():
    assert {sid: section.name for sid, section in US_SECTIONS.items()} == {
        sid: name for sid, name, _, _ in US_SECTION_STRINGS
    }


@pytest.mark.parametrize(("sid", "name", "not_opted_out", "opted_out"), US_SECTION_STRINGS)
def test_each_us_sections_opt_outs_are_read_where_its_layout_puts_them(sid, name, not_opted_out, opted_out):
    assert decode_gpp(not_opted_out).section_ids == (sid,)
    assert decode_gpp(not_opted_out).us_opt_outs == frozenset()
    assert identifiers_allowed(gpp=not_opted_out) is True
    for text in opted_out:  # each opt-out on its own: sale, sharing or targeted advertising
        assert decode_gpp(text).us_opt_outs == {sid}, (name, text)
        assert identifiers_allowed(gpp=text) is False
        assert identifiers_allowed(gpp=text, gpp_sid=(sid,)) is False
        assert identifiers_allowed(gpp=text, gpp_sid=(6,)) is True  # present but not in force


def test_the_real_strings_of_california_and_the_us_national_section():
    assert identifiers_allowed(gpp=USCA_OPTED_OUT, gpp_sid=(8,)) is False
    assert identifiers_allowed(gpp=USNAT_GPP_OPTED_OUT, gpp_sid=(7,)) is False
    assert identifiers_allowed(gpp=USNAT_GPP_NOT_OPTED_OUT, gpp_sid=(7,)) is True


def test_a_section_in_force_that_is_not_read_withholds_identifiers():
    """Canada's TCF (5), the deprecated EU TCF v1 (1) or an id after the table: what it says is unknown."""
    for sid in (1, 5, 28, 40):
        text = gpp(*sorted([(7, USNAT_NO_OPT_OUT), (sid, "BAAAAAA")]))
        assert identifiers_allowed(gpp=text) is False
        assert identifiers_allowed(gpp=text, gpp_sid=(sid,)) is False
        assert identifiers_allowed(gpp=text, gpp_sid=(7,)) is True  # not in force: not read


@pytest.mark.parametrize("text", ["DBABBg~BA", "DBABBg~BA*AAABA", "DBABEYA~BQC"])
def test_a_us_section_too_short_or_not_base64_is_unreadable(text):
    with pytest.raises(Unreadable):
        decode_gpp(text)


@pytest.mark.parametrize(
    "text",
    ["", "DBABMA", "DBACNY~x", "BBABMA~x", "DB*BMA~x", "DBABMA~a~b", "D"],
)
def test_a_string_that_is_not_gpp_is_unreadable(text):
    with pytest.raises(Unreadable):
        decode_gpp(text)


def test_tcf_purpose_one_is_read_from_the_core_segment():
    assert tcf_purpose_one(TCF_CONSENT) is True
    assert tcf_purpose_one(TCF_NO_CONSENT) is False
    assert tcf_purpose_one(
        TCF_CONSENT
        + ".IFoEUQQgAIQwgIwQABAEAAAAOIAACAIAAAAQAIAgEAACEAAAAAgAQBAAAAAAAGBAAgAAAAAAAAFAAECAAAAAAAA"
    )
    for text in (
        "",
        "CPc0",
        "BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA",
        "CPc0YAAPc0YAAAGABCENBdCgAP_*AAAAAAAAAAAAAAA",
    ):
        with pytest.raises(Unreadable):
            tcf_purpose_one(text)  # empty, too short, TCF v1, not base64


@pytest.mark.parametrize(
    ("signals", "allowed"),
    [
        ({}, True),
        ({"coppa": 1}, False),
        ({"coppa": 0}, True),
        ({"lmt": 1}, False),
        ({"us_privacy": "1YYN"}, False),
        ({"us_privacy": "1YNN"}, True),
        ({"us_privacy": "1---"}, True),
        ({"gdpr": 1}, False),  # GDPR without a TC string
        ({"gdpr": 1, "gdpr_consent": TCF_NO_CONSENT}, False),  # no consent to store on the device
        ({"gdpr": 1, "gdpr_consent": TCF_CONSENT}, True),
        ({"gdpr": 0, "gdpr_consent": TCF_NO_CONSENT}, True),  # GDPR does not apply
        ({"gdpr": 1, "gdpr_consent": TCF_CONSENT, "coppa": 1}, False),
        ({"gpp": gpp((2, TCF_CONSENT))}, True),  # GDPR applies by GPP, consent in its TCF section
        ({"gpp": gpp((2, TCF_NO_CONSENT))}, False),
        ({"gpp": gpp((2, TCF_NO_CONSENT)), "gdpr_consent": TCF_CONSENT}, True),  # gdpr_consent first
        ({"gpp_sid": (2,)}, False),  # the TCF applies, no TC string anywhere
        ({"gpp": gpp((2, TCF_NO_CONSENT), (7, USNAT_NO_OPT_OUT)), "gpp_sid": (7,)}, True),  # TCF not in force
        ({"gpp": gpp((7, USNAT_NO_OPT_OUT))}, True),
        ({"gpp": gpp((7, USNAT_OPTED_OUT))}, False),
        ({"gpp": gpp((7, USNAT_OPTED_OUT)), "gpp_sid": (8,)}, True),  # usnat not in force
        ({"gpp": gpp((6, "1YYN"))}, False),
        ({"gpp": gpp((6, "1NNN"), (7, USNAT_NO_OPT_OUT))}, True),
        ({"unreadable": True}, False),
    ],
)
def test_identifiers_allowed(signals, allowed):
    assert identifiers_allowed(**signals) is allowed


def request(query: dict[str, str]):
    return parse_ad_request(query, {}, "203.0.113.7")


@pytest.mark.parametrize(
    ("query", "allowed"),
    [
        ({"coppa": "1", "ifa": "6D92078A-8246-4BA4-AE5B-76104861E7DC"}, False),
        ({"is_lmt": "1"}, False),
        ({"gpp": gpp((2, TCF_CONSENT)), "gpp_sid": "2"}, True),
        ({"gpp": gpp((2, TCF_CONSENT), (7, USNAT_OPTED_OUT)), "gpp_sid": "2,7"}, False),
        ({"gpp": gpp((2, TCF_CONSENT), (7, USNAT_OPTED_OUT)), "gpp_sid": " 2 "}, True),
        ({"gdpr": "1", "gdpr_consent": TCF_CONSENT.replace("_", "/")}, True),  # standard base64 taken too
    ],
)
def test_the_ad_request_carries_the_signals_and_the_rule(query, allowed):
    ad_request = request(query)
    assert ad_request.identifiers_allowed is allowed
    assert not ad_request.warnings
    assert body_allows(query) is allowed


def test_the_parsed_signals_are_kept_for_macros():
    text = gpp((2, TCF_CONSENT), (7, USNAT_NO_OPT_OUT))
    ad_request = request({"gpp": text, "gpp_sid": "2,7", "coppa": "0"})
    assert (ad_request.gpp, ad_request.gpp_sid, ad_request.coppa) == (text, (2, 7), 0)
    assert body_allows({"gpp": text, "gpp_sid": [2, 7], "coppa": 0}) is True


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("gpp", "DBABMA", "not a GPP string"),
        ("gpp", "DBABMA~" + TCF_CONSENT[:12], "not a GPP string"),  # its TCF section cannot be read
        ("gpp", "[GPP_STRING]", "unexpanded macro"),
        ("gpp_sid", "2,x", "not comma-separated whole numbers"),
        ("gpp_sid", "0", "a section id out of range"),
        ("gpp_sid", ",".join(["2"] * 40), "more than 32 section ids"),
        ("coppa", "yes", "not 0 or 1"),
        ("gdpr_consent", TCF_CONSENT[:20], "not a TCF consent string"),
        ("gdpr_consent", "<script>", "not a TCF consent string"),
    ],
)
def test_an_unusable_signal_is_ignored_with_a_warning_and_forbids_identifiers(name, value, reason):
    ad_request = request({name: value, "max_duration": "30"})
    assert ad_request.warnings == {name: reason}
    assert getattr(ad_request, name) is None
    assert ad_request.max_duration == 30  # the request is still served
    assert ad_request.identifiers_allowed is False
    assert body_allows({name: value}) is False


def test_the_tc_string_is_the_one_the_rule_reads():
    in_gpp = gpp((2, TCF_CONSENT), (7, USNAT_NO_OPT_OUT))
    assert tc_string(gdpr_consent=TCF_NO_CONSENT, gpp=in_gpp) == TCF_NO_CONSENT  # gdpr_consent first
    assert tc_string(gpp=in_gpp, gpp_sid=(2,)) == TCF_CONSENT
    assert tc_string(gpp=in_gpp) == TCF_CONSENT  # without gpp_sid every section is in force
    assert tc_string(gpp=in_gpp, gpp_sid=(7,)) is None  # the TCF section is not in force
    assert tc_string(gpp="DBABMA") is None and tc_string() is None


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        ({}, ()),
        ({"gdpr": 1}, ("gdpr",)),
        ({"gdpr": 0, "coppa": 0, "us_privacy": "1---"}, ()),  # none applies
        ({"gpp": gpp((2, TCF_CONSENT)), "gpp_sid": (2,)}, ("gdpr",)),
        ({"gpp_sid": (2,)}, ("gdpr",)),
        ({"coppa": 1, "us_privacy": "1YNN"}, ("coppa", "ccpa")),
        ({"gpp": gpp((6, "1YNN"))}, ("ccpa",)),
        ({"gpp": gpp((6, "1---"))}, ()),
        ({"gpp": USCA_OPTED_OUT, "gpp_sid": (8,)}, ("ccpa",)),
        ({"gpp": USNAT_GPP_NOT_OPTED_OUT}, ("usnat",)),
        ({"gpp": USNAT_GPP_NOT_OPTED_OUT, "gpp_sid": (8,)}, ()),  # usnat present, not in force
        (
            {"gdpr": 1, "coppa": 1, "us_privacy": "1NNN", "gpp": gpp((7, USNAT_NO_OPT_OUT), (9, "BAoAABA"))},
            ("gdpr", "coppa", "ccpa", "usnat", "usva"),
        ),
    ],
)
def test_the_regulations_in_force_come_from_every_signal(signals, expected):
    assert regulations(**signals) == expected
