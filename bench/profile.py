"""`python -m bench.profile [scenario] [active campaigns] [reference]`: where a worker's time goes under the
bench's load (the reference's worker with `reference`).

wrk drives the ad server at saturation, as `make bench` does, while py-spy samples one of its workers; prints
each part of the work's share of the samples, and writes the folded stacks to bench/results/ (for
flamegraph.pl or speedscope). Scenarios: vast_fill (default), vast_no_fill, impressions, ad_requests.
"""

from __future__ import annotations

import collections
import subprocess
import sys
from pathlib import Path

from bench.drives import Drives
from bench.loadgen import Wrk
from bench.results import RESULTS_DIR
from bench.run import WARMUP_SECONDS, BenchSettings
from bench.stack import BenchStack
from bench.tools import ensure_debian_tool

PY_SPY = Path(sys.executable).parent / "py-spy"
SAMPLES_PER_SECOND = 250
# The parts of the work, each marked by a frame (py-spy names files from their package or the project root);
# a sample goes to the first part whose frame it holds.
PARTS = (
    ("Flask session open and save (every request)", "(flask/sessions.py"),
    ("metrics hooks (app-wide)", "(app/metrics.py"),
    ("request id hooks (app-wide)", "(app/logs.py"),
    ("security headers (app-wide)", "<locals>.start (app/security.py"),  # the middleware's own part
    ("CORS headers", "(app/serving/cors.py"),
    ("in-process flusher (background)", "Flusher.run ("),
    ("catalog refresh (background)", "CatalogService._run ("),
    ("serving counts push (background)", "ServingCounter._run ("),
    ("JSON body parsing (webargs)", "Parser.parse ("),
    ("/vast query parsing", "parse_ad_request ("),
    ("beacon token check", "BeaconSigner.verify ("),
    ("event store calls (Redis)", "(app/tracking/events.py"),
    ("decision, ad and token signing", "decide ("),
    ("VAST document (skeleton filled in)", "(app/serving/documents.py"),
    ("VAST rendering (lxml)", "(vast/render.py"),
    ("VAST model of the ad", "inline_ad ("),
    ("other app code", "(app/"),
    ("Flask and Werkzeug", "(flask/"),
    ("gunicorn HTTP and sockets, gevent", ""),
)


def breakdown(folded: Path) -> list[tuple[float, str]]:
    """Each part's share of the samples (py-spy's raw format: `frame;frame;... count` per line)."""
    counts: collections.Counter[str] = collections.Counter()
    for line in folded.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        part = next(name for name, frame in PARTS if frame in stack)
        counts[part] += int(samples)
    total = sum(counts.values())
    return [(counts[name] / total, name) for name, _ in PARTS if counts[name]]


def main() -> None:
    if not PY_SPY.exists():
        sys.exit(f"py-spy is missing: {Path(sys.executable).parent}/pip install py-spy")
    scenario = sys.argv[1] if len(sys.argv) > 1 else "vast_fill"
    active = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    reference = sys.argv[3:] == ["reference"]
    settings = BenchSettings.from_env()
    RESULTS_DIR.mkdir(exist_ok=True)
    output = RESULTS_DIR / f"profile-{scenario}-{active}{'-reference' if reference else ''}.folded"
    stack = BenchStack(settings.workers)
    try:
        stack.start()
        ad = stack.prepare_campaigns(active)
        stack.serve_campaigns(active)
        drives = Drives(Wrk(ensure_debian_tool("wrk", "wrk")), stack.inputs_dir, ad)
        drive = getattr(drives, scenario)
        server = stack.reference if reference else stack.app
        drive(server.base_url, WARMUP_SECONDS)
        worker = server.worker_pids()[0]
        record = [str(PY_SPY), "record", f"--pid={worker}", f"--duration={round(settings.seconds)}"]
        record += [f"--rate={SAMPLES_PER_SECOND}", "--nonblocking", "--format=raw", f"--output={output}"]
        with subprocess.Popen(record, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as spy:
            measured = drive(server.base_url, settings.seconds)
        if spy.returncode != 0:
            sys.exit(f"py-spy failed ({spy.returncode}); it needs ptrace rights (root, or CAP_SYS_PTRACE)")
    finally:
        stack.stop(keep_files=sys.exc_info()[0] is not None)
    print(
        f"{'reference, ' if reference else ''}{scenario}, {active:,} active campaigns: "
        f"{measured.rate:,.0f} req/s, p99 {measured.p99_ms:.0f} ms"
    )
    print(f"one worker's samples ({SAMPLES_PER_SECOND}/s, idle time left out), by part of the work:")
    for share, part in breakdown(output):
        print(f"{share:6.1%}  {part}")
    print(f"folded stacks: {output}")


if __name__ == "__main__":
    main()
