"""Previews: the console plays a campaign (whatever its status) or one of its creatives through the real
/vast path, without going live.

The console signs a short-lived preview parameter (`/vast?preview=<token>`, made only for a signed-in admin;
itsdangerous, its own salt, PREVIEW_SECONDS): it names the campaign, and optionally the creative. Such a
request skips the decision (no caps, pacing, targeting or separation) and answers with that campaign's ad,
its beacon tokens marked as test traffic (app.tracking.signing): they are verified as usual but counted
apart (app.tracking.test_traffic), never billed, never in delivery, pacing, caps or serving counts. The
request itself is not counted either.

A VAST redirect line item previews as it serves (app.serving.wrappers): its Wrapper around the partner's
tag, or, when it unwraps on the server, the partner's InLine, its beacons (ours) test traffic too; a partner
that fails is named in X-Ad-Request-Warnings, never recorded against the line item.

A campaign being previewed may be a draft or paused, so it is not in the serving catalog: a preview reads it
from the database (two small queries, a third for a redirect line item). That is the one SQL a /vast
request can make, and only with a valid admin-made token; every other request is decided from memory.
"""

from __future__ import annotations

import hashlib
import uuid

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.creatives.models import Creative
from app.creatives.storage import Storage
from app.serving.ads import ServedAd, serve
from app.serving.catalog import load_entries, load_redirects
from app.tracking.signing import BeaconSigner

SALT = "preview-v1"
PREVIEW_SECONDS = 15 * 60


class InvalidPreview(ValueError):
    """A preview parameter that is malformed, tampered with, or expired."""


class PreviewSigner:
    def __init__(self, secret_key: str):
        self.signer = TimestampSigner(secret_key, salt=SALT, digest_method=hashlib.sha256)

    def sign(self, campaign_id: uuid.UUID, creative_id: uuid.UUID | None = None) -> str:
        return self.signer.sign(f"{campaign_id.hex}~{creative_id.hex if creative_id else ''}").decode()

    def verify(self, token: str) -> tuple[uuid.UUID, uuid.UUID | None]:
        """(campaign id, creative id or None). Raises InvalidPreview."""
        try:
            payload = self.signer.unsign(token, max_age=PREVIEW_SECONDS).decode()
        except SignatureExpired:
            raise InvalidPreview("preview link expired: reload the preview page") from None
        except BadSignature:
            raise InvalidPreview("invalid preview parameter") from None
        campaign, _, creative = payload.partition("~")
        return uuid.UUID(campaign), uuid.UUID(creative) if creative else None


def preview_ad(
    session: Session,
    storage: Storage,
    signer: BeaconSigner,
    base_url: str,
    campaign_id: uuid.UUID,
    creative_id: uuid.UUID | None,
) -> ServedAd | None:
    """The campaign's ad as test traffic: the creative named, else its first active unarchived creative (by
    id), or a VAST redirect line item's one ad; None when it has none. Private: a preview stores no personal
    data."""
    where = (Campaign.id == campaign_id,) + (
        (Creative.id == creative_id,)
        if creative_id is not None
        else (Creative.status == "active", Creative.archived_at.is_(None))
    )
    campaign = load_entries(session, storage, where).get(campaign_id)
    if campaign is None and creative_id is None:
        campaign = load_redirects(session, (Campaign.id == campaign_id,)).get(campaign_id)
    if campaign is None:
        return None
    return serve(campaign, campaign.creatives[0], signer, base_url, private=True, test=True)
