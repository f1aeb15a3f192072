"""IAB VMAP 1.0 playlists: the ad breaks of a piece of content, each pointing at a VAST tag.

`render` builds the document, `validate` checks one against the official schema shipped in
vast/schemas/vmap.xsd, `format_offset` writes a break's timeOffset. Pure: no web framework.

What players expect, and what the schema allows (vast/schemas/SOURCE.md):
- every element in the `http://www.iab.net/videosuite/vmap` namespace, prefixed `vmap:`; `version="1.0"`;
- `timeOffset` is `start`, `end` or `HH:MM:SS.mmm`;
- `AdSource@id` is an `xs:integer`;
- `AdTagURI@templateType` allows vast1/vast2/vast3/proprietary only, so a VAST 4 tag is announced as
  `vast3`, as players expect; the URL sits in a CDATA section, as the specification asks.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

NAMESPACE = "http://www.iab.net/videosuite/vmap"
PREFIX = "vmap"
VERSION = "1.0"
START = "start"
END = "end"
LINEAR = "linear"
TEMPLATE_TYPE = "vast3"

SCHEMA_FILE = Path(__file__).parent / "schemas" / "vmap.xsd"
# The schema imports this namespace from vast3_draft.xsd, which declares no target namespace, so it does not
# compile as published; the import is answered with this stub instead (we never embed VAST in a VMAP).
_VAST_NAMESPACE = "http://www.iab.net/videosuite/vast"
_VAST_STUB = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{_VAST_NAMESPACE}"
    elementFormDefault="qualified"><xs:element name="VAST"/></xs:schema>""".encode()
_IMPORTED = "vast3_draft.xsd"

_MILLIS_PER_HOUR = 3600 * 1000


class VmapValidationError(ValueError):
    """The document is not well-formed or does not match the VMAP 1.0 schema."""


@dataclass(frozen=True, slots=True)
class AdBreak:
    """An ad break: where it plays (`start`, `end` or `HH:MM:SS.mmm`), its id, the VAST tag filling it."""

    time_offset: str
    break_id: str
    tag_uri: str
    break_type: str = LINEAR
    template_type: str = TEMPLATE_TYPE
    allow_multiple_ads: bool = True
    follow_redirects: bool = True


def format_offset(seconds: float) -> str:
    """A mid-roll's timeOffset: HH:MM:SS.mmm, rounded to the millisecond (hours may pass 23)."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"an offset is a finite number of seconds from 0, got {seconds!r}")
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, _MILLIS_PER_HOUR)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def render(breaks: Iterable[AdBreak]) -> bytes:
    """The VMAP document (UTF-8, with its XML declaration), breaks in the order given; AdSource ids count
    from 1."""
    root = etree.Element(_tag("VMAP"), nsmap={PREFIX: NAMESPACE})
    root.set("version", VERSION)
    for number, ad_break in enumerate(breaks, start=1):
        element = etree.SubElement(root, _tag("AdBreak"))
        element.set("timeOffset", ad_break.time_offset)
        element.set("breakType", ad_break.break_type)
        element.set("breakId", ad_break.break_id)
        source = etree.SubElement(element, _tag("AdSource"))
        source.set("id", str(number))
        source.set("allowMultipleAds", _boolean(ad_break.allow_multiple_ads))
        source.set("followRedirects", _boolean(ad_break.follow_redirects))
        tag = etree.SubElement(source, _tag("AdTagURI"))
        tag.set("templateType", ad_break.template_type)
        # CDATA cannot hold "]]>"; a URL built with percent-encoding never does, any other is escaped text.
        tag.text = etree.CDATA(ad_break.tag_uri) if "]]>" not in ad_break.tag_uri else ad_break.tag_uri
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _tag(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _boolean(value: bool) -> str:
    return "true" if value else "false"


def validate(xml: bytes) -> None:
    """Raise VmapValidationError unless `xml` is valid against the VMAP 1.0 schema."""
    schema = _schema()
    try:
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        raise VmapValidationError(f"not well-formed XML: {error}") from error
    if not schema.validate(root):
        raise VmapValidationError(str(schema.error_log))


class _StubVastImport(etree.Resolver):
    def resolve(self, url, pubid, context):
        if url and url.rsplit("/", 1)[-1] == _IMPORTED:
            return self.resolve_string(_VAST_STUB, context)
        return None


@functools.cache
def _schema() -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    parser.resolvers.add(_StubVastImport())
    return etree.XMLSchema(etree.parse(str(SCHEMA_FILE), parser))
