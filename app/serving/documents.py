"""The VAST document of a served ad, filled in from a skeleton rendered once per VAST version and ad shape.

Rendering with lxml took about a quarter of a /vast request's CPU. A document depends on the ad's values
(ids, title, advertiser, category, URLs, token, media attributes) and on its shape (duration, codec, whether
it has a click-through, an advertiser, a category and which taxonomy), of which there are few. The skeleton
of a shape is rendered by the same `render`, with a mark in place of each value; a fill puts the values in.
Values that XML would escape or alter take the whole render instead, so both ways give the same bytes.
"""

from __future__ import annotations

import re
from functools import lru_cache
from types import SimpleNamespace

from app.serving.ads import ServedAd, inline_ad
from vast.render import SUPPORTED_VERSIONS, render

# VAST versions x durations x codecs x with or without a click-through, an advertiser, a category's taxonomy
SKELETONS_PER_WORKER = 1024
# What lxml writes exactly as given: printable ASCII without " & < > in text and attributes (the title,
# ids and numbers); in the CDATA sections that hold URLs, "&" too (without ">" no "]]>" can end them).
PLAIN_TEXT = re.compile(r"[ !#-%'-;=?-~]*")
PLAIN_URLS = re.compile(r"[!#-;=?-~]*")
MARKS = {  # what each mark stands for; plain, so lxml writes them as they are
    name: f"@@{name}@@"
    for name in (
        *("ad_id", "title", "ad_serving_id", "creative_id", "width", "height", "bitrate", "file_size"),
        *("advertiser", "category"),
        *("beacon_base", "token", "media_url", "click_through"),
    )
}
_MARK = re.compile("|".join(re.escape(mark) for mark in MARKS.values()))
_NAME_OF = {mark: name for name, mark in MARKS.items()}


def vast_document(ad: ServedAd, version: str) -> bytes:
    creative = ad.creative
    texts = {
        "ad_id": str(ad.campaign.id),
        "title": ad.campaign.name,
        "ad_serving_id": ad.ad_serving_id,
        "creative_id": str(creative.id),
        "width": str(creative.width),
        "height": str(creative.height),
        "bitrate": str(creative.bitrate_kbps),
        "file_size": str(creative.file_size),
        "advertiser": ad.campaign.advertiser_name or "",
        "category": ad.campaign.category or "",
    }
    urls = {
        "beacon_base": ad.beacon_base,
        "token": ad.token,
        "media_url": ad.media_url,
        "click_through": creative.click_through_url or "",
    }
    if not (PLAIN_TEXT.fullmatch("".join(texts.values())) and PLAIN_URLS.fullmatch("".join(urls.values()))):
        return render(inline_ad(ad), version)
    literals, names = _skeleton(
        version,
        creative.duration,
        creative.video_codec,
        bool(urls["click_through"]),
        bool(texts["advertiser"]),
        ad.campaign.category_authority if texts["category"] else None,
    )
    values = texts | urls
    parts = [literals[0]]
    for name, literal in zip(names, literals[1:], strict=True):
        parts += (values[name], literal)
    return "".join(parts).encode()


def pod_document(ads: list[ServedAd], version: str, sequenced: int) -> bytes:
    """Several ads in one document: the first `sequenced` an ad pod (sequence 1..k, VAST 4.2 §3.2.1), the
    rest standalone (a buffet the player may substitute a failed ad with). Each ad is filled as a single
    ad's document is, then the Ad elements are put side by side under one VAST element."""
    head = tail = b""
    parts = []
    for number, ad in enumerate(ads, 1):
        document = vast_document(ad, version)
        start = document.index(b"<Ad ")
        end = document.rindex(b"</Ad>") + len(b"</Ad>")
        head, tail = document[:start], document[end:]
        element = document[start:end]
        if number <= sequenced:  # render_ads writes sequence right after id
            opening = element.index(b">")
            element = element[:opening] + b' sequence="%d"' % number + element[opening:]
        parts.append(element)
    return head + b"".join(parts) + tail if parts else no_fill_document(version)


@lru_cache(maxsize=len(SUPPORTED_VERSIONS))
def no_fill_document(version: str) -> bytes:
    return render(None, version)


@lru_cache(maxsize=SKELETONS_PER_WORKER)
def _skeleton(
    version: str,
    duration: float,
    video_codec: str,
    with_click_through: bool,
    with_advertiser: bool,
    category_authority: str | None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The document of this shape cut at its marks: the literal text around them, and the value each stands
    for (numbers too: render writes them with str(), so a mark takes their place)."""
    marks = SimpleNamespace(**MARKS)
    creative = SimpleNamespace(
        id=marks.creative_id,
        duration=duration,
        width=marks.width,
        height=marks.height,
        bitrate_kbps=marks.bitrate,
        video_codec=video_codec,
        file_size=marks.file_size,
        click_through_url=marks.click_through if with_click_through else None,
    )
    ad = ServedAd(
        ad_serving_id=marks.ad_serving_id,
        campaign=SimpleNamespace(
            id=marks.ad_id,
            name=marks.title,
            advertiser_name=marks.advertiser if with_advertiser else None,
            category=marks.category if category_authority else None,
            category_authority=category_authority,
        ),
        creative=creative,
        media_url=marks.media_url,
        beacon_base=marks.beacon_base,
        token=marks.token,
    )
    document = render(inline_ad(ad), version).decode()
    return tuple(_MARK.split(document)), tuple(_NAME_OF[mark] for mark in _MARK.findall(document))
