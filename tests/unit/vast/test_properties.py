import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from vast import SUPPORTED_VERSIONS
from vast.render import render, xml_safe
from vast.validate import validate

XML_FORBIDDEN = "".join(map(chr, [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF]))

# What XML 1.0 can carry: everything but surrogates and the forbidden controls.
xml_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters=XML_FORBIDDEN))
# Anything a Python str can hold, lone surrogates and NUL included.
any_text = st.text(st.characters(exclude_categories=()))
versions = st.sampled_from(SUPPORTED_VERSIONS)

# `full_ad` is frozen, so sharing it across generated inputs is safe.
PROPERTY = settings(
    max_examples=200,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def texts(xml: bytes, name: str) -> str:
    return etree.fromstring(xml).xpath(f"string(//*[local-name()='{name}'])")


@PROPERTY
@given(title=xml_text, advertiser=xml_text, version=versions)
def test_printable_title_and_advertiser_give_a_valid_document_that_round_trips(
    full_ad, title, advertiser, version
):
    ad = dataclasses.replace(full_ad, ad_title=title, advertiser=advertiser or "x")
    xml = render(ad, version)
    validate(xml, version)
    assert texts(xml, "AdTitle") == title
    assert texts(xml, "Advertiser") == (advertiser or "x")


@PROPERTY
@given(value=any_text, version=versions)
def test_any_string_gives_a_valid_document_without_the_forbidden_characters(full_ad, value, version):
    ad = dataclasses.replace(full_ad, ad_id=value, ad_title=value)
    xml = render(ad, version)
    validate(xml, version)
    root = etree.fromstring(xml)
    assert root[0].get("id") == xml_safe(value)
    assert texts(xml, "AdTitle") == xml_safe(value)


@PROPERTY
@given(url=any_text, version=versions)
def test_any_url_gives_a_well_formed_document_that_round_trips(full_ad, url, version):
    xml = render(dataclasses.replace(full_ad, impressions=(url,)), version)
    assert texts(xml, "Impression") == xml_safe(url)
