"""Simulated players: request an ad, fire every beacon of it, retry what was not acknowledged."""

from __future__ import annotations

import http.client
import random
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field

from lxml import etree

from vast.macros import fill_macros
from vast.validate import validate

NS = {"v": "http://www.iab.com/VAST"}
PLAYER_EVENTS = ("impression", "start", "firstQuartile", "midpoint", "thirdQuartile", "complete", "click")


@dataclass
class LoadResult:
    ads: int = 0
    no_fills: int = 0
    acknowledged: set = field(default_factory=set)  # (ad serving id, event) that got a 2xx
    statuses: Counter = field(default_factory=Counter)  # (path kind, status) -> count
    unacknowledged: list = field(default_factory=list)  # beacons still refused after the retries
    validated: int = 0
    vast_failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acked_events(self, event: str) -> int:
        return sum(1 for _, name in self.acknowledged if name == event)


class Player(threading.Thread):
    def __init__(
        self, base_url: str, query: str, result: LoadResult, deadline: float, validate_every: int, seed: int
    ):
        super().__init__(daemon=True)
        parts = urllib.parse.urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.query = query
        self.result = result
        self.deadline = deadline
        self.validate_every = validate_every
        self.random = random.Random(seed)
        self.connection: http.client.HTTPConnection | None = None
        self.retries: list[tuple[str, str, str]] = []

    def _get(self, path: str) -> tuple[int, bytes]:
        for _ in range(2):
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection(self.host, self.port, timeout=15)
                self.connection.request("GET", path)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (OSError, http.client.HTTPException):
                if self.connection is not None:
                    self.connection.close()
                self.connection = None
        return 0, b""  # connection refused or reset: not acknowledged

    def run(self) -> None:
        try:
            self._play()
        finally:
            if self.connection is not None:
                self.connection.close()

    def _play(self) -> None:
        count = 0
        while time.monotonic() < self.deadline:
            status, body = self._get(f"/vast?{self.query}")
            with self.result.lock:
                self.result.statuses[("vast", status)] += 1
            if status != 200:
                continue
            document = etree.fromstring(body)
            if document.find("{*}Ad") is None:  # a 4.x no-fill holds a root Error only
                with self.result.lock:
                    self.result.no_fills += 1
                continue
            count += 1
            if count % self.validate_every == 1:  # the first ad of each player, then one in `validate_every`
                try:
                    validate(body, "4.2")
                    with self.result.lock:
                        self.result.validated += 1
                except ValueError:
                    with self.result.lock:
                        self.result.vast_failures += 1
            serving_id = document.findtext(".//v:AdServingId", namespaces=NS)
            with self.result.lock:
                self.result.ads += 1
            for event, url in beacon_urls(document).items():
                self._fire(serving_id, event, url)
            self._retry(final=False)
        self._retry(final=True)

    def _fire(self, serving_id: str, event: str, path: str) -> bool:
        status, _ = self._get(path)
        with self.result.lock:
            self.result.statuses[("beacon", status)] += 1
            if 200 <= status < 400:
                self.result.acknowledged.add((serving_id, event))
                return True
        self.retries.append((serving_id, event, path))
        return False

    def _retry(self, final: bool) -> None:
        """Players and SSAI servers retry a beacon that was not acknowledged (here: a few times)."""
        attempts = 10 if final else 1
        for _ in range(attempts):
            pending, self.retries = self.retries, []
            for serving_id, event, path in pending:
                self._fire(serving_id, event, path)
            if not self.retries:
                return
            if final:
                time.sleep(1)
        if final:
            with self.result.lock:
                self.result.unacknowledged.extend(self.retries)


def beacon_urls(document) -> dict[str, str]:
    urls = {"impression": document.findtext(".//v:Impression", namespaces=NS).strip()}
    for tracking in document.iterfind(".//v:Tracking", NS):
        if tracking.get("event") in PLAYER_EVENTS:
            urls[tracking.get("event")] = tracking.text.strip()
    urls["click"] = document.findtext(".//v:ClickTracking", namespaces=NS).strip()
    return {event: _path(fill_macros(url, {})) for event, url in urls.items()}


def _path(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.path}?{parts.query}"


def run_players(
    base_url: str, *, clients: int, seconds: float, query: str = "max_duration=30", during=None
) -> LoadResult:
    """`clients` players for `seconds`; `during(elapsed)` is called every 0.2 s to inject faults."""
    result = LoadResult()
    deadline = time.monotonic() + seconds
    players = [Player(base_url, query, result, deadline, validate_every=25, seed=i) for i in range(clients)]
    started = time.monotonic()
    for player in players:
        player.start()
    while any(player.is_alive() for player in players):
        if during is not None:
            during(time.monotonic() - started)
        time.sleep(0.2)
    return result
