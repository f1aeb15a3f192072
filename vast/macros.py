"""VAST URL macros: the raw [NAME] tokens a player replaces before firing a URL."""

import re
from collections.abc import Mapping
from urllib.parse import quote

from lxml import etree

ERRORCODE = "[ERRORCODE]"
CACHEBUSTING = "[CACHEBUSTING]"
TIMESTAMP = "[TIMESTAMP]"
ADPLAYHEAD = "[ADPLAYHEAD]"
ASSETURI = "[ASSETURI]"
ADSERVINGID = "[ADSERVINGID]"

# Elements typed xs:anyURI (or extending it) in the VAST 3.0 to 4.2 schemas.
URL_ELEMENTS = frozenset(
    {
        "ClickThrough",
        "ClickTracking",
        "ClosedCaptionFile",
        "CompanionClickThrough",
        "CompanionClickTracking",
        "CustomClick",
        "Error",
        "ExecutableResource",
        "FlashResource",
        "IFrameResource",
        "IconClickThrough",
        "IconClickTracking",
        "IconViewTracking",
        "Impression",
        "InteractiveCreativeFile",
        "JavaScriptResource",
        "MediaFile",
        "Mezzanine",
        "NonLinearClickThrough",
        "NonLinearClickTracking",
        "NotViewable",
        "StaticResource",
        "Survey",
        "Tracking",
        "VASTAdTagURI",
        "ViewUndetermined",
        "Viewable",
        "ViewableImpression",
    }
)

_BRACKET_MACRO = re.compile(r"\[([A-Z][A-Z0-9_]*)\]")
_ANY_MACRO = re.compile(r"\[([A-Z][A-Z0-9_]*)\]|%%([A-Z][A-Z0-9_]*)%%")


def percent_encode_macros(xml: bytes) -> bytes:
    """Return a copy of a VAST document whose URL macros read %5BNAME%5D instead of [NAME].

    For validation only: libxml2 rejects raw brackets in xs:anyURI, while players look for
    the raw [NAME] to substitute, so served documents keep the brackets.
    """
    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, strip_cdata=False))
    percent_encode_macros_in_tree(root)
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)


def percent_encode_macros_in_tree(root: etree._Element) -> None:
    """In-place variant of `percent_encode_macros` for an already parsed document."""
    for element in root.iter(etree.Element):
        text = element.text
        if text and "[" in text and element.tag.rpartition("}")[2] in URL_ELEMENTS:
            element.text = _BRACKET_MACRO.sub(r"%5B\1%5D", text)


def fill_macros(url: str, values: Mapping[str, str]) -> str:
    """Replace [NAME] and %%NAME%% with the URL-encoded value, as a player does.

    Keys are bare names ("ERRORCODE") or the bracketed constants of this module.
    Macros without a value are left untouched.
    """
    encoded = {_bare_name(name): quote(str(value), safe="") for name, value in values.items()}

    def substitute(match: re.Match[str]) -> str:
        return encoded.get(match.group(1) or match.group(2), match.group(0))

    return _ANY_MACRO.sub(substitute, url)


def _bare_name(name: str) -> str:
    return name[1:-1] if name.startswith("[") and name.endswith("]") else name
