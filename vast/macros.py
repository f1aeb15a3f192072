"""VAST URL macros: the raw [NAME] tokens a player replaces before firing a URL, and those an ad server
fills itself in a third party's tag (`SERVER_MACROS`, `expand_server_macros`).

IAB VAST 4.1 §6 (Macros): a value is percent-encoded as RFC 3986 asks of a URI component (every character
but A-Z a-z 0-9 - . _ ~); a value the server does not know is -1, one it knows but withholds (privacy) -2.
Macros the player alone knows ([ERRORCODE], [ADPLAYHEAD], [ASSETURI], ...) are left for the player in what
a player calls; in a URL the server calls itself (`server_side`, [SERVERSIDE] 1) no player will fill them,
so they, and any macro the server does not know, are -1 (§6.1: a macro that cannot be filled), and no raw
`[` or `]` goes out (RFC 3986 allows them only around an IP literal host).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
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
    by_name = {_bare_name(name): value for name, value in values.items()}

    def substitute(match: re.Match[str]) -> str:  # encoded only for the macros the URL holds
        name = match.group(1) or match.group(2)
        return quote(str(by_name[name]), safe="") if name in by_name else match.group(0)

    return _ANY_MACRO.sub(substitute, url)


def _bare_name(name: str) -> str:
    return name[1:-1] if name.startswith("[") and name.endswith("]") else name


UNKNOWN = "-1"  # VAST 4.1 §6.1: the value is unknown or does not apply
WITHHELD = "-2"  # the value is known but withheld (no consent to pass personal data)


@dataclass(frozen=True, slots=True)
class ServerMacro:
    """A macro an ad server fills in a VAST request URI it calls or hands on (IAB VAST 4.x macro list)."""

    name: str
    since: str  # the VAST version that introduced it
    value: str  # what it stands for, and its format
    personal: bool = False  # an identifier: withheld (-2) when personal data may not be passed on


SERVER_MACROS: Mapping[str, ServerMacro] = {
    macro.name: macro
    for macro in (
        ServerMacro("ADSERVINGID", "4.1", "the ad serving id of the ad this tag stands for"),
        ServerMacro("CACHEBUSTING", "3.0", "a random 8-digit integer"),
        ServerMacro("TIMESTAMP", "4.0", "ISO 8601 date and time with milliseconds and offset"),
        ServerMacro("IFA", "4.1", "the device's resettable advertising id", personal=True),
        ServerMacro("IFATYPE", "4.1", "the kind of IFA (e.g. rida, aaid, idfa, tifa)"),
        ServerMacro("LIMITADTRACKING", "4.1", "1 when the user limits ad tracking, else 0"),
        ServerMacro("DEVICEIP", "4.1", "the device's IP address", personal=True),
        ServerMacro("DEVICEUA", "4.1", "the device's user agent", personal=True),
        ServerMacro("SERVERSIDE", "4.1", "0: the client calls the URI; 1: a server calls it for the client"),
        ServerMacro("GDPRCONSENT", "4.1", "the TCF consent string"),
        ServerMacro("REGULATIONS", "4.1", "the regulations that apply, comma-separated: gdpr, coppa, ccpa"),
        ServerMacro("GPPSTRING", "4.3", "the IAB Global Privacy Platform string"),
        ServerMacro("GPPSECTIONID", "4.3", "the GPP sections that apply, comma-separated ids"),
        ServerMacro("APPBUNDLE", "4.1", "the app's store id or bundle name"),
        ServerMacro("DOMAIN", "4.1", "the domain of the page or app's site"),
        ServerMacro("CONTENTPLAYHEAD", "3.0", "the content's playhead at the break, HH:MM:SS.mmm"),
    )
}


def has_macros(url: str | None) -> bool:
    """Whether `url` may hold a macro ([NAME] or %%NAME%%): the one test before any expansion."""
    return bool(url) and ("[" in url or "%%" in url)


def expand_server_macros(
    url: str, values: Mapping[str, str | None], may_pass_identifiers: bool, server_side: bool = False
) -> str:
    """`url` with every macro of SERVER_MACROS filled: its value from `values` (by bare name) percent-encoded,
    UNKNOWN when absent or None, WITHHELD for a personal one when `may_pass_identifiers` is False. Other
    [NAME] and %%NAME%% tokens (the player's) stay as they are, unless `server_side` (the server calls `url`
    itself): then they are UNKNOWN too, and any other `[` or `]` after the host is percent-encoded."""
    if not has_macros(url):
        return url
    filled = {}
    for name, macro in SERVER_MACROS.items():
        value = values.get(name)
        if macro.personal and not may_pass_identifiers:
            filled[name] = WITHHELD
        else:
            filled[name] = UNKNOWN if value is None or value == "" else value
    expanded = fill_macros(url, filled)
    if not server_side:
        return expanded
    expanded = _ANY_MACRO.sub(UNKNOWN, expanded)
    scheme, separator, rest = expanded.partition("://")
    if not separator:
        scheme, rest = "", expanded
    host_end = len(rest) if (end := re.search(r"[/?#]", rest)) is None else end.start()
    tail = rest[host_end:].replace("[", "%5B").replace("]", "%5D")
    return f"{scheme}{separator}{rest[:host_end]}{tail}"
