"""Build IAB VAST XML documents for inline linear video ads.

Entry points: `vast.render.render` / `render_ads` to build documents, `vast.validate.validate`
to check one against the official schema, `vast.macros` for the URL macros. The functions are
not re-exported here so that `vast.render` and `vast.validate` keep naming the modules.
"""

from vast.model import Category, InlineAd, LinearCreative, MediaFile, Tracking
from vast.render import DEFAULT_VERSION, SUPPORTED_VERSIONS
from vast.timecode import format_duration
from vast.validate import VastValidationError

__all__ = [
    "DEFAULT_VERSION",
    "SUPPORTED_VERSIONS",
    "Category",
    "InlineAd",
    "LinearCreative",
    "MediaFile",
    "Tracking",
    "VastValidationError",
    "format_duration",
]
