"""Group commit: the writes of one process that wait on the event store go to it together.

A beacon is acknowledged only once Redis holds it durably: one round trip that Redis ends with an fsync
(`appendfsync always`), or with `WAIT` for its replicas. Made one beacon at a time, each pays the round
trip's fixed costs (the client's command, a socket write and read, a wake-up, the fsync) alone. As
databases do with their log (group commit), a write that arrives while a round trip is in flight waits for
it to return and goes in the next one with every other write that arrived meanwhile; each caller is answered
only when the round trip holding its write has returned. A lone write never waits for company: it goes at
once, so a quiet worker answers as fast as before and a busy one sends fewer, larger round trips.

One committer thread per process, started by the first write (a forked worker starts its own, so the
master's never serves a worker) and ended after IDLE_SECONDS without one (the next write starts it again).
Under gevent's monkey-patching (gunicorn's gevent workers) the thread is a greenlet and every wait is
cooperative; without it (tests, the CLI) it is a thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

MAX_BATCH = 256  # writes per round trip: a script over more would hold Redis (single-threaded) too long
TIMEOUT_SECONDS = 10.0  # a caller's wait: the round trip in flight plus its own, each bounded by the client
IDLE_SECONDS = 30.0


class CommitTimeout(TimeoutError):
    """The round trip holding the write did not return in time: the write may or may not have been made."""


class _Waiter:
    __slots__ = ("done", "item", "result")

    def __init__(self, item) -> None:
        self.item = item
        self.done = threading.Event()
        self.result: object = None


class GroupCommit(Generic[Item, Result]):
    """`submit(item)` returns the item's result once the round trip that carried it has returned.

    `send(items)` makes one round trip for a batch (at most `max_batch` items, in the order submitted) and
    returns one result per item, an exception instance for an item that failed alone; an exception it
    raises fails every item of its batch. `submit` raises the item's or the batch's exception, and
    CommitTimeout after `timeout_seconds` (a write still queued then is withdrawn, never sent)."""

    def __init__(
        self,
        send: Callable[[list[Item]], Sequence[Result | BaseException]],
        *,
        max_batch: int = MAX_BATCH,
        timeout_seconds: float = TIMEOUT_SECONDS,
        name: str = "group-commit",
    ):
        self.send = send
        self.max_batch = max_batch
        self.timeout_seconds = timeout_seconds
        self.name = name
        self.round_trips = 0  # batches sent by this process
        self._pid: int | None = None

    def _reset(self) -> None:
        """The queue of this process (a forked child starts afresh, without its parent's committer)."""
        self._lock = threading.Lock()
        self._arrived = threading.Event()
        self._queue: list[_Waiter] = []
        self._running = False
        self.round_trips = 0
        self._pid = os.getpid()

    def submit(self, item: Item) -> Result:
        if self._pid != os.getpid():
            with _STARTING:
                if self._pid != os.getpid():
                    self._reset()
        waiter = _Waiter(item)
        with self._lock:
            self._queue.append(waiter)
            start, self._running = not self._running, True
        if start:
            threading.Thread(target=self._run, name=self.name, daemon=True).start()
        self._arrived.set()
        if not waiter.done.wait(self.timeout_seconds):
            with self._lock:
                withdrawn = waiter in self._queue
                if withdrawn:
                    self._queue.remove(waiter)
            if withdrawn or not waiter.done.is_set():
                raise CommitTimeout(
                    f"no answer from the event store in {self.timeout_seconds:g} s"
                    + (" (never sent)" if withdrawn else "")
                )
        if isinstance(waiter.result, BaseException):
            raise waiter.result
        return waiter.result  # type: ignore[return-value]

    def _run(self) -> None:
        while True:
            if not self._arrived.wait(IDLE_SECONDS):
                with self._lock:
                    if not self._queue:
                        self._running = False  # the next write starts a committer again
                        return
                continue
            self._arrived.clear()  # before taking the queue: a write queued after this sets it again
            with self._lock:
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
                if self._queue:
                    self._arrived.set()
            if batch:
                self._commit(batch)

    def _commit(self, batch: list[_Waiter]) -> None:
        try:
            results = self.send([waiter.item for waiter in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for {len(batch)} writes")
        except Exception as exc:  # the whole round trip failed: so did each write it carried
            results = [exc] * len(batch)
        self.round_trips += 1
        for waiter, result in zip(batch, results, strict=True):
            waiter.result = result
            waiter.done.set()


_STARTING = threading.Lock()
