"""An ad request as players and SSAI servers send it: query parameters, plus device headers.

Validation is marshmallow's; unknown parameters are ignored (players append their own, and cache busters).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import marshmallow as ma
from werkzeug.datastructures import Headers, MultiDict

from vast.render import DEFAULT_VERSION, SUPPORTED_VERSIONS

MAX_SECONDS = 3600
# IAB guidelines for identifier-for-advertising types (CTV and mobile).
IFA_TYPES = ("aaid", "idfa", "rida", "afai", "msai", "tifa", "vida", "lgudid", "ppid", "sspid", "sessionid")
# OpenRTB 2.x device types, by number or name.
DEVICE_TYPES = {
    "mobile": 1,
    "pc": 2,
    "ctv": 3,
    "phone": 4,
    "tablet": 5,
    "connected_device": 6,
    "stb": 7,
    "ooh": 8,
}


class AdRequestError(ValueError):
    def __init__(self, details: dict[str, str]):
        super().__init__("Invalid ad request: " + "; ".join(f"{k}: {v}" for k, v in details.items()))
        self.details = details


def _ip(value: str) -> None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ma.ValidationError("Not a valid IPv4 or IPv6 address.") from None


def _device_type(value: str) -> None:
    if value.lower() not in DEVICE_TYPES and value not in {str(n) for n in DEVICE_TYPES.values()}:
        raise ma.ValidationError(f"Must be an OpenRTB device type: 1-8 or one of {', '.join(DEVICE_TYPES)}.")


class AdRequestQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    max_duration = ma.fields.Float(validate=ma.validate.Range(min=1, max=MAX_SECONDS), allow_nan=False)
    dur = ma.fields.Float(validate=ma.validate.Range(min=1, max=MAX_SECONDS), allow_nan=False)
    min_duration = ma.fields.Float(validate=ma.validate.Range(min=0, max=MAX_SECONDS), allow_nan=False)
    vast_version = ma.fields.String(validate=ma.validate.OneOf(SUPPORTED_VERSIONS))
    ifa = ma.fields.String(validate=ma.validate.Length(max=128))
    ifa_type = ma.fields.String(validate=ma.validate.OneOf(IFA_TYPES))
    app_bundle = ma.fields.String(validate=ma.validate.Length(max=255))
    app_name = ma.fields.String(validate=ma.validate.Length(max=255))
    device_type = ma.fields.String(validate=_device_type)
    ip = ma.fields.String(validate=_ip)
    ua = ma.fields.String(validate=ma.validate.Length(max=1024))
    us_privacy = ma.fields.String(
        validate=ma.validate.Regexp(r"^1[nNyY-]{3}$", error="Must be a US Privacy string such as 1YNN.")
    )
    gdpr = ma.fields.Integer(validate=ma.validate.OneOf((0, 1), error="Must be 0 or 1."))
    gdpr_consent = ma.fields.String(
        validate=ma.validate.Regexp(r"^[A-Za-z0-9_.\-]{0,4096}$", error="Must be a TCF consent string.")
    )
    cb = ma.fields.String(validate=ma.validate.Length(max=128))
    request_id = ma.fields.String(validate=ma.validate.Length(min=1, max=128))

    @ma.validates_schema
    def durations_in_order(self, data, **_) -> None:
        if "max_duration" in data and "dur" in data and data["max_duration"] != data["dur"]:
            raise ma.ValidationError("Give max_duration or its alias dur, not two different values.", "dur")
        maximum = data.get("max_duration", data.get("dur"))
        if maximum is not None and data.get("min_duration", 0) > maximum:
            raise ma.ValidationError("Must not exceed max_duration.", "min_duration")


_schema = AdRequestQuery()


@dataclass(frozen=True, slots=True)
class AdRequest:
    min_duration: float
    max_duration: float
    vast_version: str
    ip: str | None
    user_agent: str | None
    ifa: str | None
    ifa_type: str | None
    app_bundle: str | None
    app_name: str | None
    device_type: str | None
    us_privacy: str | None
    gdpr: int | None
    gdpr_consent: str | None
    request_id: str | None

    @property
    def may_store_personal_data(self) -> bool:
        """No IP, user agent or device id is kept when the user opted out (CCPA) or GDPR applies
        without a consent string."""
        opted_out = bool(self.us_privacy) and self.us_privacy[2] in "yY"
        return not opted_out and not (self.gdpr == 1 and not self.gdpr_consent)


def parse_ad_request(args: MultiDict, headers: Headers, remote_addr: str | None) -> AdRequest:
    try:
        data = _schema.load({key: args.get(key) for key in args if key in _schema.fields})
    except ma.ValidationError as exc:
        raise AdRequestError(
            {field: " ".join(messages) for field, messages in exc.messages.items()}
        ) from None
    device_ip = headers.get("X-Device-IP")
    if device_ip is not None:
        try:
            _ip(device_ip)
        except ma.ValidationError as exc:
            raise AdRequestError({"X-Device-IP": exc.messages[0]}) from None
    return AdRequest(
        min_duration=data.get("min_duration", 0.0),
        max_duration=data.get("max_duration", data.get("dur", MAX_SECONDS)),
        vast_version=data.get("vast_version", DEFAULT_VERSION),
        # SSAI servers speak for the device (VAST 4.1 X-Device-*); else the query, else the connection.
        ip=device_ip or data.get("ip") or remote_addr,
        user_agent=headers.get("X-Device-User-Agent") or data.get("ua") or headers.get("User-Agent"),
        ifa=data.get("ifa"),
        ifa_type=data.get("ifa_type"),
        app_bundle=data.get("app_bundle"),
        app_name=data.get("app_name"),
        device_type=data.get("device_type"),
        us_privacy=data.get("us_privacy"),
        gdpr=data.get("gdpr"),
        gdpr_consent=data.get("gdpr_consent"),
        request_id=data.get("request_id"),
    )
