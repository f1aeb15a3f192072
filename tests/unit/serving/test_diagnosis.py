"""The delivery diagnosis walks each campaign through the decision's own rules: its verdicts agree with what
the decision draws."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter

from werkzeug.datastructures import Headers

from app.serving.catalog import ServingState, make_catalog
from app.serving.decision import build_index
from app.serving.diagnosis import COMPETES, diagnose
from app.serving.pods import choose_one
from app.serving.request import parse_ad_request
from app.serving.separation import excluded_keys
from tests.unit.serving.test_pods import NOW, catalog_of


def _request(query: dict[str, str]):
    return parse_ad_request(query, Headers(), "198.51.100.1")


def _state(durations, changes, spend=None):
    catalog, _ = catalog_of(durations)
    campaigns = list(catalog.campaigns.values())
    changed = {
        campaign.id: dataclasses.replace(campaign, name=f"c{number}", **changes.get(number, {}))
        for number, campaign in enumerate(campaigns)
    }
    catalog = make_catalog(1, NOW, changed)
    ids = list(changed)
    spend = {ids[number]: units for number, units in (spend or {}).items()}
    return ServingState(catalog, build_index(catalog, NOW, spend))


def test_each_rule_names_the_campaigns_it_excludes_in_the_decisions_order():
    state = _state(
        [[30.0], [30.0], [60.0], [30.0], [30.0], [30.0], [30.0]],
        {
            1: {"start_ts": NOW + 60},  # not started
            2: {"advertiser_domain": "rival.example"},  # too long AND blocked: duration comes first
            3: {"advertiser_domain": "rival.example"},
            4: {"category": "1534"},
            5: {"advertiser_domain": "shown.example"},
            6: {"budget_units": 100},
        },
        spend={6: 100},
    )
    request = _request({"max_duration": "30", "badv": "rival.example", "bcat": "1534", "session_id": "s"})
    verdicts = {
        v.name: v
        for v in diagnose(
            state,
            request,
            blocks=excluded_keys(request.blocked_domains, request.blocked_categories),
            shown=excluded_keys(shown=["adv:shown.example"]),
        )
    }
    assert {name: v.rule for name, v in verdicts.items()} == {
        "c0": COMPETES,
        "c1": "flight",
        "c2": "duration",
        "c3": "blocked",
        "c4": "blocked",
        "c5": "separation",
        "c6": "budget",
    }
    assert verdicts["c0"].share == 1.0 and verdicts["c0"].weight > 0
    assert "not started" in verdicts["c1"].detail
    assert "0-30 s" in verdicts["c2"].detail and "60" in verdicts["c2"].detail
    assert "rival.example" in verdicts["c3"].detail and "1534" in verdicts["c4"].detail
    assert "shown.example" in verdicts["c5"].detail


def test_shares_are_the_chances_the_decision_draws_each_campaign():
    state = _state([[30.0], [30.0, 15.0], [15.0]], {1: {"budget_units": 3 * 10**9}})
    request = _request({"max_duration": "30"})
    verdicts = diagnose(state, request, blocks=frozenset(), shown=frozenset())
    assert abs(sum(v.share for v in verdicts) - 1.0) < 1e-9
    rng = random.Random(7)
    draws = Counter(choose_one(state.index, state.catalog, 0.0, 30.0, rng).campaign_id for _ in range(20_000))
    for verdict in verdicts:
        assert abs(draws[verdict.campaign_id] / 20_000 - verdict.share) < 0.02


def test_a_pod_window_is_the_break_and_the_tolerance_widens_it():
    state = _state([[30.4], [90.0]], {})
    pod = _request({"pod_max_dur": "30"})
    rules = {v.name: v.rule for v in diagnose(state, pod, blocks=frozenset(), shown=frozenset())}
    assert rules == {"c0": "duration", "c1": "duration"}
    widened = diagnose(state, pod, blocks=frozenset(), shown=frozenset(), tolerance=0.5)
    assert {v.name: v.rule for v in widened} == {"c0": COMPETES, "c1": "duration"}
