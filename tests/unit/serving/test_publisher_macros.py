"""[DOMAIN] and [CONTENTPLAYHEAD] from what CTV requests carry (app.serving.request, app.serving.wrappers):
table-driven, liberal (an unusable value is ignored and named in the warnings), -1 when unknown."""

import pytest

from app.serving.request import parse_ad_request
from app.serving.wrappers import macro_values
from vast.macros import expand_server_macros

TAG = "https://p.example/v?d=[DOMAIN]&ph=[CONTENTPLAYHEAD]"


def expanded(query: dict[str, str]) -> tuple[str, dict[str, str]]:
    request = parse_ad_request(query, {}, "203.0.113.7")
    return expand_server_macros(TAG, macro_values(request, "asid"), True), dict(request.warnings)


@pytest.mark.parametrize(
    ("query", "domain"),
    [
        ({}, "-1"),
        ({"domain": "www.Example.com"}, "www.example.com"),
        ({"domain": "example.com."}, "example.com"),
        ({"app_domain": "tv.example.org"}, "tv.example.org"),
        ({"page_url": "https://www.example.com:8443/watch/42?x=1"}, "www.example.com"),
        ({"description_url": "https%3A%2F%2Fshows.example.net%2Fep1"}, "-1"),  # still encoded: no host
        ({"description_url": "https://shows.example.net/ep1"}, "shows.example.net"),
        ({"domain": "example.com/path"}, "example.com"),
        (
            {"domain": "pub.example", "app_domain": "app.example", "page_url": "https://page.example/"},
            "pub.example",
        ),
        ({"app_domain": "app.example", "page_url": "https://page.example/"}, "app.example"),
        ({"domain": "not a domain", "page_url": "https://page.example/"}, "page.example"),
    ],
)
def test_domain_is_the_first_usable_of_domain_app_domain_and_a_pages_host(query, domain):
    url, _ = expanded(query)
    assert url.startswith(f"https://p.example/v?d={domain}&"), url


@pytest.mark.parametrize(
    ("raw", "playhead"),
    [
        ("0", "00%3A00%3A00.000"),
        ("300", "00%3A05%3A00.000"),
        ("300.5", "00%3A05%3A00.500"),
        ("3725.25", "01%3A02%3A05.250"),
        ("00:05:00.000", "00%3A05%3A00.000"),
        ("01:02:05.25", "01%3A02%3A05.250"),
        ("1:02:05", "01%3A02%3A05.000"),
        ("23:59:59.999", "23%3A59%3A59.999"),
    ],
)
def test_content_playhead_is_given_as_hh_mm_ss_mmm(raw, playhead):
    url, warnings = expanded({"content_playhead": raw})
    assert url.endswith(f"&ph={playhead}") and not warnings


@pytest.mark.parametrize(
    ("name", "raw", "reason"),
    [
        ("content_playhead", "-5", "not within 0 s-24 h"),
        ("content_playhead", "86400", "not within 0 s-24 h"),
        ("content_playhead", "24:00:00.000", "not within 0 s-24 h"),
        ("content_playhead", "00:61:00", "not seconds or HH:MM:SS.mmm"),
        ("content_playhead", "nan", "not within 0 s-24 h"),
        ("content_playhead", "[CONTENTPLAYHEAD]", "unexpanded macro"),
        ("domain", "localhost", "not a domain"),
        ("domain", "exa mple.com", "not a domain"),
        ("app_domain", "", "empty"),
        ("page_url", "https:///nohost", "not a domain"),
        ("domain", "a" * 250 + ".com", "not a domain"),
    ],
)
def test_an_unusable_value_is_ignored_with_a_warning_and_stays_unknown(name, raw, reason):
    url, warnings = expanded({name: raw})
    assert url == "https://p.example/v?d=-1&ph=-1"
    assert warnings == {name: reason}
