"""GET /vast at its edges: an ad request is never refused for an optional parameter (only `strict=1`
refuses), device identity as proxies write it, HEAD, CORS for packaged TV apps and on every refusal, long
query strings (up to the real gunicorn)."""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request

import pytest
import sqlalchemy as sa
from lxml import etree

from app.security import MAX_QUERY_BYTES
from app.serving.models import AdRequest as AdRequestRow
from app.serving.request import KNOWN_PARAMETERS, MAX_WARNINGS_HEADER, QUERY_PARAMETERS, parse_ad_request
from app.serving.vmap_views import VMAP_PARAMETERS
from tests.factories import CreativeFactory
from tests.serving_helpers import NS, flush, get_vast, refresh, runtime
from vast.validate import validate

WARNINGS = "X-Ad-Request-Warnings"
IGNORED = "adserver_ignored_parameters_total"
DECISIONS = "adserver_vast_decisions_total"
OPTIONAL = QUERY_PARAMETERS
MACROS = ("[IP]", "%%IP%%", "${IP}", "{ip}", "{{IP}}", "__IP__")


@pytest.fixture
def live(session, app):
    creative = CreativeFactory(duration=15.0)
    refresh(app)
    return creative


def metric(client, name: str, **labels: str) -> float:
    """The value of one series in /metrics (0 when it does not exist yet)."""
    wanted = {f'{key}="{value}"' for key, value in labels.items()}
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        match = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if match and wanted <= set(match.group(1).split(",")):
            return float(match.group(2))
    return 0.0


def warnings(response) -> dict[str, str]:
    text = response.headers.get(WARNINGS)
    return dict(part.split(": ", 1) for part in text.split("; ")) if text else {}


def served_ads(response) -> int:
    assert response.status_code == 200, response.data
    return len(etree.fromstring(response.data).findall("{*}Ad"))


def impression_claims(app, response):
    token = etree.fromstring(response.data).findtext(".//v:Impression", namespaces=NS).split("t=")[1]
    return runtime(app).signer.verify(token.strip())


# --- 1. Empty values, unexpanded macros and unparsable values are ignored, with a warning ---------------


def test_an_empty_gdpr_is_ignored(client, live):
    response = client.get("/vast?gdpr=")
    assert served_ads(response) == 1
    assert response.headers[WARNINGS] == "gdpr: empty"


@pytest.mark.parametrize("name", OPTIONAL)
def test_every_optional_parameter_may_be_empty(client, live, name):
    query = f"{name}=&max_duration=30" if name != "max_duration" else "max_duration="
    response = client.get(f"/vast?{query}")
    assert served_ads(response) == 1
    assert warnings(response)[name] == "empty"


@pytest.mark.parametrize("macro", MACROS)
def test_an_unexpanded_ip_macro_is_ignored_whatever_its_syntax(client, live, macro):
    response = client.get("/vast", query_string={"ip": macro})
    assert served_ads(response) == 1
    assert response.headers[WARNINGS] == "ip: unexpanded macro"


@pytest.mark.parametrize(
    ("name", "macro"),
    [
        ("gdpr_consent", "[GDPR_CONSENT]"),
        ("gdpr", "${GDPR}"),
        ("us_privacy", "%%US_PRIVACY%%"),
        ("ifa", "{{DEVICE_IFA}}"),
        ("app_bundle", "{app_bundle}"),
        ("ua", "__UA__"),
        ("cb", "[CACHEBUSTING]"),
        ("request_id", "[REQUEST_ID]"),
        ("max_duration", "#{MAX_DURATION}"),
        ("ip", "%5BIP%5D"),  # [IP] encoded twice
    ],
)
def test_unexpanded_macros_are_ignored_in_every_parameter(client, live, name, macro):
    response = client.get("/vast", query_string={name: macro})
    assert served_ads(response) == 1
    assert warnings(response) == {name: "unexpanded macro"}


@pytest.mark.parametrize(
    ("query", "name", "reason"),
    [
        ("max_duration=abc", "max_duration", "not a number"),
        ("max_duration=0", "max_duration", "not within 1-3600"),
        ("dur=inf", "dur", "not within 1-3600"),
        ("min_duration=nan", "min_duration", "not within 0-3600"),
        ("device_type=toaster", "device_type", "not an OpenRTB device type"),
        ("ifa_type=cookie", "ifa_type", "not a known IFA type"),
        ("ip=999.1.1.1", "ip", "not an IP address"),
        ("us_privacy=yes", "us_privacy", "not a US Privacy string"),
        ("gdpr=2", "gdpr", "not 0 or 1"),
        ("gdpr_consent=%3Cscript%3E", "gdpr_consent", "not a TCF consent string"),
        ("ifa=" + "x" * 200, "ifa", "longer than 128 characters"),
    ],
)
def test_unparsable_values_are_ignored(client, live, query, name, reason):
    response = client.get(f"/vast?{query}")
    assert served_ads(response) == 1
    assert warnings(response) == {name: reason}


def test_the_ad_is_decided_without_the_ignored_value(client, live):
    # max_duration=abc is absent: the 15 s creative fits; min_duration is still used.
    assert served_ads(client.get("/vast?max_duration=abc")) == 1
    assert served_ads(client.get("/vast?max_duration=abc&min_duration=20")) == 0


def test_an_unknown_vast_version_falls_back_to_the_default(client, live):
    response = client.get("/vast?vast_version=9.9&max_duration=30")
    assert response.status_code == 200
    validate(response.data, "4.2")
    assert etree.fromstring(response.data).get("version") == "4.2"
    assert response.headers[WARNINGS] == "vast_version: unsupported 9.9, using 4.2"
    assert get_vast(client, "vast_version=3", version="3.0").get("version") == "3.0"  # "3" is 3.0


def test_the_warning_names_every_ignored_parameter(client, live):
    response = client.get("/vast?gdpr=&ip=[IP]&vast_version=9.9&max_duration=30&cb=1")
    assert served_ads(response) == 1
    assert response.headers[WARNINGS] == (
        "gdpr: empty; ip: unexpanded macro; vast_version: unsupported 9.9, using 4.2"
    )


def test_no_warning_header_when_everything_was_used(client, live):
    assert WARNINGS not in client.get("/vast?max_duration=30&gdpr=0&ip=203.0.113.7").headers


def test_the_warning_header_is_bounded_and_header_safe(client, live):
    query = {name: "\u202e<b>\r\n" + "x" * 100 for name in OPTIONAL}
    query["vast_version"] = "\u202e<script>\r\nSet-Cookie: a=b" + "9" * 100
    response = client.get("/vast", query_string=query, headers={"X-Device-IP": "<b>"})
    assert response.status_code == 200
    text = response.headers[WARNINGS]
    assert len(text) <= MAX_WARNINGS_HEADER
    assert re.fullmatch(r"[\x20-\x7e]+", text)
    assert "<" not in text
    assert "vast_version: unsupported ??script???Set-C..., using 4.2" in text
    assert text.endswith("; ...")  # so many warnings do not fit: the last ones are cut at a boundary


def test_ignored_parameters_are_counted_by_name(client, live):
    before = {name: metric(client, IGNORED, parameter=name) for name in ("gdpr", "ip", "vast_version")}
    client.get("/vast?gdpr=&ip=[IP]&vast_version=9.9")
    client.get("/vast?gdpr=")
    assert metric(client, IGNORED, parameter="gdpr") - before["gdpr"] == 2
    assert metric(client, IGNORED, parameter="ip") - before["ip"] == 1
    assert metric(client, IGNORED, parameter="vast_version") - before["vast_version"] == 1


def test_metric_labels_are_never_a_callers_string(client, live):
    client.get("/vast?evil=[X]&%5Bweird%5D=&gdpr=[GDPR]", headers={"X-Device-IP": "nope"})
    text = client.get("/metrics").get_data(as_text=True)
    labels = set(re.findall(rf'^{IGNORED}\{{parameter="([^"]*)"\}}', text, re.MULTILINE))
    assert labels and labels <= {*KNOWN_PARAMETERS, *VMAP_PARAMETERS}  # /vmap counts its own
    assert "X-Device-IP" in labels


def test_strict_turns_warnings_into_todays_400(client, live):
    response = client.get("/vast?gdpr=&ip=[IP]&vast_version=9.9&strict=1")
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"].startswith("Invalid ad request")
    assert body["details"] == {
        "gdpr": "empty",
        "ip": "unexpanded macro",
        "vast_version": "unsupported 9.9, using 4.2",
    }
    assert served_ads(client.get("/vast?max_duration=30&strict=1")) == 1  # nothing wrong: served
    assert client.get("/vast?gdpr=&strict=0").status_code == 200  # only an explicit strict=1


def test_max_duration_and_a_different_dur_use_max_duration(client, live):
    response = client.get("/vast?max_duration=30&dur=10")
    assert served_ads(response) == 1
    assert response.headers[WARNINGS] == "dur: 10 differs from max_duration 30, using max_duration"


# --- privacy: a signal that was sent but could not be read keeps personal data out -----------------------


@pytest.mark.parametrize(
    ("query", "private"),
    [
        ("", False),
        ("gdpr=&gdpr_consent=&us_privacy=", False),  # not sent: as before
        ("us_privacy=%%US_PRIVACY%%", True),
        ("us_privacy=garbage", True),
        ("gdpr=[GDPR]", True),
        ("gdpr=0&gdpr_consent=[GDPR_CONSENT]", True),
        ("gdpr=1&gdpr_consent=", True),  # GDPR without consent, as before
        ("us_privacy=1YNN&gdpr=0", False),
        # Consent (app.serving.consent): COPPA, limited ad tracking, TCF purpose 1, GPP US National opt-outs.
        ("coppa=1", True),
        ("coppa=0", False),
        ("lmt=1", True),
        ("gdpr=1&gdpr_consent=CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA", True),
        ("gdpr=1&gdpr_consent=CPc0YAAPc0YAAAGABCENBdCgAP_AAAAAAAAAAAAAAAAA", False),
        ("gpp=DBABLA~BVQVAAAAAgA.QA&gpp_sid=7", True),
        ("gpp=DBABLA~BVQqAAAAAgA.QA&gpp_sid=7", False),
        ("gpp=garbage", True),
    ],
)
def test_an_unreadable_privacy_signal_makes_the_ad_private(client, app, live, query, private):
    response = client.get(f"/vast?{query}")
    assert impression_claims(app, response).private is private


# --- 2. Durations that cannot all hold ---------------------------------------------------------------------


def test_min_duration_above_max_duration_is_a_no_fill_with_the_reason(client, live):
    before = metric(client, DECISIONS, result="no_fill")
    ignored_before = metric(client, IGNORED, parameter="min_duration")
    response = client.get("/vast?min_duration=20&max_duration=10")
    assert response.status_code == 200
    validate(response.data, "4.2")
    assert served_ads(response) == 0
    assert response.headers[WARNINGS] == "min_duration: 20 above max_duration 10, no ad fits"
    assert metric(client, DECISIONS, result="no_fill") - before == 1  # an ad request answered with no fill
    assert metric(client, IGNORED, parameter="min_duration") == ignored_before  # nothing was ignored
    strict = client.get("/vast?min_duration=20&max_duration=10&strict=1")
    assert strict.status_code == 400
    assert "min_duration" in strict.get_json()["details"]


def test_durations_that_hold_are_served(client, live):
    assert served_ads(client.get("/vast?min_duration=15&max_duration=15")) == 1
    assert WARNINGS not in client.get("/vast?min_duration=10&dur=20").headers


# --- 4. Device identity ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("203.0.113.7:51234", "203.0.113.7"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("203.0.113.7, 10.0.0.1", "203.0.113.7"),
        (" 2001:DB8:0::1 ", "2001:db8::1"),
    ],
)
def test_device_ip_headers_resolve_to_the_canonical_address(client, live, header, expected):
    response = client.get("/vast", headers={"X-Device-IP": header})
    assert served_ads(response) == 1
    assert WARNINGS not in response.headers
    parsed = parse_ad_request({}, {"X-Device-IP": header}, "198.51.100.1")
    assert parsed.ip == expected and not parsed.warnings


def test_device_identity_order_on_vast():
    headers = {
        "X-Forwarded-For": "192.0.2.9, 10.0.0.1",
        "User-Agent": "Player/1.0",
    }
    assert parse_ad_request({}, headers, "198.51.100.1").ip == "192.0.2.9"
    assert parse_ad_request({"ip": "203.0.113.5:80"}, headers, "198.51.100.1").ip == "203.0.113.5"
    with_device = {**headers, "X-Device-IP": "203.0.113.7", "X-Device-User-Agent": "Roku/DVP-9.10"}
    parsed = parse_ad_request({"ip": "203.0.113.5", "ua": "SmartTV"}, with_device, "198.51.100.1")
    assert (parsed.ip, parsed.user_agent) == ("203.0.113.7", "Roku/DVP-9.10")
    parsed = parse_ad_request({"ua": "SmartTV", "ip": "[IP]"}, headers, "198.51.100.1")
    assert (parsed.ip, parsed.user_agent) == ("192.0.2.9", "SmartTV")
    assert parse_ad_request({}, {}, "198.51.100.1").ip == "198.51.100.1"


@pytest.mark.parametrize("header", ["not-an-ip", "", "[DEVICE_IP]", "999.0.0.1:80"])
def test_an_unusable_device_ip_header_is_ignored_with_a_warning(client, live, header):
    response = client.get("/vast", headers={"X-Device-IP": header})
    assert served_ads(response) == 1
    assert set(warnings(response)) == {"X-Device-IP"}
    assert parse_ad_request({}, {"X-Device-IP": header}, "198.51.100.1").ip == "198.51.100.1"
    strict = client.get("/vast?strict=1", headers={"X-Device-IP": header})
    assert strict.status_code == 400
    assert "X-Device-IP" in strict.get_json()["details"]


@pytest.mark.parametrize(
    ("headers", "ip", "agent"),
    [
        ({"X-Device-IP": "203.0.113.7:51234", "User-Agent": "SDK/2"}, "203.0.113.7", "SDK/2"),
        ({"X-Device-IP": "[2001:db8::1]:443"}, "2001:db8::1", None),
        ({"X-Forwarded-For": "203.0.113.7, 10.0.0.1"}, "203.0.113.7", None),
        ({"X-Device-User-Agent": "Tizen/6.0", "User-Agent": "SSAI/1"}, "127.0.0.1", "Tizen/6.0"),
    ],
)
def test_the_sdk_route_records_the_device_identity(client, app, session, live, headers, ip, agent):
    headers = {"User-Agent": "", **headers}
    response = client.post("/api/v1/ad-request", json={"request_id": "r-1", "duration": 30}, headers=headers)
    assert response.status_code == 200
    flush(app)
    row = session.scalars(sa.select(AdRequestRow)).one()
    assert (str(row.ip), row.user_agent) == (ip, agent)


# --- 5. HEAD /vast --------------------------------------------------------------------------------------


def test_head_is_not_an_ad_request(client, app, live, monkeypatch):
    counted = []
    monkeypatch.setattr(runtime(app).counter, "count", lambda filled, supply_tag=0: counted.append(filled))

    def decisions():
        return metric(client, DECISIONS, result="fill"), metric(client, DECISIONS, result="no_fill")

    before = decisions()
    response = client.head("/vast?max_duration=30&gdpr=")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert response.data == b""
    assert WARNINGS not in response.headers
    assert counted == []
    assert decisions() == before
    client.get("/vast?max_duration=30")  # only GET counts
    assert counted == [True]


# --- 6. CORS --------------------------------------------------------------------------------------------


def _null_origin_allowed(response) -> None:
    assert response.headers["Access-Control-Allow-Origin"] == "null"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in response.headers["Vary"]


def test_packaged_tv_apps_with_a_null_origin_get_credentials(client, app, live):
    null = {"Origin": "null"}
    response = client.get("/vast", headers=null)
    _null_origin_allowed(response)
    impression = etree.fromstring(response.data).findtext(".//v:Impression", namespaces=NS).strip()
    _null_origin_allowed(client.get(impression.removeprefix("http://localhost"), headers=null))
    sdk = client.post("/api/v1/ad-request", json={"request_id": "tv-1", "duration": 30}, headers=null)
    assert sdk.status_code == 200
    _null_origin_allowed(sdk)
    _null_origin_allowed(client.post("/api/v1/impression", json={"request_id": "tv-1"}, headers=null))
    preflight = client.options(
        "/api/v1/ad-request", headers={**null, "Access-Control-Request-Method": "POST"}
    )
    _null_origin_allowed(preflight)


def test_the_warnings_header_is_readable_by_browser_players(client, live):
    response = client.get("/vast?gdpr=", headers={"Origin": "https://player.example.com"})
    assert WARNINGS in response.headers["Access-Control-Expose-Headers"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/t/unknown-event", {}, 404),
        ("GET", "/t/impression/extra", {}, 404),
        ("POST", "/vast", {}, 405),
        ("PUT", "/t/impression", {}, 405),
        ("GET", "/api/v1/ad-request", {}, 405),
        (
            "POST",
            "/api/v1/ad-request",
            {"data": b'{"request_id": "a", "duration": ' + b"1" * 2_000_000 + b"}"},
            413,
        ),
        ("POST", "/api/v1/ad-request", {"data": b"{not json"}, 400),
        ("GET", "/vast?ifa=" + "x" * MAX_QUERY_BYTES, {}, 414),
        ("GET", "/vast?strict=1&gdpr=", {}, 400),
    ],
)
def test_refusals_on_player_paths_carry_cors(client, live, method, path, kwargs, status):
    if "data" in kwargs:
        kwargs["content_type"] = "application/json"
    response = client.open(path, method=method, headers={"Origin": "https://player.example.com"}, **kwargs)
    assert response.status_code == status
    assert response.headers["Access-Control-Allow-Origin"] == "https://player.example.com"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.is_json and response.get_json()["error"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/campaigns", 200),
        ("GET", "/api/v1/no-such-thing", 404),
        ("DELETE", "/api/v1/dashboard", 405),
        ("GET", "/api/v1/campaigns?q=" + "x" * MAX_QUERY_BYTES, 414),
        ("GET", "/admin/login", 200),
        ("GET", "/vastly-different", 404),
        ("GET", "/tracking", 404),
        ("GET", "/api/v1/impressions", 404),
    ],
)
def test_admin_and_other_paths_never_get_cors(client, auth, method, path, status):
    response = client.open(path, method=method, headers={**auth, "Origin": "https://evil.example.com"})
    assert response.status_code == status
    assert not any(name.startswith("Access-Control-") for name, _ in response.headers.items())


# --- 7. Long query strings --------------------------------------------------------------------------------


def tcf_consent_string(length: int = 4080) -> str:
    """A TCF v2 consent string of `length` characters shaped like a real one: a core segment carrying a
    vendor-consent bitfield, then the disclosed-vendors and publisher segments, base64url without padding."""

    def segment(first: int, size: int) -> str:
        bits = bytes([first]) + bytes((i * 37 + 11) % 256 for i in range(size * 3 // 4 + 3))
        return base64.urlsafe_b64encode(bits).decode().rstrip("=")[:size]

    tail = "." + segment(0b00100000, 300) + "." + segment(0b01100000, 120)
    return segment(0b00001000, length - len(tail)) + tail


def test_a_long_tcf_consent_string_is_accepted(client, live):
    consent = tcf_consent_string()
    assert len(consent) == 4080 and consent.startswith("C")
    response = client.get(f"/vast?gdpr=1&gdpr_consent={consent}&max_duration=30")
    assert served_ads(response) == 1
    assert WARNINGS not in response.headers
    assert parse_ad_request({"gdpr": "1", "gdpr_consent": consent}, {}, None).identifiers_allowed


def test_queries_up_to_the_limit_are_served_and_longer_is_a_414(client, live):
    prefix = "max_duration=30&cust_params="
    at_limit = prefix + "x" * (MAX_QUERY_BYTES - len(prefix))
    assert served_ads(client.get(f"/vast?{at_limit}")) == 1
    response = client.get(f"/vast?{at_limit}x", headers={"Origin": "null"})
    assert response.status_code == 414
    assert response.is_json and response.get_json()["error"]
    _null_origin_allowed(response)


@pytest.mark.slow
def test_gunicorn_serves_an_8000_byte_query(embedded_server):
    """The real server from gunicorn.conf.py: its request-line limit lets an 8,000-byte query through."""
    server = embedded_server()
    try:
        base = "max_duration=30&vast_version=4.2&gdpr=1&gdpr_consent=" + tcf_consent_string()
        base += "&ifa=6D92078A-8246-4BA4-AE5B-76104861E7DC&app_bundle=com.example.tv&cust_params="
        query = base + "k%3Dv%26" * ((MAX_QUERY_BYTES - len(base)) // 8)  # custom pairs: key=value&...
        assert 7990 <= len(query) <= MAX_QUERY_BYTES
        request = urllib.request.Request(f"{server.base_url}/vast?{query}", headers={"Origin": "null"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            assert response.headers["Access-Control-Allow-Origin"] == "null"
            assert response.headers.get(WARNINGS) is None
            body = response.read()
        validate(body, "4.2")
        assert len(etree.fromstring(body).findall("v:Ad", NS)) == 1
        # Longer than the app reads but within gunicorn's request line: the app's own 414, with CORS.
        longer = f"{server.base_url}/vast?{query}{'x' * 100}"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(longer, headers={"Origin": "null"}), timeout=10)
        assert refused.value.code == 414
        assert refused.value.headers["Access-Control-Allow-Origin"] == "null"
        assert json.loads(refused.value.read())["error"]
    finally:
        server.stop()
