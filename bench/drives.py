"""The requests the bench sends: one wrk run of each kind against a server, each with inputs of its own
(unique beacon tokens, unique ad request ids)."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path

from bench.campaigns import DemoAd
from bench.loadgen import Measurement, Wrk, write_lines, write_path
from bench.stack import SECRET_KEY
from bench.tokens import impression_paths

FILL, NO_FILL = "/vast?max_duration=30", "/vast?max_duration=5"  # the demo creative lasts 15 s
# A 120 s break of four ads, from the catalog's 15, 30 and 60 s creatives (bench.campaigns.DURATIONS): with
# at least four ads asked for, the best fill is 60 + 30 + 15 + 15. The reference builds as many ads.
POD_ADS = 4
POD = f"/vast?pod_max_dur=120&pod_min_ads={POD_ADS}&pod_max_ads={POD_ADS}"
GZIP = {"Accept-Encoding": "gzip"}
# Tokens written for one beacon run: more than either server answers, so that none is used twice.
MAX_BEACONS_PER_SECOND = 8_000
DURABLE_PREFIX = "/durable"  # the reference's beacons with one durable Redis write each


class Drives:
    """Each method: one wrk run against the server at `base_url`, as long as `seconds`."""

    def __init__(self, wrk: Wrk, directory: Path, ad: DemoAd):
        self.wrk = wrk
        self.directory = directory
        self.ad = ad
        self._runs = itertools.count()

    def _lines(self) -> Path:
        return self.directory / f"lines-{next(self._runs)}"

    def vast_fill(self, base_url: str, seconds: float) -> Measurement:
        return self.wrk.saturate_lines(base_url, write_path(self._lines(), FILL), seconds)

    def vast_no_fill(self, base_url: str, seconds: float) -> Measurement:
        return self.wrk.saturate_lines(base_url, write_path(self._lines(), NO_FILL), seconds)

    def vast_pod(self, base_url: str, seconds: float) -> Measurement:
        return self.wrk.saturate_lines(base_url, write_path(self._lines(), POD), seconds)

    def vast_pod_gzip(self, base_url: str, seconds: float) -> Measurement:
        return self.wrk.saturate_lines(base_url, write_path(self._lines(), POD), seconds, headers=GZIP)

    def impressions(self, base_url: str, seconds: float) -> Measurement:
        tokens = impression_paths(SECRET_KEY, self.ad, round(MAX_BEACONS_PER_SECOND * seconds))
        return self.wrk.saturate_lines(base_url, write_lines(self._lines(), tokens), seconds)

    def durable_impressions(self, base_url: str, seconds: float) -> Measurement:
        """The reference's beacons that make one durable Redis write each (bench.reference_app)."""
        tokens = impression_paths(SECRET_KEY, self.ad, round(MAX_BEACONS_PER_SECOND * seconds))
        paths = (f"{DURABLE_PREFIX}{path}" for path in tokens)
        return self.wrk.saturate_lines(base_url, write_lines(self._lines(), paths), seconds)

    def ad_requests(self, base_url: str, seconds: float) -> Measurement:
        return self.wrk.ad_requests(base_url, f"bench-{uuid.uuid4().hex[:12]}", seconds)

    def paced_vast_fill(self, base_url: str, rate: float, seconds: float) -> Measurement:
        return self.wrk.paced_lines(base_url, write_path(self._lines(), FILL), rate, seconds)

    def paced_impressions(self, base_url: str, rate: float, seconds: float) -> Measurement:
        tokens = impression_paths(SECRET_KEY, self.ad, round(rate * seconds * 1.2) + 100)
        return self.wrk.paced_lines(base_url, write_lines(self._lines(), tokens), rate, seconds)
