"""The ready-to-paste VAST URL of each platform preset: the platform's own macros, generic placeholders
for client-side apps, nothing a stitcher could not fill, and every parameter one /vast reads."""

from urllib.parse import parse_qsl, urlsplit

import pytest

from app.serving.request import QUERY_PARAMETERS, parse_ad_request
from app.supply.defaults import SupplyTagEntry
from app.supply.presets import PARAMETERS, PRESETS, url_parameters, vast_url

CLIENT_SIDE = ("generic", "roku", "tizen", "webos", "firetv", "androidtv", "custom")


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        (
            "generic",
            "cb=[CACHEBUSTING]&ip=[DEVICEIP]&ua=[DEVICEUA]&ifa=[IFA]&ifa_type=[IFATYPE]&lmt=[LIMITADTRACKING]"
            "&app_bundle=[APPBUNDLE]&app_name=[APP_NAME]&us_privacy=[US_PRIVACY]&gdpr=[GDPR]"
            "&gdpr_consent=[GDPRCONSENT]&gpp=[GPP_STRING]&gpp_sid=[GPP_SID]",
        ),
        (
            "mediatailor",
            "cb=[avail.random]&ip=[session.client_ip]&ua=[session.user_agent]&ifa=[player_params.ifa]"
            "&ifa_type=[player_params.ifa_type]&lmt=[player_params.lmt]&app_bundle=[player_params.app_bundle]"
            "&app_name=[player_params.app_name]&us_privacy=[player_params.us_privacy]"
            "&gdpr=[player_params.gdpr]&gdpr_consent=[player_params.gdpr_consent]&gpp=[player_params.gpp]"
            "&gpp_sid=[player_params.gpp_sid]&avail_duration_secs=[session.avail_duration_secs]"
            "&session_id=[session.id]",
        ),
        (
            "google_dai",
            "cb=[CACHEBUSTING]&ifa=[IFA]&ifa_type=[IFATYPE]&app_bundle=[APPBUNDLE]&gdpr=%%GDPR%%"
            "&gdpr_consent=[GDPRCONSENT]&avail_duration_secs=%%BREAK_DURATION%%",
        ),
        (
            "roku",
            "cb=ROKU_ADS_CACHE_BUSTER&ip=ROKU_ADS_EXTERNAL_IP&ua=ROKU_ADS_USER_AGENT&ifa=ROKU_ADS_TRACKING_ID"
            "&ifa_type=rida&lmt=ROKU_ADS_LIMIT_TRACKING&app_bundle=ROKU_ADS_APP_ID&app_name=[APP_NAME]"
            "&us_privacy=[US_PRIVACY]&gdpr=[GDPR]&gdpr_consent=[GDPRCONSENT]&gpp=[GPP_STRING]&gpp_sid=[GPP_SID]",
        ),
    ],
)
def test_each_preset_speaks_its_platforms_macros(platform, expected):
    assert (
        vast_url("https://ads.example.com/", 12, platform)
        == f"https://ads.example.com/vast?tag=12&{expected}"
    )


@pytest.mark.parametrize(
    ("platform", "ifa_type"),
    [("tizen", "tifa"), ("webos", "lgudid"), ("firetv", "afai"), ("androidtv", "aaid")],
)
def test_device_platforms_fix_their_ifa_type_and_leave_the_rest_generic(platform, ifa_type):
    pairs = dict(url_parameters(platform))
    assert pairs["ifa_type"] == ifa_type
    assert {name: macro for name, macro in pairs.items() if name != "ifa_type"} == {
        name: macro for name, macro in url_parameters("generic") if name != "ifa_type"
    }


def test_a_tags_macros_replace_the_presets_and_an_empty_one_leaves_the_parameter_out():
    pairs = dict(url_parameters("roku", {"app_name": "{{APP}}", "gpp": "", "session_id": "[SID]"}))
    assert (pairs["app_name"], pairs["session_id"], pairs["cb"]) == (
        "{{APP}}",
        "[SID]",
        "ROKU_ADS_CACHE_BUSTER",
    )
    assert "gpp" not in pairs
    assert url_parameters("custom", {"cb": "__CB__"})[0] == ("cb", "__CB__")


@pytest.mark.parametrize("platform", list(PRESETS))
def test_every_url_is_one_vast_reads_and_loses_no_ad_unexpanded(platform):
    url = vast_url("http://localhost", 3, platform)
    query = dict(parse_qsl(urlsplit(url).query))
    assert set(query) <= set(QUERY_PARAMETERS)
    assert set(PARAMETERS) >= set(query) - {"tag"}
    request = parse_ad_request(query, {}, "192.0.2.9", {3: SupplyTagEntry(3)})
    assert request.supply_tag == 3 and request.ip == "192.0.2.9"
    fixed = {name for name, macro in query.items() if macro in ("rida", "tifa", "lgudid", "afai", "aaid")}
    assert {name: "unexpanded macro" for name in set(query) - {"tag"} - fixed} == dict(request.warnings)
    if platform in CLIENT_SIDE:
        assert "session_id" not in query and "avail_duration_secs" not in query
