"""Immutable description of an inline linear VAST ad, independent of the VAST version rendered.

Constructors check what the schemas would reject, so a bad ad fails where it is built
rather than as an invalid document served to a player.
"""

from dataclasses import dataclass

from vast.events import ALL_EVENTS
from vast.timecode import format_duration, is_valid_offset

DELIVERY_METHODS = frozenset({"progressive", "streaming"})


@dataclass(frozen=True, slots=True)
class MediaFile:
    url: str
    width: int
    height: int
    bitrate_kbps: int | None = None
    mime_type: str = "video/mp4"
    delivery: str = "progressive"
    codec: str | None = None  # RFC 6381 (e.g. "avc1.640028") or a name; MediaFile@codec, every version
    file_size: int | None = None  # bytes; emitted as fileSize from VAST 4.1

    def __post_init__(self) -> None:
        if self.delivery not in DELIVERY_METHODS:
            raise ValueError(f"delivery must be one of {sorted(DELIVERY_METHODS)}, got {self.delivery!r}")


@dataclass(frozen=True, slots=True)
class Tracking:
    event: str  # VAST event name; names only older or newer versions know are skipped or renamed
    url: str
    offset: str | None = None  # HH:MM:SS[.mmm] or "n%"; required for the progress event

    def __post_init__(self) -> None:
        if self.event not in ALL_EVENTS:
            raise ValueError(f"unknown VAST tracking event {self.event!r}")
        if self.offset is None:
            if self.event == "progress":
                raise ValueError("a progress tracking event needs an offset")
        elif not is_valid_offset(self.offset):
            raise ValueError(f"tracking offset must be HH:MM:SS[.mmm] or a percentage, got {self.offset!r}")


@dataclass(frozen=True, slots=True)
class LinearCreative:
    creative_id: str
    universal_ad_id: str
    duration_seconds: float
    media_files: tuple[MediaFile, ...]
    tracking: tuple[Tracking, ...] = ()
    click_through: str | None = None
    click_tracking: tuple[str, ...] = ()
    universal_ad_id_registry: str = "unknown"  # "unknown" is the spec's value when no registry applies
    ad_id: str | None = None
    mezzanine: MediaFile | None = None  # the source file, for stitchers to transcode (VAST 4.1+)

    def __post_init__(self) -> None:
        format_duration(self.duration_seconds)  # raises on a value xs:time cannot hold
        if not self.media_files:
            raise ValueError("a linear creative needs at least one media file")


@dataclass(frozen=True, slots=True)
class Category:
    """What the ad advertises (InLine <Category>, VAST 4.0+): a code of the taxonomy `authority` names."""

    code: str  # e.g. "1534"
    authority: str  # URI of the taxonomy, e.g. "https://iabtechlab.com/standards/ad-product-taxonomy"

    def __post_init__(self) -> None:
        if not self.code.strip():
            raise ValueError("a category needs a code")
        if not self.authority or any(c.isspace() for c in self.authority):
            raise ValueError(f"a category authority must be a URI, got {self.authority!r}")


@dataclass(frozen=True, slots=True)
class Verification:
    """A third-party measurement script (InLine <AdVerifications>, VAST 4.1 §3.16): the vendor's key
    (`company.com-omid`), its JavaScriptResource URL (apiFramework `omid`), the VerificationParameters it
    is given, and URLs to call when the player does not run it (Tracking event `verificationNotExecuted`,
    which may carry the [REASON] macro)."""

    vendor: str
    javascript_url: str
    api_framework: str = "omid"
    parameters: str | None = None
    not_executed_urls: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.vendor.strip():
            raise ValueError("a verification needs a vendor")
        if not self.javascript_url.strip():
            raise ValueError("a verification needs a JavaScriptResource URL")


@dataclass(frozen=True, slots=True)
class InlineAd:
    ad_id: str
    ad_system: str
    ad_system_version: str | None
    ad_title: str
    ad_serving_id: str  # emitted from VAST 4.1
    impressions: tuple[str, ...]
    errors: tuple[str, ...]  # URLs keep the raw [ERRORCODE] macro for the player to fill
    creative: LinearCreative
    advertiser: str | None = None  # its name: <Advertiser>, every version
    category: Category | None = None  # <Category>, VAST 4.0+ (3.0 has no such element)
    description: str | None = None
    sequence: int | None = None  # position in an ad pod
    # <AdVerifications> in InLine from VAST 4.1; in an Extension of type "AdVerifications" before it.
    verifications: tuple[Verification, ...] = ()

    def __post_init__(self) -> None:
        if not self.impressions:
            raise ValueError("an inline ad needs at least one impression URL")


@dataclass(frozen=True, slots=True)
class WrapperAd:
    """A VAST <Wrapper>: another server's tag (`vast_ad_tag_uri`, macros already expanded) with our own
    impression, error and tracking URLs, which the player fires besides those of the ad it finds there.

    The three flags are the IAB's Wrapper attributes (VAST 4.x; the 3.0 schema has none of them): follow
    further wrappers, accept several ads (a pod) from the tag, and try the next ad when the tag has none.
    """

    ad_id: str
    ad_system: str
    ad_system_version: str | None
    vast_ad_tag_uri: str
    impressions: tuple[str, ...]
    errors: tuple[str, ...]  # URLs keep the raw [ERRORCODE] macro for the player to fill
    tracking: tuple[Tracking, ...] = ()
    click_tracking: tuple[str, ...] = ()
    follow_additional_wrappers: bool = True
    allow_multiple_ads: bool = False
    fallback_on_no_ad: bool = True
    sequence: int | None = None  # position in an ad pod

    def __post_init__(self) -> None:
        if not self.impressions:
            raise ValueError("a wrapper ad needs at least one impression URL")
        if not self.vast_ad_tag_uri.strip():
            raise ValueError("a wrapper ad needs its VASTAdTagURI")
