"""A creative's identity in VAST: Creative@id, Creative@adId and UniversalAdId (VAST 4.1 §3.7.1 and §3.16.3).

Stitchers (SSAI) transcode an ad once and cache it under these ids, and skip an ad whose id they have not
transcoded yet; so the id stays the same as long as the file does, and a new file gets a new one.
- Creative@id: the creative's `identity`, made when its file is stored.
- UniversalAdId: the advertiser's Ad-ID (registry ad-id.org) when given; else our `identity` in our own
  registry (OWN_REGISTRY), never "unknown".
- Creative@adId: the same value as UniversalAdId.
- VAST 3.0 has no UniversalAdId: the IAB CTV addendum has it carried as a CreativeExtension of type
  "UniversalAdId" (vast.render does that).
"""

from __future__ import annotations

# Ad-ID codes: a 4-letter company prefix, 7 letters or digits, and H (HD) or D (3D) when it applies
# (ad-id.org, "Ad-ID code structure").
AD_ID_PATTERN = r"^[A-Z]{4}[A-Z0-9]{7}[HD]?$"
AD_ID_REGISTRY = "ad-id.org"
OWN_REGISTRY = "ctv-ad-server"


def universal_ad_id(identity: str, ad_id: str | None) -> tuple[str, str]:
    """(idRegistry, value) of a creative."""
    return (AD_ID_REGISTRY, ad_id) if ad_id else (OWN_REGISTRY, identity)
