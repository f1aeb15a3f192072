"""The embedded event store keeps SDK answers as Redis does (SET NX EX), within a memory budget."""

import time

from app.tracking.events import AD_REQUEST, Event, MemoryEventStore


def request(request_id: str) -> Event:
    return Event(AD_REQUEST, f"nofill-{request_id}", request_id=request_id, payload='{"duration": 30}')


def test_answers_expire_like_redis_keys(monkeypatch):
    store = MemoryEventStore(dedupe_seconds=60)
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    assert store.remember_answer("r-1", "first", 10, request("r-1")) is None
    assert store.remember_answer("r-1", "second", 10, request("r-1")) == "first"
    assert store.answer("r-1") == "first"
    now[0] += 10
    assert store.answer("r-1") is None
    assert store.remember_answer("r-1", "again", 10, request("r-1")) is None  # the expired one is gone
    assert store.answer("r-1") == "again"


def test_answers_are_bounded_by_a_memory_budget():
    store = MemoryEventStore(dedupe_seconds=60, max_answer_bytes=10_000)
    answer = "x" * 1000
    for number in range(100):
        store.remember_answer(f"r-{number:03d}", answer, 3600, request(f"r-{number:03d}"))
    assert store._answer_bytes <= 10_000
    kept = [number for number in range(100) if store.answer(f"r-{number:03d}") is not None]
    assert kept == list(range(91, 100))  # the newest that fit


def test_the_request_is_recorded_only_with_its_answer():
    store = MemoryEventStore(dedupe_seconds=60)
    assert store.remember_answer("r-1", "first", 10, request("r-1")) is None
    assert store.remember_answer("r-1", "second", 10, request("r-1")) == "first"
    entries = store.read_batch("test", 10, 0)
    assert [event.request_id for _, event in entries] == ["r-1"]
