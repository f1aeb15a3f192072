"""The bench's printout: the comparison table, the fixed-rate latencies, the catalog sizes, the verdicts."""

from __future__ import annotations

from bench.drives import POD
from bench.loadgen import CONNECTIONS, THREADS, Measurement
from bench.results import Run, Summary


def _cells(measured: Summary | Measurement) -> list[str]:
    return [f"{measured.rate:,.0f}", f"{measured.p50_ms:.1f}", f"{measured.p99_ms:.1f}", f"{measured.errors}"]


def _cpu(summary: Summary) -> str:
    return f"{summary.cpu_ms:.2f}"


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        # The first column (what was measured) to the left, the figures to the right.
        padded = [cells[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    separator = "|" + "|".join(["-" * (widths[0] + 2)] + ["-" * (w + 1) + ":" for w in widths[1:]]) + "|"
    return [line(header), separator, *(line(row) for row in rows)]


def comparison_table(run: Run) -> list[str]:
    header = ["endpoint", "app req/s", "p50 ms", "p99 ms", "errors", "CPU ms/req"]
    header += ["ref req/s", "p50 ms", "p99 ms", "errors", "CPU ms/req", "app/ref", "by CPU", "spread"]
    rows = []
    for comparison in run.comparisons:
        app = Summary.of(comparison.app)
        references = [(comparison.label, comparison.reference)]
        if comparison.durable:  # the same app rounds against the reference's durable beacons
            references.append((f"{comparison.label} (ref: a durable write each)", comparison.durable))
        for label, rounds in references:
            reference = Summary.of(rounds)
            rows.append(
                [
                    label,
                    *_cells(app),
                    _cpu(app),
                    *_cells(reference),
                    _cpu(reference),
                    f"{app.rate / reference.rate:.2f}x",
                    f"{reference.cpu_ms / app.cpu_ms:.2f}x",
                    f"{max(app.spread, reference.spread):.2f}",
                ]
            )
    return _grid(header, rows)


def fixed_rate_table(run: Run) -> list[str]:
    header = ["endpoint", "half the capacity of", "offered req/s", "app achieved", "p50 ms", "p99 ms"]
    header += ["errors", "ref achieved", "p50 ms", "p99 ms", "errors"]
    rows = [
        [fixed.label, fixed.basis, f"{fixed.offered:,.0f}", *_cells(fixed.app), *_cells(fixed.reference)]
        for fixed in run.fixed_rates
    ]
    return _grid(header, rows)


def catalog_table(run: Run) -> list[str]:
    header = ["active campaigns", "request", "req/s", "p50 ms", "p99 ms", "errors", "CPU ms/req", "spread"]
    rows = []
    kinds = (
        ("/vast (fill)", run.catalog_sizes),
        ("pod", run.pod_catalog_sizes),
        ("pod, gzip", run.pod_gzip),
    )
    for size in sorted(run.catalog_sizes):
        for kind, by_size in kinds:
            if size in by_size:
                summary = Summary.of(by_size[size])
                rows.append([f"{size:,}", kind, *_cells(summary), _cpu(summary), f"{summary.spread:.2f}"])
    return _grid(header, rows)


def gzip_cost(run: Run) -> str:
    """What answering the pod gzipped costs the workers, per request, at the smallest catalog."""
    size = min(run.pod_gzip)
    plain, gzipped = Summary.of(run.pod_catalog_sizes[size]), Summary.of(run.pod_gzip[size])
    return (
        f"pod gzip: {run.pod_documents['app']} plain, {run.pod_documents['app, gzip']};"
        f" {gzipped.cpu_ms - plain.cpu_ms:+.2f} CPU ms/req"
        f" ({gzipped.cpu_ms:.2f} gzipped, {plain.cpu_ms:.2f} plain)"
    )


def printout(run: Run) -> str:
    machine = run.machine
    lines = [
        "",
        f"machine: {machine['cpus']} x {machine['cpu_model']}, {machine['memory_gb']} GB,"
        f" Python {machine['python']}; {run.settings['workers']} workers each,"
        f" {run.settings['rounds']} rounds x {run.settings['seconds']:.0f} s,"
        f" wrk {THREADS} threads x {CONNECTIONS} connections",
        f"app: production config, event flusher {run.settings['event_flusher']},"
        f" Redis {run.settings['redis']}, a PostgreSQL database of its own on the shared server",
        f"background load before: {run.load_before}; after: {run.load_after};"
        f" others' share of the CPU during the run: {run.others_share:.0%}"
        + ("  (NOISY: others were using the machine)" if run.noisy else ""),
    ]
    if run.documents:
        lines += [
            f"VAST fill document: app {run.documents['app']}; reference {run.documents['reference']}",
            f"VAST pod document ({POD}): app {run.pod_documents['app']};"
            f" reference {run.pod_documents['reference']}",
        ]
    lines += [
        "",
        "Throughput at saturation: medians of the rounds; CPU ms/req = the workers' CPU per answer;"
        " by CPU = the ratio the CPU per answer predicts (steadier than req/s on a shared machine);"
        " spread = fastest / slowest round",
        *comparison_table(run),
    ]
    if run.beacons:
        lines += [
            "",
            f"beacons: {run.beacons['counted']:,} counted, {run.beacons['duplicate']:,} duplicates,"
            f" {run.beacons['refused']:,} refused; tokens used twice: {run.beacons['reused']:,};"
            " events left to flush after each beacon run (drained in): "
            + ", ".join(f"{pending:,} ({seconds} s)" for pending, seconds in run.beacons["backlog"]),
            f"event store (all runs): {run.beacons['store_writes']:,} writes in"
            f" {run.beacons['store_round_trips']:,} Redis round trips, "
            f"{run.beacons['store_writes'] / max(run.beacons['store_round_trips'], 1):.1f} per round trip"
            " (group commit)",
        ]
    if run.fixed_rates:
        lines += [
            "",
            "Latency at a fixed offered rate: half the reference's capacity (the target), and half the app's",
            *fixed_rate_table(run),
        ]
    if run.catalog_sizes:
        lines += ["", "/vast (fill) and the pod request by catalog size", *catalog_table(run)]
    if run.catalog_work:  # the whole bench (not `--only sizes`)
        work = run.catalog_work
        lines += [
            gzip_cost(run),
            "",
            f"catalog rebuild at {work['campaigns']:,} campaigns: load_catalog {work['load_ms']:.0f} ms"
            f" + stored spend {work['spend_ms']:.0f} ms + build_index {work['index_ms']:.0f} ms;"
            f" flusher housekeeping, full check (every 5 min) {work['housekeeping_ms']:.0f} ms",
            "resident memory per worker: "
            + "; ".join(
                f"{where} {' / '.join(f'{mb:.0f}' for mb in pids)} MB" for where, pids in run.rss_mb.items()
            ),
        ]
    lines += ["", *(f"{'PASS' if passed else 'FAIL'}  {text}" for passed, text in run.verdicts())]
    if not all(passed for passed, _ in run.verdicts()):
        lines.append("What limits a missed target, and what would lift it: bench/README.md")
    return "\n".join(lines)
