"""Device type and platform from OpenRTB device_type and from the user agents CTV players send."""

from __future__ import annotations

import pytest

from app.serving.device_class import classify, openrtb_device_type
from app.serving.geo import country

USER_AGENTS = [
    ("Roku/DVP-9.10 (519.10E04111A)", "ctv", "roku"),
    ("Mozilla/5.0 (Linux; U; Roku OS 11.5.0) AppleWebKit/537.36", "ctv", "roku"),
    (
        "Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "76.0.3809.146/6.0 TV Safari/537.36",
        "ctv",
        "tizen",
    ),
    (
        "Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.79 "
        "Safari/537.36 WebAppManager",
        "ctv",
        "webos",
    ),
    (
        "Mozilla/5.0 (Linux; Android 9; AFTMM Build/PS7233; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Version/4.0 Chrome/70.0.3538.110 Mobile Safari/537.36",
        "ctv",
        "firetv",
    ),
    ("Dalvik/2.1.0 (Linux; U; Android 7.1.2; AFTKA Build/NS6297)", "ctv", "firetv"),
    ("Dalvik/2.1.0 (Linux; U; Android 11; SHIELD Android TV Build/RQ1A.210105.003)", "ctv", "androidtv"),
    (
        "Mozilla/5.0 (Linux; Android 10; BRAVIA 4K VH2 Build/QTG3.200305.006.S292; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/112.0.5615.48 Mobile Safari/537.36",
        "ctv",
        "androidtv",
    ),
    (
        "Mozilla/5.0 (Linux; Android 12.0; Build/STTL.240206.002) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36 CrKey/1.56.500000 DeviceType/AndroidTV",
        "ctv",
        "androidtv",
    ),
    ("AppleCoreMedia/1.0.0.20K71 (Apple TV; U; CPU OS 16_1 like Mac OS X; en_us)", "ctv", "tvos"),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.0 Mobile/15E148 Safari/604.1",
        "mobile",
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
        "Mobile Safari/537.36",
        "mobile",
        None,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
        "Safari/537.36",
        "desktop",
        None,
    ),
    ("curl/8.5.0", None, None),
    (None, None, None),
]


@pytest.mark.parametrize(("user_agent", "device_type", "platform"), USER_AGENTS)
def test_user_agents(user_agent, device_type, platform):
    assert classify(user_agent) == (device_type, platform)


def test_parses_are_cached():
    classify.cache_clear()
    classify(USER_AGENTS[0][0])
    classify(USER_AGENTS[0][0])
    assert classify.cache_info().hits == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", "ctv"),
        ("CTV", "ctv"),
        ("6", "ctv"),
        ("7", "stb"),
        ("stb", "stb"),
        ("1", "mobile"),
        ("4", "mobile"),
        ("5", "mobile"),
        ("tablet", "mobile"),
        ("2", "desktop"),
        ("pc", "desktop"),
        ("8", None),
        (None, None),
    ],
)
def test_openrtb_device_types(value, expected):
    assert openrtb_device_type(value) == expected


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("8.8.8.8", "US"),  # Google DNS
        ("81.2.69.160", "GB"),  # the GeoIP test address in London
        ("193.0.6.139", "NL"),  # RIPE NCC, Amsterdam
        ("2001:4860:4860::8888", "US"),
        ("::ffff:8.8.8.8", "US"),  # IPv4 written as IPv6 by a dual-stack proxy
        ("::ffff:zz", None),
        ("10.1.2.3", None),  # private
        ("127.0.0.1", None),
        ("not an address", None),
        (None, None),
    ],
)
def test_country_of_an_address(ip, expected):
    assert country(ip) == expected
