"""Genuine beacon URLs: tokens signed with the app's own signer for an ad that exists, one per request."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from app.settings import Settings
from app.tracking.signing import BeaconSigner, new_ad_serving_id
from bench.campaigns import DemoAd


def impression_paths(secret_key: str, ad: DemoAd, count: int) -> Iterator[str]:
    """`count` impression beacons of `ad`, each of a new ad serving id: each one counts."""
    signer = BeaconSigner(secret_key, Settings.beacon_ttl_seconds)  # the bench runs the app's default
    campaign_id, creative_id = uuid.UUID(ad.campaign_id), uuid.UUID(ad.creative_id)
    for _ in range(count):
        token = signer.sign(new_ad_serving_id(), campaign_id, creative_id, ad.cost_units, False)
        yield f"/t/impression?t={token}"
