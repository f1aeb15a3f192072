"""The VAST document of a served ad, filled in from a template rendered once per creative, version and host.

Two fills of one creative differ only by their ad serving id and beacon token, so the document is rendered
with lxml once, with marks in their place, and each fill substitutes its own values. Both values are made of
URL-safe characters that need no XML escaping. Rendering the whole document for every request took about a
quarter of a /vast request's CPU.
"""

from __future__ import annotations

from functools import lru_cache

from app.serving.ads import ServedAd, inline_ad
from app.serving.catalog import CampaignEntry, CreativeEntry
from vast.render import render

TEMPLATES_PER_WORKER = 1024  # creatives x VAST versions x base URLs; beyond that the least used are dropped
MARKS = ("_ad-serving-id-a_", "_beacon-token-a_")
CHECK_MARKS = ("_ad-serving-id-b_", "_beacon-token-b_")


def vast_document(ad: ServedAd, version: str) -> bytes:
    template = _template(ad.campaign, ad.creative, ad.media_url, ad.beacon_base, version)
    if template is None:
        return render(inline_ad(ad), version)
    return template.replace(MARKS[0], ad.ad_serving_id).replace(MARKS[1], ad.token).encode()


@lru_cache(maxsize=TEMPLATES_PER_WORKER)
def _template(
    campaign: CampaignEntry, creative: CreativeEntry, media_url: str, beacon_base: str, version: str
) -> str | None:
    """The document with marks for the two values, or None when the ad's own text holds a mark: rendered
    with other marks, the document must differ exactly where the marks are and nowhere else."""

    def rendered(ad_serving_id: str, token: str) -> str:
        ad = ServedAd(
            ad_serving_id=ad_serving_id,
            campaign=campaign,
            creative=creative,
            media_url=media_url,
            beacon_base=beacon_base,
            token=token,
        )
        return render(inline_ad(ad), version).decode()

    template = rendered(*MARKS)
    check = rendered(*CHECK_MARKS)
    if template.replace(MARKS[0], CHECK_MARKS[0]).replace(MARKS[1], CHECK_MARKS[1]) != check:
        return None
    return template
