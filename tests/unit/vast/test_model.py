import math

import pytest

from vast import Category, InlineAd, LinearCreative, MediaFile, Tracking, format_duration
from vast.model import Verification

MEDIA = (MediaFile("https://cdn.example.com/a.mp4", 1280, 720),)


def test_media_file_defaults():
    media = MediaFile("https://cdn.example.com/a.mp4", 1280, 720)
    assert (media.mime_type, media.delivery, media.bitrate_kbps, media.codec, media.file_size) == (
        "video/mp4",
        "progressive",
        None,
        None,
        None,
    )


def test_models_are_frozen_and_hashable():
    tracking = Tracking("start", "https://t.example.com/s")
    with pytest.raises(AttributeError):
        tracking.url = "https://elsewhere.example.com"  # type: ignore[misc]
    assert hash(LinearCreative("c", "u", 15, MEDIA, (tracking,))) is not None


def test_delivery_must_be_progressive_or_streaming():
    with pytest.raises(ValueError, match="delivery"):
        MediaFile("https://cdn.example.com/a.mp4", 1280, 720, delivery="download")


def test_unknown_event_is_rejected():
    with pytest.raises(ValueError, match="unknown VAST tracking event 'strat'"):
        Tracking("strat", "https://t.example.com/s")


def test_progress_needs_an_offset():
    with pytest.raises(ValueError, match="offset"):
        Tracking("progress", "https://t.example.com/p")


@pytest.mark.parametrize("offset", ["00:00:05", "00:01:05.250", "25%", "100%", "12.5%"])
def test_valid_offsets(offset):
    assert Tracking("progress", "https://t.example.com/p", offset=offset).offset == offset


@pytest.mark.parametrize("offset", ["5", "0:00:05", "00:60:00", "00:00:05.25", "x%", "\uff15%", ""])
def test_invalid_offsets(offset):
    with pytest.raises(ValueError, match="offset"):
        Tracking("midpoint", "https://t.example.com/m", offset=offset)


def test_linear_creative_needs_a_media_file():
    with pytest.raises(ValueError, match="media file"):
        LinearCreative("c", "u", 15, ())


@pytest.mark.parametrize("seconds", [-0.5, 86400, 86399.9996, math.nan, math.inf, -math.inf])
def test_duration_outside_xs_time_is_rejected(seconds):
    with pytest.raises(ValueError, match="duration"):
        LinearCreative("c", "u", seconds, MEDIA)
    with pytest.raises(ValueError, match="duration"):
        format_duration(seconds)


def test_inline_ad_needs_an_impression():
    creative = LinearCreative("c", "u", 15, MEDIA)
    with pytest.raises(ValueError, match="impression"):
        InlineAd("a", "sys", None, "title", "sid", (), (), creative)


def test_inline_ad_optional_fields_default_to_none():
    creative = LinearCreative("c", "u", 15, MEDIA)
    ad = InlineAd("a", "sys", None, "title", "sid", ("https://t.example.com/i",), (), creative)
    assert (ad.advertiser, ad.category, ad.description, ad.sequence) == (None, None, None, None)
    assert (creative.tracking, creative.click_through, creative.click_tracking, creative.ad_id) == (
        (),
        None,
        (),
        None,
    )


def test_a_category_needs_a_code_and_a_uri_authority():
    category = Category("1534", "https://iabtechlab.com/standards/ad-product-taxonomy")
    assert hash(category) == hash(Category(category.code, category.authority))
    with pytest.raises(ValueError, match="code"):
        Category(" ", category.authority)
    for authority in ("", "https://iab techlab.com"):
        with pytest.raises(ValueError, match="authority"):
            Category("1534", authority)


def test_a_verification_needs_a_vendor_and_a_script():
    verification = Verification("company.com-omid", "https://verify.example.com/omid.js")
    assert (verification.api_framework, verification.parameters, verification.not_executed_urls) == (
        "omid",
        None,
        (),
    )
    assert hash(verification) == hash(Verification("company.com-omid", "https://verify.example.com/omid.js"))
    with pytest.raises(ValueError, match="vendor"):
        Verification(" ", "https://verify.example.com/omid.js")
    with pytest.raises(ValueError, match="JavaScriptResource"):
        Verification("company.com-omid", "")
