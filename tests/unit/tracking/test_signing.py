import time
import uuid

import pytest

from app.tracking.signing import BeaconSigner, InvalidBeacon, base36, new_ad_serving_id

CAMPAIGN, CREATIVE = uuid.uuid4(), uuid.uuid4()


@pytest.fixture
def signer():
    return BeaconSigner("secret-" + "x" * 40, max_age_seconds=3600)


def test_round_trip(signer):
    sid = new_ad_serving_id()
    claims = signer.verify(signer.sign(sid, CAMPAIGN, CREATIVE, 123_456, private=True))
    assert (claims.ad_serving_id, claims.campaign_id, claims.creative_id) == (sid, CAMPAIGN, CREATIVE)
    assert claims.cost_units == 123_456 and claims.private is True
    assert abs(claims.issued_at.timestamp() - time.time()) < 5
    assert signer.verify(signer.sign(sid, CAMPAIGN, CREATIVE, 0, private=False)).private is False


def test_tokens_are_url_safe_and_short(signer):
    token = signer.sign(new_ad_serving_id(), CAMPAIGN, CREATIVE, 10**9, private=False)
    assert len(token) < 160
    assert all(ch.isalnum() or ch in "-_.~" for ch in token)


@pytest.mark.parametrize(
    "mangle",
    [
        # A signature character with six bits of its own (the last one carries padding bits too, and
        # some changes to it decode to the same bytes).
        lambda t: t[:-10] + ("A" if t[-10] != "A" else "B") + t[-9:],
        lambda t: t.replace("~", "~A", 1),  # payload
        lambda t: "x" + t[1:],  # ad serving id
        lambda t: "",
        lambda t: "garbage",
        lambda t: t + "." + t,
        lambda t: "a" * 300,
    ],
)
def test_tampered_tokens_are_refused(signer, mangle):
    token = signer.sign(new_ad_serving_id(), CAMPAIGN, CREATIVE, 100, private=False)
    with pytest.raises(InvalidBeacon):
        signer.verify(mangle(token))


def test_a_cost_or_campaign_spliced_from_another_token_is_refused(signer):
    cheap = signer.sign(new_ad_serving_id(), CAMPAIGN, CREATIVE, 1, private=False)
    dear = signer.sign(new_ad_serving_id(), uuid.uuid4(), CREATIVE, 10**6, private=False)
    payload, rest = cheap.split(".", 1)
    spliced = payload.rsplit("~", 4)[0] + "~" + dear.split(".")[0].split("~", 1)[1] + "." + rest
    with pytest.raises(InvalidBeacon, match="signature"):
        signer.verify(spliced)


def test_other_keys_and_expired_tokens_are_refused(signer):
    token = signer.sign(new_ad_serving_id(), CAMPAIGN, CREATIVE, 1, private=False)
    with pytest.raises(InvalidBeacon, match="signature"):
        BeaconSigner("another-key-" + "y" * 40, 3600).verify(token)
    with pytest.raises(InvalidBeacon, match="expired"):
        BeaconSigner("secret-" + "x" * 40, max_age_seconds=-1).verify(token)


def test_base36():
    assert [base36(n) for n in (0, 35, 36, 100_000)] == ["0", "z", "10", "255s"]
    assert int(base36(987_654_321), 36) == 987_654_321


@pytest.mark.parametrize(
    ("device", "supply_tag"), [(None, 0), ("d" * 22, 0), (None, 7), ("t" * 22, 2**31 - 1), ("d" * 22, 36)]
)
def test_the_device_and_the_supply_tag_each_travel_when_given(signer, device, supply_tag):
    token = signer.sign(new_ad_serving_id(), CAMPAIGN, CREATIVE, 5, False, 2, device, supply_tag)
    claims = signer.verify(token)
    assert (claims.device, claims.supply_tag, claims.pod_position) == (device, supply_tag, 2)
    assert len(token) < 200


@pytest.mark.parametrize(
    "extra", ["~t", "~tzzzzzzz", "~t!1", "~t1~t2", "~" + "d" * 22 + "~" + "e" * 22, "~x"]
)
def test_malformed_optional_parts_are_refused(signer, extra):
    payload = f"{new_ad_serving_id()}~{'A' * 22}~{'B' * 22}~5~{extra}"
    with pytest.raises(InvalidBeacon, match="malformed token"):
        signer.verify(signer.signer.sign(payload).decode())
