"""Render inline linear ads and wrappers as VAST 3.0 / 4.0 / 4.1 / 4.2 / 4.3 XML with lxml.

Element order and attributes follow each version's official XSD; 4.3 has none published and is
emitted with the 4.2 layout. Per version:

- 3.0: no namespace; Creative@AdID; at most one InLine Error (the first URL); no UniversalAdId element: the
  id goes in a Linear CreativeExtension of type "UniversalAdId", as the IAB's CTV addendum recommends.
- 4.x: default namespace http://www.iab.com/VAST; Creative@adId; UniversalAdId with idRegistry
  (4.0 also idValue); AdServingId, MediaFile@fileSize and Mezzanine from 4.1.
- Advertiser in every version (after Description in 3.0, after AdTitle in 4.x); Category, with its
  required authority, from 4.0 only (right after Advertiser, before Creatives): 3.0 has no such element.
- AdVerifications (VAST 4.1 §3.16): in InLine, after AdTitle, from 4.1; before 4.1 (3.0, 4.0, whose
  Verification lacks VerificationParameters and TrackingEvents) in `<Extensions><Extension
  type="AdVerifications">` with the 4.1 layout, as the IAB's Open Measurement guidance for older versions
  says (Extensions last in a 3.0 InLine, between Error and Impression in 4.0).
- Wrapper (VAST 4.2 §3.3): 3.0 orders AdSystem, VASTAdTagURI, one Error, Impressions (without id),
  Creatives (required) and has no attributes on Wrapper; 4.x orders AdSystem, Errors, Impressions,
  Creatives, VASTAdTagURI and carries followAdditionalWrappers, allowMultipleAds and fallbackOnNoAd.
- No ad: an empty <VAST/>; in 4.x, root <Error> URLs (the player fires them with 303 after a chain of
  wrappers, VAST 4.3 §2.3.6): the 3.0 schema has no root Error.
- Tracking events a version's schema does not know are renamed to their equivalent
  (fullscreen <-> playerExpand, exitFullscreen <-> playerCollapse) or else left out.

Characters XML 1.0 forbids are dropped from every value. Nothing here validates: see `vast.validate`.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace

from lxml import etree

from vast.events import VAST30_EVENTS, VAST40_EVENTS, VAST41_EVENTS, VAST42_EVENTS, event_names_for
from vast.model import InlineAd, LinearCreative, MediaFile, Tracking, Verification, WrapperAd
from vast.timecode import format_duration

VAST_NAMESPACE = "http://www.iab.com/VAST"
SUPPORTED_VERSIONS = ("3.0", "4.0", "4.1", "4.2", "4.3")
DEFAULT_VERSION = "4.2"

_TAG_NAMES = (
    "VAST",
    "Ad",
    "InLine",
    "AdSystem",
    "Error",
    "Impression",
    "AdServingId",
    "AdTitle",
    "Advertiser",
    "Category",
    "Description",
    "Creatives",
    "Creative",
    "Linear",
    "Duration",
    "TrackingEvents",
    "Tracking",
    "MediaFiles",
    "MediaFile",
    "VideoClicks",
    "ClickThrough",
    "ClickTracking",
    "UniversalAdId",
    "Mezzanine",
    "CreativeExtensions",
    "CreativeExtension",
    "Extensions",
    "Extension",
    "AdVerifications",
    "Verification",
    "JavaScriptResource",
    "VerificationParameters",
    "Wrapper",
    "VASTAdTagURI",
)

# Characters XML 1.0 cannot carry at all (not even as character references): they are dropped.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class _Dialect:
    tags: SimpleNamespace  # tag name -> qualified tag, precomputed per version
    nsmap: dict[str | None, str] | None
    events: Mapping[str, str]
    build_inline: Callable[[etree._Element, InlineAd, "_Dialect"], None]
    ad_serving_id: bool = False
    file_size: bool = False
    mezzanine: bool = False
    universal_ad_id_value: bool = False  # 4.0 repeats the id in a required idValue attribute
    ad_verifications: bool = False  # InLine <AdVerifications> (4.1+); an Extension before
    vast4: bool = False  # Wrapper attributes and layout, root Error


def render(ad: InlineAd | WrapperAd | None, version: str = DEFAULT_VERSION) -> bytes:
    """One ad as a VAST document; None gives the empty no-fill document <VAST version=".."/>."""
    return render_ads(() if ad is None else (ad,), version)


def render_ads(
    ads: Iterable[InlineAd | WrapperAd], version: str = DEFAULT_VERSION, no_ad_errors: Iterable[str] = ()
) -> bytes:
    """Several ads in one document (an ad pod when each has a `sequence`), UTF-8 with declaration. Without
    ads, `no_ad_errors` are the root <Error> URLs of VAST 4.x (ignored in 3.0, whose schema has none)."""
    dialect = _DIALECTS.get(version)
    if dialect is None:
        raise ValueError(f"unsupported VAST version {version!r}; supported: {', '.join(SUPPORTED_VERSIONS)}")
    tags = dialect.tags
    root = etree.Element(tags.VAST, {"version": version}, nsmap=dialect.nsmap)
    for ad in ads:
        attributes = {"id": xml_safe(ad.ad_id)}
        if ad.sequence is not None:
            attributes["sequence"] = str(ad.sequence)
        element = etree.SubElement(root, tags.Ad, attributes)
        if isinstance(ad, WrapperAd):
            _wrapper(element, ad, dialect)
        else:
            dialect.build_inline(element, ad, dialect)
    if len(root) == 0 and dialect.vast4:  # the 4.x root is a choice of Ads or Errors
        for url in no_ad_errors:
            _url(root, tags.Error, url)
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)


def _wrapper(ad_element: etree._Element, ad: WrapperAd, dialect: _Dialect) -> None:
    tags = dialect.tags
    attributes = None
    if dialect.vast4:
        attributes = {
            "followAdditionalWrappers": _boolean(ad.follow_additional_wrappers),
            "allowMultipleAds": _boolean(ad.allow_multiple_ads),
            "fallbackOnNoAd": _boolean(ad.fallback_on_no_ad),
        }
    wrapper = etree.SubElement(ad_element, tags.Wrapper, attributes)
    _ad_system(wrapper, ad, tags)
    if not dialect.vast4:
        _url(wrapper, tags.VASTAdTagURI, ad.vast_ad_tag_uri)
    for url in ad.errors if dialect.vast4 else ad.errors[:1]:  # the 3.0 schema allows a single Error
        _url(wrapper, tags.Error, url)
    if dialect.vast4:
        _impressions(wrapper, ad.impressions, tags)
    else:  # a plain xs:anyURI in the 3.0 Wrapper: no id
        for url in ad.impressions:
            _url(wrapper, tags.Impression, url)
    if ad.tracking or ad.click_tracking or not dialect.vast4:  # 3.0 requires Creatives, 4.x a Creative in it
        creatives = etree.SubElement(wrapper, tags.Creatives)
        linear = etree.SubElement(etree.SubElement(creatives, tags.Creative), tags.Linear)
        _tracking_events(linear, ad.tracking, dialect)
        if ad.click_tracking:
            _click_tracking(etree.SubElement(linear, tags.VideoClicks), ad.click_tracking, tags)
    if dialect.vast4:
        _url(wrapper, tags.VASTAdTagURI, ad.vast_ad_tag_uri)


def _boolean(value: bool) -> str:
    return "true" if value else "false"


def xml_safe(value: str) -> str:
    """`value` without the characters XML 1.0 forbids; lxml would refuse to serialize them."""
    if value.isascii() and value.isprintable():  # the common case, checked in C
        return value
    return _XML_FORBIDDEN.sub("", value)


def _inline_vast3(ad_element: etree._Element, ad: InlineAd, dialect: _Dialect) -> None:
    tags = dialect.tags
    inline = etree.SubElement(ad_element, tags.InLine)
    _ad_system(inline, ad, tags)
    _text(inline, tags.AdTitle, ad.ad_title)
    if ad.description:
        _text(inline, tags.Description, ad.description)
    if ad.advertiser:
        _text(inline, tags.Advertiser, ad.advertiser)
    for url in ad.errors[:1]:  # the 3.0 schema allows a single InLine Error
        _url(inline, tags.Error, url)
    _impressions(inline, ad.impressions, tags)
    creative = ad.creative
    creative_element = _creative(inline, creative, tags, "AdID")
    if ad.verifications:  # Extensions follow Creatives in the 3.0 sequence
        _verifications_extension(inline, ad.verifications, tags)
    linear = etree.SubElement(creative_element, tags.Linear)
    extension = etree.SubElement(
        etree.SubElement(linear, tags.CreativeExtensions), tags.CreativeExtension, {"type": "UniversalAdId"}
    )
    _universal_ad_id(extension, creative, tags, with_value=True)
    _text(linear, tags.Duration, format_duration(creative.duration_seconds))
    _tracking_events(linear, creative.tracking, dialect)
    if creative.click_through or creative.click_tracking:
        clicks = etree.SubElement(linear, tags.VideoClicks)
        if creative.click_through:
            _url(clicks, tags.ClickThrough, creative.click_through)
        _click_tracking(clicks, creative.click_tracking, tags)
    _media_files(linear, creative, dialect)


def _inline_vast4(ad_element: etree._Element, ad: InlineAd, dialect: _Dialect) -> None:
    tags = dialect.tags
    inline = etree.SubElement(ad_element, tags.InLine)
    _ad_system(inline, ad, tags)
    for url in ad.errors:
        _url(inline, tags.Error, url)
    if ad.verifications and not dialect.ad_verifications:  # 4.0: Extensions between Error and Impression
        _verifications_extension(inline, ad.verifications, tags)
    _impressions(inline, ad.impressions, tags)
    if dialect.ad_serving_id:
        _text(inline, tags.AdServingId, ad.ad_serving_id)
    _text(inline, tags.AdTitle, ad.ad_title)
    if ad.verifications and dialect.ad_verifications:
        _ad_verifications(inline, ad.verifications, tags)
    if ad.advertiser:
        _text(inline, tags.Advertiser, ad.advertiser)
    if ad.category is not None:
        _text(inline, tags.Category, ad.category.code, {"authority": xml_safe(ad.category.authority)})
    creative = ad.creative
    creative_element = _creative(inline, creative, tags, "adId")
    linear = etree.SubElement(creative_element, tags.Linear)
    _tracking_events(linear, creative.tracking, dialect)
    _text(linear, tags.Duration, format_duration(creative.duration_seconds))
    _media_files(linear, creative, dialect)
    if creative.click_through or creative.click_tracking:
        # ClickTracking before ClickThrough suits both the 4.0/4.1 and the 4.2 sequences.
        clicks = etree.SubElement(linear, tags.VideoClicks)
        _click_tracking(clicks, creative.click_tracking, tags)
        if creative.click_through:
            _url(clicks, tags.ClickThrough, creative.click_through)
    # Last child of Creative: required by the 4.2 sequence, allowed by the 4.0/4.1 xs:all.
    _universal_ad_id(creative_element, creative, tags, dialect.universal_ad_id_value)
    if ad.description:
        _text(inline, tags.Description, ad.description)


def _verifications_extension(
    inline: etree._Element, verifications: Iterable[Verification], tags: SimpleNamespace
) -> None:
    extension = etree.SubElement(
        etree.SubElement(inline, tags.Extensions), tags.Extension, {"type": "AdVerifications"}
    )
    _ad_verifications(extension, verifications, tags)


def _ad_verifications(
    parent: etree._Element, verifications: Iterable[Verification], tags: SimpleNamespace
) -> None:
    container = etree.SubElement(parent, tags.AdVerifications)
    for verification in verifications:
        element = etree.SubElement(container, tags.Verification, {"vendor": xml_safe(verification.vendor)})
        _url(
            element,
            tags.JavaScriptResource,
            verification.javascript_url,
            {"apiFramework": xml_safe(verification.api_framework), "browserOptional": "true"},
        )
        if verification.not_executed_urls:
            events = etree.SubElement(element, tags.TrackingEvents)
            for url in verification.not_executed_urls:
                _url(events, tags.Tracking, url, {"event": "verificationNotExecuted"})
        if verification.parameters is not None:
            _url(element, tags.VerificationParameters, verification.parameters)


def _universal_ad_id(
    parent: etree._Element, creative: LinearCreative, tags: SimpleNamespace, with_value: bool
) -> None:
    registry = {"idRegistry": xml_safe(creative.universal_ad_id_registry)}
    if with_value:
        registry["idValue"] = xml_safe(creative.universal_ad_id)
    _text(parent, tags.UniversalAdId, creative.universal_ad_id, registry)


def _ad_system(inline: etree._Element, ad: InlineAd | WrapperAd, tags: SimpleNamespace) -> None:
    version = None if ad.ad_system_version is None else {"version": xml_safe(ad.ad_system_version)}
    _text(inline, tags.AdSystem, ad.ad_system, version)


def _impressions(inline: etree._Element, urls: Iterable[str], tags: SimpleNamespace) -> None:
    for number, url in enumerate(urls, 1):
        _url(inline, tags.Impression, url, {"id": f"imp-{number}"})


def _creative(
    inline: etree._Element, creative: LinearCreative, tags: SimpleNamespace, ad_id_attribute: str
) -> etree._Element:
    attributes = {"id": xml_safe(creative.creative_id)}
    if creative.ad_id is not None:
        attributes[ad_id_attribute] = xml_safe(creative.ad_id)
    creatives = etree.SubElement(inline, tags.Creatives)
    return etree.SubElement(creatives, tags.Creative, attributes)


def _tracking_events(linear: etree._Element, tracking: Iterable[Tracking], dialect: _Dialect) -> None:
    events = dialect.events
    container = None
    for item in tracking:
        event = events.get(item.event)
        if event is None:  # not expressible in this version's schema
            continue
        if container is None:
            container = etree.SubElement(linear, dialect.tags.TrackingEvents)
        attributes = {"event": event}
        if item.offset is not None:
            attributes["offset"] = item.offset
        _url(container, dialect.tags.Tracking, item.url, attributes)


def _click_tracking(clicks: etree._Element, urls: Iterable[str], tags: SimpleNamespace) -> None:
    for number, url in enumerate(urls, 1):
        _url(clicks, tags.ClickTracking, url, {"id": f"click-{number}"})


def _media_files(linear: etree._Element, creative: LinearCreative, dialect: _Dialect) -> None:
    tags = dialect.tags
    container = etree.SubElement(linear, tags.MediaFiles)
    for media in creative.media_files:
        attributes = _media_attributes(media, dialect)
        if media.bitrate_kbps is not None:
            attributes["bitrate"] = str(media.bitrate_kbps)
        _url(container, tags.MediaFile, media.url, attributes)
    if dialect.mezzanine and creative.mezzanine is not None:  # after every MediaFile (4.1 sequence)
        _url(
            container, tags.Mezzanine, creative.mezzanine.url, _media_attributes(creative.mezzanine, dialect)
        )


def _media_attributes(media: MediaFile, dialect: _Dialect) -> dict[str, str]:
    attributes = {
        "delivery": media.delivery,
        "type": xml_safe(media.mime_type),
        "width": str(media.width),
        "height": str(media.height),
    }
    if media.codec is not None:
        attributes["codec"] = xml_safe(media.codec)
    if dialect.file_size and media.file_size is not None:
        attributes["fileSize"] = str(media.file_size)
    return attributes


def _text(parent: etree._Element, tag: str, value: str, attributes: dict[str, str] | None = None) -> None:
    etree.SubElement(parent, tag, attributes).text = xml_safe(value)


def _url(parent: etree._Element, tag: str, url: str, attributes: dict[str, str] | None = None) -> None:
    element = etree.SubElement(parent, tag, attributes)
    url = xml_safe(url)
    # CDATA as in the IAB samples, except where it cannot hold the value: "]]>" would end the
    # section, and a CR inside it would come back as LF. lxml escapes those as plain text.
    if "]]>" in url or "\r" in url:
        element.text = url
    else:
        element.text = etree.CDATA(url)


def _tags(namespace: str | None) -> SimpleNamespace:
    prefix = f"{{{namespace}}}" if namespace else ""
    return SimpleNamespace(**{name: prefix + name for name in _TAG_NAMES})


_VAST4_TAGS = _tags(VAST_NAMESPACE)


def _vast4(events: frozenset[str], **features: bool) -> _Dialect:
    return _Dialect(
        _VAST4_TAGS, {None: VAST_NAMESPACE}, event_names_for(events), _inline_vast4, vast4=True, **features
    )


_DIALECTS = {
    "3.0": _Dialect(_tags(None), None, event_names_for(VAST30_EVENTS), _inline_vast3),
    "4.0": _vast4(VAST40_EVENTS, universal_ad_id_value=True),
    "4.1": _vast4(VAST41_EVENTS, ad_serving_id=True, file_size=True, mezzanine=True, ad_verifications=True),
    "4.2": _vast4(VAST42_EVENTS, ad_serving_id=True, file_size=True, mezzanine=True, ad_verifications=True),
}
_DIALECTS["4.3"] = _DIALECTS["4.2"]  # no 4.3 XSD is published: same layout, validated against 4.2
