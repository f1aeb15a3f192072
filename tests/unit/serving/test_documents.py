import dataclasses
import uuid

import pytest
from lxml import etree

from app.serving.ads import inline_ad, serve
from app.serving.catalog import CampaignEntry, CreativeEntry
from app.serving.documents import CHECK_MARKS, MARKS, _template, vast_document
from app.tracking.signing import BeaconSigner
from vast.render import SUPPORTED_VERSIONS, render
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


def test_each_fill_has_its_own_ad_serving_id_and_token_from_one_template():
    campaign, creative = entries()
    _template.cache_clear()
    first, second = served(campaign, creative), served(campaign, creative, private=True)
    documents = [etree.fromstring(vast_document(ad, "4.2")) for ad in (first, second)]
    assert _template.cache_info().misses == 1 and _template.cache_info().hits == 1
    for ad, root in zip((first, second), documents, strict=True):
        assert root.findtext(f".//{VAST}AdServingId") == ad.ad_serving_id
        impression = root.findtext(f".//{VAST}Impression")
        assert impression == f"{BASE_URL}/t/impression?t={ad.token}"
        assert SIGNER.verify(impression.rpartition("t=")[2]).ad_serving_id == ad.ad_serving_id


def test_templates_follow_the_base_url_and_the_campaign_as_the_catalog_has_it():
    campaign, creative = entries()
    elsewhere = served(campaign, creative, base_url="http://127.0.0.1:8000")
    assert b"http://127.0.0.1:8000/media/creatives/a.mp4" in vast_document(elsewhere, "4.2")
    renamed = dataclasses.replace(campaign, name="Summer sale")
    assert b"Summer sale" in vast_document(served(renamed, creative), "4.2")
    assert b"Spring sale" in vast_document(served(campaign, creative), "4.2")


@pytest.mark.parametrize("mark", MARKS + CHECK_MARKS)
def test_text_that_holds_a_mark_is_left_as_written(mark):
    campaign, creative = entries(name=f"Sale {mark}", click_through=f"https://brand.example/{mark}")
    ad = served(campaign, creative)
    document = vast_document(ad, "4.2")
    assert document == render(inline_ad(ad), "4.2")
    # A mark of the template in the ad's text makes it render whole; a check mark there is harmless.
    template = _template(campaign, creative, ad.media_url, ad.beacon_base, "4.2")
    assert (template is None) == (mark in MARKS)
    root = etree.fromstring(document)
    assert root.findtext(f".//{VAST}AdTitle") == f"Sale {mark}"
    assert root.findtext(f".//{VAST}ClickThrough") == f"https://brand.example/{mark}"
