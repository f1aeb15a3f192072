"""wrk runs and their results: saturation (64 connections, as fast as the server answers) or a fixed
offered rate (lua/paced.lua), with requests taken from per-thread files of unique paths."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

LUA_DIR = Path(__file__).resolve().parent / "lua"
THREADS = 2
CONNECTIONS = 64
RESULT_MARK = "BENCH_RESULT "


@dataclass(frozen=True)
class Measurement:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    error_kinds: dict[str, int]  # wrk's: connect, read, write, status (4xx/5xx), timeout (over 5 s)
    wrapped: int  # a unique path was used again: the lines file was too short
    late: int  # paced runs: requests sent more than 1 ms after their slot
    server_cpu_seconds: float = 0.0  # used by the server's workers during the run (set by the caller)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def errors(self) -> int:
        return sum(self.error_kinds.values())

    @property
    def cpu_ms_per_request(self) -> float:
        """The workers' CPU per answer: unlike the rate, barely moved by others' load on the machine."""
        return self.server_cpu_seconds * 1000 / max(1, self.requests)

    @classmethod
    def parse(cls, output: str) -> Measurement:
        line = next(line for line in output.splitlines() if line.startswith(RESULT_MARK))
        raw = json.loads(line[len(RESULT_MARK) :])
        return cls(
            requests=raw["requests"],
            seconds=raw["duration_us"] / 1e6,
            p50_ms=raw["p50_us"] / 1000,
            p99_ms=raw["p99_us"] / 1000,
            max_ms=raw["max_us"] / 1000,
            error_kinds={kind: count for kind, count in raw["errors"].items() if count},
            wrapped=raw["wrapped"],
            late=raw["late"],
        )


def write_lines(prefix: Path, lines: Iterable[str]) -> Path:
    """One file per wrk thread (`<prefix>.<thread>`), lines dealt out in turn (each needs one at least)."""
    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(open(f"{prefix}.{thread}", "w")) for thread in range(THREADS)]
        for number, line in enumerate(lines):
            files[number % THREADS].write(line + "\n")
    return prefix


def write_path(prefix: Path, path: str) -> Path:
    """The same path for every request, as lines files."""
    return write_lines(prefix, [path] * THREADS)


class Wrk:
    def __init__(self, binary: str):
        self.binary = binary

    def run(
        self, url: str, script: str, *args: str, seconds: float, headers: Mapping[str, str] | None = None
    ) -> Measurement:
        command = [
            self.binary,
            f"--threads={THREADS}",
            f"--connections={CONNECTIONS}",
            f"--duration={round(seconds)}s",
            "--timeout=5s",
            f"--script={LUA_DIR / script}",
            *(f"--header={name}: {value}" for name, value in (headers or {}).items()),
            url,
            "--",
            *args,
        ]
        env = {**os.environ, "LUA_PATH": f"{LUA_DIR}/?.lua;;"}
        finished = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if finished.returncode != 0 or RESULT_MARK not in finished.stdout:
            raise RuntimeError(f"wrk failed ({finished.returncode}): {finished.stderr or finished.stdout}")
        return Measurement.parse(finished.stdout)

    def saturate_lines(
        self, base_url: str, lines: Path, seconds: float, headers: Mapping[str, str] | None = None
    ) -> Measurement:
        return self.run(base_url, "lines.lua", str(lines), seconds=seconds, headers=headers)

    def paced_lines(self, base_url: str, lines: Path, rate: float, seconds: float) -> Measurement:
        return self.run(base_url, "paced.lua", str(lines), str(rate / THREADS), seconds=seconds)

    def ad_requests(self, base_url: str, run_prefix: str, seconds: float) -> Measurement:
        return self.run(f"{base_url}/api/v1/ad-request", "ad_request.lua", run_prefix, seconds=seconds)
