"""VAST <Wrapper> documents and the no-ad root <Error>, for every version's schema."""

import pytest
from lxml import etree

from vast import SUPPORTED_VERSIONS, Tracking
from vast.macros import ERRORCODE
from vast.model import WrapperAd
from vast.render import render, render_ads
from vast.validate import VastValidationError, validate

VAST4 = [v for v in SUPPORTED_VERSIONS if v != "3.0"]
TAG = "https://partner.example.com/vast?cb=123&ifa=abc"


def wrapper(**changes) -> WrapperAd:
    values = {
        "ad_id": "li-1",
        "ad_system": "CTV Ad Server",
        "ad_system_version": "1.0",
        "vast_ad_tag_uri": TAG,
        "impressions": ("https://us.example.com/t/impression?t=tok",),
        "errors": (f"https://us.example.com/t/error?t=tok&code={ERRORCODE}",),
        "tracking": (
            Tracking("start", "https://us.example.com/t/start?t=tok"),
            Tracking("complete", "https://us.example.com/t/complete?t=tok"),
            Tracking("playerExpand", "https://us.example.com/t/playerExpand?t=tok"),
        ),
        "click_tracking": ("https://us.example.com/t/click?t=tok",),
    }
    return WrapperAd(**(values | changes))


def names(element: etree._Element) -> list[str]:
    return [etree.QName(child).localname for child in element]


def find(root: etree._Element, name: str) -> list[etree._Element]:
    return [e for e in root.iter(etree.Element) if etree.QName(e).localname == name]


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_a_wrapper_is_schema_valid(version):
    validate(render(wrapper(), version), version)


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_a_wrapper_without_tracking_is_schema_valid(version):
    validate(render(wrapper(tracking=(), click_tracking=()), version), version)


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_wrappers_in_a_pod_beside_each_other_are_schema_valid(version):
    ads = [wrapper(ad_id=f"li-{n}", sequence=n) for n in (1, 2, 3)]
    xml = render_ads(ads, version)
    validate(xml, version)
    assert [ad.get("sequence") for ad in find(etree.fromstring(xml), "Ad")] == ["1", "2", "3"]


def test_vast_3_order_and_no_attributes():
    root = etree.fromstring(render(wrapper(), "3.0"))
    element = find(root, "Wrapper")[0]
    assert names(element) == ["AdSystem", "VASTAdTagURI", "Error", "Impression", "Creatives"]
    assert dict(element.attrib) == {}  # the 3.0 schema declares none of them


def test_vast_3_keeps_one_error_url():
    xml = render(wrapper(errors=("https://a.example/e", "https://b.example/e")), "3.0")
    validate(xml, "3.0")
    assert [e.text for e in find(etree.fromstring(xml), "Error")] == ["https://a.example/e"]


@pytest.mark.parametrize("version", VAST4)
def test_vast_4_order_and_attributes(version):
    root = etree.fromstring(render(wrapper(), version))
    element = find(root, "Wrapper")[0]
    assert names(element) == ["AdSystem", "Error", "Impression", "Creatives", "VASTAdTagURI"]
    assert dict(element.attrib) == {
        "followAdditionalWrappers": "true",
        "allowMultipleAds": "false",
        "fallbackOnNoAd": "true",
    }


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_the_partner_tag_is_written_exactly(version):
    root = etree.fromstring(render(wrapper(), version))
    assert find(root, "VASTAdTagURI")[0].text == TAG


@pytest.mark.parametrize(("version", "name"), [("3.0", "fullscreen"), ("4.2", "playerExpand")])
def test_tracking_events_take_the_version_name(version, name):
    root = etree.fromstring(render(wrapper(), version))
    assert [t.get("event") for t in find(root, "Tracking")] == ["start", "complete", name]


def test_a_wrapper_needs_an_impression_and_a_tag():
    with pytest.raises(ValueError, match="impression"):
        wrapper(impressions=())
    with pytest.raises(ValueError, match="VASTAdTagURI"):
        wrapper(vast_ad_tag_uri=" ")


@pytest.mark.parametrize("version", VAST4)
def test_no_ad_carries_root_errors_in_vast_4(version):
    url = f"https://us.example.com/t/no-ad?code={ERRORCODE}"
    xml = render_ads((), version, no_ad_errors=(url,))
    validate(xml, version)
    root = etree.fromstring(xml)
    assert names(root) == ["Error"]
    assert root[0].text == url


def test_no_ad_in_vast_3_has_no_root_error():
    xml = render_ads((), "3.0", no_ad_errors=("https://us.example.com/t/no-ad",))
    validate(xml, "3.0")
    assert len(etree.fromstring(xml)) == 0


def test_the_3_0_schema_refuses_a_root_error():
    """Why render_ads leaves it out in 3.0: the schema's root holds Ads only."""
    xml = b'<VAST version="3.0"><Error>https://us.example.com/e</Error></VAST>'
    with pytest.raises(VastValidationError):
        validate(xml, "3.0")


@pytest.mark.parametrize("version", VAST4)
def test_root_errors_are_left_out_when_there_are_ads(version):
    xml = render_ads([wrapper()], version, no_ad_errors=("https://us.example.com/t/no-ad",))
    validate(xml, version)
    assert names(etree.fromstring(xml)) == ["Ad"]
