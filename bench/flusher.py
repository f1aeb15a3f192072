"""`python -m bench.flusher` (and the end of `make bench`): the event flusher's sustained throughput into
PostgreSQL, with 1 and 2 `flask flush-events` processes, each draining a backlog of `BENCH_FLUSH_BACKLOG`
(240,000) events from a durable Redis (appendfsync always) into a database of its own on the shared
PostgreSQL.

Each round fills the stream first (ads of six beacons: impression, start, the quartiles, complete, with an
address and a user agent each), then starts the flushers; the rate is measured from the first entry
acknowledged to the last, so the processes' start-up does not count. After each drain the stored rows and the
hourly counts must match the events exactly (none lost, none twice). Rounds alternate 1 and 2 processes
(`BENCH_FLUSH_ROUNDS`, 3 each); medians are reported against the targets: ≥ 20,000 events/s for one flusher,
and two flushers ≥ 1.6 times one.

Over the same span, the CPU the flushers, their PostgreSQL backends and Redis used, per event: what the
capacity model (docs/scaling.md) is built from. On a machine whose cores all three share, two flushers can
go no faster than the cores divided by that sum; the printout gives that ceiling beside the measured rate.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import redis
import sqlalchemy as sa

from app.tracking.events import Event
from app.tracking.signing import new_ad_serving_id
from bench.machine import cpu_seconds
from bench.stack import REDIS_KEY_PREFIX, SECRET_KEY, BenchDatabase
from harness.servers import PROJECT_ROOT, RedisServer

TARGET_ONE = 20_000  # events/s, one flusher process
TARGET_SCALING = 1.6  # two processes against one
MIN_BACKLOG = 200_000
BEACONS = ("impression", "start", "firstQuartile", "midpoint", "thirdQuartile", "complete")
CAMPAIGNS = 20
USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 9; AFTMM Build/PS7633; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/120.0.6099.230 Mobile Safari/537.36"
)
FILL_CHUNK = 10_000
PARTS = ("flushers", "PostgreSQL", "Redis")  # whose CPU a drain accounts for
_BACKENDS = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"


@dataclass(frozen=True)
class Drain:
    processes: int
    events: int
    seconds: float
    cpu_seconds: dict[str, float]  # by PARTS, over the timed span

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    def cpu_us_per_event(self, part: str | None = None) -> float:
        """Of one part (PARTS), or of all of them."""
        used = self.cpu_seconds[part] if part else sum(self.cpu_seconds.values())
        return used / self.events * 1e6

    @property
    def ceiling(self) -> float:
        """Events/s this machine's cores could drain at this CPU per event, were they all spent on it."""
        return (os.cpu_count() or 1) * 1e6 / self.cpu_us_per_event()


class FlusherBench:
    """A Redis and a database of the bench's own, campaigns to count events for, and flusher processes."""

    def __init__(self, backlog: int):
        self.backlog = backlog
        self.directory = Path(tempfile.mkdtemp(prefix="adserver-flusher-bench-"))
        self.database = BenchDatabase()
        self.redis = RedisServer(self.directory / "redis", durable=True)
        self.stream = f"{REDIS_KEY_PREFIX}events"
        self.ads: list[tuple[str, str, int]] = []  # (campaign, creative, cost units)

    def start(self) -> FlusherBench:
        self.database.create()
        self.redis.start()
        self.env = {
            **os.environ,
            "APP_ENV": "production",
            "SECRET_KEY": SECRET_KEY,
            "PUBLIC_BASE_URL": "http://127.0.0.1",
            "DATABASE_URL": self.database.url,
            "REDIS_URL": self.redis.url,
            "REDIS_KEY_PREFIX": REDIS_KEY_PREFIX,
            "STORAGE_DIR": str(self.directory / "creatives"),
            "EVENT_FLUSHER": "external",
            "LOG_LEVEL": "WARNING",
        }
        self._flask("migrate")
        self._insert_campaigns()
        return self

    def _flask(self, *args: str, **popen) -> subprocess.Popen:
        command = [str(Path(sys.executable).parent / "flask"), "--app", "app", *args]
        if popen:
            return subprocess.Popen(command, cwd=PROJECT_ROOT, env=self.env, **popen)
        subprocess.run(command, cwd=PROJECT_ROOT, env=self.env, check=True, capture_output=True)
        return None

    def _insert_campaigns(self) -> None:
        """Campaigns with one creative each, by SQL: the flusher only needs them to exist."""
        with self.database.engine.begin() as connection:
            for number in range(CAMPAIGNS):
                campaign, creative = uuid.uuid4(), uuid.uuid4()
                connection.execute(
                    sa.text(
                        "INSERT INTO campaigns (id, name, budget_total, cpm, start_date, end_date, status, "
                        "created_at, updated_at) VALUES (:id, :name, 1000000000, 10, "
                        "now() - interval '1 day', now() + interval '30 days', 'active', now(), now())"
                    ),
                    {"id": campaign, "name": f"flusher bench {number}"},
                )
                connection.execute(
                    sa.text(
                        "INSERT INTO creatives (id, campaign_id, name, storage_key, duration, file_size, "
                        "width, height, bitrate, mime_type, video_codec, status, created_at, identity)"
                        " VALUES (:id, :campaign, 'spot', :key, 15, 1000, 1920, 1080, 5000, 'video/mp4',"
                        " 'h264', 'active', now(), :identity)"
                    ),
                    {
                        "id": creative,
                        "campaign": campaign,
                        "key": f"creatives/flusher-bench-{number}.mp4",
                        "identity": creative.hex,
                    },
                )
                self.ads.append((str(campaign), str(creative), 100_000))

    def fill(self) -> int:
        """BACKLOG events (whole ads) into the stream, as the beacon path writes them."""
        client = redis.Redis.from_url(self.redis.url)
        now = time.time()
        added = 0
        pipe = client.pipeline(transaction=False)
        while added < self.backlog:
            campaign, creative, cost = self.ads[added // len(BEACONS) % len(self.ads)]
            ad_serving_id = new_ad_serving_id()
            for offset, name in enumerate(BEACONS):
                event = Event(
                    name=name,
                    ad_serving_id=ad_serving_id,
                    campaign_id=campaign,
                    creative_id=creative,
                    occurred_at=now + offset,
                    cost_units=cost,
                    ip=f"203.0.{added // 250 % 250}.{added % 250 + 1}",
                    user_agent=USER_AGENT,
                )
                pipe.xadd(self.stream, {"e": event.encode()})
                added += 1
            if len(pipe) >= FILL_CHUNK:
                pipe.execute()
        pipe.execute()
        client.close()
        return added

    def pending(self, client: redis.Redis) -> int:
        return client.xlen(self.stream)

    def drain(self, processes: int) -> Drain:
        """Fill, start `processes` flushers, time the drain from the first acknowledged entry to the last."""
        stored_before = self.stored()
        events = self.fill()
        client = redis.Redis.from_url(self.redis.url)
        flushers = [
            self._flask("flush-events", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(processes)
        ]
        try:
            while self.pending(client) >= events:
                self._check_alive(flushers)
                time.sleep(0.01)
            started = time.monotonic()
            cpu_before = self._cpu(flushers)
            while self.pending(client) > 0:
                self._check_alive(flushers)
                time.sleep(0.02)
            seconds = time.monotonic() - started
            cpu_after = self._cpu(flushers)
        finally:
            for process in flushers:
                process.send_signal(signal.SIGTERM)
            for process in flushers:
                process.wait(30)
            client.close()
        stored = self.stored()
        missing = {name: events // len(BEACONS) - (stored[name] - stored_before[name]) for name in stored}
        if any(missing.values()):
            raise RuntimeError(f"stored counts differ from the events sent (missing per event): {missing}")
        cpu = {
            part: sum(used - cpu_before[part].get(pid, 0.0) for pid, used in cpu_after[part].items())
            for part in PARTS
        }
        return Drain(processes, events, seconds, cpu)

    def _cpu(self, flushers: list[subprocess.Popen]) -> dict[str, dict[int, float]]:
        """CPU seconds used so far, by part and process: the flushers, the database's backends (a backend
        that appears later counts from its start), Redis."""
        with self.database.engine.connect() as connection:
            backends = connection.scalars(sa.text(_BACKENDS)).all()
        processes = {
            "flushers": [process.pid for process in flushers],
            "PostgreSQL": backends,
            "Redis": [self.redis.process.pid],
        }
        return {part: {pid: _cpu_of(pid) for pid in pids} for part, pids in processes.items()}

    @staticmethod
    def _check_alive(flushers: list[subprocess.Popen]) -> None:
        for process in flushers:
            if process.poll() is not None:
                raise RuntimeError(f"a flusher exited with {process.returncode}")

    def stored(self) -> dict[str, int]:
        """Hourly counts per event, and the raw rows of impressions and of the other beacons."""
        with self.database.engine.connect() as connection:
            counts = dict(
                connection.execute(
                    sa.text("SELECT event, sum(count) FROM event_counts_hourly GROUP BY event")
                ).all()
            )
            impressions = connection.execute(sa.text("SELECT count(*) FROM impressions")).scalar_one()
            others = connection.execute(sa.text("SELECT count(*) FROM tracking_events")).scalar_one()
        stored = {name: int(counts.get(name, 0)) for name in BEACONS}
        stored["impression rows"] = impressions
        stored["other rows"] = others // (len(BEACONS) - 1)
        return stored

    def stop(self) -> None:
        self.redis.stop()
        self.database.drop()
        subprocess.run(["rm", "-rf", str(self.directory)], check=False)


@dataclass(frozen=True)
class FlusherResult:
    one: list[Drain]
    two: list[Drain]

    @property
    def one_rate(self) -> float:
        return statistics.median(d.rate for d in self.one)

    @property
    def two_rate(self) -> float:
        return statistics.median(d.rate for d in self.two)

    def lines(self) -> list[str]:
        scaling = self.two_rate / self.one_rate
        backlog = min(d.events for d in self.one + self.two)

        def rounds(drains: list[Drain]) -> str:
            return ", ".join(f"{d.rate:,.0f}" for d in drains)

        def cpu(drains: list[Drain], part: str | None = None) -> float:
            return statistics.median(d.cpu_us_per_event(part) for d in drains)

        ceiling = statistics.median(d.ceiling for d in self.two)

        return [
            f"flusher into PostgreSQL, backlog {backlog:,} events, median of {len(self.one)} rounds "
            f"(each: {rounds(self.one)} | {rounds(self.two)}):",
            f"  1 flusher process   {self.one_rate:>9,.0f} events/s   target >= {TARGET_ONE:,}   "
            f"{_verdict(self.one_rate >= TARGET_ONE and backlog >= MIN_BACKLOG)}",
            f"  2 flusher processes {self.two_rate:>9,.0f} events/s   {scaling:.2f}x one, target >= "
            f"{TARGET_SCALING}x   {_verdict(scaling >= TARGET_SCALING and backlog >= MIN_BACKLOG)}",
            "  CPU per event, µs (medians, 1 | 2 processes): "
            + ", ".join(f"{part} {cpu(self.one, part):.1f} | {cpu(self.two, part):.1f}" for part in PARTS)
            + f", all {cpu(self.one):.1f} | {cpu(self.two):.1f}",
            f"  at that CPU per event, this machine's {os.cpu_count()} cores drain at most {ceiling:,.0f} "
            f"events/s with 2 flushers ({ceiling / self.one_rate:.2f}x one), their CPU all spent on it",
        ]


def _cpu_of(pid: int) -> float:
    try:
        return cpu_seconds([pid])
    except (FileNotFoundError, ProcessLookupError):  # a backend that ended meanwhile
        return 0.0


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def measure(backlog: int | None = None, rounds: int | None = None) -> FlusherResult:
    backlog = backlog or int(os.environ.get("BENCH_FLUSH_BACKLOG", "240000"))
    rounds = rounds or int(os.environ.get("BENCH_FLUSH_ROUNDS", "3"))
    bench = FlusherBench(backlog).start()
    one, two = [], []
    try:
        for _ in range(rounds):
            one.append(bench.drain(1))
            _say(f"1 flusher: {one[-1].rate:,.0f} events/s")
            two.append(bench.drain(2))
            _say(f"2 flushers: {two[-1].rate:,.0f} events/s")
    finally:
        bench.stop()
    return FlusherResult(one, two)


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def main() -> None:
    print("\n".join(measure().lines()))


if __name__ == "__main__":
    main()
