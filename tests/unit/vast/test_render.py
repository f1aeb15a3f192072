import pytest
from lxml import etree

from vast import DEFAULT_VERSION, SUPPORTED_VERSIONS, Category, LinearCreative, MediaFile, Tracking
from vast.render import VAST_NAMESPACE, render, render_ads, xml_safe
from vast.validate import validate

VERSIONS_4 = ("4.0", "4.1", "4.2", "4.3")
HOSTILE_NAME = '<b>"Q&A" ]]>'


def parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def local(element: etree._Element) -> str:
    return etree.QName(element).localname


def child_names(element: etree._Element) -> list[str]:
    return [local(child) for child in element]


def find(root: etree._Element, path: str) -> etree._Element:
    """First element at a '/'-separated path of local names below root, whatever the namespace."""
    found = root.xpath("/".join(f"*[local-name()='{name}']" for name in path.split("/")))
    assert found, path
    return found[0]


def find_all(root: etree._Element, path: str) -> list[etree._Element]:
    return root.xpath("/".join(f"*[local-name()='{name}']" for name in path.split("/")))


INLINE = "Ad/InLine"
CREATIVE = "Ad/InLine/Creatives/Creative"
LINEAR = "Ad/InLine/Creatives/Creative/Linear"


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_full_ad_is_schema_valid(full_ad, version):
    validate(render(full_ad, version), version)


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_minimal_ad_is_schema_valid(make_ad, version):
    ad = make_ad(
        errors=(),
        advertiser=None,
        category=None,
        description=None,
        sequence=None,
        ad_system_version=None,
        creative_fields={"tracking": (), "click_through": None, "click_tracking": (), "ad_id": None},
    )
    validate(render(ad, version), version)


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_no_fill_is_an_empty_valid_vast_element(version):
    xml = render(None, version)
    validate(xml, version)
    root = parse(xml)
    assert local(root) == "VAST"
    assert root.get("version") == version
    assert len(root) == 0


def test_default_version_is_4_2(full_ad):
    assert DEFAULT_VERSION == "4.2"
    assert render(full_ad) == render(full_ad, "4.2")


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_output_is_utf8_with_declaration(full_ad, version):
    assert render(full_ad, version).startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


def test_vast_3_has_no_namespace(full_ad):
    xml = render(full_ad, "3.0")
    assert b"xmlns" not in xml
    assert all(etree.QName(element).namespace is None for element in parse(xml).iter())


@pytest.mark.parametrize("version", VERSIONS_4)
def test_vast_4_uses_the_iab_default_namespace(full_ad, version):
    xml = render(full_ad, version)
    assert b'<VAST xmlns="http://www.iab.com/VAST" version="' + version.encode() + b'">' in xml
    assert all(etree.QName(element).namespace == VAST_NAMESPACE for element in parse(xml).iter())
    assert parse(render(None, version)).tag == f"{{{VAST_NAMESPACE}}}VAST"


def test_version_4_3_is_announced_as_4_3(full_ad):
    assert parse(render(full_ad, "4.3")).get("version") == "4.3"


@pytest.mark.parametrize("version", ["2.0", "4", "4.2.0", "5.0", ""])
def test_unknown_version_raises_naming_the_supported_ones(full_ad, version):
    with pytest.raises(ValueError, match=r"supported: 3\.0, 4\.0, 4\.1, 4\.2, 4\.3"):
        render(full_ad, version)
    with pytest.raises(ValueError):
        render(None, version)


INLINE_4_1 = (
    "AdSystem Error Error Impression Impression AdServingId AdTitle Advertiser Category Creatives Description"
)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("3.0", "AdSystem AdTitle Description Advertiser Error Impression Impression Creatives"),
        (
            "4.0",
            "AdSystem Error Error Impression Impression AdTitle Advertiser Category Creatives Description",
        ),
        ("4.1", INLINE_4_1),
        ("4.2", INLINE_4_1),
        ("4.3", INLINE_4_1),
    ],
)
def test_inline_children_follow_the_schema_order(full_ad, version, expected):
    assert child_names(find(parse(render(full_ad, version)), INLINE)) == expected.split()


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("3.0", ["CreativeExtensions", "Duration", "TrackingEvents", "VideoClicks", "MediaFiles"]),
        *[(version, ["TrackingEvents", "Duration", "MediaFiles", "VideoClicks"]) for version in VERSIONS_4],
    ],
)
def test_linear_children_follow_the_schema_order(full_ad, version, expected):
    assert child_names(find(parse(render(full_ad, version)), LINEAR)) == expected


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("3.0", ["ClickThrough", "ClickTracking", "ClickTracking"]),
        *[(version, ["ClickTracking", "ClickTracking", "ClickThrough"]) for version in VERSIONS_4],
    ],
)
def test_video_clicks_follow_the_schema_order(full_ad, version, expected):
    clicks = find(parse(render(full_ad, version)), LINEAR + "/VideoClicks")
    assert child_names(clicks) == expected
    click_tracking = [c for c in clicks if local(c) == "ClickTracking"]
    assert [(c.get("id"), c.text) for c in click_tracking] == [
        ("click-1", full_ad.creative.click_tracking[0]),
        ("click-2", full_ad.creative.click_tracking[1]),
    ]
    assert find(clicks, "ClickThrough").text == full_ad.creative.click_through


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_click_through_alone_or_click_tracking_alone(make_ad, version):
    through = parse(render(make_ad(creative_fields={"click_tracking": ()}), version))
    assert child_names(find(through, LINEAR + "/VideoClicks")) == ["ClickThrough"]
    tracking = parse(render(make_ad(creative_fields={"click_through": None}), version))
    assert child_names(find(tracking, LINEAR + "/VideoClicks")) == ["ClickTracking", "ClickTracking"]


@pytest.mark.parametrize(
    ("version", "expected"),
    [("3.0", ["Linear"]), *[(version, ["Linear", "UniversalAdId"]) for version in VERSIONS_4]],
)
def test_creative_children(full_ad, version, expected):
    assert child_names(find(parse(render(full_ad, version)), CREATIVE)) == expected


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_ad_serving_id_only_from_4_1(full_ad, version):
    serving_ids = find_all(parse(render(full_ad, version)), INLINE + "/AdServingId")
    if version in ("3.0", "4.0"):
        assert serving_ids == []
    else:
        assert [element.text for element in serving_ids] == [full_ad.ad_serving_id]


def test_universal_ad_id_carries_id_value_only_in_4_0(full_ad):
    for version in VERSIONS_4:
        universal_ad_id = find(parse(render(full_ad, version)), CREATIVE + "/UniversalAdId")
        assert universal_ad_id.text == "UAID-0042"
        expected = {"idRegistry": "ad-id.org"}
        if version == "4.0":
            expected["idValue"] = "UAID-0042"
        assert dict(universal_ad_id.attrib) == expected


def test_universal_ad_id_registry_defaults_to_unknown(full_ad, make_ad):
    creative = LinearCreative("c", "u", 1, full_ad.creative.media_files)
    assert creative.universal_ad_id_registry == "unknown"
    universal_ad_id = find(parse(render(make_ad(creative=creative))), CREATIVE + "/UniversalAdId")
    assert dict(universal_ad_id.attrib) == {"idRegistry": "unknown"}


@pytest.mark.parametrize(("version", "attribute"), [("3.0", "AdID"), *[(v, "adId") for v in VERSIONS_4]])
def test_creative_attributes(full_ad, make_ad, version, attribute):
    creative = find(parse(render(full_ad, version)), CREATIVE)
    assert dict(creative.attrib) == {"id": "cr-42", attribute: "ADID-7"}
    without_ad_id = find(parse(render(make_ad(creative_fields={"ad_id": None}), version)), CREATIVE)
    assert dict(without_ad_id.attrib) == {"id": "cr-42"}


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_ad_and_ad_system_attributes(full_ad, make_ad, version):
    root = parse(render(full_ad, version))
    assert dict(find(root, "Ad").attrib) == {"id": "ad-7", "sequence": "1"}
    assert dict(find(root, INLINE + "/AdSystem").attrib) == {"version": "2.1"}
    assert find(root, INLINE + "/AdSystem").text == "ExampleAdServer"
    bare = parse(render(make_ad(sequence=None, ad_system_version=None), version))
    assert dict(find(bare, "Ad").attrib) == {"id": "ad-7"}
    assert dict(find(bare, INLINE + "/AdSystem").attrib) == {}


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_impressions_each_get_an_id(full_ad, version):
    impressions = find_all(parse(render(full_ad, version)), INLINE + "/Impression")
    assert [(i.get("id"), i.text) for i in impressions] == [
        ("imp-1", full_ad.impressions[0]),
        ("imp-2", full_ad.impressions[1]),
    ]


def test_vast_3_keeps_only_the_first_error_url(full_ad):
    errors = find_all(parse(render(full_ad, "3.0")), INLINE + "/Error")
    assert [e.text for e in errors] == [full_ad.errors[0]]


@pytest.mark.parametrize("version", VERSIONS_4)
def test_vast_4_keeps_every_error_url(full_ad, version):
    errors = find_all(parse(render(full_ad, version)), INLINE + "/Error")
    assert [e.text for e in errors] == list(full_ad.errors)


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_optional_elements_are_omitted_when_empty(make_ad, version):
    ad = make_ad(
        errors=(),
        advertiser=None,
        category=None,
        description="",
        creative_fields={"tracking": (), "click_through": None, "click_tracking": ()},
    )
    root = parse(render(ad, version))
    assert not {"Error", "Advertiser", "Category", "Description"} & set(child_names(find(root, INLINE)))
    assert not {"TrackingEvents", "VideoClicks"} & set(child_names(find(root, LINEAR)))


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_the_advertiser_is_named_in_every_version(full_ad, version):
    assert [e.text for e in find_all(parse(render(full_ad, version)), INLINE + "/Advertiser")] == [
        "Example Brand"
    ]


@pytest.mark.parametrize("version", VERSIONS_4)
@pytest.mark.parametrize(
    ("code", "authority"),
    [
        ("1534", "https://iabtechlab.com/standards/ad-product-taxonomy"),
        ("IAB22-1", "https://iabtechlab.com/standards/content-taxonomy"),
    ],
)
def test_the_category_and_its_authority_from_4_0(make_ad, version, code, authority):
    xml = render(make_ad(category=Category(code, authority)), version)
    validate(xml, version)
    categories = find_all(parse(xml), INLINE + "/Category")
    assert [(c.text, dict(c.attrib)) for c in categories] == [(code, {"authority": authority})]


def test_vast_3_has_no_category_element(full_ad):
    xml = render(full_ad, "3.0")
    validate(xml, "3.0")
    assert find_all(parse(xml), INLINE + "/Category") == []
    assert b"1534" not in xml


@pytest.mark.parametrize("version", VERSIONS_4)
def test_category_text_and_authority_are_escaped(make_ad, version):
    category = Category('<"1534"> & ]]>', "https://example.com/taxonomy?a=1&b=2")
    xml = render(make_ad(category=category), version)
    validate(xml, version)
    element = find(parse(xml), INLINE + "/Category")
    assert (element.text, element.get("authority")) == (category.code, category.authority)


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_media_file_attributes(full_ad, version):
    first, second = find_all(parse(render(full_ad, version)), LINEAR + "/MediaFiles/MediaFile")
    expected = {"delivery": "progressive", "type": "video/mp4", "width": "1920", "height": "1080"}
    expected |= {"bitrate": "6000", "codec": "H.264"}
    if version not in ("3.0", "4.0"):  # fileSize arrived in 4.1
        expected["fileSize"] = "22500000"
    assert dict(first.attrib) == expected
    assert first.text == "https://cdn.example.com/v/1080.mp4"
    assert dict(second.attrib) == {
        "delivery": "progressive",
        "type": "video/mp4",
        "width": "640",
        "height": "360",
        "bitrate": "700",
    }


def test_streaming_media_file(make_ad):
    streaming = MediaFile(
        "https://cdn.example.com/v/master.m3u8",
        1280,
        720,
        mime_type="application/x-mpegURL",
        delivery="streaming",
    )
    xml = render(make_ad(creative_fields={"media_files": (streaming,)}))
    validate(xml, "4.2")
    element = find(parse(xml), LINEAR + "/MediaFiles/MediaFile")
    assert dict(element.attrib) == {
        "delivery": "streaming",
        "type": "application/x-mpegURL",
        "width": "1280",
        "height": "720",
    }


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_tracking_events_and_offset(full_ad, version):
    tracking = find_all(parse(render(full_ad, version)), LINEAR + "/TrackingEvents/Tracking")
    assert [(t.get("event"), t.get("offset")) for t in tracking] == [
        ("start", None),
        ("firstQuartile", None),
        ("progress", "00:00:05.000"),
        ("complete", None),
    ]
    assert [t.text for t in tracking] == [t.url for t in full_ad.creative.tracking]


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("3.0", "fullscreen exitFullscreen fullscreen closeLinear acceptInvitationLinear"),
        ("4.0", "playerExpand playerCollapse playerExpand acceptInvitationLinear"),
        ("4.1", "playerExpand playerCollapse playerExpand loaded closeLinear"),
        ("4.2", "playerExpand playerCollapse playerExpand loaded closeLinear interactiveStart"),
        ("4.3", "playerExpand playerCollapse playerExpand loaded closeLinear interactiveStart"),
    ],
)
def test_events_are_renamed_or_skipped_per_version(make_ad, version, expected):
    events = ["fullscreen", "exitFullscreen", "playerExpand", "loaded", "closeLinear"]
    events += ["interactiveStart", "acceptInvitationLinear"]
    tracking = tuple(Tracking(event, f"https://t.example.com/{event}") for event in events)
    xml = render(make_ad(creative_fields={"tracking": tracking}), version)
    validate(xml, version)
    emitted = find_all(parse(xml), LINEAR + "/TrackingEvents/Tracking")
    assert [t.get("event") for t in emitted] == expected.split()


def test_tracking_events_element_is_omitted_when_no_event_fits_the_version(make_ad):
    ad = make_ad(creative_fields={"tracking": (Tracking("loaded", "https://t.example.com/l"),)})
    assert "TrackingEvents" not in child_names(find(parse(render(ad, "3.0")), LINEAR))
    assert "TrackingEvents" in child_names(find(parse(render(ad, "4.2")), LINEAR))


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "00:00:00.000"),
        (15, "00:00:15.000"),
        (15.5, "00:00:15.500"),
        (29.9996, "00:00:30.000"),
        (3725.042, "01:02:05.042"),
        (86399.999, "23:59:59.999"),
    ],
)
@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_duration_is_hh_mm_ss_mmm(make_ad, version, seconds, expected):
    xml = render(make_ad(creative_fields={"duration_seconds": seconds}), version)
    assert find(parse(xml), LINEAR + "/Duration").text == expected
    validate(xml, version)


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_raw_macros_are_kept_in_the_bytes(full_ad, version):
    xml = render(full_ad, version)
    assert b"code=[ERRORCODE]" in xml
    assert b"cb=[CACHEBUSTING]" in xml
    assert b"%5B" not in xml and b"%5D" not in xml


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_urls_are_cdata_sections(full_ad, version):
    assert b"<![CDATA[https://t.example.com/err?code=[ERRORCODE]]]>" in render(full_ad, version)


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_hostile_names_round_trip_and_stay_valid(make_ad, version):
    ad = make_ad(
        ad_id=HOSTILE_NAME,
        ad_system=HOSTILE_NAME,
        ad_system_version=HOSTILE_NAME,
        ad_title=HOSTILE_NAME,
        ad_serving_id=HOSTILE_NAME,
        advertiser=HOSTILE_NAME,
        description=HOSTILE_NAME,
        creative_fields={
            "creative_id": HOSTILE_NAME,
            "ad_id": HOSTILE_NAME,
            "universal_ad_id": HOSTILE_NAME,
            "universal_ad_id_registry": HOSTILE_NAME,
        },
    )
    xml = render(ad, version)
    validate(xml, version)
    root = parse(xml)
    assert find(root, "Ad").get("id") == HOSTILE_NAME
    for name in ("AdSystem", "AdTitle", "Advertiser", "Description"):
        assert find(root, f"{INLINE}/{name}").text == HOSTILE_NAME
    assert find(root, INLINE + "/AdSystem").get("version") == HOSTILE_NAME
    assert set(find(root, CREATIVE).attrib.values()) == {HOSTILE_NAME}
    if version != "3.0":
        universal_ad_id = find(root, CREATIVE + "/UniversalAdId")
        assert universal_ad_id.text == HOSTILE_NAME
        assert set(universal_ad_id.attrib.values()) == {HOSTILE_NAME}
    if version not in ("3.0", "4.0"):
        assert find(root, INLINE + "/AdServingId").text == HOSTILE_NAME


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://t.example.com/x?q=]]>&b=<c>", "https://t.example.com/x?q=]]>&b=<c>"),
        ("https://t.example.com/x?q=a]]>b]]>c", "https://t.example.com/x?q=a]]>b]]>c"),
        ("https://t.example.com/x?q=]]\x00>", "https://t.example.com/x?q=]]>"),
        ("https://t.example.com/x?q=1\r\n", "https://t.example.com/x?q=1\r\n"),
        ('https://t.example.com/x?q="&amp;"', 'https://t.example.com/x?q="&amp;"'),
    ],
)
@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_urls_that_cdata_cannot_hold_still_round_trip(make_ad, version, url, expected):
    # Well-formed and exact; not schema-valid, as a raw "]" is not allowed in xs:anyURI.
    ad = make_ad(impressions=(url,), creative_fields={"click_through": url})
    root = parse(render(ad, version))
    assert find(root, INLINE + "/Impression").text == expected
    assert find(root, LINEAR + "/VideoClicks/ClickThrough").text == expected


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_non_ascii_round_trips(make_ad, version):
    title = "Café Crème — 広告 😀 \u00a0 \u212e"
    url = "https://t.example.com/é?q=広告"
    xml = render(make_ad(ad_title=title, advertiser=title, impressions=(url,)), version)
    validate(xml, version)
    assert title.encode() in xml
    root = parse(xml)
    assert find(root, INLINE + "/AdTitle").text == title
    assert find(root, INLINE + "/Impression").text == url


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_characters_xml_forbids_are_stripped(make_ad, version):
    dirty = "a\x00b\x08c\x0bd\x1fe\ufffef\uffffg\ud800h"
    ad = make_ad(
        ad_id=dirty,
        ad_title=dirty,
        impressions=("https://t.example.com/i?x=\x01y",),
        creative_fields={"creative_id": dirty, "universal_ad_id": dirty},
    )
    xml = render(ad, version)
    validate(xml, version)
    root = parse(xml)
    assert find(root, "Ad").get("id") == "abcdefgh"
    assert find(root, INLINE + "/AdTitle").text == "abcdefgh"
    assert find(root, CREATIVE).get("id") == "abcdefgh"
    assert find(root, INLINE + "/Impression").text == "https://t.example.com/i?x=y"


def test_tab_newline_and_carriage_return_are_kept(make_ad):
    title = "line one\r\n\tline two\r"
    root = parse(render(make_ad(ad_title=title, ad_id=title)))
    assert find(root, INLINE + "/AdTitle").text == title
    assert find(root, "Ad").get("id") == title


def test_xml_safe():
    assert xml_safe("plain ascii") == "plain ascii"
    assert xml_safe("tab\tnewline\nreturn\r") == "tab\tnewline\nreturn\r"
    assert xml_safe("é\x00\x1f\x7f\x85\ud83d\ufffe\U0001f600") == "é\x7f\x85\U0001f600"


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_render_ads_builds_a_valid_pod(make_ad, version):
    pod = [make_ad(ad_id=f"ad-{n}", sequence=n) for n in (1, 2, 3)]
    xml = render_ads(pod, version)
    validate(xml, version)
    ads = find_all(parse(xml), "Ad")
    assert [(ad.get("id"), ad.get("sequence")) for ad in ads] == [("ad-1", "1"), ("ad-2", "2"), ("ad-3", "3")]
    assert render_ads([], version) == render(None, version)
