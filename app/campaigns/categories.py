"""What a campaign advertises, as an IAB category id; the VAST <Category> authority of each form.

Two forms are accepted: an IAB Tech Lab Ad Product Taxonomy 2.0 id (digits: "1534"), the taxonomy VAST 4.1
recommends for ad categories, and an IAB Content Taxonomy 1.0 id ("IAB22" or "IAB22-1"), which OpenRTB 2.x
`bcat` lists use by default.
"""

from __future__ import annotations

import re

MAX_LENGTH = 16
AD_PRODUCT_TAXONOMY = "https://iabtechlab.com/standards/ad-product-taxonomy"
CONTENT_TAXONOMY = "https://iabtechlab.com/standards/content-taxonomy"
INVALID = (
    "Must be an IAB Ad Product Taxonomy 2.0 id (digits, e.g. 1534) or an IAB Content Taxonomy 1.0 id "
    "(e.g. IAB22-1)."
)

_AD_PRODUCT = re.compile(r"[0-9]{1,16}")
_CONTENT_1 = re.compile(r"IAB([0-9]{1,3})(?:-([0-9]{1,3}))?", re.IGNORECASE)


def normalise_category(raw: str) -> str:
    """The category id in its canonical spelling ("iab22-1" is "IAB22-1"); ValueError when it is neither
    form."""
    value = raw.strip()
    if _AD_PRODUCT.fullmatch(value):
        return value
    content = _CONTENT_1.fullmatch(value)
    if content:
        return "IAB" + "-".join(part for part in content.groups() if part is not None)
    raise ValueError(INVALID)


def category_authority(category: str) -> str:
    """The taxonomy a (normalised) category id belongs to, as VAST's Category@authority names it."""
    return CONTENT_TAXONOMY if category[:3].upper() == "IAB" else AD_PRODUCT_TAXONOMY
