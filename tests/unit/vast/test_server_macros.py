"""The macros a server fills in a third party's tag (IAB VAST 4.x macro list): table-driven."""

import pytest

from vast.macros import SERVER_MACROS, UNKNOWN, WITHHELD, expand_server_macros

TCF = "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"
# (macro, value given, what the URL carries): RFC 3986 percent-encoding of everything but A-Z a-z 0-9 - . _ ~
SPEC_TABLE = [
    ("ADSERVINGID", "AbC-_09xyz", "AbC-_09xyz"),
    ("CACHEBUSTING", "12345678", "12345678"),
    ("TIMESTAMP", "2016-01-17T08:15:07.127-05:00", "2016-01-17T08%3A15%3A07.127-05%3A00"),
    ("IFA", "6d92078a-8246-4ba4-ae5b-76104861e7dc", "6d92078a-8246-4ba4-ae5b-76104861e7dc"),
    ("IFATYPE", "rida", "rida"),
    ("LIMITADTRACKING", "0", "0"),
    ("DEVICEIP", "2001:db8::1", "2001%3Adb8%3A%3A1"),
    ("DEVICEUA", "Mozilla/5.0 (SMART-TV; Linux)", "Mozilla%2F5.0%20%28SMART-TV%3B%20Linux%29"),
    ("SERVERSIDE", "1", "1"),
    (
        "GDPRCONSENT",
        "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA",
        "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA",
    ),
    ("REGULATIONS", "gdpr,coppa", "gdpr%2Ccoppa"),
    (
        "GPPSTRING",
        "DBABMA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA",
        "DBABMA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA",
    ),
    ("GPPSECTIONID", "2,6", "2%2C6"),
    ("APPBUNDLE", "com.example.tv", "com.example.tv"),
    ("DOMAIN", "example.com", "example.com"),
    ("CONTENTPLAYHEAD", "00:05:00.000", "00%3A05%3A00.000"),
]
PLAYER_MACROS = ("ERRORCODE", "ADPLAYHEAD", "ASSETURI", "MEDIAPLAYHEAD", "CLICKPOS", "PLAYERSTATE", "REASON")


def test_the_table_covers_every_server_macro():
    assert {name for name, _, _ in SPEC_TABLE} == set(SERVER_MACROS)


@pytest.mark.parametrize(("name", "value", "encoded"), SPEC_TABLE)
def test_each_macro_is_filled_percent_encoded(name, value, encoded):
    url = f"https://p.example/v?x=[{name}]&y=%%{name}%%"
    assert expand_server_macros(url, {name: value}, True) == f"https://p.example/v?x={encoded}&y={encoded}"


@pytest.mark.parametrize("name", sorted(SERVER_MACROS))
@pytest.mark.parametrize("value", [None, ""])
def test_an_unknown_value_is_minus_one(name, value):
    assert expand_server_macros(f"https://p.example/v?x=[{name}]", {name: value}, True).endswith(
        f"x={UNKNOWN}"
    )


@pytest.mark.parametrize("name", [name for name, macro in SERVER_MACROS.items() if macro.personal])
def test_identifiers_are_withheld_as_minus_two(name):
    url = expand_server_macros(f"https://p.example/v?x=[{name}]", {name: "value"}, False)
    assert url.endswith(f"x={WITHHELD}")


def test_only_device_identifiers_are_personal():
    assert {name for name, macro in SERVER_MACROS.items() if macro.personal} == {
        "IFA",
        "DEVICEIP",
        "DEVICEUA",
    }


@pytest.mark.parametrize("name", PLAYER_MACROS)
def test_player_macros_are_left_for_the_player(name):
    url = f"https://p.example/v?x=[{name}]&cb=[CACHEBUSTING]"
    assert expand_server_macros(url, {"CACHEBUSTING": "1"}, True) == f"https://p.example/v?x=[{name}]&cb=1"


def test_a_url_without_macros_is_returned_as_it_is():
    url = "https://p.example/v?a=1&b=%20"
    assert expand_server_macros(url, {}, True) is url


def test_a_value_cannot_smuggle_a_macro_or_a_parameter():
    url = expand_server_macros(
        "https://p.example/v?ua=[DEVICEUA]&e=[ERRORCODE]", {"DEVICEUA": "x&[IFA]"}, True
    )
    assert url == "https://p.example/v?ua=x%26%5BIFA%5D&e=[ERRORCODE]"


@pytest.mark.parametrize("name", [*PLAYER_MACROS, "SOMETHINGNEW"])
def test_on_the_server_a_macro_it_cannot_fill_is_minus_one(name):
    url = f"https://p.example/v?x=[{name}]&y=%%{name}%%&ifa=[IFA]"
    assert expand_server_macros(url, {"IFA": "abc"}, True) == url.replace("[IFA]", "abc")  # for the player
    expanded = expand_server_macros(url, {"IFA": "abc"}, True, server_side=True)
    assert expanded == f"https://p.example/v?x={UNKNOWN}&y={UNKNOWN}&ifa=abc"


def test_on_the_server_no_raw_bracket_goes_out_but_an_ip_literal_host_keeps_its_own():
    url = "http://[2001:db8::1]:8080/v?a[]=1&b=[lower]&c=[ERRORCODE]#[frag]"
    assert expand_server_macros(url, {}, True, server_side=True) == (
        "http://[2001:db8::1]:8080/v?a%5B%5D=1&b=%5Blower%5D&c=-1#%5Bfrag%5D"
    )
