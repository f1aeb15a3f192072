"""What a bench run found: medians over the rounds, the targets, the table, and the JSON record."""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.loadgen import Measurement

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MIN_RATIO = 0.7  # the app's throughput against the reference's
MIN_VAST_RATIO = 1.0  # /vast filled, one ad or a pod: only the app's own overhead stands between
MIN_DURABLE_RATIO = 3.0  # beacons against the reference's that make one durable Redis write each
MIN_AD_REQUEST_RATIO = 0.5  # SDK ad requests against the reference's
MAX_FIXED_RATE_P99_MS = 25.0
MAX_FLATNESS = 1.3  # /vast (and the pod request) with 10 campaigns against 10,000
MAX_RSS_RATIO = 2.0  # a serving worker's resident memory at the largest catalog, against the reference's


@dataclass(frozen=True)
class Summary:
    """Median of the rounds (rate, p50, p99 each on its own), errors added up."""

    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms: float  # the workers' CPU per request
    spread: float  # fastest round / slowest round: how steady the machine was

    @classmethod
    def of(cls, rounds: list[Measurement]) -> Summary:
        rates = [m.rate for m in rounds]
        return cls(
            rate=statistics.median(rates),
            p50_ms=statistics.median(m.p50_ms for m in rounds),
            p99_ms=statistics.median(m.p99_ms for m in rounds),
            errors=sum(m.errors for m in rounds),
            cpu_ms=statistics.median(m.cpu_ms_per_request for m in rounds),
            spread=max(rates) / min(rates) if min(rates) else float("inf"),
        )


@dataclass
class Comparison:
    label: str
    app: list[Measurement] = field(default_factory=list)
    reference: list[Measurement] = field(default_factory=list)
    # Beacons only: the reference's that make one durable Redis write each (bench.reference_app).
    durable: list[Measurement] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return Summary.of(self.app).rate / Summary.of(self.reference).rate

    @property
    def durable_ratio(self) -> float:
        return Summary.of(self.app).rate / Summary.of(self.durable).rate


@dataclass(frozen=True)
class FixedRate:
    label: str
    basis: str  # whose capacity the offered rate is half of: "reference" (the target's) or "app"
    offered: float  # requests per second
    app: Measurement
    reference: Measurement


@dataclass
class Run:
    settings: dict
    machine: dict
    load_before: str = ""
    load_after: str = ""
    others_share: float = 0.0  # of the machine's CPU, used by other processes while the bench ran
    noisy: bool = False
    documents: dict = field(default_factory=dict)
    pod_documents: dict = field(default_factory=dict)
    comparisons: list[Comparison] = field(default_factory=list)
    fixed_rates: list[FixedRate] = field(default_factory=list)
    catalog_sizes: dict[int, list[Measurement]] = field(default_factory=dict)
    pod_catalog_sizes: dict[int, list[Measurement]] = field(default_factory=dict)
    pod_gzip: dict[int, list[Measurement]] = field(default_factory=dict)  # the smallest catalog only
    catalog_work: dict = field(default_factory=dict)
    rss_mb: dict = field(default_factory=dict)
    beacons: dict = field(default_factory=dict)

    def comparison(self, label: str) -> Comparison | None:
        return next((c for c in self.comparisons if c.label == label), None)

    @staticmethod
    def flatness(by_size: dict[int, list[Measurement]]) -> float:
        sizes = sorted(by_size)
        smallest, largest = (Summary.of(by_size[size]).rate for size in (sizes[0], sizes[-1]))
        return smallest / largest

    def verdicts(self) -> list[tuple[bool, str]]:
        """PASS/FAIL per target, of what was measured (`python -m bench.run --only` measures a part)."""
        lines = []
        targets = [("/vast (fill)", MIN_VAST_RATIO), ("/vast (no fill)", MIN_RATIO)]
        targets += [("/vast (pod)", MIN_VAST_RATIO), ("/t/impression", MIN_RATIO)]
        targets += [("POST /api/v1/ad-request", MIN_AD_REQUEST_RATIO)]
        for label, minimum in targets:
            comparison = self.comparison(label)
            if comparison is None:
                continue
            ratio = comparison.ratio
            lines.append((ratio >= minimum, f"{label} throughput ≥ {minimum}x the reference: {ratio:.2f}x"))
            if comparison.durable:
                ratio = comparison.durable_ratio
                lines.append(
                    (
                        ratio >= MIN_DURABLE_RATIO,
                        f"{label} throughput ≥ {MIN_DURABLE_RATIO:.0f}x the reference's with one durable"
                        f" Redis write each: {ratio:.2f}x",
                    )
                )
        for fixed in (fixed for fixed in self.fixed_rates if fixed.basis == "reference"):
            lines.append(
                (
                    fixed.app.p99_ms <= MAX_FIXED_RATE_P99_MS,
                    f"{fixed.label} p99 ≤ {MAX_FIXED_RATE_P99_MS:.0f} ms at {fixed.offered:,.0f} req/s"
                    f" (half the reference's capacity): {fixed.app.p99_ms:.1f} ms",
                )
            )
        if not self.catalog_sizes:
            return lines
        sizes = sorted(self.catalog_sizes)
        app_rss = self.rss_mb.get(f"app at {sizes[-1]:,} campaigns")
        reference_rss = self.rss_mb.get("reference")
        if app_rss and reference_rss:  # the whole bench (`--only sizes` does not read the reference's)
            ratio = max(app_rss) / max(reference_rss)
            lines.append(
                (
                    ratio <= MAX_RSS_RATIO,
                    f"serving worker memory at {sizes[-1]:,} campaigns ≤ {MAX_RSS_RATIO:.0f}x the"
                    f" reference's: {max(app_rss):.0f} MB against {max(reference_rss):.0f} MB, {ratio:.2f}x",
                )
            )
        for label, by_size in (("/vast", self.catalog_sizes), ("pod request", self.pod_catalog_sizes)):
            flatness = self.flatness(by_size)
            lines.append(
                (
                    flatness <= MAX_FLATNESS,
                    f"flat decision: {label} throughput with {sizes[0]:,} campaigns ≤ {MAX_FLATNESS}x that"
                    f" with {sizes[-1]:,}: {flatness:.2f}x",
                )
            )
        return lines

    def save(self) -> Path:
        RESULTS_DIR.mkdir(exist_ok=True)
        path = RESULTS_DIR / time.strftime("bench-%Y%m%d-%H%M%S.json")
        record = dataclasses.asdict(self)
        record["summaries"] = {
            c.label: {
                "app": vars(Summary.of(c.app)),
                "reference": vars(Summary.of(c.reference)),
                **({"durable": vars(Summary.of(c.durable))} if c.durable else {}),
            }
            for c in self.comparisons
        }
        record["verdicts"] = [{"passed": passed, "target": text} for passed, text in self.verdicts()]
        path.write_text(json.dumps(record, indent=2, default=str))
        return path
