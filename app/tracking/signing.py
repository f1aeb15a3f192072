"""Signed beacon tokens: every tracking URL we emit carries one, so a beacon cannot be forged, replayed for
another campaign or creative, or fired long after the ad was served.

A token is `<ad serving id>~<campaign>~<creative>~<cost>~<flags>.<timestamp>.<HMAC-SHA256>` (itsdangerous),
UUIDs in 22-character base64url, the impression's cost in money units (base 36; billed at the price of the
moment the ad was served), flags `p` when no personal data may be stored, `t` for test traffic (a console
preview: counted apart, never billed, app.tracking.test_traffic), followed by the ad's position in its pod
(1-20; none for a single ad), then, when the request had one, `~<device key>` (22 characters, the keyed
hash frequency caps count the impression by, app.serving.caps), then, when it came through a supply tag,
`~t<tag id>` (base 36, app.supply): short enough for the twenty URLs of a VAST document. Tokens without the
newer optional parts stay valid.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, TimestampSigner

SALT = "beacon-v1"
_MAX_TAG_TEXT = 7  # "t" and a supply tag id below 2**31 in base 36


class InvalidBeacon(ValueError):
    """A token that is malformed, tampered with, signed with another key, or expired."""


@dataclass(frozen=True, slots=True)
class BeaconClaims:
    ad_serving_id: str
    campaign_id: uuid.UUID
    creative_id: uuid.UUID
    cost_units: int
    private: bool
    issued_at: datetime
    pod_position: int = 0  # 1..k within a pod, 0 for a single ad
    device: str | None = None  # the frequency-cap device key (app.serving.caps), when the request had one
    supply_tag: int = 0  # the supply tag the ad was requested through (app.supply), 0 for none
    test: bool = False  # test traffic (a console preview): verified, counted apart, never billed


def _compact(value: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(value.bytes).rstrip(b"=").decode()


def _expand(value: str) -> uuid.UUID:
    if len(value) != 22:
        raise InvalidBeacon("malformed token")
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(value + "=="))
    except (ValueError, TypeError):
        raise InvalidBeacon("malformed token") from None


def base36(value: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        value, remainder = divmod(value, 36)
        text = digits[remainder] + text
        if not value:
            return text


def new_ad_serving_id(at: float | None = None) -> str:
    """A UUIDv7 (RFC 9562 §5.7): 48 bits of Unix time in milliseconds, the version, 74 random bits. The time
    is when the ad was served (`at`, seconds since the epoch, now by default): the raw event tables are
    partitioned by that day (`served_at`)."""
    random_bits = int.from_bytes(os.urandom(10), "big")  # 12 bits of rand_a, 62 of rand_b (6 unused)
    value = (
        (time.time_ns() // 1_000_000 if at is None else int(at * 1000)) << 80
        | 0x7 << 76
        | (random_bits >> 62 & 0xFFF) << 64
        | 0b10 << 62
        | random_bits & (1 << 62) - 1
    )
    return _compact(uuid.UUID(int=value))


def served_at(ad_serving_id: str) -> float | None:
    """When an id of `new_ad_serving_id` was made (seconds since the epoch); None for any other id (those
    issued before ids carried their time, or not ours)."""
    if len(ad_serving_id) != 22:
        return None
    try:
        raw = base64.urlsafe_b64decode(ad_serving_id + "==")
    except ValueError:
        return None
    if len(raw) != 16 or raw[6] >> 4 != 7 or raw[8] >> 6 != 0b10:
        return None
    return int.from_bytes(raw[:6], "big") / 1000


class BeaconSigner:
    """Signs and verifies beacon tokens. A token is valid from `clock_skew_seconds` before its timestamp
    (the serving host's clock may run ahead of the tracking host's) to `max_age_seconds` plus that skew
    after it."""

    def __init__(self, secret_key: str, max_age_seconds: int, clock_skew_seconds: int = 0):
        self.signer = TimestampSigner(secret_key, salt=SALT, digest_method=hashlib.sha256)
        self.max_age_seconds = max_age_seconds
        self.clock_skew_seconds = clock_skew_seconds

    def sign(
        self,
        ad_serving_id: str,
        campaign_id: uuid.UUID,
        creative_id: uuid.UUID,
        cost_units: int,
        private: bool,
        pod_position: int = 0,
        device: str | None = None,
        supply_tag: int = 0,
        test: bool = False,
    ) -> str:
        cost = base36(cost_units)
        flags = ("p" if private else "") + ("t" if test else "") + (str(pod_position) if pod_position else "")
        payload = f"{ad_serving_id}~{_compact(campaign_id)}~{_compact(creative_id)}~{cost}~{flags}"
        if device:
            payload += f"~{device}"
        if supply_tag:
            payload += f"~t{base36(supply_tag)}"
        return self.signer.sign(payload).decode()

    def verify(self, token: str) -> BeaconClaims:
        if not token or len(token) > 256:
            raise InvalidBeacon("missing or malformed token")
        try:
            # Ages are checked below: itsdangerous refuses any timestamp ahead of the local clock.
            payload, issued_at = self.signer.unsign(token, return_timestamp=True)
        except BadSignature:
            raise InvalidBeacon("invalid token signature") from None
        age = time.time() - issued_at.timestamp()
        if not -self.clock_skew_seconds <= age <= self.max_age_seconds + self.clock_skew_seconds:
            raise InvalidBeacon("expired token" if age > 0 else "token issued in the future")
        parts = payload.decode().split("~")
        if len(parts) > 7 or len(parts) < 5 or len(parts[0]) != 22:
            raise InvalidBeacon("malformed token")
        device, supply_tag = None, 0
        for part in parts[5:]:  # the device key, then the supply tag, each optional
            if len(part) == 22 and device is None and not supply_tag:
                device = part
            elif part.startswith("t") and 1 < len(part) <= _MAX_TAG_TEXT and not supply_tag:
                try:
                    supply_tag = int(part[1:], 36)
                except ValueError:
                    raise InvalidBeacon("malformed token") from None
            else:
                raise InvalidBeacon("malformed token")
        flags = parts[4]
        position = flags.removeprefix("p").removeprefix("t")
        return BeaconClaims(
            ad_serving_id=parts[0],
            campaign_id=_expand(parts[1]),
            creative_id=_expand(parts[2]),
            cost_units=int(parts[3], 36),
            private=flags.startswith("p"),
            issued_at=issued_at,  # itsdangerous gives it in UTC, timezone-aware
            pod_position=int(position) if position.isdigit() else 0,
            device=device,
            supply_tag=supply_tag,
            test=flags.removeprefix("p").startswith("t"),
        )
