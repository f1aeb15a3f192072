"""Frequency caps, without HTTP: device keys, each window unit, campaign and advertiser rules, the decision
past a capped campaign, and the in-process history."""

from __future__ import annotations

import dataclasses
import random
import uuid

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.campaigns.caps import MAX_WINDOW_SECONDS, FrequencyCap, caps_of, form_lines, parse_lines
from app.serving.caps import DeviceKeys, FrequencyCaps, cap_count, capped_keys, rules_by_field
from app.serving.catalog import make_catalog
from app.serving.decision import build_index
from app.serving.pods import PodRequest, choose_one, choose_pod
from app.serving.streams import StreamMemory
from app.tracking.events import RedisEventStore, StoreUnavailable
from app.tracking.frequency import CapCount, MemoryHistories
from app.tracking.shards import Shards
from app.tracking.signing import BeaconSigner, InvalidBeacon, new_ad_serving_id
from harness.servers import free_port
from tests.unit.serving.test_pods import NOW, catalog_of

KEYS = DeviceKeys("test-secret-key-that-is-long-enough-0123456789")
IFA = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
HOUSEHOLD = {"ip": "203.0.113.7", "user_agent": "Roku/DVP-12.0 (12.0.0.4182-88)"}


def key(**identity):
    return KEYS.of(**({"ifa": None, "ip": None, "user_agent": None, "allowed": True} | identity))


def test_the_ifa_is_the_device_when_usable_hashed_and_case_blind():
    by_ifa = key(ifa=IFA, **HOUSEHOLD)
    assert by_ifa == key(ifa=IFA.lower(), ip="198.51.100.1", user_agent="another")  # the IFA wins
    assert len(by_ifa) == 22 and IFA.lower() not in by_ifa and "203.0.113.7" not in by_ifa
    assert by_ifa != key(ifa="0f0f0f0f-8246-4ba4-ae5b-76104861e7dc")
    assert (
        DeviceKeys("another-secret-key-that-is-long-enough-012345").of(
            ifa=IFA, ip=None, user_agent=None, allowed=True
        )
        != by_ifa
    )  # keyed: nobody without the secret can tell whose it is


@pytest.mark.parametrize(
    "unusable",
    [
        {"ifa": "00000000-0000-0000-0000-000000000000"},
        {"ifa": "0000000000000000"},
        {"ifa": "   "},
        {"ifa": None},
    ],
)
def test_without_a_usable_ifa_ip_and_user_agent_are_the_household(unusable):
    household = key(**HOUSEHOLD)
    assert key(**unusable, **HOUSEHOLD) == household
    assert household != key(ip="203.0.113.8", user_agent=HOUSEHOLD["user_agent"])
    assert household != key(ip=HOUSEHOLD["ip"], user_agent="Tizen")
    assert household != key(ifa=IFA, **HOUSEHOLD)
    assert key(**unusable) is None  # neither: no capping
    assert key(**unusable, ip=HOUSEHOLD["ip"]) is None


def test_no_identifier_based_capping_where_identifiers_may_not_be_used():
    assert key(ifa=IFA, **HOUSEHOLD, allowed=False) is None


def capped_catalog(*caps: tuple[tuple[FrequencyCap, ...], tuple[FrequencyCap, ...], str | None]):
    """One campaign per (campaign caps, advertiser caps, advertiser domain); advertisers by domain."""
    catalog, _ = catalog_of([[15.0, 30.0] for _ in caps])
    advertisers: dict[str, uuid.UUID] = {}
    campaigns = {
        campaign.id: dataclasses.replace(
            campaign,
            frequency_caps=own,
            advertiser_frequency_caps=theirs,
            advertiser_domain=domain,
            advertiser_id=advertisers.setdefault(domain, uuid.uuid4()) if domain else None,
        )
        for campaign, (own, theirs, domain) in zip(catalog.campaigns.values(), caps, strict=True)
    }
    catalog = make_catalog(1, NOW, campaigns)
    return catalog, build_index(catalog, NOW, {}), list(campaigns.values())


def shown(catalog, campaign, times, device="device") -> dict:
    """The device's history after impressions of `campaign` at each of `times`."""
    histories = MemoryHistories()
    for at in times:
        histories.add(cap_count(catalog, campaign.id, device, at), at)
    return histories.get(device, max(times))


@pytest.mark.parametrize(
    ("rule", "window"),
    [
        (FrequencyCap(2, "minute", 5), 300),
        (FrequencyCap(2, "hour"), 3600),
        (FrequencyCap(2, "day", 2), 2 * 86_400),
        (FrequencyCap(2, "week"), 7 * 86_400),
    ],
)
def test_each_window_slides(rule, window):
    catalog, _, [campaign] = capped_catalog(((rule,), (), None))
    history = shown(catalog, campaign, [NOW, NOW + 10])
    capped = {f"campaign:{campaign.id}"}
    assert capped_keys(catalog, shown(catalog, campaign, [NOW]), NOW + 1) == frozenset()  # 1 of 2
    assert capped_keys(catalog, history, NOW + 11) == capped
    assert capped_keys(catalog, history, NOW + window - 1) == capped
    assert capped_keys(catalog, history, NOW + window + 1) == frozenset()  # the first one slid out


def test_the_flight_counts_from_the_start_and_180_days_at_most():
    catalog, _, [campaign] = capped_catalog(((FrequencyCap(2, "flight"),), (), None))
    history = shown(catalog, campaign, [NOW, NOW + 60])
    assert capped_keys(catalog, history, NOW + 30 * 86_400) == {f"campaign:{campaign.id}"}
    assert capped_keys(catalog, history, NOW + MAX_WINDOW_SECONDS + 61) == frozenset()
    count = cap_count(catalog, campaign.id, "device", NOW)
    assert count.fields == ((f"c:{campaign.id}", campaign.start_ts, 2),)
    assert count.ttl_seconds == campaign.end_ts - NOW  # kept until the flight ends


def test_several_rules_at_once():
    rules = (FrequencyCap(1, "minute"), FrequencyCap(3, "day"))
    catalog, _, [campaign] = capped_catalog((rules, (), None))
    capped = {f"campaign:{campaign.id}"}
    assert capped_keys(catalog, shown(catalog, campaign, [NOW]), NOW + 30) == capped  # 1 per minute
    assert capped_keys(catalog, shown(catalog, campaign, [NOW]), NOW + 61) == frozenset()
    history = shown(catalog, campaign, [NOW, NOW + 100, NOW + 200])
    assert capped_keys(catalog, history, NOW + 3600) == capped  # 3 per day
    assert capped_keys(catalog, history, NOW + 86_401) == frozenset()
    assert cap_count(catalog, campaign.id, "d", NOW).fields == ((f"c:{campaign.id}", NOW - 86_400, 3),)


def test_an_advertiser_cap_spans_its_campaigns_and_spares_others():
    rule = (FrequencyCap(2, "day"),)
    catalog, index, [first, second, other] = capped_catalog(
        ((), rule, "cola.example"), ((), rule, "cola.example"), ((), (), "rival.example")
    )
    histories = MemoryHistories()
    for campaign, at in ((first, NOW), (second, NOW + 5)):
        histories.add(cap_count(catalog, campaign.id, "device", at), at)
    excluded = capped_keys(catalog, histories.get("device", NOW + 10), NOW + 10)
    assert excluded == {"adv:cola.example"}
    for seed in range(20):
        chosen = choose_one(index, catalog, 0, 60, random.Random(seed), excluded)
        assert chosen.campaign_id == other.id
    assert cap_count(catalog, other.id, "device", NOW) is None  # nothing caps it: nothing recorded


def test_a_capped_campaign_gives_way_to_others_then_to_no_fill():
    rule = (FrequencyCap(1, "hour"),)
    catalog, index, [capped, free] = capped_catalog((rule, (), "a.example"), ((), (), "b.example"))
    excluded = capped_keys(catalog, shown(catalog, capped, [NOW]), NOW + 1)
    for seed in range(20):
        assert choose_one(index, catalog, 0, 60, random.Random(seed), excluded).campaign_id == free.id
    alone, alone_index, [campaign] = capped_catalog((rule, (), None))
    excluded = capped_keys(alone, shown(alone, campaign, [NOW]), NOW + 1)
    assert choose_one(alone_index, alone, 0, 60, excluded=excluded) is None
    assert choose_pod(alone_index, alone, PodRequest(max_seconds=120), excluded=excluded) == []


def test_a_pod_holds_a_campaign_capped_at_one_once():
    """The pod takes one ad per campaign (and advertiser): a device one impression short of the cap never
    gets two of it in one break, though the campaign has creatives that would fill it."""
    catalog, index, [campaign] = capped_catalog(((FrequencyCap(2, "day"),), (), None))
    excluded = capped_keys(catalog, shown(catalog, campaign, [NOW]), NOW + 1)
    assert excluded == frozenset()
    for seed in range(10):
        pod = choose_pod(index, catalog, PodRequest(max_seconds=45, max_ads=3), random.Random(seed), excluded)
        assert [c.campaign_id for c in pod] == [campaign.id]


def test_rules_are_indexed_once_per_catalog():
    catalog, _, [campaign] = capped_catalog(((FrequencyCap(1, "hour"),), (), None))
    assert rules_by_field(catalog) is rules_by_field(catalog)
    assert list(rules_by_field(catalog)) == [f"c:{campaign.id}"]
    plain, _ = catalog_of([[15.0]])
    assert rules_by_field(plain) == {}


def test_the_memory_history_keeps_the_latest_and_forgets_after_its_ttl():
    histories = MemoryHistories(max_devices=2)
    count = CapCount("d1", (("c:x", NOW - 100, 2),), ttl_seconds=100)
    for at in (NOW, NOW + 3, NOW + 1, NOW + 2):  # out of order, as beacons may come
        histories.add(count, at)
    assert histories.get("d1", NOW + 5) == {"c:x": (NOW + 2, NOW + 3)}
    assert histories.get("d1", NOW + 103) == {}
    histories.add(count, NOW + 200)  # a new life: nothing from before
    assert histories.get("d1", NOW + 201) == {"c:x": (NOW + 200,)}
    histories.add(dataclasses.replace(count, device="d2"), NOW)
    histories.add(dataclasses.replace(count, device="d3"), NOW)
    assert histories.get("d1", NOW + 201) == {}  # the least recently counted device went first


def test_the_console_writes_one_rule_a_line():
    rules = parse_lines("3 per day\n\n 5 per 2 hours \n10 per flight\n1/30 minutes\n2 per Week")
    assert rules == [
        {"max_impressions": 3, "window": {"unit": "day", "count": 1}},
        {"max_impressions": 5, "window": {"unit": "hour", "count": 2}},
        {"max_impressions": 10, "window": {"unit": "flight", "count": 1}},
        {"max_impressions": 1, "window": {"unit": "minute", "count": 30}},
        {"max_impressions": 2, "window": {"unit": "week", "count": 1}},
    ]
    assert form_lines(rules) == "3 per day\n5 per 2 hours\n10 per flight\n1 per 30 minutes\n2 per week"
    assert caps_of(rules)[1] == FrequencyCap(5, "hour", 2)
    assert (
        parse_lines("3 a day") == 'Line 1 ("3 a day") is not a rule such as "3 per day" or "5 per 2 hours".'
    )


def test_the_device_key_travels_signed_in_the_beacon_token():
    signer = BeaconSigner("test-secret-key-that-is-long-enough-0123456789", 3600)
    device = key(ifa=IFA)
    token = signer.sign(new_ad_serving_id(), uuid.uuid4(), uuid.uuid4(), 10**9, True, 20, device)
    assert len(token) < 160 and signer.verify(token).device == device
    assert (
        signer.verify(signer.sign(new_ad_serving_id(), uuid.uuid4(), uuid.uuid4(), 1, False)).device is None
    )
    other = key(ifa="0f0f0f0f-8246-4ba4-ae5b-76104861e7dc")
    with pytest.raises(InvalidBeacon):  # another device's key spliced in
        signer.verify(token.replace(device, other))
    with pytest.raises(InvalidBeacon):  # not a device key
        signer.verify(signer.sign(new_ad_serving_id(), uuid.uuid4(), uuid.uuid4(), 1, False, 0, "short"))


def test_when_redis_does_not_answer_an_ad_beats_a_cap(caplog):
    closed = redis.Redis(port=free_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    caps = FrequencyCaps("test-secret-key-that-is-long-enough-0123456789", closed, Shards("test:"), None)
    streams = StreamMemory(closed, "test:stream:", window_seconds=600)
    assert caps.read(streams, "stream-1", "device") == (frozenset(), {})
    assert "Redis did not answer" in caplog.text
    store = RedisEventStore(closed, "test:", dedupe_seconds=60)
    with pytest.raises(StoreUnavailable):  # the SDK route answers 503: retry
        caps.answer_and_history(store, "r-1", "device")
    memory = FrequencyCaps("test-secret-key-that-is-long-enough-0123456789", None, Shards("test:"), None)
    assert memory.read(StreamMemory(None, "s:", 600), None, "device") == (frozenset(), {})
