"""Follow a VAST wrapper chain on the server (for SSAI callers that cannot follow wrappers) and return the
InLine ad found at its end, carrying the trackers of every wrapper on the way (VAST 4.2 §2.4.3: a player
fires the wrappers' Impression, Error and tracking URLs with the InLine's).

Pure: the HTTP fetch is a function given by the caller, called with a URL and the seconds left, returning
the body (bytes) or raising `FetchTimeout` / `FetchFailed`; so is `expand`, which fills the macros of each
wrapper's VASTAdTagURI before it is followed (as the first URL was by the caller). Rules:
- a deadline for the whole chain (each fetch gets what is left); past it, error 301;
- at most MAX_WRAPPER_DEPTH wrappers (5, as Google's IMA SDK); more, or a URL seen twice (a loop), 302;
- a document that is not well-formed (or larger than MAX_DOCUMENT_BYTES) 100; one that its version's
  schema refuses 101; a version with no schema 102; no ad 303; a failed fetch 300 (VAST 4.2 §2.3.6.3);
- the InLine keeps its own version, and the merged document is validated against that version's schema;
  or, `as_version` given (an ad for a pod of that version), the Ad alone is moved into a document of that
  version (its `sequence` left for the pod to set) and validated against that version's schema: 102 when
  it does not hold there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from vast.events import VAST30_EVENTS, VAST40_EVENTS, VAST41_EVENTS, VAST42_EVENTS, event_names_for
from vast.render import VAST_NAMESPACE
from vast.validate import SCHEMA_FILES, VastValidationError, validate

MAX_WRAPPER_DEPTH = 5
MAX_DOCUMENT_BYTES = 1024 * 1024
_EVENTS = {
    "3.0": event_names_for(VAST30_EVENTS),
    "4.0": event_names_for(VAST40_EVENTS),
    "4.1": event_names_for(VAST41_EVENTS),
    "4.2": event_names_for(VAST42_EVENTS),
    "4.3": event_names_for(VAST42_EVENTS),
}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=False)


class FetchTimeout(Exception):
    """The partner did not answer in time."""


class FetchFailed(Exception):
    """The partner's answer could not be had (connection refused, HTTP error)."""


@dataclass(frozen=True, slots=True)
class Unwrapped:
    """The merged InLine document (None on failure), and the VAST error code of a failure."""

    document: bytes | None
    error_code: str | None = None


@dataclass(frozen=True, slots=True)
class Trackers:
    impressions: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    tracking: tuple[tuple[str, str], ...] = ()  # (event, url)
    click_tracking: tuple[str, ...] = ()

    def __add__(self, other: Trackers) -> Trackers:
        return Trackers(
            self.impressions + other.impressions,
            self.errors + other.errors,
            self.tracking + other.tracking,
            self.click_tracking + other.click_tracking,
        )


def unwrap(
    url: str,
    ours: Trackers,
    fetch: Callable[[str, float], bytes],
    deadline_seconds: float,
    clock: Callable[[], float] = time.monotonic,
    as_version: str | None = None,
    expand: Callable[[str], str] = str,
) -> Unwrapped:
    """Follow `url` to an InLine ad; return it with `ours` and every wrapper's trackers merged in, in its
    own VAST version or in `as_version` (one of SCHEMA_FILES). Each further hop's URL is `expand`ed (its
    macros filled) before it is fetched; loops are told by the expanded URLs."""
    end = clock() + deadline_seconds
    seen: set[str] = set()
    collected = ours
    for _ in range(MAX_WRAPPER_DEPTH + 1):
        if url in seen:
            return Unwrapped(None, "302")
        seen.add(url)
        left = end - clock()
        if left <= 0:
            return Unwrapped(None, "301")
        try:
            body = fetch(url, left)
        except FetchTimeout:
            return Unwrapped(None, "301")
        except FetchFailed:
            return Unwrapped(None, "300")
        if len(body) > MAX_DOCUMENT_BYTES:
            return Unwrapped(None, "100")
        try:
            root = etree.fromstring(body, _PARSER)
        except etree.XMLSyntaxError:
            return Unwrapped(None, "100")
        version = root.get("version", "")
        if _local(root) != "VAST" or version not in SCHEMA_FILES:
            return Unwrapped(None, "102")
        try:
            validate(body, version)
        except VastValidationError:
            return Unwrapped(None, "101")
        ad = _first(root, "Ad")
        if ad is None:
            return Unwrapped(None, "303")
        wrapper = _first(ad, "Wrapper")
        if wrapper is None:
            return _merged(root, version, collected, as_version)
        collected += _trackers(wrapper)
        url = expand((_first(wrapper, "VASTAdTagURI").text or "").strip())
    return Unwrapped(None, "302")


def _merged(root: etree._Element, version: str, trackers: Trackers, as_version: str | None) -> Unwrapped:
    """The first ad of `root` alone, our trackers added where its (or `as_version`'s) schema puts them."""
    own_version = version
    ad = _first(root, "Ad")
    if as_version is None:
        for other in [child for child in root if child is not ad]:
            root.remove(other)
    else:
        root, version = _moved(ad, etree.QName(root).namespace, as_version), as_version
        ad.attrib.pop("sequence", None)
    inline = _first(ad, "InLine")
    namespace = etree.QName(root).namespace
    tag = (lambda name: f"{{{namespace}}}{name}") if namespace else (lambda name: name)
    impressions = _children(inline, "Impression")
    _insert_after(impressions[-1], tag("Impression"), trackers.impressions)
    errors = _children(inline, "Error")
    if version == "3.0":  # a single InLine Error, before the Impressions: ours only when it has none
        if not errors and trackers.errors:
            impressions[0].addprevious(_url_element(None, tag("Error"), trackers.errors[0]))
    else:
        _insert_after(errors[-1] if errors else _first(inline, "AdSystem"), tag("Error"), trackers.errors)
    linear = next((e for e in inline.iter(etree.Element) if _local(e) == "Linear"), None)
    if linear is not None:
        events = _first(linear, "TrackingEvents")
        if events is None and trackers.tracking:
            events = etree.Element(tag("TrackingEvents"))
            if version == "3.0":  # after Duration
                _first(linear, "Duration").addnext(events)
            else:  # first, or after Icons (Linear_Base_type)
                icons = _first(linear, "Icons")
                icons.addnext(events) if icons is not None else linear.insert(0, events)
        if events is not None:
            names = _EVENTS[version]
            for event, url in trackers.tracking:
                if event in names:  # renamed for the InLine's version, or left out (vast.events)
                    _url_element(events, tag("Tracking"), url).set("event", names[event])
        if trackers.click_tracking:
            _add_click_tracking(linear, version, tag, trackers.click_tracking)
    document = etree.tostring(root, encoding="UTF-8", xml_declaration=True)
    try:
        validate(document, version)
    except VastValidationError:
        return Unwrapped(None, "101" if version == own_version else "102")
    return Unwrapped(document)


def _add_click_tracking(
    linear: etree._Element, version: str, tag: Callable[[str], str], urls: tuple[str, ...]
) -> None:
    """`urls` as ClickTracking of the InLine's Linear, after its own, creating VideoClicks when it has none,
    where `version`'s schema puts them: VideoClicks before MediaFiles in 3.0 (Duration, TrackingEvents,
    AdParameters, VideoClicks, MediaFiles), after them in 4.x (Linear_Inline_type ends with MediaFiles,
    VideoClicks); in VideoClicks, ClickTracking after ClickThrough in 3.0 (ClickThrough, ClickTracking*,
    CustomClick*) and first in 4.x (4.0/4.1: ClickTracking*, CustomClick*, ClickThrough; 4.2: ClickTracking*,
    ClickThrough, CustomClick*)."""
    clicks = _first(linear, "VideoClicks")
    if clicks is None:
        clicks = etree.Element(tag("VideoClicks"))
        media = _first(linear, "MediaFiles")
        if media is None:  # 3.0 only: MediaFiles is optional there, VideoClicks then last
            linear.append(clicks)
        elif version == "3.0":
            media.addprevious(clicks)
        else:
            media.addnext(clicks)
    own = _children(clicks, "ClickTracking")
    through = _first(clicks, "ClickThrough") if version == "3.0" else None
    anchor = own[-1] if own else through
    if anchor is not None:
        _insert_after(anchor, tag("ClickTracking"), urls)
    else:
        for url in reversed(urls):
            clicks.insert(0, _url_element(None, tag("ClickTracking"), url))


def _moved(ad: etree._Element, namespace: str | None, version: str) -> etree._Element:
    """A VAST root of `version` holding `ad`, whose elements of the VAST namespace it came in (`namespace`)
    are renamed into that version's (none in 3.0, VAST_NAMESPACE in 4.x); extension elements keep theirs."""
    target = None if version == "3.0" else VAST_NAMESPACE
    tag = f"{{{target}}}VAST" if target else "VAST"
    root = etree.Element(tag, {"version": version}, nsmap={None: target} if target else None)
    if namespace != target:
        for element in [ad, *ad.iterdescendants(etree.Element)]:
            if etree.QName(element).namespace == namespace:
                local = etree.QName(element).localname
                element.tag = f"{{{target}}}{local}" if target else local
    root.append(ad)
    etree.cleanup_namespaces(root)
    return root


def _trackers(wrapper: etree._Element) -> Trackers:
    return Trackers(
        impressions=tuple(_text(e) for e in _children(wrapper, "Impression") if _text(e)),
        errors=tuple(_text(e) for e in _children(wrapper, "Error") if _text(e)),
        tracking=tuple(
            (e.get("event", ""), _text(e))
            for e in wrapper.iter(etree.Element)
            if _local(e) == "Tracking" and _local(e.getparent().getparent()) == "Linear" and _text(e)
        ),
        click_tracking=tuple(
            _text(e) for e in wrapper.iter(etree.Element) if _local(e) == "ClickTracking" and _text(e)
        ),
    )


def _insert_after(anchor: etree._Element, tag: str, urls: tuple[str, ...]) -> None:
    for url in reversed(urls):
        element = etree.Element(tag)
        element.text = etree.CDATA(url) if "]]>" not in url else url
        anchor.addnext(element)


def _url_element(parent: etree._Element | None, tag: str, url: str) -> etree._Element:
    element = etree.Element(tag) if parent is None else etree.SubElement(parent, tag)
    element.text = etree.CDATA(url) if "]]>" not in url else url
    return element


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(parent: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in parent if _local(child) == name]


def _first(parent: etree._Element, name: str) -> etree._Element | None:
    return next((child for child in parent if _local(child) == name), None)


def _text(element: etree._Element) -> str:
    return (element.text or "").strip()
