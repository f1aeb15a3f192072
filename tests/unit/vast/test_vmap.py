"""vast.vmap: VMAP 1.0 playlists, valid against the official IAB schema (vast/schemas/vmap.xsd)."""

import hashlib
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from vast import vmap

NS = {"vmap": vmap.NAMESPACE}
TAG = "https://ads.example.com/vast?vast_version=4.2&pod_max_dur=120&session_id=s-1"


def offsets_of(xml: bytes) -> list[str]:
    return [b.get("timeOffset") for b in etree.fromstring(xml).iterfind("vmap:AdBreak", NS)]


def seconds_of(offset: str) -> float:
    hours, minutes, seconds = offset.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def test_a_playlist_of_three_breaks_is_what_players_read():
    breaks = [
        vmap.AdBreak(vmap.START, "preroll", TAG),
        vmap.AdBreak(vmap.format_offset(300), "midroll-1", TAG),
        vmap.AdBreak(vmap.END, "postroll", TAG),
    ]
    xml = vmap.render(breaks)
    vmap.validate(xml)
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<vmap:VMAP ")
    root = etree.fromstring(xml)
    assert root.tag == "{http://www.iab.net/videosuite/vmap}VMAP"
    assert root.prefix == "vmap"
    assert root.get("version") == "1.0"
    elements = root.findall("vmap:AdBreak", NS)
    assert [(b.get("timeOffset"), b.get("breakType"), b.get("breakId")) for b in elements] == [
        ("start", "linear", "preroll"),
        ("00:05:00.000", "linear", "midroll-1"),
        ("end", "linear", "postroll"),
    ]
    for number, element in enumerate(elements, start=1):
        source = element.find("vmap:AdSource", NS)
        assert dict(source.attrib) == {
            "id": str(number),
            "allowMultipleAds": "true",
            "followRedirects": "true",
        }
        tag = source.find("vmap:AdTagURI", NS)
        assert tag.get("templateType") == "vast3"
        assert tag.text == TAG
    # The URL sits in CDATA, as the specification asks: its & as is.
    assert xml.count(f"<![CDATA[{TAG}]]>".encode()) == 3


def test_no_break_is_a_valid_playlist():
    xml = vmap.render([])
    vmap.validate(xml)
    assert etree.fromstring(xml).findall("vmap:AdBreak", NS) == []


def test_a_url_that_cannot_be_cdata_is_escaped_text():
    xml = vmap.render([vmap.AdBreak(vmap.START, "preroll", "https://a.example.com/v?x=]]>")])
    assert b"CDATA" not in xml
    assert (
        etree.fromstring(xml).findtext(".//vmap:AdTagURI", namespaces=NS) == "https://a.example.com/v?x=]]>"
    )


@pytest.mark.parametrize(
    ("seconds", "offset"),
    [
        (0, "00:00:00.000"),
        (300, "00:05:00.000"),
        (300.5, "00:05:00.500"),
        (0.0004, "00:00:00.000"),
        (3599.9996, "01:00:00.000"),
        (90061.25, "25:01:01.250"),
        (86400, "24:00:00.000"),
    ],
)
def test_offsets_are_hours_minutes_seconds_and_milliseconds(seconds, offset):
    assert vmap.format_offset(seconds) == offset


@pytest.mark.parametrize("seconds", [-1, -0.001, math.nan, math.inf])
def test_an_offset_is_a_finite_number_of_seconds_from_zero(seconds):
    with pytest.raises(ValueError):
        vmap.format_offset(seconds)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda x: x.replace(b'id="1"', b'id="one"'), "xs:integer"),
        (lambda x: x.replace(b'templateType="vast3"', b'templateType="vast4"'), "templateType"),
        (lambda x: x.replace(b' timeOffset="start"', b""), "timeOffset"),
        (lambda x: x.replace(b' version="1.0"', b""), "version"),
        (lambda x: x.replace(vmap.NAMESPACE.encode(), b"http://example.com/vmap"), "No matching global"),
        (
            lambda x: x.replace(b"<vmap:AdSource", b"<vmap:Other").replace(
                b"</vmap:AdSource", b"</vmap:Other"
            ),
            "This element is not expected",
        ),
        (lambda x: x[:-10], "not well-formed"),
    ],
)
def test_validation_refuses_what_the_schema_refuses(change, message):
    xml = vmap.render([vmap.AdBreak(vmap.START, "preroll", TAG)])
    vmap.validate(xml)
    with pytest.raises(vmap.VmapValidationError, match=re.escape(message)):
        vmap.validate(change(xml))


def test_the_schema_is_the_published_file_unmodified():
    digest = hashlib.sha256(vmap.SCHEMA_FILE.read_bytes()).hexdigest()
    assert digest == "47474f93ee25a655bffb860347c888b94362e04b24fc1e1785a8d5262fa95eb9"
    assert digest in (vmap.SCHEMA_FILE.parent / "SOURCE.md").read_text()
    # As published, it imports a VAST schema that declares no namespace: only the stub makes it compile.
    with pytest.raises(etree.XMLSchemaParseError):
        etree.XMLSchema(etree.parse(str(vmap.SCHEMA_FILE)))


offsets = st.lists(
    st.floats(min_value=0, max_value=48 * 3600, allow_nan=False, allow_infinity=False), max_size=60
)


@settings(max_examples=200, database=None, deadline=None)
@given(seconds=offsets, preroll=st.booleans(), postroll=st.booleans())
def test_any_offsets_give_a_valid_playlist_whose_offsets_read_back_to_the_millisecond(
    seconds, preroll, postroll
):
    breaks = [vmap.AdBreak(vmap.START, "preroll", TAG)] if preroll else []
    breaks += [vmap.AdBreak(vmap.format_offset(s), f"midroll-{n}", TAG) for n, s in enumerate(seconds, 1)]
    breaks += [vmap.AdBreak(vmap.END, "postroll", TAG)] if postroll else []
    xml = vmap.render(breaks)
    vmap.validate(xml)
    written = offsets_of(xml)
    mids = written[1 if preroll else 0 : len(written) - (1 if postroll else 0)]
    assert [round(seconds_of(offset) * 1000) for offset in mids] == [round(s * 1000) for s in seconds]
    assert all(re.fullmatch(r"\d{2,}:[0-5]\d:[0-5]\d\.\d{3}", offset) for offset in mids)
