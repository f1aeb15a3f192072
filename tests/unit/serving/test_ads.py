"""The served ad's VAST description names the campaign's advertiser and IAB category."""

import dataclasses

import pytest
from lxml import etree

from app.serving.ads import inline_ad, serve
from tests.unit.serving.test_documents import SIGNER, entries
from vast.model import Category
from vast.render import SUPPORTED_VERSIONS, render
from vast.validate import validate

AD_PRODUCT = "https://iabtechlab.com/standards/ad-product-taxonomy"
CONTENT = "https://iabtechlab.com/standards/content-taxonomy"


def served(advertiser="Cola Co", category="1534", exclusive=False):
    campaign, creative = entries()
    campaign = dataclasses.replace(
        campaign,
        advertiser_name=advertiser,
        advertiser_domain=advertiser and "cola.example.com",
        category=category,
        category_exclusive=exclusive,
    )
    return serve(campaign, creative, SIGNER, "https://ads.example.com", private=False)


@pytest.mark.parametrize(
    ("category", "authority"), [("1534", AD_PRODUCT), ("IAB22-1", CONTENT), ("IAB8", CONTENT)]
)
def test_the_campaigns_advertiser_and_category(category, authority):
    ad = inline_ad(served(category=category))
    assert (ad.advertiser, ad.category) == ("Cola Co", Category(category, authority))


def test_without_advertiser_or_category_neither_is_named():
    ad = inline_ad(served(advertiser=None, category=None))
    assert (ad.advertiser, ad.category) == (None, None)


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_every_version_is_valid_with_what_its_schema_holds(version):
    xml = render(inline_ad(served(advertiser="Cola & Co <TV>", category="IAB22-1")), version)
    validate(xml, version)
    inline = etree.fromstring(xml)[0][0]
    names = {etree.QName(child).localname: child for child in inline}
    assert names["Advertiser"].text == "Cola & Co <TV>"
    if version == "3.0":
        assert "Category" not in names
    else:
        assert (names["Category"].text, names["Category"].get("authority")) == ("IAB22-1", CONTENT)
