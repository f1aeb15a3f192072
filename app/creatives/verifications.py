"""Third-party verification of a creative: the measurement vendors whose scripts a player runs with the ad
(VAST 4.1 §3.16 AdVerifications, Open Measurement: JavaScriptResource with apiFramework "omid").

Stored on the creative as a JSON list, validated here (https only: OM SDK players load the script from an
ad's page or app, and most refuse plain http); carried into the serving catalog as `vast.model.Verification`
values, so the decision path never reads them from the database.
"""

from __future__ import annotations

import marshmallow as ma

from vast.model import Verification

MAX_VERIFICATIONS = 10
MAX_PARAMETERS = 4096
_URL = {
    "schemes": {"https"},
    "require_tld": True,
    "validate": ma.validate.Length(max=2048),
    "error_messages": {"invalid": "Must be an https URL."},
}
_VENDOR = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,254}$"


class VerificationSchema(ma.Schema):
    vendor = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(_VENDOR, error="Must be a vendor key such as company.com-omid."),
        metadata={
            "description": "Verification@vendor: the vendor's key, [domain]-[useCase], e.g. company.com-omid"
        },
    )
    javascript_url = ma.fields.Url(
        required=True,
        **_URL,
        metadata={"description": "JavaScriptResource (apiFramework omid): the vendor's script, https"},
    )
    parameters = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=MAX_PARAMETERS),
        metadata={
            "description": "VerificationParameters: the string the script is given, as the vendor wrote it"
        },
    )
    not_executed_url = ma.fields.Url(
        load_default=None,
        allow_none=True,
        **_URL,
        metadata={
            "description": "Tracking verificationNotExecuted: called when the player cannot run the script, "
            "https; may carry [REASON]"
        },
    )


class CreativeVerificationsSchema(ma.Schema):
    verifications = ma.fields.List(
        ma.fields.Nested(VerificationSchema),
        required=True,
        validate=ma.validate.Length(max=MAX_VERIFICATIONS),
        metadata={
            "description": f"The creative's verification vendors, at most {MAX_VERIFICATIONS}; [] for none"
        },
    )


def vast_verifications(stored: list[dict] | None) -> tuple[Verification, ...]:
    """The creative's stored verifications as the VAST model's values."""
    return tuple(
        Verification(
            vendor=entry["vendor"],
            javascript_url=entry["javascript_url"],
            parameters=entry.get("parameters"),
            not_executed_urls=(entry["not_executed_url"],) if entry.get("not_executed_url") else (),
        )
        for entry in stored or ()
    )
