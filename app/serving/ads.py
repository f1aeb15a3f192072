"""From a decision to the ad players get: signed tracking URLs and the VAST (or JSON) description."""

from __future__ import annotations

from dataclasses import dataclass

from app.creatives.identity import universal_ad_id
from app.serving.caps import is_capped
from app.serving.catalog import CampaignEntry, CreativeEntry, MediaEntry
from app.tracking.events import BEACON_EVENTS
from app.tracking.signing import BeaconSigner, new_ad_serving_id
from vast.macros import ERRORCODE
from vast.model import Category, InlineAd, LinearCreative, MediaFile, Tracking

AD_SYSTEM = "CTV Ad Server"
AD_SYSTEM_VERSION = "1.0"
# Player events we ask for in TrackingEvents (impression, click and error have elements of their own): those
# of CTV linear video. A version's document lists those its schema knows (vast.render renames or drops the
# others: loaded is 4.1+, playerExpand/playerCollapse are fullscreen/exitFullscreen in 3.0). The tracker
# counts every event of BEACON_EVENTS, listed here or not.
TRACKED_EVENTS = (
    *("creativeView", "loaded", "start", "firstQuartile", "midpoint", "thirdQuartile", "complete"),
    *("pause", "resume", "rewind", "mute", "unmute", "skip", "playerExpand", "playerCollapse"),
)
assert set(TRACKED_EVENTS) <= set(BEACON_EVENTS)
CODEC_NAMES = {"h264": "H.264", "hevc": "HEVC"}


@dataclass(frozen=True, slots=True)
class ServedAd:
    ad_serving_id: str
    campaign: CampaignEntry
    creative: CreativeEntry
    beacon_base: str  # ".../t/" ; an event name and "?t=<token>" follow
    token: str
    media_urls: tuple[str, ...] = ()  # absolute, one per creative.media_files
    mezzanine_url: str = ""  # absolute
    tag_uri: str = ""  # a VAST redirect line item's partner tag, macros expanded (app.serving.wrappers)
    # The creative's click-through as served: its server macros filled for the request when it has any
    # (app.serving.wrappers.with_request_macros), else as entered.
    click_through: str | None = None

    @property
    def media_url(self) -> str:
        """The file a JSON answer names: the first (largest) of media_urls."""
        return self.media_urls[0]

    def beacon(self, event: str) -> str:
        return f"{self.beacon_base}{event}?t={self.token}"

    def error_beacon(self) -> str:
        return f"{self.beacon_base}error?t={self.token}&code={ERRORCODE}"


def serve(
    campaign: CampaignEntry,
    creative: CreativeEntry,
    signer: BeaconSigner,
    base_url: str,
    *,
    private: bool,
    ad_serving_id: str | None = None,
    pod_position: int = 0,
    device: str | None = None,
    supply_tag: int = 0,
    test: bool = False,
) -> ServedAd:
    """The ad as served; its token carries `device` (a frequency-cap device key) when the campaign or its
    advertiser is capped, for the impression to be counted against it, the request's supply tag (0: none)
    for its events to be counted by tag, and `test` for test traffic (a console preview: its beacons are
    counted apart, never billed)."""
    ad_serving_id = ad_serving_id or new_ad_serving_id()
    media_urls = tuple(_absolute(media.url, base_url) for media in creative.media_files)
    return ServedAd(
        ad_serving_id=ad_serving_id,
        campaign=campaign,
        creative=creative,
        media_urls=media_urls,
        mezzanine_url=_absolute(creative.media_url, base_url),
        click_through=creative.click_through_url,
        beacon_base=f"{base_url}/t/",
        token=signer.sign(
            ad_serving_id,
            campaign.id,
            creative.id,
            campaign.cost_units,
            private,
            pod_position,
            device if is_capped(campaign) else None,
            supply_tag,
            test,
        ),
    )


def _absolute(url: str, base_url: str) -> str:
    return url if "://" in url else base_url + url


def _media_file(media: MediaEntry, url: str, video_codec: str) -> MediaFile:
    return MediaFile(
        url=url,
        width=media.width,
        height=media.height,
        bitrate_kbps=media.bitrate_kbps,
        codec=media.codec or CODEC_NAMES.get(video_codec),
        file_size=media.file_size,
    )


def inline_ad_identity(ad: ServedAd) -> tuple[str, str, str]:
    """(Creative@id, UniversalAdId registry, UniversalAdId and Creative@adId value), as
    app.creatives.identity defines them."""
    creative = ad.creative
    identity = creative.identity or str(creative.id)
    return (identity, *universal_ad_id(identity, creative.ad_id))


def inline_ad(ad: ServedAd) -> InlineAd:
    """The ad's VAST description. MediaFiles: every rendition, largest first, each with the attributes a
    player picks by (size, bitrate, RFC 6381 codec); the original as the Mezzanine."""
    creative = ad.creative
    files = tuple(
        _media_file(media, url, creative.video_codec)
        for media, url in zip(creative.media_files, ad.media_urls, strict=True)
    )
    mezzanine = _media_file(creative.mezzanine, ad.mezzanine_url, creative.video_codec)
    return linear_ad(ad, inline_ad_identity(ad), files, mezzanine)


def linear_ad(
    ad: ServedAd, identity: tuple[str, str, str], media_files: tuple[MediaFile, ...], mezzanine: MediaFile
) -> InlineAd:
    """The ad with its creative's identity and files given (documents.py gives marks for them)."""
    creative_id, registry, universal_id = identity
    campaign = ad.campaign
    creative = ad.creative
    return InlineAd(
        ad_id=str(campaign.id),
        ad_system=AD_SYSTEM,
        ad_system_version=AD_SYSTEM_VERSION,
        ad_title=campaign.name,
        ad_serving_id=ad.ad_serving_id,
        impressions=(ad.beacon("impression"),),
        errors=(ad.error_beacon(),),
        advertiser=campaign.advertiser_name,
        category=Category(campaign.category, campaign.category_authority) if campaign.category else None,
        creative=LinearCreative(
            creative_id=creative_id,
            universal_ad_id=universal_id,
            universal_ad_id_registry=registry,
            ad_id=universal_id,
            duration_seconds=creative.duration,
            media_files=media_files,
            mezzanine=mezzanine,
            tracking=tuple(Tracking(event, ad.beacon(event)) for event in TRACKED_EVENTS),
            click_through=ad.click_through,
            click_tracking=(ad.beacon("click"),),
        ),
        verifications=creative.verifications,
    )


def tracking_urls(ad: ServedAd) -> dict[str, str]:
    urls = {event: ad.beacon(event) for event in ("impression", *TRACKED_EVENTS, "click")}
    urls["error"] = ad.error_beacon()
    return urls
