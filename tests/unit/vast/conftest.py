import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from vast.macros import CACHEBUSTING, ERRORCODE
from vast.model import Category, InlineAd, LinearCreative, MediaFile, Tracking

SAMPLES_DIR = Path(__file__).parent / "samples"


def _full_ad() -> InlineAd:
    creative = LinearCreative(
        creative_id="cr-42",
        universal_ad_id="UAID-0042",
        duration_seconds=30.0,
        media_files=(
            MediaFile(
                "https://cdn.example.com/v/1080.mp4", 1920, 1080, 6000, codec="H.264", file_size=22_500_000
            ),
            MediaFile("https://cdn.example.com/v/360.mp4", 640, 360, 700),
        ),
        tracking=(
            Tracking("start", f"https://t.example.com/ev?e=start&cb={CACHEBUSTING}"),
            Tracking("firstQuartile", "https://t.example.com/ev?e=q1"),
            Tracking("progress", "https://t.example.com/ev?e=p5", offset="00:00:05.000"),
            Tracking("complete", "https://t.example.com/ev?e=complete"),
        ),
        click_through="https://brand.example.com/landing",
        click_tracking=("https://t.example.com/click?n=1", "https://3p.example.net/click"),
        universal_ad_id_registry="ad-id.org",
        ad_id="ADID-7",
    )
    return InlineAd(
        ad_id="ad-7",
        ad_system="ExampleAdServer",
        ad_system_version="2.1",
        ad_title="Spring campaign 30s",
        ad_serving_id="0f8e3c5a-1b2c-4d5e-8f90-123456789abc",
        impressions=(
            f"https://t.example.com/imp?cb={CACHEBUSTING}",
            "https://3p.example.net/imp",
        ),
        errors=(f"https://t.example.com/err?code={ERRORCODE}", "https://3p.example.net/err"),
        creative=creative,
        advertiser="Example Brand",
        category=Category("1534", "https://iabtechlab.com/standards/ad-product-taxonomy"),
        description="Thirty seconds of spring",
        sequence=1,
    )


@pytest.fixture
def full_ad() -> InlineAd:
    """An ad using every field the model offers."""
    return _full_ad()


@pytest.fixture
def make_ad() -> Callable[..., InlineAd]:
    """Build the full ad with InlineAd fields replaced (LinearCreative ones through `creative_fields`)."""

    def make(creative_fields: dict[str, object] | None = None, **changes: object) -> InlineAd:
        ad = _full_ad()
        if creative_fields:
            creative = changes.get("creative", ad.creative)
            changes["creative"] = dataclasses.replace(creative, **creative_fields)
        return dataclasses.replace(ad, **changes)

    return make


@pytest.fixture
def samples_dir() -> Path:
    return SAMPLES_DIR
