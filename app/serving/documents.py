"""The VAST document of a served ad, filled in from a skeleton rendered once per VAST version and ad shape.

Rendering with lxml took about a quarter of a /vast request's CPU. A document depends on the ad's values
(ids, title, advertiser, category, URLs, token, media attributes) and on its shape (duration, codec, whether
it has a click-through, an advertiser, a category and which taxonomy, its creative's verification vendors),
of which there are few. The skeleton
of a shape is rendered by the same `render`, with a mark in place of each value; a fill puts the values in.
Values that XML would escape or alter take the whole render instead, so both ways give the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from types import SimpleNamespace

from app.serving.ads import CODEC_NAMES, ServedAd, inline_ad, inline_ad_identity, linear_ad
from app.serving.wrappers import wrapper_ad
from vast.macros import ERRORCODE
from vast.model import MediaFile, Verification
from vast.render import SUPPORTED_VERSIONS, render, render_ads

# VAST versions x durations x media shapes x with or without a click-through, an advertiser, a category
SKELETONS_PER_WORKER = 1024
# What lxml writes exactly as given: printable ASCII without " & < > in text and attributes (the title,
# ids and numbers); in the CDATA sections that hold URLs, "&" too (without ">" no "]]>" can end them).
PLAIN_TEXT = re.compile(r"[ !#-%'-;=?-~]*")
PLAIN_URLS = re.compile(r"[!#-;=?-~]*")
MARKS = {  # what each mark stands for; plain, so lxml writes them as they are
    name: f"@@{name}@@"
    for name in (
        *("ad_id", "title", "ad_serving_id", "creative_id", "universal_ad_id", "advertiser", "category"),
        *("beacon_base", "token", "click_through"),
    )
}
_MARK = re.compile(r"@@([a-z_]+(?:\.[a-z_]+)?(?:\.\d+)?)@@")


def vast_document(ad: ServedAd, version: str) -> bytes:
    creative = ad.creative
    if creative.wrapper is not None:  # a VAST redirect line item (app.serving.wrappers)
        return render(wrapper_ad(ad), version)
    vast_creative = inline_ad_identity(ad)
    texts = {
        "ad_id": str(ad.campaign.id),
        "title": ad.campaign.name,
        "ad_serving_id": ad.ad_serving_id,
        "creative_id": vast_creative[0],
        "universal_ad_id": vast_creative[2],
        "advertiser": ad.campaign.advertiser_name or "",
        "category": ad.campaign.category or "",
    }
    urls = {
        "beacon_base": ad.beacon_base,
        "token": ad.token,
        "click_through": ad.click_through or "",
    }
    media = [creative.mezzanine, *creative.media_files]
    for index, (entry, url) in enumerate(zip(media, (ad.mezzanine_url, *ad.media_urls), strict=True)):
        prefix = "mezzanine" if index == 0 else "media"
        suffix = "" if index == 0 else f".{index - 1}"
        urls[f"{prefix}.url{suffix}"] = url
        texts |= {
            f"{prefix}.width{suffix}": str(entry.width),
            f"{prefix}.height{suffix}": str(entry.height),
            f"{prefix}.bitrate{suffix}": str(entry.bitrate_kbps),
            f"{prefix}.file_size{suffix}": str(entry.file_size),
            f"{prefix}.codec{suffix}": entry.codec or CODEC_NAMES.get(creative.video_codec, ""),
        }
    if not (
        PLAIN_TEXT.fullmatch("".join(texts.values()))
        and PLAIN_URLS.fullmatch("".join(urls.values()))
        and not any("@@" in repr(verification) for verification in creative.verifications)  # no mark in them
    ):
        return render(inline_ad(ad), version)
    known_codec = creative.video_codec in CODEC_NAMES
    literals, names = _skeleton(
        version,
        creative.duration,
        known_codec,
        tuple(bool(entry.codec) or known_codec for entry in creative.media_files),
        vast_creative[1],
        bool(urls["click_through"]),
        bool(texts["advertiser"]),
        ad.campaign.category_authority if texts["category"] else None,
        creative.verifications,
    )
    values = texts | urls
    parts = [literals[0]]
    for name, literal in zip(names, literals[1:], strict=True):
        parts += (values[name], literal)
    return "".join(parts).encode()


def pod_document(
    ads: list[ServedAd],
    version: str,
    sequenced: int,
    no_ad_error: str | None = None,
    documents: Mapping[str, bytes] | None = None,
) -> bytes:
    """Several ads in one document: the first `sequenced` an ad pod (sequence 1..k, VAST 4.2 §3.2.1), the
    rest standalone (a buffet the player may substitute a failed ad with). Each ad is filled as a single
    ad's document is, or taken from `documents` (by ad serving id: an unwrapped partner's InLine, already in
    `version`, without sequence), then the Ad elements are put side by side under one VAST element. No ads:
    the no-fill document, with `no_ad_error` (`no_ad_url`) in 4.x."""
    head = tail = b""
    parts = []
    documents = documents or {}
    for number, ad in enumerate(ads, 1):
        document = documents.get(ad.ad_serving_id) or vast_document(ad, version)
        start = document.find(b"<Ad ")
        start = document.index(b"<Ad>") if start < 0 else start
        end = document.rindex(b"</Ad>") + len(b"</Ad>")
        head, tail = document[:start], document[end:]
        element = document[start:end]
        if number <= sequenced:  # render_ads writes sequence right after id
            opening = element.index(b">")
            element = element[:opening] + b' sequence="%d"' % number + element[opening:]
        parts.append(element)
    return head + b"".join(parts) + tail if parts else no_fill_document(version, no_ad_error)


def no_ad_url(base_url: str) -> str:
    """Where a player reports that it found no ad: a VAST 4.x root <Error>, fired with [ERRORCODE] 303 by a
    player that reached us through wrappers (VAST 4.3 §2.3.6); app.tracking.views counts it."""
    return f"{base_url}/t/no-ad?code={ERRORCODE}"


@lru_cache(maxsize=4 * len(SUPPORTED_VERSIONS))
def no_fill_document(version: str, error_url: str | None = None) -> bytes:
    """The empty <VAST/> of `version`; in 4.x with `error_url` as its root <Error> (3.0 has none)."""
    return render_ads((), version, no_ad_errors=(error_url,) if error_url else ())


@lru_cache(maxsize=SKELETONS_PER_WORKER)
def _skeleton(
    version: str,
    duration: float,
    known_codec: bool,
    media_codecs: tuple[bool, ...],
    registry: str,
    with_click_through: bool,
    with_advertiser: bool,
    category_authority: str | None,
    verifications: tuple[Verification, ...],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The document of this shape cut at its marks: the literal text around them, and the value each stands
    for (numbers too: render writes them with str(), so a mark takes their place). The shape: how many media
    files, which have a codec, the UniversalAdId registry, and the verifications, rendered as they are."""
    marks = SimpleNamespace(**{name.replace(".", "_"): mark for name, mark in MARKS.items()})

    def media(prefix: str, suffix: str, with_codec: bool) -> MediaFile:
        mark = "@@{}.{}{}@@".format
        return MediaFile(
            url=mark(prefix, "url", suffix),
            width=mark(prefix, "width", suffix),
            height=mark(prefix, "height", suffix),
            bitrate_kbps=mark(prefix, "bitrate", suffix),
            codec=mark(prefix, "codec", suffix) if with_codec else None,
            file_size=mark(prefix, "file_size", suffix),
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
        creative=SimpleNamespace(
            duration=duration,
            verifications=verifications,
        ),
        beacon_base=marks.beacon_base,
        token=marks.token,
        click_through=marks.click_through if with_click_through else None,
    )
    files = tuple(media("media", f".{index}", codec) for index, codec in enumerate(media_codecs))
    identity = (marks.creative_id, registry, marks.universal_ad_id)
    document = render(linear_ad(ad, identity, files, media("mezzanine", "", known_codec)), version).decode()
    pieces = _MARK.split(document)
    return tuple(pieces[0::2]), tuple(pieces[1::2])
