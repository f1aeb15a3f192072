"""`make bench`: the ad server's speed against the reference app's, measured in the same run.

Both run on loopback under gunicorn with gevent workers (the same number); wrk drives them in turn, round
after round, at saturation; then, for latency, at a fixed offered rate of half the reference's capacity (and
of half the app's); then the ad server alone with 10, 1,000 and 10,000 active campaigns, for /vast and for a
pod request (an ad break of four ads, bench.drives.POD), which the saturation runs also compare with the
reference's pod. Prints the table and the targets, and writes the whole record to bench/results/.

Settings: BENCH_WORKERS (2), BENCH_ROUNDS (3), BENCH_SECONDS (10 per wrk run). `--only beacons` (or
`ad-requests`, or both) measures those endpoints alone, with their fixed-rate latency and targets, at the
smallest catalog: a quick look at the event store's path. `--only sizes` measures /vast and the pod request
at each catalog size alone, with the flatness targets.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

from bench import campaigns, targeting
from bench import flusher as flusher_bench
from bench.drives import FILL, GZIP, POD, Drives
from bench.loadgen import Measurement, Wrk
from bench.machine import NOISY_SHARE, OthersMeter, background_load, cpu_seconds, describe_machine, rss_mb
from bench.results import Comparison, FixedRate, Run
from bench.stack import APP_ROLE, EVENT_FLUSHER, REDIS_PERSISTENCE, BenchStack
from bench.table import printout
from bench.tools import ensure_debian_tool
from harness.servers import AppServer

CATALOG_SIZES = (10, 1_000, 10_000)
WARMUP_SECONDS = 2
BEACONS, AD_REQUESTS = "/t/impression", "POST /api/v1/ad-request"
SIZES = "catalog sizes"
# `--only` choices: the endpoints they measure (or the catalog sizes)
ONLY = {"beacons": BEACONS, "ad-requests": AD_REQUESTS, "sizes": SIZES}


@dataclass(frozen=True)
class BenchSettings:
    workers: int
    rounds: int
    seconds: float

    @classmethod
    def from_env(cls) -> BenchSettings:
        return cls(
            workers=int(os.environ.get("BENCH_WORKERS", "2")),
            rounds=int(os.environ.get("BENCH_ROUNDS", "3")),
            seconds=float(os.environ.get("BENCH_SECONDS", "10")),
        )


class Bench:
    def __init__(self, settings: BenchSettings, only: tuple[str, ...] = ()):
        self.settings = settings
        self.only = only  # endpoint labels to measure alone (ONLY); all of the bench when empty
        self.stack = BenchStack(settings.workers)
        self.run = Run(
            settings={
                **vars(settings),
                "catalog_sizes": CATALOG_SIZES,
                "app_role": APP_ROLE,
                "event_flusher": EVENT_FLUSHER,
                "redis": REDIS_PERSISTENCE,
            },
            machine=describe_machine(),
        )

    def execute(self) -> Run:
        before = background_load()
        self.run.load_before = before.describe()
        wrk = Wrk(ensure_debian_tool("wrk", "wrk"))
        say(f"background load before: {self.run.load_before}")
        others = OthersMeter()
        try:
            self.stack.start()
            sizes = SIZES in self.only
            largest = sizes or not self.only
            ad = self.stack.prepare_campaigns(CATALOG_SIZES[-1] if largest else CATALOG_SIZES[0])
            self.stack.serve_campaigns(CATALOG_SIZES[0])
            drives = Drives(wrk, self.stack.inputs_dir, ad)
            if sizes:
                self._catalog_sizes(drives)
            if self.only:
                self._saturate(drives)
                self._fixed_rates(drives)
                return self.run
            self._compare_documents()
            self._saturate(drives)
            self._fixed_rates(drives)
            self.run.rss_mb[f"app at {CATALOG_SIZES[0]:,} campaigns"] = worker_rss(self.stack.app)
            self.run.rss_mb["reference"] = worker_rss(self.stack.reference)
            self._catalog_sizes(drives)
            self.run.rss_mb[f"app at {CATALOG_SIZES[-1]:,} campaigns"] = worker_rss(self.stack.app)
            rounds, seconds = self.settings.rounds, self.settings.seconds
            self.targeting = targeting.compare(self.stack, drives, rounds, seconds, measure)
            say("timing the catalog rebuild and the flusher's housekeeping in-process")
            work = campaigns.time_catalog_work(self.stack.database.driver_url, self.stack.storage_dir)
            self.run.catalog_work = vars(work)
        finally:
            self.stack.stop(keep_files=sys.exc_info()[0] is not None)
        self.run.others_share = others.share()
        after = background_load()
        self.run.load_after = after.describe()
        self.run.noisy = before.noisy or after.noisy or self.run.others_share > NOISY_SHARE
        return self.run

    def _compare_documents(self) -> None:
        for name, server in (("app", self.stack.app), ("reference", self.stack.reference)):
            with urllib.request.urlopen(server.base_url + FILL, timeout=5) as response:
                body = response.read()
            self.run.documents[name] = f"{len(body):,} bytes, {body.count(b'<![CDATA[')} URLs"
            with urllib.request.urlopen(server.base_url + POD, timeout=5) as response:
                body = response.read()
            self.run.pod_documents[name] = (
                f"{body.count(b'<Ad ')} ads, {len(body):,} bytes, {body.count(b'<![CDATA[')} URLs"
            )
        gzipped = urllib.request.Request(self.stack.app.base_url + POD, headers=GZIP)
        with urllib.request.urlopen(gzipped, timeout=5) as response:
            self.run.pod_documents["app, gzip"] = (
                f"{len(response.read()):,} bytes ({response.headers.get('Content-Encoding')})"
            )

    def _saturate(self, drives: Drives) -> None:
        scenarios: list[tuple[str, Callable[[str, float], Measurement]]] = [
            ("/vast (fill)", drives.vast_fill),
            ("/vast (no fill)", drives.vast_no_fill),
            ("/vast (pod)", drives.vast_pod),
            (BEACONS, drives.impressions),
            (AD_REQUESTS, drives.ad_requests),
        ]
        backlog = []  # events left to flush after each of the app's beacon runs, and the seconds it took
        for label, drive in scenarios:
            if self.only and label not in self.only:
                continue
            contenders = {"app": (self.stack.app, drive), "reference": (self.stack.reference, drive)}
            if label == BEACONS:  # and the reference's beacons that make one durable Redis write each
                contenders["durable"] = (self.stack.reference, drives.durable_impressions)
            say(f"warming up {label}")
            for server, contender_drive in contenders.values():
                contender_drive(server.base_url, WARMUP_SECONDS)
            comparison = Comparison(label)
            names = list(contenders)
            for number in range(self.settings.rounds):
                # Rotate who goes first, so that a drift of the machine weighs on all alike.
                for name in names[number % len(names) :] + names[: number % len(names)]:
                    self.stack.settle()
                    server, contender_drive = contenders[name]
                    measured = measure(server, contender_drive, self.settings.seconds)
                    getattr(comparison, name).append(measured)
                    say(f"{label} round {number + 1} {name}: {measured.rate:,.0f} req/s")
                    if label == BEACONS and name == "app":
                        backlog.append((self.stack.pending_events(), round(self.stack.settle(), 1)))
            self.run.comparisons.append(comparison)
        if self.only and BEACONS not in self.only:
            return
        impressions = self.run.comparison(BEACONS).app
        self.run.beacons = {
            **beacon_counts(self.stack.app),
            "reused": sum(m.wrapped for m in impressions),
            "backlog": backlog,
        }

    def _fixed_rates(self, drives: Drives) -> None:
        """Half the reference's capacity is the target's rate; half the app's own tells its latency apart
        from its capacity."""
        for label, drive in (
            ("/vast (fill)", drives.paced_vast_fill),
            (BEACONS, drives.paced_impressions),
        ):
            if self.only and label not in self.only:
                continue
            for basis in ("reference", "app"):
                rate = statistics.median(m.rate for m in getattr(self.run.comparison(label), basis)) / 2
                say(f"{label} at a fixed {rate:,.0f} req/s (half the {basis}'s capacity)")
                paced = partial(drive, rate=rate)
                self.stack.settle()
                app = measure(self.stack.app, paced, self.settings.seconds)
                self.stack.settle()
                reference = measure(self.stack.reference, paced, self.settings.seconds)
                self.run.fixed_rates.append(FixedRate(label, basis, rate, app, reference))

    def _catalog_sizes(self, drives: Drives) -> None:
        """/vast and the pod request at each size; at the smallest, the pod with gzip too (its CPU cost)."""
        for number in range(self.settings.rounds):
            for size in CATALOG_SIZES:  # the largest last: its workers' memory is read after
                self.stack.settle()
                self.stack.serve_campaigns(size)
                kinds = [("/vast", drives.vast_fill, self.run.catalog_sizes)]
                kinds.append(("pod", drives.vast_pod, self.run.pod_catalog_sizes))
                if size == CATALOG_SIZES[0]:
                    kinds.append(("pod, gzip", drives.vast_pod_gzip, self.run.pod_gzip))
                for kind, drive, results in kinds:
                    drive(self.stack.app.base_url, WARMUP_SECONDS)
                    measured = measure(self.stack.app, drive, self.settings.seconds)
                    results.setdefault(size, []).append(measured)
                    say(f"{size:,} campaigns, {kind}, round {number + 1}: {measured.rate:,.0f} req/s")


def measure(server: AppServer, drive: Callable[..., Measurement], seconds: float) -> Measurement:
    """One wrk run against `server`, with the CPU its workers used meanwhile."""
    workers = server.worker_pids()
    before = cpu_seconds(workers)
    measured = drive(server.base_url, seconds=seconds)
    return replace(measured, server_cpu_seconds=cpu_seconds(workers) - before)


def worker_rss(server: AppServer) -> list[float]:
    return [round(rss_mb(pid), 1) for pid in server.worker_pids()]


def beacon_counts(server: AppServer) -> dict[str, int]:
    """Impression beacons by result, and the event store's round trips and the writes they carried (group
    commit), from the app's own Prometheus counters (all workers)."""
    with urllib.request.urlopen(f"{server.base_url}/metrics", timeout=5) as response:
        text = response.read().decode()
    counts = {"counted": 0, "duplicate": 0, "refused": 0}
    pattern = r'^adserver_beacons_total\{event="impression",result="(\w+)"\} ([0-9.e+]+)$'
    for result, value in re.findall(pattern, text, re.MULTILINE):
        counts[result] = int(float(value))
    for name in ("round_trips", "writes"):
        found = re.search(rf"^adserver_event_store_{name}_total ([0-9.e+]+)$", text, re.MULTILINE)
        counts[f"store_{name}"] = int(float(found.group(1))) if found else 0
    return counts


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(ONLY), default=[], help="these endpoints alone")
    only = tuple(ONLY[choice] for choice in parser.parse_args().only)
    started = time.monotonic()
    bench = Bench(BenchSettings.from_env(), only)
    run = bench.execute()
    print(printout(run))
    if only:
        print(f"\nresults: {run.save()} ({(time.monotonic() - started) / 60:.1f} min)")
        return
    print("\n" + targeting.printout(bench.targeting))
    print(f"\nresults: {run.save()} ({(time.monotonic() - started) / 60:.1f} min)")
    say("draining a backlog with 1 and 2 flusher processes (bench.flusher)")
    print("\n".join(flusher_bench.measure().lines()))


if __name__ == "__main__":
    main()
