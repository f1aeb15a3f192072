"""Third-party verification per creative (VAST 4.1 AdVerifications): set through the API, validated, carried
into the catalog, emitted per VAST version (XSD-valid), and read by a player's VAST parser."""

from __future__ import annotations

import pytest
from lxml import etree

from app.creatives.verifications import MAX_VERIFICATIONS
from tests.factories import CreativeFactory
from tests.serving_helpers import PROJECT_ROOT, node_parser, refresh, runtime
from vast.validate import validate

OMID = {
    "vendor": "verify.example.com-omid",
    "javascript_url": "https://verify.example.com/omid.js",
    "parameters": '{"campaign":"c-1","flags":"a&b<c>"}',
    "not_executed_url": "https://verify.example.com/not-run?reason=[REASON]",
}
SECOND = {"vendor": "other.example-omid", "javascript_url": "https://cdn.other.example/v.js"}
VERSIONS = ("3.0", "4.0", "4.1", "4.2", "4.3")


@pytest.fixture
def creative(session, app):
    creative = CreativeFactory(duration=15.0)
    refresh(app)
    return creative


def put(client, auth, creative_id, verifications):
    return client.put(
        f"/api/v1/creatives/{creative_id}/verifications", json={"verifications": verifications}, headers=auth
    )


def test_verifications_are_stored_and_listed(client, auth, creative):
    response = put(client, auth, creative.id, [OMID, SECOND])
    assert response.status_code == 200, response.get_json()
    expected = [OMID, SECOND | {"parameters": None, "not_executed_url": None}]
    assert response.get_json()["verifications"] == expected
    assert (
        client.get(f"/api/v1/creatives/{creative.id}", headers=auth).get_json()["verifications"] == expected
    )
    assert put(client, auth, creative.id, []).get_json()["verifications"] == []


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        (
            OMID | {"javascript_url": "http://verify.example.com/omid.js"},
            "javascript_url",
            "Must be an https URL.",
        ),
        (
            OMID | {"not_executed_url": "ftp://verify.example.com/x"},
            "not_executed_url",
            "Must be an https URL.",
        ),
        (OMID | {"vendor": "has space"}, "vendor", "Must be a vendor key such as company.com-omid."),
        ({"vendor": "x-omid"}, "javascript_url", "Missing data for required field."),
        (OMID | {"parameters": "x" * 4097}, "parameters", "Longer than maximum length 4096."),
    ],
)
def test_an_unusable_verification_is_refused_naming_the_field(client, auth, creative, entry, field, message):
    response = put(client, auth, creative.id, [SECOND, entry])
    assert response.status_code == 400
    assert response.get_json()["details"][f"verifications.1.{field}"] == message
    assert client.get(f"/api/v1/creatives/{creative.id}", headers=auth).get_json()["verifications"] == []


def test_at_most_ten_vendors(client, auth, creative):
    response = put(client, auth, creative.id, [SECOND] * (MAX_VERIFICATIONS + 1))
    assert response.status_code == 400 and "verifications" in response.get_json()["details"]


def _verifications_of(document: bytes, version: str) -> list[etree._Element]:
    root = etree.fromstring(document)
    inline = root.find("{*}Ad/{*}InLine")
    if version in ("3.0", "4.0"):
        assert inline.find("{*}AdVerifications") is None
        (extension,) = inline.findall("{*}Extensions/{*}Extension")
        assert extension.get("type") == "AdVerifications"
        return extension.findall("{*}AdVerifications/{*}Verification")
    names = [etree.QName(child).localname for child in inline]
    assert names[names.index("AdTitle") + 1] == "AdVerifications"
    return inline.findall("{*}AdVerifications/{*}Verification")


@pytest.mark.parametrize("version", VERSIONS)
def test_served_ads_carry_them_valid_in_every_version(client, app, auth, creative, version):
    assert put(client, auth, creative.id, [OMID, SECOND]).status_code == 200
    refresh(app)
    entry = runtime(app).catalog.current().catalog.creatives[creative.id]
    assert [v.vendor for v in entry.verifications] == [OMID["vendor"], SECOND["vendor"]]  # in the catalog
    document = client.get(f"/vast?vast_version={version}").data
    validate(document, version)
    first, second = _verifications_of(document, version)
    assert first.get("vendor") == OMID["vendor"]
    script = first.find("{*}JavaScriptResource")
    assert (script.text, script.get("apiFramework")) == (OMID["javascript_url"], "omid")
    assert first.findtext("{*}VerificationParameters") == OMID["parameters"]
    tracking = first.find("{*}TrackingEvents/{*}Tracking")
    assert (tracking.get("event"), tracking.text) == ("verificationNotExecuted", OMID["not_executed_url"])
    assert second.find("{*}TrackingEvents") is None and second.find("{*}VerificationParameters") is None


def test_a_players_vast_parser_reads_the_verification_resources(client, app, auth, creative):
    assert put(client, auth, creative.id, [OMID, SECOND]).status_code == 200
    refresh(app)
    parse = node_parser(PROJECT_ROOT / "tests" / "api" / "parse_vast.js", ("@dailymotion/vast-client",))
    views = parse(*(client.get(f"/vast?vast_version={version}").data for version in VERSIONS))
    for version, view in zip(VERSIONS, views, strict=True):
        assert "error" not in view, (version, view)
        (ad,) = view["ads"]
        assert ad["verifications"] == [
            {
                "vendor": OMID["vendor"],
                "resource": OMID["javascript_url"],
                "apiFramework": "omid",
                "parameters": OMID["parameters"],
                "trackingEvents": {"verificationNotExecuted": [OMID["not_executed_url"]]},
            },
            {
                "vendor": SECOND["vendor"],
                "resource": SECOND["javascript_url"],
                "apiFramework": "omid",
                "parameters": None,
                "trackingEvents": {},
            },
        ], version


def test_without_verifications_no_element_is_emitted(client, creative):
    for version in VERSIONS:
        document = client.get(f"/vast?vast_version={version}").data
        assert b"AdVerifications" not in document and b"<Extensions" not in document
