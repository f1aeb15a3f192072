"""The embedded event store keeps SDK answers as Redis does (SET NX EX), within a memory budget."""

import time

from app.tracking.events import MemoryEventStore


def test_answers_expire_like_redis_keys(monkeypatch):
    store = MemoryEventStore(dedupe_seconds=60)
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    assert store.remember_answer("r-1", "first", ttl_seconds=10) is None
    assert store.remember_answer("r-1", "second", ttl_seconds=10) == "first"
    assert store.answer("r-1") == "first"
    now[0] += 10
    assert store.answer("r-1") is None
    assert store.remember_answer("r-1", "again", ttl_seconds=10) is None  # the expired one is gone
    assert store.answer("r-1") == "again"


def test_answers_are_bounded_by_a_memory_budget():
    store = MemoryEventStore(dedupe_seconds=60, max_answer_bytes=10_000)
    answer = "x" * 1000
    for number in range(100):
        store.remember_answer(f"r-{number:03d}", answer, ttl_seconds=3600)
    assert store._answer_bytes <= 10_000
    kept = [number for number in range(100) if store.answer(f"r-{number:03d}") is not None]
    assert kept == list(range(91, 100))  # the newest that fit
