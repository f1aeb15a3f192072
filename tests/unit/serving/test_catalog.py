"""The catalog service: refresh on version change, failures keep the last catalog, budget shares."""

import itertools

from app.serving.catalog import EMPTY_CATALOG, CatalogService
from tests.unit.serving.test_decision import NOW, campaign, catalog


def service(loaded, *, workers=1, spend=None, version=lambda: 1):
    calls = []

    def load(v):
        calls.append(v)
        if isinstance(loaded, Exception):
            raise loaded
        return loaded

    svc = CatalogService(load, version, lambda ids: dict(spend or {}), workers=workers, clock=lambda: NOW)
    return svc, calls


def test_loads_on_a_new_version_only():
    current = catalog(campaign())
    versions = iter([1, 1, 2])
    svc, calls = service(current, version=lambda: next(versions))
    svc.refresh()
    svc.refresh()
    svc.refresh()
    assert calls == [1, 2]
    assert svc.current().catalog is current


def test_failures_keep_the_last_catalog_and_spend():
    svc, _ = service(RuntimeError("database down"))
    svc.refresh()
    assert svc.current().catalog is EMPTY_CATALOG

    def unreadable():
        raise ConnectionError("redis down")

    good = catalog(campaign())
    svc, _ = service(good, version=unreadable)
    svc.state = svc.state.__class__(good, svc.state.index)
    svc.refresh()
    assert svc.current().catalog is good


def test_each_worker_takes_its_share_of_a_nearly_spent_budget():
    small = campaign(budget=10_000, cost=1000)  # ten ads left
    for workers, expected in ((1, 10), (2, 5), (5, 2)):
        svc, _ = service(catalog(small), workers=workers)
        svc.refresh()
        served = 0
        while svc.current().index.choose(0, 3600) is not None:
            svc.note_served(small.id)
            served += 1
        assert served == expected, workers


def test_a_new_spend_reading_resets_the_served_count():
    small = campaign(budget=10_000, cost=1000)
    spend = {}
    svc = CatalogService(lambda v: catalog(small), lambda: 1, lambda ids: dict(spend), clock=lambda: NOW)
    svc.refresh()
    for _ in range(4):
        svc.note_served(small.id)
    spend[small.id] = 4000  # their impressions arrived
    svc.refresh()
    assert svc.current().index.pending == {}
    assert svc.current().index.would_exhaust(small, 6000)
    assert not svc.current().index.would_exhaust(small, 5000)


def test_re_ranking_keeps_to_its_share_of_the_worker_but_a_rebuild_ranks_at_once():
    import time as real_time

    from app.serving import catalog as catalog_module

    clock = [NOW]
    version = [1]
    readings = []

    def slow_spend(ids):  # a large catalog's reading: 50 ms
        readings.append(clock[0])
        real_time.sleep(0.05)
        return {}

    current = catalog(campaign())
    svc = CatalogService(lambda v: current, lambda: version[0], slow_spend, clock=lambda: clock[0])
    for _ in range(8):  # a tick every 0.5 s for 4 s
        svc.refresh()
        clock[0] += 0.5
    pause = 0.05 * (1 / catalog_module.RANK_SHARE - 1)  # at least 0.95 s between readings
    assert 2 <= len(readings) <= 4, readings
    assert all(later - earlier >= pause for earlier, later in itertools.pairwise(readings))
    version[0] = 2  # an admin write: the new catalog is ranked on the next tick, whatever is due
    svc.refresh()
    assert readings[-1] == clock[0]


def test_a_re_ranking_waits_at_most_its_cap(monkeypatch):
    from app.serving import catalog as catalog_module

    monkeypatch.setattr(catalog_module, "RANK_SHARE", 1e-9)  # any reading would be far too slow
    clock = [NOW]
    readings = []
    current = catalog(campaign())
    svc = CatalogService(
        lambda v: current, lambda: 1, lambda ids: readings.append(clock[0]) or {}, clock=lambda: clock[0]
    )
    for _ in range(24):
        svc.refresh()
        clock[0] += 0.5
    assert [t - NOW for t in readings] == [0.0, 5.0, 10.0]
