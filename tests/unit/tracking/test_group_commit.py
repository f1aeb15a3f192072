"""The group committer alone: writes arriving while a round trip is in flight go together in the next one,
each caller gets its own result (or its batch's failure) only after its round trip returned, and a caller
that gives up withdraws a write not yet sent."""

from __future__ import annotations

import os
import threading

import pytest

from app.tracking import group_commit
from app.tracking.group_commit import CommitTimeout, GroupCommit


class SlowRoundTrips:
    """A `send` whose first round trip waits until released, so that the writes behind it queue up."""

    def __init__(self, fail_batch: int | None = None):
        self.batches: list[list[int]] = []
        self.in_flight = threading.Event()
        self.release = threading.Event()
        self.fail_batch = fail_batch

    def __call__(self, items: list[int]):
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.in_flight.set()
            self.release.wait(5)
        if len(self.batches) - 1 == self.fail_batch:
            raise ConnectionError("the round trip failed")
        return [ValueError(f"bad {item}") if item < 0 else item * 10 for item in items]


def submit_all(commits: GroupCommit, items: list[int], results: dict) -> list[threading.Thread]:
    def one(item: int) -> None:
        try:
            results[item] = commits.submit(item)
        except Exception as exc:
            results[item] = exc

    threads = [threading.Thread(target=one, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    return threads


def wait_queued(commits: GroupCommit, count: int) -> None:
    for _ in range(500):
        with commits._lock:
            if len(commits._queue) >= count:
                return
        threading.Event().wait(0.01)
    raise AssertionError(f"{count} writes never queued")


def behind_one_round_trip(commits: GroupCommit, send: SlowRoundTrips, items: list[int]) -> dict:
    """Write 1, then `items` while its round trip is in flight; every result, once all have returned."""
    results: dict = {}
    threads = submit_all(commits, [1], results)
    assert send.in_flight.wait(5)
    threads += submit_all(commits, items, results)
    wait_queued(commits, len(items))
    assert results == {}  # none answered before the round trip holding it returned
    send.release.set()
    for thread in threads:
        thread.join(5)
    return results


def test_writes_arriving_during_a_round_trip_go_together_in_the_next():
    send = SlowRoundTrips()
    commits = GroupCommit(send)
    results = behind_one_round_trip(commits, send, list(range(2, 42)))
    assert send.batches[0] == [1]
    assert sorted(send.batches[1]) == list(range(2, 42))  # one round trip for all forty
    assert results == {item: item * 10 for item in range(1, 42)}
    assert commits.round_trips == 2


def test_a_batch_is_at_most_max_batch_writes():
    send = SlowRoundTrips()
    commits = GroupCommit(send, max_batch=16)
    results = behind_one_round_trip(commits, send, list(range(2, 42)))
    assert [len(batch) for batch in send.batches] == [1, 16, 16, 8]
    assert results == {item: item * 10 for item in range(1, 42)}


def test_a_failed_round_trip_fails_each_of_its_writes_and_no_other():
    send = SlowRoundTrips(fail_batch=1)
    commits = GroupCommit(send)
    results = behind_one_round_trip(commits, send, list(range(2, 12)))
    assert results[1] == 10
    assert all(isinstance(results[item], ConnectionError) for item in range(2, 12))
    assert commits.submit(12) == 120  # the next round trip is made as usual


def test_a_write_that_fails_alone_fails_no_other_of_its_batch():
    send = SlowRoundTrips()
    commits = GroupCommit(send)
    results = behind_one_round_trip(commits, send, [2, -3, 4])
    assert sorted(send.batches[1]) == [-3, 2, 4]
    assert (results[2], results[4]) == (20, 40)
    assert isinstance(results[-3], ValueError)


def test_a_caller_that_gives_up_withdraws_its_write_if_not_yet_sent():
    send = SlowRoundTrips()
    commits = GroupCommit(send, timeout_seconds=0.2)
    with pytest.raises(CommitTimeout, match=r"0\.2 s$"):
        commits.submit(1)  # in flight when the caller gives up: its outcome is unknown
    with pytest.raises(CommitTimeout, match="never sent"):
        commits.submit(2)  # queued behind it: withdrawn
    send.release.set()
    assert commits.submit(3) == 30
    assert send.batches == [[1], [3]]


def test_an_idle_committer_ends_and_the_next_write_starts_one(monkeypatch):
    monkeypatch.setattr(group_commit, "IDLE_SECONDS", 0.05)
    commits = GroupCommit(lambda items: [item * 10 for item in items], name="idle-commit")
    assert commits.submit(1) == 10
    running = lambda: [t for t in threading.enumerate() if t.name == "idle-commit"]  # noqa: E731
    for _ in range(100):
        if not running():
            break
        threading.Event().wait(0.02)
    assert not running()
    assert commits.submit(2) == 20
    assert commits.round_trips == 2


def test_a_forked_worker_starts_a_committer_of_its_own():
    """gunicorn forks its workers: the parent's committer thread does not exist in a child."""
    commits = GroupCommit(lambda items: [item * 10 for item in items], timeout_seconds=5)
    assert commits.submit(1) == 10
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child answers through the pipe, whatever happens
        try:
            answer = str(commits.submit(2))
        except Exception as exc:
            answer = repr(exc)
        os.write(write, answer.encode())
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 200) == b"20"
    assert commits.submit(3) == 30
