"""Platform presets of a supply tag: which macro each platform expands for each ad request parameter of
/vast, and the ready-to-paste VAST URL built from them.

A parameter is one our /vast reads (app.serving.request). Its value in the URL is the platform's macro, which
the platform replaces before calling us; a value it leaves unexpanded is ignored by /vast (never a refusal).
Where a platform documents no macro for a parameter:
- a client-side app (the app builds the URL, and replaces what it can) gets the generic placeholder;
- a server-side stitcher (MediaTailor, Google DAI) does not get the parameter: it would send it unexpanded.
A tag's own `macros` ({parameter: macro}) replace the preset's ("" leaves the parameter out): the `custom`
preset is the generic one with the tag's macros.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# The parameters a URL may carry, in URL order (app.serving.request._PARSERS names them). `gpp` and
# `gpp_sid` are the IAB Global Privacy Platform string and its section ids.
PARAMETERS = (
    "cb",
    "ip",
    "ua",
    "ifa",
    "ifa_type",
    "lmt",
    "app_bundle",
    "app_name",
    "us_privacy",
    "gdpr",
    "gdpr_consent",
    "gpp",
    "gpp_sid",
    "avail_duration_secs",
    "session_id",
)
STITCHER_PARAMETERS = ("avail_duration_secs", "session_id")

# Generic placeholders: IAB VAST 4.1 macros (§6.2: [CACHEBUSTING], [DEVICEIP], [DEVICEUA], [IFA], [IFATYPE],
# [LIMITADTRACKING], [APPBUNDLE], [GDPRCONSENT]) where VAST has one, else the parameter's name in brackets.
GENERIC = {
    "cb": "[CACHEBUSTING]",
    "ip": "[DEVICEIP]",
    "ua": "[DEVICEUA]",
    "ifa": "[IFA]",
    "ifa_type": "[IFATYPE]",
    "lmt": "[LIMITADTRACKING]",
    "app_bundle": "[APPBUNDLE]",
    "app_name": "[APP_NAME]",
    "us_privacy": "[US_PRIVACY]",
    "gdpr": "[GDPR]",
    "gdpr_consent": "[GDPRCONSENT]",
    "gpp": "[GPP_STRING]",
    "gpp_sid": "[GPP_SID]",
}


@dataclass(frozen=True, slots=True)
class Preset:
    name: str  # for people
    macros: Mapping[str, str]  # parameter -> the platform's own macro (or a fixed value)
    stitcher: bool = False  # server-side: no generic placeholder, and the avail duration and session id
    source: str = ""  # where the platform documents its macros


# AWS Elemental MediaTailor: session variables ([session.*], [avail.random]) and, for what only the player
# knows, player variables ([player_params.<name>], sent by the player at session initialisation).
# https://docs.aws.amazon.com/mediatailor/latest/ug/variables-session.html
# https://docs.aws.amazon.com/mediatailor/latest/ug/variables-player.html
_MEDIATAILOR = {
    "cb": "[avail.random]",
    "ip": "[session.client_ip]",
    "ua": "[session.user_agent]",
    **{name: f"[player_params.{name}]" for name in PARAMETERS[3:13]},  # ifa ... gpp_sid
    "avail_duration_secs": "[session.avail_duration_secs]",
    "session_id": "[session.id]",
}

# Google Ad Manager Dynamic Ad Insertion, "Macros for Dynamic Ad Insertion" (ad request macros):
# [CACHEBUSTING], [IFA], [IFATYPE], [APPBUNDLE], %%GDPR%%, [GDPRCONSENT], %%BREAK_DURATION%% (seconds).
# https://support.google.com/admanager/answer/10138654
# The page also lists user IP, user agent, limit ad tracking, US privacy and stream id macros; their tokens
# are not given here, so those parameters are left out (a tag's `macros` can add them).
_GOOGLE_DAI = {
    "cb": "[CACHEBUSTING]",
    "ifa": "[IFA]",
    "ifa_type": "[IFATYPE]",
    "app_bundle": "[APPBUNDLE]",
    "gdpr": "%%GDPR%%",
    "gdpr_consent": "[GDPRCONSENT]",
    "avail_duration_secs": "%%BREAK_DURATION%%",
}

# Roku Advertising Framework, "URL Parameter Macros" (RAF replaces them in the URL given to setAdUrl):
# ROKU_ADS_CACHE_BUSTER, ROKU_ADS_EXTERNAL_IP, ROKU_ADS_USER_AGENT, ROKU_ADS_TRACKING_ID (the RIDA),
# ROKU_ADS_LIMIT_TRACKING (true/false), ROKU_ADS_APP_ID.
# https://developer.roku.com/docs/developer-program/advertising/raf-api.md
# No macro for the app name or consent strings: the channel replaces the generic placeholders itself.
_ROKU = {
    "cb": "ROKU_ADS_CACHE_BUSTER",
    "ip": "ROKU_ADS_EXTERNAL_IP",
    "ua": "ROKU_ADS_USER_AGENT",
    "ifa": "ROKU_ADS_TRACKING_ID",
    "ifa_type": "rida",
    "lmt": "ROKU_ADS_LIMIT_TRACKING",
    "app_bundle": "ROKU_ADS_APP_ID",
}

# Samsung Tizen, LG webOS, Amazon Fire TV and Android TV apps build the ad request URL themselves: the
# platforms document no ad-request URL macros, only how an app reads its advertising id (Tizen's TIFA,
# webOS's LGUDID, Fire OS's advertising id, Google's AAID). The preset fixes the IFA type, as the IAB's
# guidelines for identifier for advertising on OTT platforms name it; the rest are generic placeholders.
PRESETS: dict[str, Preset] = {
    "generic": Preset("Generic CTV app", {}),
    "mediatailor": Preset("AWS Elemental MediaTailor", _MEDIATAILOR, True, "docs.aws.amazon.com/mediatailor"),
    "google_dai": Preset("Google DAI", _GOOGLE_DAI, True, "support.google.com/admanager/answer/10138654"),
    "roku": Preset("Roku (RAF)", _ROKU, source="developer.roku.com RAF URL parameter macros"),
    "tizen": Preset("Samsung Tizen", {"ifa_type": "tifa"}),
    "webos": Preset("LG webOS", {"ifa_type": "lgudid"}),
    "firetv": Preset("Amazon Fire TV", {"ifa_type": "afai"}),
    "androidtv": Preset("Android TV", {"ifa_type": "aaid"}),
    "custom": Preset("Custom", {}),
}
PLATFORMS = tuple(PRESETS)


def url_parameters(platform: str, overrides: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(parameter, macro) pairs of a tag's URL, in PARAMETERS order: the preset's macro, the generic
    placeholder for a client-side app's parameter the platform has none for, the tag's `overrides` above
    both ("" leaves the parameter out)."""
    preset = PRESETS[platform]
    overrides = overrides or {}
    pairs = []
    for name in PARAMETERS:
        if name in overrides:
            macro = overrides[name]
        elif name in preset.macros:
            macro = preset.macros[name]
        elif preset.stitcher or name in STITCHER_PARAMETERS:
            continue
        else:
            macro = GENERIC[name]
        if macro:
            pairs.append((name, macro))
    return pairs


def vast_url(base_url: str, tag_id: int, platform: str, overrides: Mapping[str, str] | None = None) -> str:
    """The ready-to-paste VAST URL of a tag: `<base>/vast?tag=<id>&<parameter>=<macro>...`. Macros stay as
    written (a platform looks for its raw token to replace)."""
    query = "".join(f"&{name}={macro}" for name, macro in url_parameters(platform, overrides))
    return f"{base_url.rstrip('/')}/vast?tag={tag_id}{query}"
