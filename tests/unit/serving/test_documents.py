import dataclasses
import string
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from app.serving.ads import inline_ad, serve
from app.serving.catalog import CampaignEntry, CreativeEntry
from app.serving.documents import MARKS, _skeleton, no_fill_document, vast_document
from app.serving.request import parse_ad_request
from app.serving.wrappers import with_request_macros
from app.tracking.signing import BeaconSigner
from vast.model import Verification
from vast.render import SUPPORTED_VERSIONS, render, xml_safe
from vast.validate import validate

SIGNER = BeaconSigner("secret-" + "x" * 40, max_age_seconds=3600)
BASE_URL = "https://ads.example.com"
VAST = "{http://www.iab.com/VAST}"


def entries(name="Spring sale", click_through="https://brand.example/landing?a=1&b=2"):
    campaign_id = uuid.uuid4()
    creative = CreativeEntry(
        id=uuid.uuid4(),
        campaign_id=campaign_id,
        duration=15.0,
        width=1280,
        height=720,
        bitrate=2_000_000,
        file_size=1_000_000,
        video_codec="h264",
        media_url="/media/creatives/a.mp4",
        click_through_url=click_through,
    )
    campaign = CampaignEntry(
        id=campaign_id,
        name=name,
        cost_units=1000,
        budget_units=10**9,
        start_ts=0,
        end_ts=2**40,
        creatives=(creative,),
    )
    return campaign, creative


def served(campaign, creative, base_url=BASE_URL, private=False):
    return serve(campaign, creative, SIGNER, base_url, private=private)


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_a_filled_template_is_the_document_rendered_whole(version):
    ad = served(*entries())
    document = vast_document(ad, version)
    assert document == render(inline_ad(ad), version)
    validate(document, version)


def test_each_fill_has_its_own_ad_serving_id_and_token():
    campaign, creative = entries()
    first, second = served(campaign, creative), served(campaign, creative, private=True)
    for ad in (first, second):
        root = etree.fromstring(vast_document(ad, "4.2"))
        assert root.findtext(f".//{VAST}AdServingId") == ad.ad_serving_id
        impression = root.findtext(f".//{VAST}Impression")
        assert impression == f"{BASE_URL}/t/impression?t={ad.token}"
        assert SIGNER.verify(impression.rpartition("t=")[2]).ad_serving_id == ad.ad_serving_id


def test_ads_of_one_shape_share_a_skeleton():
    _skeleton.cache_clear()
    for name in ("One", "Two", "Three"):
        vast_document(served(*entries(name=name)), "4.2")
    assert (_skeleton.cache_info().misses, _skeleton.cache_info().hits) == (1, 2)
    other_shape = dataclasses.replace(entries()[1], duration=30.0)
    vast_document(served(entries()[0], other_shape), "4.2")
    assert _skeleton.cache_info().misses == 2


@pytest.mark.parametrize(
    "name",
    [
        "Tom & Jerry",
        "<script>alert(1)</script>",
        'Say "hi"',
        "Café",
        "Tab\there",
        "Ends ]]>",
        *MARKS.values(),
    ],
)
def test_any_text_gives_the_document_rendered_whole(name):
    ad = served(*entries(name=name, click_through=f"https://brand.example/?q={name}"))
    document = vast_document(ad, "4.2")
    assert document == render(inline_ad(ad), "4.2")
    assert etree.fromstring(document).findtext(f".//{VAST}AdTitle") == xml_safe(name)


@pytest.mark.parametrize(
    "click_through",
    [
        "https://b.example/?a=1&b=2",
        "https://b.example/?x=]]>",
        "https://b.example/?q=<b>",
        "https://b.example/\r",
    ],
)
def test_any_url_gives_the_document_rendered_whole(click_through):
    ad = served(*entries(click_through=click_through))
    document = vast_document(ad, "4.2")
    assert document == render(inline_ad(ad), "4.2")
    assert etree.fromstring(document).findtext(f".//{VAST}ClickThrough") == click_through


@settings(max_examples=300, deadline=None)
@given(
    name=st.text(min_size=1, max_size=40) | st.text(alphabet=string.printable, min_size=1, max_size=40),
    click_through=st.text(max_size=40) | st.text(alphabet=string.printable, max_size=40),
    host=st.text(alphabet=string.printable, min_size=1, max_size=20),
    version=st.sampled_from(SUPPORTED_VERSIONS),
    duration=st.sampled_from([6.0, 15.0, 15.5, 30.0]),
    codec=st.sampled_from(["h264", "hevc", "vp9"]),
    no_click_through=st.booleans(),
    advertiser=st.none() | st.text(min_size=1, max_size=30),
    category=st.none() | st.sampled_from(["1534", "IAB22-1", "653"]),
)
def test_filled_skeleton_and_whole_render_agree(
    name, click_through, host, version, duration, codec, no_click_through, advertiser, category
):
    campaign, creative = entries(name=name, click_through=None if no_click_through else click_through)
    campaign = dataclasses.replace(campaign, advertiser_name=advertiser, category=category)
    creative = dataclasses.replace(creative, duration=duration, video_codec=codec)
    ad = served(campaign, creative, base_url=f"http://{host}")
    assert vast_document(ad, version) == render(inline_ad(ad), version)


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_the_no_fill_document_is_the_empty_vast_of_its_version(version):
    document = no_fill_document(version)
    assert document == render(None, version)
    assert etree.fromstring(document).get("version") == version and len(etree.fromstring(document)) == 0
    with_error = etree.fromstring(no_fill_document(version, "https://us.example/t/no-ad?code=[ERRORCODE]"))
    assert [etree.QName(child).localname for child in with_error] == ([] if version == "3.0" else ["Error"])


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_advertiser_and_category_are_in_the_filled_document(version):
    campaign, creative = entries()
    branded = dataclasses.replace(campaign, advertiser_name="Cola Co", category="1534")
    ad = served(branded, creative)
    document = vast_document(ad, version)
    assert document == render(inline_ad(ad), version)
    validate(document, version)
    root = etree.fromstring(document)
    assert root.findtext(".//{*}Advertiser") == "Cola Co"
    assert (root.findtext(".//{*}Category") == "1534") == (version != "3.0")


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
@pytest.mark.parametrize(
    "parameters",
    ['{"id":"c-1"}', "a & b <c> ]]> d", "@@title@@"],  # plain; escaped by lxml; a mark's look-alike
)
def test_verifications_are_in_the_filled_document_as_rendered_whole(version, parameters):
    campaign, creative = entries()
    verification = Verification(
        vendor="verify.example.com-omid",
        javascript_url="https://verify.example.com/omid.js",
        parameters=parameters,
        not_executed_urls=("https://verify.example.com/ne?r=[REASON]",),
    )
    ad = served(campaign, dataclasses.replace(creative, verifications=(verification,)))
    document = vast_document(ad, version)
    assert document == render(inline_ad(ad), version)
    validate(document, version)
    assert etree.fromstring(document).findtext(".//{*}VerificationParameters") == parameters


def test_only_a_click_through_with_a_macro_is_touched():
    request = parse_ad_request({"ifa": "abc", "coppa": "1"}, {}, "203.0.113.7")
    plain = served(*entries())
    assert with_request_macros(plain, request) is plain  # the hot path: one test, nothing built
    ad = served(*entries(click_through="https://c.example/?ifa=[IFA]&ph=[ADPLAYHEAD]&r=[REGULATIONS]"))
    expanded = with_request_macros(ad, request)
    assert expanded.click_through == "https://c.example/?ifa=-2&ph=[ADPLAYHEAD]&r=coppa"
    for version in SUPPORTED_VERSIONS:  # the skeleton's fill and the whole render agree
        document = vast_document(expanded, version)
        assert document == render(inline_ad(expanded), version)
        assert b"<![CDATA[https://c.example/?ifa=-2&ph=[ADPLAYHEAD]&r=coppa]]>" in document
