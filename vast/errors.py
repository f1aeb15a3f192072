"""VAST error codes: what a player's [ERRORCODE] means (VAST 3.0 §2.4.2.3; VAST 4.2 §2.3.6.3, "VAST Error
Codes Table", which adds 204-206, 304 and 406-411 over 3.0, and 902 in 4.1; 408 is deprecated there along
with conditionalAd). The texts are the tables' own words, "video player" read as 4.x's "media player".

Only the codes the specification defines are listed: a player may send others (its own, or a vendor's), and
those are kept as sent and described as such. Two values stand for a code that is not a number:
`unexpanded`, a macro the player did not replace, and `unknown`, no code or garbage.
"""

from __future__ import annotations

UNEXPANDED = "unexpanded"
UNKNOWN = "unknown"

ERROR_CODES: dict[int, str] = {
    100: "XML parsing error.",
    101: "VAST schema validation error.",
    102: "VAST version of response not supported.",
    200: "Trafficking error. Media player received an ad type that it was not expecting and/or cannot play.",
    201: "Media player expecting different linearity.",
    202: "Media player expecting different duration.",
    203: "Media player expecting different size.",
    204: "Ad category was required but not provided.",
    205: "InLine Category violates Wrapper BlockedAdCategories.",
    206: "Ad break shortened. Ad was not served.",
    300: "General Wrapper error.",
    301: "Timeout of VAST URI provided in Wrapper element, or of VAST URI provided in a subsequent Wrapper "
    "element.",
    302: "Wrapper limit reached, as defined by the media player. Too many Wrapper responses have been "
    "received with no InLine response.",
    303: "No VAST response after one or more Wrappers.",
    304: "InLine response returned ad unit that failed to result in ad display within defined time limit.",
    400: "General Linear error. Media player is unable to display the Linear ad.",
    401: "File not found. Unable to find Linear/MediaFile from URI.",
    402: "Timeout of MediaFile URI.",
    403: "Couldn't find MediaFile that is supported by this media player, based on the attributes of the "
    "MediaFile element.",
    405: "Problem displaying MediaFile. Media player found a MediaFile with supported type but couldn't "
    "display it.",
    406: "Mezzanine was required but not provided. Ad not served.",
    407: "Mezzanine is in the process of being downloaded for the first time. Download may take several "
    "hours. Ad will not be served until mezzanine is downloaded and transcoded.",
    408: "Conditional ad rejected (deprecated along with conditionalAd).",
    409: "Interactive unit in the InteractiveCreativeFile node was not executed.",
    410: "Verification unit in the Verification node was not executed.",
    411: "Mezzanine was provided as required, but file did not meet required specification. Ad not served.",
    500: "General NonLinearAds error.",
    501: "Unable to display NonLinear ad because creative dimensions do not align with creative display "
    "area.",
    502: "Unable to fetch NonLinearAds/NonLinear resource.",
    503: "Couldn't find NonLinear resource with supported type.",
    600: "General CompanionAds error.",
    601: "Unable to display Companion because creative dimensions do not fit within Companion display area.",
    602: "Unable to display required Companion.",
    603: "Unable to fetch CompanionAds/Companion resource.",
    604: "Couldn't find Companion resource with supported type.",
    900: "Undefined error.",
    901: "General VPAID error.",
    902: "General InteractiveCreativeFile error.",
}


def meaning(code: str) -> str:
    """What a recorded code means: the specification's words, or what kind of value it is."""
    if code == UNEXPANDED:
        return "The player did not replace the [ERRORCODE] macro."
    if code == UNKNOWN:
        return "No error code, or not a number."
    described = ERROR_CODES.get(int(code)) if code.isdigit() else None
    return described or "Not a VAST error code (the player's or a vendor's own)."
