"""Competitive separation in the decision: never two ads of one advertiser or one exclusive category in a
pod, nothing a request blocks, and within a stream nothing shown in the window."""

from __future__ import annotations

import dataclasses
import random
import uuid

import hypothesis
from hypothesis import strategies as st

from app.serving.catalog import make_catalog
from app.serving.decision import build_index
from app.serving.pods import PodRequest, choose_one, choose_pod
from app.serving.separation import excluded_keys, keys_of
from app.serving.streams import StreamMemory
from tests.unit.serving.test_pods import NOW, catalog_of


def with_brands(brands: list[tuple[str | None, str | None, bool]], durations=(15.0, 30.0)):
    """A catalog of one campaign per (advertiser domain, category, exclusive)."""
    catalog, _ = catalog_of([list(durations) for _ in brands])
    campaigns = {
        campaign.id: dataclasses.replace(
            campaign, advertiser_domain=domain, category=category, category_exclusive=exclusive
        )
        for campaign, (domain, category, exclusive) in zip(catalog.campaigns.values(), brands, strict=True)
    }
    catalog = make_catalog(1, NOW, campaigns)
    return catalog, build_index(catalog, NOW, {})


brands = st.lists(
    st.tuples(
        st.sampled_from([None, "cola.example", "rival.example", "cars.example"]),
        st.sampled_from([None, "1534", "IAB22-1"]),
        st.booleans(),
    ),
    min_size=1,
    max_size=10,
)


@hypothesis.settings(max_examples=200, deadline=None, database=None)
@hypothesis.given(brands=brands, seed=st.integers(0, 2**32))
def test_never_two_ads_sharing_an_advertiser_or_exclusive_category(brands, seed):
    catalog, index = with_brands(brands)
    pod = choose_pod(index, catalog, PodRequest(max_seconds=120, max_ads=6), random.Random(seed))
    campaigns = [catalog.campaigns[c.campaign_id] for c in pod]
    advertisers = [next(k for k in keys_of(c) if not k.startswith("cat:")) for c in campaigns]
    assert len(advertisers) == len(set(advertisers))
    for campaign in campaigns:
        if campaign.category and campaign.category_exclusive:
            same = [c for c in campaigns if c.category and c.category.lower() == campaign.category.lower()]
            assert same == [campaign]
    assert sum(c.duration for c in pod) <= 120


def test_two_rivals_share_a_break_but_two_colas_do_not():
    catalog, index = with_brands([("cola.example", None, False)] * 3 + [("rival.example", None, False)])
    for seed in range(20):
        pod = choose_pod(index, catalog, PodRequest(max_seconds=120, max_ads=4), random.Random(seed))
        domains = sorted(catalog.campaigns[c.campaign_id].advertiser_domain for c in pod)
        assert domains == ["cola.example", "rival.example"]


def test_an_exclusive_category_is_alone_in_its_break():
    catalog, index = with_brands(
        [("a.example", "1534", True), ("b.example", "1534", False), ("c.example", None, False)]
    )
    for seed in range(20):
        pod = choose_pod(index, catalog, PodRequest(max_seconds=120, max_ads=4), random.Random(seed))
        categories = [catalog.campaigns[c.campaign_id].category for c in pod]
        assert categories.count("1534") == 1


def test_blocked_advertisers_and_categories_are_never_chosen():
    catalog, index = with_brands([("cola.example", "1534", False), ("rival.example", "IAB22-1", False)])
    excluded = excluded_keys(domains=["cola.example"])
    for seed in range(20):
        creative = choose_one(index, catalog, 0, 60, random.Random(seed), excluded)
        assert catalog.campaigns[creative.campaign_id].advertiser_domain == "rival.example"
    assert choose_one(index, catalog, 0, 60, excluded=excluded_keys(["cola.example"], ["iab22-1"])) is None
    pod = choose_pod(index, catalog, PodRequest(max_seconds=60), excluded=excluded_keys(categories=["1534"]))
    assert {catalog.campaigns[c.campaign_id].category for c in pod} == {"IAB22-1"}


def test_a_stream_does_not_see_an_advertiser_again_within_the_window(monkeypatch):
    streams = StreamMemory(None, "test:", window_seconds=600)
    now = [1_000.0]
    monkeypatch.setattr("app.serving.streams.time.time", lambda: now[0])
    streams.remember("stream-1", {"adv:cola.example", "cat:1534"})
    assert streams.recent("stream-1") == {"adv:cola.example", "cat:1534"}
    assert streams.recent("stream-2") == frozenset()
    now[0] += 601
    assert streams.recent("stream-1") == frozenset()


def test_campaigns_without_an_advertiser_are_their_own():
    catalog, _ = with_brands([(None, None, False)])
    [campaign] = catalog.campaigns.values()
    assert keys_of(campaign) == {f"campaign:{campaign.id}"}
    assert isinstance(campaign.id, uuid.UUID)
