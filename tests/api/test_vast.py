"""GET /vast: documents valid against the IAB schemas, parameters, SSAI headers, CORS, the catalog."""

import shutil
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from lxml import etree

from app import create_app
from app.db import get_session, utcnow
from tests import factories
from tests.factories import CampaignFactory, CreativeFactory
from tests.serving_helpers import NS, ads_in, get_vast, refresh, runtime
from vast.validate import validate


@pytest.fixture
def live(session, app):
    creative = CreativeFactory(duration=15.0, click_through_url="https://brand.example.com/buy?a=1&b=2")
    refresh(app)
    return creative


def test_fill_is_a_valid_vast_4_2_inline_ad(client, live):
    document = get_vast(client, "max_duration=30")
    assert document.get("version") == "4.2"
    (ad,) = document.findall("v:Ad", NS)
    assert ad.get("id") == str(live.campaign_id)
    inline = ad.find("v:InLine", NS)
    assert inline.find("v:AdSystem", NS).get("version")
    assert inline.findtext("v:AdTitle", namespaces=NS)
    assert len(inline.findtext("v:AdServingId", namespaces=NS)) == 22
    assert "/t/impression?t=" in inline.findtext("v:Impression", namespaces=NS)
    assert "code=[ERRORCODE]" in inline.findtext("v:Error", namespaces=NS)
    creative = inline.find(".//v:Creative", NS)
    assert creative.findtext("v:UniversalAdId", namespaces=NS) == live.identity
    assert creative.findtext(".//v:Duration", namespaces=NS) == "00:00:15.000"
    events = {t.get("event") for t in creative.iterfind(".//v:Tracking", NS)}
    expected = {"start", "firstQuartile", "midpoint", "thirdQuartile", "complete"}
    assert events >= expected | {"pause", "resume", "mute", "unmute", "skip"}
    assert (
        creative.findtext(".//v:ClickThrough", namespaces=NS).strip()
        == "https://brand.example.com/buy?a=1&b=2"
    )
    assert "/t/click?t=" in creative.findtext(".//v:ClickTracking", namespaces=NS)
    media = creative.find(".//v:MediaFile", NS)
    assert (media.get("delivery"), media.get("type")) == ("progressive", "video/mp4")
    assert (media.get("width"), media.get("height"), media.get("bitrate")) == ("1280", "720", "2000")
    assert media.text.strip() == f"http://localhost/media/{live.storage_key}"


def test_response_headers(client, live):
    response = client.get("/vast?max_duration=30")
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("version", ["3.0", "4.0", "4.1", "4.2", "4.3"])
def test_every_version_validates_against_its_schema(client, live, version):
    document = get_vast(client, f"max_duration=30&vast_version={version}", version=version)
    assert document.get("version") == version
    assert (document.find("v:Ad", NS) if version != "3.0" else document.find("Ad")) is not None


@pytest.mark.parametrize("version", ["3.0", "4.1", "4.2"])
def test_no_fill_is_an_empty_valid_vast(client, app, session, version):
    """Without ads; in 4.x with a root Error a player behind wrappers fires with 303 (VAST 4.3 §2.3.6)."""
    response = client.get(f"/vast?vast_version={version}")
    assert response.status_code == 200
    validate(response.data, version)
    document = etree.fromstring(response.data)
    assert not ads_in(document) and document.get("version") == version
    errors = [element.text for element in document.findall("{*}Error")]
    assert errors == ([] if version == "3.0" else ["http://localhost/t/no-ad?code=[ERRORCODE]"])
    for url in errors:
        answer = client.get(url.replace("[ERRORCODE]", "303").removeprefix("http://localhost"))
        assert answer.status_code == 204 and answer.headers["X-Beacon"] == "counted"


def test_no_fill_when_nothing_fits_the_duration(client, live):
    assert len(ads_in(get_vast(client, "max_duration=10"))) == 0
    assert len(ads_in(get_vast(client, "dur=10"))) == 0
    assert len(ads_in(get_vast(client, "dur=15"))) == 1
    assert len(ads_in(get_vast(client, "min_duration=16&max_duration=60"))) == 0
    assert len(ads_in(get_vast(client, "min_duration=15&max_duration=15"))) == 1


def test_never_a_creative_longer_than_max_duration(client, app, session):
    CreativeFactory(duration=30.4)
    refresh(app)
    assert len(ads_in(get_vast(client, "max_duration=30"))) == 0
    assert len(ads_in(get_vast(client, "max_duration=30.4"))) == 1


def test_a_duration_tolerance_is_a_setting(client, app, session):
    CreativeFactory(duration=30.04)
    refresh(app)
    assert len(ads_in(get_vast(client, "max_duration=30"))) == 0
    runtime(app).duration_tolerance_seconds = 0.05
    assert len(ads_in(get_vast(client, "max_duration=30"))) == 1


def test_every_parameter_is_accepted(client, live):
    query = (
        "max_duration=30&min_duration=5&vast_version=4.2&ifa=6D92078A-8246-4BA4-AE5B-76104861E7DC&ifa_type=rida"
        "&app_bundle=com.example.tv&app_name=Example%20TV&device_type=3&ip=203.0.113.7&ua=Roku%2F9.4"
        "&us_privacy=1YNN&gdpr=1&gdpr_consent=CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA&cb=12345&unknown=kept"
    )
    assert len(ads_in(get_vast(client, query))) == 1
    assert len(ads_in(get_vast(client, "device_type=ctv&ifa_type=aaid&us_privacy=1---&gdpr=0"))) == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("max_duration=abc", "max_duration"),
        ("max_duration=0", "max_duration"),
        ("max_duration=nan", "max_duration"),
        ("dur=-5", "dur"),
        ("max_duration=10&dur=20", "dur"),
        ("min_duration=40&max_duration=30", "min_duration"),
        ("vast_version=5.0", "vast_version"),
        ("ifa_type=cookie", "ifa_type"),
        ("device_type=toaster", "device_type"),
        ("ip=999.1.1.1", "ip"),
        ("us_privacy=yes", "us_privacy"),
        ("gdpr=2", "gdpr"),
        ("gdpr_consent=%3Cscript%3E", "gdpr_consent"),
        ("ifa=" + "x" * 200, "ifa"),
    ],
)
def test_bad_parameters_are_ignored_and_named_in_a_warning(client, live, query, field):
    response = client.get(f"/vast?{query}")
    assert response.status_code == 200
    assert f"{field}: " in response.headers["X-Ad-Request-Warnings"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("max_duration=abc", "max_duration"),
        ("max_duration=10&dur=20", "dur"),
        ("min_duration=40&max_duration=30", "min_duration"),
        ("vast_version=5.0", "vast_version"),
        ("gdpr_consent=%3Cscript%3E", "gdpr_consent"),
    ],
)
def test_under_strict_bad_parameters_are_a_400_naming_the_parameter(client, live, query, field):
    response = client.get(f"/vast?{query}&strict=1")
    assert response.status_code == 400
    assert field in response.get_json()["details"]


def test_bad_device_ip_header_is_ignored_unless_strict(client, live):
    response = client.get("/vast", headers={"X-Device-IP": "not-an-ip"})
    assert response.status_code == 200
    assert response.headers["X-Ad-Request-Warnings"] == "X-Device-IP: not an IP address"
    response = client.get("/vast?strict=1", headers={"X-Device-IP": "not-an-ip"})
    assert response.status_code == 400
    assert "X-Device-IP" in response.get_json()["details"]


def test_cors_echoes_the_origin_with_credentials(client, live):
    response = client.get("/vast?max_duration=30", headers={"Origin": "https://player.example.com"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://player.example.com"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in response.headers["Vary"]


def test_a_beacon_from_a_browser_varies_by_origin(client, live):
    response = client.get("/t/impression?t=bad", headers={"Origin": "https://player.example.com"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://player.example.com"
    assert response.headers.getlist("Vary") == ["Origin"]


def test_cors_without_an_origin_is_open_without_credentials(client, live):
    response = client.get("/vast")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_preflight_is_answered(client):
    response = client.options(
        "/vast",
        headers={
            "Origin": "https://player.example.com",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "X-Device-IP",
        },
    )
    assert response.status_code == 200
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == "X-Device-IP"
    assert response.headers["Access-Control-Allow-Origin"] == "https://player.example.com"


def test_admin_routes_get_no_cors(client, auth):
    response = client.get("/api/v1/campaigns", headers={**auth, "Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_user_supplied_text_is_escaped(client, app, session):
    hostile = '<b>"Q&A" ]]>'
    campaign = CampaignFactory(name=hostile, status="active")
    CreativeFactory(campaign=campaign, click_through_url='https://x.example.com/?q="<x>"&r=]]>')
    refresh(app)
    for version in ("3.0", "4.2"):
        response = client.get(f"/vast?vast_version={version}")
        document = etree.fromstring(response.data)  # well-formed
        title = document.find(".//v:AdTitle" if version != "3.0" else ".//AdTitle", NS)
        assert title.text == hostile
    validate(client.get("/vast").data.replace(b"]]&gt;", b""), "4.2")


def test_the_public_base_url_setting_is_used(make_settings, sqlite_template, tmp_path):
    shutil.copy(sqlite_template, tmp_path / "db.sqlite")
    app = create_app(
        make_settings(
            database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", public_base_url="https://ads.example.com/"
        )
    )
    runtime(app).start(background=False)
    with app.app_context():
        factories.bind(get_session())
        creative = CreativeFactory()
    refresh(app)
    document = get_vast(app.test_client())
    assert document.findtext(".//v:Impression", namespaces=NS).startswith(
        "https://ads.example.com/t/impression?t="
    )
    assert document.findtext(".//v:MediaFile", namespaces=NS).strip() == (
        f"https://ads.example.com/media/{creative.storage_key}"
    )
    app.extensions["database"].dispose()


def test_serving_runs_no_sql(client, app, live):
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = app.extensions["database"].engine  # this app's: other apps of the process run their own loops
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        for query in ("max_duration=30", "max_duration=5", "vast_version=3.0"):
            assert client.get(f"/vast?{query}").status_code == 200
        client.get("/healthz")  # the listener works: a request that does run SQL is seen
        client.get("/readyz")
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert statements == ["SELECT 1"]


def test_pausing_or_deactivating_stops_serving_at_the_next_refresh(client, app, auth, live):
    assert len(ads_in(get_vast(client))) == 1
    client.put(f"/api/v1/campaigns/{live.campaign_id}/status", json={"status": "paused"}, headers=auth)
    assert len(ads_in(get_vast(client))) == 1  # not refreshed yet
    refresh(app)
    assert len(ads_in(get_vast(client))) == 0
    client.put(f"/api/v1/campaigns/{live.campaign_id}/status", json={"status": "active"}, headers=auth)
    refresh(app)
    assert len(ads_in(get_vast(client))) == 1
    client.put(f"/api/v1/creatives/{live.id}/status", json={"status": "inactive"}, headers=auth)
    refresh(app)
    assert len(ads_in(get_vast(client))) == 0


def test_flights_and_budgets_limit_eligibility(client, app, session):
    now = utcnow()
    CreativeFactory(campaign=CampaignFactory(status="active", start_date=now + timedelta(hours=1)))
    CreativeFactory(campaign=CampaignFactory(status="draft"))
    refresh(app)
    assert len(ads_in(get_vast(client))) == 0
    spent = CampaignFactory(status="active", budget_total=Decimal("1.00"), cpm=Decimal("1000.0000"))
    CreativeFactory(campaign=spent)
    refresh(app)
    assert len(ads_in(get_vast(client))) == 1
    runtime(app).store.seed_spend({spent.id: 10_000_000})  # 1.00 spent: the budget
    refresh(app)
    assert len(ads_in(get_vast(client))) == 0


def test_serving_continues_from_the_last_catalog_when_the_database_is_gone(client, app, live, auth):
    rt = runtime(app)

    def database_down(*_args):
        raise sa.exc.OperationalError("SELECT", {}, Exception("connection refused"))

    rt.catalog._load = database_down
    rt.catalog._read_version = lambda: 10**9  # a change it cannot read
    refresh(app)
    assert len(ads_in(get_vast(client))) == 1


def test_tracking_urls_carry_a_signed_token_for_this_ad(client, app, live):
    document = get_vast(client)
    serving_id = document.findtext(".//v:AdServingId", namespaces=NS)
    token = document.findtext(".//v:Impression", namespaces=NS).split("t=")[1].strip()
    claims = runtime(app).signer.verify(token)
    assert (claims.ad_serving_id, claims.campaign_id, claims.creative_id) == (
        serving_id,
        live.campaign_id,
        live.id,
    )
    assert claims.cost_units == 100_000  # cpm 10 -> 0.01 per impression
    other = get_vast(client).findtext(".//v:AdServingId", namespaces=NS)
    assert other != serving_id
