import pytest
from lxml import etree

from vast import macros
from vast.macros import fill_macros, percent_encode_macros
from vast.render import render
from vast.validate import SCHEMA_DIR


def test_constants_are_the_raw_spec_tokens():
    assert macros.ERRORCODE == "[ERRORCODE]"
    assert macros.CACHEBUSTING == "[CACHEBUSTING]"
    assert macros.TIMESTAMP == "[TIMESTAMP]"
    assert macros.ADPLAYHEAD == "[ADPLAYHEAD]"
    assert macros.ASSETURI == "[ASSETURI]"
    assert macros.ADSERVINGID == "[ADSERVINGID]"


def test_percent_encode_macros_encodes_url_values_only(make_ad):
    xml = render(make_ad(ad_title="Title [NOT_A_URL]"), "4.2")
    encoded = percent_encode_macros(xml)
    assert b"[ERRORCODE]" not in encoded and b"[CACHEBUSTING]" not in encoded
    assert b"code=%5BERRORCODE%5D" in encoded
    assert b"cb=%5BCACHEBUSTING%5D" in encoded
    assert b"<AdTitle>Title [NOT_A_URL]</AdTitle>" in encoded
    assert encoded.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert b"[ERRORCODE]" in xml  # the input is left alone


def test_percent_encode_macros_leaves_other_brackets():
    xml = (
        b"<VAST version='3.0'><Impression>http://[::1]/i?a=[lower]&amp;b=[]&amp;c=[X1_Y]</Impression></VAST>"
    )
    encoded = percent_encode_macros(xml)
    text = etree.fromstring(encoded).findtext("Impression")
    assert text == "http://[::1]/i?a=[lower]&b=[]&c=%5BX1_Y%5D"


def test_percent_encoded_document_validates_with_lxml_directly(full_ad):
    schema = etree.XMLSchema(etree.parse(str(SCHEMA_DIR / "vast_4.2.xsd")))
    assert schema.validate(etree.fromstring(percent_encode_macros(render(full_ad, "4.2"))))


def test_fill_macros_replaces_bracket_and_percent_forms():
    url = "https://t.example.com/e?code=[ERRORCODE]&ts=%%TIMESTAMP%%&cb=[CACHEBUSTING]&x=[UNKNOWN]"
    filled = fill_macros(
        url, {"ERRORCODE": "303", "TIMESTAMP": "2024-05-01T10:00:00.000Z", "CACHEBUSTING": 12345678}
    )
    assert filled == (
        "https://t.example.com/e?code=303&ts=2024-05-01T10%3A00%3A00.000Z&cb=12345678&x=[UNKNOWN]"
    )


def test_fill_macros_accepts_the_bracketed_constants_as_keys():
    url = f"https://t.example.com/e?code={macros.ERRORCODE}&asset={macros.ASSETURI}"
    filled = fill_macros(url, {macros.ERRORCODE: "405", macros.ASSETURI: "https://cdn.example.com/a b.mp4"})
    assert filled == "https://t.example.com/e?code=405&asset=https%3A%2F%2Fcdn.example.com%2Fa%20b.mp4"


@pytest.mark.parametrize("url", ["https://t.example.com/plain", "https://t.example.com/[lower]", ""])
def test_fill_macros_leaves_urls_without_macros_alone(url):
    assert fill_macros(url, {"ERRORCODE": "1"}) == url
