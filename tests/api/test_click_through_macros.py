"""Our creatives' click-throughs with the server's VAST macros filled at serve time, on /vast (one ad, a pod,
an SDK ad's vast_url) and in POST /api/v1/ad-request's answer, by the rule of partner tags: percent-encoded,
identifiers withheld (-2) where they may not be used, the player's macros left for the player."""

import urllib.parse

import pytest

from tests.factories import CreativeFactory
from tests.serving_helpers import NS, get_vast, refresh
from tests.unit.serving.test_consent import TCF_CONSENT

CLICK = (
    "https://click.example/l?cb=[CACHEBUSTING]&ifa=[IFA]&ip=[DEVICEIP]&gc=[GDPRCONSENT]&ts=[TIMESTAMP]"
    "&ph=[ADPLAYHEAD]"
)
IFA = "6d92078a-8246-4ba4-ae5b-76104861e7dc"


@pytest.fixture
def live(session, app):
    creative = CreativeFactory(duration=15.0, click_through_url=CLICK)
    refresh(app)
    return creative


def query_of(url: str) -> dict[str, str]:
    assert url.startswith("https://click.example/l?"), url
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def check(url: str, ifa: str, ip: str, consent: str) -> None:
    values = query_of(url)
    assert values.pop("cb").isdigit() and len(url.split("cb=")[1].split("&")[0]) == 8
    assert values.pop("ts")[:2] == "20" and "%3A" in url  # ISO 8601, percent-encoded
    assert values == {"ifa": ifa, "ip": ip, "gc": consent, "ph": "[ADPLAYHEAD]"}  # the player's, left


@pytest.mark.parametrize(
    ("query", "ifa", "ip", "consent"),
    [
        (f"ifa={IFA}&ip=203.0.113.9&gdpr=1&gdpr_consent={TCF_CONSENT}", IFA, "203.0.113.9", TCF_CONSENT),
        (f"ifa={IFA}&ip=203.0.113.9&coppa=1", "-2", "-2", "-1"),  # withheld for a child-directed request
    ],
)
def test_vast_fills_the_click_throughs_server_macros(client, live, query, ifa, ip, consent):
    document = get_vast(client, query)
    check(document.findtext(".//v:ClickThrough", namespaces=NS).strip(), ifa, ip, consent)
    pod = get_vast(client, f"{query}&pod_max_dur=60&pod_max_ads=2")
    check(pod.findtext(".//v:ClickThrough", namespaces=NS).strip(), ifa, ip, consent)


def test_the_sdk_answer_and_its_vast_url_have_it_filled(client, live):
    body = {"request_id": "r-1", "duration": 30, "ifa": IFA, "gdpr": 1, "gdpr_consent": TCF_CONSENT}
    answer = client.post("/api/v1/ad-request", json=body, headers={"X-Device-IP": "198.51.100.4"}).get_json()
    check(answer["click_through_url"], IFA, "198.51.100.4", TCF_CONSENT)
    private = client.post(
        "/api/v1/ad-request", json={"request_id": "r-2", "duration": 30, "ifa": IFA, "lmt": 1}
    )
    check(private.get_json()["click_through_url"], "-2", "-2", "-1")
    # The vast_url carries the answer's click-through, whoever fetches it with whatever it adds.
    document = get_vast(client, "request_id=r-1&ip=203.0.113.9")
    assert document.findtext(".//v:ClickThrough", namespaces=NS).strip() == answer["click_through_url"]
    document = get_vast(client, f"request_id=r-2&ip=203.0.113.9&ifa={IFA}&coppa=0")
    check(document.findtext(".//v:ClickThrough", namespaces=NS).strip(), "-2", "-2", "-1")


def test_a_click_through_without_macros_is_served_as_entered(client, session, app):
    CreativeFactory(duration=15.0, click_through_url="https://brand.example.com/buy?a=1&b=%5B2%5D")
    refresh(app)
    document = get_vast(client, "ifa=abc")
    assert (
        document.findtext(".//v:ClickThrough", namespaces=NS).strip()
        == "https://brand.example.com/buy?a=1&b=%5B2%5D"
    )
